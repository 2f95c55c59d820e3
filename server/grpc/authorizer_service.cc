#include "server/grpc/authorizer_service.h"

#include <vector>

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "server/core/log.h"
#include "server/grpc/authorize_wire.h"
#include "server/grpc/proto_convert.h"
#include "server/grpc/status_convert.h"

namespace keygate::grpc_api {
namespace {

// Whether this call is one of the sampled fraction to log.
bool Sampled(double rate) {
  if (rate <= 0) return false;
  thread_local absl::InsecureBitGen random;
  return absl::Bernoulli(random, rate);
}

// Parses a request as gRPC's generated code would, without copying a request
// that arrived in one slice (the usual case).
bool ParseRequest(const grpc::ByteBuffer& bytes, keygate::v1::AuthorizeRequest* request) {
  grpc::Slice single;
  if (bytes.TrySingleSlice(&single).ok()) {
    return request->ParseFromArray(single.begin(), static_cast<int>(single.size()));
  }
  std::vector<grpc::Slice> slices;
  if (!bytes.Dump(&slices).ok()) return false;
  std::string joined;
  for (const grpc::Slice& slice : slices) {
    joined.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return request->ParseFromString(joined);
}

// The noop baseline's fixed answer: allowed, http_status 200.
const std::string& NoopResponse() {
  static const std::string* const bytes = [] {
    auto* out = new std::string;
    AppendAuthorizeResponseWire(core::Decision{core::Reason::kNone}, nullptr, absl::Now(), false,
                                out);
    return out;
  }();
  return *bytes;
}

void SetResponse(const std::string& bytes, grpc::ByteBuffer* response) {
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer buffer(&slice, 1);
  response->Swap(&buffer);
}

}  // namespace

absl::Status AuthorizeToWire(const service::KeyService& keys,
                             const keygate::v1::AuthorizeRequest& request, std::string* response,
                             service::AuthorizeResult* result) {
  if (request.required_scope().empty()) {
    return absl::InvalidArgumentError("required_scope is required (e.g. read, flows:write)");
  }
  absl::StatusOr<core::Scope> required = core::ParseScope(request.required_scope());
  if (!required.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("required_scope: ", required.status().message()));
  }
  absl::StatusOr<std::optional<core::Environment>> environment = FromProto(request.environment());
  if (!environment.ok()) return environment.status();

  absl::StatusOr<service::AuthorizeResult> decided =
      keys.Authorize(request.token(), *required, *environment, request.client_ip());
  if (!decided.ok()) {
    core::Log(core::LogLevel::kError, "authorize_failed", {{"error", decided.status().ToString()}});
    return decided.status();
  }
  const core::KeyRecord* key = decided->key.get();
  const absl::Time now = decided->time;
  AppendAuthorizeResponseWire(decided->decision, key, now,
                              key != nullptr && keys.RotationDue(*key, now), response);
  if (result != nullptr) *result = *std::move(decided);
  return absl::OkStatus();
}

absl::Status AuthorizeInto(const service::KeyService& keys,
                           const keygate::v1::AuthorizeRequest& request,
                           keygate::v1::AuthorizeResponse* response) {
  std::string bytes;
  absl::Status status = AuthorizeToWire(keys, request, &bytes);
  if (!status.ok()) return status;
  if (!response->ParseFromString(bytes)) {
    return absl::InternalError("the encoded AuthorizeResponse does not parse");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* AuthorizerService::Authorize(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request_bytes,
                                                       grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  keygate::v1::AuthorizeRequest request;
  if (!ParseRequest(*request_bytes, &request)) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "the request is not a valid keygate.v1.AuthorizeRequest"));
    return reactor;
  }
  if (options_.noop) {
    SetResponse(NoopResponse(), response);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  const bool observed = options_.metrics != nullptr || options_.log_sample_rate > 0;
  const absl::Time start = observed ? absl::Now() : absl::InfinitePast();
  // Reused by the calls of this thread: no allocation once it has grown.
  thread_local std::string bytes;
  bytes.clear();
  service::AuthorizeResult result;
  const absl::Status status =
      AuthorizeToWire(*keys_, request, &bytes, observed ? &result : nullptr);
  if (status.ok()) {
    SetResponse(bytes, response);
    if (observed) Observe(context, request, result, absl::Now() - start);
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

void AuthorizerService::Observe(grpc::CallbackServerContext* context,
                                const keygate::v1::AuthorizeRequest& request,
                                const service::AuthorizeResult& result,
                                absl::Duration latency) const {
  const core::KeyRecord* key = result.key.get();
  std::optional<core::Environment> environment;
  if (key != nullptr) environment = key->environment;
  if (options_.metrics != nullptr) {
    options_.metrics->RecordAuthorize(result.decision.reason, environment, latency);
  }
  if (Sampled(options_.log_sample_rate)) {
    core::Log(core::LogLevel::kInfo, "authorize",
              {{"reason", core::ReasonName(result.decision.reason)},
               {"key_id", key != nullptr ? key->key_id : ""},
               {"team", key != nullptr ? key->team_id : ""},
               {"required_scope", request.required_scope()},
               {"client_ip", request.client_ip()},
               {"peer", context->peer()},
               {"duration_us", absl::ToInt64Microseconds(latency)}});
  }
}

}  // namespace keygate::grpc_api
