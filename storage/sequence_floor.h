// The sequence floor of a store: a RocksDB sequence number that is known to
// be durable, kept in a small file beside the database files but outside
// RocksDB's MANIFEST and write-ahead log. A store that opens below its floor
// went back in time (e.g. a damaged MANIFEST made RocksDB ignore its later
// records), and serving it could allow revoked keys again.
//
// The floor is written while the database is open (its LOCK held), only with
// a sequence number whose writes are already in synced SST files and the
// MANIFEST: after a successful open and after the final flush of a clean
// close. A crash (even of the machine) therefore never leaves a floor above
// what a correct recovery reaches.
//
// File format, one line: "keygate-sequence-floor 1 <sequence> <crc32>\n",
// the CRC-32 (hex) covering the text before it.
//
// These functions are not synchronised; the caller holds the database lock.
#ifndef KEYGATE_STORAGE_SEQUENCE_FLOOR_H_
#define KEYGATE_STORAGE_SEQUENCE_FLOOR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keygate::storage {

// The floor file of the database in `db_path`. RocksDB ignores it (the name is
// none of its file kinds) and backups do not copy it.
std::string SequenceFloorPath(const std::string& db_path);

// Returns the recorded floor, or nullopt if there is none (a new store, or one
// created before floors were recorded). DataLoss if the file is damaged;
// Unavailable if it cannot be read.
absl::StatusOr<std::optional<uint64_t>> ReadSequenceFloor(const std::string& db_path);

// Records `sequence` as the floor, atomically and durably (temporary file,
// fsync, rename, fsync of the directory). Unavailable on an I/O error, which
// leaves the previous floor in place.
absl::Status WriteSequenceFloor(const std::string& db_path, uint64_t sequence);

// Removes the floor, e.g. before restoring a backup (legitimately older than
// the store it replaces). OK if there is none.
absl::Status RemoveSequenceFloor(const std::string& db_path);

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_SEQUENCE_FLOOR_H_
