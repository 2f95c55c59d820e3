#include "storage/record_codec.h"

#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "storage/key_record.pb.h"
#include "tests/storage/key_record_testing.h"
#include "tests/storage/stored_record_reference.h"
#include "tests/support/test_support.h"

namespace keygate::storage {
namespace {

using ::keygate::storage::testing::ExpectSameRecord;
using ::keygate::storage::testing::MakeRecord;
using ::keygate::storage::testing::ReferenceRecord;
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

// A record with every field set, scopes with and without a resource.
StoredKeyRecord FullStoredRecord() {
  StoredKeyRecord stored;
  stored.set_key_id("key_0123456789abcdefABCD");
  stored.set_team_id("team-a");
  stored.set_name("a name longer than fifteen characters");
  StoredScope* scope = stored.add_scopes();
  scope->set_resource("flows");
  scope->set_level(static_cast<int32_t>(core::Level::kWrite));
  stored.add_scopes()->set_level(static_cast<int32_t>(core::Level::kRead));
  stored.set_environment(static_cast<int32_t>(core::Environment::kTest));
  stored.set_display_prefix("fs_test_AbCd");
  stored.set_token_hash(std::string(32, '\xab'));
  stored.set_create_time_us(1'800'000'000'123'456);
  stored.set_expire_time_us(1'900'000'000'000'000);
  stored.set_revoke_time_us(1'850'000'000'000'000);
  stored.set_revoke_reason("leaked");
  stored.set_created_by("key_creator0123456789ab");
  stored.set_is_operator(true);
  stored.set_rotated_from_key_id("key_from0123456789abcdef");
  stored.set_rotated_to_key_id("key_to0123456789abcdefgh");
  return stored;
}

// Decodes `bytes` and expects what protobuf's own parse of them means.
void ExpectDecodesAsProtobufDoes(const std::string& bytes) {
  StoredKeyRecord parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  const std::optional<core::KeyRecord> expected = ReferenceRecord(parsed);
  ASSERT_TRUE(expected.has_value());
  absl::StatusOr<core::KeyRecord> decoded = DecodeKeyRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameRecord(*decoded, *expected);
}

TEST_F(RecordCodecTest, DecodeReadsEveryFieldAsProtobufDoes) {
  ExpectDecodesAsProtobufDoes(FullStoredRecord().SerializeAsString());
}

TEST_F(RecordCodecTest, DecodeTakesTheLastValueOfAFieldAndAppendsScopes) {
  // Concatenated messages merge: singular fields from the second, scopes of
  // both (protobuf's rules, which the decoder must follow field by field).
  StoredKeyRecord second;
  second.set_key_id("key_second0123456789abc");
  second.set_environment(static_cast<int32_t>(core::Environment::kLive));
  second.set_expire_time_us(1'950'000'000'000'000);
  second.add_scopes()->set_level(static_cast<int32_t>(core::Level::kAdmin));
  const std::string bytes = FullStoredRecord().SerializeAsString() + second.SerializeAsString();
  ExpectDecodesAsProtobufDoes(bytes);
  absl::StatusOr<core::KeyRecord> decoded = DecodeKeyRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->key_id, "key_second0123456789abc");
  EXPECT_EQ(decoded->scopes.size(), 3u);
}

TEST_F(RecordCodecTest, DecodeSkipsUnknownFieldsOfEveryWireType) {
  StoredKeyRecord stored = FullStoredRecord();
  google::protobuf::UnknownFieldSet* unknown =
      stored.GetReflection()->MutableUnknownFields(&stored);
  unknown->AddVarint(100, 1ull << 62);
  unknown->AddFixed32(101, 7);
  unknown->AddFixed64(102, 8);
  unknown->AddLengthDelimited(103, "a newer field");
  google::protobuf::UnknownFieldSet* group = unknown->AddGroup(104);
  group->AddVarint(1, 5);
  group->AddGroup(2)->AddLengthDelimited(3, "nested");
  // A known field number with an unexpected wire type is an unknown field too.
  unknown->AddVarint(1, 12345);
  unknown->AddLengthDelimited(5, "not a varint");
  StoredScope* scope = stored.add_scopes();
  scope->set_level(static_cast<int32_t>(core::Level::kAdmin));
  scope->GetReflection()->MutableUnknownFields(scope)->AddFixed64(9, 1);
  const std::string bytes = stored.SerializeAsString();
  ExpectDecodesAsProtobufDoes(bytes);
  absl::StatusOr<core::KeyRecord> decoded = DecodeKeyRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->key_id, "key_0123456789abcdefABCD");
}

TEST_F(RecordCodecTest, DecodeRefusesEveryCutOfARecord) {
  const std::string encoded = FullStoredRecord().SerializeAsString();
  for (size_t size = 0; size < encoded.size(); ++size) {
    StoredKeyRecord parsed;
    const bool protobuf_parses = parsed.ParseFromString(encoded.substr(0, size)) &&
                                 ReferenceRecord(parsed).has_value();
    EXPECT_EQ(DecodeKeyRecord(encoded.substr(0, size)).ok(), protobuf_parses)
        << "cut at " << size << " of " << encoded.size();
  }
}

TEST_F(RecordCodecTest, DecodeRefusesMalformedWireData) {
  const std::string valid = FullStoredRecord().SerializeAsString();
  for (const std::string& bytes : {
           valid + std::string("\x00", 1),               // Field number 0.
           valid + std::string("\x0c", 1),               // An end group without its start.
           valid + std::string("\x0e\x00", 2),           // Wire type 6.
           valid + std::string("\x0b\x08\x01", 3),       // A group that never ends.
           valid + std::string("\x22\x02\x08", 3),       // A scope longer than what is left.
           valid + std::string("\x22\x09\x10\x01", 4),   // The same, its fields complete.
           valid + std::string("\x22\x02\x00\x00", 4),   // A scope holding field number 0.
           valid + std::string("\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11),  // Varint > 10 bytes.
           valid + std::string("\x88\x80\x80\x80\x80\x00\x01", 7),  // A tag of 6 bytes.
           valid + std::string("\x1a\x81\x80\x80\x80\x80\x00x", 8),  // A length of 6 bytes.
       }) {
    EXPECT_THAT(DecodeKeyRecord(bytes), StatusIs(absl::StatusCode::kDataLoss))
        << "bytes of size " << bytes.size();
    StoredKeyRecord parsed;
    EXPECT_FALSE(parsed.ParseFromString(bytes)) << "protobuf agrees, size " << bytes.size();
  }
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
