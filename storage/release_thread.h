// Destroys evicted key records on a thread of its own. A record leaves the
// key cache long after it was last read, so its memory is cold: destroying it
// costs ~8 last-level cache misses (its fields, then each heap string's
// allocation), ~4 µs on a VM, which the Authorize call whose fill evicted it
// would otherwise wait for.
#ifndef KEYGATE_STORAGE_RELEASE_THREAD_H_
#define KEYGATE_STORAGE_RELEASE_THREAD_H_

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/core/key_record.h"

namespace keygate::storage {

// Takes shared records and drops its references to them on its thread
// (`kg-cache-free`), in batches. A record still shared elsewhere lives on
// with its other owners. Thread-safe.
class ReleaseThread {
 public:
  // Records waiting beyond this are released by the thread that adds them,
  // which bounds the memory held when the thread falls behind.
  static constexpr size_t kMaxPending = 4096;

  ReleaseThread();
  // Releases what is still pending, then joins the thread.
  ~ReleaseThread();

  ReleaseThread(const ReleaseThread&) = delete;
  ReleaseThread& operator=(const ReleaseThread&) = delete;

  // Takes every record of `records` and leaves it empty. Never blocks for
  // longer than a push under a lock (or, past kMaxPending, the release).
  void Release(std::vector<core::SharedKeyRecord>* records);

 private:
  void Run();

  absl::Mutex mu_;
  // Signalled when pending_ stops being empty (once per batch, not per
  // record: a waiter on the mutex itself would make every unlock slower).
  absl::CondVar has_work_;
  absl::CondVar stop_;  // Signalled once, by the destructor.
  std::vector<core::SharedKeyRecord> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // Last: starts once the members above exist.
};

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_RELEASE_THREAD_H_
