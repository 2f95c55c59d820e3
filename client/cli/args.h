// Command-line parsing for the `keygate` CLI.
#ifndef KEYGATE_CLIENT_CLI_ARGS_H_
#define KEYGATE_CLIENT_CLI_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace keygate::cli {

// Parsed command line: positional words plus `--name value`, `--name=value`
// and boolean `--name` options, which may appear anywhere.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;  // Repeatable.
  std::set<std::string> switches;

  // The last value of `name`, or `fallback`.
  std::string Value(const std::string& name, const std::string& fallback = "") const;
  bool Has(const std::string& name) const { return values.count(name) > 0 || switches.count(name) > 0; }
};

// Parses `argv` (without the program name). `value_options` take a value;
// `switch_options` do not. InvalidArgument on an unknown option or a
// missing value.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::set<std::string>& value_options,
                               const std::set<std::string>& switch_options);

// InvalidArgument naming the first option in `args` that `command` does not
// accept.
absl::Status CheckAllowed(const Args& args, absl::string_view command,
                          const std::set<std::string>& allowed);

// `--expires`: a duration from `now` ("90d") or an RFC 3339 time.
absl::StatusOr<absl::Time> ParseExpiry(absl::string_view text, absl::Time now);

}  // namespace keygate::cli

#endif  // KEYGATE_CLIENT_CLI_ARGS_H_
