#include "server/grpc/authorizer_service.h"

#include "absl/strings/str_cat.h"
#include "server/core/log.h"
#include "server/grpc/proto_convert.h"
#include "server/grpc/status_convert.h"

namespace keygate::grpc_api {
namespace {

// Fills `response` or returns why no decision could be made.
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

}  // namespace

grpc::ServerUnaryReactor* AuthorizerService::Authorize(
    grpc::CallbackServerContext* context, const keygate::v1::AuthorizeRequest* request,
    keygate::v1::AuthorizeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (noop_) {
    response->set_allowed(true);
    response->set_http_status(200);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(AuthorizeInto(*keys_, *request, response)));
  return reactor;
}

}  // namespace keygate::grpc_api
