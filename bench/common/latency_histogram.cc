#include "bench/common/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace keygate::bench {

// Buckets [0, 256) hold their value exactly. Above, a value whose highest set
// bit is `msb` falls in the group shift = msb - kSubBits (>= 1), indexed by
// its top kSubBits + 1 bits: (shift + 1) * 128 + (top - 128).
int LatencyHistogram::BucketOf(uint64_t nanos) {
  if (nanos < 2 * kSubBuckets) return static_cast<int>(nanos);
  const int msb = 63 - __builtin_clzll(nanos);
  const int shift = msb - kSubBits;
  const uint64_t top = nanos >> shift;  // In [128, 256).
  return std::min(kBuckets - 1, static_cast<int>((shift + 1) * kSubBuckets + (top - kSubBuckets)));
}

uint64_t LatencyHistogram::MidpointOf(int bucket) {
  if (bucket < static_cast<int>(2 * kSubBuckets)) return static_cast<uint64_t>(bucket);
  const int shift = bucket / static_cast<int>(kSubBuckets) - 1;
  const uint64_t top = bucket % kSubBuckets + kSubBuckets;
  return (top << shift) + (uint64_t{1} << (shift - 1));
}

void LatencyHistogram::Record(uint64_t nanos) {
  ++counts_[BucketOf(nanos)];
  ++count_;
  sum_ += nanos;
  max_ = std::max(max_, nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * count_)));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(MidpointOf(i), max_);
  }
  return max_;
}

}  // namespace keygate::bench
