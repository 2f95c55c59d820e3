// The token files written by keygate-preload: one token per line.
#ifndef KEYGATE_BENCH_COMMON_TOKEN_LIST_H_
#define KEYGATE_BENCH_COMMON_TOKEN_LIST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace keygate::bench {

// The lines of a token file, held in one buffer (10M tokens take ~0.5 GB).
// Immutable after loading; safe for concurrent reads.
class TokenList {
 public:
  // Reads `path`. Empty lines are skipped. Returns NotFound/Unavailable if
  // the file cannot be read.
  static absl::StatusOr<TokenList> Load(const std::string& path);

  size_t size() const { return starts_.empty() ? 0 : starts_.size() - 1; }
  bool empty() const { return size() == 0; }
  absl::string_view operator[](size_t i) const {
    return absl::string_view(text_.data() + starts_[i], starts_[i + 1] - starts_[i] - 1);
  }

 private:
  std::string text_;              // Each token followed by '\n'.
  std::vector<uint64_t> starts_;  // Offsets of each token, then text_.size().
};

}  // namespace keygate::bench

#endif  // KEYGATE_BENCH_COMMON_TOKEN_LIST_H_
