// In-memory aggregation of Authorize outcomes per key, flushed to storage at
// a bounded interval, so that Authorize never writes to RocksDB itself.
#ifndef KEYGATE_SERVER_SERVICE_USAGE_RECORDER_H_
#define KEYGATE_SERVER_SERVICE_USAGE_RECORDER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/core/clock.h"
#include "server/core/usage.h"
#include "storage/key_store.h"

namespace keygate::service {

// Counts Authorize outcomes per key and UTC day, the last use, and recent
// client addresses, in memory; a background thread adds them to the store
// (merge operators) every `flush_interval`. A crash loses at most the counts
// of one interval. Record() takes one of 16 shard locks, never a global one.
// Thread-safe.
class UsageRecorder {
 public:
  // Client addresses kept per key and interval; more are dropped.
  static constexpr size_t kMaxClientsPerInterval = 16;
  static constexpr size_t kMaxAddressBytes = 64;

  // Starts the flush thread. `store` and `clock` must outlive this.
  UsageRecorder(storage::KeyStore* store, const core::Clock* clock, absl::Duration flush_interval);
  // Stops the thread after a last flush.
  ~UsageRecorder();

  UsageRecorder(const UsageRecorder&) = delete;
  UsageRecorder& operator=(const UsageRecorder&) = delete;

  // Notes one Authorize answer for `key_id`. `client_address` may be empty.
  void Record(absl::string_view key_id, bool allowed, absl::string_view client_address);

  // Writes everything recorded so far. Returns the store's error (the
  // pending counts of that flush are then lost and logged).
  absl::Status Flush();

  // Time since the last successful flush (for metrics).
  absl::Duration SinceLastFlush() const;

 private:
  struct Pending {
    std::vector<core::DailyUsage> days;  // Usually one.
    absl::Time last_used = absl::InfinitePast();
    absl::flat_hash_map<std::string, absl::Time> clients;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Pending> pending ABSL_GUARDED_BY(mu);
  };

  void FlushLoop();

  storage::KeyStore* const store_;
  const core::Clock* const clock_;
  const absl::Duration flush_interval_;
  std::array<Shard, 16> shards_;
  absl::Mutex flush_mu_;  // One flush at a time.
  std::atomic<int64_t> last_flush_us_;
  absl::Notification stop_;
  std::thread flusher_;
};

}  // namespace keygate::service

#endif  // KEYGATE_SERVER_SERVICE_USAGE_RECORDER_H_
