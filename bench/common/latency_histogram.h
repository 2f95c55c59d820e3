// A fixed-size log-linear histogram of durations in nanoseconds, in the
// manner of HdrHistogram: exact below 256 ns, then 128 buckets per power of
// two, so every reported percentile is within 0.8% of the recorded value.
#ifndef KEYGATE_BENCH_COMMON_LATENCY_HISTOGRAM_H_
#define KEYGATE_BENCH_COMMON_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace keygate::bench {

// Not thread-safe: keep one per thread and Merge() them.
class LatencyHistogram {
 public:
  // Counts one duration. Values beyond ~2^63 ns are clamped.
  void Record(uint64_t nanos);
  // Adds every count of `other` to this one.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }
  // The value at quantile `q` in [0, 1] (0 if empty): the midpoint of the
  // bucket holding the ceil(q * count)-th smallest value, at most max().
  uint64_t Percentile(double q) const;

 private:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBits;  // Per power of two.
  static constexpr int kBuckets = (64 - kSubBits) * kSubBuckets;

  static int BucketOf(uint64_t nanos);
  static uint64_t MidpointOf(int bucket);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace keygate::bench

#endif  // KEYGATE_BENCH_COMMON_LATENCY_HISTOGRAM_H_
