// In-memory aggregation of Authorize outcomes per key, flushed to storage at
// a bounded interval, so that Authorize never writes to RocksDB itself.
#ifndef KEYGATE_SERVER_SERVICE_USAGE_RECORDER_H_
#define KEYGATE_SERVER_SERVICE_USAGE_RECORDER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/core/key_record.h"
#include "server/core/usage.h"
#include "storage/key_store.h"

namespace keygate::service {

// Counts Authorize outcomes per key and UTC day, the last use, and recent
// client addresses, in memory; a background thread hands them to the store
// every `flush_interval` (KeyStore::RecordUsage: durable and readable at
// once, folded into per-day rows later). A crash loses at most the counts
// of one interval.
// Record() counts in the record's own UsageTally (lock-free, in memory the
// call has just read); the calling thread's own shard, whose lock only the
// flusher also takes, lists the records it started counting in and holds
// what a tally cannot (client addresses, another day's counts). Calls for one
// popular key from many threads never wait for each other. Thread-safe.
// Every recorder counting into one record must write to the same store: a
// tally's counts go with whichever recorder flushes it.
class UsageRecorder {
 public:
  // Client addresses kept per key and interval; more are dropped.
  static constexpr size_t kMaxClientsPerInterval = 16;
  static constexpr size_t kMaxAddressBytes = 64;

  // Starts the flush thread. `store` must outlive this.
  UsageRecorder(storage::KeyStore* store, absl::Duration flush_interval);
  // Stops the thread after a last flush.
  ~UsageRecorder();

  UsageRecorder(const UsageRecorder&) = delete;
  UsageRecorder& operator=(const UsageRecorder&) = delete;

  // Notes one Authorize answer for `key` (not null), given at `now` (the
  // caller's clock read, so that a call reads the clock once).
  // `client_address` may be empty. The record is kept until the next flush.
  // Without a client address, a call for a key already counted since the
  // last flush touches only the record; no key id is hashed or compared.
  // Records of one key id (e.g. re-read after a change) are added up.
  void Record(const core::SharedKeyRecord& key, bool allowed, absl::string_view client_address,
              absl::Time now);

  // Writes everything recorded so far. Returns the store's error (the
  // pending counts of that flush are then lost and logged).
  absl::Status Flush();

  // Time since the last successful flush (for metrics).
  absl::Duration SinceLastFlush() const;

 private:
  // What one key did in an interval, beyond its record's tally until the
  // flush adds the tally in.
  struct Pending {
    core::DailyUsage latest;  // The last day counted.
    absl::Time last_used = absl::InfinitePast();
    core::SharedKeyRecord key;              // Kept alive for its id until the flush.
    std::vector<core::DailyUsage> earlier;  // Other days (an interval across midnight).
    absl::flat_hash_map<std::string, absl::Time> clients;
  };
  // One thread's counts, by record (see Record()).
  using PendingMap = absl::flat_hash_map<const core::KeyRecord*, Pending>;
  // What one thread recorded since the last flush.
  struct Shard {
    absl::Mutex mu;
    // Counts the records' tallies refused, and client addresses.
    PendingMap pending ABSL_GUARDED_BY(mu);
    // Records whose tallies this thread started since the last flush.
    std::vector<core::SharedKeyRecord> tallied ABSL_GUARDED_BY(mu);
    // Sizes the flusher took last time: it hands the thread a table and a
    // list of that size, so that recording does not grow them (flusher only).
    size_t last_taken = 0;
    size_t last_tallied = 0;
    // Set when the thread ends (no more records) or the recorder is gone
    // (the thread drops its reference).
    std::atomic<bool> thread_exited{false};
    std::atomic<bool> recorder_gone{false};
  };

  // The calling thread's shard of this recorder, registered on first use.
  Shard& ThisThreadShard();
  // Adds the counts of `day` to `into`.
  static void AddDay(const core::DailyUsage& day, Pending& into);
  // Adds `from` (one thread's counts) to `into`.
  static void MergePending(Pending&& from, Pending& into);
  void FlushLoop();

  storage::KeyStore* const store_;
  const absl::Duration flush_interval_;
  const uint64_t id_;  // Tells recorders apart in a thread's list of shards.
  absl::Mutex shards_mu_;
  std::vector<std::shared_ptr<Shard>> shards_ ABSL_GUARDED_BY(shards_mu_);
  absl::Mutex flush_mu_;  // One flush at a time.
  std::atomic<int64_t> last_flush_us_;
  absl::Notification stop_;
  std::thread flusher_;
};

}  // namespace keygate::service

#endif  // KEYGATE_SERVER_SERVICE_USAGE_RECORDER_H_
