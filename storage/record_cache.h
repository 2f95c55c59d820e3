// Decoded key records by token hash, in memory, in front of the keys family:
// the Authorize hot path answers a cached key without a RocksDB read or a
// decode.
#ifndef KEYGATE_STORAGE_RECORD_CACHE_H_
#define KEYGATE_STORAGE_RECORD_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/core/key_record.h"

namespace rocksdb {
class Cache;
}

namespace keygate::storage {

// A bounded LRU map from token hash to an immutable decoded record.
//
// Coherence contract: the owner stores changes first and then calls
// Invalidate() for the changed hash before it acknowledges the change. A
// reader that misses takes a ticket (BeginFill) *before* reading the store
// and offers what it read to Fill() with that ticket; Fill() drops the record
// if the hash was invalidated since the ticket was taken. So a record read
// before a change can never be cached after that change's Invalidate(), and
// the next Lookup after an acknowledged change never returns the old record.
//
// Only records that exist are cached (no negative entries: unknown tokens
// cannot fill the cache). Thread-safe.
class RecordCache {
 public:
  // `capacity_bytes` bounds the records' approximate heap size; 0 disables
  // the cache (Lookup always misses, Fill does nothing).
  explicit RecordCache(size_t capacity_bytes);
  ~RecordCache();

  RecordCache(const RecordCache&) = delete;
  RecordCache& operator=(const RecordCache&) = delete;

  // The cached record for `token_hash`, or null.
  std::shared_ptr<const core::KeyRecord> Lookup(absl::string_view token_hash) const;

  // A ticket for a Fill of `token_hash` with what is read from the store after
  // this call.
  uint64_t BeginFill(absl::string_view token_hash) const;

  // Caches `record` under its token hash unless that hash was invalidated
  // after `ticket` was taken.
  void Fill(uint64_t ticket, std::shared_ptr<const core::KeyRecord> record);

  // Drops `token_hash` and refuses fills with earlier tickets.
  void Invalidate(absl::string_view token_hash);

  // Approximate bytes held.
  size_t usage_bytes() const;

 private:
  // Fills and invalidations of one hash serialise on one of these stripes.
  struct alignas(64) Stripe {
    absl::Mutex mu;
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  };
  Stripe& StripeOf(absl::string_view token_hash) const;

  std::shared_ptr<rocksdb::Cache> cache_;  // Null when disabled.
  mutable std::array<Stripe, 64> stripes_;
};

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_RECORD_CACHE_H_
