// Single calls to a running keygate-server for the reliability suites, made
// with the generated stubs so that every answer (including the gRPC error
// code) reaches the checks unchanged: no retries, an explicit deadline.
#ifndef KEYGATE_TESTS_RELIABILITY_CALLS_H_
#define KEYGATE_TESTS_RELIABILITY_CALLS_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "keygate/v1/authorizer.grpc.pb.h"

namespace keygate::reliability {

// A plaintext channel to `address`, after waiting up to `timeout` for it to
// connect (it is returned either way; calls then fail with UNAVAILABLE).
std::shared_ptr<grpc::Channel> ConnectedChannel(const std::string& address,
                                                absl::Duration timeout = absl::Seconds(10));

// The answer to one Authorize call: a gRPC status, and the response if OK.
struct Answer {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string error;  // The status message when code != OK.
  keygate::v1::AuthorizeResponse response;

  bool ok() const { return code == grpc::StatusCode::OK; }
  bool allowed() const { return ok() && response.allowed(); }
  // "allowed", a REASON_… name, or the gRPC code's name.
  std::string Describe() const;
};

Answer AuthorizeOnce(keygate::v1::Authorizer::Stub& stub, const std::string& token,
                     const std::string& required_scope, absl::Duration timeout = absl::Seconds(5));

// grpc.health.v1 Check of `service` ("readiness", "liveness", ""): true when
// SERVING, false on NOT_SERVING or an error.
bool IsServing(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);

std::string CodeName(grpc::StatusCode code);

}  // namespace keygate::reliability

#endif  // KEYGATE_TESTS_RELIABILITY_CALLS_H_
