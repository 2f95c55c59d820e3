#include "storage/memtable_flusher.h"

#include <cstdint>
#include <string>
#include <utility>

#include "rocksdb/db.h"
#include "server/core/log.h"

namespace keygate::storage {

MemtableFlusher::MemtableFlusher(rocksdb::DB* db,
                                 std::vector<rocksdb::ColumnFamilyHandle*> families,
                                 absl::Duration period, size_t min_bytes)
    : db_(db), families_(std::move(families)), min_bytes_(min_bytes) {
  thread_ = std::thread([this, period] {
    while (!stop_.WaitForNotificationWithTimeout(period)) FlushOld();
  });
}

MemtableFlusher::~MemtableFlusher() {
  stop_.Notify();
  thread_.join();
}

void MemtableFlusher::FlushOld() {
  for (rocksdb::ColumnFamilyHandle* family : families_) {
    uint64_t bytes = 0;
    if (!db_->GetIntProperty(family, rocksdb::DB::Properties::kCurSizeActiveMemTable, &bytes) ||
        bytes <= min_bytes_) {
      continue;
    }
    rocksdb::FlushOptions options;
    options.wait = false;              // RocksDB's flush thread does the work.
    options.allow_write_stall = true;  // Never wait for a stall to clear.
    const rocksdb::Status s = db_->Flush(options, family);
    if (!s.ok()) {
      // Harmless (the WAL holds the writes); the next period tries again.
      core::Log(core::LogLevel::kWarning, "memtable_flush_failed",
                {{"family", family->GetName()}, {"error", s.ToString()}});
    }
  }
}

}  // namespace keygate::storage
