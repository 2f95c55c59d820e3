// grpc.health.v1.Health built from the health proto, so that server
// reflection (and grpcurl) can describe and call it.
#ifndef KEYGATE_SERVER_GRPC_HEALTH_SERVICE_H_
#define KEYGATE_SERVER_GRPC_HEALTH_SERVICE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace keygate::grpc_api {

// Answers Check for the overall server (""), each Keygate service name,
// and the probe names "liveness" and "readiness". Unknown names answer
// NOT_FOUND, as the health protocol specifies. Thread-safe.
class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  static constexpr char kLiveness[] = "liveness";
  static constexpr char kReadiness[] = "readiness";

  HealthService();

  // Whether the server can answer correctly: sets "", the Keygate services
  // and "readiness". "liveness" stays SERVING while the process runs.
  void SetServing(bool serving);

  // grpc::health::v1::Health::CallbackService
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, grpc::health::v1::HealthCheckResponse::ServingStatus>
      statuses_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_HEALTH_SERVICE_H_
