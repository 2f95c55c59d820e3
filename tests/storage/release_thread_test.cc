#include "storage/release_thread.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace keygate::storage {
namespace {

// Records where and whether the record it deletes was destroyed.
struct DestroyProbe {
  std::thread::id thread;
  absl::Notification destroyed;
};

core::SharedKeyRecord ProbedRecord(const std::shared_ptr<DestroyProbe>& probe) {
  return core::SharedKeyRecord(new core::KeyRecord(), [probe](const core::KeyRecord* record) {
    probe->thread = std::this_thread::get_id();
    delete record;
    probe->destroyed.Notify();
  });
}

TEST(ReleaseThreadTest, DestroysRecordsOnItsOwnThread) {
  ReleaseThread release;
  auto probe = std::make_shared<DestroyProbe>();
  std::vector<core::SharedKeyRecord> records = {ProbedRecord(probe)};
  release.Release(&records);
  EXPECT_TRUE(records.empty());
  ASSERT_TRUE(probe->destroyed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_NE(probe->thread, std::this_thread::get_id());
}

TEST(ReleaseThreadTest, ARecordSharedElsewhereLivesOn) {
  ReleaseThread release;
  auto probe = std::make_shared<DestroyProbe>();
  core::SharedKeyRecord kept = ProbedRecord(probe);
  std::vector<core::SharedKeyRecord> records = {kept};
  release.Release(&records);
  // Long enough for several batches of the thread.
  EXPECT_FALSE(probe->destroyed.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  kept.reset();
  EXPECT_TRUE(probe->destroyed.HasBeenNotified());
}

TEST(ReleaseThreadTest, NothingPendingOutlivesTheThread) {
  std::vector<std::shared_ptr<DestroyProbe>> probes;
  {
    ReleaseThread release;
    for (int batch = 0; batch < 50; ++batch) {
      std::vector<core::SharedKeyRecord> records;
      for (int i = 0; i < 100; ++i) {
        probes.push_back(std::make_shared<DestroyProbe>());
        records.push_back(ProbedRecord(probes.back()));
      }
      release.Release(&records);
    }
  }
  for (const auto& probe : probes) EXPECT_TRUE(probe->destroyed.HasBeenNotified());
}

}  // namespace
}  // namespace keygate::storage
