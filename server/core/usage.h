// Key usage: per-day allowed/denied counts, last use and client addresses.
#ifndef KEYGATE_SERVER_CORE_USAGE_H_
#define KEYGATE_SERVER_CORE_USAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace keygate::core {

// Counts of one key on one UTC day.
struct DailyUsage {
  absl::CivilDay day;
  uint64_t allowed = 0;
  uint64_t denied = 0;
};

// When a client address last used a key.
struct ClientSeen {
  std::string address;
  absl::Time last_seen = absl::InfinitePast();
};

// Usage of one key: what GetKeyUsage reports, and (as a delta) what a flush
// adds to storage. Counts add up; times take the maximum.
struct KeyUsage {
  std::string key_id;
  absl::Time last_used = absl::InfinitePast();  // InfinitePast: never.
  // Oldest first. A flush's delta nearly always holds one day: inline, so
  // the millions of deltas a busy server makes allocate nothing for it.
  absl::InlinedVector<DailyUsage, 1> days;
  std::vector<ClientSeen> clients;              // Most recent first.
};

inline constexpr int kUsageRetentionDays = 90;

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_USAGE_H_
