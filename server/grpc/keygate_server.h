// The gRPC server: Authorizer, KeyManager, health and reflection on one port.
#ifndef KEYGATE_SERVER_GRPC_KEYGATE_SERVER_H_
#define KEYGATE_SERVER_GRPC_KEYGATE_SERVER_H_

#include <functional>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "server/grpc/authorizer_service.h"
#include "server/grpc/health_service.h"
#include "server/grpc/key_manager_service.h"
#include "server/grpc/worker_pool.h"
#include "server/metrics/server_metrics.h"
#include "server/service/key_service.h"

namespace keygate::grpc_api {

// Transport settings, fixed at start.
struct ServerConfig {
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free one.
  bool reflection = true;
  int management_threads = 64;
  // Largest request accepted; bigger ones get RESOURCE_EXHAUSTED.
  int max_receive_message_bytes = 256 * 1024;
  // Benchmark baseline: Authorize answers a fixed "allowed" (see
  // AuthorizerService). Never in production.
  bool authorize_noop = false;
  // Where calls are counted; null: no metrics. Must outlive the server.
  metrics::ServerMetrics* metrics = nullptr;
  // Fraction of Authorize calls written to the access log (0: none).
  double authorize_log_sample_rate = 0;
  // TLS: PEM server certificate chain and key. Empty: plaintext. The files
  // are re-read every `tls_reload_interval`, so rotating them needs no
  // restart.
  std::string tls_cert_file;
  std::string tls_key_file;
  // With TLS: PEM CA bundle; when set, clients must present a certificate
  // signed by it (mTLS).
  std::string tls_client_ca_file;
  absl::Duration tls_reload_interval = absl::Seconds(10);
  // Extra services hosted on the same port (e.g. Envoy's ext_authz).
  std::vector<grpc::Service*> extra_services;
  // Polled every `storage_check_interval` for health (see HealthService).
  // Empty: storage is assumed healthy.
  std::function<absl::Status()> storage_check;
  absl::Duration storage_check_interval = absl::Seconds(1);
};

// A running Keygate gRPC server. Shutdown() (or the destructor) stops it.
// Thread-safe.
class KeygateServer {
 public:
  // Binds and starts serving. Returns Unavailable if the address cannot be
  // bound. `keys` must outlive the server.
  static absl::StatusOr<std::unique_ptr<KeygateServer>> Start(const ServerConfig& config,
                                                              service::KeyService* keys);
  ~KeygateServer();

  // The bound port (useful with port 0).
  int port() const { return port_; }
  HealthService& health() { return health_; }

  // Readiness goes NOT_SERVING; the server keeps serving (so that load
  // balancers stop sending calls before the port closes).
  void BeginDrain() { health_.SetDraining(); }

  // Drains, stops accepting calls, lets in-flight calls finish until `grace`
  // has passed, then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  KeygateServer(service::KeyService* keys, const ServerConfig& config);
  void WatchStorage();

  WorkerPool pool_;
  AuthorizerService authorizer_;
  KeyManagerService key_manager_;
  HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
  const std::function<absl::Status()> storage_check_;
  const absl::Duration storage_check_interval_;
  absl::Notification stop_watching_;
  std::thread storage_watcher_;
};

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_KEYGATE_SERVER_H_
