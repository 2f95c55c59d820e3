// Helpers for storage tests: building and comparing key records.
#ifndef KEYGATE_TESTS_STORAGE_KEY_RECORD_TESTING_H_
#define KEYGATE_TESTS_STORAGE_KEY_RECORD_TESTING_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/core/key_record.h"
#include "server/core/random.h"
#include "server/core/scope.h"
#include "server/core/token.h"
#include "server/core/validation.h"

namespace keygate::storage::testing {

// A fresh active record of `team_id` with a random id and token hash.
inline core::KeyRecord MakeRecord(const std::string& team_id, absl::Time create_time,
                                  const std::string& name = "key") {
  core::KeyRecord record;
  record.key_id = core::GenerateKeyId();
  record.team_id = team_id;
  record.name = name;
  record.scopes = {core::Scope{"flows", core::Level::kWrite}, core::Scope{"", core::Level::kRead}};
  record.environment = core::Environment::kLive;
  record.display_prefix = absl::StrCat("fs_live_", core::SecureRandomBase62(4));
  record.token_hash = core::SecureRandomBytes(32);
  record.create_time = create_time;
  record.created_by = core::kCreatedByBootstrap;
  return record;
}

// Adds a failure for every field in which `actual` differs from `expected`.
inline void ExpectSameRecord(const core::KeyRecord& actual, const core::KeyRecord& expected) {
  EXPECT_EQ(actual.key_id, expected.key_id);
  EXPECT_EQ(actual.team_id, expected.team_id);
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.scopes.size(), expected.scopes.size());
  for (size_t i = 0; i < actual.scopes.size() && i < expected.scopes.size(); ++i) {
    EXPECT_EQ(actual.scopes[i].ToString(), expected.scopes[i].ToString()) << "scope " << i;
  }
  EXPECT_EQ(actual.environment, expected.environment);
  EXPECT_EQ(actual.display_prefix, expected.display_prefix);
  EXPECT_EQ(actual.token_hash, expected.token_hash);
  EXPECT_EQ(actual.create_time, expected.create_time);
  EXPECT_EQ(actual.expire_time, expected.expire_time);
  EXPECT_EQ(actual.revoke_time, expected.revoke_time);
  EXPECT_EQ(actual.revoke_reason, expected.revoke_reason);
  EXPECT_EQ(actual.created_by, expected.created_by);
  EXPECT_EQ(actual.is_operator, expected.is_operator);
  EXPECT_EQ(actual.rotated_from_key_id, expected.rotated_from_key_id);
  EXPECT_EQ(actual.rotated_to_key_id, expected.rotated_to_key_id);
}

}  // namespace keygate::storage::testing

#endif  // KEYGATE_TESTS_STORAGE_KEY_RECORD_TESTING_H_
