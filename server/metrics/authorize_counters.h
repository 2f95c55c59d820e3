// The metrics Authorize updates on every call: answers by reason and key
// environment, and the server-side latency histogram.
#ifndef KEYGATE_SERVER_METRICS_AUTHORIZE_COUNTERS_H_
#define KEYGATE_SERVER_METRICS_AUTHORIZE_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace keygate::metrics {

// Exposes
//   keygate_authorize_decisions_total{environment,reason}  counter
//   keygate_authorize_duration_seconds                     histogram
// Record() adds to one of kStripes sets of integer counters, picked once per
// thread, so threads on different cores do not pass the same cache lines to
// each other on every call (prometheus-cpp's counters are one shared double
// each, updated by a compare-and-swap loop). Collect() sums the stripes; a
// scrape that runs during Record() may see a call in one family and not yet
// in the other, but never a count going down. Thread-safe.
class AuthorizeCounters final : public prometheus::Collectable {
 public:
  static constexpr int kReasons = 7;       // core::Reason values.
  static constexpr int kEnvironments = 3;  // none, live, test.
  // Upper bounds of the latency buckets, in seconds (a last one, +Inf, holds
  // the rest).
  static constexpr std::array<double, 12> kBucketBounds = {
      2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1};

  AuthorizeCounters();

  // Counts one answer. `reason` in [0, kReasons) and `environment` in
  // [0, kEnvironments) (0 when no key matched); others count only in the
  // histogram.
  void Record(int reason, int environment, absl::Duration latency);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  static constexpr int kStripes = 16;
  static constexpr int kBuckets = static_cast<int>(kBucketBounds.size()) + 1;

  struct alignas(64) Stripe {
    std::array<std::atomic<uint64_t>, kReasons * kEnvironments> decisions{};
    std::array<std::atomic<uint64_t>, kBuckets> buckets{};  // Not cumulative.
    std::atomic<uint64_t> sum_ns{0};
  };

  // kBucketBounds in nanoseconds.
  std::array<int64_t, kBucketBounds.size()> bounds_ns_{};
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace keygate::metrics

#endif  // KEYGATE_SERVER_METRICS_AUTHORIZE_COUNTERS_H_
