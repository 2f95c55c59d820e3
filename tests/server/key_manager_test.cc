// KeyManager through a real server: the credential rules, input validation
// with exact codes, and pagination.
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_fixture.h"

namespace keygate::testing {
namespace {

using absl::StatusCode;
using keygate::v1::CreateKeyRequest;

CreateKeyRequest NewKey(const std::string& team, keygate::v1::Environment env,
                        const std::string& scope = "read") {
  CreateKeyRequest request;
  request.set_team_id(team);
  request.set_name("made by test");
  request.add_scopes(scope);
  request.set_environment(env);
  return request;
}

keygate::v1::GetKeyRequest GetReq(const std::string& id) {
  keygate::v1::GetKeyRequest request;
  request.set_key_id(id);
  return request;
}

keygate::v1::RevokeKeyRequest RevokeReq(const std::string& id) {
  keygate::v1::RevokeKeyRequest request;
  request.set_key_id(id);
  return request;
}

keygate::v1::ListKeysRequest ListReq(const std::string& team) {
  keygate::v1::ListKeysRequest request;
  request.set_team_id(team);
  return request;
}

class KeyManagerTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    acme_admin_ = MustCreate("acme", {"admin"}).token();
    acme_test_admin_ = MustCreate("acme", {"admin"}, keygate::v1::ENVIRONMENT_TEST).token();
    acme_live_key_ = MustCreate("acme", {"read"}).key().key_id();
    globex_key_ = MustCreate("globex", {"read"}).key().key_id();
  }

  std::string acme_admin_;
  std::string acme_test_admin_;
  std::string acme_live_key_;
  std::string globex_key_;
};

TEST_F(KeyManagerTest, OperatorManagesEveryTeam) {
  EXPECT_THAT(Operator().CreateKey(NewKey("initech", keygate::v1::ENVIRONMENT_TEST)),
              StatusIs(StatusCode::kOk));
  EXPECT_THAT(Operator().GetKey(GetReq(globex_key_)), StatusIs(StatusCode::kOk));
  EXPECT_THAT(Operator().ListKeys(ListReq("globex")), StatusIs(StatusCode::kOk));
  EXPECT_THAT(Operator().RevokeKey(RevokeReq(globex_key_)), StatusIs(StatusCode::kOk));
}

TEST_F(KeyManagerTest, TeamAdminManagesOwnTeamAndEnvironment) {
  const Client admin = ClientWith(acme_admin_);
  absl::StatusOr<keygate::v1::CreateKeyResponse> created =
      admin.CreateKey(NewKey("acme", keygate::v1::ENVIRONMENT_LIVE));
  ASSERT_THAT(created, StatusIs(StatusCode::kOk));
  EXPECT_NE(created->key().created_by(), operator_key_id_);
  EXPECT_THAT(admin.GetKey(GetReq(acme_live_key_)), StatusIs(StatusCode::kOk));
  EXPECT_THAT(admin.ListKeys(ListReq("acme")), StatusIs(StatusCode::kOk));
  EXPECT_THAT(admin.RevokeKey(RevokeReq(acme_live_key_)), StatusIs(StatusCode::kOk));
}

TEST_F(KeyManagerTest, OtherTeamsKeysAreNotFound) {
  const Client admin = ClientWith(acme_admin_);
  EXPECT_THAT(admin.GetKey(GetReq(globex_key_)), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(admin.RevokeKey(RevokeReq(globex_key_)), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(admin.GetKey(GetReq(operator_key_id_)), StatusIs(StatusCode::kNotFound));
  // Same answer as a key that does not exist at all.
  EXPECT_THAT(admin.GetKey(GetReq("key_00000000000000000000")), StatusIs(StatusCode::kNotFound));
  // The revoke did not happen.
  EXPECT_EQ(Operator().GetKey(GetReq(globex_key_))->state(), keygate::v1::Key::STATE_ACTIVE);
}

TEST_F(KeyManagerTest, TeamAdminCannotCreateOrListForOtherTeams) {
  const Client admin = ClientWith(acme_admin_);
  EXPECT_THAT(admin.CreateKey(NewKey("globex", keygate::v1::ENVIRONMENT_LIVE)),
              StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(admin.ListKeys(ListReq("globex")), StatusIs(StatusCode::kPermissionDenied));
}

TEST_F(KeyManagerTest, TestAdminNeverManagesLiveKeys) {
  const Client test_admin = ClientWith(acme_test_admin_);
  EXPECT_THAT(test_admin.GetKey(GetReq(acme_live_key_)), StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(test_admin.RevokeKey(RevokeReq(acme_live_key_)),
              StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(test_admin.CreateKey(NewKey("acme", keygate::v1::ENVIRONMENT_LIVE)),
              StatusIs(StatusCode::kPermissionDenied));
  keygate::v1::ListKeysRequest live = ListReq("acme");
  live.set_environment(keygate::v1::ENVIRONMENT_LIVE);
  EXPECT_THAT(test_admin.ListKeys(live), StatusIs(StatusCode::kPermissionDenied));
  // Its own environment works, and listings only show test keys.
  EXPECT_THAT(test_admin.CreateKey(NewKey("acme", keygate::v1::ENVIRONMENT_TEST)),
              StatusIs(StatusCode::kOk));
  absl::StatusOr<keygate::v1::ListKeysResponse> listed = test_admin.ListKeys(ListReq("acme"));
  ASSERT_THAT(listed, StatusIs(StatusCode::kOk));
  ASSERT_EQ(listed->keys_size(), 2);
  for (const auto& key : listed->keys()) EXPECT_EQ(key.environment(), keygate::v1::ENVIRONMENT_TEST);
}

TEST_F(KeyManagerTest, ReadAndWriteKeysArePermissionDenied) {
  for (const std::string scope : {"read", "write", "flows:admin"}) {
    const Client client = ClientWith(MustCreate("acme", {scope}).token());
    EXPECT_THAT(client.ListKeys(ListReq("acme")), StatusIs(StatusCode::kPermissionDenied)) << scope;
    EXPECT_THAT(client.CreateKey(NewKey("acme", keygate::v1::ENVIRONMENT_LIVE)),
                StatusIs(StatusCode::kPermissionDenied)) << scope;
  }
}

TEST_F(KeyManagerTest, MissingMalformedUnknownRevokedOrExpiredCredentialIsUnauthenticated) {
  const absl::StatusOr<core::TokenFormat> format = core::TokenFormat::Create("fs");
  std::string revoked_admin = MustCreate("acme", {"admin"}).token();
  ASSERT_TRUE(Operator().RevokeKey(RevokeReq(Operator().Authorize([&] {
    keygate::v1::AuthorizeRequest r;
    r.set_token(revoked_admin);
    r.set_required_scope("read");
    return r;
  }())->key().key_id())).ok());

  CreateKeyRequest expiring = NewKey("acme", keygate::v1::ENVIRONMENT_LIVE, "admin");
  expiring.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(clock_.Now() + absl::Minutes(1)));
  const std::string expired_admin = Operator().CreateKey(expiring)->token();
  clock_.Advance(absl::Minutes(2));

  for (const std::string& credential :
       {std::string(), std::string("garbage"), std::string("Bearer"),
        format->Generate(core::Environment::kLive), revoked_admin, expired_admin}) {
    const Client client = ClientWith(credential);
    EXPECT_THAT(client.ListKeys(ListReq("acme")), StatusIs(StatusCode::kUnauthenticated))
        << credential.size();
    EXPECT_THAT(client.GetKey(GetReq(acme_live_key_)), StatusIs(StatusCode::kUnauthenticated));
  }
}

TEST_F(KeyManagerTest, CreateValidatesEveryField) {
  const Client op = Operator();
  auto with = [](auto mutate) {
    CreateKeyRequest r = NewKey("acme", keygate::v1::ENVIRONMENT_LIVE);
    mutate(r);
    return r;
  };
  const std::vector<CreateKeyRequest> bad = {
      with([](CreateKeyRequest& r) { r.set_team_id(""); }),
      with([](CreateKeyRequest& r) { r.set_team_id("Acme"); }),
      with([](CreateKeyRequest& r) { r.set_team_id("acme corp"); }),
      with([](CreateKeyRequest& r) { r.set_team_id(std::string(65, 'a')); }),
      with([](CreateKeyRequest& r) { r.set_name(""); }),
      with([](CreateKeyRequest& r) { r.set_name(std::string(129, 'n')); }),
      with([](CreateKeyRequest& r) { r.set_name("line\nbreak"); }),
      with([](CreateKeyRequest& r) { r.clear_scopes(); }),
      with([](CreateKeyRequest& r) { r.add_scopes("flows:delete"); }),
      with([](CreateKeyRequest& r) { r.add_scopes(std::string(97, 'a') + ":read"); }),
      with([](CreateKeyRequest& r) {
        for (int i = 0; i < 32; ++i) r.add_scopes("r" + std::to_string(i) + ":read");
      }),
      with([](CreateKeyRequest& r) { r.set_environment(keygate::v1::ENVIRONMENT_UNSPECIFIED); }),
      with([](CreateKeyRequest& r) { r.set_environment(static_cast<keygate::v1::Environment>(9)); }),
      with([&](CreateKeyRequest& r) {
        r.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(clock_.Now() - absl::Hours(1)));
      }),
      with([](CreateKeyRequest& r) { r.mutable_expire_time()->set_nanos(-1); }),
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_THAT(op.CreateKey(bad[i]), StatusIs(StatusCode::kInvalidArgument)) << "case " << i;
  }
  // Nothing was stored by any of them.
  keygate::v1::ListKeysRequest list = ListReq("acme");
  list.set_include_revoked(true);
  EXPECT_EQ(op.ListKeys(list)->keys_size(), 3);
}

TEST_F(KeyManagerTest, OtherRequestsValidateInput) {
  const Client op = Operator();
  EXPECT_THAT(op.GetKey(GetReq("")), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(op.GetKey(GetReq("key_short")), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(op.RevokeKey(RevokeReq("../etc")), StatusIs(StatusCode::kInvalidArgument));
  keygate::v1::RevokeKeyRequest long_reason = RevokeReq(acme_live_key_);
  long_reason.set_reason(std::string(257, 'r'));
  EXPECT_THAT(op.RevokeKey(long_reason), StatusIs(StatusCode::kInvalidArgument));
  for (int size : {-1, 1001}) {
    keygate::v1::ListKeysRequest list = ListReq("acme");
    list.set_page_size(size);
    EXPECT_THAT(op.ListKeys(list), StatusIs(StatusCode::kInvalidArgument)) << size;
  }
  keygate::v1::ListKeysRequest bad_token = ListReq("acme");
  bad_token.set_page_token("not-a-token!");
  EXPECT_THAT(op.ListKeys(bad_token), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(op.ListKeys(ListReq("")), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(KeyManagerTest, ListPagesThroughEveryKeyOnce) {
  for (int i = 0; i < 23; ++i) {
    MustCreate("paged", {"read"}, keygate::v1::ENVIRONMENT_LIVE, "key " + std::to_string(i));
    clock_.Advance(absl::Seconds(1));
  }
  keygate::v1::ListKeysRequest list = ListReq("paged");
  list.set_page_size(10);
  std::vector<std::string> names;
  std::set<std::string> ids;
  int pages = 0;
  do {
    absl::StatusOr<keygate::v1::ListKeysResponse> page = Operator().ListKeys(list);
    ASSERT_THAT(page, StatusIs(StatusCode::kOk));
    ++pages;
    for (const auto& key : page->keys()) {
      names.push_back(key.name());
      ids.insert(key.key_id());
    }
    list.set_page_token(page->next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(names.size(), 23u);
  EXPECT_EQ(ids.size(), 23u);
  for (int i = 0; i < 23; ++i) EXPECT_EQ(names[i], "key " + std::to_string(i));  // Oldest first.
}

}  // namespace
}  // namespace keygate::testing
