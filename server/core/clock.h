// Time source, injectable so tests control expiry and grace periods.
#ifndef KEYGATE_SERVER_CORE_CLOCK_H_
#define KEYGATE_SERVER_CORE_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace keygate::core {

// A source of the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide wall clock.
  static Clock& Real();
};

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_CLOCK_H_
