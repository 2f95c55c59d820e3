// The tokens keygate-bench sends: Zipf-popular known keys plus a share of
// malformed, unknown and revoked tokens.
#ifndef KEYGATE_BENCH_LOAD_GENERATOR_TOKEN_MIX_H_
#define KEYGATE_BENCH_LOAD_GENERATOR_TOKEN_MIX_H_

#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "bench/common/token_list.h"
#include "bench/common/zipf.h"
#include "server/core/token.h"

namespace keygate::bench {

// Draws tokens: with probability 1 - invalid_fraction a known token, by
// Zipf(s) over `known` in file order (line 1 the most popular); otherwise,
// in equal shares, a malformed token (bad checksum, truncated, or foreign
// prefix), a well-formed unknown token, or a revoked token (uniformly; its
// share goes to unknown tokens if `revoked` is empty). Immutable after
// construction; Next is thread-safe given a generator per thread.
class TokenMix {
 public:
  // `known` (not empty) and `revoked` must outlive the mix.
  TokenMix(const TokenList* known, const TokenList* revoked, const core::TokenFormat& format,
           double zipf_s, double invalid_fraction);

  absl::string_view Next(std::mt19937_64& rng) const;

 private:
  static constexpr int kPoolSize = 1024;

  const TokenList* const known_;
  const TokenList* const revoked_;
  const ZipfDistribution zipf_;
  const double invalid_fraction_;
  std::vector<std::string> malformed_;
  std::vector<std::string> unknown_;
};

}  // namespace keygate::bench

#endif  // KEYGATE_BENCH_LOAD_GENERATOR_TOKEN_MIX_H_
