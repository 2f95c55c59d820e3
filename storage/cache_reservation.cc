#include "storage/cache_reservation.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "storage/rocks_status.h"

namespace keygate::storage {
namespace {

constexpr size_t kEntryBytes = size_t{256} << 10;

// 16 bytes, the key size HyperClockCache requires: a prefix and the entry's
// index. RocksDB derives its blocks' keys from file and session ids.
constexpr char kKeyPrefix[] = "kg-resv:";
static_assert(sizeof(kKeyPrefix) - 1 == 8);

// The entries' value: never read, only needs to be an address.
char reserved_value;

void KeepValue(const rocksdb::Slice& /*key*/, void* /*value*/) {}

}  // namespace

absl::StatusOr<std::unique_ptr<CacheReservation>> CacheReservation::Reserve(
    std::shared_ptr<rocksdb::Cache> cache, size_t bytes) {
  std::unique_ptr<CacheReservation> reservation(new CacheReservation(std::move(cache), bytes));
  for (uint64_t index = 0; index * kEntryBytes < bytes; ++index) {
    char key[16];
    std::memcpy(key, kKeyPrefix, 8);
    std::memcpy(key + 8, &index, 8);
    const size_t charge = std::min(kEntryBytes, bytes - index * kEntryBytes);
    rocksdb::Cache::Handle* handle = nullptr;
    const rocksdb::Status inserted = reservation->cache_->Insert(
        rocksdb::Slice(key, sizeof(key)), &reserved_value, charge, &KeepValue, &handle);
    if (!inserted.ok()) return FromRocks(inserted, "reserve block cache memory for the key cache");
    reservation->handles_.push_back(handle);
  }
  return reservation;
}

CacheReservation::~CacheReservation() {
  for (rocksdb::Cache::Handle* handle : handles_) {
    cache_->Release(handle, /*erase_if_last_ref=*/true);
  }
}

}  // namespace keygate::storage
