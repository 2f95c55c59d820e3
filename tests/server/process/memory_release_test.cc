#include "server/process/memory_release.h"

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace keygate::process {
namespace {

// Anonymous resident memory of this process, from /proc/self/status.
long RssAnonKb() {
  std::ifstream status("/proc/self/status");
  std::string field;
  long kb = -1;
  while (status >> field) {
    if (field == "RssAnon:") {
      status >> kb;
      break;
    }
  }
  return kb;
}

// Built twice: on glibc malloc, and on jemalloc (the other choice of
// KEYGATE_MALLOC); each binary checks that it runs on the one expected.
TEST(MemoryReleaseTest, RunsOnTheAllocatorItWasBuiltWith) {
  const std::string name = MallocName();
  EXPECT_EQ(name.rfind(KEYGATE_EXPECTED_MALLOC " ", 0), 0u)
      << "allocator: " << name << ", expected " << KEYGATE_EXPECTED_MALLOC;
}

TEST(MemoryReleaseTest, ReturnsFreedPagesInsideTheHeapToTheKernel) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizer's allocator replaces malloc";
#endif
  // 64 MiB in 4 KiB blocks, then every block but one in 64 freed: the heap
  // cannot shrink from its top, so the freed pages stay resident until
  // released.
  constexpr size_t kBlock = 4096, kBlocks = 16384;
  std::vector<std::unique_ptr<char[]>> blocks(kBlocks);
  for (auto& block : blocks) {
    block.reset(new char[kBlock]);
    for (size_t i = 0; i < kBlock; i += 512) block[i] = 1;
  }
  for (size_t i = 0; i < kBlocks; ++i) {
    if (i % 64 != 0) blocks[i].reset();
  }
  const long before_kb = RssAnonKb();
  ASSERT_GT(before_kb, 0) << "no RssAnon in /proc/self/status";

  EXPECT_TRUE(ReleaseFreeHeapPages());

  const long after_kb = RssAnonKb();
  EXPECT_LT(after_kb, before_kb - 32 * 1024)
      << "freed 63 MiB, resident before " << before_kb << " KiB, after " << after_kb << " KiB";
}

TEST(MemoryReleaseTest, DestructionDoesNotWaitOutTheInterval) {
  auto release = std::make_unique<PeriodicMemoryRelease>(absl::Hours(1));
  absl::SleepFor(absl::Milliseconds(10));
  const absl::Time start = absl::Now();
  release.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace keygate::process
