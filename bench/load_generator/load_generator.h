// A closed-loop gRPC load generator: a fixed number of calls is kept in
// flight over several connections; each completion starts the next call.
#ifndef KEYGATE_BENCH_LOAD_GENERATOR_LOAD_GENERATOR_H_
#define KEYGATE_BENCH_LOAD_GENERATOR_LOAD_GENERATOR_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/common/latency_histogram.h"
#include "grpcpp/channel.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/support/status.h"

namespace keygate::bench {

// What one thread observed in the measured window.
struct CallStats {
  LatencyHistogram latency;                     // Every completed call, errors included.
  uint64_t allowed = 0;                         // OK answers: allowed (or created).
  std::array<uint64_t, 8> denied{};             // OK answers that deny, by reason value.
  std::map<grpc::StatusCode, uint64_t> errors;  // Non-OK answers by code.

  void Merge(const CallStats& other);
};

// One call in flight. A subclass owns the context, messages and reader of
// one RPC; the engine deletes it after Record.
class Call {
 public:
  virtual ~Call() = default;
  // Counts the finished call's outcome (not its latency) in `stats`.
  virtual void Record(CallStats* stats) const = 0;

  int64_t start_ns = 0;
};

// Starts calls of one RPC over a fixed set of channels. Must be thread-safe:
// each engine thread calls Start with its own generator.
class CallFactory {
 public:
  virtual ~CallFactory() = default;
  virtual int channels() const = 0;
  // Starts a call on channel `channel` (< channels()) whose completion is
  // posted to `cq` with the returned Call as tag.
  virtual Call* Start(int channel, grpc::CompletionQueue* cq, std::mt19937_64& rng) const = 0;
};

struct LoadOptions {
  int outstanding = 64;  // Calls in flight, spread over the channels.
  int threads = 1;       // Completion-queue threads.
  absl::Duration warmup = absl::Seconds(3);
  absl::Duration duration = absl::Seconds(10);
  uint64_t seed = 1;
  pid_t server_pid = 0;  // 0: no server CPU figures.
};

struct LoadResult {
  CallStats stats;
  double seconds = 0;              // Length of the measured window.
  double server_cpu_seconds = -1;  // utime + stime over the window; -1: unknown.
  double server_rss_mib = -1;      // VmRSS at the end; -1: unknown.
  double client_cpu_seconds = 0;   // This process over the window.
};

// Runs `factory`'s calls for warmup + duration and returns what completed
// inside the measured window. Returns Unavailable if /proc of the server
// cannot be read.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options, const CallFactory& factory);

// `count` channels to `target`, each with its own connection (distinct
// arguments, local subchannel pools), connected. Unavailable if one cannot
// connect within `timeout`.
absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> ConnectChannels(
    const std::string& target, int count, absl::Duration timeout);

}  // namespace keygate::bench

#endif  // KEYGATE_BENCH_LOAD_GENERATOR_LOAD_GENERATOR_H_
