// grpc.health.v1.Health built from the health proto, so that server
// reflection (and grpcurl) can describe and call it.
#ifndef KEYGATE_SERVER_GRPC_HEALTH_SERVICE_H_
#define KEYGATE_SERVER_GRPC_HEALTH_SERVICE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace keygate::grpc_api {

// Answers Check for the overall server (""), each Keygate service name,
// and the probe names "liveness" and "readiness". Unknown names answer
// NOT_FOUND, as the health protocol specifies. Watch is not implemented
// (UNIMPLEMENTED); Kubernetes, Envoy and grpcurl use Check.
//
//   ""  and the Keygate services   SERVING while storage works
//   "readiness"                    SERVING while storage works and the
//                                  server is not draining for shutdown
//   "liveness"                     SERVING while the process runs
// Everything starts NOT_SERVING until the server is up. Thread-safe.
class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  static constexpr char kLiveness[] = "liveness";
  static constexpr char kReadiness[] = "readiness";


  // Whether storage can serve reads and writes.
  void SetStorageHealthy(bool healthy);
  // Shutdown has begun: readiness goes NOT_SERVING at once.
  void SetDraining();

  // grpc::health::v1::Health::CallbackService
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;

 private:
  // The status of `service`, or NOT_FOUND for unknown names.
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> StatusOf(
      const std::string& service) const;

  mutable absl::Mutex mu_;
  bool storage_healthy_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_HEALTH_SERVICE_H_
