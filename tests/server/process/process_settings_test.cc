#include "server/process/process_settings.h"

#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace keygate::process {
namespace {

// Takes two mutexes in one order, then in the other: the inversion that
// Abseil's deadlock detection reports.
void LockInBothOrders() {
  absl::Mutex a;
  absl::Mutex b;
  {
    absl::MutexLock first(&a);
    absl::MutexLock second(&b);
  }
  {
    absl::MutexLock first(&b);
    absl::MutexLock second(&a);
  }
}

TEST(ProcessSettingsTest, TurnsOffMutexDeadlockDetection) {
  // Each case runs in a child process: the mode is process-wide.
  EXPECT_EXIT(
      {
        ApplyServerProcessSettings();
        LockInBothOrders();
        std::exit(0);
      },
      testing::ExitedWithCode(0), "");
}

TEST(ProcessSettingsTest, DetectionIsOnWithoutThem) {
  // What the setting turns off: Debian's Abseil checks every lock's order,
  // and aborts on an inversion. Where a build leaves it off, there is
  // nothing to turn off.
  bool detecting = false;
  EXPECT_EXIT(
      {
        LockInBothOrders();
        std::exit(0);
      },
      [&detecting](int status) {
        detecting = !testing::ExitedWithCode(0)(status);
        return true;
      },
      "");
  if (!detecting) GTEST_SKIP() << "this Abseil build does not detect lock-order inversions";
}

}  // namespace
}  // namespace keygate::process
