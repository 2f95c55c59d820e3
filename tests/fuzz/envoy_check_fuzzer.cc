// Fuzzes Envoy's ext_authz Check without gRPC: bytes parsed as an
// envoy.service.auth.v3.CheckRequest, then AuthorizationService::Decide
// (required scope, credential, KeyService::Authorize over a real RocksDB
// store with FuzzEnv's preloaded keys) and BuildCheckResponse, as the Check
// handler does (server/envoy/authorization_service.cc).
//
// Invariants:
//  - Decide succeeds (the store is healthy);
//  - the verdict is what an independent walk of the documented flow gives:
//    a per-route required_scope that does not parse → 500 (INTERNAL); no
//    `authorization` header or another scheme → 401 without error code; an
//    empty or whitespace-holding bearer token, or one that does not parse →
//    401 invalid_token; a well-formed token of no key → 401; a preloaded key
//    → the oracle's reason (403 only for insufficient scope);
//  - OK (allowed) only for an active key holding a scope that satisfies the
//    required one, with x-keygate-key-id set to that key, the authorization
//    header removed, and x-keygate-team-id removed for operator keys;
//  - no response contains a token (a freshly generated token replaces the
//    first '#' of each authorization header value) or a token hash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "server/envoy/authorization_service.h"
#include "tests/fuzz/fuzz_env.h"

namespace keygate::fuzzing {
namespace {

namespace authv3 = ::envoy::service::auth::v3;

constexpr char kRoutes[] =
    "GET /api/v1/flows flows:read\n"
    "*   /api/v1/flows flows:write\n"
    "*   /api/v1/runs  runs:write\n"
    "*   /api/v1/admin admin\n";

const envoy_authz::AuthorizationService& Service() {
  static const envoy_authz::AuthorizationService* const service = [] {
    absl::StatusOr<envoy_authz::RouteScopeTable> routes = envoy_authz::RouteScopeTable::Parse(kRoutes);
    FUZZ_CHECK(routes.ok(), "route table parses");
    envoy_authz::AuthzConfig config;
    config.routes = *std::move(routes);
    FUZZ_CHECK(envoy_authz::ValidateConfig(config).ok(), "config is valid");
    return new envoy_authz::AuthorizationService(&FuzzEnv::Get().service(), std::move(config));
  }();
  return *service;
}

void Splice(std::string* value, absl::string_view secret) {
  const size_t hash = value->find('#');
  if (hash != std::string::npos) value->replace(hash, 1, std::string(secret));
}

// The header value of `key` among `option`s, if set.
const std::string* FindHeader(
    const google::protobuf::RepeatedPtrField<::envoy::config::core::v3::HeaderValueOption>& headers,
    absl::string_view key) {
  for (const auto& option : headers) {
    if (option.header().key() == key) return &option.header().value();
  }
  return nullptr;
}

bool Removes(const authv3::OkHttpResponse& ok, absl::string_view header) {
  for (const std::string& h : ok.headers_to_remove()) {
    if (h == header) return true;
  }
  return false;
}

// The expected denial for `reason` (kNone: allowed).
struct Expected {
  int rpc_code = 16;
  int http = 401;
  bool allowed = false;
  const PreloadedKey* key = nullptr;
};

Expected Oracle(FuzzEnv& env, const authv3::AttributeContext& attributes) {
  Expected e;
  const auto ext = attributes.context_extensions().find("required_scope");
  if (ext != attributes.context_extensions().end() && !core::ParseScope(ext->second).ok()) {
    e.rpc_code = 13;
    e.http = 500;
    return e;
  }
  const absl::StatusOr<core::Scope> required =
      envoy_authz::ResolveRequiredScope(attributes, Service().config().routes);
  FUZZ_CHECK(required.ok(), "a parsable or absent required_scope resolves");
  const std::optional<std::string> header =
      envoy_authz::FindAuthorizationHeader(attributes.request().http());
  if (!header.has_value()) return e;
  const std::optional<absl::string_view> token = envoy_authz::ParseBearerToken(*header);
  if (!token.has_value()) return e;
  if (token->empty() || std::any_of(token->begin(), token->end(), [](char c) {
        return absl::ascii_isspace(static_cast<unsigned char>(c));
      })) {
    return e;
  }
  const absl::StatusOr<core::ParsedToken> parsed = env.format().Parse(*token);
  if (!parsed.ok()) return e;
  e.key = env.FindByToken(parsed->token);
  if (e.key == nullptr) return e;
  const core::Reason reason = ExpectedReason(e.key->record, *required, std::nullopt, env.now());
  if (reason == core::Reason::kNone) {
    e.allowed = true;
    e.rpc_code = 0;
    e.http = 200;
  } else if (reason == core::Reason::kInsufficientScope) {
    e.rpc_code = 7;
    e.http = 403;
  }
  return e;
}

}  // namespace
}  // namespace keygate::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keygate::fuzzing;  // NOLINT
  namespace core = keygate::core;
  FuzzEnv& env = FuzzEnv::Get();
  authv3::CheckRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;

  // Splice a fresh secret into every authorization header value.
  const std::string secret = env.format().Generate(core::Environment::kLive);
  auto* http = request.mutable_attributes()->mutable_request()->mutable_http();
  for (auto& [key, value] : *http->mutable_headers()) {
    if (absl::EqualsIgnoreCase(key, "authorization")) Splice(&value, secret);
  }
  for (auto& header : *http->mutable_header_map()->mutable_headers()) {
    if (absl::EqualsIgnoreCase(header.key(), "authorization")) {
      Splice(header.mutable_value(), secret);
      Splice(header.mutable_raw_value(), secret);
    }
  }

  const authv3::AttributeContext& attributes = request.attributes();
  const absl::StatusOr<keygate::envoy_authz::Verdict> verdict = Service().Decide(attributes);
  FUZZ_CHECK(verdict.ok(), absl::StrCat("Decide failed: ", verdict.status().ToString()));
  authv3::CheckResponse response;
  keygate::envoy_authz::BuildCheckResponse(*verdict, Service().config(), &response);

  std::string serialized;
  FUZZ_CHECK(response.SerializeToString(&serialized), "response serializes");
  FUZZ_CHECK(!env.ContainsPreloadedSecret(serialized), "no preloaded token in a response");
  FUZZ_CHECK(!ContainsSecret(serialized, secret), "no token in a response");
  for (const PreloadedKey& key : env.keys()) {
    FUZZ_CHECK(serialized.find(key.record.token_hash) == std::string::npos, "no hash in a response");
  }

  const Expected expected = Oracle(env, attributes);
  FUZZ_CHECK(response.status().code() == expected.rpc_code,
             absl::StrCat("rpc code ", response.status().code(), ", oracle ", expected.rpc_code));
  if (expected.allowed) {
    FUZZ_CHECK(verdict->kind == keygate::envoy_authz::Verdict::Kind::kAllowed, "verdict allowed");
    FUZZ_CHECK(response.has_ok_response() && !response.has_denied_response(), "ok_response only");
    const auto& ok = response.ok_response();
    const std::string* key_id = FindHeader(ok.headers(), keygate::envoy_authz::kKeyIdHeader);
    FUZZ_CHECK(key_id != nullptr && *key_id == expected.key->record.key_id, "x-keygate-key-id");
    FUZZ_CHECK(Removes(ok, "authorization"), "the token is removed from the request");
    if (expected.key->record.is_operator) {
      FUZZ_CHECK(Removes(ok, keygate::envoy_authz::kTeamIdHeader) &&
                     FindHeader(ok.headers(), keygate::envoy_authz::kTeamIdHeader) == nullptr,
                 "operator keys carry no team header");
    }
    FUZZ_CHECK(core::AnySatisfies(expected.key->record.scopes, verdict->required),
               "allowed only with a satisfying scope");
  } else {
    FUZZ_CHECK(verdict->kind != keygate::envoy_authz::Verdict::Kind::kAllowed, "verdict denied");
    FUZZ_CHECK(!response.has_ok_response() && response.has_denied_response(), "denied_response only");
    FUZZ_CHECK(static_cast<int>(response.denied_response().status().code()) == expected.http,
               absl::StrCat("http ", response.denied_response().status().code(), ", oracle ",
                            expected.http));
    const std::string* www =
        FindHeader(response.denied_response().headers(), "www-authenticate");
    FUZZ_CHECK((www != nullptr) == (expected.http != 500), "www-authenticate on 401/403 only");
  }
  return 0;
}
