#include "server/grpc/health_service.h"

namespace keygate::grpc_api {

using grpc::health::v1::HealthCheckResponse;

void HealthService::SetStorageHealthy(bool healthy) {
  absl::MutexLock lock(&mu_);
  storage_healthy_ = healthy;
}

void HealthService::SetDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

absl::StatusOr<HealthCheckResponse::ServingStatus> HealthService::StatusOf(
    const std::string& service) const {
  const auto serving = [](bool ok) {
    return ok ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  };
  absl::MutexLock lock(&mu_);
  if (service == kLiveness) return HealthCheckResponse::SERVING;
  if (service == kReadiness) return serving(storage_healthy_ && !draining_);
  if (service.empty() || service == "keygate.v1.Authorizer" || service == "keygate.v1.KeyManager" ||
      service == "envoy.service.auth.v3.Authorization") {
    return serving(storage_healthy_);
  }
  return absl::NotFoundError("unknown service name");
}

grpc::ServerUnaryReactor* HealthService::Check(
    grpc::CallbackServerContext* context, const grpc::health::v1::HealthCheckRequest* request,
    grpc::health::v1::HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::StatusOr<HealthCheckResponse::ServingStatus> status = StatusOf(request->service());
  if (status.ok()) {
    response->set_status(*status);
    reactor->Finish(grpc::Status::OK);
  } else {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service name"));
  }
  return reactor;
}

}  // namespace keygate::grpc_api
