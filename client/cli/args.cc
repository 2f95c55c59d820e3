#include "client/cli/args.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/duration.h"

namespace keygate::cli {

std::string Args::Value(const std::string& name, const std::string& fallback) const {
  const auto it = values.find(name);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::set<std::string>& value_options,
                               const std::set<std::string>& switch_options) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word == "--") {
      args.positional.insert(args.positional.end(), argv.begin() + i + 1, argv.end());
      break;
    }
    if (!absl::StartsWith(word, "--") || word.size() == 2) {
      args.positional.push_back(word);
      continue;
    }
    std::string name = word.substr(2);
    std::string value;
    bool has_inline_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline_value = true;
    }
    if (switch_options.count(name) > 0) {
      if (has_inline_value) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      }
      args.switches.insert(name);
    } else if (value_options.count(name) > 0) {
      if (!has_inline_value) {
        if (i + 1 >= argv.size()) {
          return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        }
        value = argv[++i];
      }
      args.values[name].push_back(value);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name));
    }
  }
  return args;
}

absl::Status CheckAllowed(const Args& args, absl::string_view command,
                          const std::set<std::string>& allowed) {
  auto check = [&](const std::string& name) -> absl::Status {
    if (allowed.count(name) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", command, "' does not take --", name));
    }
    return absl::OkStatus();
  };
  for (const auto& [name, unused] : args.values) {
    if (absl::Status s = check(name); !s.ok()) return s;
  }
  for (const std::string& name : args.switches) {
    if (absl::Status s = check(name); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> ParseExpiry(absl::string_view text, absl::Time now) {
  if (absl::StatusOr<absl::Duration> d = core::ParseHumanDuration(text); d.ok()) return now + *d;
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return t;
  return absl::InvalidArgumentError(absl::StrCat(
      "--expires '", text, "' is neither a duration (90d, 24h) nor an RFC 3339 time"));
}

}  // namespace keygate::cli
