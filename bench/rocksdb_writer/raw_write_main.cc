// keygate-rawwrite: the ceiling for durable key creation on this disk. N
// threads each write synced WriteBatches, shaped like a CreateKey batch
// (record, two index entries, two audit entries), to a fresh RocksDB.
//
//   keygate-rawwrite --db=/tmp/raw --threads=8 --duration=5s
//
// Prints one JSON object on stdout.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "bench/common/latency_histogram.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

ABSL_FLAG(std::string, db, "", "Directory of the database (created; should not exist)");
ABSL_FLAG(int, threads, 1, "Concurrent writers");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "Writes before the measured window");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "Length of the measured window");

namespace keygate::bench {
namespace {

// Sizes in bytes of the (key, value) pairs of one CreateKey batch.
constexpr std::pair<int, int> kBatchShape[] = {{32, 200}, {24, 40}, {60, 40}, {50, 180}, {50, 180}};

std::string RandomBytes(std::mt19937_64& rng, int n) {
  std::string out(static_cast<size_t>(n), '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int Run() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened = rocksdb::DB::Open(options, absl::GetFlag(FLAGS_db), &raw);
  if (!opened.ok()) {
    std::fprintf(stderr, "keygate-rawwrite: %s\n", opened.ToString().c_str());
    return 1;
  }
  const std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions synced;
  synced.sync = true;

  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  const int64_t window_start = NowNs() + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_warmup));
  const int64_t window_end = window_start + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_duration));
  std::vector<LatencyHistogram> latencies(threads);
  std::atomic<bool> failed{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937_64 rng(t + 1);
      for (int64_t start = NowNs(); start < window_end && !failed; start = NowNs()) {
        rocksdb::WriteBatch batch;
        for (const auto& [key, value] : kBatchShape) {
          batch.Put(RandomBytes(rng, key), RandomBytes(rng, value));
        }
        if (!db->Write(synced, &batch).ok()) failed = true;
        const int64_t end = NowNs();
        if (end >= window_start && end < window_end) latencies[t].Record(end - start);
      }
    });
  }
  for (std::thread& w : writers) w.join();
  if (failed) {
    std::fprintf(stderr, "keygate-rawwrite: a write failed\n");
    return 1;
  }
  LatencyHistogram all;
  for (const LatencyHistogram& h : latencies) all.Merge(h);
  const double seconds = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration));
  std::printf(
      "{\"threads\":%d,\"duration_s\":%.1f,\"writes\":%llu,\"writes_per_s\":%.1f,"
      "\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
      threads, seconds, static_cast<unsigned long long>(all.count()), all.count() / seconds,
      all.Percentile(0.5) / 1e3, all.Percentile(0.99) / 1e3);
  return 0;
}

}  // namespace
}  // namespace keygate::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Synced RocksDB WriteBatch throughput at N concurrent writers.");
  absl::ParseCommandLine(argc, argv);
  return keygate::bench::Run();
}
