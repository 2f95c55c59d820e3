#include "server/core/decision.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/core/key_record.h"
#include "server/core/scope.h"

namespace keygate::core {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

Scope MustParse(absl::string_view text) {
  absl::StatusOr<Scope> scope = ParseScope(text);
  EXPECT_TRUE(scope.ok()) << text << ": " << scope.status();
  return scope.ok() ? *scope : Scope{};
}

class DecisionTest : public ::testing::Test {
 protected:
  DecisionTest() {
    key_.key_id = "key_AAAAAAAAAAAAAAAAAAAA";
    key_.team_id = "team-a";
    key_.name = "Production Backend";
    key_.scopes = {MustParse("flows:write"), MustParse("runs:read")};
    key_.environment = Environment::kLive;
    key_.create_time = kNow - absl::Hours(24);
  }

  KeyRecord key_;
};

struct DecisionCase {
  const char* name;
  absl::Duration revoke_offset;  // InfiniteDuration(): not revoked.
  absl::Duration expire_offset;  // InfiniteDuration(): never expires.
  std::optional<Environment> required_env;
  const char* required_scope;
  Reason want_reason;
  int want_status;
};

TEST_F(DecisionTest, Table) {
  const absl::Duration kNever = absl::InfiniteDuration();
  const DecisionCase cases[] = {
      {"allowed", kNever, kNever, std::nullopt, "flows:read", Reason::kNone, 200},
      {"allowed_exact_scope", kNever, kNever, std::nullopt, "flows:write", Reason::kNone, 200},
      {"allowed_second_scope", kNever, kNever, std::nullopt, "runs:read", Reason::kNone, 200},
      {"allowed_matching_env", kNever, kNever, Environment::kLive, "flows:read", Reason::kNone,
       200},
      {"allowed_before_expiry", kNever, absl::Seconds(1), std::nullopt, "flows:read",
       Reason::kNone, 200},
      {"revoked", -absl::Minutes(1), kNever, std::nullopt, "flows:read", Reason::kRevoked, 401},
      {"revoked_now", absl::ZeroDuration(), kNever, std::nullopt, "flows:read", Reason::kRevoked,
       401},
      {"revoked_wins_over_expired", -absl::Minutes(1), -absl::Minutes(2), std::nullopt,
       "flows:read", Reason::kRevoked, 401},
      {"revoked_wins_over_scope", -absl::Minutes(1), kNever, std::nullopt, "admin",
       Reason::kRevoked, 401},
      {"revoked_wins_over_env", -absl::Minutes(1), kNever, Environment::kTest, "flows:read",
       Reason::kRevoked, 401},
      {"expired", kNever, -absl::Minutes(1), std::nullopt, "flows:read", Reason::kExpired, 401},
      {"expired_now", kNever, absl::ZeroDuration(), std::nullopt, "flows:read",
       Reason::kExpired, 401},
      {"expired_wins_over_env", kNever, -absl::Minutes(1), Environment::kTest, "flows:read",
       Reason::kExpired, 401},
      {"wrong_environment", kNever, kNever, Environment::kTest, "flows:read",
       Reason::kWrongEnvironment, 401},
      {"wrong_env_wins_over_scope", kNever, kNever, Environment::kTest, "admin",
       Reason::kWrongEnvironment, 401},
      {"insufficient_scope_level", kNever, kNever, std::nullopt, "flows:admin",
       Reason::kInsufficientScope, 403},
      {"insufficient_scope_resource", kNever, kNever, std::nullopt, "connections:read",
       Reason::kInsufficientScope, 403},
      {"insufficient_scope_global", kNever, kNever, std::nullopt, "read",
       Reason::kInsufficientScope, 403},
      {"insufficient_scope_runs_write", kNever, kNever, Environment::kLive, "runs:write",
       Reason::kInsufficientScope, 403},
  };
  for (const DecisionCase& c : cases) {
    SCOPED_TRACE(c.name);
    KeyRecord key = key_;
    key.revoke_time =
        c.revoke_offset == kNever ? absl::InfiniteFuture() : kNow + c.revoke_offset;
    key.expire_time =
        c.expire_offset == kNever ? absl::InfiniteFuture() : kNow + c.expire_offset;
    const Decision decision = Decide(key, MustParse(c.required_scope), c.required_env, kNow);
    EXPECT_EQ(decision.reason, c.want_reason) << ReasonName(decision.reason);
    EXPECT_EQ(decision.allowed(), c.want_reason == Reason::kNone);
    EXPECT_EQ(decision.http_status(), c.want_status);
  }
}

TEST_F(DecisionTest, TestKeyInTestEnvironmentIsAllowed) {
  key_.environment = Environment::kTest;
  EXPECT_TRUE(Decide(key_, MustParse("flows:read"), Environment::kTest, kNow).allowed());
  EXPECT_EQ(Decide(key_, MustParse("flows:read"), Environment::kLive, kNow).reason,
            Reason::kWrongEnvironment);
}

TEST_F(DecisionTest, AdminKeySatisfiesEverything) {
  key_.scopes = {MustParse("admin")};
  for (absl::string_view required : {"read", "write", "admin", "flows:admin", "runs:read"}) {
    EXPECT_TRUE(Decide(key_, MustParse(required), std::nullopt, kNow).allowed()) << required;
  }
}

TEST_F(DecisionTest, KeyWithoutScopesIsDenied) {
  key_.scopes.clear();
  EXPECT_EQ(Decide(key_, MustParse("read"), std::nullopt, kNow).reason,
            Reason::kInsufficientScope);
}

TEST_F(DecisionTest, ScheduledRevocationAllowsBeforeAndRevokesAtAndAfter) {
  key_.revoke_time = kNow + absl::Hours(1);
  const Scope required = MustParse("flows:read");
  EXPECT_TRUE(Decide(key_, required, std::nullopt, kNow).allowed());
  EXPECT_TRUE(
      Decide(key_, required, std::nullopt, key_.revoke_time - absl::Nanoseconds(1)).allowed());
  EXPECT_EQ(Decide(key_, required, std::nullopt, key_.revoke_time).reason, Reason::kRevoked);
  EXPECT_EQ(Decide(key_, required, std::nullopt, key_.revoke_time + absl::Seconds(1)).reason,
            Reason::kRevoked);
  EXPECT_EQ(key_.StateAt(kNow), KeyState::kActive);
  EXPECT_EQ(key_.StateAt(key_.revoke_time), KeyState::kRevoked);
}

TEST_F(DecisionTest, ExpiryAllowsBeforeAndDeniesAtAndAfter) {
  key_.expire_time = kNow + absl::Hours(1);
  const Scope required = MustParse("flows:read");
  EXPECT_TRUE(
      Decide(key_, required, std::nullopt, key_.expire_time - absl::Nanoseconds(1)).allowed());
  EXPECT_EQ(Decide(key_, required, std::nullopt, key_.expire_time).reason, Reason::kExpired);
  EXPECT_EQ(key_.StateAt(key_.expire_time), KeyState::kExpired);
}

TEST_F(DecisionTest, StateRevokedWinsOverExpired) {
  key_.expire_time = kNow - absl::Hours(2);
  key_.revoke_time = kNow - absl::Hours(1);
  EXPECT_EQ(key_.StateAt(kNow), KeyState::kRevoked);
}

TEST(ReasonNameTest, Values) {
  EXPECT_STREQ(ReasonName(Reason::kNone), "allowed");
  EXPECT_STREQ(ReasonName(Reason::kMalformedToken), "malformed_token");
  EXPECT_STREQ(ReasonName(Reason::kUnknownKey), "unknown_key");
  EXPECT_STREQ(ReasonName(Reason::kRevoked), "revoked");
  EXPECT_STREQ(ReasonName(Reason::kExpired), "expired");
  EXPECT_STREQ(ReasonName(Reason::kInsufficientScope), "insufficient_scope");
  EXPECT_STREQ(ReasonName(Reason::kWrongEnvironment), "wrong_environment");
}

TEST(DecisionStatusTest, HttpStatusForEveryReason) {
  EXPECT_EQ(Decision{Reason::kNone}.http_status(), 200);
  EXPECT_EQ(Decision{Reason::kInsufficientScope}.http_status(), 403);
  for (Reason r : {Reason::kMalformedToken, Reason::kUnknownKey, Reason::kRevoked,
                   Reason::kExpired, Reason::kWrongEnvironment}) {
    const Decision d{r};
    EXPECT_EQ(d.http_status(), 401) << ReasonName(r);
    EXPECT_FALSE(d.allowed()) << ReasonName(r);
  }
}

TEST(DecisionStatusTest, ReasonValuesMirrorThePublicEnum) {
  // keygate.v1.Reason: REASON_UNSPECIFIED = 0, MALFORMED_TOKEN = 1, … .
  EXPECT_EQ(static_cast<int>(Reason::kNone), 0);
  EXPECT_EQ(static_cast<int>(Reason::kMalformedToken), 1);
  EXPECT_EQ(static_cast<int>(Reason::kUnknownKey), 2);
  EXPECT_EQ(static_cast<int>(Reason::kRevoked), 3);
  EXPECT_EQ(static_cast<int>(Reason::kExpired), 4);
  EXPECT_EQ(static_cast<int>(Reason::kInsufficientScope), 5);
  EXPECT_EQ(static_cast<int>(Reason::kWrongEnvironment), 6);
}

}  // namespace
}  // namespace keygate::core
