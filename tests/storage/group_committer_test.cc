#include "storage/group_committer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "tests/support/test_support.h"

namespace keygate::storage {
namespace {

using ::keygate::testing::StatusIs;

// A real RocksDB with the default family and "other", which the committer
// under test is not told about.
class GroupCommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.path(), &db).ok());
    db_.reset(db);
    ASSERT_TRUE(db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "other", &other_).ok());
  }
  void TearDown() override {
    if (other_ != nullptr) ASSERT_TRUE(db_->DestroyColumnFamilyHandle(other_).ok());
  }

  std::unique_ptr<GroupCommitter> NewCommitter() {
    return std::make_unique<GroupCommitter>(
        db_.get(), std::vector<rocksdb::ColumnFamilyHandle*>{db_->DefaultColumnFamily()});
  }

  rocksdb::WriteBatch PutBatch(const std::string& key, const std::string& value) {
    rocksdb::WriteBatch batch;
    EXPECT_TRUE(batch.Put(db_->DefaultColumnFamily(), key, value).ok());
    return batch;
  }

  std::string Read(const std::string& key) {
    std::string value;
    const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
    return s.ok() ? value : "<" + s.ToString() + ">";
  }

  ::keygate::testing::TempDir dir_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* other_ = nullptr;
};

TEST_F(GroupCommitterTest, ManyThreadsEachGetTheirWriteCompletedOnce) {
  constexpr int kThreads = 8;
  constexpr int kWritesPerThread = 200;
  std::vector<std::atomic<int>> completions(kThreads * kWritesPerThread);
  std::atomic<int> failures{0};
  {
    std::unique_ptr<GroupCommitter> committer = NewCommitter();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kWritesPerThread; ++i) {
          const int n = t * kWritesPerThread + i;
          rocksdb::WriteBatch batch = PutBatch(absl::StrCat("k", n), absl::StrCat("v", n));
          committer->Submit(std::move(batch), [&, n](absl::Status s) {
            if (!s.ok()) ++failures;
            ++completions[n];
          });
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }  // The destructor commits what is still queued.
  EXPECT_EQ(failures.load(), 0);
  for (int n = 0; n < kThreads * kWritesPerThread; ++n) {
    ASSERT_EQ(completions[n].load(), 1) << n;
    ASSERT_EQ(Read(absl::StrCat("k", n)), absl::StrCat("v", n));
  }
}

TEST_F(GroupCommitterTest, ABatchThatCannotJoinTheGroupFailsAlone) {
  std::unique_ptr<GroupCommitter> committer = NewCommitter();
  // Hold every committing thread inside a completion, so that the next
  // three batches queue up and are committed as one group.
  absl::Notification release;
  absl::Notification holding[GroupCommitter::kThreads];
  for (int i = 0; i < GroupCommitter::kThreads; ++i) {
    committer->Submit(PutBatch(absl::StrCat("holder", i), "1"), [&, i](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      holding[i].Notify();
      release.WaitForNotification();
    });
    holding[i].WaitForNotification();
  }

  absl::Status before, stranger, after;
  absl::Notification done_before, done_stranger, done_after;
  committer->Submit(PutBatch("before", "2"), [&](absl::Status s) {
    before = s;
    done_before.Notify();
  });
  rocksdb::WriteBatch foreign;
  ASSERT_TRUE(foreign.Put(other_, "stranger", "x").ok());
  ASSERT_TRUE(foreign.Put(db_->DefaultColumnFamily(), "stranger_half", "y").ok());
  committer->Submit(std::move(foreign), [&](absl::Status s) {
    stranger = s;
    done_stranger.Notify();
  });
  committer->Submit(PutBatch("after", "3"), [&](absl::Status s) {
    after = s;
    done_after.Notify();
  });
  release.Notify();
  done_before.WaitForNotification();
  done_stranger.WaitForNotification();
  done_after.WaitForNotification();

  EXPECT_TRUE(before.ok()) << before;
  EXPECT_THAT(stranger, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(after.ok()) << after;
  EXPECT_EQ(Read("before"), "2");
  EXPECT_EQ(Read("after"), "3");
  // Nothing of the failed batch was written, not even its valid half.
  EXPECT_EQ(Read("stranger_half"), "<NotFound: >");
}

TEST_F(GroupCommitterTest, AnAcknowledgedWriteIsThereAfterReopening) {
  {
    std::unique_ptr<GroupCommitter> committer = NewCommitter();
    absl::Notification done;
    committer->Submit(PutBatch("durable", "yes"), [&](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      done.Notify();
    });
    done.WaitForNotification();
  }
  ASSERT_TRUE(db_->DestroyColumnFamilyHandle(other_).ok());
  other_ = nullptr;
  db_.reset();
  rocksdb::Options options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"other", rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir_.path(), families, &handles, &db).ok());
  db_.reset(db);
  ASSERT_TRUE(db_->DestroyColumnFamilyHandle(handles[0]).ok());
  other_ = handles[1];
  EXPECT_EQ(Read("durable"), "yes");
}

}  // namespace
}  // namespace keygate::storage
