// Fuzzes CreateKey: bytes parsed as a keygate.v1.CreateKeyRequest, the
// handler's translation (server/grpc/key_manager_service.cc), and
// KeyService::CreateKey over a real RocksDB store, as the operator, then as
// a team admin, a read key and a revoked admin.
//
// Invariants:
//  - the operator's call succeeds exactly when an independent oracle of the
//    documented input rules says the request is valid (team_id, name, 1-32
//    scopes of at most 96 characters that parse, an environment, an
//    expire_time in the future); otherwise it is InvalidArgument;
//  - a created key has the request's team, name, environment and parsed
//    scopes; its token parses for that environment, is not stored, and
//    authorizes exactly the scopes the key holds;
//  - acme's live admin succeeds only for team acme in live (else
//    PermissionDenied, or InvalidArgument for an invalid request); a read
//    key is PermissionDenied; a revoked admin is Unauthenticated;
//  - no error message contains a token.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "keygate/v1/key_manager.pb.h"
#include "server/core/scope.h"
#include "server/core/validation.h"
#include "server/grpc/proto_convert.h"
#include "server/grpc/status_convert.h"
#include "tests/fuzz/fuzz_env.h"

namespace keygate::fuzzing {
namespace {

// The handler's translation of the request (KeyManagerService::CreateKey).
absl::StatusOr<service::NewKey> Translate(const keygate::v1::CreateKeyRequest& request) {
  service::NewKey key;
  key.team_id = request.team_id();
  key.name = request.name();
  key.scopes.assign(request.scopes().begin(), request.scopes().end());
  absl::StatusOr<std::optional<core::Environment>> environment =
      grpc_api::FromProto(request.environment());
  if (!environment.ok()) return environment.status();
  key.environment = *environment;
  if (request.has_expire_time()) {
    absl::StatusOr<absl::Time> expire = grpc_api::FromProto(request.expire_time());
    if (!expire.ok()) return expire.status();
    key.expire_time = *expire;
  }
  return key;
}

bool TeamOk(absl::string_view team) {
  if (team.empty() || team.size() > 64 || team[0] == '-' || team[0] == '_') return false;
  for (char c : team) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

bool NameOk(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

// docs/api.md "Input limits", written out independently of the service.
bool RequestValid(const keygate::v1::CreateKeyRequest& request, absl::Time now) {
  if (!TeamOk(request.team_id()) || !NameOk(request.name())) return false;
  if (request.scopes_size() < 1 || request.scopes_size() > 32) return false;
  for (const std::string& scope : request.scopes()) {
    if (scope.size() > 96 || !core::ParseScope(scope).ok()) return false;
  }
  if (request.environment() != keygate::v1::ENVIRONMENT_LIVE &&
      request.environment() != keygate::v1::ENVIRONMENT_TEST) {
    return false;
  }
  if (request.has_expire_time()) {
    const auto& ts = request.expire_time();
    if (ts.seconds() < -62135596800 || ts.seconds() > 253402300799 || ts.nanos() < 0 ||
        ts.nanos() > 999999999) {
      return false;
    }
    if (absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()) <= now) return false;
  }
  return true;
}

absl::StatusOr<service::CreatedKey> CreateAs(FuzzEnv& env, KeyIndex caller,
                                             const keygate::v1::CreateKeyRequest& request) {
  const service::CallInfo call{absl::StrCat("Bearer ", env.key(caller).token), "ipv4:127.0.0.1:1"};
  absl::StatusOr<service::NewKey> key = Translate(request);
  if (!key.ok()) return key.status();
  return env.service().CreateKey(call, *key);
}

void CheckNoSecrets(FuzzEnv& env, const absl::Status& status) {
  const grpc::Status wire = grpc_api::ToGrpcStatus(status);
  FUZZ_CHECK(!env.ContainsPreloadedSecret(status.message()) &&
                 !env.ContainsPreloadedSecret(wire.error_message()),
             "no token in an error message");
}

void CheckCreated(FuzzEnv& env, const keygate::v1::CreateKeyRequest& request,
                  const service::CreatedKey& created) {
  const core::KeyRecord& key = created.key;
  FUZZ_CHECK(key.team_id == request.team_id() && key.name == request.name(),
             "team and name are the request's");
  const core::Environment want_env = request.environment() == keygate::v1::ENVIRONMENT_TEST
                                         ? core::Environment::kTest
                                         : core::Environment::kLive;
  FUZZ_CHECK(key.environment == want_env, "environment is the request's");
  const std::vector<std::string> texts(request.scopes().begin(), request.scopes().end());
  const absl::StatusOr<core::ScopeList> scopes = core::ParseScopes(texts);
  FUZZ_CHECK(scopes.ok() && *scopes == key.scopes, "scopes are the parsed, de-duplicated request");
  FUZZ_CHECK(!key.is_operator, "CreateKey never makes operator keys");
  const absl::StatusOr<core::ParsedToken> parsed = env.format().Parse(created.token);
  FUZZ_CHECK(parsed.ok() && parsed->environment == want_env, "the token parses for its environment");
  FUZZ_CHECK(key.token_hash != created.token && key.token_hash.size() == 32,
             "the record holds a 32-byte hash, not the token");
  FUZZ_CHECK(created.token.rfind(key.display_prefix, 0) == 0, "display prefix is the token's head");

  // The new token authorizes exactly what its scopes grant.
  for (const core::Scope& want : {core::Scope{"", core::Level::kRead}, core::Scope{"", core::Level::kWrite},
                                  core::Scope{"", core::Level::kAdmin}, core::Scope{"flows", core::Level::kRead},
                                  core::Scope{"runs", core::Level::kWrite}}) {
    absl::StatusOr<service::AuthorizeResult> result =
        env.service().Authorize(created.token, want, std::nullopt);
    FUZZ_CHECK(result.ok(), "Authorize succeeds");
    FUZZ_CHECK(result->decision.allowed() == core::AnySatisfies(key.scopes, want),
               absl::StrCat("a new key authorizes exactly its scopes: ", want.ToString()));
  }
  for (const core::Scope& scope : key.scopes) {
    absl::StatusOr<service::AuthorizeResult> result =
        env.service().Authorize(created.token, scope, want_env);
    FUZZ_CHECK(result.ok() && result->decision.allowed(), "a new key authorizes its own scopes");
  }
}

}  // namespace
}  // namespace keygate::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keygate::fuzzing;  // NOLINT
  FuzzEnv& env = FuzzEnv::Get();
  keygate::v1::CreateKeyRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;

  const bool valid = RequestValid(request, env.now());
  absl::StatusOr<keygate::service::CreatedKey> as_operator = CreateAs(env, kOperator, request);
  CheckNoSecrets(env, as_operator.status());
  FUZZ_CHECK(as_operator.ok() == valid,
             absl::StrCat("operator CreateKey: oracle says valid=", valid, ", got ",
                          as_operator.status().ToString()));
  if (as_operator.ok()) {
    CheckCreated(env, request, *as_operator);
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(as_operator.status()), "an invalid request is InvalidArgument");
  }

  absl::StatusOr<keygate::service::CreatedKey> as_admin = CreateAs(env, kAcmeAdmin, request);
  CheckNoSecrets(env, as_admin.status());
  const bool own = request.team_id() == "acme" &&
                   request.environment() == keygate::v1::ENVIRONMENT_LIVE;
  if (valid && own) {
    FUZZ_CHECK(as_admin.ok(), absl::StrCat("team admin in its team: ", as_admin.status().ToString()));
    CheckCreated(env, request, *as_admin);
  } else if (valid) {
    FUZZ_CHECK(absl::IsPermissionDenied(as_admin.status()),
               "team admin for another team or environment is PermissionDenied");
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(as_admin.status()) ||
                   absl::IsPermissionDenied(as_admin.status()),
               "team admin with an invalid request is refused");
  }

  // Credentials that may never create: only the credential check runs
  // (and a refused call is audited), so these are cheap.
  const absl::Status as_read = CreateAs(env, kAcmeRead, request).status();
  const absl::Status as_revoked = CreateAs(env, kAcmeRevokedAdmin, request).status();
  CheckNoSecrets(env, as_read);
  CheckNoSecrets(env, as_revoked);
  const bool translates = Translate(request).ok();
  FUZZ_CHECK(!translates || absl::IsPermissionDenied(as_read), "a read key is PermissionDenied");
  FUZZ_CHECK(!translates || absl::IsUnauthenticated(as_revoked), "a revoked admin is Unauthenticated");
  return 0;
}
