// Durable writes committed in groups by threads that also complete them, so
// that a caller never blocks on an fsync and a group costs one wake-up.
#ifndef KEYGATE_STORAGE_GROUP_COMMITTER_H_
#define KEYGATE_STORAGE_GROUP_COMMITTER_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/write_batch.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace keygate::storage {

// Takes write batches from many threads and commits everything queued as
// one synced RocksDB write, on a committing thread, which then completes
// each. Two such threads take turns: while one waits for the disk, the other
// completes its previous group and gathers the next (RocksDB orders their
// writes). A batch committed alone is written as it is. A batch that joins a
// group may hold puts, deletes and merges of the families given at
// construction; one that cannot (another operation, an unknown family)
// fails alone with InvalidArgument, and nothing of it is written. If a
// group's write fails, every batch of that group fails with its error.
//
// `done` runs on a committing thread, exactly once per Submit: with OK once
// the batch is durable, or with the error. It must not block for long (it
// delays later groups) and must not destroy the committer. Batches of one
// thread may complete in any order. Thread-safe. The destructor commits
// everything already queued and runs its `done`s, then joins.
class GroupCommitter {
 public:
  using Done = std::function<void(absl::Status)>;

  // The most batches committed in one write; more wait for the next group.
  static constexpr size_t kMaxGroupBatches = 256;

  static constexpr int kThreads = 2;

  // `db` and `families` must outlive this. Starts the threads.
  GroupCommitter(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> families);
  ~GroupCommitter();

  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void Submit(rocksdb::WriteBatch batch, Done done);

 private:
  struct Pending {
    rocksdb::WriteBatch batch;
    Done done;
  };

  void Run();
  // Commits `group` as one synced write and completes each batch.
  void Commit(std::vector<Pending>& group);

  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> families_;
  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_GROUP_COMMITTER_H_
