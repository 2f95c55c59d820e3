// Human-friendly durations for flags and the CLI.
#ifndef KEYGATE_SERVER_CORE_DURATION_H_
#define KEYGATE_SERVER_CORE_DURATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace keygate::core {

// "90d", "36h", "1h30m", "45s", "0" -> duration (non-negative, finite).
// InvalidArgument otherwise.
absl::StatusOr<absl::Duration> ParseHumanDuration(absl::string_view text);

// A flag value holding such a duration: `--rotation_period=90d`.
struct HumanDuration {
  absl::Duration value = absl::ZeroDuration();
};
bool AbslParseFlag(absl::string_view text, HumanDuration* out, std::string* error);
std::string AbslUnparseFlag(HumanDuration d);

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_DURATION_H_
