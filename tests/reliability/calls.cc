#include "tests/reliability/calls.h"

#include <chrono>
#include <iterator>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace keygate::reliability {
namespace {

std::chrono::system_clock::time_point DeadlineIn(absl::Duration timeout) {
  return std::chrono::system_clock::now() +
         std::chrono::microseconds(absl::ToInt64Microseconds(timeout));
}

}  // namespace

std::shared_ptr<grpc::Channel> ConnectedChannel(const std::string& address,
                                                absl::Duration timeout) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  channel->WaitForConnected(DeadlineIn(timeout));
  return channel;
}

std::string CodeName(grpc::StatusCode code) {
  // In code order (grpc::StatusCode).
  // clang-format off
  static constexpr const char* kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  // clang-format on
  const int index = static_cast<int>(code);
  if (index >= 0 && index < static_cast<int>(std::size(kNames))) return kNames[index];
  return "CODE_" + std::to_string(index);
}

std::string Answer::Describe() const {
  if (!ok()) return CodeName(code) + ": " + error;
  if (response.allowed()) return "allowed";
  return keygate::v1::Reason_Name(response.reason());
}

Answer AuthorizeOnce(keygate::v1::Authorizer::Stub& stub, const std::string& token,
                     const std::string& required_scope, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  keygate::v1::AuthorizeRequest request;
  request.set_token(token);
  request.set_required_scope(required_scope);
  Answer answer;
  const grpc::Status status = stub.Authorize(&context, request, &answer.response);
  answer.code = status.error_code();
  answer.error = status.error_message();
  return answer;
}

bool IsServing(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  std::unique_ptr<grpc::health::v1::Health::Stub> health =
      grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(5)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  return health->Check(&context, request, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace keygate::reliability
