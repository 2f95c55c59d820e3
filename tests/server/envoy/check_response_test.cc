// The pure parts of the Envoy integration: verdict -> CheckResponse, and
// reading the credential, required scope and client IP from a request.
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/envoy/authorization_service.h"
#include "tests/support/test_support.h"

namespace keygate::envoy_authz {
namespace {

namespace authv3 = ::envoy::service::auth::v3;
using ::envoy::config::core::v3::HeaderValueOption;
using ::keygate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::map<std::string, std::string> Headers(
    const google::protobuf::RepeatedPtrField<HeaderValueOption>& options) {
  std::map<std::string, std::string> headers;
  for (const HeaderValueOption& option : options) {
    headers[option.header().key()] = option.header().value();
  }
  return headers;
}

core::Scope MustParseScope(absl::string_view text) {
  absl::StatusOr<core::Scope> scope = core::ParseScope(text);
  EXPECT_TRUE(scope.ok()) << scope.status();
  return scope.ok() ? *scope : core::Scope();
}

core::KeyRecord TeamKey() {
  core::KeyRecord key;
  key.key_id = "key_0123456789abcdefghij";
  key.team_id = "acme";
  key.environment = core::Environment::kTest;
  key.scopes = {MustParseScope("read"), MustParseScope("flows:write")};
  return key;
}

AuthzConfig Config() {
  AuthzConfig config;
  config.realm = "flowstack";
  return config;
}

authv3::CheckResponse Build(const Verdict& verdict, const AuthzConfig& config = Config()) {
  authv3::CheckResponse response;
  BuildCheckResponse(verdict, config, &response);
  return response;
}

TEST(BuildCheckResponseTest, AllowedSetsIdentityHeadersWithOverwrite) {
  const authv3::CheckResponse response =
      Build(Verdict::Allowed(TeamKey(), MustParseScope("flows:read")));
  EXPECT_EQ(response.status().code(), 0);
  ASSERT_TRUE(response.has_ok_response());
  EXPECT_THAT(
      Headers(response.ok_response().headers()),
      UnorderedElementsAre(Pair("x-keygate-key-id", "key_0123456789abcdefghij"),
                           Pair("x-keygate-team-id", "acme"), Pair("x-keygate-environment", "test"),
                           Pair("x-keygate-scopes", "read,flows:write")));
  for (const HeaderValueOption& option : response.ok_response().headers()) {
    EXPECT_TRUE(option.has_append());
    EXPECT_FALSE(option.append().value());
    EXPECT_EQ(option.append_action(), HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  }
  EXPECT_THAT(response.ok_response().headers_to_remove(), ElementsAre("authorization"));
}

TEST(BuildCheckResponseTest, AuthorizationHeaderCanBeKept) {
  AuthzConfig config = Config();
  config.remove_authorization_header = false;
  const authv3::CheckResponse response =
      Build(Verdict::Allowed(TeamKey(), MustParseScope("read")), config);
  ASSERT_TRUE(response.has_ok_response());
  EXPECT_THAT(response.ok_response().headers_to_remove(), IsEmpty());
}

TEST(BuildCheckResponseTest, OperatorKeyRemovesTeamHeaderInsteadOfSettingIt) {
  core::KeyRecord key = TeamKey();
  key.team_id.clear();
  key.is_operator = true;
  const authv3::CheckResponse response = Build(Verdict::Allowed(key, MustParseScope("read")));
  ASSERT_TRUE(response.has_ok_response());
  EXPECT_EQ(Headers(response.ok_response().headers()).count("x-keygate-team-id"), 0u);
  EXPECT_THAT(response.ok_response().headers_to_remove(),
              UnorderedElementsAre("authorization", "x-keygate-team-id"));
}

TEST(BuildCheckResponseTest, NoCredentialsIs401WithoutErrorCode) {
  const authv3::CheckResponse response = Build(Verdict::NoCredentials(MustParseScope("read")));
  EXPECT_EQ(response.status().code(), 16);  // UNAUTHENTICATED
  ASSERT_TRUE(response.has_denied_response());
  EXPECT_EQ(response.denied_response().status().code(), ::envoy::type::v3::Unauthorized);
  EXPECT_THAT(Headers(response.denied_response().headers()),
              UnorderedElementsAre(Pair("www-authenticate", "Bearer realm=\"flowstack\""),
                                   Pair("content-type", "application/json")));
  EXPECT_EQ(response.denied_response().body(),
            "{\"error\":\"unauthorized\",\"reason\":\"REASON_MALFORMED_TOKEN\"}");
}

TEST(BuildCheckResponseTest, EveryInvalidTokenReasonIs401) {
  const std::map<core::Reason, std::string> reasons = {
      {core::Reason::kMalformedToken, "REASON_MALFORMED_TOKEN"},
      {core::Reason::kUnknownKey, "REASON_UNKNOWN_KEY"},
      {core::Reason::kRevoked, "REASON_REVOKED"},
      {core::Reason::kExpired, "REASON_EXPIRED"},
      {core::Reason::kWrongEnvironment, "REASON_WRONG_ENVIRONMENT"},
  };
  for (const auto& [reason, name] : reasons) {
    SCOPED_TRACE(name);
    const authv3::CheckResponse response =
        Build(Verdict::Denied(reason, MustParseScope("flows:read")));
    EXPECT_EQ(response.status().code(), 16);
    EXPECT_EQ(response.status().message(), name);
    ASSERT_TRUE(response.has_denied_response());
    EXPECT_FALSE(response.has_ok_response());
    EXPECT_EQ(response.denied_response().status().code(), 401);
    const std::map<std::string, std::string> headers =
        Headers(response.denied_response().headers());
    EXPECT_EQ(headers.at("www-authenticate"),
              "Bearer realm=\"flowstack\", error=\"invalid_token\"");
    EXPECT_EQ(headers.at("content-type"), "application/json");
    EXPECT_EQ(response.denied_response().body(),
              "{\"error\":\"unauthorized\",\"reason\":\"" + name + "\"}");
    for (const HeaderValueOption& option : response.denied_response().headers()) {
      EXPECT_FALSE(option.append().value());
    }
  }
}

TEST(BuildCheckResponseTest, InsufficientScopeIs403WithTheRequiredScope) {
  const authv3::CheckResponse response =
      Build(Verdict::Denied(core::Reason::kInsufficientScope, MustParseScope("runs:write")));
  EXPECT_EQ(response.status().code(), 7);  // PERMISSION_DENIED
  ASSERT_TRUE(response.has_denied_response());
  EXPECT_EQ(response.denied_response().status().code(), ::envoy::type::v3::Forbidden);
  EXPECT_EQ(Headers(response.denied_response().headers()).at("www-authenticate"),
            "Bearer realm=\"flowstack\", error=\"insufficient_scope\", scope=\"runs:write\"");
  EXPECT_EQ(response.denied_response().body(),
            "{\"error\":\"forbidden\",\"reason\":\"REASON_INSUFFICIENT_SCOPE\","
            "\"required_scope\":\"runs:write\"}");
}

TEST(BuildCheckResponseTest, MisconfiguredRouteIsDenied500WithoutChallenge) {
  const authv3::CheckResponse response = Build(Verdict::RouteMisconfigured());
  EXPECT_EQ(response.status().code(), 13);  // INTERNAL
  ASSERT_TRUE(response.has_denied_response());
  EXPECT_EQ(response.denied_response().status().code(), 500);
  EXPECT_THAT(Headers(response.denied_response().headers()),
              UnorderedElementsAre(Pair("content-type", "application/json")));
  EXPECT_EQ(response.denied_response().body(),
            "{\"error\":\"server_error\",\"reason\":\"ROUTE_MISCONFIGURED\"}");
}

TEST(BuildCheckResponseTest, AllowedWithoutKeyIsNeverAllowed) {
  Verdict verdict = Verdict::Allowed(TeamKey(), MustParseScope("read"));
  verdict.key.reset();
  const authv3::CheckResponse response = Build(verdict);
  EXPECT_NE(response.status().code(), 0);
  EXPECT_FALSE(response.has_ok_response());
}

TEST(BuildCheckResponseTest, ClearsAnEarlierResponse) {
  authv3::CheckResponse response;
  BuildCheckResponse(Verdict::Allowed(TeamKey(), MustParseScope("read")), Config(), &response);
  BuildCheckResponse(Verdict::NoCredentials(MustParseScope("read")), Config(), &response);
  EXPECT_FALSE(response.has_ok_response());
  EXPECT_EQ(response.denied_response().headers_size(), 2);
}

TEST(VerdictTest, FromAuthorizeResult) {
  const core::Scope required = MustParseScope("flows:read");
  service::AuthorizeResult allowed{{core::Reason::kNone},
                                   std::make_shared<core::KeyRecord>(TeamKey())};
  EXPECT_EQ(Verdict::FromAuthorizeResult(allowed, required).kind, Verdict::Kind::kAllowed);
  service::AuthorizeResult revoked{{core::Reason::kRevoked},
                                   std::make_shared<core::KeyRecord>(TeamKey())};
  const Verdict denied = Verdict::FromAuthorizeResult(revoked, required);
  EXPECT_EQ(denied.kind, Verdict::Kind::kDenied);
  EXPECT_EQ(denied.reason, core::Reason::kRevoked);
  service::AuthorizeResult keyless{{core::Reason::kNone}, nullptr};
  EXPECT_EQ(Verdict::FromAuthorizeResult(keyless, required).kind, Verdict::Kind::kDenied);
}

TEST(ParseBearerTokenTest, SchemeIsCaseInsensitive) {
  EXPECT_EQ(ParseBearerToken("Bearer fs_live_abc"), "fs_live_abc");
  EXPECT_EQ(ParseBearerToken("bearer fs_live_abc"), "fs_live_abc");
  EXPECT_EQ(ParseBearerToken("BEARER fs_live_abc"), "fs_live_abc");
  EXPECT_EQ(ParseBearerToken("  Bearer \t fs_live_abc  "), "fs_live_abc");
  EXPECT_EQ(ParseBearerToken("Bearer"), "");
  EXPECT_EQ(ParseBearerToken("Bearer   "), "");
  EXPECT_EQ(ParseBearerToken("Bearer a b"), "a b");  // The caller rejects it.
  EXPECT_EQ(ParseBearerToken("Basic dXNlcjpwYXNz"), std::nullopt);
  EXPECT_EQ(ParseBearerToken("Bearerfs_live_abc"), std::nullopt);
  EXPECT_EQ(ParseBearerToken("fs_live_abc"), std::nullopt);
  EXPECT_EQ(ParseBearerToken(""), std::nullopt);
}

TEST(FindAuthorizationHeaderTest, ReadsHeadersAndRawHeaderMap) {
  authv3::AttributeContext::HttpRequest http;
  EXPECT_EQ(FindAuthorizationHeader(http), std::nullopt);
  (*http.mutable_headers())["Authorization"] = "Bearer mixed";
  EXPECT_EQ(FindAuthorizationHeader(http), "Bearer mixed");
  (*http.mutable_headers())["authorization"] = "Bearer lower";
  EXPECT_EQ(FindAuthorizationHeader(http), "Bearer lower");

  authv3::AttributeContext::HttpRequest raw;
  auto* first = raw.mutable_header_map()->add_headers();
  first->set_key("authorization");
  first->set_raw_value("Bearer one");
  EXPECT_EQ(FindAuthorizationHeader(raw), "Bearer one");
  auto* second = raw.mutable_header_map()->add_headers();
  second->set_key("Authorization");
  second->set_value("Bearer two");
  EXPECT_EQ(FindAuthorizationHeader(raw), "Bearer one, Bearer two");
}

TEST(ResolveRequiredScopeTest, ExtensionThenRouteThenMethod) {
  absl::StatusOr<RouteScopeTable> routes = RouteScopeTable::Parse("GET /api/v1/flows flows:read\n");
  ASSERT_TRUE(routes.ok());
  authv3::AttributeContext attributes;
  attributes.mutable_request()->mutable_http()->set_method("GET");
  attributes.mutable_request()->mutable_http()->set_path("/api/v1/flows?x=1");
  absl::StatusOr<core::Scope> scope = ResolveRequiredScope(attributes, *routes);
  ASSERT_TRUE(scope.ok());
  EXPECT_EQ(scope->ToString(), "flows:read");

  (*attributes.mutable_context_extensions())["required_scope"] = "runs:admin";
  scope = ResolveRequiredScope(attributes, *routes);
  ASSERT_TRUE(scope.ok());
  EXPECT_EQ(scope->ToString(), "runs:admin");

  (*attributes.mutable_context_extensions())["required_scope"] = "";
  EXPECT_THAT(ResolveRequiredScope(attributes, *routes),
              StatusIs(absl::StatusCode::kInvalidArgument));
  (*attributes.mutable_context_extensions())["required_scope"] = "runs:delete";
  EXPECT_THAT(ResolveRequiredScope(attributes, *routes),
              StatusIs(absl::StatusCode::kInvalidArgument));

  attributes.mutable_context_extensions()->clear();
  (*attributes.mutable_context_extensions())["other"] = "value";
  attributes.mutable_request()->mutable_http()->set_method("POST");
  scope = ResolveRequiredScope(attributes, *routes);
  ASSERT_TRUE(scope.ok());
  EXPECT_EQ(scope->ToString(), "write");
}

TEST(ClientIpTest, ReadsTheSourceSocketAddress) {
  authv3::AttributeContext attributes;
  EXPECT_EQ(ClientIp(attributes), "");
  auto* socket = attributes.mutable_source()->mutable_address()->mutable_socket_address();
  socket->set_address("2001:db8::7");
  socket->set_port_value(443);
  attributes.mutable_destination()->mutable_address()->mutable_socket_address()->set_address(
      "10.0.0.1");
  EXPECT_EQ(ClientIp(attributes), "2001:db8::7");
}

TEST(DecisionErrorStatusTest, KeepsTheCodeNotTheDetails) {
  const grpc::Status status =
      DecisionErrorStatus(absl::UnavailableError("IO error: /var/lib/keygate/000123.sst"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("sst")));
}

TEST(ConfigTest, ValidatesTheRealm) {
  AuthzConfig config = Config();
  KEYGATE_EXPECT_OK(ValidateConfig(config));
  for (const std::string& realm : {std::string(""), std::string("a\"b"), std::string("a\\b"),
                                   std::string("line\nbreak"), std::string(129, 'r')}) {
    config.realm = realm;
    EXPECT_THAT(ValidateConfig(config), StatusIs(absl::StatusCode::kInvalidArgument)) << realm;
  }
}

TEST(ConfigTest, MakeConfigLoadsTheRouteFile) {
  keygate::testing::TempDir dir;
  const std::string path = dir.path() + "/routes";
  std::ofstream(path) << "* /api/v1/admin admin\n";
  absl::StatusOr<AuthzConfig> config =
      MakeConfig("api", /*remove_authorization_header=*/false, path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->realm, "api");
  EXPECT_FALSE(config->remove_authorization_header);
  ASSERT_EQ(config->routes.rules().size(), 1u);

  absl::StatusOr<AuthzConfig> no_routes = MakeConfig("api", true, "");
  ASSERT_TRUE(no_routes.ok());
  EXPECT_TRUE(no_routes->routes.empty());

  EXPECT_THAT(MakeConfig("api", true, dir.path() + "/missing"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(MakeConfig("bad\"realm", true, ""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace keygate::envoy_authz
