// A budget that keeps retries a small fraction of calls, so that a struggling
// server is not hit by a retry storm.
#ifndef KEYGATE_CLIENT_RETRY_BUDGET_H_
#define KEYGATE_CLIENT_RETRY_BUDGET_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace keygate {

// Every call deposits `ratio` of a retry; a retry withdraws a whole one; at
// most `max_saved` are kept (and the budget starts full). With the defaults
// retries stay under ~10% of calls plus a burst of 10. Thread-safe.
class RetryBudget {
 public:
  explicit RetryBudget(double ratio = 0.1, double max_saved = 10)
      : ratio_(ratio), max_saved_(max_saved), saved_(max_saved) {}

  void Deposit() {
    absl::MutexLock lock(&mu_);
    saved_ = saved_ + ratio_ > max_saved_ ? max_saved_ : saved_ + ratio_;
  }

  // Whether a retry may be made now (and if so, pays for it).
  bool TryWithdraw() {
    absl::MutexLock lock(&mu_);
    if (saved_ < 1) return false;
    saved_ -= 1;
    return true;
  }

 private:
  const double ratio_;
  const double max_saved_;
  absl::Mutex mu_;
  double saved_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keygate

#endif  // KEYGATE_CLIENT_RETRY_BUDGET_H_
