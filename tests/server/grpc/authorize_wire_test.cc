// The hand-written AuthorizeResponse encoding must parse to exactly what the
// generated message code builds from the same key (ToProto).
#include "server/grpc/authorize_wire.h"

#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "keygate/v1/authorizer.pb.h"
#include "server/grpc/proto_convert.h"

namespace keygate::grpc_api {
namespace {

using google::protobuf::util::MessageDifferencer;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000) + absl::Nanoseconds(123);

core::KeyRecord FullKey() {
  core::KeyRecord key;
  key.key_id = "key_0123456789abcdefghij";
  key.team_id = "acme";
  key.name = std::string(300, 'n');  // A length that needs a two-byte varint.
  key.scopes = {core::Scope{"", core::Level::kAdmin}, core::Scope{"flows", core::Level::kWrite},
                core::Scope{"runs", core::Level::kRead}};
  key.environment = core::Environment::kTest;
  key.display_prefix = "fs_test_AbCd";
  key.token_hash = std::string(32, 'h');
  key.create_time = kNow - absl::Hours(24 * 100) + absl::Nanoseconds(999'999'999);
  key.expire_time = kNow + absl::Hours(1);
  key.revoke_time = kNow - absl::Seconds(1);
  key.revoke_reason = "leaked in a CI log";
  key.created_by = "key_zyxwvutsrqponmlkjihg";
  key.is_operator = true;
  key.rotated_from_key_id = "key_aaaaaaaaaaaaaaaaaaaa";
  key.rotated_to_key_id = "key_bbbbbbbbbbbbbbbbbbbb";
  key.last_used_time = kNow - absl::Minutes(3);
  return key;
}

std::vector<core::KeyRecord> Keys() {
  std::vector<core::KeyRecord> keys;
  keys.push_back(FullKey());
  core::KeyRecord minimal;  // Defaults: empty strings, epoch, no scopes.
  keys.push_back(minimal);
  core::KeyRecord active = FullKey();
  active.revoke_time = absl::InfiniteFuture();
  active.expire_time = absl::InfiniteFuture();
  active.last_used_time = absl::InfinitePast();
  active.is_operator = false;
  active.revoke_reason.clear();
  active.environment = core::Environment::kLive;
  keys.push_back(active);
  core::KeyRecord expired = active;
  expired.expire_time = kNow - absl::Nanoseconds(1);
  keys.push_back(expired);
  core::KeyRecord ancient = active;  // Before 1970: negative seconds.
  ancient.create_time = absl::FromUnixSeconds(-62135596800) + absl::Nanoseconds(5);
  keys.push_back(ancient);
  return keys;
}

TEST(AuthorizeWireTest, KeyParsesToWhatToProtoBuilds) {
  for (const core::KeyRecord& key : Keys()) {
    for (bool rotation_due : {false, true}) {
      keygate::v1::Key want;
      ToProto(key, kNow, rotation_due, &want);
      std::string bytes;
      AppendKeyWire(key, kNow, rotation_due, &bytes);
      keygate::v1::Key got;
      ASSERT_TRUE(got.ParseFromString(bytes));
      EXPECT_TRUE(MessageDifferencer::Equals(got, want)) << "got:\n"
                                                         << got.DebugString() << "want:\n"
                                                         << want.DebugString();
      // The same bytes as the generated serializer (canonical field order).
      EXPECT_EQ(bytes, want.SerializeAsString());
    }
  }
}

TEST(AuthorizeWireTest, ResponseParsesToWhatTheMessageCodeBuilds) {
  const core::KeyRecord key = FullKey();
  for (core::Reason reason :
       {core::Reason::kNone, core::Reason::kMalformedToken, core::Reason::kUnknownKey,
        core::Reason::kRevoked, core::Reason::kExpired, core::Reason::kInsufficientScope,
        core::Reason::kWrongEnvironment}) {
    for (const core::KeyRecord* matched : {&key, static_cast<const core::KeyRecord*>(nullptr)}) {
      const core::Decision decision{reason};
      keygate::v1::AuthorizeResponse want;
      want.set_allowed(decision.allowed());
      want.set_reason(ToProto(reason));
      want.set_http_status(decision.http_status());
      if (matched != nullptr) ToProto(*matched, kNow, true, want.mutable_key());
      std::string bytes = "prefix";  // Appends, keeping what is there.
      AppendAuthorizeResponseWire(decision, matched, kNow, true, &bytes);
      ASSERT_EQ(bytes.substr(0, 6), "prefix");
      keygate::v1::AuthorizeResponse got;
      ASSERT_TRUE(got.ParseFromString(bytes.substr(6)));
      EXPECT_TRUE(MessageDifferencer::Equals(got, want)) << got.DebugString();
      EXPECT_EQ(bytes.substr(6), want.SerializeAsString());
    }
  }
}

}  // namespace
}  // namespace keygate::grpc_api
