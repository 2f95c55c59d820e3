// RocksDbKeyStore's usage: per-day counters that carry the day's last use,
// added up by the merge operator across writes.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "storage/record_codec.h"
#include "storage/rocksdb_key_store.h"
#include "storage/usage_journal.h"
#include "tests/support/test_support.h"

namespace keygate::storage {
namespace {

using ::keygate::testing::TempDir;

absl::Time At(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), absl::UTCTimeZone());
}

core::KeyUsage Delta(absl::CivilDay day, uint64_t allowed, uint64_t denied, absl::Time last) {
  core::KeyUsage usage;
  usage.key_id = "key_a";
  usage.days.push_back(core::DailyUsage{day, allowed, denied});
  usage.last_used = last;
  return usage;
}

class UsageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RocksDbOptions options;
    options.path = dir_.path() + "/db";
    options.block_cache_bytes = size_t{8} << 20;
    absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  TempDir dir_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(UsageStoreTest, CountsAddUpAndTheLatestUseWins) {
  const absl::CivilDay day(2027, 3, 1);
  KEYGATE_ASSERT_OK(store_->RecordUsage({Delta(day, 5, 1, At(2027, 3, 1, 10, 0))}));
  // A flush of older uses (e.g. from a slower thread) never moves it back.
  KEYGATE_ASSERT_OK(store_->RecordUsage({Delta(day, 2, 0, At(2027, 3, 1, 9, 0))}));
  KEYGATE_ASSERT_OK(store_->RecordUsage({Delta(day, 1, 3, At(2027, 3, 1, 11, 0))}));
  absl::StatusOr<core::KeyUsage> usage = store_->GetUsage("key_a", absl::CivilDay(2027, 1, 1), 10);
  ASSERT_TRUE(usage.ok()) << usage.status();
  ASSERT_EQ(usage->days.size(), 1u);
  EXPECT_EQ(usage->days[0].allowed, 8u);
  EXPECT_EQ(usage->days[0].denied, 4u);
  EXPECT_EQ(usage->last_used, At(2027, 3, 1, 11, 0));
  absl::StatusOr<absl::Time> last = store_->GetLastUsed("key_a");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, At(2027, 3, 1, 11, 0));
  EXPECT_EQ(*store_->GetLastUsed("key_b"), absl::InfinitePast());
}

TEST_F(UsageStoreTest, LastUseComesFromTheNewestDayAndSurvivesReopen) {
  core::KeyUsage across = Delta(absl::CivilDay(2027, 3, 1), 4, 0, At(2027, 3, 2, 0, 1));
  across.days.push_back(core::DailyUsage{absl::CivilDay(2027, 3, 2), 1, 0});
  KEYGATE_ASSERT_OK(store_->RecordUsage({across}));
  // An older day written later does not change the last use.
  KEYGATE_ASSERT_OK(
      store_->RecordUsage({Delta(absl::CivilDay(2027, 2, 27), 1, 0, At(2027, 2, 27, 23, 0))}));
  store_.reset();
  SetUp();
  absl::StatusOr<absl::Time> last = store_->GetLastUsed("key_a");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, At(2027, 3, 2, 0, 1));
  absl::StatusOr<core::KeyUsage> usage = store_->GetUsage("key_a", absl::CivilDay(2027, 1, 1), 10);
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->days.size(), 3u);
  EXPECT_EQ(usage->last_used, At(2027, 3, 2, 0, 1));
}

TEST_F(UsageStoreTest, ALastUseWithoutCountsIsKept) {
  core::KeyUsage only_time;
  only_time.key_id = "key_a";
  only_time.last_used = At(2027, 3, 5, 8, 30);
  KEYGATE_ASSERT_OK(store_->RecordUsage({only_time}));
  EXPECT_EQ(*store_->GetLastUsed("key_a"), At(2027, 3, 5, 8, 30));
}

// Usage is read by key-id prefix: keys whose ids share characters never see
// each other's rows, whether the rows are in memory, on disk, or both.
TEST_F(UsageStoreTest, EachKeyReadsOnlyItsOwnRowsInMemoryAndOnDisk) {
  const absl::CivilDay day(2027, 3, 1);
  auto usage_of = [&](const std::string& key_id, uint64_t allowed, int minute) {
    core::KeyUsage usage = Delta(day, allowed, 0, At(2027, 3, 1, 10, minute));
    usage.key_id = key_id;
    usage.clients.push_back(core::ClientSeen{"10.0.0." + std::to_string(allowed), usage.last_used});
    return usage;
  };
  auto expect = [&](const std::string& key_id, uint64_t allowed, int minute, size_t clients) {
    SCOPED_TRACE(key_id);
    absl::StatusOr<core::KeyUsage> usage = store_->GetUsage(key_id, absl::CivilDay(2027, 1, 1), 10);
    ASSERT_TRUE(usage.ok()) << usage.status();
    ASSERT_EQ(usage->days.size(), 1u);
    EXPECT_EQ(usage->days[0].allowed, allowed);
    EXPECT_EQ(usage->clients.size(), clients);
    EXPECT_EQ(*store_->GetLastUsed(key_id), At(2027, 3, 1, 10, minute));
  };
  KEYGATE_ASSERT_OK(store_->RecordUsage(
      {usage_of("key_a", 1, 1), usage_of("key_ab", 2, 2), usage_of("key_b", 3, 3)}));
  expect("key_a", 1, 1, 1);
  expect("key_ab", 2, 2, 1);
  store_.reset();  // Flushes the memtables: the rows are now on disk.
  SetUp();
  KEYGATE_ASSERT_OK(store_->RecordUsage({usage_of("key_ab", 20, 20), usage_of("key_b", 30, 30)}));
  expect("key_a", 1, 1, 1);
  expect("key_ab", 22, 20, 2);
  expect("key_b", 33, 30, 2);
}

// Flushes of several keys, many more than the journal's buckets: the counts
// read back are exact after every flush, whether a key's counts are still
// in memory, folded into its rows, or both; and the journal keeps only the
// entries of about the last kBuckets flushes.
TEST_F(UsageStoreTest, CountsStayExactWhileFlushesAreFoldedIntoRows) {
  const absl::CivilDay day(2027, 3, 1);
  constexpr int kFlushes = 3 * UnfoldedUsage::kBuckets + 7;
  const std::vector<std::string> keys = {"key_a", "key_b", "key_c", "key_d", "key_e"};
  for (int flush = 1; flush <= kFlushes; ++flush) {
    std::vector<core::KeyUsage> deltas;
    for (size_t k = 0; k < keys.size(); ++k) {
      if (flush % (k + 1) != 0) continue;  // key_a every flush, key_e every fifth.
      core::KeyUsage usage = Delta(day, k + 1, 1, At(2027, 3, 1, 10, flush % 60));
      usage.key_id = keys[k];
      deltas.push_back(usage);
    }
    KEYGATE_ASSERT_OK(store_->RecordUsage(deltas));
    for (size_t k = 0; k < keys.size(); ++k) {
      SCOPED_TRACE(keys[k] + " after flush " + std::to_string(flush));
      const uint64_t flushes_with_key = flush / (k + 1);
      absl::StatusOr<core::KeyUsage> usage = store_->GetUsage(keys[k], day, 10);
      ASSERT_TRUE(usage.ok()) << usage.status();
      if (flushes_with_key == 0) {
        EXPECT_TRUE(usage->days.empty());
        continue;
      }
      ASSERT_EQ(usage->days.size(), 1u);
      ASSERT_EQ(usage->days[0].allowed, flushes_with_key * (k + 1));
      ASSERT_EQ(usage->days[0].denied, flushes_with_key);
    }
  }
  const StoreStats stats = store_->Stats();
  EXPECT_LE(stats.usage_journal_entries, uint64_t{UnfoldedUsage::kBuckets});
  EXPECT_GT(stats.usage_journal_entries, 0u);
  EXPECT_LE(stats.unfolded_usage_keys, keys.size());

  // A clean close folds everything: the journal is empty after it.
  store_.reset();
  SetUp();
  EXPECT_EQ(store_->Stats().usage_journal_entries, 0u);
  EXPECT_EQ(store_->Stats().unfolded_usage_keys, 0u);
  absl::StatusOr<core::KeyUsage> usage = store_->GetUsage("key_a", day, 10);
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->days[0].allowed, uint64_t{kFlushes});
}

// Opens the store at `path`, records `flushes` flushes (key_a once in each,
// and a key of its own), then ends the process without closing the store:
// what a crash leaves behind (the writes are in the WAL, not folded).
void RecordThenCrash(const std::string& path, int flushes) {
  RocksDbOptions options;
  options.path = path;
  options.block_cache_bytes = size_t{8} << 20;
  absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(options);
  if (!store.ok()) std::_Exit(2);
  for (int flush = 1; flush <= flushes; ++flush) {
    core::KeyUsage own = Delta(absl::CivilDay(2027, 3, 1), 1, 0, At(2027, 3, 1, 10, 0));
    own.key_id = "key_own" + std::to_string(flush);
    if (!(*store)->RecordUsage({Delta(absl::CivilDay(2027, 3, 1), 1, 0, At(2027, 3, 1, 10, 0)), own})
             .ok()) {
      std::_Exit(3);
    }
  }
  std::_Exit(0);
}

// A crash loses no flushed count, and counts nothing twice, at any point of
// the journal's cycle: before the first fold, around a full cycle, after
// several; also when the store crashes again after reading the journal back.
TEST(UsageJournalCrashTest, ACrashLosesNoFlushedCountAndCountsNothingTwice) {
  // Children are forked ("fast" death tests) before this process opens any
  // store, so that no RocksDB thread exists when they fork.
  GTEST_FLAG_SET(death_test_style, "fast");
  const std::vector<int> cases = {1, UnfoldedUsage::kBuckets - 1, UnfoldedUsage::kBuckets + 1, 150};
  std::vector<std::unique_ptr<TempDir>> dirs;
  for (int flushes : cases) {
    dirs.push_back(std::make_unique<TempDir>());
    const std::string path = dirs.back()->path() + "/db";
    EXPECT_EXIT(RecordThenCrash(path, flushes), ::testing::ExitedWithCode(0), "");
    EXPECT_EXIT(RecordThenCrash(path, flushes), ::testing::ExitedWithCode(0), "");
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    const int flushes = cases[i];
    SCOPED_TRACE(std::to_string(flushes) + " flushes before each crash");
    RocksDbOptions options;
    options.path = dirs[i]->path() + "/db";
    options.block_cache_bytes = size_t{8} << 20;
    absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(options);
    ASSERT_TRUE(store.ok()) << store.status();
    const absl::CivilDay day(2027, 3, 1);
    absl::StatusOr<core::KeyUsage> usage = (*store)->GetUsage("key_a", day, 10);
    ASSERT_TRUE(usage.ok()) << usage.status();
    ASSERT_EQ(usage->days.size(), 1u);
    EXPECT_EQ(usage->days[0].allowed, 2u * flushes);
    for (int flush = 1; flush <= flushes; ++flush) {
      absl::StatusOr<core::KeyUsage> own =
          (*store)->GetUsage("key_own" + std::to_string(flush), day, 10);
      ASSERT_TRUE(own.ok()) << own.status();
      ASSERT_EQ(own->days.size(), 1u) << flush;
      EXPECT_EQ(own->days[0].allowed, 2u) << flush;
    }
  }
}

// A store on a fake clock that keeps usage rows for a given retention.
class UsageRetentionTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyStore> Open(absl::Duration usage_retention) {
    RocksDbOptions options;
    options.path = dir_.path() + "/db";
    options.block_cache_bytes = size_t{8} << 20;
    options.clock = &clock_;
    options.usage_retention = usage_retention;
    absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TempDir dir_;
  keygate::testing::FakeClock clock_{At(2027, 3, 1, 12, 0)};
};

TEST_F(UsageRetentionTest, ADayIsKeptUntilRetentionAfterItsEnd) {
  const std::unique_ptr<KeyStore> store = Open(absl::Hours(48));
  ASSERT_NE(store, nullptr);
  // 2027-03-01 ends at 03-02 00:00, so its rows go at 03-04 00:00.
  KEYGATE_ASSERT_OK(store->RecordUsage({Delta(absl::CivilDay(2027, 3, 1), 3, 1, clock_.Now())}));
  KEYGATE_ASSERT_OK(store->RecordUsage({Delta(absl::CivilDay(2027, 3, 2), 5, 0, clock_.Now())}));
  const auto days = [&] {
    absl::StatusOr<core::KeyUsage> usage =
        store->GetUsage("key_a", absl::CivilDay(2027, 1, 1), 10);
    EXPECT_TRUE(usage.ok()) << usage.status();
    std::vector<absl::CivilDay> out;
    if (usage.ok()) {
      for (const core::DailyUsage& day : usage->days) out.push_back(day.day);
    }
    return out;
  };
  clock_.Advance(At(2027, 3, 4, 0, 0) - absl::Microseconds(1) - clock_.Now());
  KEYGATE_ASSERT_OK(store->CompactAll());
  EXPECT_EQ(days(),
            (std::vector<absl::CivilDay>{absl::CivilDay(2027, 3, 1), absl::CivilDay(2027, 3, 2)}));
  clock_.Advance(absl::Microseconds(1));
  KEYGATE_ASSERT_OK(store->CompactAll());
  EXPECT_EQ(days(), (std::vector<absl::CivilDay>{absl::CivilDay(2027, 3, 2)}));
  clock_.Advance(absl::Hours(24));
  KEYGATE_ASSERT_OK(store->CompactAll());
  EXPECT_TRUE(days().empty());
}

TEST_F(UsageRetentionTest, AnInfiniteRetentionKeepsEveryDay) {
  const std::unique_ptr<KeyStore> store = Open(absl::InfiniteDuration());
  ASSERT_NE(store, nullptr);
  KEYGATE_ASSERT_OK(store->RecordUsage({Delta(absl::CivilDay(1960, 1, 1), 1, 0, clock_.Now())}));
  KEYGATE_ASSERT_OK(store->RecordUsage({Delta(absl::CivilDay(2027, 3, 1), 2, 0, clock_.Now())}));
  clock_.Advance(absl::Hours(24 * 365 * 100));
  KEYGATE_ASSERT_OK(store->CompactAll());
  absl::StatusOr<core::KeyUsage> usage = store->GetUsage("key_a", absl::CivilDay(1950, 1, 1), 10);
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->days.size(), 2u);
}

TEST(UsageCodecTest, CountersWithAndWithoutTheLastUse) {
  uint64_t allowed = 0, denied = 0;
  absl::Time last;
  ASSERT_TRUE(DecodeCounters(EncodeCounters(7, 9), &allowed, &denied, &last));
  EXPECT_EQ(allowed, 7u);
  EXPECT_EQ(denied, 9u);
  EXPECT_EQ(last, absl::InfinitePast());
  const absl::Time t = absl::FromUnixMicros(1'800'000'000'123'456);
  ASSERT_TRUE(DecodeCounters(EncodeCounters(1, 2, t), &allowed, &denied, &last));
  EXPECT_EQ(last, t);
  EXPECT_FALSE(DecodeCounters(std::string(20, 'x'), &allowed, &denied, &last));
}

TEST(UsageCodecTest, SetFormsReplaceWhatTheBufferHeld) {
  std::string buffer(100, 'x');
  const absl::Time t = absl::FromUnixMicros(1'800'000'000'123'456);
  SetCounters(1, 2, t, &buffer);
  EXPECT_EQ(buffer, EncodeCounters(1, 2, t));
  SetCounters(7, 9, absl::InfinitePast(), &buffer);
  EXPECT_EQ(buffer, EncodeCounters(7, 9));

  const absl::CivilDay day(2027, 3, 1);
  SetUsageDayKey("key_abc", DayNumber(day), &buffer);
  EXPECT_EQ(buffer, UsageDayKey("key_abc", day));
  std::string expected = IndexPrefix("key_abc") + kUsageDay;
  AppendBigEndian64(static_cast<uint64_t>(DayNumber(day)), &expected);
  EXPECT_EQ(buffer, expected);
}

TEST(UsageCodecTest, UtcDayNumberIsTheCivilDay) {
  const absl::Time times[] = {
      absl::UnixEpoch(),
      absl::UnixEpoch() - absl::Microseconds(1),  // 1969-12-31, the last instant.
      absl::UnixEpoch() - absl::Hours(24),        // 1969-12-31, the first instant.
      absl::UnixEpoch() - absl::Hours(24) - absl::Seconds(1),
      At(2027, 3, 1, 0, 0),
      At(2027, 3, 1, 0, 0) - absl::Microseconds(1),
      At(2027, 3, 1, 23, 59) + absl::Seconds(59),
      At(2100, 2, 28, 12, 0),
  };
  for (const absl::Time t : times) {
    SCOPED_TRACE(absl::FormatTime(t));
    EXPECT_EQ(DayFromNumber(UtcDayNumber(t)), absl::ToCivilDay(t, absl::UTCTimeZone()));
  }
}

}  // namespace
}  // namespace keygate::storage
