#include "server/metrics/authorize_counters.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "server/core/decision.h"

namespace keygate::metrics {
namespace {

const char* EnvironmentLabel(int index) {
  static constexpr const char* kNames[] = {"none", "live", "test"};
  return kNames[index];
}

// The stripe of the calling thread: threads take stripes in turn, so the
// few threads of a server each have their own.
int ThisThreadStripe(int stripes) {
  static std::atomic<int> next{0};
  thread_local const int stripe = next.fetch_add(1, std::memory_order_relaxed);
  return stripe % stripes;
}

}  // namespace

AuthorizeCounters::AuthorizeCounters() {
  for (size_t i = 0; i < kBucketBounds.size(); ++i) {
    bounds_ns_[i] = static_cast<int64_t>(kBucketBounds[i] * 1e9);
  }
}

void AuthorizeCounters::Record(int reason, int environment, absl::Duration latency) {
  Stripe& stripe = stripes_[ThisThreadStripe(kStripes)];
  if (reason >= 0 && reason < kReasons && environment >= 0 && environment < kEnvironments) {
    stripe.decisions[reason * kEnvironments + environment].fetch_add(1, std::memory_order_relaxed);
  }
  // absl::Now() is not monotonic: a step back reads as no time at all.
  const int64_t ns = std::max<int64_t>(0, absl::ToInt64Nanoseconds(latency));
  int bucket = 0;
  while (bucket < static_cast<int>(bounds_ns_.size()) && ns > bounds_ns_[bucket]) ++bucket;
  stripe.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  stripe.sum_ns.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

std::vector<prometheus::MetricFamily> AuthorizeCounters::Collect() const {
  std::array<uint64_t, kReasons * kEnvironments> decisions{};
  std::array<uint64_t, kBuckets> buckets{};
  uint64_t sum_ns = 0;
  for (const Stripe& stripe : stripes_) {
    for (int i = 0; i < kBuckets; ++i) buckets[i] += stripe.buckets[i].load(std::memory_order_relaxed);
    sum_ns += stripe.sum_ns.load(std::memory_order_relaxed);
    for (size_t i = 0; i < decisions.size(); ++i) {
      decisions[i] += stripe.decisions[i].load(std::memory_order_relaxed);
    }
  }

  prometheus::MetricFamily answers{
      "keygate_authorize_decisions_total",
      "Authorize answers by reason (allowed or why denied) and key environment",
      prometheus::MetricType::Counter,
      {}};
  for (int r = 0; r < kReasons; ++r) {
    for (int e = 0; e < kEnvironments; ++e) {
      prometheus::ClientMetric metric;
      metric.label = {{"environment", EnvironmentLabel(e)},
                      {"reason", core::ReasonName(static_cast<core::Reason>(r))}};
      metric.counter.value = static_cast<double>(decisions[r * kEnvironments + e]);
      answers.metric.push_back(std::move(metric));
    }
  }

  prometheus::MetricFamily latency{"keygate_authorize_duration_seconds",
                                   "Server-side time to decide an Authorize call",
                                   prometheus::MetricType::Histogram,
                                   {}};
  prometheus::ClientMetric histogram;
  uint64_t cumulative = 0;
  for (int i = 0; i < kBuckets; ++i) {
    cumulative += buckets[i];
    prometheus::ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound = i < static_cast<int>(kBucketBounds.size())
                             ? kBucketBounds[i]
                             : std::numeric_limits<double>::infinity();
    histogram.histogram.bucket.push_back(bucket);
  }
  histogram.histogram.sample_count = cumulative;
  histogram.histogram.sample_sum = static_cast<double>(sum_ns) * 1e-9;
  latency.metric.push_back(std::move(histogram));

  return {std::move(answers), std::move(latency)};
}

}  // namespace keygate::metrics
