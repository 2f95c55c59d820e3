// Scopes: `level` or `resource:level`, with levels read < write < admin.
#ifndef KEYGATE_SERVER_CORE_SCOPE_H_
#define KEYGATE_SERVER_CORE_SCOPE_H_

#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace keygate::core {

enum class Level { kRead = 1, kWrite = 2, kAdmin = 3 };

// `read`, `write` or `admin`.
absl::string_view LevelName(Level level);

// A parsed scope. An empty resource means "every resource".
struct Scope {
  std::string resource;
  Level level = Level::kRead;

  // Canonical text form: `read`, `flows:write`.
  std::string ToString() const;
  friend bool operator==(const Scope& a, const Scope& b) {
    return a.level == b.level && a.resource == b.resource;
  }
};

// A key's scopes. Most keys have one or two, held inline: in a cached key
// record they share its cache lines, so an Authorize decision does not wait
// for a separate heap read.
inline constexpr size_t kInlineScopes = 2;
using ScopeList = absl::InlinedVector<Scope, kInlineScopes>;

inline constexpr size_t kMaxResourceChars = 64;

// Parses `read`, `write`, `admin` or `resource:level` where resource is 1-64
// characters of [a-z0-9_-] starting with a letter or digit. Returns
// InvalidArgument (naming the problem) otherwise.
absl::StatusOr<Scope> ParseScope(absl::string_view text);

// Whether `granted` satisfies `required`: its resource is empty or equal and
// its level is at least the required one. `write` satisfies `flows:read`;
// `flows:write` does not satisfy `runs:read`; `admin` satisfies everything.
bool Satisfies(const Scope& granted, const Scope& required);

// Whether any of `granted` satisfies `required`.
bool AnySatisfies(absl::Span<const Scope> granted, const Scope& required);

// Parses every scope of `texts` (InvalidArgument on the first bad one) and
// returns them in order with duplicates removed.
absl::StatusOr<ScopeList> ParseScopes(absl::Span<const std::string> texts);

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_SCOPE_H_
