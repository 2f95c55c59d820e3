// The check macro of Keygate's fuzz targets and a secret-search helper;
// header-only, no dependencies beyond Abseil strings.
#ifndef KEYGATE_TESTS_FUZZ_FUZZ_CHECK_H_
#define KEYGATE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

// Aborts (a libFuzzer finding; a failed replay test) when `cond` is false.
#define FUZZ_CHECK(cond, what)                                                       \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "FUZZ INVARIANT BROKEN at %s:%d: %s\n  (%s)\n", __FILE__, \
                   __LINE__, std::string(what).c_str(), #cond);                      \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

namespace keygate::fuzzing {

// Whether `text` contains `secret`, also ignoring ASCII case (a token must not
// appear in any casing).
inline bool ContainsSecret(absl::string_view text, absl::string_view secret) {
  if (secret.empty() || text.size() < secret.size()) return false;
  for (size_t i = 0; i + secret.size() <= text.size(); ++i) {
    if (absl::EqualsIgnoreCase(text.substr(i, secret.size()), secret)) return true;
  }
  return false;
}

}  // namespace keygate::fuzzing

#endif  // KEYGATE_TESTS_FUZZ_FUZZ_CHECK_H_
