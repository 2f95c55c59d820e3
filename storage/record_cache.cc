#include "storage/record_cache.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/synchronization/mutex.h"
#include "storage/release_thread.h"

namespace keygate::storage {
namespace {

using SharedRecord = std::shared_ptr<const core::KeyRecord>;

constexpr size_t kHashBytes = 32;
constexpr size_t kMaxShards = 64;             // Lookups from all threads rarely meet.
constexpr size_t kMinShardBytes = 256 << 10;  // Small caches get fewer shards.
// Passes of the CLOCK hand a frequently hit entry survives without a hit:
// under a skewed load a popular key outlasts a burst of keys used once.
constexpr uint8_t kMaxUses = 3;
// The doorkeeper forgets every hash it marked once it has marked this many
// times the shard's entries: a key read twice within that many reads of
// other keys is cached.
constexpr size_t kDoorkeeperWindow = 2;
// Doorkeeper bits per byte of the shard's capacity: 1/8, i.e. ~86 bits per
// cached bench key (~690 bytes charged). With the window full (2 marks of
// 2 bits each per entry) ~5% of the bits are set, so ~0.2% of first reads
// pass as second ones.
constexpr size_t kDoorkeeperBytesPerBit = 8;

// A 32-byte token hash as the table's key: stored, compared and hashed inline
// (no heap string to chase on a lookup).
struct HashKey {
  uint64_t words[kHashBytes / sizeof(uint64_t)];

  explicit HashKey(absl::string_view token_hash) {
    std::memcpy(words, token_hash.data(), kHashBytes);
  }
  friend bool operator==(const HashKey& a, const HashKey& b) {
    return std::memcmp(a.words, b.words, kHashBytes) == 0;
  }
  template <typename H>
  friend H AbslHashValue(H h, const HashKey& key) {
    return H::combine(std::move(h), key.words[0], key.words[1], key.words[2], key.words[3]);
  }
};

struct Slot {
  SharedRecord record;
  size_t charge = 0;
  // Hits not yet spent: a hit adds one (up to kMaxUses), each pass of the
  // CLOCK hand takes one, and the hand evicts an entry that has none.
  uint8_t uses = 0;
};

// What the allocator holds for a request of `n` bytes: glibc's chunk, an
// 8-byte header rounded up to 16 bytes, at least 32 (the default allocator;
// jemalloc's size classes differ by a few percent). The capacity is memory
// (--key_cache_mb), so the charge is what the cache really holds, not the
// bytes it asked for.
size_t Allocated(size_t n) { return std::max<size_t>(32, (n + 8 + 15) & ~size_t{15}); }

// Heap bytes of a string beyond the object itself (0 while it fits inline).
size_t HeapBytes(const std::string& s) {
  return s.capacity() > 15 ? Allocated(s.capacity() + 1) : 0;
}

// What an entry costs: the record with its control block and heap strings,
// and its share of the table (key, slot and control byte at a typical load)
// and the ring.
size_t Charge(const core::KeyRecord& r) {
  size_t bytes = Allocated(sizeof(core::KeyRecord) + 16 /* control block */) +
                 2 * (sizeof(HashKey) + sizeof(Slot) + 1) /* table */ + sizeof(HashKey) /* ring */;
  for (const std::string* s :
       {&r.key_id, &r.team_id, &r.name, &r.display_prefix, &r.token_hash, &r.revoke_reason,
        &r.created_by, &r.rotated_from_key_id, &r.rotated_to_key_id}) {
    bytes += HeapBytes(*s);
  }
  if (r.scopes.capacity() > core::kInlineScopes) {
    bytes += Allocated(r.scopes.capacity() * sizeof(core::Scope));
  }
  for (const core::Scope& scope : r.scopes) bytes += HeapBytes(scope.resource);
  return bytes;
}

}  // namespace

// One lock guards a shard's table, its CLOCK ring and its change counters
// (the tickets of the coherence contract). Records that leave the table are
// released after the lock, so a reader never waits for their destructor;
// those a fill evicts, on the cache's ReleaseThread.
class alignas(64) RecordCache::Shard {
 public:
  void set_capacity(size_t capacity) {
    size_t bits = 64;
    while (bits < capacity / kDoorkeeperBytesPerBit) bits *= 2;
    doorkeeper_.assign(bits / 64, 0);
    // The doorkeeper's bits come out of the capacity.
    capacity_ = capacity - std::min(capacity, bits / 8);
  }

  SharedRecord Lookup(const HashKey& key) {
    absl::MutexLock lock(&mu_);
    auto it = table_.find(key);
    if (it == table_.end()) {
      ++misses_;
      return nullptr;
    }
    ++hits_;
    if (it->second.uses < kMaxUses) ++it->second.uses;
    // Copying the pointer writes the reference count, just before the
    // record; the decision's fields reach into the record's next cache line,
    // which is fetched meanwhile instead of after.
    __builtin_prefetch(reinterpret_cast<const char*>(it->second.record.get()) + 64);
    return it->second.record;
  }

  uint64_t generation() {
    absl::MutexLock lock(&mu_);
    return generation_;
  }

  // Moves what the fill evicts to `evicted`, to be released after the lock.
  // With `admission` kSecondOffer and no room left, a hash the doorkeeper
  // has not marked is only marked.
  void Fill(uint64_t ticket, const HashKey& key, const SharedRecord& record, Admission admission,
            std::vector<SharedRecord>* evicted) {
    const size_t charge = Charge(*record);
    absl::MutexLock lock(&mu_);
    // A change opened or closed since the ticket, or one still open, may
    // have raced with the read.
    if (generation_ != ticket || open_changes_ != 0) return;
    // The doorkeeper guards evictions: while there is room, a record is
    // cached on its first offer, so an empty cache fills as fast as before.
    if (admission == Admission::kSecondOffer && usage_ + charge > capacity_ && !Marked(key)) {
      return;
    }
    auto [it, inserted] = table_.try_emplace(key);
    if (!inserted) return;  // A fill of the same generation got here first.
    it->second.record = record;
    it->second.charge = charge;
    usage_ += charge;
    ring_.push_back(key);
    EvictWhileOverCapacity(evicted);
  }

  // Opens (`delta` 1) or closes (-1) a change of `key`: either way fills
  // with earlier tickets are refused, and `key` is dropped.
  void Change(const HashKey& key, int delta) {
    SharedRecord dropped;  // Destroyed after the lock is released.
    absl::MutexLock lock(&mu_);
    ++generation_;
    open_changes_ += delta;
    auto it = table_.find(key);
    if (it == table_.end()) return;
    usage_ -= it->second.charge;
    dropped = std::move(it->second.record);
    table_.erase(it);
    // The ring keeps the key until the hand reaches it; rebuild the ring when
    // such leftovers could outnumber the entries.
    if (ring_.size() > 2 * table_.size() + 64) {
      ring_.clear();
      for (const auto& entry : table_) ring_.push_back(entry.first);
    }
  }

  size_t usage() {
    absl::MutexLock lock(&mu_);
    return usage_;
  }

  void AddLookups(LookupCounts* counts) {
    absl::MutexLock lock(&mu_);
    counts->hits += hits_;
    counts->misses += misses_;
  }

  void AppendRecords(std::vector<std::pair<uint8_t, SharedRecord>>* out) {
    absl::MutexLock lock(&mu_);
    for (const auto& entry : table_) out->emplace_back(entry.second.uses, entry.second.record);
  }

 private:
  // CLOCK as a ring of keys in insertion order: the hand takes the oldest; an
  // entry with uses left loses one and goes to the back, one without is
  // evicted. The last entry always stays, so one large record still caches.
  void EvictWhileOverCapacity(std::vector<SharedRecord>* evicted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (usage_ > capacity_ && table_.size() > 1 && !ring_.empty()) {
      const HashKey key = ring_.front();
      ring_.pop_front();
      auto it = table_.find(key);
      if (it == table_.end()) continue;  // Invalidated since it was queued.
      if (it->second.uses > 0) {
        --it->second.uses;
        ring_.push_back(key);
        continue;
      }
      usage_ -= it->second.charge;
      evicted->push_back(std::move(it->second.record));
      table_.erase(it);
    }
  }

  // Whether the doorkeeper had marked `key` (two bits picked by the hash);
  // marks it if not, and forgets all marks once the window is full.
  bool Marked(const HashKey& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const size_t mask = doorkeeper_.size() * 64 - 1;
    const size_t a = key.words[2] & mask;
    const size_t b = key.words[3] & mask;
    const uint64_t a_bit = uint64_t{1} << (a % 64);
    const uint64_t b_bit = uint64_t{1} << (b % 64);
    if ((doorkeeper_[a / 64] & a_bit) != 0 && (doorkeeper_[b / 64] & b_bit) != 0) return true;
    if (++doorkeeper_marks_ > kDoorkeeperWindow * std::max<size_t>(table_.size(), 64)) {
      std::fill(doorkeeper_.begin(), doorkeeper_.end(), 0);
      doorkeeper_marks_ = 1;
    }
    doorkeeper_[a / 64] |= a_bit;
    doorkeeper_[b / 64] |= b_bit;
    return false;
  }

  absl::Mutex mu_;
  // Lookups' outcomes, written next to the lock each lookup already holds.
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
  size_t capacity_ = 0;
  size_t usage_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // Bumped when a change opens or closes.
  int open_changes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<HashKey, Slot> table_ ABSL_GUARDED_BY(mu_);
  std::deque<HashKey> ring_ ABSL_GUARDED_BY(mu_);
  // Hashes offered since the doorkeeper was last cleared, as a Bloom filter
  // of two bits per hash (token hashes are uniform: their words are bits).
  std::vector<uint64_t> doorkeeper_ ABSL_GUARDED_BY(mu_);
  size_t doorkeeper_marks_ ABSL_GUARDED_BY(mu_) = 0;
};

RecordCache::RecordCache(size_t capacity_bytes) {
  if (capacity_bytes == 0) return;
  shard_count_ = 1;
  while (shard_count_ < kMaxShards && capacity_bytes / (2 * shard_count_) >= kMinShardBytes) {
    shard_count_ *= 2;
  }
  shards_ = std::make_unique<Shard[]>(shard_count_);
  release_ = std::make_unique<ReleaseThread>();
  for (size_t i = 0; i < shard_count_; ++i) shards_[i].set_capacity(capacity_bytes / shard_count_);
}

RecordCache::~RecordCache() = default;

RecordCache::Shard* RecordCache::ShardFor(absl::string_view token_hash) const {
  if (shard_count_ == 0 || token_hash.size() != kHashBytes) return nullptr;
  return &shards_[absl::Hash<absl::string_view>()(token_hash) & (shard_count_ - 1)];
}

SharedRecord RecordCache::Lookup(absl::string_view token_hash) const {
  Shard* shard = ShardFor(token_hash);
  return shard == nullptr ? nullptr : shard->Lookup(HashKey(token_hash));
}

uint64_t RecordCache::BeginFill(absl::string_view token_hash) const {
  Shard* shard = ShardFor(token_hash);
  return shard == nullptr ? 0 : shard->generation();
}

SharedRecord RecordCache::Fill(uint64_t ticket, core::KeyRecord record) {
  return Fill(ticket, std::make_shared<const core::KeyRecord>(std::move(record)));
}

SharedRecord RecordCache::Fill(uint64_t ticket, SharedRecord record) {
  return Cache(ticket, std::move(record), Admission::kAlways);
}

SharedRecord RecordCache::Offer(uint64_t ticket, SharedRecord record) {
  return Cache(ticket, std::move(record), Admission::kSecondOffer);
}

SharedRecord RecordCache::Cache(uint64_t ticket, SharedRecord record, Admission admission) {
  if (Shard* shard = ShardFor(record->token_hash)) {
    std::vector<SharedRecord> evicted;
    shard->Fill(ticket, HashKey(record->token_hash), record, admission, &evicted);
    release_->Release(&evicted);
  }
  return record;
}

RecordCache::Change::Change(RecordCache* cache, absl::string_view token_hash)
    : shard_(cache->ShardFor(token_hash)), token_hash_(token_hash) {
  if (shard_ != nullptr) shard_->Change(HashKey(token_hash_), +1);
}

RecordCache::Change::~Change() {
  if (shard_ != nullptr) shard_->Change(HashKey(token_hash_), -1);
}

std::vector<SharedRecord> RecordCache::Records(size_t max_records) const {
  std::vector<std::pair<uint8_t, SharedRecord>> counted;  // Hits left, record.
  for (size_t i = 0; i < shard_count_; ++i) shards_[i].AppendRecords(&counted);
  if (counted.size() > max_records) {
    std::nth_element(counted.begin(), counted.begin() + max_records, counted.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    counted.resize(max_records);
  }
  std::vector<SharedRecord> records;
  records.reserve(counted.size());
  for (auto& [uses, record] : counted) records.push_back(std::move(record));
  return records;
}

size_t RecordCache::usage_bytes() const {
  size_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) total += shards_[i].usage();
  return total;
}

RecordCache::LookupCounts RecordCache::lookups() const {
  LookupCounts counts;
  for (size_t i = 0; i < shard_count_; ++i) shards_[i].AddLookups(&counts);
  return counts;
}

}  // namespace keygate::storage
