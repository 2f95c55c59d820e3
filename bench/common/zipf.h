// Zipf-distributed ranks: P(rank k) proportional to 1 / (k + 1)^s.
#ifndef KEYGATE_BENCH_COMMON_ZIPF_H_
#define KEYGATE_BENCH_COMMON_ZIPF_H_

#include <cstddef>
#include <random>
#include <vector>

namespace keygate::bench {

// Samples ranks in [0, n) from a precomputed cumulative distribution
// (8 bytes per rank) by binary search. Immutable after construction; Sample
// is safe to call from many threads, each with its own generator.
class ZipfDistribution {
 public:
  // `n` >= 1, `s` >= 0 (0: uniform).
  ZipfDistribution(size_t n, double s);

  size_t Sample(std::mt19937_64& rng) const;
  size_t size() const { return cdf_.size(); }

 private:
  std::vector<double> cdf_;  // cdf_[k] = sum of weights of ranks 0..k; last is 1.
};

}  // namespace keygate::bench

#endif  // KEYGATE_BENCH_COMMON_ZIPF_H_
