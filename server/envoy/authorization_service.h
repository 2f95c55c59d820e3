// Envoy external authorization (envoy.service.auth.v3.Authorization/Check)
// over KeyService: Envoy's ext_authz HTTP filter asks Keygate about every
// request before it reaches the application.
//
// The flow of one Check:
//   1. the required scope: context_extensions["required_scope"] (Envoy's
//      per-route setting), else the route table, else by method;
//   2. the credential: the `authorization: Bearer <token>` request header;
//   3. KeyService::Authorize;
//   4. BuildCheckResponse turns the Verdict into Envoy's CheckResponse.
// Steps 1, 2 and 4 are pure functions, declared here so tests can call them.
#ifndef KEYGATE_SERVER_ENVOY_AUTHORIZATION_SERVICE_H_
#define KEYGATE_SERVER_ENVOY_AUTHORIZATION_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "server/core/decision.h"
#include "server/core/key_record.h"
#include "server/core/scope.h"
#include "server/envoy/route_scopes.h"
#include "server/metrics/server_metrics.h"
#include "server/service/key_service.h"

namespace keygate::envoy_authz {

// Request headers set on allowed requests (overwriting any value the client
// sent), for the application behind Envoy.
inline constexpr char kKeyIdHeader[] = "x-keygate-key-id";
inline constexpr char kTeamIdHeader[] = "x-keygate-team-id";           // Removed for operator keys.
inline constexpr char kEnvironmentHeader[] = "x-keygate-environment";  // live | test
inline constexpr char kScopesHeader[] = "x-keygate-scopes";            // e.g. "read,flows:write"
inline constexpr char kAuthorizationHeader[] = "authorization";
// The context_extensions key of Envoy's per-route check_settings.
inline constexpr char kRequiredScopeExtension[] = "required_scope";

// Settings of the Envoy integration; built once at start, immutable after.
struct AuthzConfig {
  // The realm of `www-authenticate: Bearer realm="…"` on 401/403 answers.
  std::string realm = "keygate";
  // Remove the `authorization` header from allowed requests, so the
  // application never sees the token.
  bool remove_authorization_header = true;
  // Scopes by method and path prefix, for routes without a per-route
  // required_scope. Empty: every such request falls back to the method.
  RouteScopeTable routes;
};

inline constexpr size_t kMaxRealmChars = 128;

// InvalidArgument unless the realm is 1-128 printable ASCII characters other
// than `"` and `\`.
absl::Status ValidateConfig(const AuthzConfig& config);

// The config from flag values: `route_scopes_file` (empty: no table) is
// loaded with RouteScopeTable::LoadFile, whose errors are returned; the
// result passes ValidateConfig or InvalidArgument is returned.
absl::StatusOr<AuthzConfig> MakeConfig(absl::string_view realm, bool remove_authorization_header,
                                       const std::string& route_scopes_file);

// Keygate's decision on one Check, before it becomes a CheckResponse.
// A plain value type.
struct Verdict {
  enum class Kind {
    kAllowed,        // The key grants `required`: 200, identity headers.
    kNoCredentials,  // No `authorization: Bearer …` header: 401, no error code.
    kDenied,         // `reason`: 403 for insufficient scope, 401 otherwise.
    // The per-route required_scope does not parse: the operator's mistake,
    // answered with a denied 500 (Envoy fails closed on gRPC errors with 403,
    // which would blame the client).
    kRouteMisconfigured,
  };

  Kind kind = Kind::kNoCredentials;
  core::Reason reason = core::Reason::kMalformedToken;  // kDenied (kNone if allowed).
  core::Scope required;                                 // The scope the request needed.
  std::optional<core::KeyRecord> key;                   // Always set for kAllowed.

  static Verdict Allowed(core::KeyRecord key, core::Scope required);
  static Verdict NoCredentials(core::Scope required);
  static Verdict Denied(core::Reason reason, core::Scope required);
  static Verdict RouteMisconfigured();
  // Allowed or Denied from KeyService's answer. An allowed result without a
  // key (which KeyService never returns) is denied as an unknown key.
  static Verdict FromAuthorizeResult(const service::AuthorizeResult& result,
                                     const core::Scope& required);
};

// Maps a verdict to Envoy's answer (pure):
//  - allowed: status OK; ok_response sets x-keygate-key-id, -team-id,
//    -environment and -scopes with overwrite semantics (append=false and
//    append_action OVERWRITE_IF_EXISTS_OR_ADD) and lists `authorization` in
//    headers_to_remove when config.remove_authorization_header (and
//    x-keygate-team-id for operator keys, which have no team);
//  - no credentials: UNAUTHENTICATED, 401, `www-authenticate: Bearer
//    realm="…"` (RFC 6750 3.1: no error code when no credential was sent);
//  - denied 401: UNAUTHENTICATED, 401, `…, error="invalid_token"`;
//  - denied 403: PERMISSION_DENIED, 403, `…, error="insufficient_scope",
//    scope="<required>"`;
//  - route misconfigured: INTERNAL, 500, no www-authenticate.
// Denied answers carry a JSON body (content-type application/json), e.g.
// {"error":"unauthorized","reason":"REASON_REVOKED"}.
void BuildCheckResponse(const Verdict& verdict, const AuthzConfig& config,
                        ::envoy::service::auth::v3::CheckResponse* response);

// The value of the request's `authorization` header, if any. Reads the
// `headers` map (Envoy lower-cases keys; other spellings are accepted too)
// and, when Envoy sends raw headers (`encode_raw_headers: true`),
// `header_map`, joining repeated headers with ", " as Envoy does.
std::optional<std::string> FindAuthorizationHeader(
    const ::envoy::service::auth::v3::AttributeContext::HttpRequest& http);

// The credential of an `authorization` header value `Bearer <token>` (scheme
// case-insensitive, surrounding whitespace ignored); nullopt when the value
// uses another scheme or none. The returned token may be empty or contain
// whitespace (both malformed).
std::optional<absl::string_view> ParseBearerToken(absl::string_view authorization);

// The scope the request needs: context_extensions["required_scope"] when
// present (InvalidArgument if it does not parse), else the rule of `routes`
// for the request's method and path, else MethodFallbackScope.
absl::StatusOr<core::Scope> ResolveRequiredScope(
    const ::envoy::service::auth::v3::AttributeContext& attributes, const RouteScopeTable& routes);

// The end client's IP as Envoy saw it (attributes.source.address
// .socket_address.address); empty when Envoy sent no socket address.
std::string ClientIp(const ::envoy::service::auth::v3::AttributeContext& attributes);

// The gRPC status for a Check whose decision could not be made (storage
// failed). Keeps the code, never the details (they are logged). Envoy fails
// closed on it unless failure_mode_allow is set.
grpc::Status DecisionErrorStatus(const absl::Status& status);

// envoy.service.auth.v3.Authorization over KeyService. Like the Authorizer,
// Check runs inline on gRPC's callback thread and takes no lock of its own
// (KeyService::Authorize takes one usage shard lock). Thread-safe: the
// configuration is immutable; the only mutable state is an atomic counter.
class AuthorizationService final
    : public ::envoy::service::auth::v3::Authorization::CallbackService {
 public:
  // `keys` (and `metrics`, which may be null) must outlive the service;
  // `config` must pass ValidateConfig (MakeConfig guarantees it). Decisions
  // are counted in the same metrics as Authorize's.
  AuthorizationService(const service::KeyService* keys, AuthzConfig config,
                       metrics::ServerMetrics* metrics = nullptr);

  // ::envoy::service::auth::v3::Authorization::CallbackService
  // Answers OK with an allowed or denied CheckResponse, or a gRPC error
  // (DecisionErrorStatus) when storage fails.
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const ::envoy::service::auth::v3::CheckRequest* request,
                                  ::envoy::service::auth::v3::CheckResponse* response) override;

  // Steps 1-3 of the flow above. Errors only when storage fails.
  absl::StatusOr<Verdict> Decide(
      const ::envoy::service::auth::v3::AttributeContext& attributes) const;

  const AuthzConfig& config() const { return config_; }

 private:
  // Asks KeyService for the decision on `token`; `client_ip` (from
  // ClientIp) goes to usage monitoring with the key's outcome.
  absl::StatusOr<service::AuthorizeResult> Authorize(absl::string_view token,
                                                     const core::Scope& required,
                                                     absl::string_view client_ip) const;

  // Logs a per-route required_scope that does not parse (the first time and
  // then every 1000th time, so a broken route cannot flood the log).
  void LogMisconfiguredRoute(const ::envoy::service::auth::v3::AttributeContext& attributes,
                             const absl::Status& error) const;

  const service::KeyService* const keys_;
  const AuthzConfig config_;
  metrics::ServerMetrics* const metrics_;
  mutable std::atomic<uint64_t> misconfigured_checks_{0};
};

}  // namespace keygate::envoy_authz

#endif  // KEYGATE_SERVER_ENVOY_AUTHORIZATION_SERVICE_H_
