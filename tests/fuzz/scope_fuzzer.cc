// Fuzzes scope parsing and the satisfaction rule. The input is split at
// '\n' into scope texts (at most 64).
//
// Invariants:
//  - ParseScope either fails with InvalidArgument or returns a scope whose
//    ToString() is exactly the input and parses back to the same scope;
//    a parsed resource is 1-64 characters of [a-z0-9_-] not starting with
//    '_' or '-';
//  - ParseScopes fails iff some text fails, and otherwise returns the
//    parsed scopes in first-seen order without duplicates;
//  - Satisfies is reflexive and transitive, matches the contract's rule
//    (resource empty or equal, level at least the required one), the
//    unrestricted `admin` satisfies everything, and AnySatisfies is "some
//    element satisfies".
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/core/scope.h"
#include "tests/fuzz/fuzz_check.h"

namespace keygate::fuzzing {
namespace {

constexpr size_t kMaxTexts = 64;

bool ValidResource(absl::string_view resource) {
  if (resource.empty() || resource.size() > core::kMaxResourceChars) return false;
  if (resource[0] == '_' || resource[0] == '-') return false;
  for (char c : resource) {
    const auto u = static_cast<unsigned char>(c);
    if (!(absl::ascii_islower(u) || absl::ascii_isdigit(u) || c == '_' || c == '-')) return false;
  }
  return true;
}

// The contract's rule, written out independently of core::Satisfies.
bool ContractSatisfies(const core::Scope& granted, const core::Scope& required) {
  return (granted.resource.empty() || granted.resource == required.resource) &&
         static_cast<int>(granted.level) >= static_cast<int>(required.level);
}

}  // namespace
}  // namespace keygate::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keygate::fuzzing;  // NOLINT
  namespace core = keygate::core;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> texts = absl::StrSplit(input, '\n');
  if (texts.size() > kMaxTexts) texts.resize(kMaxTexts);

  std::vector<core::Scope> parsed;  // Every text that parses, in order.
  bool all_ok = true;
  for (const std::string& text : texts) {
    const absl::StatusOr<core::Scope> scope = core::ParseScope(text);
    if (!scope.ok()) {
      FUZZ_CHECK(absl::IsInvalidArgument(scope.status()), "a bad scope is InvalidArgument");
      all_ok = false;
      continue;
    }
    FUZZ_CHECK(scope->ToString() == text, "a parsed scope prints as its (canonical) input");
    const absl::StatusOr<core::Scope> again = core::ParseScope(scope->ToString());
    FUZZ_CHECK(again.ok() && *again == *scope, "ToString round-trips");
    FUZZ_CHECK(scope->resource.empty() || ValidResource(scope->resource), "resource rule");
    const int level = static_cast<int>(scope->level);
    FUZZ_CHECK(level >= 1 && level <= 3, "level is read, write or admin");
    parsed.push_back(*scope);
  }

  const absl::StatusOr<core::ScopeList> all = core::ParseScopes(texts);
  FUZZ_CHECK(all.ok() == all_ok, "ParseScopes fails iff one scope fails");
  if (all.ok()) {
    core::ScopeList expected;
    for (const core::Scope& s : parsed) {
      bool seen = false;
      for (const core::Scope& e : expected) seen = seen || e == s;
      if (!seen) expected.push_back(s);
    }
    FUZZ_CHECK(*all == expected, "ParseScopes keeps first-seen order and drops duplicates");
  }

  // Satisfaction over every pair (and triple, bounded) of parsed scopes,
  // plus the three unrestricted levels.
  std::vector<core::Scope> pool = parsed;
  if (pool.size() > 16) pool.resize(16);
  pool.push_back(core::Scope{"", core::Level::kRead});
  pool.push_back(core::Scope{"", core::Level::kWrite});
  pool.push_back(core::Scope{"", core::Level::kAdmin});
  const core::Scope admin{"", core::Level::kAdmin};
  for (const core::Scope& a : pool) {
    FUZZ_CHECK(core::Satisfies(a, a), "Satisfies is reflexive");
    FUZZ_CHECK(core::Satisfies(admin, a), "admin satisfies everything");
    for (const core::Scope& b : pool) {
      const bool sat = core::Satisfies(a, b);
      FUZZ_CHECK(sat == ContractSatisfies(a, b), "Satisfies follows the contract's rule");
      if (!a.resource.empty() && !b.resource.empty() && a.resource != b.resource) {
        FUZZ_CHECK(!sat, "a scope of one resource never satisfies another resource");
      }
      if (!sat) continue;
      for (const core::Scope& c : pool) {
        if (core::Satisfies(b, c)) {
          FUZZ_CHECK(core::Satisfies(a, c), "Satisfies is transitive");
        }
      }
    }
    bool any = false;
    for (const core::Scope& g : parsed) any = any || core::Satisfies(g, a);
    FUZZ_CHECK(core::AnySatisfies(parsed, a) == any, "AnySatisfies is 'some element satisfies'");
  }
  return 0;
}
