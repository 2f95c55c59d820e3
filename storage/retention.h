// What RocksDB does on its own during compaction: merging usage counters,
// and dropping data past its retention. Nothing here runs on the request path.
#ifndef KEYGATE_STORAGE_RETENTION_H_
#define KEYGATE_STORAGE_RETENTION_H_

#include <memory>

#include "absl/time/time.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/merge_operator.h"
#include "server/core/clock.h"

namespace keygate::storage {

// Merges usage values (see record_codec.h): day counters add up; last-use
// and client last-seen times take the maximum. Thread-safe.
std::shared_ptr<rocksdb::MergeOperator> NewUsageMergeOperator();

// Which data a compaction drops, judged at `clock`'s now when the compaction
// starts. Thread-safe; `clock` must outlive the factory.
enum class RetentionKind {
  kKeyRecords,  // keys: records revoked/expired more than `retention` ago.
  kKeyIndex,    // key_ids, team_keys: entries whose purge time has passed.
  kAudit,       // audit, audit_by_key: events older than `retention`.
  kUsage,       // usage: days and times older than `retention`.
};
std::shared_ptr<rocksdb::CompactionFilterFactory> NewRetentionFilterFactory(
    RetentionKind kind, const core::Clock* clock, absl::Duration retention);

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_RETENTION_H_
