// Memory held outside a RocksDB cache, charged to it: pinned entries with no
// data whose charges add up to the memory's size, 256 KiB each so that they
// spread over the cache's shards as its blocks do. The cache then holds that
// much less of its own blocks, so one capacity bounds both (RocksDB charges
// memtables to a block cache the same way). The store charges its decoded-key cache to
// the block cache with it (rocksdb_key_store.h, RocksDbOptions).
#ifndef KEYGATE_STORAGE_CACHE_RESERVATION_H_
#define KEYGATE_STORAGE_CACHE_RESERVATION_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "rocksdb/cache.h"

namespace keygate::storage {

class CacheReservation {
 public:
  // Reserves `bytes` of `cache`'s capacity until the reservation is
  // destroyed. The cache evicts unpinned blocks to make room; it refuses
  // (an error) only with a strict capacity limit.
  static absl::StatusOr<std::unique_ptr<CacheReservation>> Reserve(
      std::shared_ptr<rocksdb::Cache> cache, size_t bytes);

  ~CacheReservation();
  CacheReservation(const CacheReservation&) = delete;
  CacheReservation& operator=(const CacheReservation&) = delete;

  size_t bytes() const { return bytes_; }

 private:
  CacheReservation(std::shared_ptr<rocksdb::Cache> cache, size_t bytes)
      : cache_(std::move(cache)), bytes_(bytes) {}

  const std::shared_ptr<rocksdb::Cache> cache_;
  const size_t bytes_;
  std::vector<rocksdb::Cache::Handle*> handles_;  // One per pinned entry.
};

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_CACHE_RESERVATION_H_
