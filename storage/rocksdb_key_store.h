// The RocksDB implementation of KeyStore.
#ifndef KEYGATE_STORAGE_ROCKSDB_KEY_STORE_H_
#define KEYGATE_STORAGE_ROCKSDB_KEY_STORE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/core/clock.h"
#include "storage/key_store.h"

namespace keygate::storage {

struct RocksDbOptions {
  // Directory of the database; created if missing.
  std::string path;
  // Size of the shared LRU block cache (data, index and filter blocks).
  size_t block_cache_bytes = size_t{128} << 20;
  // Decoded records kept in memory for FindByTokenHash (see record_cache.h);
  // 0: none, every lookup reads RocksDB.
  size_t record_cache_bytes = size_t{64} << 20;
  // Read the keys family into the block cache in the background after
  // opening (block_cache_warmer.h), up to 90% of the cache.
  bool warm_block_cache = true;
  // How long revoked/expired keys and audit events are kept.
  absl::Duration retention = absl::Hours(24 * 400);
  // How long usage data is kept.
  absl::Duration usage_retention = absl::Hours(24 * 90);
  // The time retention is judged by. Must outlive the store.
  const core::Clock* clock = &core::Clock::Real();
  // Count block cache hits and misses (StoreStats); costs a little on every
  // read, so only when metrics are served.
  bool statistics = false;
  // Operator override after damage (--accept_data_loss): replay the
  // write-ahead log only up to a damaged record (dropping every later one)
  // instead of refusing to open, and accept a store below its sequence floor
  // (see sequence_floor.h). Either may lose acknowledged writes, e.g. make a
  // revoked key valid again.
  bool accept_data_loss = false;
};

// Opens (creating if needed) a RocksDB-backed KeyStore at `options.path`.
//
// Layout, one column family per concern (key layouts in record_codec.h):
//   keys          token hash -> encoded record   (Authorize: one point lookup)
//   key_ids       key id     -> token hash, purge time
//   team_keys     team, NUL, create time, key id -> token hash, purge time
//   audit         team, NUL, inverted time, event id -> event
//   audit_by_key  key id, NUL, inverted time, event id -> event
//   usage         key id, NUL, kind… -> counters / times (merge operator)
//   meta          name -> value
// Every key change is one WriteBatch across these families written with
// sync=true, so it is atomic and on disk (WAL) before it is acknowledged,
// and each change is one sequence number for a future replica to follow.
//
// Returns Unavailable if the database cannot be opened (e.g. locked by
// another process), DataLoss if it is corrupt: a damaged record inside the
// write-ahead log (a torn tail, the end of a write that never finished, is
// recovered), or a store that opens below its sequence floor, i.e. lost
// writes it had made durable. A refused store is left as it was. On success,
// and after the final flush when the store is destroyed, the floor is raised
// to the store's sequence number.
absl::StatusOr<std::unique_ptr<KeyStore>> OpenRocksDbKeyStore(const RocksDbOptions& options);

// Restores backup `backup_id` (0: the latest) of `backup_dir` into the
// database directory `db_path`, after verifying the backup's checksums. The
// restored store is older than the one it replaces: any sequence floor in
// `db_path` is removed, and the first open records a new one.
// FailedPrecondition if `db_path` already holds a database; NotFound if there
// is no such backup.
absl::StatusOr<BackupInfo> RestoreRocksDbBackup(const std::string& backup_dir, uint32_t backup_id,
                                                const std::string& db_path);

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_ROCKSDB_KEY_STORE_H_
