// keygate-soak-driver: the load of the soak test, against a running
// keygate-server whose process it watches.
//
//  1. Setup: creates --keys keys (a tenth of them revoked) and builds a mix
//     of Authorize probes whose answers are known: allowed, insufficient
//     scope, revoked, unknown key, malformed token.
//  2. Capacity: a closed loop (--threads threads calling back to back) for
//     --measure; its rate is the measured capacity.
//  3. Soak: the same threads paced at --load x capacity in total for
//     --duration (each on a fixed schedule, latency measured from the
//     scheduled time), with management traffic beside it (--management_rate
//     operations per second cycling create, Authorize of the new key, rotate,
//     list, revoke; each checked).
//  4. Every --sample_interval it samples the server's VmRSS and open file
//     descriptors (/proc/PID) and, with --metrics_url, the memory RocksDB
//     holds by design (memtables, block cache) and the decoded-key cache,
//     reported beside VmRSS to tell cache and memtable growth (bounded by
//     configuration) from the rest.
// Pass (exit 0) when: zero gRPC errors, zero wrong answers, descriptors flat
// after warm-up (within --fd_slack), and, if --max_rss_growth_pct > 0, the
// median VmRSS of the last minute at most that much above the median of the
// first minute after --warmup.
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/keygate_client.h"
#include "grpcpp/create_channel.h"
#include "server/core/token.h"
#include "tests/reliability/calls.h"
#include "tests/reliability/server_process.h"

ABSL_FLAG(std::string, server, "", "host:port of keygate-server (required)");
ABSL_FLAG(int, server_pid, 0, "PID of keygate-server, for /proc sampling (required)");
ABSL_FLAG(std::string, operator_key_file, "", "File with the operator token (required)");
ABSL_FLAG(int, keys, 200, "Keys created for the Authorize mix");
ABSL_FLAG(absl::Duration, measure, absl::Seconds(10), "Closed-loop capacity measurement");
ABSL_FLAG(int, threads, 32, "Client threads (synchronous calls) of both loops");
ABSL_FLAG(double, load, 0.8, "Soak rate as a fraction of the measured capacity");
ABSL_FLAG(absl::Duration, duration, absl::Minutes(10), "Soak duration");
ABSL_FLAG(absl::Duration, warmup, absl::Minutes(1),
          "Start of the soak excluded from the RSS and fd baselines");
ABSL_FLAG(absl::Duration, sample_interval, absl::Seconds(10), "VmRSS / fd sampling period");
ABSL_FLAG(double, management_rate, 4,
          "Management operations per second during the soak (0: none)");
ABSL_FLAG(double, max_rss_growth_pct, 5, "Largest VmRSS growth after warm-up (0: report only)");
ABSL_FLAG(int, fd_slack, 4, "Open descriptors may vary by this much after warm-up");
ABSL_FLAG(std::string, metrics_url, "",
          "The server's /metrics URL, to sample its memtable and cache sizes (optional)");

namespace keygate::reliability {
namespace {

namespace v1 = keygate::v1;
using Clock = std::chrono::steady_clock;

// An Authorize request and the answer it must get.
struct Probe {
  v1::AuthorizeRequest request;
  bool allowed = false;
  v1::Reason reason = v1::REASON_UNSPECIFIED;
};

struct Sample {
  double seconds = 0;  // Since the soak began.
  int64_t rss_kb = 0;
  int64_t held_kb = -1;  // Memtables + caches; -1: unknown.
  int fds = 0;
  double qps = 0;
};

int64_t RssKb(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    int64_t kb = 0;
    absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 9)), &kb);
    return kb;
  }
  return -1;
}

// The sum of the server's memtable and cache gauges, from its Prometheus
// endpoint (fetched with curl); -1 if unavailable.
int64_t HeldKb(const std::string& metrics_url) {
  if (metrics_url.empty()) return -1;
  FILE* pipe = popen(absl::StrCat("curl -sf --max-time 5 '", metrics_url, "'").c_str(), "r");
  if (pipe == nullptr) return -1;
  double bytes = 0;
  int found = 0;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    const absl::string_view text(line);
    for (absl::string_view name : {"keygate_rocksdb_memtable_bytes ",
                                   "keygate_rocksdb_block_cache_bytes ", "keygate_key_cache_bytes "}) {
      if (!absl::StartsWith(text, name)) continue;
      double value = 0;
      if (absl::SimpleAtod(absl::StripAsciiWhitespace(text.substr(name.size())), &value)) {
        bytes += value;
        ++found;
      }
    }
  }
  const bool ok = pclose(pipe) == 0 && found == 3;
  return ok ? static_cast<int64_t>(bytes / 1024) : -1;
}

int OpenFds(int pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

class Driver {
 public:
  Driver(const std::string& server, int pid, std::string operator_token, std::string metrics_url)
      : pid_(pid), operator_token_(std::move(operator_token)), metrics_url_(std::move(metrics_url)) {
    for (int i = 0; i < 2; ++i) {  // Two connections.
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      channels_.push_back(
          grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args));
      stubs_.push_back(v1::Authorizer::NewStub(channels_.back()));
    }
    ClientOptions options;
    options.server = server;
    options.api_key = operator_token_;
    management_ = std::make_unique<Client>(options, channels_[0]);
  }

  bool Setup(int keys) {
    absl::StatusOr<core::TokenFormat> format = core::TokenFormat::Create("fs");
    for (int i = 0; i < keys; ++i) {
      v1::CreateKeyRequest create;
      create.set_team_id("soak");
      create.set_name(absl::StrCat("soak ", i));
      create.add_scopes("flows:read");
      create.set_environment(v1::ENVIRONMENT_LIVE);
      absl::StatusOr<v1::CreateKeyResponse> created = management_->CreateKey(create);
      if (!created.ok()) return Error("setup CreateKey", created.status().ToString());
      const std::string& token = created->token();
      if (i % 10 == 0) {
        v1::RevokeKeyRequest revoke;
        revoke.set_key_id(created->key().key_id());
        if (absl::Status s = management_->RevokeKey(revoke).status(); !s.ok()) {
          return Error("setup RevokeKey", s.ToString());
        }
        AddProbe(token, "flows:read", false, v1::REASON_REVOKED);
        continue;
      }
      for (int j = 0; j < 6; ++j) AddProbe(token, "flows:read", true, v1::REASON_UNSPECIFIED);
      AddProbe(token, "runs:write", false, v1::REASON_INSUFFICIENT_SCOPE);
      if (i % 10 == 1) {
        std::string mistyped = token;
        mistyped.back() = mistyped.back() == 'x' ? 'y' : 'x';
        AddProbe(mistyped, "flows:read", false, v1::REASON_MALFORMED_TOKEN);
        AddProbe(format->Generate(core::Environment::kLive), "flows:read", false,
                 v1::REASON_UNKNOWN_KEY);
      }
    }
    std::printf("setup: %d keys, %zu Authorize probes\n", keys, probes_.size());
    return true;
  }

  // Closed loop: every thread calls back to back. Returns calls per second.
  double MeasureCapacity(absl::Duration measure, int threads) {
    const uint64_t before = completed_.load();
    const Clock::time_point start = Clock::now();
    const Clock::time_point end =
        start + std::chrono::microseconds(absl::ToInt64Microseconds(measure));
    RunThreads(threads, [&](int t, uint64_t* n) {
      while (Clock::now() < end) Call(t, (*n)++, Clock::now());
    });
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double qps = (completed_.load() - before) / elapsed;
    std::printf("capacity: %.0f Authorize/s (closed loop, %d threads, %.0f s)\n", qps, threads,
                elapsed);
    std::fflush(stdout);
    return qps;
  }

  // The paced soak: each thread calls on its own fixed schedule (an open
  // loop; a late call is measured from its scheduled time), with management
  // traffic beside it and /proc sampled.
  void Soak(double qps, int threads, absl::Duration duration, absl::Duration sample_interval,
            double management_rate) {
    ResetLatencies();
    const uint64_t completed_before = completed_.load();
    std::atomic<bool> done{false};
    std::thread management([&] { ManagementLoop(management_rate, &done); });
    const Clock::time_point start = Clock::now();
    const Clock::time_point end =
        start + std::chrono::microseconds(absl::ToInt64Microseconds(duration));
    std::thread sampler([&] {
      const auto interval = std::chrono::microseconds(absl::ToInt64Microseconds(sample_interval));
      uint64_t completed_at_sample = completed_.load();
      TakeSample(start, start, 0);
      for (Clock::time_point next = start + interval; next <= end; next += interval) {
        std::this_thread::sleep_until(next);
        const uint64_t completed = completed_.load();
        TakeSample(
            start, Clock::now(),
            (completed - completed_at_sample) / std::chrono::duration<double>(interval).count());
        completed_at_sample = completed;
      }
    });
    const auto period = std::chrono::duration<double>(threads / qps);
    RunThreads(threads, [&](int t, uint64_t* n) {
      // Threads start spread over one period.
      Clock::time_point next =
          start + std::chrono::duration_cast<Clock::duration>(period * t / threads);
      for (; next < end; next += std::chrono::duration_cast<Clock::duration>(period)) {
        std::this_thread::sleep_until(next);
        Call(t, (*n)++, next);
      }
    });
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    done = true;
    management.join();
    sampler.join();
    TakeSample(start, Clock::now(), 0);
    soak_qps_ = (completed_.load() - completed_before) / elapsed;
  }

  // Prints the figures; true if every criterion held.
  bool Report(double target_qps, absl::Duration warmup, double max_rss_growth_pct, int fd_slack) {
    bool ok = errors_.load() == 0 && wrong_.load() == 0 && management_errors_.load() == 0;
    std::vector<double> latencies;
    {
      absl::MutexLock lock(&mu_);
      latencies.assign(latencies_us_.begin(), latencies_us_.end());
    }
    std::sort(latencies.begin(), latencies.end());
    auto percentile = [&](double p) {
      return latencies.empty()
                 ? 0.0
                 : latencies[std::min(latencies.size() - 1, size_t(p * latencies.size()))] / 1000;
    };
    std::printf(
        "soak: target %.0f/s, achieved %.0f Authorize/s; latency from schedule p50 %.2f ms, "
        "p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n"
        "calls: %llu Authorize, %llu management ops; gRPC errors %llu, wrong answers %llu, "
        "management errors %llu\n",
        target_qps, soak_qps_, percentile(0.5), percentile(0.99), percentile(0.999),
        latencies.empty() ? 0.0 : latencies.back() / 1000,
        static_cast<unsigned long long>(completed_.load()),
        static_cast<unsigned long long>(management_ops_.load()),
        static_cast<unsigned long long>(errors_.load()),
        static_cast<unsigned long long>(wrong_.load()),
        static_cast<unsigned long long>(management_errors_.load()));

    const double warm = absl::ToDoubleSeconds(warmup);
    const double end = samples_.back().seconds;
    std::vector<double> first_rss, last_rss, first_other, last_other;
    bool held_known = true;
    int fd_min = 1 << 30, fd_max = 0;
    for (const Sample& s : samples_) {
      if (s.seconds < warm) continue;
      held_known = held_known && s.held_kb >= 0;
      const double other = static_cast<double>(s.rss_kb - std::max<int64_t>(s.held_kb, 0));
      if (s.seconds <= warm + 60) {
        first_rss.push_back(s.rss_kb);
        first_other.push_back(other);
      }
      if (s.seconds >= end - 60) {
        last_rss.push_back(s.rss_kb);
        last_other.push_back(other);
      }
      fd_min = std::min(fd_min, s.fds);
      fd_max = std::max(fd_max, s.fds);
    }
    auto growth_pct = [](double first, double last) {
      return first > 0 ? 100.0 * (last - first) / first : 0;
    };
    const double first = Median(first_rss), last = Median(last_rss);
    const double growth = growth_pct(first, last);
    const std::string limit = max_rss_growth_pct > 0
                                  ? absl::StrCat(" (limit ", max_rss_growth_pct, "%)")
                                  : " (not checked)";
    std::printf(
        "memory: VmRSS median %.1f MiB in the first minute after a %.0f s warm-up, %.1f MiB "
        "in the last minute: %+.2f%%%s\n",
        first / 1024, warm, last / 1024, growth, limit.c_str());
    if (held_known) {
      const double first_o = Median(first_other), last_o = Median(last_other);
      std::printf(
          "memory: of which memtables and caches %.1f -> %.1f MiB, the rest %.1f -> %.1f MiB "
          "(%+.2f%%)\n",
          (first - first_o) / 1024, (last - last_o) / 1024, first_o / 1024, last_o / 1024,
          growth_pct(first_o, last_o));
    }
    std::printf("descriptors after warm-up: %d..%d\n", fd_min, fd_max);
    if (max_rss_growth_pct > 0 && growth >= max_rss_growth_pct) ok = false;
    if (fd_max - fd_min > fd_slack) ok = false;
    std::printf("%s\n", ok ? "PASS" : "FAIL");
    return ok;
  }

 private:
  bool Error(const char* what, const std::string& message) {
    std::fprintf(stderr, "%s failed: %s\n", what, message.c_str());
    return false;
  }

  void AddProbe(const std::string& token, const std::string& scope, bool allowed,
                v1::Reason reason) {
    Probe probe;
    probe.request.set_token(token);
    probe.request.set_required_scope(scope);
    probe.request.set_client_ip("192.0.2.1");
    probe.allowed = allowed;
    probe.reason = reason;
    probes_.push_back(std::move(probe));
  }

  // Runs body(thread index, &per-thread call counter) on `threads` threads.
  template <typename Body>
  void RunThreads(int threads, Body body) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        uint64_t n = static_cast<uint64_t>(t) * 7919;  // Threads start at different probes.
        body(t, &n);
      });
    }
    for (std::thread& thread : pool) thread.join();
  }

  // One Authorize of probe n, checked; latency counted from `scheduled`.
  void Call(int thread, uint64_t n, Clock::time_point scheduled) {
    const Probe& probe = probes_[n % probes_.size()];
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::AuthorizeResponse response;
    const grpc::Status status =
        stubs_[thread % stubs_.size()]->Authorize(&context, probe.request, &response);
    const double latency_us =
        std::chrono::duration<double, std::micro>(Clock::now() - scheduled).count();
    if (!status.ok()) {
      if (errors_.fetch_add(1) < 5) {
        std::fprintf(stderr, "Authorize error: %s: %s\n", CodeName(status.error_code()).c_str(),
                     status.error_message().c_str());
      }
    } else if (response.allowed() != probe.allowed || response.reason() != probe.reason) {
      if (wrong_.fetch_add(1) < 5) {
        std::fprintf(stderr, "wrong answer: %s, expected %s\n",
                     v1::Reason_Name(response.reason()).c_str(),
                     v1::Reason_Name(probe.reason).c_str());
      }
    }
    if (completed_.fetch_add(1) % 16 == 0) {  // A sample of the latencies is enough.
      absl::MutexLock lock(&mu_);
      latencies_us_.push_back(latency_us);
    }
  }

  void ResetLatencies() {
    absl::MutexLock lock(&mu_);
    latencies_us_.clear();
  }

  void TakeSample(Clock::time_point start, Clock::time_point now, double qps) {
    Sample sample;
    sample.seconds = std::chrono::duration<double>(now - start).count();
    sample.rss_kb = RssKb(pid_);
    sample.held_kb = HeldKb(metrics_url_);
    sample.fds = OpenFds(pid_);
    sample.qps = qps;
    samples_.push_back(sample);
    std::printf("  t=%5.0fs  VmRSS %7.1f MiB  (memtables+caches %5.1f MiB)  fds %3d  %6.0f "
                "Authorize/s  errors %llu\n",
                sample.seconds, sample.rss_kb / 1024.0, sample.held_kb / 1024.0, sample.fds, qps,
                static_cast<unsigned long long>(errors_.load() + wrong_.load() +
                                                management_errors_.load()));
    std::fflush(stdout);
  }

  // Management operations at `rate` per second, each checked, until done.
  void ManagementLoop(double rate, std::atomic<bool>* done) {
    if (rate <= 0) return;  // Authorize traffic only.
    const auto period = std::chrono::microseconds(static_cast<int64_t>(1e6 / rate));
    std::unique_ptr<v1::Authorizer::Stub> stub = v1::Authorizer::NewStub(channels_[1]);
    Clock::time_point next = Clock::now();
    std::string key_id, token;
    auto check = [&](const char* what, bool ok, const std::string& detail) {
      ++management_ops_;
      if (!ok && management_errors_.fetch_add(1) < 5) {
        std::fprintf(stderr, "management %s failed: %s\n", what, detail.c_str());
      }
      return ok;
    };
    for (int step = 0; !*done; ++step) {
      std::this_thread::sleep_until(next);
      next += period;
      switch (step % 5) {
        case 0: {
          v1::CreateKeyRequest create;
          create.set_team_id("soak-mgmt");
          create.set_name(absl::StrCat("m", step));
          create.add_scopes("read");
          create.set_environment(v1::ENVIRONMENT_LIVE);
          absl::StatusOr<v1::CreateKeyResponse> created = management_->CreateKey(create);
          key_id.clear();
          if (check("CreateKey", created.ok(), created.status().ToString())) {
            key_id = created->key().key_id();
            token = created->token();
          }
          break;
        }
        case 1: {
          if (key_id.empty()) break;
          const Answer answer = AuthorizeOnce(*stub, token, "read");
          check("Authorize of a new key", answer.allowed(), answer.Describe());
          break;
        }
        case 2: {
          if (key_id.empty()) break;
          v1::RotateKeyRequest rotate;
          rotate.set_key_id(key_id);
          absl::StatusOr<v1::RotateKeyResponse> rotated = management_->RotateKey(rotate);
          if (!check("RotateKey", rotated.ok(), rotated.status().ToString())) break;
          const Answer old_answer = AuthorizeOnce(*stub, token, "read");
          check("Authorize of a rotated key",
                old_answer.ok() && !old_answer.response.allowed() &&
                    old_answer.response.reason() == v1::REASON_REVOKED,
                old_answer.Describe());
          key_id = rotated->key().key_id();
          token = rotated->token();
          break;
        }
        case 3: {
          v1::ListKeysRequest list;
          list.set_team_id("soak-mgmt");
          list.set_page_size(50);
          absl::StatusOr<v1::ListKeysResponse> listed = management_->ListKeys(list);
          check("ListKeys", listed.ok(), listed.status().ToString());
          break;
        }
        case 4: {
          if (key_id.empty()) break;
          v1::RevokeKeyRequest revoke;
          revoke.set_key_id(key_id);
          absl::StatusOr<v1::Key> revoked = management_->RevokeKey(revoke);
          if (!check("RevokeKey", revoked.ok(), revoked.status().ToString())) break;
          const Answer answer = AuthorizeOnce(*stub, token, "read");
          check("Authorize of a revoked key",
                answer.ok() && answer.response.reason() == v1::REASON_REVOKED, answer.Describe());
          break;
        }
      }
    }
  }

  const int pid_;
  const std::string operator_token_;
  const std::string metrics_url_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::Authorizer::Stub>> stubs_;
  std::unique_ptr<Client> management_;
  std::vector<Probe> probes_;  // Fixed after Setup().
  std::atomic<uint64_t> completed_{0}, errors_{0}, wrong_{0};
  std::atomic<uint64_t> management_ops_{0}, management_errors_{0};
  absl::Mutex mu_;
  std::vector<double> latencies_us_ ABSL_GUARDED_BY(mu_);
  std::vector<Sample> samples_;
  double soak_qps_ = 0;
};

}  // namespace
}  // namespace keygate::reliability

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string server = absl::GetFlag(FLAGS_server);
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const std::string token(absl::StripAsciiWhitespace(
      keygate::reliability::ReadFileOrEmpty(absl::GetFlag(FLAGS_operator_key_file))));
  if (server.empty() || pid <= 0 || token.empty()) {
    std::fprintf(stderr,
                 "usage: keygate-soak-driver --server=HOST:PORT --server_pid=PID "
                 "--operator_key_file=F [--duration=10m] ...\n");
    return 2;
  }
  keygate::reliability::Driver driver(server, pid, token, absl::GetFlag(FLAGS_metrics_url));
  if (!driver.Setup(absl::GetFlag(FLAGS_keys))) return 1;
  const double capacity =
      driver.MeasureCapacity(absl::GetFlag(FLAGS_measure), absl::GetFlag(FLAGS_threads));
  const double target = capacity * absl::GetFlag(FLAGS_load);
  std::printf("soak: %.0f Authorize/s (%.0f%% of capacity) for %s with %.1f management ops/s\n",
              target, 100 * absl::GetFlag(FLAGS_load),
              absl::FormatDuration(absl::GetFlag(FLAGS_duration)).c_str(),
              absl::GetFlag(FLAGS_management_rate));
  std::fflush(stdout);
  driver.Soak(target, absl::GetFlag(FLAGS_threads), absl::GetFlag(FLAGS_duration),
              absl::GetFlag(FLAGS_sample_interval), absl::GetFlag(FLAGS_management_rate));
  return driver.Report(target, absl::GetFlag(FLAGS_warmup), absl::GetFlag(FLAGS_max_rss_growth_pct),
                       absl::GetFlag(FLAGS_fd_slack))
             ? 0
             : 1;
}
