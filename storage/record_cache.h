// Decoded key records by token hash, in memory, in front of the keys family:
// the Authorize hot path answers a cached key without a RocksDB read or a
// decode.
#ifndef KEYGATE_STORAGE_RECORD_CACHE_H_
#define KEYGATE_STORAGE_RECORD_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/core/key_record.h"

namespace keygate::storage {

class ReleaseThread;

// A bounded map from token hash to an immutable decoded record, evicting by
// CLOCK with a small count of hits per entry (GCLOCK): a hit only counts on
// its entry, so it touches the shard's lock, one table slot and the record,
// and writes no list links; a key hit often outlasts keys used once.
//
// Coherence contract: every change of a stored record is bracketed by a
// Change scope, opened before the write and closed after it (whether it
// succeeded or not) and before the change is acknowledged. A reader that
// misses takes a ticket (BeginFill) *before* reading the store and offers what
// it read to Fill() with that ticket. Fill() drops the record if a change of
// its shard opened or closed since the ticket was taken, or is still open. So
// only a record read while no change was in flight is cached, two fills of
// one hash always carry the same version, and the next Lookup after an
// acknowledged change never returns the old record: readers never go back in
// time.
//
// Only records that exist are cached (no negative entries: unknown tokens
// cannot fill the cache), and only under 32-byte hashes (TokenHasher's
// output); any other hash always misses. Thread-safe.
class RecordCache {
 private:
  class Shard;  // A lock, a hash table, a CLOCK ring and the change counters.

 public:
  // `capacity_bytes` bounds the entries' approximate heap size; 0 disables
  // the cache (Lookup always misses, Fill caches nothing).
  explicit RecordCache(size_t capacity_bytes);
  ~RecordCache();

  RecordCache(const RecordCache&) = delete;
  RecordCache& operator=(const RecordCache&) = delete;

  // The cached record for `token_hash`, or null.
  std::shared_ptr<const core::KeyRecord> Lookup(absl::string_view token_hash) const;

  // A ticket for a Fill of `token_hash` with what is read from the store after
  // this call.
  uint64_t BeginFill(absl::string_view token_hash) const;

  // Caches `record` under its token hash unless a change of its shard was in
  // flight since `ticket` was taken, and returns it shared either way.
  std::shared_ptr<const core::KeyRecord> Fill(uint64_t ticket, core::KeyRecord record);
  // The same for a record already shared (e.g. decoded in place).
  std::shared_ptr<const core::KeyRecord> Fill(uint64_t ticket,
                                              std::shared_ptr<const core::KeyRecord> record);

  // Fill for a record read because a lookup missed, with admission by a
  // doorkeeper (TinyLFU's) once the shard is full: the first offer of a hash
  // only marks it, and a second offer before the shard's doorkeeper forgets
  // its marks (after offers of about twice as many hashes as the shard
  // holds) caches it. Under a skewed load, keys read once then never cost an
  // insertion and an eviction, and do not push out keys that are read
  // again. While the shard has room, the first offer caches.
  std::shared_ptr<const core::KeyRecord> Offer(uint64_t ticket,
                                               std::shared_ptr<const core::KeyRecord> record);

  // Brackets one change of the record stored under a token hash (see the
  // coherence contract): drops the hash when opened and again when closed.
  class Change {
   public:
    Change(RecordCache* cache, absl::string_view token_hash);
    ~Change();
    Change(const Change&) = delete;
    Change& operator=(const Change&) = delete;

   private:
    Shard* const shard_;  // Null if the hash cannot be cached.
    const std::string token_hash_;
  };

  // Up to `max_records` cached records, e.g. to save them (see
  // cache_snapshot.h): all of them if they are no more, else those with the
  // most hits left (the entries' CLOCK counts), in no particular order.
  std::vector<std::shared_ptr<const core::KeyRecord>> Records(size_t max_records) const;

  // Approximate bytes held.
  size_t usage_bytes() const;

  // Lookups since construction that found a record, and that found none
  // (lookups of hashes that cannot be cached are not counted).
  struct LookupCounts {
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  LookupCounts lookups() const;

 private:
  enum class Admission { kAlways, kSecondOffer };

  // The shard of `token_hash`, or null if it cannot be cached.
  Shard* ShardFor(absl::string_view token_hash) const;
  // Fill and Offer.
  std::shared_ptr<const core::KeyRecord> Cache(uint64_t ticket,
                                               std::shared_ptr<const core::KeyRecord> record,
                                               Admission admission);

  size_t shard_count_ = 0;  // A power of two; 0 when disabled.
  std::unique_ptr<Shard[]> shards_;
  // Destroys evicted records off the filling thread; null when disabled.
  std::unique_ptr<ReleaseThread> release_;
};

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_RECORD_CACHE_H_
