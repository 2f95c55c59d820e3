// Repeated failed management authentications from one address are refused
// (RESOURCE_EXHAUSTED) without affecting other addresses.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/service/auth_throttle.h"
#include "tests/server/server_fixture.h"

namespace keygate::testing {
namespace {

using absl::StatusCode;

class ThrottleTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    policy_.auth_failure_burst = 5;
    policy_.auth_failure_refill = absl::Seconds(10);
    Restart();
  }

  absl::StatusCode GetFrom(const std::string& peer, const std::string& credential) {
    return keys_->GetKey(service::CallInfo{credential, peer}, operator_key_id_).status().code();
  }
};

TEST_F(ThrottleTest, RefusesAnAddressAfterRepeatedFailuresButNotOthers) {
  const std::string attacker = "ipv4:203.0.113.9:40000";
  const std::string neighbour = "ipv4:203.0.113.10:40000";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(GetFrom(attacker, "Bearer wrong"), StatusCode::kUnauthenticated);
  // Now even a valid credential from that address is refused...
  EXPECT_EQ(GetFrom("ipv4:203.0.113.9:40001", "Bearer " + operator_token_),
            StatusCode::kResourceExhausted);
  // ...while another address is served.
  EXPECT_EQ(GetFrom(neighbour, "Bearer " + operator_token_), StatusCode::kOk);
  EXPECT_EQ(GetFrom(neighbour, "Bearer wrong"), StatusCode::kUnauthenticated);

  // One try comes back per refill interval.
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(GetFrom(attacker, "Bearer " + operator_token_), StatusCode::kOk);
  EXPECT_EQ(GetFrom(attacker, "Bearer wrong"), StatusCode::kUnauthenticated);
  EXPECT_EQ(GetFrom(attacker, "Bearer " + operator_token_), StatusCode::kResourceExhausted);

  // The refusals are in the audit trail.
  auto events = keys_->ListAuditEvents(service::CallInfo{"Bearer " + operator_token_, neighbour},
                                       service::AuditRequest{"-", "", 100, ""});
  ASSERT_TRUE(events.ok()) << events.status();
  int refused = 0;
  for (const auto& e : events->events) refused += e.outcome == StatusCode::kResourceExhausted;
  EXPECT_EQ(refused, 2);
}

TEST_F(ThrottleTest, ThroughTheWireTheCallerGetsResourceExhausted) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(ClientWith("garbage").GetKey([] {
      keygate::v1::GetKeyRequest r;
      r.set_key_id("key_00000000000000000000");
      return r;
    }()), StatusIs(StatusCode::kUnauthenticated));
  }
  keygate::v1::ListKeysRequest list;
  list.set_team_id("acme");
  EXPECT_THAT(Operator().ListKeys(list), StatusIs(StatusCode::kResourceExhausted));
}

TEST(PeerHostTest, StripsSchemeAndPort) {
  EXPECT_EQ(service::PeerHost("ipv4:10.1.2.3:5000"), "10.1.2.3");
  EXPECT_EQ(service::PeerHost("ipv6:[::1]:5000"), "::1");
  EXPECT_EQ(service::PeerHost("unix:/tmp/sock"), "unix:/tmp/sock");
}

}  // namespace
}  // namespace keygate::testing
