// keygate.v1.KeyManager over gRPC: passes the `authorization` metadata and
// peer to KeyService, which authenticates, audits and access-logs each call.
#ifndef KEYGATE_SERVER_GRPC_KEY_MANAGER_SERVICE_H_
#define KEYGATE_SERVER_GRPC_KEY_MANAGER_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "keygate/v1/key_manager.grpc.pb.h"
#include "server/grpc/worker_pool.h"
#include "server/metrics/server_metrics.h"
#include "server/service/key_service.h"

namespace keygate::grpc_api {

// Management RPCs. Each call runs on `pool` (they block on synced writes),
// never on gRPC's threads, except CreateKey: it prepares the key on gRPC's
// thread and the store's committer finishes it once the key is durable
// (KeyService::CreateKey's asynchronous form). Thread-safe.
class KeyManagerService final : public keygate::v1::KeyManager::CallbackService {
 public:
  // `metrics` may be null.
  KeyManagerService(service::KeyService* keys, WorkerPool* pool, metrics::ServerMetrics* metrics)
      : keys_(keys), pool_(pool), metrics_(metrics) {}

  // keygate::v1::KeyManager::CallbackService
  grpc::ServerUnaryReactor* CreateKey(grpc::CallbackServerContext* context,
                                      const keygate::v1::CreateKeyRequest* request,
                                      keygate::v1::CreateKeyResponse* response) override;
  grpc::ServerUnaryReactor* GetKey(grpc::CallbackServerContext* context,
                                   const keygate::v1::GetKeyRequest* request,
                                   keygate::v1::Key* response) override;
  grpc::ServerUnaryReactor* ListKeys(grpc::CallbackServerContext* context,
                                     const keygate::v1::ListKeysRequest* request,
                                     keygate::v1::ListKeysResponse* response) override;
  grpc::ServerUnaryReactor* RevokeKey(grpc::CallbackServerContext* context,
                                      const keygate::v1::RevokeKeyRequest* request,
                                      keygate::v1::Key* response) override;
  grpc::ServerUnaryReactor* RotateKey(grpc::CallbackServerContext* context,
                                      const keygate::v1::RotateKeyRequest* request,
                                      keygate::v1::RotateKeyResponse* response) override;
  grpc::ServerUnaryReactor* GetKeyUsage(grpc::CallbackServerContext* context,
                                        const keygate::v1::GetKeyUsageRequest* request,
                                        keygate::v1::KeyUsage* response) override;
  grpc::ServerUnaryReactor* ListAuditEvents(
      grpc::CallbackServerContext* context, const keygate::v1::ListAuditEventsRequest* request,
      keygate::v1::ListAuditEventsResponse* response) override;
  grpc::ServerUnaryReactor* CreateBackup(grpc::CallbackServerContext* context,
                                         const keygate::v1::CreateBackupRequest* request,
                                         keygate::v1::Backup* response) override;

 private:
  using Handler = std::function<absl::Status(const service::CallInfo&)>;

  // Runs `handler` on the pool with the call's credential and peer, then
  // finishes the RPC with its status.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const char* method,
                                Handler handler);

  // Counts the call and finishes it with `status`.
  void Finish(grpc::ServerUnaryReactor* reactor, const char* method, const absl::Status& status);

  // `key` as the API shows it now.
  void KeyToProto(const core::KeyRecord& key, keygate::v1::Key* out) const;

  service::KeyService* const keys_;
  WorkerPool* const pool_;
  metrics::ServerMetrics* const metrics_;
};

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_KEY_MANAGER_SERVICE_H_
