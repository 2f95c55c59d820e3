// keygate-memlat: what one dependent memory access costs on this machine.
//
// Follows a random cycle of pointers through buffers of several sizes (one
// pointer per 64-byte line, so every step is a cache-line fetch that depends
// on the previous one: no prefetcher or out-of-order execution hides it).
// Beside keygate-microbench it tells how much of a key-cache miss, which
// chases ~12 such lines through RocksDB's index and block cache, is the
// machine's memory rather than Keygate's code (docs/performance-history.md).
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"

ABSL_FLAG(std::vector<std::string>, sizes_mb,
          std::vector<std::string>({"1", "8", "64", "512", "2048"}),
          "Buffer sizes to chase through, MiB");
ABSL_FLAG(int64_t, steps, 5'000'000, "Dependent loads timed per size");
ABSL_FLAG(bool, huge_pages, false,
          "Ask for transparent huge pages (madvise) for the buffers: fewer TLB misses");

namespace {

constexpr size_t kLine = 64;

// Nanoseconds per step of a random pointer cycle through `bytes` of memory.
double ChaseNs(size_t bytes, int64_t steps, bool huge_pages) {
  const size_t lines = bytes / kLine;
  const size_t alignment = size_t{2} << 20;
  const size_t rounded = (lines * kLine + alignment - 1) / alignment * alignment;
  char* buffer = static_cast<char*>(std::aligned_alloc(alignment, rounded));
  if (buffer == nullptr) {
    std::fprintf(stderr, "keygate-memlat: cannot allocate %zu bytes\n", rounded);
    std::exit(1);
  }
  if (huge_pages) madvise(buffer, rounded, MADV_HUGEPAGE);
  std::vector<size_t> order(lines);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
  for (size_t i = 0; i < lines; ++i) {
    *reinterpret_cast<char**>(buffer + order[i] * kLine) = buffer + order[(i + 1) % lines] * kLine;
  }
  char* p = buffer + order[0] * kLine;
  for (size_t i = 0; i < lines; ++i) p = *reinterpret_cast<char**>(p);  // Touch every line once.
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) p = *reinterpret_cast<char**>(p);
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  // The final pointer is used, so the loop cannot be optimised away.
  if (p == nullptr) std::abort();
  std::free(buffer);
  return ns / static_cast<double>(steps);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Prints the latency of one dependent memory access for buffers of several sizes");
  absl::ParseCommandLine(argc, argv);
  const bool huge_pages = absl::GetFlag(FLAGS_huge_pages);
  std::printf("%10s %12s\n", "MiB", "ns/access");
  for (const std::string& size : absl::GetFlag(FLAGS_sizes_mb)) {
    const size_t mb = std::strtoull(size.c_str(), nullptr, 10);
    if (mb == 0) {
      std::fprintf(stderr, "keygate-memlat: bad size '%s'\n", size.c_str());
      return 2;
    }
    std::printf("%10zu %12.1f\n", mb, ChaseNs(mb << 20, absl::GetFlag(FLAGS_steps), huge_pages));
    std::fflush(stdout);
  }
  return 0;
}
