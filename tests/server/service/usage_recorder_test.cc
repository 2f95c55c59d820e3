// UsageRecorder over a real RocksDB store: counts from many threads, and
// from threads that ended before the flush, all arrive exactly once.
#include "server/service/usage_recorder.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_key_store.h"
#include "tests/support/test_support.h"

namespace keygate::service {
namespace {

using ::keygate::testing::FakeClock;
using ::keygate::testing::TempDir;

class UsageRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::RocksDbOptions options;
    options.path = dir_.path() + "/db";
    options.block_cache_bytes = size_t{8} << 20;
    absl::StatusOr<std::unique_ptr<storage::KeyStore>> store =
        storage::OpenRocksDbKeyStore(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    // Flushes only when the test asks.
    recorder_ = std::make_unique<UsageRecorder>(store_.get(), absl::Hours(1));
  }

  core::KeyUsage Usage(const std::string& key_id) {
    absl::StatusOr<core::KeyUsage> usage =
        store_->GetUsage(key_id, absl::CivilDay(2020, 1, 1), 100);
    EXPECT_TRUE(usage.ok()) << usage.status();
    return usage.ok() ? *usage : core::KeyUsage{};
  }

  // The record the key cache would share for `key_id`: one per id, as long
  // as the test runs.
  core::SharedKeyRecord Key(const std::string& key_id) {
    absl::MutexLock lock(&keys_mu_);
    core::SharedKeyRecord& key = keys_[key_id];
    if (key == nullptr) key = NewKey(key_id);
    return key;
  }
  static core::SharedKeyRecord NewKey(const std::string& key_id) {
    auto key = std::make_shared<core::KeyRecord>();
    key->key_id = key_id;
    return key;
  }

  static uint64_t Allowed(const core::KeyUsage& usage) {
    uint64_t total = 0;
    for (const core::DailyUsage& day : usage.days) total += day.allowed;
    return total;
  }
  static uint64_t Denied(const core::KeyUsage& usage) {
    uint64_t total = 0;
    for (const core::DailyUsage& day : usage.days) total += day.denied;
    return total;
  }

  TempDir dir_;
  absl::Mutex keys_mu_;
  absl::flat_hash_map<std::string, core::SharedKeyRecord> keys_ ABSL_GUARDED_BY(keys_mu_);
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<storage::KeyStore> store_;
  std::unique_ptr<UsageRecorder> recorder_;
};

TEST_F(UsageRecorderTest, ManyThreadsOnOneKeyAreCountedExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 5000;
  const core::SharedKeyRecord hot = Key("key_hot");
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        recorder_->Record(hot, i % 10 != 0, absl::StrCat("10.0.0.", t), clock_.Now());
      }
    });
  }
  // Flushes race with the recording threads: nothing may be lost or doubled.
  for (int i = 0; i < 20; ++i) KEYGATE_ASSERT_OK(recorder_->Flush());
  for (std::thread& thread : threads) thread.join();  // Their shards are left behind.
  KEYGATE_ASSERT_OK(recorder_->Flush());
  const core::KeyUsage usage = Usage("key_hot");
  EXPECT_EQ(Allowed(usage), uint64_t{kThreads} * kCalls * 9 / 10);
  EXPECT_EQ(Denied(usage), uint64_t{kThreads} * kCalls / 10);
  EXPECT_EQ(usage.clients.size(), size_t{kThreads});
  EXPECT_EQ(usage.last_used, clock_.Now());
  // Another flush adds nothing.
  KEYGATE_ASSERT_OK(recorder_->Flush());
  EXPECT_EQ(Allowed(Usage("key_hot")), uint64_t{kThreads} * kCalls * 9 / 10);
}

TEST_F(UsageRecorderTest, RecordsOfOneKeyIdAddUpAndOutliveTheCache) {
  // A key re-read after a change (or an eviction) is a new record object.
  core::SharedKeyRecord before = NewKey("key_a");
  core::SharedKeyRecord after = NewKey("key_a");
  recorder_->Record(before, true, "10.0.0.1", clock_.Now());
  recorder_->Record(after, true, "10.0.0.2", clock_.Now());
  std::thread([&] { recorder_->Record(after, false, "", clock_.Now()); }).join();
  recorder_->Record(NewKey("key_b"), true, "", clock_.Now());
  // The cache lets go of them before the flush; the recorder still holds them.
  const std::weak_ptr<const core::KeyRecord> watched = before;
  before.reset();
  after.reset();
  EXPECT_FALSE(watched.expired());
  KEYGATE_ASSERT_OK(recorder_->Flush());
  EXPECT_TRUE(watched.expired());  // Released once flushed.
  const core::KeyUsage usage = Usage("key_a");
  EXPECT_EQ(Allowed(usage), 2u);
  EXPECT_EQ(Denied(usage), 1u);
  EXPECT_EQ(usage.clients.size(), 2u);
  EXPECT_EQ(Allowed(Usage("key_b")), 1u);
}

TEST_F(UsageRecorderTest, CountsOfAThreadThatEndedBeforeTheFlushArrive) {
  std::thread([&] {
    for (int i = 0; i < 100; ++i) recorder_->Record(Key("key_a"), true, "", clock_.Now());
  }).join();
  recorder_->Record(Key("key_a"), false, "", clock_.Now());
  KEYGATE_ASSERT_OK(recorder_->Flush());
  KEYGATE_ASSERT_OK(recorder_->Flush());  // Drops the ended thread's shard.
  const core::KeyUsage usage = Usage("key_a");
  EXPECT_EQ(Allowed(usage), 100u);
  EXPECT_EQ(Denied(usage), 1u);
}

TEST_F(UsageRecorderTest, AThreadCanRecordIntoSuccessiveRecorders) {
  recorder_->Record(Key("key_a"), true, "", clock_.Now());
  recorder_.reset();  // Flushes on destruction.
  recorder_ = std::make_unique<UsageRecorder>(store_.get(), absl::Hours(1));
  recorder_->Record(Key("key_a"), true, "", clock_.Now());
  KEYGATE_ASSERT_OK(recorder_->Flush());
  EXPECT_EQ(Allowed(Usage("key_a")), 2u);
}

TEST_F(UsageRecorderTest, CountsSplitAcrossMidnightByDay) {
  clock_.Advance(absl::FromCivil(absl::CivilSecond(2027, 3, 1, 23, 59, 59), absl::UTCTimeZone()) -
                 clock_.Now());
  recorder_->Record(Key("key_a"), true, "", clock_.Now());
  std::thread([&] { recorder_->Record(Key("key_a"), true, "", clock_.Now()); }).join();
  clock_.Advance(absl::Seconds(2));
  recorder_->Record(Key("key_a"), false, "", clock_.Now());
  KEYGATE_ASSERT_OK(recorder_->Flush());
  const core::KeyUsage usage = Usage("key_a");
  ASSERT_EQ(usage.days.size(), 2u);
  EXPECT_EQ(usage.days[0].day, absl::CivilDay(2027, 3, 1));
  EXPECT_EQ(usage.days[0].allowed, 2u);
  EXPECT_EQ(usage.days[1].day, absl::CivilDay(2027, 3, 2));
  EXPECT_EQ(usage.days[1].denied, 1u);
}

TEST_F(UsageRecorderTest, DaysFromSeveralThreadsMergeInOrder) {
  const absl::Time day1 =
      absl::FromCivil(absl::CivilSecond(2027, 3, 1, 12, 0, 0), absl::UTCTimeZone());
  clock_.Advance(day1 - clock_.Now());
  recorder_->Record(Key("key_a"), true, "", clock_.Now());  // This thread: day 1, then day 2.
  clock_.Advance(absl::Hours(24));
  recorder_->Record(Key("key_a"), false, "", clock_.Now());
  std::thread([&] {  // Another thread: day 2, then day 3.
    recorder_->Record(Key("key_a"), true, "", clock_.Now());
    clock_.Advance(absl::Hours(24));
    recorder_->Record(Key("key_a"), true, "", clock_.Now());
    recorder_->Record(Key("key_a"), false, "", clock_.Now());
  })
      .join();
  KEYGATE_ASSERT_OK(recorder_->Flush());
  const core::KeyUsage usage = Usage("key_a");
  ASSERT_EQ(usage.days.size(), 3u);
  EXPECT_EQ(usage.days[0].day, absl::CivilDay(2027, 3, 1));
  EXPECT_EQ(usage.days[0].allowed, 1u);
  EXPECT_EQ(usage.days[0].denied, 0u);
  EXPECT_EQ(usage.days[1].day, absl::CivilDay(2027, 3, 2));
  EXPECT_EQ(usage.days[1].allowed, 1u);
  EXPECT_EQ(usage.days[1].denied, 1u);
  EXPECT_EQ(usage.days[2].day, absl::CivilDay(2027, 3, 3));
  EXPECT_EQ(usage.days[2].allowed, 1u);
  EXPECT_EQ(usage.days[2].denied, 1u);
}

}  // namespace
}  // namespace keygate::service
