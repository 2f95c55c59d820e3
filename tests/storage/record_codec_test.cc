#include "storage/record_codec.h"

#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/key_record.pb.h"
#include "tests/storage/key_record_testing.h"
#include "tests/support/test_support.h"

namespace keygate::storage {
namespace {

using ::keygate::storage::testing::ExpectSameRecord;
using ::keygate::storage::testing::MakeRecord;
using ::keygate::testing::StatusIs;

const absl::Time kCreate = absl::FromUnixMicros(1'800'000'000'123'456);

class RecordCodecTest : public ::testing::Test {
 protected:
  static core::KeyRecord RoundTrip(const core::KeyRecord& record) {
    absl::StatusOr<core::KeyRecord> decoded = DecodeKeyRecord(EncodeKeyRecord(record));
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    return decoded.ok() ? *decoded : core::KeyRecord{};
  }
};

TEST_F(RecordCodecTest, RoundTripsEveryField) {
  core::KeyRecord record;
  record.key_id = "key_0123456789abcdefABCD";
  record.team_id = "team-a";
  record.name = "CI/CD Pipeline ✓";
  record.scopes = {core::Scope{"flows", core::Level::kRead},
                   core::Scope{"runs-2", core::Level::kWrite},
                   core::Scope{"", core::Level::kAdmin}};
  record.environment = core::Environment::kTest;
  record.display_prefix = "fs_test_AbCd";
  record.token_hash = std::string("\x00\x01\xff\xfe hash with NUL\x00", 20) + std::string(12, 'h');
  record.create_time = kCreate;
  record.expire_time = kCreate + absl::Hours(24 * 90) + absl::Microseconds(7);
  record.revoke_time = kCreate + absl::Hours(1);
  record.revoke_reason = "leaked in a CI log";
  record.created_by = "key_ZYXWVUTSRQPONMLKJIHG";
  record.is_operator = false;

  ExpectSameRecord(RoundTrip(record), record);
}

TEST_F(RecordCodecTest, RoundTripsInfiniteFutureTimes) {
  core::KeyRecord record = MakeRecord("team-a", kCreate);
  ASSERT_EQ(record.expire_time, absl::InfiniteFuture());
  ASSERT_EQ(record.revoke_time, absl::InfiniteFuture());
  const core::KeyRecord decoded = RoundTrip(record);
  ExpectSameRecord(decoded, record);
  EXPECT_EQ(decoded.expire_time, absl::InfiniteFuture());
  EXPECT_EQ(decoded.revoke_time, absl::InfiniteFuture());
  EXPECT_EQ(decoded.StateAt(kCreate + absl::Hours(24 * 365 * 100)), core::KeyState::kActive);
}

TEST_F(RecordCodecTest, RoundTripsRevokedButNeverExpiringAndViceVersa) {
  core::KeyRecord revoked = MakeRecord("team-a", kCreate);
  revoked.revoke_time = kCreate + absl::Seconds(5);
  ExpectSameRecord(RoundTrip(revoked), revoked);

  core::KeyRecord expiring = MakeRecord("team-a", kCreate);
  expiring.expire_time = kCreate + absl::Seconds(5);
  ExpectSameRecord(RoundTrip(expiring), expiring);
}

TEST_F(RecordCodecTest, RoundTripsOperatorKey) {
  core::KeyRecord record = MakeRecord("", kCreate, "bootstrap operator");
  record.is_operator = true;
  record.scopes = {core::Scope{"", core::Level::kAdmin}};
  const core::KeyRecord decoded = RoundTrip(record);
  ExpectSameRecord(decoded, record);
  EXPECT_TRUE(decoded.is_operator);
  EXPECT_TRUE(decoded.team_id.empty());
}

TEST_F(RecordCodecTest, RoundTripsEmptyScopes) {
  core::KeyRecord record = MakeRecord("team-a", kCreate);
  record.scopes.clear();
  ExpectSameRecord(RoundTrip(record), record);
}

TEST_F(RecordCodecTest, DecodeIntoARecordOverwritesEveryField) {
  // The cache decodes into a fresh shared record, but the contract is any
  // record: nothing of what it held may survive, empty fields included.
  core::KeyRecord held = MakeRecord("team-a", kCreate, "held");
  held.scopes = {core::Scope{"flows", core::Level::kAdmin},
                 core::Scope{"runs", core::Level::kRead}};
  held.environment = core::Environment::kTest;
  held.revoke_time = kCreate + absl::Hours(1);
  held.revoke_reason = "an old reason that must not survive";
  held.is_operator = true;
  held.rotated_from_key_id = "key_from0123456789abcdef";
  held.rotated_to_key_id = "key_to0123456789abcdefgh";
  held.last_used_time = kCreate;

  core::KeyRecord sparse = MakeRecord("", kCreate + absl::Seconds(3), "sparse");
  sparse.scopes = {core::Scope{"", core::Level::kRead}};

  ASSERT_TRUE(DecodeKeyRecord(EncodeKeyRecord(sparse), &held).ok());
  ExpectSameRecord(held, sparse);
  EXPECT_TRUE(held.team_id.empty());
  EXPECT_TRUE(held.revoke_reason.empty());
  EXPECT_TRUE(held.rotated_from_key_id.empty());
  EXPECT_TRUE(held.rotated_to_key_id.empty());
  EXPECT_EQ(held.last_used_time, absl::InfinitePast());
  EXPECT_EQ(held.scopes[0].resource, "");
}

TEST_F(RecordCodecTest, DecodeGarbageIsDataLoss) {
  for (const std::string& bytes :
       {std::string("garbage"), std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11),
        std::string("\x0a\x7f short", 8), std::string(""), std::string("\x00\x00\x00", 3)}) {
    EXPECT_THAT(DecodeKeyRecord(bytes), StatusIs(absl::StatusCode::kDataLoss))
        << "bytes of size " << bytes.size();
  }
}

TEST_F(RecordCodecTest, DecodeTruncatedRecordIsDataLoss) {
  const std::string encoded = EncodeKeyRecord(MakeRecord("team-a", kCreate));
  // Cut in the middle of the key id (field 1, the first one written).
  EXPECT_THAT(DecodeKeyRecord(encoded.substr(0, 5)), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(RecordCodecTest, DecodeUnknownEnvironmentIsDataLoss) {
  StoredKeyRecord stored;
  stored.set_key_id("key_AAAAAAAAAAAAAAAAAAAA");
  stored.set_environment(99);
  EXPECT_THAT(DecodeKeyRecord(stored.SerializeAsString()), StatusIs(absl::StatusCode::kDataLoss));
  stored.set_environment(0);
  EXPECT_THAT(DecodeKeyRecord(stored.SerializeAsString()), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(RecordCodecTest, DecodeUnknownScopeLevelIsDataLoss) {
  StoredKeyRecord stored;
  stored.set_key_id("key_AAAAAAAAAAAAAAAAAAAA");
  stored.set_environment(static_cast<int32_t>(core::Environment::kLive));
  StoredScope* scope = stored.add_scopes();
  scope->set_resource("flows");
  scope->set_level(static_cast<int32_t>(core::Level::kRead));
  ASSERT_TRUE(DecodeKeyRecord(stored.SerializeAsString()).ok());
  scope->set_level(4);
  EXPECT_THAT(DecodeKeyRecord(stored.SerializeAsString()), StatusIs(absl::StatusCode::kDataLoss));
  scope->set_level(0);
  EXPECT_THAT(DecodeKeyRecord(stored.SerializeAsString()), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(TeamIndexKeyTest, StartsWithTeamPrefixAndSortsByCreationTime) {
  const core::KeyRecord older = MakeRecord("team-a", kCreate);
  core::KeyRecord newer = MakeRecord("team-a", kCreate + absl::Microseconds(1));
  core::KeyRecord much_newer = MakeRecord("team-a", kCreate + absl::Hours(24 * 365));
  EXPECT_TRUE(absl::StartsWith(TeamIndexKey(older), IndexPrefix("team-a")));
  EXPECT_LT(TeamIndexKey(older), TeamIndexKey(newer));
  EXPECT_LT(TeamIndexKey(newer), TeamIndexKey(much_newer));
  // Same creation time: ordered by key id, and still distinct.
  core::KeyRecord twin = older;
  twin.key_id = older.key_id + "x";
  EXPECT_LT(TeamIndexKey(older), TeamIndexKey(twin));
}

TEST(TeamIndexKeyTest, PrefixOfOneTeamDoesNotMatchAnother) {
  const core::KeyRecord team = MakeRecord("team", kCreate);
  const core::KeyRecord team2 = MakeRecord("team2", kCreate);
  EXPECT_FALSE(absl::StartsWith(TeamIndexKey(team2), IndexPrefix("team")));
  EXPECT_FALSE(absl::StartsWith(TeamIndexKey(team), IndexPrefix("team2")));
  EXPECT_FALSE(absl::StartsWith(TeamIndexKey(team), IndexPrefix("tea")));
}

}  // namespace
}  // namespace keygate::storage
