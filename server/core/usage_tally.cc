#include "server/core/usage_tally.h"

namespace keygate::core {
namespace {

constexpr int kDayShift = 48;
constexpr int kAllowedShift = 24;
constexpr uint64_t kCountMask = UsageTally::kMaxCount;
constexpr uint64_t kCountsMask = (uint64_t{1} << kDayShift) - 1;

uint64_t AllowedOf(uint64_t word) { return (word >> kAllowedShift) & kCountMask; }
uint64_t DeniedOf(uint64_t word) { return word & kCountMask; }

}  // namespace

UsageTally::Added UsageTally::Add(int64_t day, bool allowed, int64_t now_us) {
  // The last use first: the release of the count below publishes it to the
  // Take() that collects the count. A plain store, not a compare-exchange
  // loop: calls racing on two threads may leave the earlier of their times,
  // which is off by no more than the race.
  if (now_us > last_used_us_.load(std::memory_order_relaxed)) {
    last_used_us_.store(now_us, std::memory_order_relaxed);
  }
  if (day < 1 || day > kMaxDay) return Added::kRefused;
  const uint64_t day_bits = static_cast<uint64_t>(day) << kDayShift;
  const uint64_t one = allowed ? uint64_t{1} << kAllowedShift : 1;
  uint64_t word = counts_.load(std::memory_order_relaxed);
  for (;;) {
    const bool empty = (word & kCountsMask) == 0;
    if (!empty) {
      if ((word & ~kCountsMask) != day_bits) return Added::kRefused;
      if ((allowed ? AllowedOf(word) : DeniedOf(word)) == kMaxCount) return Added::kRefused;
    }
    const uint64_t next = (empty ? day_bits : word) + one;
    if (counts_.compare_exchange_weak(word, next, std::memory_order_release,
                                      std::memory_order_relaxed)) {
      return empty ? Added::kFirst : Added::kCounted;
    }
  }
}

UsageTally::Taken UsageTally::Take() {
  const uint64_t word = counts_.exchange(0, std::memory_order_acquire);
  Taken taken;
  taken.day = static_cast<int64_t>(word >> kDayShift);
  taken.allowed = AllowedOf(word);
  taken.denied = DeniedOf(word);
  taken.last_used_us = last_used_us_.load(std::memory_order_relaxed);
  return taken;
}

}  // namespace keygate::core
