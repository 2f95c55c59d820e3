// Flushes memtables by age, not only by size.
#ifndef KEYGATE_STORAGE_MEMTABLE_FLUSHER_H_
#define KEYGATE_STORAGE_MEMTABLE_FLUSHER_H_

#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace keygate::storage {

// Every `period`, asks RocksDB to flush (in the background) each column
// family whose active memtable holds more than `min_bytes`.
//
// Keygate's families take a trickle of writes (usage every second, audit
// events, key changes) that would take hours to fill RocksDB's 64 MiB
// memtables: the process would grow by that much, and a crash would replay
// that much WAL at the next start. Flushing by age bounds both by about one
// period of writes.
class MemtableFlusher {
 public:
  // Starts the thread. `db` and `families` must outlive this object.
  MemtableFlusher(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> families,
                  absl::Duration period, size_t min_bytes);
  // Stops the thread (without a last flush).
  ~MemtableFlusher();

  MemtableFlusher(const MemtableFlusher&) = delete;
  MemtableFlusher& operator=(const MemtableFlusher&) = delete;

 private:
  void FlushOld();

  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> families_;
  const size_t min_bytes_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_MEMTABLE_FLUSHER_H_
