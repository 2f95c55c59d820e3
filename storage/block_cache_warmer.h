// Reads a column family into the block cache in the background, so that
// after a start the first lookup of each key costs a cache hit, not a random
// disk read (on the network disks of cloud VMs, 0.3 ms or more each).
#ifndef KEYGATE_STORAGE_BLOCK_CACHE_WARMER_H_
#define KEYGATE_STORAGE_BLOCK_CACHE_WARMER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"

namespace keygate::storage {

class BlockCacheWarmer {
 public:
  // Starts a thread (at low CPU priority) that reads `family` of `db` front
  // to back, with large sequential reads, through `cache`. It stops at the
  // end of the family, when `cache` holds 90% of its capacity (so warming
  // never evicts what it loaded), or when the warmer is destroyed. Logs
  // block_cache_warming (every 5 s), then block_cache_warmed; warns when
  // the family is larger than the cache can hold. `db` and `family` must
  // outlive the warmer.
  BlockCacheWarmer(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                   std::shared_ptr<rocksdb::Cache> cache);
  // Stops the read (within a few thousand entries) and joins the thread.
  ~BlockCacheWarmer();

  BlockCacheWarmer(const BlockCacheWarmer&) = delete;
  BlockCacheWarmer& operator=(const BlockCacheWarmer&) = delete;

  // Whether the read is still going on.
  bool warming() const { return !done_.HasBeenNotified(); }

 private:
  void Run();

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const family_;
  const std::shared_ptr<rocksdb::Cache> cache_;
  std::atomic<bool> stop_{false};
  absl::Notification done_;
  std::thread thread_;  // Last: starts once the members above exist.
};

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_BLOCK_CACHE_WARMER_H_
