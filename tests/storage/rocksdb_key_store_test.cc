#include "storage/rocksdb_key_store.h"

#include <algorithm>
#include <filesystem>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/cache_snapshot.h"
#include "storage/key_store.h"
#include "tests/storage/key_record_testing.h"
#include "tests/support/test_support.h"

namespace keygate::storage {
namespace {

using ::keygate::storage::testing::ExpectSameRecord;
using ::keygate::storage::testing::MakeRecord;
using ::keygate::testing::StatusIs;
using ::keygate::testing::TempDir;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

const absl::Time kBase = absl::FromUnixSeconds(1'800'000'000);

// FindByTokenHash as a value, for comparisons.
absl::StatusOr<core::KeyRecord> FindRecord(const KeyStore& store, absl::string_view token_hash) {
  absl::StatusOr<core::SharedKeyRecord> found = store.FindByTokenHash(token_hash);
  if (!found.ok()) return found.status();
  return **found;
}

class RocksDbKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open()); }

  RocksDbOptions Options() const {
    RocksDbOptions options;
    options.path = dir_.path() + "/db";
    options.block_cache_bytes = size_t{8} << 20;
    return options;
  }

  void Open() {
    absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(Options());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Closes the store and opens it again on the same directory.
  void Reopen() {
    store_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  core::KeyRecord CreateKey(const std::string& team_id, absl::Time create_time,
                            const std::string& name = "key") {
    core::KeyRecord record = MakeRecord(team_id, create_time, name);
    const absl::Status status = store_->Create(record);
    EXPECT_TRUE(status.ok()) << status;
    return record;
  }

  // Every page of `query.team_id`, following next_page_token; fails the test
  // on an error or on more than `max_pages` pages.
  std::vector<KeyPage> AllPages(ListQuery query, int max_pages = 100) {
    std::vector<KeyPage> pages;
    for (int i = 0; i < max_pages; ++i) {
      absl::StatusOr<KeyPage> page = store_->List(query);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      pages.push_back(*page);
      if (page->next_page_token.empty()) return pages;
      query.page_token = page->next_page_token;
    }
    ADD_FAILURE() << "listing did not end";
    return pages;
  }

  static std::vector<std::string> Ids(const std::vector<KeyPage>& pages) {
    std::vector<std::string> ids;
    for (const KeyPage& page : pages) {
      for (const core::KeyRecord& key : page.keys) ids.push_back(key.key_id);
    }
    return ids;
  }

  static std::vector<std::string> Ids(const std::vector<core::KeyRecord>& keys) {
    std::vector<std::string> ids;
    for (const core::KeyRecord& key : keys) ids.push_back(key.key_id);
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(RocksDbKeyStoreTest, CreateThenFindByTokenHashAndGet) {
  core::KeyRecord record = MakeRecord("team-a", kBase, "Production Backend");
  record.expire_time = kBase + absl::Hours(24 * 90);
  KEYGATE_ASSERT_OK(store_->Create(record));

  absl::StatusOr<core::KeyRecord> by_hash = FindRecord(*store_, record.token_hash);
  ASSERT_TRUE(by_hash.ok()) << by_hash.status();
  ExpectSameRecord(*by_hash, record);

  absl::StatusOr<core::KeyRecord> by_id = store_->Get(record.key_id);
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  ExpectSameRecord(*by_id, record);
}

// The keys family skips its last level's bloom filter (optimize_filters_for_hits):
// lookups in flushed files must still find every stored hash and no other,
// and CreateKey's check must still see a hash that is only on disk.
TEST_F(RocksDbKeyStoreTest, LookupsInFlushedFilesFindExactlyTheStoredKeys) {
  std::vector<core::KeyRecord> records;
  for (int i = 0; i < 2000; ++i) records.push_back(MakeRecord("team-a", kBase + absl::Seconds(i)));
  KEYGATE_ASSERT_OK(store_->BulkCreate(records));  // Written to table files.
  store_.reset();
  RocksDbOptions options = Options();
  options.record_cache_bytes = 0;  // Every lookup reads RocksDB.
  absl::StatusOr<std::unique_ptr<KeyStore>> reopened = OpenRocksDbKeyStore(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  store_ = *std::move(reopened);

  for (const core::KeyRecord& record : records) {
    absl::StatusOr<core::KeyRecord> found = FindRecord(*store_, record.token_hash);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(found->key_id, record.key_id);
  }
  for (int i = 0; i < 2000; ++i) {
    EXPECT_THAT(FindRecord(*store_, core::SecureRandomBytes(32)),
                StatusIs(absl::StatusCode::kNotFound));
  }
  core::KeyRecord same_token = MakeRecord("team-b", kBase);
  same_token.token_hash = records[1234].token_hash;
  EXPECT_THAT(store_->Create(same_token), StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(RocksDbKeyStoreTest, NotFound) {
  const core::KeyRecord record = CreateKey("team-a", kBase);
  EXPECT_THAT(FindRecord(*store_, std::string(32, 'x')),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(FindRecord(*store_, ""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Get("key_AAAAAAAAAAAAAAAAAAAA"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->Get(""), StatusIs(absl::StatusCode::kNotFound));
  // A token hash is not a key id and vice versa.
  EXPECT_THAT(store_->Get(record.token_hash), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(FindRecord(*store_, record.key_id), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RocksDbKeyStoreTest, DuplicateIdIsAlreadyExistsAndWritesNothing) {
  const core::KeyRecord first = CreateKey("team-a", kBase, "first");
  core::KeyRecord dup = MakeRecord("team-a", kBase + absl::Seconds(1), "dup");
  dup.key_id = first.key_id;
  EXPECT_THAT(store_->Create(dup), StatusIs(absl::StatusCode::kAlreadyExists));

  EXPECT_THAT(FindRecord(*store_, dup.token_hash), StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<core::KeyRecord> got = store_->Get(first.key_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, "first");
  absl::StatusOr<KeyPage> page = store_->List({"team-a", 50, "", nullptr});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->keys), ElementsAreArray({first.key_id}));
}

TEST_F(RocksDbKeyStoreTest, DuplicateTokenHashIsAlreadyExistsAndWritesNothing) {
  const core::KeyRecord first = CreateKey("team-a", kBase, "first");
  core::KeyRecord dup = MakeRecord("team-b", kBase + absl::Seconds(1), "dup");
  dup.token_hash = first.token_hash;
  EXPECT_THAT(store_->Create(dup), StatusIs(absl::StatusCode::kAlreadyExists));

  EXPECT_THAT(store_->Get(dup.key_id), StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<core::KeyRecord> got = FindRecord(*store_, first.token_hash);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->key_id, first.key_id);
  EXPECT_EQ(got->name, "first");
  absl::StatusOr<KeyPage> page = store_->List({"team-b", 50, "", nullptr});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->keys, IsEmpty());
}

TEST_F(RocksDbKeyStoreTest, CreatedKeyIsVisibleToEveryLookup) {
  const core::KeyRecord record = CreateKey("team-a", kBase);
  absl::StatusOr<core::KeyRecord> by_hash = FindRecord(*store_, record.token_hash);
  absl::StatusOr<core::KeyRecord> by_id = store_->Get(record.key_id);
  absl::StatusOr<KeyPage> page = store_->List({"team-a", 10, "", nullptr});
  ASSERT_TRUE(by_hash.ok()) << by_hash.status();
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(by_hash->key_id, record.key_id);
  EXPECT_EQ(by_id->token_hash, record.token_hash);
  ASSERT_EQ(page->keys.size(), 1u);
  ExpectSameRecord(page->keys[0], record);
  EXPECT_TRUE(page->next_page_token.empty());
}

TEST_F(RocksDbKeyStoreTest, UpdateRevokesAndEveryLookupSeesIt) {
  const core::KeyRecord record = CreateKey("team-a", kBase);
  const absl::Time revoke_time = kBase + absl::Minutes(5);
  absl::StatusOr<core::KeyRecord> updated =
      store_->Update(record.key_id, [&](core::KeyRecord& key) {
        key.revoke_time = revoke_time;
        key.revoke_reason = "leaked";
        return absl::OkStatus();
      });
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->revoke_time, revoke_time);
  EXPECT_EQ(updated->revoke_reason, "leaked");

  core::KeyRecord want = record;
  want.revoke_time = revoke_time;
  want.revoke_reason = "leaked";
  absl::StatusOr<core::KeyRecord> by_hash = FindRecord(*store_, record.token_hash);
  ASSERT_TRUE(by_hash.ok()) << by_hash.status();
  ExpectSameRecord(*by_hash, want);
  absl::StatusOr<core::KeyRecord> by_id = store_->Get(record.key_id);
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  ExpectSameRecord(*by_id, want);
  absl::StatusOr<KeyPage> page = store_->List({"team-a", 10, "", nullptr});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->keys.size(), 1u);
  ExpectSameRecord(page->keys[0], want);
  EXPECT_EQ(by_hash->StateAt(revoke_time), core::KeyState::kRevoked);
}

TEST_F(RocksDbKeyStoreTest, UpdateMutateErrorWritesNothing) {
  const core::KeyRecord record = CreateKey("team-a", kBase, "original");
  absl::StatusOr<core::KeyRecord> updated =
      store_->Update(record.key_id, [](core::KeyRecord& key) {
        key.name = "changed";
        key.revoke_time = kBase;
        return absl::FailedPreconditionError("no");
      });
  EXPECT_THAT(updated, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(updated.status().message(), "no");

  absl::StatusOr<core::KeyRecord> got = store_->Get(record.key_id);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameRecord(*got, record);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  got = FindRecord(*store_, record.token_hash);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameRecord(*got, record);
}

TEST_F(RocksDbKeyStoreTest, UpdateMissingKeyIsNotFoundAndDoesNotCallMutate) {
  bool called = false;
  EXPECT_THAT(store_->Update("key_AAAAAAAAAAAAAAAAAAAA",
                             [&](core::KeyRecord&) {
                               called = true;
                               return absl::OkStatus();
                             }),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(called);
}

TEST_F(RocksDbKeyStoreTest, UpdateMustNotChangeIdentity) {
  const core::KeyRecord record = CreateKey("team-a", kBase, "original");
  const auto change_team = [](core::KeyRecord& key) {
    key.team_id = "team-b";
    key.name = "changed";
    return absl::OkStatus();
  };
  EXPECT_FALSE(store_->Update(record.key_id, change_team).ok());
  const auto change_hash = [](core::KeyRecord& key) {
    key.token_hash = std::string(32, 'h');
    return absl::OkStatus();
  };
  EXPECT_FALSE(store_->Update(record.key_id, change_hash).ok());

  absl::StatusOr<core::KeyRecord> got = store_->Get(record.key_id);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameRecord(*got, record);
  EXPECT_THAT(FindRecord(*store_, std::string(32, 'h')),
              StatusIs(absl::StatusCode::kNotFound));
}

// FindByTokenHash answers from a cache; every acknowledged Update must be
// visible to the very next lookup, including one that was cached before.
TEST_F(RocksDbKeyStoreTest, LookupAfterUpdateNeverAnswersTheCachedOlderRecord) {
  core::KeyRecord record = MakeRecord("team-a", kBase);
  record.name = "0";
  KEYGATE_ASSERT_OK(store_->Create(record));
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(FindRecord(*store_, record.token_hash).ok());  // Cached now.
    KEYGATE_ASSERT_OK(store_->Update(record.key_id, [&](core::KeyRecord& key) {
      key.name = absl::StrCat(i);
      if (i == 20) key.revoke_time = kBase;
      return absl::OkStatus();
    }).status());
    absl::StatusOr<core::KeyRecord> found = FindRecord(*store_, record.token_hash);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(found->name, absl::StrCat(i));
  }
  EXPECT_EQ(FindRecord(*store_, record.token_hash)->StateAt(kBase), core::KeyState::kRevoked);
}

// Readers racing with updates: each reader sees names that never go back, and
// after each Update returns, a lookup sees at least that update.
// A restarted store answers the keys it had cached from memory at once: the
// cache is saved at the close and loaded at the open.
TEST_F(RocksDbKeyStoreTest, KeyCacheSurvivesAReopen) {
  const core::KeyRecord a = CreateKey("team-a", kBase, "a");
  const core::KeyRecord b = CreateKey("team-a", kBase, "b");
  ASSERT_TRUE(FindRecord(*store_, a.token_hash).ok());
  ASSERT_TRUE(FindRecord(*store_, b.token_hash).ok());
  const uint64_t cached = store_->Stats().key_cache_bytes;
  ASSERT_GT(cached, 0u);

  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(store_->Stats().key_cache_bytes, cached);  // Before any lookup.
  absl::StatusOr<core::KeyRecord> found = FindRecord(*store_, a.token_hash);
  ASSERT_TRUE(found.ok()) << found.status();
  ExpectSameRecord(*found, a);
  // Used once: a crash now must not bring the snapshot back.
  EXPECT_FALSE(std::filesystem::exists(CacheSnapshotPath(Options().path)));
}

// Opens a store of `count` keys (flushed to table files) with the block
// cache warmed or not, and returns the block cache misses that looking up
// every key caused once warming had finished.
uint64_t MissesOfFirstLookups(RocksDbOptions options, int count, bool warm) {
  std::vector<core::KeyRecord> records;
  for (int i = 0; i < count; ++i) {
    records.push_back(MakeRecord("team-a", kBase + absl::Seconds(i), absl::StrCat("k", i)));
  }
  {
    absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(options);
    EXPECT_TRUE(store.ok()) << store.status();
    EXPECT_TRUE((*store)->BulkCreate(records).ok());
  }  // Closing flushes everything into table files.
  options.statistics = true;
  options.record_cache_bytes = 0;  // Every lookup reads RocksDB.
  options.warm_block_cache = warm;
  absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(options);
  EXPECT_TRUE(store.ok()) << store.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while ((*store)->Stats().warming_block_cache && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_FALSE((*store)->Stats().warming_block_cache);
  const StoreStats before = (*store)->Stats();
  for (const core::KeyRecord& record : records) {
    EXPECT_TRUE((*store)->FindByTokenHash(record.token_hash).ok());
  }
  const StoreStats after = (*store)->Stats();
  EXPECT_GT(after.block_cache_hits + after.block_cache_misses,
            before.block_cache_hits + before.block_cache_misses);
  return after.block_cache_misses - before.block_cache_misses;
}

TEST_F(RocksDbKeyStoreTest, WarmedBlockCacheServesFirstLookupsWithoutDiskReads) {
  store_.reset();
  EXPECT_EQ(MissesOfFirstLookups(Options(), 5000, /*warm=*/true), 0u);
}

// The control for the test above: without warming, first lookups miss.
TEST_F(RocksDbKeyStoreTest, ColdBlockCacheMissesOnFirstLookups) {
  store_.reset();
  EXPECT_GT(MissesOfFirstLookups(Options(), 5000, /*warm=*/false), 0u);
}

// A family larger than the cache: warming stops at 90% of the capacity
// rather than evicting what it loaded, and it ends.
TEST_F(RocksDbKeyStoreTest, WarmingStopsBeforeTheCacheOverflows) {
  store_.reset();
  RocksDbOptions options = Options();
  options.block_cache_bytes = size_t{256} << 10;
  EXPECT_GT(MissesOfFirstLookups(options, 5000, /*warm=*/true), 0u);
}

// A snapshot from before a change (here a revocation made while the cache
// was off, so no newer snapshot replaced it) is stale and never loaded.
TEST_F(RocksDbKeyStoreTest, KeyCacheSnapshotOfAnOlderStateIsIgnored) {
  const core::KeyRecord key = CreateKey("team-a", kBase, "a");
  ASSERT_TRUE(FindRecord(*store_, key.token_hash).ok());
  store_.reset();  // Saves the snapshot with the key active.
  ASSERT_TRUE(std::filesystem::exists(CacheSnapshotPath(Options().path)));

  RocksDbOptions uncached = Options();
  uncached.record_cache_bytes = 0;  // Neither loads nor saves a snapshot.
  {
    absl::StatusOr<std::unique_ptr<KeyStore>> store = OpenRocksDbKeyStore(uncached);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Update(key.key_id, [](core::KeyRecord& r) {
      r.revoke_time = kBase;
      return absl::OkStatus();
    }).ok());
  }
  ASSERT_TRUE(std::filesystem::exists(CacheSnapshotPath(Options().path)));

  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(store_->Stats().key_cache_bytes, 0u);
  absl::StatusOr<core::KeyRecord> found = FindRecord(*store_, key.token_hash);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->revoke_time, kBase);
}

TEST_F(RocksDbKeyStoreTest, ConcurrentLookupsNeverGoBackInTime) {
  core::KeyRecord record = MakeRecord("team-a", kBase);
  record.name = "0";
  KEYGATE_ASSERT_OK(store_->Create(record));
  constexpr int kUpdates = 200;
  std::atomic<bool> done{false};
  std::atomic<int> regressions{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      int last = 0;
      while (!done.load()) {
        absl::StatusOr<core::SharedKeyRecord> found = store_->FindByTokenHash(record.token_hash);
        int n = -1;
        if (!found.ok() || !absl::SimpleAtoi((*found)->name, &n) || n < last) ++regressions;
        last = std::max(last, n);
      }
    });
  }
  for (int i = 1; i <= kUpdates; ++i) {
    KEYGATE_ASSERT_OK(store_->Update(record.key_id, [&](core::KeyRecord& key) {
      key.name = absl::StrCat(i);
      return absl::OkStatus();
    }).status());
    absl::StatusOr<core::KeyRecord> found = FindRecord(*store_, record.token_hash);
    ASSERT_TRUE(found.ok()) << found.status();
    int n = 0;
    ASSERT_TRUE(absl::SimpleAtoi(found->name, &n));
    EXPECT_GE(n, i);
  }
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(regressions.load(), 0);
}

TEST_F(RocksDbKeyStoreTest, ConcurrentUpdatesOfOneKeyAreSerialised) {
  core::KeyRecord record = MakeRecord("team-a", kBase);
  record.name = "0";
  KEYGATE_ASSERT_OK(store_->Create(record));
  constexpr int kThreads = 4;
  constexpr int kIncrements = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        absl::StatusOr<core::KeyRecord> updated =
            store_->Update(record.key_id, [](core::KeyRecord& key) {
              int n = 0;
              if (!absl::SimpleAtoi(key.name, &n)) return absl::InternalError("bad counter");
              key.name = absl::StrCat(n + 1);
              return absl::OkStatus();
            });
        if (!updated.ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<core::KeyRecord> got = store_->Get(record.key_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, absl::StrCat(kThreads * kIncrements));
}

TEST_F(RocksDbKeyStoreTest, ReopenKeepsRecordsAndRevocations) {
  std::vector<core::KeyRecord> records;
  for (int i = 0; i < 5; ++i) {
    records.push_back(CreateKey(i % 2 == 0 ? "team-a" : "team-b", kBase + absl::Seconds(i)));
  }
  core::KeyRecord op = MakeRecord("", kBase + absl::Seconds(10), "operator");
  op.is_operator = true;
  KEYGATE_ASSERT_OK(store_->Create(op));
  records.push_back(op);
  const absl::Time revoke_time = kBase + absl::Minutes(1);
  for (size_t i : {size_t{1}, size_t{2}}) {
    absl::StatusOr<core::KeyRecord> updated =
        store_->Update(records[i].key_id, [&](core::KeyRecord& key) {
          key.revoke_time = revoke_time;
          key.revoke_reason = "rotated";
          return absl::OkStatus();
        });
    ASSERT_TRUE(updated.ok()) << updated.status();
    records[i] = *updated;
  }
  KEYGATE_ASSERT_OK(store_->PutMetadata("pepper_fingerprint", "abc123"));

  ASSERT_NO_FATAL_FAILURE(Reopen());

  for (const core::KeyRecord& record : records) {
    SCOPED_TRACE(record.key_id);
    absl::StatusOr<core::KeyRecord> by_hash = FindRecord(*store_, record.token_hash);
    ASSERT_TRUE(by_hash.ok()) << by_hash.status();
    ExpectSameRecord(*by_hash, record);
    absl::StatusOr<core::KeyRecord> by_id = store_->Get(record.key_id);
    ASSERT_TRUE(by_id.ok()) << by_id.status();
    ExpectSameRecord(*by_id, record);
  }
  EXPECT_EQ(store_->Get(records[1].key_id)->revoke_time, revoke_time);
  EXPECT_EQ(store_->Get(records[2].key_id)->revoke_reason, "rotated");
  EXPECT_EQ(store_->Get(records[0].key_id)->revoke_time, absl::InfiniteFuture());

  absl::StatusOr<KeyPage> page = store_->List({"team-a", 50, "", nullptr});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->keys),
              ElementsAreArray({records[0].key_id, records[2].key_id, records[4].key_id}));
  absl::StatusOr<std::string> meta = store_->GetMetadata("pepper_fingerprint");
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(*meta, "abc123");
}

TEST_F(RocksDbKeyStoreTest, SecondOpenOfSameDirectoryIsUnavailable) {
  EXPECT_THAT(OpenRocksDbKeyStore(Options()), StatusIs(absl::StatusCode::kUnavailable));
}

class RocksDbKeyStoreListTest : public RocksDbKeyStoreTest {
 protected:
  // 25 keys of team-a interleaved with 12 of team-b, all in creation order.
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RocksDbKeyStoreTest::SetUp());
    int t = 0;
    for (int i = 0; i < 25; ++i) {
      team_a_.push_back(CreateKey("team-a", kBase + absl::Seconds(t++), absl::StrCat("a", i)));
      if (i % 2 == 0) {
        team_b_.push_back(CreateKey("team-b", kBase + absl::Seconds(t++), absl::StrCat("b", i)));
      }
    }
    core::KeyRecord op = MakeRecord("", kBase + absl::Seconds(t++), "operator");
    op.is_operator = true;
    KEYGATE_ASSERT_OK(store_->Create(op));
    operator_ = op;
    // Teams whose ids share a prefix with team-a.
    CreateKey("team", kBase + absl::Seconds(t++));
    CreateKey("team-a2", kBase + absl::Seconds(t++));
  }

  std::vector<core::KeyRecord> team_a_;
  std::vector<core::KeyRecord> team_b_;
  core::KeyRecord operator_;
};

TEST_F(RocksDbKeyStoreListTest, PagesInCreationOrderWithoutGapsOrDuplicates) {
  const std::vector<KeyPage> pages = AllPages({"team-a", 10, "", nullptr});
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].keys.size(), 10u);
  EXPECT_EQ(pages[1].keys.size(), 10u);
  EXPECT_EQ(pages[2].keys.size(), 5u);
  EXPECT_FALSE(pages[0].next_page_token.empty());
  EXPECT_FALSE(pages[1].next_page_token.empty());
  EXPECT_TRUE(pages[2].next_page_token.empty());
  EXPECT_THAT(Ids(pages), ElementsAreArray(Ids(team_a_)));
  for (const KeyPage& page : pages) {
    for (const core::KeyRecord& key : page.keys) EXPECT_EQ(key.team_id, "team-a");
  }
}

TEST_F(RocksDbKeyStoreListTest, ReturnsFullRecords) {
  absl::StatusOr<KeyPage> page = store_->List({"team-a", 3, "", nullptr});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->keys.size(), 3u);
  for (size_t i = 0; i < 3; ++i) ExpectSameRecord(page->keys[i], team_a_[i]);
}

TEST_F(RocksDbKeyStoreListTest, PageSizeEqualToCountHasNoNextPage) {
  const std::vector<KeyPage> pages = AllPages({"team-b", team_b_.size(), "", nullptr});
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_TRUE(pages[0].next_page_token.empty());
  EXPECT_THAT(Ids(pages), ElementsAreArray(Ids(team_b_)));
}

TEST_F(RocksDbKeyStoreListTest, PageSizeOneWalksEveryKey) {
  const std::vector<KeyPage> pages = AllPages({"team-b", 1, "", nullptr});
  EXPECT_EQ(pages.size(), team_b_.size());
  EXPECT_THAT(Ids(pages), ElementsAreArray(Ids(team_b_)));
}

TEST_F(RocksDbKeyStoreListTest, FilterWorksAcrossPages) {
  // Keep every third key of team-a (a0, a3, …, a24: 9 keys).
  std::vector<std::string> want;
  std::set<std::string> kept;
  for (size_t i = 0; i < team_a_.size(); i += 3) {
    want.push_back(team_a_[i].key_id);
    kept.insert(team_a_[i].key_id);
  }
  ListQuery query{"team-a", 4, "", [&](const core::KeyRecord& key) {
                    return kept.count(key.key_id) > 0;
                  }};
  const std::vector<KeyPage> pages = AllPages(query);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].keys.size(), 4u);
  EXPECT_EQ(pages[1].keys.size(), 4u);
  EXPECT_EQ(pages[2].keys.size(), 1u);
  EXPECT_THAT(Ids(pages), ElementsAreArray(want));
}

TEST_F(RocksDbKeyStoreListTest, FilterWithNoMoreMatchesEndsTheListing) {
  // The first 20 keys match; a full second page must not promise a third.
  std::set<std::string> kept;
  for (size_t i = 0; i < 20; ++i) kept.insert(team_a_[i].key_id);
  ListQuery query{"team-a", 10, "", [&](const core::KeyRecord& key) {
                    return kept.count(key.key_id) > 0;
                  }};
  const std::vector<KeyPage> pages = AllPages(query);
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[1].keys.size(), 10u);
  EXPECT_TRUE(pages[1].next_page_token.empty());
}

TEST_F(RocksDbKeyStoreListTest, FilterOnRevocation) {
  // Revoke a1, a5, a9; list only active keys.
  std::set<std::string> revoked;
  for (size_t i : {size_t{1}, size_t{5}, size_t{9}}) {
    ASSERT_TRUE(store_
                    ->Update(team_a_[i].key_id,
                             [](core::KeyRecord& key) {
                               key.revoke_time = kBase;
                               return absl::OkStatus();
                             })
                    .ok());
    revoked.insert(team_a_[i].key_id);
  }
  const absl::Time now = kBase + absl::Hours(1);
  ListQuery query{"team-a", 5, "",
                  [&](const core::KeyRecord& key) { return !key.RevokedAt(now); }};
  const std::vector<std::string> ids = Ids(AllPages(query));
  EXPECT_EQ(ids.size(), team_a_.size() - 3);
  for (const std::string& id : ids) EXPECT_EQ(revoked.count(id), 0u) << id;
}

TEST_F(RocksDbKeyStoreListTest, PageTokenOfAnotherTeamIsInvalidArgument) {
  absl::StatusOr<KeyPage> b_page = store_->List({"team-b", 5, "", nullptr});
  ASSERT_TRUE(b_page.ok()) << b_page.status();
  ASSERT_FALSE(b_page->next_page_token.empty());
  EXPECT_THAT(store_->List({"team-a", 5, b_page->next_page_token, nullptr}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Nor between teams whose ids share a prefix.
  absl::StatusOr<KeyPage> a_page = store_->List({"team-a", 5, "", nullptr});
  ASSERT_TRUE(a_page.ok()) << a_page.status();
  EXPECT_THAT(store_->List({"team", 5, a_page->next_page_token, nullptr}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->List({"team-a2", 5, a_page->next_page_token, nullptr}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // The token does work for its own team.
  KEYGATE_EXPECT_OK(store_->List({"team-a", 5, a_page->next_page_token, nullptr}));
}

TEST_F(RocksDbKeyStoreListTest, GarbagePageTokenIsInvalidArgument) {
  for (const std::string& token : {std::string("!!!not base64!!!"), std::string("abcd"),
                                   std::string("dGVhbS1h"), std::string("%%%"),
                                   std::string("a")}) {
    EXPECT_THAT(store_->List({"team-a", 5, token, nullptr}),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << token;
  }
}

TEST_F(RocksDbKeyStoreListTest, ZeroPageSizeIsInvalidArgument) {
  EXPECT_THAT(store_->List({"team-a", 0, "", nullptr}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RocksDbKeyStoreListTest, OperatorKeysAreNotListed) {
  absl::StatusOr<KeyPage> empty_team = store_->List({"", 100, "", nullptr});
  ASSERT_TRUE(empty_team.ok()) << empty_team.status();
  EXPECT_THAT(empty_team->keys, IsEmpty());
  for (const char* team : {"team-a", "team-b", "team", "team-a2"}) {
    for (const std::string& id : Ids(AllPages({team, 100, "", nullptr}))) {
      EXPECT_NE(id, operator_.key_id) << team;
    }
  }
  // Yet the operator key is stored and found.
  absl::StatusOr<core::KeyRecord> op = FindRecord(*store_, operator_.token_hash);
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_TRUE(op->is_operator);
  KEYGATE_EXPECT_OK(store_->Get(operator_.key_id));
}

TEST_F(RocksDbKeyStoreListTest, TeamsSharingAPrefixAreSeparate) {
  EXPECT_EQ(Ids(AllPages({"team", 100, "", nullptr})).size(), 1u);
  EXPECT_EQ(Ids(AllPages({"team-a2", 100, "", nullptr})).size(), 1u);
  EXPECT_EQ(Ids(AllPages({"team-a", 100, "", nullptr})).size(), team_a_.size());
  EXPECT_THAT(Ids(AllPages({"no-such-team", 100, "", nullptr})), IsEmpty());
}

TEST_F(RocksDbKeyStoreListTest, KeysCreatedBetweenPagesAppearAtTheEnd) {
  absl::StatusOr<KeyPage> first = store_->List({"team-a", 10, "", nullptr});
  ASSERT_TRUE(first.ok()) << first.status();
  const core::KeyRecord late = CreateKey("team-a", kBase + absl::Hours(1), "late");
  std::vector<KeyPage> rest = AllPages({"team-a", 10, first->next_page_token, nullptr});
  std::vector<std::string> ids = Ids(first->keys);
  for (const std::string& id : Ids(rest)) ids.push_back(id);
  std::vector<std::string> want = Ids(team_a_);
  want.push_back(late.key_id);
  EXPECT_THAT(ids, ElementsAreArray(want));
}

TEST_F(RocksDbKeyStoreTest, MetadataGetAndPut) {
  EXPECT_THAT(store_->GetMetadata("pepper_fingerprint"), StatusIs(absl::StatusCode::kNotFound));
  KEYGATE_ASSERT_OK(store_->PutMetadata("pepper_fingerprint", "v1"));
  absl::StatusOr<std::string> value = store_->GetMetadata("pepper_fingerprint");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "v1");
  KEYGATE_ASSERT_OK(store_->PutMetadata("pepper_fingerprint", std::string("v2\0bin", 6)));
  value = store_->GetMetadata("pepper_fingerprint");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, std::string("v2\0bin", 6));
  EXPECT_THAT(store_->GetMetadata("other"), StatusIs(absl::StatusCode::kNotFound));
  // Metadata does not leak into key lookups.
  EXPECT_THAT(store_->Get("pepper_fingerprint"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(FindRecord(*store_, "pepper_fingerprint"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RocksDbKeyStoreTest, ConcurrentCreatesAreAllStored) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20;
  std::vector<std::vector<core::KeyRecord>> created(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        core::KeyRecord record =
            MakeRecord("team-a", kBase + absl::Milliseconds(t * kPerThread + i));
        if (!store_->Create(record).ok()) ++failures;
        created[t].push_back(record);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Ids(AllPages({"team-a", 7, "", nullptr})).size(),
            static_cast<size_t>(kThreads * kPerThread));
  for (const auto& records : created) {
    for (const core::KeyRecord& record : records) {
      KEYGATE_EXPECT_OK(FindRecord(*store_, record.token_hash));
    }
  }
}

}  // namespace
}  // namespace keygate::storage

namespace keygate::storage {
namespace {

using ::keygate::storage::testing::MakeRecord;

TEST(RocksDbBulkCreateTest, BulkCreatedRecordsAreIndexedAndSurviveReopen) {
  ::keygate::testing::TempDir dir;
  RocksDbOptions options;
  options.path = dir.path() + "/db";
  std::vector<core::KeyRecord> records;
  for (int i = 0; i < 25000; ++i) {
    records.push_back(MakeRecord(i % 2 ? "bulk" : "other", absl::FromUnixSeconds(1000 + i)));
  }
  {
    std::unique_ptr<KeyStore> store = *OpenRocksDbKeyStore(options);
    ASSERT_TRUE(store->BulkCreate(records).ok());
  }
  std::unique_ptr<KeyStore> store = *OpenRocksDbKeyStore(options);
  for (int i = 0; i < 25000; i += 997) {
    absl::StatusOr<core::KeyRecord> by_hash = FindRecord(*store, records[i].token_hash);
    ASSERT_TRUE(by_hash.ok()) << i;
    EXPECT_EQ(by_hash->key_id, records[i].key_id);
    EXPECT_TRUE(store->Get(records[i].key_id).ok());
  }
  ListQuery query;
  query.team_id = "bulk";
  query.page_size = 1000;
  absl::StatusOr<KeyPage> page = store->List(query);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->keys.size(), 1000u);
  EXPECT_EQ(page->keys.front().key_id, records[1].key_id);
}

}  // namespace
}  // namespace keygate::storage
