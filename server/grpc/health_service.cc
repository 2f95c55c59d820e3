#include "server/grpc/health_service.h"

namespace keygate::grpc_api {
namespace {

using grpc::health::v1::HealthCheckResponse;

constexpr const char* kServingNames[] = {"", "keygate.v1.Authorizer", "keygate.v1.KeyManager",
                                         HealthService::kReadiness};

}  // namespace

HealthService::HealthService() {
  absl::MutexLock lock(&mu_);
  for (const char* name : kServingNames) statuses_[name] = HealthCheckResponse::NOT_SERVING;
  statuses_[kLiveness] = HealthCheckResponse::SERVING;
}

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  for (const char* name : kServingNames) {
    statuses_[name] = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  }
}

grpc::ServerUnaryReactor* HealthService::Check(
    grpc::CallbackServerContext* context, const grpc::health::v1::HealthCheckRequest* request,
    grpc::health::v1::HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    const auto it = statuses_.find(request->service());
    if (it == statuses_.end()) {
      status = grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service name");
    } else {
      response->set_status(it->second);
    }
  }
  reactor->Finish(status);
  return reactor;
}

}  // namespace keygate::grpc_api
