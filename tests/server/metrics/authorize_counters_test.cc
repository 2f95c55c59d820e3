#include "server/metrics/authorize_counters.h"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace keygate::metrics {
namespace {

// Authorize's reasons (core::Reason) and environments, as Record takes them.
constexpr int kAllowed = 0;
constexpr int kUnknownKey = 2;
constexpr int kNoKey = 0;
constexpr int kLive = 1;

const prometheus::ClientMetric* Decision(const std::vector<prometheus::MetricFamily>& families,
                                         const std::string& environment,
                                         const std::string& reason) {
  for (const prometheus::MetricFamily& family : families) {
    if (family.name != "keygate_authorize_decisions_total") continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      if (metric.label.size() == 2 && metric.label[0].value == environment &&
          metric.label[1].value == reason) {
        return &metric;
      }
    }
  }
  return nullptr;
}

const prometheus::ClientMetric::Histogram& Latency(
    const std::vector<prometheus::MetricFamily>& families) {
  for (const prometheus::MetricFamily& family : families) {
    if (family.name == "keygate_authorize_duration_seconds") return family.metric.at(0).histogram;
  }
  ADD_FAILURE() << "no latency histogram";
  static prometheus::ClientMetric::Histogram none;
  return none;
}

TEST(AuthorizeCountersTest, SumsTheCallsOfManyThreads) {
  AuthorizeCounters counters;
  constexpr int kThreads = 24;  // More than the stripes: some share one.
  constexpr int kCalls = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&counters, t] {
      for (int i = 0; i < kCalls; ++i) {
        if (t % 2 == 0) {
          counters.Record(kAllowed, kLive, absl::Microseconds(3));
        } else {
          counters.Record(kUnknownKey, kNoKey, absl::Microseconds(3));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  const std::vector<prometheus::MetricFamily> families = counters.Collect();
  const prometheus::ClientMetric* allowed = Decision(families, "live", "allowed");
  const prometheus::ClientMetric* unknown = Decision(families, "none", "unknown_key");
  ASSERT_NE(allowed, nullptr);
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(allowed->counter.value, kThreads / 2 * kCalls);
  EXPECT_EQ(unknown->counter.value, kThreads / 2 * kCalls);
  EXPECT_EQ(Decision(families, "test", "allowed")->counter.value, 0);
  EXPECT_EQ(Latency(families).sample_count, uint64_t{kThreads} * kCalls);
  EXPECT_NEAR(Latency(families).sample_sum, kThreads * kCalls * 3e-6, 1e-9);
}

TEST(AuthorizeCountersTest, PutsLatenciesInTheRightBuckets) {
  AuthorizeCounters counters;
  counters.Record(kAllowed, kLive, absl::Nanoseconds(2500));    // On the first bound.
  counters.Record(kAllowed, kLive, absl::Nanoseconds(2501));    // Just above it.
  counters.Record(kAllowed, kLive, absl::Milliseconds(5));      // 1e-2.
  counters.Record(kAllowed, kLive, absl::Seconds(1));           // +Inf only.
  counters.Record(kAllowed, kLive, -absl::Microseconds(1));     // A clock step: 0.

  const std::vector<prometheus::MetricFamily> families = counters.Collect();
  const prometheus::ClientMetric::Histogram& latency = Latency(families);
  ASSERT_EQ(latency.bucket.size(), AuthorizeCounters::kBucketBounds.size() + 1);
  EXPECT_EQ(latency.bucket[0].upper_bound, 2.5e-6);
  EXPECT_EQ(latency.bucket[0].cumulative_count, 2u);  // 0 and 2.5 µs.
  EXPECT_EQ(latency.bucket[1].cumulative_count, 3u);  // 2.501 µs.
  EXPECT_EQ(latency.bucket[9].cumulative_count, 3u);  // 2.5 ms.
  EXPECT_EQ(latency.bucket[10].cumulative_count, 4u);  // 10 ms.
  EXPECT_EQ(latency.bucket[11].cumulative_count, 4u);  // 100 ms.
  EXPECT_TRUE(std::isinf(latency.bucket[12].upper_bound));
  EXPECT_EQ(latency.bucket[12].cumulative_count, 5u);
  EXPECT_EQ(latency.sample_count, 5u);
  EXPECT_NEAR(latency.sample_sum, 1.0050050010, 1e-9);
}

TEST(AuthorizeCountersTest, AnUnknownReasonCountsOnlyInTheHistogram) {
  AuthorizeCounters counters;
  counters.Record(AuthorizeCounters::kReasons, kLive, absl::Microseconds(1));
  counters.Record(kAllowed, AuthorizeCounters::kEnvironments, absl::Microseconds(1));
  const std::vector<prometheus::MetricFamily> families = counters.Collect();
  double total = 0;
  for (const prometheus::ClientMetric& metric : families[0].metric) total += metric.counter.value;
  EXPECT_EQ(total, 0);
  EXPECT_EQ(Latency(families).sample_count, 2u);
}

TEST(AuthorizeCountersTest, SerializesWithSortedLabelsAndCumulativeBuckets) {
  AuthorizeCounters counters;
  counters.Record(kAllowed, kLive, absl::Microseconds(7));
  const std::string text = prometheus::TextSerializer().Serialize(counters.Collect());
  EXPECT_NE(text.find("keygate_authorize_decisions_total{environment=\"live\",reason=\"allowed\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("keygate_authorize_duration_seconds_bucket{le=\"1e-05\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("keygate_authorize_duration_seconds_count 1"), std::string::npos) << text;
}

}  // namespace
}  // namespace keygate::metrics
