#include "storage/record_cache.h"

#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace keygate::storage {
namespace {

core::KeyRecord Record(const std::string& hash, const std::string& name) {
  core::KeyRecord record;
  record.token_hash = hash;
  record.key_id = "key_" + name;
  record.name = name;
  return record;
}

core::SharedKeyRecord Shared(const std::string& hash, const std::string& name) {
  return std::make_shared<const core::KeyRecord>(Record(hash, name));
}

const std::string kHash(32, 'h');

// A change with nothing written: drops `hash` and refuses older tickets.
void Invalidate(RecordCache& cache, const std::string& hash) {
  RecordCache::Change change(&cache, hash);
}

// A distinct 32-byte hash per number.
std::string HashOf(int i) { return absl::StrFormat("%032d", i); }

// A distinct 32-byte hash per number whose bytes look random, as a token
// hash's do (the doorkeeper picks its bits from them).
std::string UniformHashOf(int i) {
  std::mt19937_64 bits(static_cast<uint64_t>(i) + 1);
  std::string hash(32, '\0');
  for (size_t at = 0; at < hash.size(); at += 8) {
    const uint64_t word = bits();
    std::memcpy(&hash[at], &word, sizeof(word));
  }
  return hash;
}

TEST(RecordCacheTest, FillThenLookup) {
  RecordCache cache(1 << 20);
  EXPECT_EQ(cache.Lookup(kHash), nullptr);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
  const core::SharedKeyRecord found = cache.Lookup(kHash);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name, "a");
  EXPECT_EQ(cache.Lookup(std::string(32, 'x')), nullptr);
}

TEST(RecordCacheTest, CountsHitsAndMisses) {
  RecordCache cache(1 << 20);
  EXPECT_EQ(cache.Lookup(kHash), nullptr);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
  EXPECT_NE(cache.Lookup(kHash), nullptr);
  EXPECT_NE(cache.Lookup(kHash), nullptr);
  EXPECT_EQ(cache.Lookup(HashOf(7)), nullptr);
  EXPECT_EQ(cache.Lookup("too short to be cached"), nullptr);  // Not counted.
  const RecordCache::LookupCounts counts = cache.lookups();
  EXPECT_EQ(counts.hits, 2u);
  EXPECT_EQ(counts.misses, 2u);
}

TEST(RecordCacheTest, AKeyHitOftenOutlastsKeysUsedOnce) {
  constexpr size_t kCapacity = 64 << 10;  // One shard.
  RecordCache cache(kCapacity);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "hot"));
  const size_t entry_bytes = cache.usage_bytes();
  ASSERT_GT(entry_bytes, 0u);
  for (int i = 0; i < 3; ++i) ASSERT_NE(cache.Lookup(kHash), nullptr);
  // Keys used once, two and a half times as many as the cache holds: plain
  // CLOCK (one mark per entry) would have evicted the hot key on the hand's
  // second pass.
  const int fills = static_cast<int>(5 * kCapacity / entry_bytes / 2);
  for (int i = 0; i < fills; ++i) cache.Fill(cache.BeginFill(HashOf(i)), Record(HashOf(i), "cold"));
  EXPECT_EQ(cache.Lookup(HashOf(0)), nullptr);
  EXPECT_NE(cache.Lookup(kHash), nullptr);
}

TEST(RecordCacheTest, RecordsUpToALimitAreTheMostHitOnes) {
  RecordCache cache(1 << 20);
  for (int i = 0; i < 10; ++i) cache.Fill(cache.BeginFill(HashOf(i)), Record(HashOf(i), "k"));
  for (int hot : {3, 7}) {
    for (int hit = 0; hit < 3; ++hit) ASSERT_NE(cache.Lookup(HashOf(hot)), nullptr);
  }
  EXPECT_EQ(cache.Records(100).size(), 10u);
  const std::vector<core::SharedKeyRecord> two = cache.Records(2);
  ASSERT_EQ(two.size(), 2u);
  std::set<std::string> hashes = {two[0]->token_hash, two[1]->token_hash};
  EXPECT_EQ(hashes, (std::set<std::string>{HashOf(3), HashOf(7)}));
}

TEST(RecordCacheTest, InvalidateDropsTheEntry) {
  RecordCache cache(1 << 20);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
  Invalidate(cache, kHash);
  EXPECT_EQ(cache.Lookup(kHash), nullptr);
}

// A record read before a change must not be cached after the change's
// invalidation: the stale fill is dropped.
TEST(RecordCacheTest, FillWithATicketFromBeforeAnInvalidationIsDropped) {
  RecordCache cache(1 << 20);
  const uint64_t stale_ticket = cache.BeginFill(kHash);
  Invalidate(cache, kHash);
  cache.Fill(stale_ticket, Record(kHash, "old"));
  EXPECT_EQ(cache.Lookup(kHash), nullptr);

  cache.Fill(cache.BeginFill(kHash), Record(kHash, "new"));
  ASSERT_NE(cache.Lookup(kHash), nullptr);
  EXPECT_EQ(cache.Lookup(kHash)->name, "new");
}

// While a change is open the store may answer with the old or the new
// record, so nothing read then is cached, even with a ticket from then.
TEST(RecordCacheTest, FillsDuringAnOpenChangeAreDropped) {
  RecordCache cache(1 << 20);
  {
    RecordCache::Change change(&cache, kHash);
    cache.Fill(cache.BeginFill(kHash), Record(kHash, "either"));
    EXPECT_EQ(cache.Lookup(kHash), nullptr);
  }
  EXPECT_EQ(cache.Lookup(kHash), nullptr);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "after"));
  ASSERT_NE(cache.Lookup(kHash), nullptr);
  EXPECT_EQ(cache.Lookup(kHash)->name, "after");
}

TEST(RecordCacheTest, ARecordHandedOutOutlivesItsEviction) {
  RecordCache cache(1 << 20);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
  const core::SharedKeyRecord held = cache.Lookup(kHash);
  Invalidate(cache, kHash);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->name, "a");
}

TEST(RecordCacheTest, ARecordHandedOutOutlivesTheCache) {
  core::SharedKeyRecord held;
  {
    RecordCache cache(1 << 20);
    cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
    held = cache.Lookup(kHash);
  }
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->name, "a");
}

TEST(RecordCacheTest, FillReturnsTheRecordEvenWhenItIsNotCached) {
  RecordCache cache(1 << 20);
  const uint64_t stale_ticket = cache.BeginFill(kHash);
  Invalidate(cache, kHash);
  const core::SharedKeyRecord returned = cache.Fill(stale_ticket, Record(kHash, "old"));
  ASSERT_NE(returned, nullptr);
  EXPECT_EQ(returned->name, "old");

  RecordCache disabled(0);
  EXPECT_EQ(disabled.Fill(0, Record(kHash, "a"))->name, "a");
}

TEST(RecordCacheTest, StaysWithinItsCapacity) {
  constexpr size_t kCapacity = 64 << 10;
  RecordCache cache(kCapacity);
  for (int i = 0; i < 10000; ++i) {
    cache.Fill(cache.BeginFill(HashOf(i)), Record(HashOf(i), absl::StrFormat("name-%d", i)));
  }
  EXPECT_GT(cache.usage_bytes(), 0u);
  EXPECT_LE(cache.usage_bytes(), kCapacity);
  // The most recent entry is still there; the first was evicted.
  EXPECT_NE(cache.Lookup(HashOf(9999)), nullptr);
  EXPECT_EQ(cache.Lookup(HashOf(0)), nullptr);
}

// A fill that evicts a record leaves its destruction (cold memory, cache
// misses) to the cache's release thread.
TEST(RecordCacheTest, EvictedRecordsAreDestroyedOffTheFillingThread) {
  std::thread::id destroyed_on;
  absl::Notification destroyed;  // Outlives the cache, whose records notify it.
  RecordCache cache(64 << 10);
  core::KeyRecord first = Record(HashOf(0), "first");
  cache.Fill(cache.BeginFill(HashOf(0)),
             core::SharedKeyRecord(new core::KeyRecord(first), [&](const core::KeyRecord* record) {
               destroyed_on = std::this_thread::get_id();
               delete record;
               destroyed.Notify();
             }));
  for (int i = 1; i < 2000; ++i) {
    cache.Fill(cache.BeginFill(HashOf(i)), Record(HashOf(i), "later"));
  }
  ASSERT_EQ(cache.Lookup(HashOf(0)), nullptr) << "never evicted";
  ASSERT_TRUE(destroyed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_NE(destroyed_on, std::this_thread::get_id());
}

// CLOCK: an entry that is hit between passes of the hand is never evicted,
// while entries filled after it and never hit are.
TEST(RecordCacheTest, AnEntryInUseSurvivesEviction) {
  RecordCache cache(64 << 10);
  cache.Fill(cache.BeginFill(HashOf(0)), Record(HashOf(0), "hot"));
  for (int i = 1; i < 2000; ++i) {
    ASSERT_NE(cache.Lookup(HashOf(0)), nullptr) << "evicted before fill " << i;
    cache.Fill(cache.BeginFill(HashOf(i)), Record(HashOf(i), "cold"));
  }
  EXPECT_EQ(cache.Lookup(HashOf(1)), nullptr);
}

TEST(RecordCacheTest, OnlyTokenHashSizedKeysAreCached) {
  RecordCache cache(1 << 20);
  const std::string short_hash(16, 's');
  EXPECT_EQ(cache.Fill(cache.BeginFill(short_hash), Record(short_hash, "a"))->name, "a");
  EXPECT_EQ(cache.Lookup(short_hash), nullptr);
  EXPECT_EQ(cache.usage_bytes(), 0u);
}

// Each invalidation leaves its key in the CLOCK ring; the ring is rebuilt
// before the leftovers pile up, and the cache keeps working.
TEST(RecordCacheTest, ManyInvalidationsLeaveNothingBehind) {
  RecordCache cache(1 << 20);
  for (int round = 0; round < 10000; ++round) {
    cache.Fill(cache.BeginFill(kHash), Record(kHash, absl::StrFormat("%d", round)));
    ASSERT_EQ(cache.Lookup(kHash)->name, absl::StrFormat("%d", round));
    Invalidate(cache, kHash);
  }
  EXPECT_EQ(cache.Lookup(kHash), nullptr);
  EXPECT_EQ(cache.usage_bytes(), 0u);
}

// Fills `cache` to its capacity with uniform hashes from `first` on, and
// returns the first number not used.
int FillUp(RecordCache& cache, int first) {
  int i = first;
  for (; i < first + 100000; ++i) {
    const size_t before = cache.usage_bytes();
    cache.Fill(cache.BeginFill(UniformHashOf(i)), Record(UniformHashOf(i), "filler"));
    if (cache.usage_bytes() <= before) return i + 1;  // Evicted: full.
  }
  return i;
}

// How many of the uniform hashes numbered [first, end) are cached.
int CountCached(const RecordCache& cache, int first, int end) {
  int cached = 0;
  for (int i = first; i < end; ++i) cached += cache.Lookup(UniformHashOf(i)) != nullptr;
  return cached;
}

TEST(RecordCacheTest, WhileThereIsRoomAnOfferCachesAtOnce) {
  RecordCache cache(1 << 20);
  const std::string hash = UniformHashOf(1);
  EXPECT_EQ(cache.Offer(cache.BeginFill(hash), Shared(hash, "first"))->name, "first");
  ASSERT_NE(cache.Lookup(hash), nullptr);
  EXPECT_EQ(cache.Lookup(hash)->name, "first");
}

TEST(RecordCacheTest, OnceFullAnOfferedRecordIsCachedOnItsSecondOffer) {
  RecordCache cache(64 << 10);
  const int next = FillUp(cache, 1000);
  const std::string hash = UniformHashOf(next);
  EXPECT_EQ(cache.Offer(cache.BeginFill(hash), Shared(hash, "first"))->name, "first");
  EXPECT_EQ(cache.Lookup(hash), nullptr);

  cache.Offer(cache.BeginFill(hash), Shared(hash, "second"));
  ASSERT_NE(cache.Lookup(hash), nullptr);
  EXPECT_EQ(cache.Lookup(hash)->name, "second");
}

// Keys read once are only marked: in a full cache they evict nothing.
TEST(RecordCacheTest, KeysOfferedOnceDoNotDisplaceCachedOnes) {
  RecordCache cache(64 << 10);
  const int next = FillUp(cache, 0);
  const int cached = CountCached(cache, 0, next);
  for (int i = next; i < next + 5000; ++i) {
    cache.Offer(cache.BeginFill(UniformHashOf(i)), Shared(UniformHashOf(i), "once"));
  }
  // Bloom-filter false positives may admit a few of them, not many.
  EXPECT_GE(CountCached(cache, 0, next), cached - 10);
}

// The doorkeeper forgets its marks after a window of other offers, so a key
// read again only much later is not cached on that read.
TEST(RecordCacheTest, TheDoorkeeperForgetsOldMarks) {
  RecordCache cache(64 << 10);
  const int next = FillUp(cache, 1000);
  const std::string hash = UniformHashOf(0);
  cache.Offer(cache.BeginFill(hash), Shared(hash, "a"));
  for (int i = next; i < next + 5000; ++i) {
    cache.Offer(cache.BeginFill(UniformHashOf(i)), Shared(UniformHashOf(i), "other"));
  }
  cache.Offer(cache.BeginFill(hash), Shared(hash, "a"));
  EXPECT_EQ(cache.Lookup(hash), nullptr);
  cache.Offer(cache.BeginFill(hash), Shared(hash, "a"));
  EXPECT_NE(cache.Lookup(hash), nullptr);
}

TEST(RecordCacheTest, ZeroCapacityCachesNothing) {
  RecordCache cache(0);
  cache.Fill(cache.BeginFill(kHash), Record(kHash, "a"));
  EXPECT_EQ(cache.Lookup(kHash), nullptr);
  Invalidate(cache, kHash);
  EXPECT_EQ(cache.usage_bytes(), 0u);
}

}  // namespace
}  // namespace keygate::storage
