// The key cache's contents, saved when a store closes and loaded when it
// opens again, so that a restarted server (a deploy, a rescheduled pod)
// answers its busy keys from memory from the first call instead of paying
// one RocksDB read per key while the cache refills.
//
// A snapshot is only a hint and is never trusted beyond what the store says:
// it is stamped with the database's identity and its latest sequence number
// at the close, and is loaded only if the reopened database has exactly that
// identity and sequence number, i.e. nothing was written to it since (every
// write, including a revocation, advances the sequence number). It is
// removed as it is read, so it is used at most once. Damaged or stale
// snapshots are ignored. The file holds what the database holds (records
// with token hashes, never tokens) and is created with mode 0600.
//
// File format: "keygate-key-cache 1 <identity> <sequence> <count>\n", then
// per record its fixed 4-byte little-endian length and EncodeKeyRecord bytes,
// then the SHA-256 of everything before it.
#ifndef KEYGATE_STORAGE_CACHE_SNAPSHOT_H_
#define KEYGATE_STORAGE_CACHE_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/core/key_record.h"

namespace keygate::storage {

// Which database state a snapshot belongs to.
struct SnapshotStamp {
  std::string db_identity;
  uint64_t sequence = 0;
};

// The snapshot file of the database in `db_path` (RocksDB ignores the name).
std::string CacheSnapshotPath(const std::string& db_path);

// Saves `records` (temporary file, then rename). Unavailable on an I/O error.
absl::Status WriteCacheSnapshot(const std::string& db_path, const SnapshotStamp& stamp,
                                const std::vector<core::SharedKeyRecord>& records);

// Reads and removes the snapshot. Returns its records if it is intact and
// stamped `expected`; none if there is no snapshot or it is stale; DataLoss
// if it is damaged (it is removed all the same).
absl::StatusOr<std::vector<core::KeyRecord>> TakeCacheSnapshot(const std::string& db_path,
                                                               const SnapshotStamp& expected);

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_CACHE_SNAPSHOT_H_
