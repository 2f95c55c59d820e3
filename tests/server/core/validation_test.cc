#include "server/core/validation.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace keygate::core {
namespace {

using ::keygate::testing::StatusIs;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

TEST(ValidateTeamIdTest, AcceptsValid) {
  for (const std::string& id :
       {std::string("team-a"), std::string("a"), std::string("0"), std::string("acme_corp-2"),
        std::string(kMaxTeamIdChars, 't')}) {
    KEYGATE_EXPECT_OK(ValidateTeamId(id)) << id;
  }
}

TEST(ValidateTeamIdTest, RejectsInvalid) {
  for (const std::string& id :
       {std::string(""), std::string("-team"), std::string("_team"), std::string("Team"),
        std::string("team a"), std::string("team.a"), std::string("team/a"),
        std::string("t\xc3\xa9"), std::string(kMaxTeamIdChars + 1, 't'),
        std::string("team\0a", 6)}) {
    EXPECT_THAT(ValidateTeamId(id), StatusIs(kInvalid)) << "'" << id << "'";
  }
}

TEST(ValidateKeyNameTest, AcceptsValid) {
  for (const std::string& name :
       {std::string("Production Backend"), std::string("CI/CD Pipeline"), std::string("x"),
        std::string("Ünïcödé ✓"), std::string(kMaxNameBytes, 'n')}) {
    KEYGATE_EXPECT_OK(ValidateKeyName(name)) << name;
  }
}

TEST(ValidateKeyNameTest, RejectsInvalid) {
  for (const std::string& name :
       {std::string(""), std::string(kMaxNameBytes + 1, 'n'), std::string("line\nbreak"),
        std::string("tab\there"), std::string("bell\a"), std::string("del\x7f"),
        std::string("nul\0x", 5), std::string("\r")}) {
    EXPECT_THAT(ValidateKeyName(name), StatusIs(kInvalid)) << "'" << name << "'";
  }
}

TEST(ValidateKeyIdTest, AcceptsValid) {
  KEYGATE_EXPECT_OK(ValidateKeyId("key_AAAAAAAAAAAAAAAAAAAA"));
  KEYGATE_EXPECT_OK(ValidateKeyId("key_0123456789abcdefXYZW"));
}

TEST(ValidateKeyIdTest, RejectsInvalid) {
  for (const std::string& id :
       {std::string(""), std::string("key_"), std::string("key_AAAAAAAAAAAAAAAAAAA"),
        std::string("key_AAAAAAAAAAAAAAAAAAAAA"), std::string("Key_AAAAAAAAAAAAAAAAAAAA"),
        std::string("kex_AAAAAAAAAAAAAAAAAAAA"), std::string("keyAAAAAAAAAAAAAAAAAAAAA"),
        std::string("key_AAAAAAAAAA-AAAAAAAAA"), std::string("key_AAAAAAAAAA_AAAAAAAAA"),
        std::string("key_AAAAAAAAAA AAAAAAAAA"), std::string(" key_AAAAAAAAAAAAAAAAAAAA"),
        std::string("AAAAAAAAAAAAAAAAAAAAAAAA")}) {
    EXPECT_THAT(ValidateKeyId(id), StatusIs(kInvalid)) << "'" << id << "'";
  }
}

TEST(ValidateRevokeReasonTest, AcceptsValid) {
  for (const std::string& reason :
       {std::string(""), std::string("leaked in a CI log"), std::string("rotated ✓"),
        std::string(kMaxRevokeReasonBytes, 'r')}) {
    KEYGATE_EXPECT_OK(ValidateRevokeReason(reason)) << reason;
  }
}

TEST(ValidateRevokeReasonTest, RejectsInvalid) {
  for (const std::string& reason :
       {std::string(kMaxRevokeReasonBytes + 1, 'r'), std::string("two\nlines"),
        std::string("esc\x1b[31m"), std::string("nul\0", 4)}) {
    EXPECT_THAT(ValidateRevokeReason(reason), StatusIs(kInvalid)) << "'" << reason << "'";
  }
}

TEST(GenerateKeyIdTest, IsValidAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = GenerateKeyId();
    KEYGATE_EXPECT_OK(ValidateKeyId(id)) << id;
    EXPECT_EQ(id.size(), 4 + kKeyIdRandomChars);
    EXPECT_EQ(id.rfind(kKeyIdPrefix, 0), 0u) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace keygate::core
