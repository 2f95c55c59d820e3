// Envoy's Authorization/Check through a real server and a real channel, with
// the generated stub: every way a request is allowed or denied.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/server/envoy/envoy_fixture.h"

namespace keygate::testing {
namespace {

namespace authv3 = ::envoy::service::auth::v3;
using ::envoy::config::core::v3::HeaderValueOption;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr int kUnauthenticated = 16;
constexpr int kPermissionDenied = 7;
constexpr int kInternal = 13;

using Extensions = std::map<std::string, std::string>;

// The headers of `options` as key -> value; fails on duplicates.
std::map<std::string, std::string> HeaderMap(
    const google::protobuf::RepeatedPtrField<HeaderValueOption>& options) {
  std::map<std::string, std::string> headers;
  for (const HeaderValueOption& option : options) {
    EXPECT_TRUE(headers.emplace(option.header().key(), option.header().value()).second)
        << "duplicate header " << option.header().key();
  }
  return headers;
}

class EnvoyCheckTest : public EnvoyFixture {
 protected:
  // Checks `method` `path` with an `authorization` header (none if empty)
  // and the route's context extensions, as Envoy's HTTP filter sends it.
  authv3::CheckResponse Check(const std::string& method, const std::string& path,
                              const std::string& authorization,
                              const Extensions& context_extensions = {}) {
    authv3::CheckRequest check;
    authv3::AttributeContext* attributes = check.mutable_attributes();
    attributes->mutable_source()->mutable_address()->mutable_socket_address()->set_address(
        "203.0.113.7");
    attributes->mutable_source()->mutable_address()->mutable_socket_address()->set_port_value(
        40000);
    authv3::AttributeContext::HttpRequest* http = attributes->mutable_request()->mutable_http();
    http->set_method(method);
    http->set_path(path);
    http->set_host("api.flowstack.test");
    (*http->mutable_headers())[":authority"] = "api.flowstack.test";
    (*http->mutable_headers())["x-keygate-team-id"] = "spoofed-by-client";
    if (!authorization.empty()) (*http->mutable_headers())["authorization"] = authorization;
    for (const auto& [key, value] : context_extensions) {
      (*attributes->mutable_context_extensions())[key] = value;
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    authv3::CheckResponse response;
    const grpc::Status status =
        authv3::Authorization::NewStub(channel_)->Check(&context, check, &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    return response;
  }

  static std::string Bearer(const TestKey& key) { return "Bearer " + key.token; }

  // Asserts a denial with `rpc_code`, `http_status` and a www-authenticate
  // header containing `challenge`.
  static void ExpectDenied(const authv3::CheckResponse& response, int rpc_code, int http_status,
                           const std::string& challenge, const std::string& reason) {
    EXPECT_EQ(response.status().code(), rpc_code);
    ASSERT_TRUE(response.has_denied_response());
    EXPECT_FALSE(response.has_ok_response());
    EXPECT_EQ(response.denied_response().status().code(), http_status);
    const std::map<std::string, std::string> headers =
        HeaderMap(response.denied_response().headers());
    ASSERT_EQ(headers.count("www-authenticate"), 1u);
    EXPECT_EQ(headers.at("www-authenticate"), challenge);
    EXPECT_EQ(headers.at("content-type"), "application/json");
    EXPECT_THAT(response.denied_response().body(),
                HasSubstr(absl::StrCat("\"reason\":\"", reason, "\"")));
  }
};

TEST_F(EnvoyCheckTest, AllowedAddsIdentityHeadersAndRemovesAuthorization) {
  const TestKey key = MakeKey("acme", {"flows:read", "runs:write"});
  const authv3::CheckResponse response = Check("GET", "/api/v1/flows", Bearer(key));

  EXPECT_EQ(response.status().code(), 0);
  ASSERT_TRUE(response.has_ok_response());
  EXPECT_FALSE(response.has_denied_response());
  const authv3::OkHttpResponse& ok = response.ok_response();
  EXPECT_THAT(
      HeaderMap(ok.headers()),
      UnorderedElementsAre(
          std::pair<const std::string, std::string>("x-keygate-key-id", key.record.key_id),
          std::pair<const std::string, std::string>("x-keygate-team-id", "acme"),
          std::pair<const std::string, std::string>("x-keygate-environment", "live"),
          std::pair<const std::string, std::string>("x-keygate-scopes", "flows:read,runs:write")));
  for (const HeaderValueOption& option : ok.headers()) {
    ASSERT_TRUE(option.has_append()) << option.header().key();
    EXPECT_FALSE(option.append().value()) << option.header().key();
    EXPECT_EQ(option.append_action(), HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  }
  EXPECT_THAT(ok.headers_to_remove(), ElementsAre("authorization"));
}

TEST_F(EnvoyCheckTest, TestKeyReportsTestEnvironment) {
  const TestKey key = MakeKey("acme", {"read"}, core::Environment::kTest);
  const authv3::CheckResponse response = Check("GET", "/api/v1/flows", Bearer(key));
  ASSERT_TRUE(response.has_ok_response());
  EXPECT_EQ(HeaderMap(response.ok_response().headers()).at("x-keygate-environment"), "test");
}

TEST_F(EnvoyCheckTest, OperatorKeyStripsClientSentTeamHeader) {
  const TestKey key = MakeKey("", {"admin"}, core::Environment::kLive, /*is_operator=*/true);
  const authv3::CheckResponse response = Check("GET", "/api/v1/flows", Bearer(key));
  ASSERT_TRUE(response.has_ok_response());
  EXPECT_EQ(HeaderMap(response.ok_response().headers()).count("x-keygate-team-id"), 0u);
  EXPECT_THAT(response.ok_response().headers_to_remove(),
              UnorderedElementsAre("authorization", "x-keygate-team-id"));
}

TEST_F(EnvoyCheckTest, MissingAuthorizationHeaderIs401WithBareChallenge) {
  const authv3::CheckResponse response = Check("GET", "/api/v1/flows", "");
  ExpectDenied(response, kUnauthenticated, 401, "Bearer realm=\"flowstack\"",
               "REASON_MALFORMED_TOKEN");
  EXPECT_THAT(response.denied_response().body(), HasSubstr("\"error\":\"unauthorized\""));
}

TEST_F(EnvoyCheckTest, OtherSchemeIs401WithBareChallenge) {
  const TestKey key = MakeKey("acme", {"read"});
  ExpectDenied(Check("GET", "/api/v1/flows", "Basic " + key.token), kUnauthenticated, 401,
               "Bearer realm=\"flowstack\"", "REASON_MALFORMED_TOKEN");
}

TEST_F(EnvoyCheckTest, MalformedTokenIs401InvalidToken) {
  const TestKey key = MakeKey("acme", {"read"});
  std::string mistyped = key.token;
  mistyped[10] = mistyped[10] == 'a' ? 'b' : 'a';
  const std::vector<std::string> malformed = {"Bearer ", "Bearer " + mistyped, "Bearer not-a-token",
                                              "Bearer " + key.token + " extra",
                                              "Bearer Bearer " + key.token};
  for (const std::string& authorization : malformed) {
    SCOPED_TRACE(authorization);
    ExpectDenied(Check("GET", "/api/v1/flows", authorization), kUnauthenticated, 401,
                 "Bearer realm=\"flowstack\", error=\"invalid_token\"", "REASON_MALFORMED_TOKEN");
  }
}

TEST_F(EnvoyCheckTest, UnknownKeyIs401) {
  const std::string token = format_->Generate(core::Environment::kLive);  // Never stored.
  ExpectDenied(Check("GET", "/api/v1/flows", "Bearer " + token), kUnauthenticated, 401,
               "Bearer realm=\"flowstack\", error=\"invalid_token\"", "REASON_UNKNOWN_KEY");
}

TEST_F(EnvoyCheckTest, RevokedKeyIs401OnTheNextCheck) {
  const TestKey key = MakeKey("acme", {"read"});
  ASSERT_TRUE(Check("GET", "/api/v1/flows", Bearer(key)).has_ok_response());
  Revoke(key.record.key_id);
  const authv3::CheckResponse response = Check("GET", "/api/v1/flows", Bearer(key));
  ExpectDenied(response, kUnauthenticated, 401,
               "Bearer realm=\"flowstack\", error=\"invalid_token\"", "REASON_REVOKED");
  EXPECT_EQ(response.denied_response().body(),
            "{\"error\":\"unauthorized\",\"reason\":\"REASON_REVOKED\"}");
}

TEST_F(EnvoyCheckTest, ExpiredKeyIs401) {
  TestKey key = MakeKey("acme", {"read"});
  absl::StatusOr<core::KeyRecord> updated =
      store_->Update(key.record.key_id, [this](core::KeyRecord& record) {
        record.expire_time = clock_.Now() + absl::Hours(1);
        return absl::OkStatus();
      });
  ASSERT_TRUE(updated.ok()) << updated.status();
  ASSERT_TRUE(Check("GET", "/api/v1/flows", Bearer(key)).has_ok_response());
  clock_.Advance(absl::Hours(2));
  ExpectDenied(Check("GET", "/api/v1/flows", Bearer(key)), kUnauthenticated, 401,
               "Bearer realm=\"flowstack\", error=\"invalid_token\"", "REASON_EXPIRED");
}

TEST_F(EnvoyCheckTest, InsufficientScopeIs403PermissionDenied) {
  const TestKey key = MakeKey("acme", {"runs:read"});
  const authv3::CheckResponse response = Check("GET", "/api/v1/flows", Bearer(key));
  ExpectDenied(response, kPermissionDenied, 403,
               "Bearer realm=\"flowstack\", error=\"insufficient_scope\", scope=\"flows:read\"",
               "REASON_INSUFFICIENT_SCOPE");
  EXPECT_EQ(response.denied_response().body(),
            "{\"error\":\"forbidden\",\"reason\":\"REASON_INSUFFICIENT_SCOPE\","
            "\"required_scope\":\"flows:read\"}");
}

TEST_F(EnvoyCheckTest, PerRouteRequiredScopeFromContextExtensionsWins) {
  const TestKey key = MakeKey("acme", {"runs:read"});
  // The route table would ask flows:read for this request, the method
  // fallback `write` for a POST; the per-route setting overrides both.
  EXPECT_TRUE(Check("POST", "/api/v1/flows", Bearer(key), {{"required_scope", "runs:read"}})
                  .has_ok_response());
  ExpectDenied(Check("GET", "/anything", Bearer(key), {{"required_scope", "runs:write"}}),
               kPermissionDenied, 403,
               "Bearer realm=\"flowstack\", error=\"insufficient_scope\", scope=\"runs:write\"",
               "REASON_INSUFFICIENT_SCOPE");
}

TEST_F(EnvoyCheckTest, UnparsableRequiredScopeIsDenied500) {
  const TestKey key = MakeKey("acme", {"admin"});
  const authv3::CheckResponse response =
      Check("GET", "/api/v1/flows", Bearer(key), {{"required_scope", "flows:own"}});
  EXPECT_EQ(response.status().code(), kInternal);
  ASSERT_TRUE(response.has_denied_response());
  EXPECT_EQ(response.denied_response().status().code(), 500);
  const std::map<std::string, std::string> headers =
      HeaderMap(response.denied_response().headers());
  EXPECT_EQ(headers.count("www-authenticate"), 0u);
  EXPECT_EQ(headers.at("content-type"), "application/json");
  EXPECT_THAT(response.denied_response().body(), HasSubstr("server_error"));
}

TEST_F(EnvoyCheckTest, RouteTableDecidesTheScope) {
  const TestKey reader = MakeKey("acme", {"flows:read"});
  const TestKey writer = MakeKey("acme", {"flows:write"});
  // GET /api/v1/flows… needs flows:read; the query string is ignored.
  EXPECT_TRUE(Check("GET", "/api/v1/flows/f_123?expand=runs&x=/api/v1/admin", Bearer(reader))
                  .has_ok_response());
  // Any other method on /api/v1/flows needs flows:write.
  ExpectDenied(Check("DELETE", "/api/v1/flows/f_123", Bearer(reader)), kPermissionDenied, 403,
               "Bearer realm=\"flowstack\", error=\"insufficient_scope\", scope=\"flows:write\"",
               "REASON_INSUFFICIENT_SCOPE");
  EXPECT_TRUE(Check("DELETE", "/api/v1/flows/f_123", Bearer(writer)).has_ok_response());
  // A dot segment cannot walk from a flows prefix into the admin prefix.
  ExpectDenied(Check("GET", "/api/v1/flows/../admin/keys", Bearer(writer)), kPermissionDenied, 403,
               "Bearer realm=\"flowstack\", error=\"insufficient_scope\", scope=\"admin\"",
               "REASON_INSUFFICIENT_SCOPE");
}

TEST_F(EnvoyCheckTest, MethodFallbackWithoutRoute) {
  const TestKey reader = MakeKey("acme", {"read"});
  const TestKey flows_writer = MakeKey("acme", {"flows:write"});
  EXPECT_TRUE(Check("GET", "/api/v1/runs", Bearer(reader)).has_ok_response());
  EXPECT_TRUE(Check("HEAD", "/api/v1/runs", Bearer(reader)).has_ok_response());
  ExpectDenied(Check("POST", "/api/v1/runs", Bearer(reader)), kPermissionDenied, 403,
               "Bearer realm=\"flowstack\", error=\"insufficient_scope\", scope=\"write\"",
               "REASON_INSUFFICIENT_SCOPE");
  // `write` (unrestricted) is not satisfied by a resource-restricted scope.
  ExpectDenied(Check("PUT", "/api/v1/runs", Bearer(flows_writer)), kPermissionDenied, 403,
               "Bearer realm=\"flowstack\", error=\"insufficient_scope\", scope=\"write\"",
               "REASON_INSUFFICIENT_SCOPE");
}

TEST_F(EnvoyCheckTest, BearerSchemeIsCaseInsensitive) {
  const TestKey key = MakeKey("acme", {"read"});
  for (const std::string scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    SCOPED_TRACE(scheme);
    EXPECT_TRUE(Check("GET", "/x", scheme + "  " + key.token + " ").has_ok_response());
  }
}

TEST_F(EnvoyCheckTest, ClientAddressReachesUsageMonitoring) {
  const TestKey key = MakeKey("acme", {"read"});
  ASSERT_TRUE(Check("GET", "/x", Bearer(key)).has_ok_response());
  KEYGATE_ASSERT_OK(usage_->Flush());
  absl::StatusOr<core::KeyUsage> usage =
      store_->GetUsage(key.record.key_id, absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone()), 10);
  ASSERT_TRUE(usage.ok()) << usage.status();
  ASSERT_EQ(usage->clients.size(), 1u);
  EXPECT_EQ(usage->clients[0].address, "203.0.113.7");  // attributes.source, as Check sends it.
}

TEST_F(EnvoyCheckTest, RawHeaderMapIsRead) {
  // With `encode_raw_headers: true` Envoy sends header_map instead of headers.
  const TestKey key = MakeKey("acme", {"read"});
  authv3::CheckRequest check;
  authv3::AttributeContext::HttpRequest* http =
      check.mutable_attributes()->mutable_request()->mutable_http();
  http->set_method("GET");
  http->set_path("/x");
  ::envoy::config::core::v3::HeaderValue* header = http->mutable_header_map()->add_headers();
  header->set_key("authorization");
  header->set_raw_value(Bearer(key));
  grpc::ClientContext context;
  authv3::CheckResponse response;
  ASSERT_TRUE(authv3::Authorization::NewStub(channel_)->Check(&context, check, &response).ok());
  EXPECT_TRUE(response.has_ok_response());
}

}  // namespace
}  // namespace keygate::testing
