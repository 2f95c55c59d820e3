// Authorize through a real server: the newcomer flow, every denial reason,
// restarts, and health.
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/server/server_fixture.h"

namespace keygate::testing {
namespace {

using keygate::v1::Key;
using ::testing::HasSubstr;
using ::testing::Not;

class AuthorizeTest : public ServerFixture {};

TEST_F(AuthorizeTest, NewcomerFlowCreateAuthorizeRevokeList) {
  const keygate::v1::CreateKeyResponse created = MustCreate("acme", {"read", "flows:write"});
  ASSERT_THAT(created.token(), ::testing::StartsWith("fs_live_"));
  EXPECT_EQ(created.key().state(), Key::STATE_ACTIVE);
  EXPECT_EQ(created.key().created_by(), operator_key_id_);
  EXPECT_EQ(created.key().display_prefix(), created.token().substr(0, 12));

  keygate::v1::AuthorizeResponse allowed = MustAuthorize(created.token(), "flows:read");
  EXPECT_TRUE(allowed.allowed());
  EXPECT_EQ(allowed.http_status(), 200);
  EXPECT_EQ(allowed.reason(), keygate::v1::REASON_UNSPECIFIED);
  EXPECT_EQ(allowed.key().key_id(), created.key().key_id());

  keygate::v1::AuthorizeResponse wrong_scope = MustAuthorize(created.token(), "runs:write");
  EXPECT_FALSE(wrong_scope.allowed());
  EXPECT_EQ(wrong_scope.http_status(), 403);
  EXPECT_EQ(wrong_scope.reason(), keygate::v1::REASON_INSUFFICIENT_SCOPE);

  keygate::v1::RevokeKeyRequest revoke;
  revoke.set_key_id(created.key().key_id());
  revoke.set_reason("rotated");
  absl::StatusOr<Key> revoked = Operator().RevokeKey(revoke);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->state(), Key::STATE_REVOKED);

  keygate::v1::AuthorizeResponse after = MustAuthorize(created.token(), "read");
  EXPECT_FALSE(after.allowed());
  EXPECT_EQ(after.http_status(), 401);
  EXPECT_EQ(after.reason(), keygate::v1::REASON_REVOKED);

  keygate::v1::ListKeysRequest list;
  list.set_team_id("acme");
  absl::StatusOr<keygate::v1::ListKeysResponse> active = Operator().ListKeys(list);
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->keys_size(), 0);
  list.set_include_revoked(true);
  absl::StatusOr<keygate::v1::ListKeysResponse> all = Operator().ListKeys(list);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->keys_size(), 1);
  EXPECT_EQ(all->keys(0).state(), Key::STATE_REVOKED);
  EXPECT_EQ(all->keys(0).revoke_reason(), "rotated");
  EXPECT_THAT(all->SerializeAsString(), Not(HasSubstr(created.token())));
  EXPECT_THAT(all->DebugString(), Not(HasSubstr(created.token().substr(12))));
}

TEST_F(AuthorizeTest, RevokeIsIdempotent) {
  const auto created = MustCreate("acme", {"read"});
  keygate::v1::RevokeKeyRequest revoke;
  revoke.set_key_id(created.key().key_id());
  absl::StatusOr<Key> first = Operator().RevokeKey(revoke);
  ASSERT_TRUE(first.ok());
  clock_.Advance(absl::Minutes(5));
  revoke.set_reason("again");
  absl::StatusOr<Key> second = Operator().RevokeKey(revoke);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->revoke_time().seconds(), first->revoke_time().seconds());
  EXPECT_EQ(second->revoke_reason(), "");
}

TEST_F(AuthorizeTest, DeniesMalformedAndUnknownTokensWithoutError) {
  const auto created = MustCreate("acme", {"read"});
  std::string typo = created.token();
  typo[10] = typo[10] == 'a' ? 'b' : 'a';
  for (const std::string& token : {std::string(), std::string("garbage"), typo,
                                   std::string("sk_live_") + created.token().substr(8)}) {
    const auto response = MustAuthorize(token, "read");
    EXPECT_FALSE(response.allowed());
    EXPECT_EQ(response.reason(), keygate::v1::REASON_MALFORMED_TOKEN) << token;
    EXPECT_EQ(response.http_status(), 401);
    EXPECT_FALSE(response.has_key());
  }
  // Well formed (valid checksum) but never issued by this server.
  const absl::StatusOr<core::TokenFormat> format = core::TokenFormat::Create("fs");
  const auto unknown = MustAuthorize(format->Generate(core::Environment::kLive), "read");
  EXPECT_EQ(unknown.reason(), keygate::v1::REASON_UNKNOWN_KEY);
  EXPECT_EQ(unknown.http_status(), 401);
}

TEST_F(AuthorizeTest, AcceptsBearerHeaderValue) {
  const auto created = MustCreate("acme", {"write"});
  EXPECT_TRUE(MustAuthorize("Bearer " + created.token(), "flows:read").allowed());
}

TEST_F(AuthorizeTest, WrongEnvironmentIs401) {
  const auto test_key = MustCreate("acme", {"admin"}, keygate::v1::ENVIRONMENT_TEST);
  EXPECT_THAT(test_key.token(), ::testing::StartsWith("fs_test_"));
  const auto response = MustAuthorize(test_key.token(), "read", keygate::v1::ENVIRONMENT_LIVE);
  EXPECT_FALSE(response.allowed());
  EXPECT_EQ(response.reason(), keygate::v1::REASON_WRONG_ENVIRONMENT);
  EXPECT_EQ(response.http_status(), 401);
  EXPECT_TRUE(MustAuthorize(test_key.token(), "read", keygate::v1::ENVIRONMENT_TEST).allowed());
}

TEST_F(AuthorizeTest, ExpiredKeyIsDeniedAndListedAsExpired) {
  keygate::v1::CreateKeyRequest request;
  request.set_team_id("acme");
  request.set_name("short lived");
  request.add_scopes("read");
  request.set_environment(keygate::v1::ENVIRONMENT_LIVE);
  request.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(clock_.Now() + absl::Hours(1)));
  absl::StatusOr<keygate::v1::CreateKeyResponse> created = Operator().CreateKey(request);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(MustAuthorize(created->token(), "read").allowed());

  clock_.Advance(absl::Hours(1));
  const auto response = MustAuthorize(created->token(), "read");
  EXPECT_EQ(response.reason(), keygate::v1::REASON_EXPIRED);
  EXPECT_EQ(response.http_status(), 401);

  keygate::v1::ListKeysRequest list;
  list.set_team_id("acme");
  list.set_include_revoked(true);
  absl::StatusOr<keygate::v1::ListKeysResponse> all = Operator().ListKeys(list);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->keys_size(), 1);
  EXPECT_EQ(all->keys(0).state(), Key::STATE_EXPIRED);
}

TEST_F(AuthorizeTest, InvalidRequiredScopeIsInvalidArgument) {
  const auto created = MustCreate("acme", {"read"});
  for (const std::string scope : {"", "READ", "flows:delete", "a:b:read"}) {
    keygate::v1::AuthorizeRequest request;
    request.set_token(created.token());
    request.set_required_scope(scope);
    EXPECT_THAT(Anonymous().Authorize(request), StatusIs(absl::StatusCode::kInvalidArgument))
        << scope;
  }
  keygate::v1::AuthorizeRequest bad_env;
  bad_env.set_token(created.token());
  bad_env.set_required_scope("read");
  bad_env.set_environment(static_cast<keygate::v1::Environment>(42));
  EXPECT_THAT(Anonymous().Authorize(bad_env), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AuthorizeTest, OversizedMessageIsResourceExhausted) {
  keygate::v1::AuthorizeRequest request;
  request.set_token(std::string(1 << 20, 'x'));
  request.set_required_scope("read");
  EXPECT_THAT(Anonymous().Authorize(request), StatusIs(absl::StatusCode::kResourceExhausted));
  // The server is still fine afterwards.
  const auto created = MustCreate("acme", {"read"});
  EXPECT_TRUE(MustAuthorize(created.token(), "read").allowed());
}

TEST_F(AuthorizeTest, RestartKeepsEveryKeyAndRevocation) {
  std::vector<keygate::v1::CreateKeyResponse> keys;
  for (int i = 0; i < 20; ++i) {
    keys.push_back(MustCreate(i % 2 ? "acme" : "globex", {i % 3 ? "read" : "flows:write"}));
  }
  // Every key is in the key cache when it is revoked and when the server
  // stops, so the restart also loads the saved cache.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(MustAuthorize(keys[i].token(), i % 3 ? "read" : "flows:write").allowed()) << i;
  }
  for (int i = 0; i < 20; i += 4) {
    keygate::v1::RevokeKeyRequest revoke;
    revoke.set_key_id(keys[i].key().key_id());
    ASSERT_TRUE(Operator().RevokeKey(revoke).ok());
    EXPECT_EQ(MustAuthorize(keys[i].token(), i % 3 ? "read" : "flows:write").reason(),
              keygate::v1::REASON_REVOKED);
  }
  Restart();
  for (int i = 0; i < 20; ++i) {
    const std::string scope = i % 3 ? "read" : "flows:write";
    const auto response = MustAuthorize(keys[i].token(), scope);
    if (i % 4 == 0) {
      EXPECT_EQ(response.reason(), keygate::v1::REASON_REVOKED) << i;
    } else {
      EXPECT_TRUE(response.allowed()) << i;
    }
    keygate::v1::GetKeyRequest get;
    get.set_key_id(keys[i].key().key_id());
    absl::StatusOr<Key> key = Operator().GetKey(get);
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(key->name(), keys[i].key().name());
    EXPECT_EQ(key->scopes_size(), 1);
  }
}

TEST_F(AuthorizeTest, HealthServesThroughTheStandardProto) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  for (const std::string name : {"", "keygate.v1.Authorizer", "liveness", "readiness"}) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(name);
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(stub->Check(&context, request, &response).ok()) << name;
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << name;
  }
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("no.such.Service");
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_EQ(stub->Check(&context, request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace keygate::testing
