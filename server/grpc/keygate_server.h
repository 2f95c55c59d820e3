// The gRPC server: Authorizer, KeyManager, health and reflection on one port.
#ifndef KEYGATE_SERVER_GRPC_KEYGATE_SERVER_H_
#define KEYGATE_SERVER_GRPC_KEYGATE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "server/grpc/authorizer_service.h"
#include "server/grpc/health_service.h"
#include "server/grpc/key_manager_service.h"
#include "server/grpc/worker_pool.h"
#include "server/service/key_service.h"

namespace keygate::grpc_api {

// Transport settings, fixed at start.
struct ServerConfig {
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free one.
  bool reflection = true;
  int management_threads = 16;
  // Largest request accepted; bigger ones get RESOURCE_EXHAUSTED.
  int max_receive_message_bytes = 256 * 1024;
  // Benchmark baseline: Authorize answers a fixed "allowed" (see
  // AuthorizerService). Never in production.
  bool authorize_noop = false;
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

  // Marks the server not ready, stops accepting calls, lets in-flight calls
  // finish until `grace` has passed, then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  KeygateServer(service::KeyService* keys, const ServerConfig& config);

  WorkerPool pool_;
  AuthorizerService authorizer_;
  KeyManagerService key_manager_;
  HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_KEYGATE_SERVER_H_
