#include "storage/record_cache.h"

#include <string>
#include <utility>

#include "absl/hash/hash.h"
#include "rocksdb/cache.h"
#include "rocksdb/slice.h"

namespace keygate::storage {
namespace {

using SharedRecord = std::shared_ptr<const core::KeyRecord>;

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Heap bytes of a string beyond the object itself (0 while it fits inline).
size_t HeapBytes(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

// What an entry costs: the record with its strings, the shared_ptr control
// block, and RocksDB's entry with its copy of the 32-byte key.
size_t Charge(const core::KeyRecord& r) {
  size_t bytes = sizeof(core::KeyRecord) + sizeof(SharedRecord) + 32 /* control block */ +
                 64 /* cache entry */ + r.token_hash.size();
  for (const std::string* s :
       {&r.key_id, &r.team_id, &r.name, &r.display_prefix, &r.token_hash, &r.revoke_reason,
        &r.created_by, &r.rotated_from_key_id, &r.rotated_to_key_id}) {
    bytes += HeapBytes(*s);
  }
  bytes += r.scopes.capacity() * sizeof(core::Scope);
  for (const core::Scope& scope : r.scopes) bytes += HeapBytes(scope.resource);
  return bytes;
}

void DeleteEntry(const rocksdb::Slice& /*key*/, void* value) {
  delete static_cast<SharedRecord*>(value);
}

}  // namespace

RecordCache::RecordCache(size_t capacity_bytes) {
  if (capacity_bytes == 0) return;
  rocksdb::LRUCacheOptions options;
  options.capacity = capacity_bytes;
  options.num_shard_bits = 6;  // 64 shards: lookups from all threads rarely meet.
  options.strict_capacity_limit = false;
  options.high_pri_pool_ratio = 0;
  cache_ = rocksdb::NewLRUCache(options);
}

RecordCache::~RecordCache() = default;

RecordCache::Stripe& RecordCache::StripeOf(absl::string_view token_hash) const {
  return stripes_[absl::Hash<absl::string_view>()(token_hash) % stripes_.size()];
}

SharedRecord RecordCache::Lookup(absl::string_view token_hash) const {
  if (cache_ == nullptr) return nullptr;
  rocksdb::Cache::Handle* handle = cache_->Lookup(ToSlice(token_hash));
  if (handle == nullptr) return nullptr;
  SharedRecord record = *static_cast<SharedRecord*>(cache_->Value(handle));
  cache_->Release(handle);
  return record;
}

uint64_t RecordCache::BeginFill(absl::string_view token_hash) const {
  if (cache_ == nullptr) return 0;
  Stripe& stripe = StripeOf(token_hash);
  absl::MutexLock lock(&stripe.mu);
  return stripe.generation;
}

void RecordCache::Fill(uint64_t ticket, SharedRecord record) {
  if (cache_ == nullptr || record == nullptr) return;
  const std::string& token_hash = record->token_hash;
  Stripe& stripe = StripeOf(token_hash);
  absl::MutexLock lock(&stripe.mu);
  if (stripe.generation != ticket) return;  // Changed since it was read.
  const size_t charge = Charge(*record);
  auto* value = new SharedRecord(std::move(record));
  // Never fails without strict_capacity_limit; on failure the deleter has
  // already freed `value`.
  cache_->Insert(ToSlice(token_hash), value, charge, &DeleteEntry).PermitUncheckedError();
}

void RecordCache::Invalidate(absl::string_view token_hash) {
  if (cache_ == nullptr) return;
  Stripe& stripe = StripeOf(token_hash);
  absl::MutexLock lock(&stripe.mu);
  ++stripe.generation;
  cache_->Erase(ToSlice(token_hash));
}

size_t RecordCache::usage_bytes() const { return cache_ == nullptr ? 0 : cache_->GetUsage(); }

}  // namespace keygate::storage
