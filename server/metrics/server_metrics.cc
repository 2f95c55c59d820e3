#include "server/metrics/server_metrics.h"

#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/collectable.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "server/core/key_record.h"
#include "server/core/log.h"

#ifndef KEYGATE_VERSION
#define KEYGATE_VERSION "dev"
#endif
#ifndef KEYGATE_GIT_COMMIT
#define KEYGATE_GIT_COMMIT "unknown"
#endif

namespace keygate::metrics {
namespace {

prometheus::MetricFamily Gauge(std::string name, std::string help, double value,
                               std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::MetricFamily family{std::move(name), std::move(help), prometheus::MetricType::Gauge,
                                  {}};
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
  return family;
}

// One counter family with a metric per (label value, count).
prometheus::MetricFamily Counter(std::string name, std::string help, const std::string& label,
                                 std::vector<std::pair<std::string, double>> counts) {
  prometheus::MetricFamily family{std::move(name), std::move(help),
                                  prometheus::MetricType::Counter, {}};
  for (auto& [value, count] : counts) {
    prometheus::ClientMetric metric;
    metric.label = {{label, std::move(value)}};
    metric.counter.value = count;
    family.metric.push_back(std::move(metric));
  }
  return family;
}

}  // namespace

// Figures computed at scrape time, plus the key counts of the last scan.
class ServerMetrics::StoreCollectable final : public prometheus::Collectable {
 public:
  explicit StoreCollectable(const MetricSources& sources) : sources_(sources) {}

  void SetKeyCounts(double active, double revoked, double expired) {
    absl::MutexLock lock(&mu_);
    counts_ = {active, revoked, expired};
    counted_ = true;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    const storage::StoreStats stats = sources_.store->Stats();
    const double lookups = static_cast<double>(stats.block_cache_hits + stats.block_cache_misses);
    out.push_back(Gauge("keygate_rocksdb_block_cache_hit_ratio",
                        "Block cache hits / lookups since start",
                        lookups == 0 ? 0 : stats.block_cache_hits / lookups));
    out.push_back(Gauge("keygate_rocksdb_sst_bytes", "Total size of SST files",
                        static_cast<double>(stats.sst_bytes)));
    out.push_back(Gauge("keygate_rocksdb_pending_compaction_bytes",
                        "Estimated bytes compaction still has to rewrite",
                        static_cast<double>(stats.pending_compaction_bytes)));
    out.push_back(Gauge("keygate_rocksdb_estimated_keys", "Estimated number of stored keys",
                        static_cast<double>(stats.estimated_keys)));
    out.push_back(Gauge("keygate_rocksdb_memtable_bytes",
                        "Bytes in RocksDB memtables (all column families)",
                        static_cast<double>(stats.memtable_bytes)));
    out.push_back(Gauge("keygate_rocksdb_block_cache_bytes", "Bytes in the RocksDB block cache",
                        static_cast<double>(stats.block_cache_bytes)));
    out.push_back(Gauge("keygate_block_cache_warming",
                        "1 while the keys are being read into the block cache after start",
                        stats.warming_block_cache ? 1 : 0));
    out.push_back(Gauge("keygate_key_cache_bytes", "Bytes in the decoded-key cache (--key_cache_mb)",
                        static_cast<double>(stats.key_cache_bytes)));
    const double hits = static_cast<double>(stats.key_cache_hits);
    const double key_lookups = hits + static_cast<double>(stats.key_cache_misses);
    out.push_back(Counter("keygate_key_cache_lookups_total",
                          "Decoded-key cache lookups by result (a miss reads RocksDB)", "result",
                          {{"hit", hits}, {"miss", static_cast<double>(stats.key_cache_misses)}}));
    out.push_back(Gauge("keygate_key_cache_hit_ratio", "Decoded-key cache hits / lookups since start",
                        key_lookups == 0 ? 0 : hits / key_lookups));
    out.push_back(Gauge("keygate_usage_unfolded_keys",
                        "Keys whose recent usage counts are journaled but not yet in their rows",
                        static_cast<double>(stats.unfolded_usage_keys)));
    out.push_back(Gauge("keygate_usage_journal_entries",
                        "Usage journal entries kept until every key in them is folded",
                        static_cast<double>(stats.usage_journal_entries)));
    if (sources_.usage_flush_lag) {
      out.push_back(Gauge("keygate_usage_flush_lag_seconds",
                          "Seconds since usage counts were last written",
                          absl::ToDoubleSeconds(sources_.usage_flush_lag())));
    }
    out.push_back(Gauge("keygate_build_info", "Build version and commit", 1,
                        {{"version", KEYGATE_VERSION}, {"commit", KEYGATE_GIT_COMMIT}}));
    absl::MutexLock lock(&mu_);
    if (counted_) {
      prometheus::MetricFamily keys{"keygate_keys", "Keys by state (last periodic count)",
                                    prometheus::MetricType::Gauge, {}};
      const char* states[] = {"active", "revoked", "expired"};
      for (int i = 0; i < 3; ++i) {
        prometheus::ClientMetric metric;
        metric.label = {{"state", states[i]}};
        metric.gauge.value = counts_[i];
        keys.metric.push_back(std::move(metric));
      }
      out.push_back(std::move(keys));
    }
    return out;
  }

 private:
  const MetricSources sources_;
  mutable absl::Mutex mu_;
  std::array<double, 3> counts_ ABSL_GUARDED_BY(mu_){};
  bool counted_ ABSL_GUARDED_BY(mu_) = false;
};

ServerMetrics::ServerMetrics(MetricSources sources)
    : sources_(std::move(sources)),
      registry_(std::make_shared<prometheus::Registry>()),
      authorize_(std::make_shared<AuthorizeCounters>()) {
  management_ = &prometheus::BuildCounter()
                     .Name("keygate_management_calls_total")
                     .Help("KeyManager calls by method and gRPC code")
                     .Register(*registry_);
  store_collectable_ = std::make_shared<StoreCollectable>(sources_);
}

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::Start(const std::string& listen,
                                                                    MetricSources sources) {
  std::unique_ptr<ServerMetrics> metrics(new ServerMetrics(std::move(sources)));
  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", listen, ": ", e.what()));
  }
  metrics->exposer_->RegisterCollectable(metrics->registry_);
  metrics->exposer_->RegisterCollectable(metrics->authorize_);
  metrics->exposer_->RegisterCollectable(metrics->store_collectable_);
  const std::vector<int> ports = metrics->exposer_->GetListeningPorts();
  metrics->port_ = ports.empty() ? 0 : ports.front();
  ServerMetrics* raw = metrics.get();
  metrics->key_counter_ = std::thread([raw] { raw->CountKeysLoop(); });
  return metrics;
}

ServerMetrics::~ServerMetrics() {
  stop_.Notify();
  if (key_counter_.joinable()) key_counter_.join();
  exposer_.reset();
}

void ServerMetrics::RecordAuthorize(core::Reason reason,
                                    std::optional<core::Environment> environment,
                                    absl::Duration latency) {
  authorize_->Record(static_cast<int>(reason),
                     environment.has_value() ? static_cast<int>(*environment) : 0, latency);
}

void ServerMetrics::RecordManagement(absl::string_view method, absl::StatusCode code) {
  management_->Add({{"method", std::string(method)}, {"code", absl::StatusCodeToString(code)}})
      .Increment();
}

void ServerMetrics::CountKeysLoop() {
  // The first count soon after start, then at the configured interval.
  absl::Duration wait = std::min(sources_.key_count_interval, absl::Seconds(30));
  while (!stop_.WaitForNotificationWithTimeout(wait)) {
    wait = sources_.key_count_interval;
    double counts[3] = {0, 0, 0};
    const absl::Time now = sources_.clock->Now();
    const absl::Status status = sources_.store->ForEachKey([&](const core::KeyRecord& key) {
      if (!key.is_operator) counts[static_cast<int>(key.StateAt(now))] += 1;
    });
    if (!status.ok()) {
      core::Log(core::LogLevel::kWarning, "key_count_failed", {{"error", status.ToString()}});
      continue;
    }
    store_collectable_->SetKeyCounts(counts[0], counts[1], counts[2]);
  }
}

}  // namespace keygate::metrics
