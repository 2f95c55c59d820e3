#include "server/envoy/authorization_service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keygate/v1/authorizer.pb.h"
#include "server/core/log.h"
#include "server/core/status_macros.h"
#include "server/core/token.h"

namespace keygate::envoy_authz {
namespace {

namespace authv3 = ::envoy::service::auth::v3;
using ::envoy::config::core::v3::HeaderValueOption;

// google.rpc.Code values (the same numbers as grpc::StatusCode).
constexpr int kRpcOk = 0;
constexpr int kRpcPermissionDenied = 7;
constexpr int kRpcInternal = 13;
constexpr int kRpcUnauthenticated = 16;

// Logs one misconfigured-route event per this many.
constexpr uint64_t kMisconfiguredLogEvery = 1000;

void AddHeader(absl::string_view key, absl::string_view value,
               google::protobuf::RepeatedPtrField<HeaderValueOption>* headers) {
  HeaderValueOption* option = headers->Add();
  option->mutable_header()->set_key(std::string(key));
  option->mutable_header()->set_value(std::string(value));
  // Every Envoy version reads `append` first (false: overwrite); newer ones
  // fall back to append_action when `append` is unset. Both say overwrite.
  option->mutable_append()->set_value(false);
  option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
}

// Appends `text` as the content of an HTTP quoted-string (RFC 9110 5.6.4).
void AppendQuoted(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string WwwAuthenticate(absl::string_view realm, absl::string_view error,
                            absl::string_view scope) {
  std::string value = "Bearer realm=";
  AppendQuoted(realm, &value);
  if (!error.empty()) {
    value += ", error=";
    AppendQuoted(error, &value);
  }
  if (!scope.empty()) {
    value += ", scope=";
    AppendQuoted(scope, &value);
  }
  return value;
}

// The public name of a denial reason, e.g. "REASON_REVOKED".
std::string PublicReasonName(core::Reason reason) {
  return keygate::v1::Reason_Name(static_cast<keygate::v1::Reason>(reason));
}

// Fills `response` as a denial answered with HTTP `http_status`.
void Deny(int rpc_code, absl::string_view rpc_message, ::envoy::type::v3::StatusCode http_status,
          absl::string_view www_authenticate, const std::string& json_body,
          authv3::CheckResponse* response) {
  response->mutable_status()->set_code(rpc_code);
  response->mutable_status()->set_message(std::string(rpc_message));
  authv3::DeniedHttpResponse* denied = response->mutable_denied_response();
  denied->mutable_status()->set_code(http_status);
  if (!www_authenticate.empty()) {
    AddHeader("www-authenticate", www_authenticate, denied->mutable_headers());
  }
  AddHeader("content-type", "application/json", denied->mutable_headers());
  denied->set_body(json_body);
}

std::string JsonBody(absl::string_view error, absl::string_view reason,
                     absl::string_view required_scope) {
  std::string body = "{\"error\":";
  core::AppendJsonString(error, &body);
  body += ",\"reason\":";
  core::AppendJsonString(reason, &body);
  if (!required_scope.empty()) {
    body += ",\"required_scope\":";
    core::AppendJsonString(required_scope, &body);
  }
  body += "}";
  return body;
}

void Allow(const core::KeyRecord& key, const AuthzConfig& config, authv3::CheckResponse* response) {
  response->mutable_status()->set_code(kRpcOk);
  authv3::OkHttpResponse* ok = response->mutable_ok_response();
  AddHeader(kKeyIdHeader, key.key_id, ok->mutable_headers());
  if (key.team_id.empty()) {
    // Operator keys belong to no team; never let a client-sent value through.
    ok->add_headers_to_remove(kTeamIdHeader);
  } else {
    AddHeader(kTeamIdHeader, key.team_id, ok->mutable_headers());
  }
  AddHeader(kEnvironmentHeader, core::EnvironmentName(key.environment), ok->mutable_headers());
  std::vector<std::string> scopes;
  scopes.reserve(key.scopes.size());
  for (const core::Scope& scope : key.scopes) scopes.push_back(scope.ToString());
  AddHeader(kScopesHeader, absl::StrJoin(scopes, ","), ok->mutable_headers());
  if (config.remove_authorization_header) ok->add_headers_to_remove(kAuthorizationHeader);
}

bool IsRealmChar(char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

}  // namespace

absl::Status ValidateConfig(const AuthzConfig& config) {
  if (config.realm.empty() || config.realm.size() > kMaxRealmChars ||
      !std::all_of(config.realm.begin(), config.realm.end(), IsRealmChar)) {
    return absl::InvalidArgumentError(
        "envoy realm must be 1-128 printable ASCII characters other than '\"' and '\\'");
  }
  return absl::OkStatus();
}

absl::StatusOr<AuthzConfig> MakeConfig(absl::string_view realm, bool remove_authorization_header,
                                       const std::string& route_scopes_file) {
  AuthzConfig config;
  config.realm = std::string(realm);
  config.remove_authorization_header = remove_authorization_header;
  if (!route_scopes_file.empty()) {
    KEYGATE_ASSIGN_OR_RETURN(config.routes, RouteScopeTable::LoadFile(route_scopes_file));
  }
  KEYGATE_RETURN_IF_ERROR(ValidateConfig(config));
  return config;
}

Verdict Verdict::Allowed(core::KeyRecord key, core::Scope required) {
  Verdict verdict;
  verdict.kind = Kind::kAllowed;
  verdict.reason = core::Reason::kNone;
  verdict.required = std::move(required);
  verdict.key = std::move(key);
  return verdict;
}

Verdict Verdict::NoCredentials(core::Scope required) {
  Verdict verdict;
  verdict.kind = Kind::kNoCredentials;
  verdict.reason = core::Reason::kMalformedToken;
  verdict.required = std::move(required);
  return verdict;
}

Verdict Verdict::Denied(core::Reason reason, core::Scope required) {
  Verdict verdict;
  verdict.kind = Kind::kDenied;
  verdict.reason = reason;
  verdict.required = std::move(required);
  return verdict;
}

Verdict Verdict::RouteMisconfigured() {
  Verdict verdict;
  verdict.kind = Kind::kRouteMisconfigured;
  return verdict;
}

Verdict Verdict::FromAuthorizeResult(const service::AuthorizeResult& result,
                                     const core::Scope& required) {
  if (result.decision.allowed()) {
    if (result.key == nullptr) return Denied(core::Reason::kUnknownKey, required);
    return Allowed(*result.key, required);
  }
  return Denied(result.decision.reason, required);
}

void BuildCheckResponse(const Verdict& verdict, const AuthzConfig& config,
                        authv3::CheckResponse* response) {
  response->Clear();
  switch (verdict.kind) {
    case Verdict::Kind::kAllowed:
      if (verdict.key.has_value()) {
        Allow(*verdict.key, config, response);
        return;
      }
      // Not a valid verdict; deny rather than allow without an identity.
      Deny(kRpcUnauthenticated, PublicReasonName(core::Reason::kUnknownKey),
           ::envoy::type::v3::Unauthorized, WwwAuthenticate(config.realm, "invalid_token", ""),
           JsonBody("unauthorized", PublicReasonName(core::Reason::kUnknownKey), ""), response);
      return;
    case Verdict::Kind::kNoCredentials:
      Deny(kRpcUnauthenticated, "missing credential: send 'authorization: Bearer <key>'",
           ::envoy::type::v3::Unauthorized, WwwAuthenticate(config.realm, "", ""),
           JsonBody("unauthorized", PublicReasonName(core::Reason::kMalformedToken), ""), response);
      return;
    case Verdict::Kind::kDenied: {
      const std::string reason = PublicReasonName(verdict.reason);
      if (verdict.reason == core::Reason::kInsufficientScope) {
        const std::string scope = verdict.required.ToString();
        Deny(kRpcPermissionDenied, reason, ::envoy::type::v3::Forbidden,
             WwwAuthenticate(config.realm, "insufficient_scope", scope),
             JsonBody("forbidden", reason, scope), response);
      } else {
        Deny(kRpcUnauthenticated, reason, ::envoy::type::v3::Unauthorized,
             WwwAuthenticate(config.realm, "invalid_token", ""),
             JsonBody("unauthorized", reason, ""), response);
      }
      return;
    }
    case Verdict::Kind::kRouteMisconfigured:
      Deny(kRpcInternal, "required_scope in the route's context_extensions does not parse",
           ::envoy::type::v3::InternalServerError, "",
           JsonBody("server_error", "ROUTE_MISCONFIGURED", ""), response);
      return;
  }
}

std::optional<std::string> FindAuthorizationHeader(
    const authv3::AttributeContext::HttpRequest& http) {
  const auto exact = http.headers().find(kAuthorizationHeader);
  if (exact != http.headers().end()) return exact->second;
  for (const auto& [key, value] : http.headers()) {
    if (absl::EqualsIgnoreCase(key, kAuthorizationHeader)) return value;
  }
  std::optional<std::string> joined;
  for (const ::envoy::config::core::v3::HeaderValue& header : http.header_map().headers()) {
    if (!absl::EqualsIgnoreCase(header.key(), kAuthorizationHeader)) continue;
    const std::string& value = header.raw_value().empty() ? header.value() : header.raw_value();
    if (joined.has_value()) {
      absl::StrAppend(&*joined, ", ", value);
    } else {
      joined = value;
    }
  }
  return joined;
}

std::optional<absl::string_view> ParseBearerToken(absl::string_view authorization) {
  const absl::string_view value = absl::StripAsciiWhitespace(authorization);
  constexpr absl::string_view kScheme = "bearer";
  if (!absl::StartsWithIgnoreCase(value, kScheme)) return std::nullopt;
  const absl::string_view rest = value.substr(kScheme.size());
  if (rest.empty()) return rest;  // "Bearer" alone: a Bearer credential, empty.
  if (!absl::ascii_isspace(static_cast<unsigned char>(rest[0]))) return std::nullopt;  // "Bearerx"
  return absl::StripLeadingAsciiWhitespace(rest);
}

absl::StatusOr<core::Scope> ResolveRequiredScope(const authv3::AttributeContext& attributes,
                                                 const RouteScopeTable& routes) {
  const auto extension = attributes.context_extensions().find(kRequiredScopeExtension);
  if (extension != attributes.context_extensions().end()) {
    absl::StatusOr<core::Scope> scope = core::ParseScope(extension->second);
    if (!scope.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("context_extensions.required_scope: ", scope.status().message()));
    }
    return scope;
  }
  const authv3::AttributeContext::HttpRequest& http = attributes.request().http();
  if (const RouteRule* rule = routes.Find(http.method(), http.path()); rule != nullptr) {
    return rule->scope;
  }
  return MethodFallbackScope(http.method());
}

std::string ClientIp(const authv3::AttributeContext& attributes) {
  return attributes.source().address().socket_address().address();
}

grpc::Status DecisionErrorStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      "authorization decision unavailable (storage error); see server log");
}

AuthorizationService::AuthorizationService(const service::KeyService* keys, AuthzConfig config,
                                           metrics::ServerMetrics* metrics)
    : keys_(keys), config_(std::move(config)), metrics_(metrics) {}

grpc::ServerUnaryReactor* AuthorizationService::Check(grpc::CallbackServerContext* context,
                                                      const authv3::CheckRequest* request,
                                                      authv3::CheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = metrics_ != nullptr ? absl::Now() : absl::InfinitePast();
  absl::StatusOr<Verdict> verdict = Decide(request->attributes());
  if (!verdict.ok()) {
    core::Log(core::LogLevel::kError, "envoy_check_failed",
              {{"error", verdict.status().ToString()}});
    reactor->Finish(DecisionErrorStatus(verdict.status()));
    return reactor;
  }
  if (metrics_ != nullptr && verdict->kind != Verdict::Kind::kRouteMisconfigured) {
    const core::Reason reason = verdict->kind == Verdict::Kind::kAllowed ? core::Reason::kNone
                                : verdict->kind == Verdict::Kind::kNoCredentials
                                    ? core::Reason::kMalformedToken
                                    : verdict->reason;
    std::optional<core::Environment> environment;
    if (verdict->key.has_value()) environment = verdict->key->environment;
    metrics_->RecordAuthorize(reason, environment, absl::Now() - start);
  }
  BuildCheckResponse(*verdict, config_, response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::StatusOr<Verdict> AuthorizationService::Decide(
    const authv3::AttributeContext& attributes) const {
  absl::StatusOr<core::Scope> required = ResolveRequiredScope(attributes, config_.routes);
  if (!required.ok()) {
    LogMisconfiguredRoute(attributes, required.status());
    return Verdict::RouteMisconfigured();
  }
  const std::optional<std::string> header = FindAuthorizationHeader(attributes.request().http());
  if (!header.has_value()) return Verdict::NoCredentials(*std::move(required));
  const std::optional<absl::string_view> token = ParseBearerToken(*header);
  if (!token.has_value()) return Verdict::NoCredentials(*std::move(required));
  // KeyService would also strip a second "Bearer "; a credential is one token.
  if (token->empty() || std::any_of(token->begin(), token->end(), [](char c) {
        return absl::ascii_isspace(static_cast<unsigned char>(c));
      })) {
    return Verdict::Denied(core::Reason::kMalformedToken, *std::move(required));
  }
  KEYGATE_ASSIGN_OR_RETURN(service::AuthorizeResult result,
                           Authorize(*token, *required, ClientIp(attributes)));
  return Verdict::FromAuthorizeResult(result, *required);
}

absl::StatusOr<service::AuthorizeResult> AuthorizationService::Authorize(
    absl::string_view token, const core::Scope& required, absl::string_view client_ip) const {
  // Envoy routes carry no environment requirement: any environment is fine.
  return keys_->Authorize(token, required, /*environment=*/std::nullopt, client_ip);
}

void AuthorizationService::LogMisconfiguredRoute(const authv3::AttributeContext& attributes,
                                                 const absl::Status& error) const {
  const uint64_t count = misconfigured_checks_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (count % kMisconfiguredLogEvery != 1) return;
  const authv3::AttributeContext::HttpRequest& http = attributes.request().http();
  const auto extension = attributes.context_extensions().find(kRequiredScopeExtension);
  // Operator configuration, not client data; the path is logged without its
  // query string, which may hold client data.
  core::Log(core::LogLevel::kError, "envoy_route_misconfigured",
            {{"error", std::string(error.message())},
             {"required_scope",
              extension == attributes.context_extensions().end() ? "" : extension->second},
             {"method", http.method()},
             {"path", NormalizeRequestPath(http.path())},
             {"count", count}});
}

}  // namespace keygate::envoy_authz
