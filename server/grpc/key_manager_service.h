// keygate.v1.KeyManager over gRPC: authenticates the caller from the
// `authorization` metadata and translates to KeyService.
#ifndef KEYGATE_SERVER_GRPC_KEY_MANAGER_SERVICE_H_
#define KEYGATE_SERVER_GRPC_KEY_MANAGER_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "keygate/v1/key_manager.grpc.pb.h"
#include "server/grpc/worker_pool.h"
#include "server/service/key_service.h"

namespace keygate::grpc_api {

// Management RPCs. Each call runs on `pool` (they block on synced writes),
// never on gRPC's threads, and is written to the access log (method, code,
// caller key id, peer; never a token). Thread-safe.
class KeyManagerService final : public keygate::v1::KeyManager::CallbackService {
 public:
  KeyManagerService(service::KeyService* keys, WorkerPool* pool) : keys_(keys), pool_(pool) {}

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

 private:
  using Handler = std::function<absl::Status(const service::Caller&)>;

  // Authenticates the caller, runs `handler` on the pool, logs and finishes.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const char* method,
                                Handler handler);

  service::KeyService* const keys_;
  WorkerPool* const pool_;
};

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_KEY_MANAGER_SERVICE_H_
