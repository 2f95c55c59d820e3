#include "server/core/usage_tally.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace keygate::core {
namespace {

constexpr int64_t kDay = 20'000;

TEST(UsageTallyTest, CountsUntilTakenAndSignalsTheFirstCountOfEachInterval) {
  UsageTally tally;
  EXPECT_EQ(tally.Add(kDay, true, 100), UsageTally::Added::kFirst);
  EXPECT_EQ(tally.Add(kDay, false, 300), UsageTally::Added::kCounted);
  EXPECT_EQ(tally.Add(kDay, true, 200), UsageTally::Added::kCounted);
  UsageTally::Taken taken = tally.Take();
  EXPECT_EQ(taken.day, kDay);
  EXPECT_EQ(taken.allowed, 2u);
  EXPECT_EQ(taken.denied, 1u);
  EXPECT_EQ(taken.last_used_us, 300);  // The latest, not the last added.

  taken = tally.Take();  // Empty now.
  EXPECT_EQ(taken.allowed + taken.denied, 0u);
  EXPECT_EQ(tally.Add(kDay + 1, false, 400), UsageTally::Added::kFirst);
  taken = tally.Take();
  EXPECT_EQ(taken.day, kDay + 1);
  EXPECT_EQ(taken.denied, 1u);
  EXPECT_EQ(taken.last_used_us, 400);
}

TEST(UsageTallyTest, RefusesAnotherDayUntilTaken) {
  UsageTally tally;
  ASSERT_EQ(tally.Add(kDay, true, 1), UsageTally::Added::kFirst);
  EXPECT_EQ(tally.Add(kDay + 1, true, 2), UsageTally::Added::kRefused);
  EXPECT_EQ(tally.Add(kDay - 1, true, 3), UsageTally::Added::kRefused);
  const UsageTally::Taken taken = tally.Take();
  EXPECT_EQ(taken.day, kDay);
  EXPECT_EQ(taken.allowed, 1u);
  EXPECT_EQ(taken.last_used_us, 3);  // A refused answer still moves the last use.
  EXPECT_EQ(tally.Add(kDay + 1, true, 4), UsageTally::Added::kFirst);
}

TEST(UsageTallyTest, RefusesDaysOutOfRange) {
  UsageTally tally;
  EXPECT_EQ(tally.Add(0, true, 1), UsageTally::Added::kRefused);
  EXPECT_EQ(tally.Add(-5, true, 1), UsageTally::Added::kRefused);
  EXPECT_EQ(tally.Add(UsageTally::kMaxDay + 1, true, 1), UsageTally::Added::kRefused);
  EXPECT_EQ(tally.Add(UsageTally::kMaxDay, true, 1), UsageTally::Added::kFirst);
  EXPECT_EQ(tally.Take().day, UsageTally::kMaxDay);
}

TEST(UsageTallyTest, RefusesACountThatWouldOverflowAndKeepsTheOther) {
  UsageTally tally;
  for (uint64_t i = 0; i < UsageTally::kMaxCount; ++i) {
    ASSERT_NE(tally.Add(kDay, true, 1), UsageTally::Added::kRefused) << i;
  }
  EXPECT_EQ(tally.Add(kDay, true, 1), UsageTally::Added::kRefused);
  EXPECT_EQ(tally.Add(kDay, false, 1), UsageTally::Added::kCounted);  // Denied has room.
  const UsageTally::Taken taken = tally.Take();
  EXPECT_EQ(taken.allowed, UsageTally::kMaxCount);
  EXPECT_EQ(taken.denied, 1u);
  EXPECT_EQ(taken.day, kDay);
}

TEST(UsageTallyTest, ACopyStartsEmpty) {
  UsageTally tally;
  tally.Add(kDay, true, 1);
  UsageTally copy(tally);
  EXPECT_EQ(copy.Take().allowed, 0u);
  UsageTally assigned;
  assigned.Add(kDay, false, 1);
  assigned = tally;  // Keeps its own counts.
  EXPECT_EQ(assigned.Take().denied, 1u);
  EXPECT_EQ(tally.Take().allowed, 1u);
}

TEST(UsageTallyTest, ConcurrentAddsAndTakesCountEveryAnswerOnce) {
  constexpr int kThreads = 4;
  constexpr int kAdds = 200'000;
  UsageTally tally;
  std::atomic<int> running{kThreads};
  std::atomic<uint64_t> firsts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAdds; ++i) {
        if (tally.Add(kDay, (i + t) % 3 != 0, i) == UsageTally::Added::kFirst) ++firsts;
      }
      --running;
    });
  }
  uint64_t allowed = 0, denied = 0, nonempty_takes = 0;
  auto take = [&] {
    const UsageTally::Taken taken = tally.Take();
    allowed += taken.allowed;
    denied += taken.denied;
    if (taken.allowed + taken.denied > 0) ++nonempty_takes;
  };
  while (running.load() > 0) take();
  for (std::thread& thread : threads) thread.join();
  take();
  uint64_t want_allowed = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kAdds; ++i) want_allowed += (i + t) % 3 != 0;
  }
  EXPECT_EQ(allowed, want_allowed);
  EXPECT_EQ(allowed + denied, uint64_t{kThreads} * kAdds);
  // Each non-empty take emptied exactly one interval that a kFirst began.
  EXPECT_EQ(firsts.load(), nonempty_takes);
}

}  // namespace
}  // namespace keygate::core
