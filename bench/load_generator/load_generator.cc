#include "bench/load_generator/load_generator.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace keygate::bench {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepUntilNs(int64_t deadline_ns) {
  std::this_thread::sleep_until(
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns)));
}

absl::StatusOr<std::string> ReadProcFile(pid_t pid, const char* name) {
  const std::string path = absl::StrCat("/proc/", pid, "/", name);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  return text.str();
}

// utime + stime of `pid` (fields 14 and 15 of /proc/PID/stat), in seconds.
absl::StatusOr<double> ProcessCpuSeconds(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadProcFile(pid, "stat");
  if (!stat.ok()) return stat.status();
  // The command name (field 2) may hold spaces; fields 3.. follow the last ')'.
  const size_t paren = stat->rfind(')');
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(paren + 2), ' ');
  int64_t utime = 0, stime = 0;
  if (paren == std::string::npos || fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::UnavailableError(absl::StrCat("cannot parse /proc/", pid, "/stat"));
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// VmRSS of `pid` in MiB.
absl::StatusOr<double> ProcessRssMib(pid_t pid) {
  absl::StatusOr<std::string> status = ReadProcFile(pid, "status");
  if (!status.ok()) return status.status();
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, "VmRSS:")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    int64_t kib = 0;
    if (absl::SimpleAtoi(line, &kib)) return static_cast<double>(kib) / 1024;
  }
  return absl::UnavailableError(absl::StrCat("no VmRSS in /proc/", pid, "/status"));
}

double SelfCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Keeps `outstanding` calls in flight on its own completion queue until the
// window ends, then drains them.
class Worker {
 public:
  Worker(const CallFactory& factory, std::vector<int> channels, int outstanding, uint64_t seed,
         int64_t window_start_ns, int64_t window_end_ns)
      : factory_(factory),
        channels_(std::move(channels)),
        outstanding_(outstanding),
        rng_(seed),
        window_start_ns_(window_start_ns),
        window_end_ns_(window_end_ns) {}

  void Run() {
    for (int i = 0; i < outstanding_; ++i) StartCall();
    if (in_flight_ == 0) cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
      const std::unique_ptr<Call> call(static_cast<Call*>(tag));
      const int64_t now = NowNs();
      --in_flight_;
      if (now >= window_start_ns_ && now < window_end_ns_) {
        stats_.latency.Record(static_cast<uint64_t>(now - call->start_ns));
        call->Record(&stats_);
      }
      if (now < window_end_ns_) {
        StartCall();
      } else if (in_flight_ == 0) {
        cq_.Shutdown();
      }
    }
  }

  const CallStats& stats() const { return stats_; }

 private:
  void StartCall() {
    const int64_t start = NowNs();
    Call* call = factory_.Start(channels_[next_channel_++ % channels_.size()], &cq_, rng_);
    call->start_ns = start;
    ++in_flight_;
  }

  const CallFactory& factory_;
  const std::vector<int> channels_;  // Indices into the factory's channels.
  const int outstanding_;
  std::mt19937_64 rng_;
  const int64_t window_start_ns_;
  const int64_t window_end_ns_;
  grpc::CompletionQueue cq_;
  size_t next_channel_ = 0;
  int in_flight_ = 0;
  CallStats stats_;
};

}  // namespace

void CallStats::Merge(const CallStats& other) {
  latency.Merge(other.latency);
  allowed += other.allowed;
  for (size_t i = 0; i < denied.size(); ++i) denied[i] += other.denied[i];
  for (const auto& [code, count] : other.errors) errors[code] += count;
}

absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> ConnectChannels(
    const std::string& target, int count, absl::Duration timeout) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::nanoseconds(absl::ToInt64Nanoseconds(timeout));
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("keygate.bench_channel", i);  // Distinct arguments: never shared.
    channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(deadline)) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", target));
    }
  }
  return channels;
}

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const CallFactory& factory) {
  if (factory.channels() < 1) return absl::InvalidArgumentError("no channels");
  const int threads = std::max(1, std::min(options.threads, factory.channels()));
  std::vector<std::vector<int>> channels(threads);
  for (int i = 0; i < factory.channels(); ++i) channels[i % threads].push_back(i);

  const int64_t window_start = NowNs() + absl::ToInt64Nanoseconds(options.warmup);
  const int64_t window_end = window_start + absl::ToInt64Nanoseconds(options.duration);
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    const int share = options.outstanding * (t + 1) / threads - options.outstanding * t / threads;
    workers.push_back(std::make_unique<Worker>(factory, channels[t], share, options.seed + t,
                                               window_start, window_end));
    running.emplace_back(&Worker::Run, workers.back().get());
  }

  LoadResult result;
  SleepUntilNs(window_start);
  absl::StatusOr<double> server_before = 0.0;
  if (options.server_pid > 0) server_before = ProcessCpuSeconds(options.server_pid);
  const double client_before = SelfCpuSeconds();
  SleepUntilNs(window_end);
  absl::StatusOr<double> server_after = 0.0;
  if (options.server_pid > 0) server_after = ProcessCpuSeconds(options.server_pid);
  result.client_cpu_seconds = SelfCpuSeconds() - client_before;
  result.seconds = absl::ToDoubleSeconds(options.duration);
  for (std::thread& t : running) t.join();
  for (const std::unique_ptr<Worker>& w : workers) result.stats.Merge(w->stats());

  if (options.server_pid > 0) {
    if (!server_before.ok()) return server_before.status();
    if (!server_after.ok()) return server_after.status();
    result.server_cpu_seconds = *server_after - *server_before;
    absl::StatusOr<double> rss = ProcessRssMib(options.server_pid);
    if (!rss.ok()) return rss.status();
    result.server_rss_mib = *rss;
  }
  return result;
}

}  // namespace keygate::bench
