// keygate-metricsbench: what Authorize's metrics cost per call, side by side:
// prometheus-cpp's own Counter and Histogram (one shared double each,
// updated by compare-and-swap) against keygate's AuthorizeCounters (integer
// counters striped by thread). Run with 2 threads, the calls of two cores
// update the same counters, as on the server.
//
//   keygate-metricsbench [--benchmark_* flags]
#include <memory>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/metrics/authorize_counters.h"

namespace keygate::bench {
namespace {

using metrics::AuthorizeCounters;

// Latencies a server sees, cycled so that the bucket search is not always
// the same.
constexpr int64_t kLatenciesNs[] = {1800, 2600, 3100, 4200, 7000, 2200, 12000, 3300};
constexpr int kLatencies = sizeof(kLatenciesNs) / sizeof(kLatenciesNs[0]);

void BM_PrometheusCpp(benchmark::State& state) {
  // One registry for all threads of a run (thread 0 builds it).
  static std::shared_ptr<prometheus::Registry> registry;
  static prometheus::Counter* allowed;
  static prometheus::Histogram* latency;
  if (state.thread_index() == 0) {
    registry = std::make_shared<prometheus::Registry>();
    allowed = &prometheus::BuildCounter().Name("decisions").Register(*registry).Add(
        {{"reason", "allowed"}, {"environment", "live"}});
    prometheus::Histogram::BucketBoundaries bounds(AuthorizeCounters::kBucketBounds.begin(),
                                                   AuthorizeCounters::kBucketBounds.end());
    latency = &prometheus::BuildHistogram().Name("latency").Register(*registry).Add({}, bounds);
  }
  int i = 0;
  for (auto _ : state) {
    allowed->Increment();
    latency->Observe(absl::ToDoubleSeconds(absl::Nanoseconds(kLatenciesNs[i++ % kLatencies])));
  }
}
BENCHMARK(BM_PrometheusCpp)->Threads(1)->Threads(2)->UseRealTime();

void BM_AuthorizeCounters(benchmark::State& state) {
  static AuthorizeCounters* counters;
  if (state.thread_index() == 0) {
    delete counters;
    counters = new AuthorizeCounters();
  }
  int i = 0;
  for (auto _ : state) {
    counters->Record(0, 1, absl::Nanoseconds(kLatenciesNs[i++ % kLatencies]));
  }
}
BENCHMARK(BM_AuthorizeCounters)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace keygate::bench

BENCHMARK_MAIN();
