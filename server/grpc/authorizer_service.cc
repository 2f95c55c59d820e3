#include "server/grpc/authorizer_service.h"

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "server/core/log.h"
#include "server/grpc/proto_convert.h"
#include "server/grpc/status_convert.h"

namespace keygate::grpc_api {

absl::Status AuthorizeInto(const service::KeyService& keys,
                           const keygate::v1::AuthorizeRequest& request,
                           keygate::v1::AuthorizeResponse* response) {
  if (request.required_scope().empty()) {
    return absl::InvalidArgumentError("required_scope is required (e.g. read, flows:write)");
  }
  absl::StatusOr<core::Scope> required = core::ParseScope(request.required_scope());
  if (!required.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("required_scope: ", required.status().message()));
  }
  absl::StatusOr<std::optional<core::Environment>> environment =
      FromProto(request.environment());
  if (!environment.ok()) return environment.status();

  absl::StatusOr<service::AuthorizeResult> result =
      keys.Authorize(request.token(), *required, *environment, request.client_ip());
  if (!result.ok()) {
    core::Log(core::LogLevel::kError, "authorize_failed",
              {{"error", result.status().ToString()}});
    return result.status();
  }
  response->set_allowed(result->decision.allowed());
  response->set_reason(ToProto(result->decision.reason));
  response->set_http_status(result->decision.http_status());
  if (result->key.has_value()) {
    const absl::Time now = keys.clock().Now();
    ToProto(*result->key, now, keys.RotationDue(*result->key, now), response->mutable_key());
  }
  return absl::OkStatus();
}

namespace {

// Whether this call is one of the sampled fraction to log.
bool Sampled(double rate) {
  if (rate <= 0) return false;
  thread_local absl::InsecureBitGen random;
  return absl::Bernoulli(random, rate);
}

}  // namespace

grpc::ServerUnaryReactor* AuthorizerService::Authorize(
    grpc::CallbackServerContext* context, const keygate::v1::AuthorizeRequest* request,
    keygate::v1::AuthorizeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (options_.noop) {
    response->set_allowed(true);
    response->set_http_status(200);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  const bool timed = options_.metrics != nullptr || options_.log_sample_rate > 0;
  const absl::Time start = timed ? absl::Now() : absl::InfinitePast();
  const absl::Status status = AuthorizeInto(*keys_, *request, response);
  if (timed && status.ok()) {
    const absl::Duration latency = absl::Now() - start;
    const core::Reason reason = static_cast<core::Reason>(response->reason());
    std::optional<core::Environment> environment;
    if (response->has_key()) {
      environment = response->key().environment() == keygate::v1::ENVIRONMENT_TEST
                        ? core::Environment::kTest
                        : core::Environment::kLive;
    }
    if (options_.metrics != nullptr) options_.metrics->RecordAuthorize(reason, environment, latency);
    if (Sampled(options_.log_sample_rate)) {
      core::Log(core::LogLevel::kInfo, "authorize",
                {{"reason", core::ReasonName(reason)},
                 {"key_id", response->key().key_id()},
                 {"team", response->key().team_id()},
                 {"required_scope", request->required_scope()},
                 {"client_ip", request->client_ip()},
                 {"peer", context->peer()},
                 {"duration_us", absl::ToInt64Microseconds(latency)}});
    }
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace keygate::grpc_api
