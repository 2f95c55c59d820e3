// keygate-microbench: the in-process Authorize decision path (token parse,
// HMAC, RocksDB point lookup, decision; no gRPC; Authorize/* without usage
// monitoring, AuthorizeCounted/* with it, flushed every second as by the
// server) over stores built by keygate-preload, with a warm block cache.
//
//   keygate-microbench --stores=10k=DIR,1m=DIR,10m=DIR [--benchmark_* flags]
//
// Every operation is timed on its own; the counters p50_ns, p90_ns, p99_ns,
// p999_ns and mean_ns are those per-operation times. Token choice (Zipf, as
// keygate-bench, known tokens only) and copying the token out of the token
// list happen outside the timed region.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/common/latency_histogram.h"
#include "bench/common/token_list.h"
#include "bench/common/zipf.h"
#include "benchmark/benchmark.h"
#include "server/core/clock.h"
#include "server/core/scope.h"
#include "server/core/secret_file.h"
#include "server/core/status_macros.h"
#include "server/core/token.h"
#include "server/core/token_hasher.h"
#include "server/process/process_settings.h"
#include "server/service/key_service.h"
#include "server/service/usage_recorder.h"
#include "storage/rocksdb_key_store.h"

ABSL_FLAG(std::vector<std::string>, stores, {},
          "NAME=DIR,... stores made by keygate-preload (e.g. 10k=build/bench/stores/10k)");
ABSL_FLAG(int, block_cache_mb, 2304,
          "Block cache of each store: enough for the keys of 10M (warm: all in memory)");
ABSL_FLAG(int, key_cache_mb, 64,
          "Decoded-key cache of each store, as keygate-server's --key_cache_mb (0: every "
          "lookup reads RocksDB)");
ABSL_FLAG(int64_t, warmup_ops, 1000000, "Authorize calls per store before measuring");
ABSL_FLAG(double, zipf_s, 1.0, "Zipf exponent of the token popularity");
ABSL_FLAG(int64_t, usage_calls_per_flush, 20000,
          "UsageFlush/*: Authorize calls counted per flush (the server flushes every second)");
ABSL_FLAG(int64_t, iterations, 0,
          "Operations per benchmark (0: as many as --benchmark_min_time allows). A fixed "
          "count makes runs under valgrind --tool=callgrind comparable per operation");

namespace keygate::bench {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An opened store with its KeyService and tokens.
struct Fixture {
  std::string name;
  TokenList tokens;
  std::unique_ptr<ZipfDistribution> zipf;
  std::unique_ptr<storage::KeyStore> store;
  std::unique_ptr<core::TokenHasher> hasher;  // For BM_Lookup's precomputed hashes.
  std::unique_ptr<service::KeyService> service;
  // The same service with usage monitoring (what the server runs).
  std::unique_ptr<service::UsageRecorder> usage;
  std::unique_ptr<service::KeyService> counted_service;
  core::Scope required;
};

absl::StatusOr<std::unique_ptr<Fixture>> OpenFixture(const std::string& name,
                                                     const std::string& dir) {
  auto f = std::make_unique<Fixture>();
  f->name = name;
  KEYGATE_ASSIGN_OR_RETURN(f->tokens, TokenList::Load(dir + "/tokens.txt"));
  if (f->tokens.empty()) return absl::InvalidArgumentError(dir + "/tokens.txt is empty");
  f->zipf = std::make_unique<ZipfDistribution>(f->tokens.size(), absl::GetFlag(FLAGS_zipf_s));
  KEYGATE_ASSIGN_OR_RETURN(std::string pepper, core::ReadSecretFile(dir + "/pepper"));
  pepper = std::string(absl::StripTrailingAsciiWhitespace(pepper));
  KEYGATE_ASSIGN_OR_RETURN(f->hasher, core::TokenHasher::Create(pepper));
  KEYGATE_ASSIGN_OR_RETURN(std::unique_ptr<core::TokenHasher> service_hasher,
                           core::TokenHasher::Create(pepper));
  storage::RocksDbOptions options;
  options.path = dir + "/db";
  options.block_cache_bytes = size_t(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  options.record_cache_bytes = size_t(absl::GetFlag(FLAGS_key_cache_mb)) << 20;
  KEYGATE_ASSIGN_OR_RETURN(f->store, storage::OpenRocksDbKeyStore(options));
  while (f->store->Stats().warming_block_cache) absl::SleepFor(absl::Milliseconds(50));
  KEYGATE_ASSIGN_OR_RETURN(core::TokenFormat format, core::TokenFormat::Create("fs"));
  f->service = std::make_unique<service::KeyService>(std::move(format), std::move(service_hasher),
                                                     f->store.get(), &core::Clock::Real());
  KEYGATE_RETURN_IF_ERROR(f->service->CheckPepper());
  f->usage = std::make_unique<service::UsageRecorder>(f->store.get(), absl::Seconds(1));
  KEYGATE_ASSIGN_OR_RETURN(core::TokenFormat counted_format, core::TokenFormat::Create("fs"));
  KEYGATE_ASSIGN_OR_RETURN(std::unique_ptr<core::TokenHasher> counted_hasher,
                           core::TokenHasher::Create(pepper));
  f->counted_service = std::make_unique<service::KeyService>(
      std::move(counted_format), std::move(counted_hasher), f->store.get(), &core::Clock::Real(),
      service::KeyServiceOptions(), f->usage.get());
  KEYGATE_ASSIGN_OR_RETURN(f->required, core::ParseScope("flows:read"));

  std::mt19937_64 rng(7);
  for (int64_t i = 0; i < absl::GetFlag(FLAGS_warmup_ops); ++i) {
    const auto result =
        f->service->Authorize(f->tokens[f->zipf->Sample(rng)], f->required, std::nullopt);
    if (!result.ok() || !result->decision.allowed()) {
      return absl::InternalError(absl::StrCat("warm-up Authorize failed on ", name));
    }
  }
  return f;
}

int64_t ClockNs(clockid_t clock) {
  timespec t;
  clock_gettime(clock, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}
int64_t ProcessCpuNs() { return ClockNs(CLOCK_PROCESS_CPUTIME_ID); }
int64_t ThreadCpuNs() { return ClockNs(CLOCK_THREAD_CPUTIME_ID); }

void ReportPercentiles(benchmark::State& state, const LatencyHistogram& h) {
  state.counters["p50_ns"] = static_cast<double>(h.Percentile(0.50));
  state.counters["p90_ns"] = static_cast<double>(h.Percentile(0.90));
  state.counters["p99_ns"] = static_cast<double>(h.Percentile(0.99));
  state.counters["p999_ns"] = static_cast<double>(h.Percentile(0.999));
  state.counters["mean_ns"] = h.mean();
}

// KeyService::Authorize of a Zipf-chosen known token.
void BM_Authorize(benchmark::State& state, const Fixture* f, const service::KeyService* service) {
  std::mt19937_64 rng(1);
  LatencyHistogram h;
  // The server has the token in the request it has just parsed, in the CPU's
  // caches; a token list of 10M is not, so each token is copied out of it
  // before the timer starts (otherwise a 10M run times a memory access that
  // the 10k run does not).
  std::string token;
  for (auto _ : state) {
    const absl::string_view listed = f->tokens[f->zipf->Sample(rng)];
    token.assign(listed.data(), listed.size());
    const int64_t start = NowNs();
    auto result = service->Authorize(token, f->required, std::nullopt);
    h.Record(static_cast<uint64_t>(NowNs() - start));
    benchmark::DoNotOptimize(result);
    if (!result.ok() || !result->decision.allowed()) state.SkipWithError("not allowed");
  }
  state.counters["keys"] = static_cast<double>(f->tokens.size());
  ReportPercentiles(state, h);
}

// KeyStore::FindByTokenHash alone (the hash is computed outside the timer).
void BM_Lookup(benchmark::State& state, const Fixture* f) {
  std::mt19937_64 rng(2);
  LatencyHistogram h;
  for (auto _ : state) {
    const std::string hash = f->hasher->Hash(f->tokens[f->zipf->Sample(rng)]);
    const int64_t start = NowNs();
    auto record = f->store->FindByTokenHash(hash);
    h.Record(static_cast<uint64_t>(NowNs() - start));
    benchmark::DoNotOptimize(record);
  }
  state.counters["keys"] = static_cast<double>(f->tokens.size());
  ReportPercentiles(state, h);
}

// The usage recorder's flush of one second of server traffic: the records of
// --usage_calls_per_flush Zipf-chosen keys are counted (untimed, into one
// thread's table), then UsageRecorder::Flush writes them to the store, as the
// server's kg-usage-flush thread does every second. Besides the flush's own
// time, background_cpu_us is the CPU per flush of every other thread of the
// process (RocksDB's memtable flushes and compactions of the usage family)
// over the whole run. Writes usage rows into the store: run it on a copy.
void BM_UsageFlush(benchmark::State& state, const Fixture* f) {
  constexpr size_t kPool = 1 << 18;  // Drawn records, reused round-robin.
  std::mt19937_64 rng(3);
  std::vector<core::SharedKeyRecord> drawn;
  drawn.reserve(kPool);
  for (size_t i = 0; i < kPool; ++i) {
    auto record = f->store->FindByTokenHash(f->hasher->Hash(f->tokens[f->zipf->Sample(rng)]));
    if (!record.ok()) {
      state.SkipWithError("a preloaded token is not in the store");
      return;
    }
    drawn.push_back(*std::move(record));
  }
  service::UsageRecorder recorder(f->store.get(), absl::Hours(1));
  const int64_t calls = absl::GetFlag(FLAGS_usage_calls_per_flush);
  size_t next = 0;
  const int64_t process_start = ProcessCpuNs();
  int64_t main_thread_ns = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const int64_t thread_start = ThreadCpuNs();
    const absl::Time now = absl::Now();
    for (int64_t i = 0; i < calls; ++i) {
      recorder.Record(drawn[next], true, "", now);
      next = (next + 1) % kPool;
    }
    state.ResumeTiming();
    const absl::Status flushed = recorder.Flush();
    main_thread_ns += ThreadCpuNs() - thread_start;
    if (!flushed.ok()) state.SkipWithError("flush failed");
  }
  const int64_t background_ns = ProcessCpuNs() - process_start - main_thread_ns;
  state.counters["calls_per_flush"] = static_cast<double>(calls);
  state.counters["background_cpu_us"] =
      static_cast<double>(background_ns) / 1e3 / static_cast<double>(state.iterations());
}

// TokenFormat::Parse (prefix, environment, alphabet, CRC32).
void BM_ParseToken(benchmark::State& state, const Fixture* f) {
  const core::TokenFormat format = core::TokenFormat::Create("fs").value();
  size_t i = 0;
  for (auto _ : state) {
    auto parsed = format.Parse(f->tokens[i++ % f->tokens.size()]);
    benchmark::DoNotOptimize(parsed);
  }
}

// TokenHasher::Hash (HMAC-SHA256 through OpenSSL's EVP_MAC, context dup).
void BM_HashToken(benchmark::State& state, const Fixture* f) {
  size_t i = 0;
  for (auto _ : state) {
    auto hash = f->hasher->Hash(f->tokens[i++ % f->tokens.size()]);
    benchmark::DoNotOptimize(hash);
  }
}

}  // namespace
}  // namespace keygate::bench

int main(int argc, char** argv) {
  using keygate::bench::Fixture;
  keygate::process::ApplyServerProcessSettings();  // Time the code as the server runs it.
  benchmark::Initialize(&argc, argv);  // Consumes the --benchmark_* flags.
  absl::ParseCommandLine(argc, argv);
  std::vector<std::unique_ptr<Fixture>> fixtures;
  for (const std::string& spec : absl::GetFlag(FLAGS_stores)) {
    const std::pair<std::string, std::string> name_dir = absl::StrSplit(spec, '=');
    std::fprintf(stderr, "keygate-microbench: opening and warming %s\n", name_dir.first.c_str());
    absl::StatusOr<std::unique_ptr<Fixture>> fixture =
        keygate::bench::OpenFixture(name_dir.first, name_dir.second);
    if (!fixture.ok()) {
      std::fprintf(stderr, "keygate-microbench: %s\n", fixture.status().ToString().c_str());
      return 1;
    }
    fixtures.push_back(*std::move(fixture));
  }
  if (fixtures.empty()) {
    std::fprintf(stderr, "keygate-microbench: give --stores=NAME=DIR,...\n");
    return 2;
  }
  std::vector<benchmark::internal::Benchmark*> registered;
  registered.push_back(
      benchmark::RegisterBenchmark("ParseToken", keygate::bench::BM_ParseToken, fixtures[0].get()));
  registered.push_back(
      benchmark::RegisterBenchmark("HashToken", keygate::bench::BM_HashToken, fixtures[0].get()));
  for (const auto& f : fixtures) {
    registered.push_back(benchmark::RegisterBenchmark(("Lookup/" + f->name).c_str(),
                                                      keygate::bench::BM_Lookup, f.get()));
    registered.push_back(benchmark::RegisterBenchmark(
        ("Authorize/" + f->name).c_str(), keygate::bench::BM_Authorize, f.get(), f->service.get()));
    registered.push_back(benchmark::RegisterBenchmark(("AuthorizeCounted/" + f->name).c_str(),
                                                      keygate::bench::BM_Authorize, f.get(),
                                                      f->counted_service.get()));
    registered.push_back(benchmark::RegisterBenchmark(("UsageFlush/" + f->name).c_str(),
                                                      keygate::bench::BM_UsageFlush, f.get()));
  }
  if (const int64_t iterations = absl::GetFlag(FLAGS_iterations); iterations > 0) {
    for (benchmark::internal::Benchmark* b : registered) b->Iterations(iterations);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
