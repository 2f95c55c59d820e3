// Key lifecycle through a real server: rotation with and without grace,
// expiry and the TTL ceiling, rotation due, usage monitoring, the audit trail
// and retention. Time moves with the fake clock; no test sleeps.
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_fixture.h"

namespace keygate::testing {
namespace {

using absl::StatusCode;
using keygate::v1::Key;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class LifecycleTest : public ServerFixture {
 protected:
  absl::StatusOr<keygate::v1::RotateKeyResponse> Rotate(const std::string& key_id,
                                                        absl::Duration grace,
                                                        const Client& client) {
    keygate::v1::RotateKeyRequest request;
    request.set_key_id(key_id);
    request.mutable_grace_period()->set_seconds(absl::ToInt64Seconds(grace));
    return client.RotateKey(request);
  }

  keygate::v1::KeyUsage Usage(const std::string& key_id, int days = 0) {
    keygate::v1::GetKeyUsageRequest request;
    request.set_key_id(key_id);
    request.set_days(days);
    absl::StatusOr<keygate::v1::KeyUsage> usage = Operator().GetKeyUsage(request);
    EXPECT_TRUE(usage.ok()) << usage.status();
    return usage.ok() ? *usage : keygate::v1::KeyUsage();
  }

  std::vector<keygate::v1::AuditEvent> Audit(const std::string& team, const std::string& key_id = "") {
    keygate::v1::ListAuditEventsRequest request;
    request.set_team_id(team);
    request.set_key_id(key_id);
    request.set_page_size(1000);
    absl::StatusOr<keygate::v1::ListAuditEventsResponse> page = Operator().ListAuditEvents(request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return {};
    return {page->events().begin(), page->events().end()};
  }

  bool Authorize(const std::string& token, const std::string& scope, const std::string& ip = "") {
    keygate::v1::AuthorizeRequest request;
    request.set_token(token);
    request.set_required_scope(scope);
    request.set_client_ip(ip);
    absl::StatusOr<keygate::v1::AuthorizeResponse> response = Anonymous().Authorize(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() && response->allowed();
  }
};

TEST_F(LifecycleTest, RotateWithoutGraceStopsTheOldKeyAtOnce) {
  const auto old_key = MustCreate("acme", {"read", "flows:write"});
  auto rotated = Rotate(old_key.key().key_id(), absl::ZeroDuration(), Operator());
  ASSERT_THAT(rotated, StatusIs(StatusCode::kOk));
  EXPECT_NE(rotated->token(), old_key.token());
  EXPECT_THAT(rotated->key().scopes(), ElementsAre("read", "flows:write"));
  EXPECT_EQ(rotated->key().name(), old_key.key().name());
  EXPECT_EQ(rotated->key().team_id(), "acme");
  EXPECT_EQ(rotated->key().rotated_from_key_id(), old_key.key().key_id());
  EXPECT_EQ(rotated->previous_key().rotated_to_key_id(), rotated->key().key_id());
  EXPECT_EQ(rotated->previous_key().state(), Key::STATE_REVOKED);

  EXPECT_TRUE(Authorize(rotated->token(), "flows:write"));
  EXPECT_EQ(MustAuthorize(old_key.token(), "read").reason(), keygate::v1::REASON_REVOKED);
}

TEST_F(LifecycleTest, RotateWithGraceKeepsTheOldKeyUntilTheGraceEnds) {
  const auto old_key = MustCreate("acme", {"write"});
  auto rotated = Rotate(old_key.key().key_id(), absl::Hours(24), Operator());
  ASSERT_THAT(rotated, StatusIs(StatusCode::kOk));
  EXPECT_EQ(rotated->previous_key().state(), Key::STATE_ACTIVE);
  EXPECT_TRUE(Authorize(old_key.token(), "write"));
  EXPECT_TRUE(Authorize(rotated->token(), "write"));

  clock_.Advance(absl::Hours(23) + absl::Minutes(59));
  EXPECT_TRUE(Authorize(old_key.token(), "write"));
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(MustAuthorize(old_key.token(), "write").reason(), keygate::v1::REASON_REVOKED);
  EXPECT_TRUE(Authorize(rotated->token(), "write"));

  // Both records point at each other after a restart too.
  Restart();
  keygate::v1::GetKeyRequest get;
  get.set_key_id(old_key.key().key_id());
  EXPECT_EQ(Operator().GetKey(get)->rotated_to_key_id(), rotated->key().key_id());
  get.set_key_id(rotated->key().key_id());
  EXPECT_EQ(Operator().GetKey(get)->rotated_from_key_id(), old_key.key().key_id());
}

TEST_F(LifecycleTest, RotateRefusesBadGraceAndInactiveOrRotatedKeys) {
  const auto key = MustCreate("acme", {"read"});
  EXPECT_THAT(Rotate(key.key().key_id(), absl::Hours(24 * 7) + absl::Seconds(1), Operator()),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Rotate(key.key().key_id(), -absl::Seconds(1), Operator()),
              StatusIs(StatusCode::kInvalidArgument));
  ASSERT_THAT(Rotate(key.key().key_id(), absl::Hours(1), Operator()), StatusIs(StatusCode::kOk));
  EXPECT_THAT(Rotate(key.key().key_id(), absl::Hours(1), Operator()),
              StatusIs(StatusCode::kFailedPrecondition));
  const auto revoked = MustCreate("acme", {"read"});
  keygate::v1::RevokeKeyRequest revoke;
  revoke.set_key_id(revoked.key().key_id());
  ASSERT_TRUE(Operator().RevokeKey(revoke).ok());
  EXPECT_THAT(Rotate(revoked.key().key_id(), absl::ZeroDuration(), Operator()),
              StatusIs(StatusCode::kFailedPrecondition));
  // Another team's admin sees nothing.
  const Client globex_admin = ClientWith(MustCreate("globex", {"admin"}).token());
  EXPECT_THAT(Rotate(MustCreate("acme", {"read"}).key().key_id(), absl::ZeroDuration(), globex_admin),
              StatusIs(StatusCode::kNotFound));
}

TEST_F(LifecycleTest, RotatedKeyNeverOutlivesTheOldOne) {
  keygate::v1::CreateKeyRequest request;
  request.set_team_id("acme");
  request.set_name("expiring");
  request.add_scopes("read");
  request.set_environment(keygate::v1::ENVIRONMENT_LIVE);
  request.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(clock_.Now() + absl::Hours(48)));
  auto created = Operator().CreateKey(request);
  ASSERT_TRUE(created.ok());
  clock_.Advance(absl::Hours(24));
  auto rotated = Rotate(created->key().key_id(), absl::ZeroDuration(), Operator());
  ASSERT_THAT(rotated, StatusIs(StatusCode::kOk));
  EXPECT_EQ(rotated->key().expire_time().seconds(), created->key().expire_time().seconds());
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(MustAuthorize(rotated->token(), "read").reason(), keygate::v1::REASON_EXPIRED);
}

TEST_F(LifecycleTest, MaxKeyTtlCapsAndDefaultsExpiry) {
  policy_.max_key_ttl = absl::Hours(24 * 30);
  Restart();
  const auto created = MustCreate("acme", {"read"});
  EXPECT_EQ(created.key().expire_time().seconds(),
            absl::ToUnixSeconds(clock_.Now() + absl::Hours(24 * 30)));
  keygate::v1::CreateKeyRequest too_long;
  too_long.set_team_id("acme");
  too_long.set_name("too long");
  too_long.add_scopes("read");
  too_long.set_environment(keygate::v1::ENVIRONMENT_LIVE);
  too_long.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(clock_.Now() + absl::Hours(24 * 31)));
  EXPECT_THAT(Operator().CreateKey(too_long), StatusIs(StatusCode::kInvalidArgument));
  clock_.Advance(absl::Hours(24 * 30));
  EXPECT_EQ(MustAuthorize(created.token(), "read").reason(), keygate::v1::REASON_EXPIRED);
}

TEST_F(LifecycleTest, OldKeysAreDueForRotation) {
  const auto old_key = MustCreate("acme", {"read"});
  clock_.Advance(absl::Hours(24 * 60));
  const auto newer = MustCreate("acme", {"read"});
  clock_.Advance(absl::Hours(24 * 31));
  keygate::v1::ListKeysRequest stale;
  stale.set_team_id("acme");
  stale.set_rotation_due_only(true);
  auto listed = Operator().ListKeys(stale);
  ASSERT_THAT(listed, StatusIs(StatusCode::kOk));
  ASSERT_EQ(listed->keys_size(), 1);
  EXPECT_EQ(listed->keys(0).key_id(), old_key.key().key_id());
  EXPECT_TRUE(listed->keys(0).rotation_due());
  // Once rotated, neither the old nor the new key is due.
  ASSERT_TRUE(Rotate(old_key.key().key_id(), absl::Hours(1), Operator()).ok());
  EXPECT_EQ(Operator().ListKeys(stale)->keys_size(), 0);
  (void)newer;
}

TEST_F(LifecycleTest, UsageCountsExactlyAfterAFlushAndSurvivesRestart) {
  const auto key = MustCreate("acme", {"read"});
  const std::string ips[] = {"203.0.113.7", "198.51.100.23", "2001:db8::1"};
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Authorize(key.token(), "read", ips[i % 3]));
  for (int i = 0; i < 7; ++i) ASSERT_FALSE(Authorize(key.token(), "write", ips[0]));
  // Nothing is in storage before the flush.
  EXPECT_EQ(Usage(key.key().key_id()).total_allowed(), 0);
  KEYGATE_ASSERT_OK(usage_->Flush());

  keygate::v1::KeyUsage usage = Usage(key.key().key_id());
  EXPECT_EQ(usage.total_allowed(), 1000);
  EXPECT_EQ(usage.total_denied(), 7);
  EXPECT_EQ(usage.days_size(), 30);
  EXPECT_EQ(usage.days(29).allowed(), 1000);
  EXPECT_EQ(usage.days(29).date(), absl::FormatCivilTime(absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone())));
  EXPECT_EQ(usage.last_used_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  std::set<std::string> seen;
  for (const auto& c : usage.client_addresses()) seen.insert(c.address());
  EXPECT_EQ(seen, std::set<std::string>(std::begin(ips), std::end(ips)));
  keygate::v1::GetKeyRequest get;
  get.set_key_id(key.key().key_id());
  EXPECT_EQ(Operator().GetKey(get)->last_used_time().seconds(), absl::ToUnixSeconds(clock_.Now()));

  // Another day adds a second entry; a restart keeps everything (and flushes
  // what is pending on the way down).
  clock_.Advance(absl::Hours(24));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Authorize(key.token(), "read"));
  Restart();
  usage = Usage(key.key().key_id(), 2);
  ASSERT_EQ(usage.days_size(), 2);
  EXPECT_EQ(usage.days(0).allowed(), 1000);
  EXPECT_EQ(usage.days(1).allowed(), 5);
  EXPECT_EQ(usage.total_allowed(), 1005);
  EXPECT_THAT(Operator().GetKeyUsage([&] {
    keygate::v1::GetKeyUsageRequest r;
    r.set_key_id(key.key().key_id());
    r.set_days(91);
    return r;
  }()), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(LifecycleTest, AuditRecordsEveryChangeAndRefusalNewestFirstWithoutSecrets) {
  const auto admin = MustCreate("acme", {"admin"});
  const Client team_admin = ClientWith(admin.token());
  clock_.Advance(absl::Seconds(1));
  auto created = team_admin.CreateKey([] {
    keygate::v1::CreateKeyRequest r;
    r.set_team_id("acme");
    r.set_name("made by team admin");
    r.add_scopes("read");
    r.set_environment(keygate::v1::ENVIRONMENT_LIVE);
    return r;
  }());
  ASSERT_TRUE(created.ok());
  clock_.Advance(absl::Seconds(1));
  auto rotated = Rotate(created->key().key_id(), absl::Hours(1), team_admin);
  ASSERT_TRUE(rotated.ok());
  clock_.Advance(absl::Seconds(1));
  keygate::v1::RevokeKeyRequest revoke;
  revoke.set_key_id(rotated->key().key_id());
  ASSERT_TRUE(Operator().RevokeKey(revoke).ok());
  clock_.Advance(absl::Seconds(1));
  // A refused attempt: CreateKey with a read key.
  const auto reader = MustCreate("acme", {"read"});
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(ClientWith(reader.token()).CreateKey([] {
    keygate::v1::CreateKeyRequest r;
    r.set_team_id("acme");
    r.set_name("sneaky");
    r.add_scopes("admin");
    r.set_environment(keygate::v1::ENVIRONMENT_LIVE);
    return r;
  }()), StatusIs(StatusCode::kPermissionDenied));
  clock_.Advance(absl::Seconds(1));
  // And one without any credential.
  keygate::v1::ListKeysRequest list;
  list.set_team_id("acme");
  EXPECT_THAT(Anonymous().ListKeys(list), StatusIs(StatusCode::kUnauthenticated));

  const std::vector<keygate::v1::AuditEvent> events = Audit("acme");
  ASSERT_GE(events.size(), 6u);
  EXPECT_EQ(events[0].action(), "ListKeys");
  EXPECT_EQ(events[0].outcome(), "UNAUTHENTICATED");
  EXPECT_EQ(events[0].actor_key_id(), "");
  EXPECT_EQ(events[1].action(), "CreateKey");
  EXPECT_EQ(events[1].outcome(), "PERMISSION_DENIED");
  EXPECT_EQ(events[1].actor_key_id(), reader.key().key_id());
  EXPECT_THAT(events[1].peer(), HasSubstr("127.0.0.1"));
  EXPECT_EQ(events[2].action(), "CreateKey");  // The operator creating the reader.
  EXPECT_EQ(events[3].action(), "RevokeKey");
  EXPECT_TRUE(events[3].actor_is_operator());
  EXPECT_EQ(events[3].target_key_id(), rotated->key().key_id());
  EXPECT_EQ(events[4].action(), "RotateKey");
  EXPECT_EQ(events[4].actor_key_id(), admin.key().key_id());
  EXPECT_EQ(events[4].target_key_id(), created->key().key_id());
  EXPECT_THAT(events[4].detail(), HasSubstr(rotated->key().key_id()));
  EXPECT_EQ(events[5].action(), "CreateKey");
  EXPECT_EQ(events[5].outcome(), "OK");
  EXPECT_EQ(events[5].actor_key_id(), admin.key().key_id());

  // Filter by key: the rotated-from key has its create and its rotation.
  const auto by_key = Audit("acme", created->key().key_id());
  ASSERT_EQ(by_key.size(), 2u);
  EXPECT_EQ(by_key[0].action(), "RotateKey");
  EXPECT_EQ(by_key[1].action(), "CreateKey");

  // No token anywhere in the trail.
  keygate::v1::ListAuditEventsResponse all;
  for (const auto& e : events) *all.add_events() = e;
  for (const std::string& token : {admin.token(), created->token(), rotated->token(), reader.token()}) {
    EXPECT_THAT(all.SerializeAsString(), Not(HasSubstr(token.substr(12))));
  }

  // A team admin reads its own trail, not another team's.
  keygate::v1::ListAuditEventsRequest other;
  other.set_team_id("globex");
  EXPECT_THAT(team_admin.ListAuditEvents(other), StatusIs(StatusCode::kPermissionDenied));
  other.set_team_id("acme");
  EXPECT_THAT(team_admin.ListAuditEvents(other), StatusIs(StatusCode::kOk));
}

TEST_F(LifecycleTest, AuditPagesNewestFirst) {
  for (int i = 0; i < 12; ++i) {
    MustCreate("paged", {"read"});
    clock_.Advance(absl::Seconds(1));
  }
  keygate::v1::ListAuditEventsRequest request;
  request.set_team_id("paged");
  request.set_page_size(5);
  std::vector<int64_t> times;
  int pages = 0;
  do {
    auto page = Operator().ListAuditEvents(request);
    ASSERT_THAT(page, StatusIs(StatusCode::kOk));
    ++pages;
    for (const auto& e : page->events()) times.push_back(e.time().seconds());
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(times.size(), 12u);
  EXPECT_TRUE(std::is_sorted(times.rbegin(), times.rend()));
  request.set_page_token("garbage!");
  EXPECT_THAT(Operator().ListAuditEvents(request), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(LifecycleTest, RevokedKeysAndOldAuditEventsArePurgedAfterRetention) {
  const auto kept = MustCreate("acme", {"read"});
  const auto revoked = MustCreate("acme", {"read"});
  keygate::v1::RevokeKeyRequest revoke;
  revoke.set_key_id(revoked.key().key_id());
  ASSERT_TRUE(Operator().RevokeKey(revoke).ok());

  // Within retention the revoked key stays visible.
  clock_.Advance(absl::Hours(24 * 399));
  KEYGATE_ASSERT_OK(store_->CompactAll());
  keygate::v1::GetKeyRequest get;
  get.set_key_id(revoked.key().key_id());
  EXPECT_THAT(Operator().GetKey(get), StatusIs(StatusCode::kOk));

  clock_.Advance(absl::Hours(24 * 2));
  KEYGATE_ASSERT_OK(store_->CompactAll());
  EXPECT_THAT(Operator().GetKey(get), StatusIs(StatusCode::kNotFound));
  keygate::v1::ListKeysRequest list;
  list.set_team_id("acme");
  list.set_include_revoked(true);
  auto listed = Operator().ListKeys(list);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->keys_size(), 1);
  EXPECT_EQ(listed->keys(0).key_id(), kept.key().key_id());
  EXPECT_TRUE(Authorize(kept.token(), "read"));
  // The purged token is simply unknown now: still denied.
  EXPECT_EQ(MustAuthorize(revoked.token(), "read").reason(), keygate::v1::REASON_UNKNOWN_KEY);
  // The creates and the revoke happened more than 400 days ago.
  for (const auto& e : Audit("acme")) {
    EXPECT_GT(e.time().seconds(), absl::ToUnixSeconds(clock_.Now() - absl::Hours(24 * 400)));
  }
}

}  // namespace
}  // namespace keygate::testing
