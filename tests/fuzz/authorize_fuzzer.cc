// Fuzzes the Authorize handler path: bytes parsed as a
// keygate.v1.AuthorizeRequest, the handler's validation, KeyService::Authorize
// over a real RocksDB store (FuzzEnv's preloaded keys), and the response
// conversion: grpc_api::AuthorizeInto, the body of the Authorize handler
// without gRPC (server/grpc/authorizer_service.h).
//
// Invariants:
//  - an empty or unparsable required_scope, or an unknown environment, is
//    InvalidArgument; otherwise the call succeeds (the store is healthy);
//  - allowed == (reason == REASON_UNSPECIFIED); http_status is 200 / 403 for
//    insufficient scope / 401 for every other denial;
//  - a token that does not parse is REASON_MALFORMED_TOKEN without a key; a
//    well-formed token of no key is REASON_UNKNOWN_KEY without a key;
//  - a preloaded key's token gets exactly the reason an independent oracle
//    (revoked, expired, environment, scope) gives, with that key's metadata;
//  - allowed only with a key that is active, of the required environment,
//    and holds a scope that satisfies the required one;
//  - no response or error message contains a token or a token hash (a
//    freshly generated token replaces the first '#' of the token field, so
//    an echo of unknown tokens shows too).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "keygate/v1/authorizer.pb.h"
#include "server/core/token.h"
#include "server/grpc/authorizer_service.h"
#include "server/grpc/status_convert.h"
#include "tests/fuzz/fuzz_env.h"

namespace keygate::fuzzing {
namespace {

void CheckNoSecrets(FuzzEnv& env, absl::string_view text, absl::string_view spliced_secret) {
  FUZZ_CHECK(!env.ContainsPreloadedSecret(text), "no preloaded token in any output");
  if (!spliced_secret.empty()) {
    FUZZ_CHECK(!ContainsSecret(text, spliced_secret), "no token in any output");
  }
  for (const PreloadedKey& key : env.keys()) {
    FUZZ_CHECK(text.find(key.record.token_hash) == absl::string_view::npos,
               "no token hash in any output");
  }
}

}  // namespace
}  // namespace keygate::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keygate::fuzzing;  // NOLINT
  namespace core = keygate::core;
  FuzzEnv& env = FuzzEnv::Get();
  keygate::v1::AuthorizeRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;

  std::string spliced_secret;
  if (const size_t hash = request.token().find('#'); hash != std::string::npos) {
    spliced_secret = env.format().Generate(core::Environment::kLive);
    std::string token = request.token();
    token.replace(hash, 1, spliced_secret);
    request.set_token(token);
  }

  keygate::v1::AuthorizeResponse response;
  const absl::Status status = keygate::grpc_api::AuthorizeInto(env.service(), request, &response);
  const grpc::Status wire_status = keygate::grpc_api::ToGrpcStatus(status);
  CheckNoSecrets(env, wire_status.error_message(), spliced_secret);

  const bool scope_ok = !request.required_scope().empty() &&
                        core::ParseScope(request.required_scope()).ok();
  const int env_value = request.environment();
  const bool env_ok = env_value >= 0 && env_value <= 2;
  if (!scope_ok || !env_ok) {
    FUZZ_CHECK(absl::IsInvalidArgument(status), "bad required_scope/environment is InvalidArgument");
    return 0;
  }
  FUZZ_CHECK(status.ok(), absl::StrCat("Authorize failed: ", status.ToString()));
  const absl::StatusOr<core::Scope> required = core::ParseScope(request.required_scope());

  std::string serialized;
  FUZZ_CHECK(response.SerializeToString(&serialized), "response serializes");
  CheckNoSecrets(env, serialized, spliced_secret);

  const auto reason = response.reason();
  FUZZ_CHECK(response.allowed() == (reason == keygate::v1::REASON_UNSPECIFIED),
             "allowed iff no reason");
  const int expected_http = response.allowed()                                   ? 200
                            : reason == keygate::v1::REASON_INSUFFICIENT_SCOPE ? 403
                                                                               : 401;
  FUZZ_CHECK(response.http_status() == expected_http, "http_status matches the reason");

  const absl::StatusOr<core::ParsedToken> parsed = env.format().Parse(request.token());
  if (!parsed.ok()) {
    FUZZ_CHECK(reason == keygate::v1::REASON_MALFORMED_TOKEN && !response.has_key(),
               "a malformed token is REASON_MALFORMED_TOKEN without a key");
    return 0;
  }
  const PreloadedKey* key = env.FindByToken(parsed->token);
  if (key == nullptr) {
    FUZZ_CHECK(reason == keygate::v1::REASON_UNKNOWN_KEY && !response.has_key(),
               "a well-formed token of no key is REASON_UNKNOWN_KEY");
    return 0;
  }
  std::optional<core::Environment> required_env;
  if (env_value == keygate::v1::ENVIRONMENT_LIVE) required_env = core::Environment::kLive;
  if (env_value == keygate::v1::ENVIRONMENT_TEST) required_env = core::Environment::kTest;
  const core::Reason expected = ExpectedReason(key->record, *required, required_env, env.now());
  FUZZ_CHECK(static_cast<int>(reason) == static_cast<int>(expected),
             absl::StrCat("reason ", reason, " but the oracle says ", static_cast<int>(expected),
                          " for ", key->record.name, " / ", required->ToString()));
  FUZZ_CHECK(response.has_key() && response.key().key_id() == key->record.key_id &&
                 response.key().team_id() == key->record.team_id,
             "a matched key's metadata is returned");
  if (response.allowed()) {
    FUZZ_CHECK(response.key().state() == keygate::v1::Key::STATE_ACTIVE, "allowed keys are active");
    FUZZ_CHECK(core::AnySatisfies(key->record.scopes, *required), "allowed only with a scope");
  }
  // Exercise the usage flush (merge operators) now and then.
  static uint64_t calls = 0;
  if (++calls % 4096 == 0) {
    FUZZ_CHECK(env.usage().Flush().ok(), "usage flush succeeds");
  }
  return 0;
}
