#include "storage/record_cache.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace keygate::storage {
namespace {

core::SharedKeyRecord Record(const std::string& hash, const std::string& name) {
  auto record = std::make_shared<core::KeyRecord>();
  record->token_hash = hash;
  record->key_id = "key_" + name;
  record->name = name;
  return record;
}

const std::string kHash(32, 'h');

TEST(RecordCacheTest, FillThenLookup) {
  RecordCache cache(1 << 20);
  EXPECT_EQ(cache.Lookup(kHash), nullptr);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
  const core::SharedKeyRecord found = cache.Lookup(kHash);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name, "a");
  EXPECT_EQ(cache.Lookup(std::string(32, 'x')), nullptr);
}

TEST(RecordCacheTest, InvalidateDropsTheEntry) {
  RecordCache cache(1 << 20);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
  cache.Invalidate(kHash);
  EXPECT_EQ(cache.Lookup(kHash), nullptr);
}

// A record read before a change must not be cached after the change's
// invalidation: the stale fill is dropped.
TEST(RecordCacheTest, FillWithATicketFromBeforeAnInvalidationIsDropped) {
  RecordCache cache(1 << 20);
  const uint64_t stale_ticket = cache.BeginFill(kHash);
  cache.Invalidate(kHash);
  cache.Fill(stale_ticket, Record(kHash, "old"));
  EXPECT_EQ(cache.Lookup(kHash), nullptr);

  cache.Fill(cache.BeginFill(kHash), Record(kHash, "new"));
  ASSERT_NE(cache.Lookup(kHash), nullptr);
  EXPECT_EQ(cache.Lookup(kHash)->name, "new");
}

TEST(RecordCacheTest, ARecordHandedOutOutlivesItsEviction) {
  RecordCache cache(1 << 20);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
  const core::SharedKeyRecord held = cache.Lookup(kHash);
  cache.Invalidate(kHash);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->name, "a");
}

TEST(RecordCacheTest, StaysWithinItsCapacity) {
  constexpr size_t kCapacity = 64 << 10;
  RecordCache cache(kCapacity);
  for (int i = 0; i < 10000; ++i) {
    const std::string hash = absl::StrCat(std::string(24, 'h'), i);
    cache.Fill(cache.BeginFill(hash), Record(hash, absl::StrCat("name-", i)));
  }
  EXPECT_GT(cache.usage_bytes(), 0u);
  EXPECT_LE(cache.usage_bytes(), kCapacity);
  // The most recent entry is still there; the first was evicted.
  EXPECT_NE(cache.Lookup(absl::StrCat(std::string(24, 'h'), 9999)), nullptr);
  EXPECT_EQ(cache.Lookup(absl::StrCat(std::string(24, 'h'), 0)), nullptr);
}

TEST(RecordCacheTest, ZeroCapacityCachesNothing) {
  RecordCache cache(0);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
  EXPECT_EQ(cache.Lookup(kHash), nullptr);
  cache.Invalidate(kHash);
  EXPECT_EQ(cache.usage_bytes(), 0u);
}

}  // namespace
}  // namespace keygate::storage
