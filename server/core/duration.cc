#include "server/core/duration.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace keygate::core {

absl::StatusOr<absl::Duration> ParseHumanDuration(absl::string_view text) {
  int64_t days = 0;
  if (absl::EndsWith(text, "d") && absl::SimpleAtoi(text.substr(0, text.size() - 1), &days) &&
      days >= 0 && days <= 1000000) {
    return absl::Hours(24 * days);
  }
  absl::Duration d;
  if (absl::ParseDuration(text, &d) && d >= absl::ZeroDuration() &&
      d != absl::InfiniteDuration()) {
    return d;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not a duration (e.g. 90d, 24h, 30m, 500ms)"));
}

bool AbslParseFlag(absl::string_view text, HumanDuration* out, std::string* error) {
  absl::StatusOr<absl::Duration> d = ParseHumanDuration(text);
  if (!d.ok()) {
    *error = std::string(d.status().message());
    return false;
  }
  out->value = *d;
  return true;
}

std::string AbslUnparseFlag(HumanDuration d) {
  if (d.value >= absl::Hours(24) && d.value % absl::Hours(24) == absl::ZeroDuration()) {
    return absl::StrCat(absl::IDivDuration(d.value, absl::Hours(24), &d.value), "d");
  }
  return absl::FormatDuration(d.value);
}

}  // namespace keygate::core
