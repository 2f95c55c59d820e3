// Authorize answers counted in the key record itself, between usage flushes.
#ifndef KEYGATE_SERVER_CORE_USAGE_TALLY_H_
#define KEYGATE_SERVER_CORE_USAGE_TALLY_H_

#include <atomic>
#include <cstdint>
#include <limits>

namespace keygate::core {

// The allowed and denied answers one record object gave on one UTC day since
// they were last taken, and its last use. Counting touches only this object,
// which the call has just read: no table lookup, no lock. Add() and Take()
// are thread-safe and lock-free; every count added is taken exactly once.
//
// A tally belongs to one object: a copy starts empty (copying a record does
// not copy its pending counts).
class UsageTally {
 public:
  // The largest count of one kind that one tally holds between takes.
  static constexpr uint64_t kMaxCount = (uint64_t{1} << 24) - 1;
  // Days are numbered from 1970-01-01 (day 0); a tally counts days
  // 1..kMaxDay (until the year 2149).
  static constexpr int64_t kMaxDay = (int64_t{1} << 16) - 1;

  enum class Added {
    kCounted,  // Counted; the tally already held counts.
    kFirst,    // Counted, and the first count since the last Take(): the
               // caller must arrange for this tally to be taken.
    kRefused,  // Not counted: the tally holds counts of another day, the
               // count would overflow, or `day` is out of range. The
               // caller counts the answer elsewhere.
  };

  struct Taken {
    int64_t day = 0;  // Meaningless when both counts are 0.
    uint64_t allowed = 0;
    uint64_t denied = 0;
    // The latest `now_us` of any Add(), counted or not (of Add()s racing
    // on two threads, possibly the earlier); never reset.
    int64_t last_used_us = std::numeric_limits<int64_t>::min();
  };

  UsageTally() = default;
  UsageTally(const UsageTally&) {}
  UsageTally& operator=(const UsageTally&) { return *this; }

  // Counts one answer given on `day` at `now_us` (Unix microseconds).
  Added Add(int64_t day, bool allowed, int64_t now_us);
  // Returns the counts and empties the tally.
  Taken Take();

 private:
  // day (16 bits) | allowed (24 bits) | denied (24 bits).
  std::atomic<uint64_t> counts_{0};
  std::atomic<int64_t> last_used_us_{std::numeric_limits<int64_t>::min()};
};

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_USAGE_TALLY_H_
