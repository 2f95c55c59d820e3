#include "storage/release_thread.h"

#include <utility>

#include "absl/time/time.h"
#include "server/core/thread_name.h"

namespace keygate::storage {
namespace {

// How long the thread lets records gather after a batch: under steady
// evictions it wakes ~100 times a second, not once per record.
constexpr absl::Duration kBatchInterval = absl::Milliseconds(10);

}  // namespace

ReleaseThread::ReleaseThread() : thread_([this] { Run(); }) {}

ReleaseThread::~ReleaseThread() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    has_work_.Signal();
    stop_.Signal();
  }
  thread_.join();
}

void ReleaseThread::Release(std::vector<core::SharedKeyRecord>* records) {
  if (records->empty()) return;
  {
    absl::MutexLock lock(&mu_);
    if (pending_.size() < kMaxPending) {
      if (pending_.empty()) has_work_.Signal();
      pending_.insert(pending_.end(), std::make_move_iterator(records->begin()),
                      std::make_move_iterator(records->end()));
      records->clear();
      return;
    }
  }
  records->clear();  // The thread is behind: release here, after the lock.
}

void ReleaseThread::Run() {
  core::NameThisThread("kg-cache-free");
  std::vector<core::SharedKeyRecord> batch;
  absl::MutexLock lock(&mu_);
  while (true) {
    while (!stopping_ && pending_.empty()) has_work_.Wait(&mu_);
    if (stopping_ && pending_.empty()) return;
    batch.swap(pending_);
    mu_.Unlock();
    batch.clear();
    mu_.Lock();
    // Let the next batch gather; a stop ends the wait.
    if (!stopping_) stop_.WaitWithTimeout(&mu_, kBatchInterval);
  }
}

}  // namespace keygate::storage
