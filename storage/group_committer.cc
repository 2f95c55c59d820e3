#include "storage/group_committer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "server/core/log.h"
#include "server/core/thread_name.h"
#include "storage/rocks_status.h"

namespace keygate::storage {
namespace {

// Replays one batch's operations into the group's batch.
class Replay : public rocksdb::WriteBatch::Handler {
 public:
  Replay(const std::vector<rocksdb::ColumnFamilyHandle*>& families, rocksdb::WriteBatch* group)
      : families_(families), group_(group) {}

  rocksdb::Status PutCF(uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    rocksdb::ColumnFamilyHandle* handle = Family(family);
    if (handle == nullptr) return UnknownFamily();
    return group_->Put(handle, key, value);
  }
  rocksdb::Status DeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    rocksdb::ColumnFamilyHandle* handle = Family(family);
    if (handle == nullptr) return UnknownFamily();
    return group_->Delete(handle, key);
  }
  rocksdb::Status MergeCF(uint32_t family, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    rocksdb::ColumnFamilyHandle* handle = Family(family);
    if (handle == nullptr) return UnknownFamily();
    return group_->Merge(handle, key, value);
  }

 private:
  rocksdb::ColumnFamilyHandle* Family(uint32_t id) const {
    for (rocksdb::ColumnFamilyHandle* handle : families_) {
      if (handle->GetID() == id) return handle;
    }
    return nullptr;
  }
  static rocksdb::Status UnknownFamily() {
    return rocksdb::Status::InvalidArgument("batch writes a family the committer does not know");
  }

  const std::vector<rocksdb::ColumnFamilyHandle*>& families_;
  rocksdb::WriteBatch* const group_;
};

}  // namespace

GroupCommitter::GroupCommitter(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> families)
    : db_(db), families_(std::move(families)) {
  for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this] { Run(); });
}

GroupCommitter::~GroupCommitter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void GroupCommitter::Submit(rocksdb::WriteBatch batch, Done done) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(Pending{std::move(batch), std::move(done)});
}

void GroupCommitter::Run() {
  core::NameThisThread("kg-commit");
  std::vector<Pending> group;
  group.reserve(kMaxGroupBatches);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](GroupCommitter* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return !self->queue_.empty() || self->stopping_;
          },
          this));
      if (queue_.empty()) return;  // Stopping, and everything is committed.
      while (!queue_.empty() && group.size() < kMaxGroupBatches) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Commit(group);
    group.clear();
  }
}

void GroupCommitter::Commit(std::vector<Pending>& group) {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  // Completions log (an access-log line per call): a group's lines go out in
  // a few writes.
  core::LogBatch log_lines;
  if (group.size() == 1) {  // Nothing to merge.
    Pending& only = group.front();
    only.done(FromRocks(db_->Write(sync, &only.batch), "commit"));
    return;
  }
  rocksdb::WriteBatch merged;
  Replay replay(families_, &merged);
  std::vector<absl::Status> joined(group.size());
  bool any = false;
  for (size_t i = 0; i < group.size(); ++i) {
    merged.SetSavePoint();
    const rocksdb::Status s = group[i].batch.Iterate(&replay);
    if (s.ok()) {
      merged.PopSavePoint().PermitUncheckedError();
      any = true;
    } else {
      merged.RollbackToSavePoint().PermitUncheckedError();
      joined[i] = absl::InvalidArgumentError(absl::StrCat("commit: ", s.ToString()));
    }
  }
  const absl::Status written =
      any ? FromRocks(db_->Write(sync, &merged), "commit") : absl::OkStatus();
  for (size_t i = 0; i < group.size(); ++i) group[i].done(joined[i].ok() ? written : joined[i]);
}

}  // namespace keygate::storage
