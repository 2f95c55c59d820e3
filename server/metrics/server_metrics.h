// Prometheus metrics of keygate-server, served over HTTP at /metrics.
#ifndef KEYGATE_SERVER_METRICS_SERVER_METRICS_H_
#define KEYGATE_SERVER_METRICS_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "server/core/clock.h"
#include "server/metrics/authorize_counters.h"
#include "server/core/decision.h"
#include "server/core/token.h"
#include "storage/key_store.h"

namespace keygate::metrics {

// Where scrape-time figures come from. Everything must outlive the metrics.
struct MetricSources {
  storage::KeyStore* store = nullptr;
  const core::Clock* clock = &core::Clock::Real();
  // Time since usage counts were last flushed; empty if usage is off.
  std::function<absl::Duration()> usage_flush_lag;
  // How often keys are counted by state (a full scan of the store).
  absl::Duration key_count_interval = absl::Minutes(10);
};

// The metrics:
//   keygate_authorize_decisions_total{environment,reason}  counter
//   keygate_authorize_duration_seconds                     histogram (server side)
//   keygate_management_calls_total{method,code}            counter
//   keygate_keys{state}                                    gauge (periodic scan)
//   keygate_rocksdb_block_cache_hit_ratio, _sst_bytes, _pending_compaction_bytes,
//   keygate_rocksdb_estimated_keys                         gauges
//   keygate_usage_flush_lag_seconds                        gauge
//   keygate_build_info{version,commit}                     gauge = 1
// The Record* methods are cheap (RecordAuthorize: uncontended atomic adds) and
// thread-safe. Never carries a token.
class ServerMetrics {
 public:
  // Serves /metrics on `listen` (host:port; port 0 picks one). Unavailable
  // if it cannot listen.
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> Start(const std::string& listen,
                                                              MetricSources sources);
  ~ServerMetrics();

  // `environment` is the matched key's, nullopt when no key matched.
  void RecordAuthorize(core::Reason reason, std::optional<core::Environment> environment,
                       absl::Duration latency);
  void RecordManagement(absl::string_view method, absl::StatusCode code);

  int port() const { return port_; }

 private:
  class StoreCollectable;
  explicit ServerMetrics(MetricSources sources);
  void CountKeysLoop();

  const MetricSources sources_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<AuthorizeCounters> authorize_;
  prometheus::Family<prometheus::Counter>* management_ = nullptr;
  std::shared_ptr<StoreCollectable> store_collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
  absl::Notification stop_;
  std::thread key_counter_;
};

}  // namespace keygate::metrics

#endif  // KEYGATE_SERVER_METRICS_SERVER_METRICS_H_
