// Where key records, usage and the audit trail live. The interface the
// server codes against; see rocksdb_key_store.h for the implementation.
#ifndef KEYGATE_STORAGE_KEY_STORE_H_
#define KEYGATE_STORAGE_KEY_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/core/audit_event.h"
#include "server/core/key_record.h"
#include "server/core/usage.h"

namespace keygate::storage {

// One page of a team's keys.
struct KeyPage {
  std::vector<core::KeyRecord> keys;
  std::string next_page_token;  // Empty on the last page.
};

struct ListQuery {
  std::string team_id;
  size_t page_size = 50;   // >= 1.
  std::string page_token;  // From a previous KeyPage; empty for the first page.
  // Only records for which this returns true are returned (all if empty).
  std::function<bool(const core::KeyRecord&)> filter;
};

struct AuditPage {
  std::vector<core::AuditEvent> events;  // Newest first.
  std::string next_page_token;
};

struct AuditQuery {
  std::string team_id;
  std::string key_id;  // If set: only events whose target is this key.
  size_t page_size = 50;
  std::string page_token;
};

// Figures about the store, for metrics.
struct StoreStats {
  uint64_t block_cache_hits = 0;
  uint64_t block_cache_misses = 0;
  uint64_t sst_bytes = 0;
  uint64_t pending_compaction_bytes = 0;
  uint64_t estimated_keys = 0;  // Records in the keys family (estimate).
  // Memory held by design, bounded by configuration: memtables (all
  // families), the block cache, and the decoded-key cache.
  uint64_t memtable_bytes = 0;
  uint64_t block_cache_bytes = 0;
  uint64_t key_cache_bytes = 0;
  // Decoded-key cache lookups since start that found the key, and that did
  // not (the key was then read from RocksDB, or does not exist).
  uint64_t key_cache_hits = 0;
  uint64_t key_cache_misses = 0;
  // Whether the keys family is still being read into the block cache.
  bool warming_block_cache = false;
  // Usage flushed but not yet folded into the usage rows: keys with counts
  // in memory, and journal entries kept for them (at most about one per
  // flush interval of the last minute).
  uint64_t unfolded_usage_keys = 0;
  uint64_t usage_journal_entries = 0;
};

// A backup of the store.
struct BackupInfo {
  uint32_t backup_id = 0;
  absl::Time create_time = absl::UnixEpoch();
  uint64_t size_bytes = 0;
  uint32_t file_count = 0;
};

// What else an Update writes in the same atomic batch.
struct UpdateExtras {
  // A new record to create together with the update (key rotation).
  const core::KeyRecord* create = nullptr;
  // The audit event recording the change.
  const core::AuditEvent* audit = nullptr;
};

// A durable collection of key records, looked up by token hash (the hot
// path), by key id, and listed per team in creation order; with each key's
// usage and an append-only audit trail.
//
// Every key change is one atomic batch, synced before it returns OK, that
// includes its audit event. Revoked and expired keys, audit events and usage
// past their retention are dropped by compaction, not by scans.
// Implementations are safe for concurrent access from multiple threads
// without external synchronization.
//
// Errors: Unavailable when the storage cannot be read or written (I/O error,
// read-only after a failure), ResourceExhausted when the disk is full,
// DataLoss when stored data is corrupt.
class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // The record whose token hash is `token_hash` (never null). Returns
  // NotFound if none. The hot path: may answer from memory, but never with a
  // record older than the last acknowledged change of that key.
  virtual absl::StatusOr<core::SharedKeyRecord> FindByTokenHash(
      absl::string_view token_hash) const = 0;

  // The record with id `key_id`. Returns NotFound if none.
  virtual absl::StatusOr<core::KeyRecord> Get(absl::string_view key_id) const = 0;

  // Stores a new record with all its indexes (and `audit`, if given).
  // Returns AlreadyExists if its key id or token hash is already stored. Ids
  // and hashes are random, so concurrent Creates are not serialised.
  virtual absl::Status Create(const core::KeyRecord& record,
                              const core::AuditEvent* audit = nullptr) = 0;

  // Create without waiting for the disk: checks and prepares the write,
  // then returns; `done` gets what Create would return, once the write is
  // durable or has failed. `done` runs on the calling thread before this
  // returns if the checks fail, otherwise on a storage thread, where it must
  // not block for long (it delays other writes) nor call this store's
  // synchronous writes. `record` and `audit` are not used after this returns.
  using CreateDone = std::function<void(absl::Status)>;
  virtual void CreateAsync(const core::KeyRecord& record, const core::AuditEvent* audit,
                           CreateDone done) = 0;

  // Stores many new records at once, for bulk loading (benchmarks, imports):
  // batched without per-write sync and without existence checks, then
  // flushed, so they are durable when this returns OK. The caller guarantees
  // that ids and hashes are new. Not for the request path.
  virtual absl::Status BulkCreate(const std::vector<core::KeyRecord>& records) = 0;

  // Atomically reads the record `key_id`, lets `mutate` change it, and
  // stores the result together with `extras`; concurrent Updates of one key
  // are serialised. If `mutate` returns an error nothing is written and that
  // error is returned. `mutate` must not change key_id, team_id, token_hash
  // or create_time. Returns the stored record, or NotFound if there is no
  // such key; AlreadyExists if `extras.create` collides.
  virtual absl::StatusOr<core::KeyRecord> Update(
      absl::string_view key_id, const std::function<absl::Status(core::KeyRecord&)>& mutate,
      const UpdateExtras& extras = {}) = 0;

  // A page of the keys of `query.team_id`, oldest first. Returns
  // InvalidArgument if the page token is malformed or from another team.
  virtual absl::StatusOr<KeyPage> List(const ListQuery& query) const = 0;

  // Appends an audit event on its own (refused attempts). Written to the WAL
  // but not synced: a crash may lose the last few.
  virtual absl::Status AppendAudit(const core::AuditEvent& event) = 0;

  // A page of a team's audit trail, newest first. InvalidArgument for a bad
  // page token.
  virtual absl::StatusOr<AuditPage> ListAudit(const AuditQuery& query) const = 0;

  // Adds usage deltas (counts add up, times take the maximum), in one batch
  // written to the WAL without sync; GetUsage and GetLastUsed see them as
  // soon as this returns.
  virtual absl::Status RecordUsage(std::vector<core::KeyUsage> deltas) = 0;

  // Usage of `key_id` from `since` (UTC day) on; clients most recent first,
  // at most `max_clients`.
  virtual absl::StatusOr<core::KeyUsage> GetUsage(absl::string_view key_id, absl::CivilDay since,
                                                  size_t max_clients) const = 0;

  // When `key_id` last authorized a request (InfinitePast: never).
  virtual absl::StatusOr<absl::Time> GetLastUsed(absl::string_view key_id) const = 0;

  // Small named values about the store itself (e.g. the pepper's
  // fingerprint). Get returns NotFound if `name` was never put.
  virtual absl::StatusOr<std::string> GetMetadata(absl::string_view name) const = 0;
  virtual absl::Status PutMetadata(absl::string_view name, absl::string_view value) = 0;

  // Compacts everything now, applying retention (tests, operations).
  virtual absl::Status CompactAll() = 0;

  // Calls `fn` for every key record, in no particular order, under one
  // snapshot. For periodic statistics; reads the whole store.
  virtual absl::Status ForEachKey(const std::function<void(const core::KeyRecord&)>& fn) const = 0;

  // OK while reads and writes work. Unavailable (naming the cause) after a
  // background error has stopped writes (e.g. disk full, I/O error); each
  // call then also asks the store to resume, so that it recovers once the
  // cause is gone. DataLoss if corruption was detected.
  virtual absl::Status Health() = 0;

  virtual StoreStats Stats() const = 0;

  // Reads every block of every file and verifies its checksum (slow; for
  // operators). DataLoss naming the file on a mismatch.
  virtual absl::Status VerifyChecksums() const = 0;

  // Takes a consistent online backup into `backup_dir` (incremental: files
  // already backed up there are shared). Every change acknowledged before
  // the call is in it. Concurrent backups are serialised.
  virtual absl::StatusOr<BackupInfo> CreateBackup(const std::string& backup_dir) = 0;
};

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_KEY_STORE_H_
