#include "storage/block_cache_warmer.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rocksdb/options.h"
#include "server/core/log.h"
#include "server/core/thread_name.h"

namespace keygate::storage {
namespace {

constexpr double kFillFraction = 0.9;
constexpr size_t kReadaheadBytes = size_t{4} << 20;
constexpr int kEntriesPerCheck = 256;
constexpr absl::Duration kProgressInterval = absl::Seconds(5);

// Serving threads come first: on Linux a thread has its own nice value.
void LowerThisThreadsPriority() {
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
}

uint64_t Mib(uint64_t bytes) { return bytes >> 20; }

}  // namespace

BlockCacheWarmer::BlockCacheWarmer(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                                   std::shared_ptr<rocksdb::Cache> cache)
    : db_(db), family_(family), cache_(std::move(cache)), thread_([this] { Run(); }) {}

BlockCacheWarmer::~BlockCacheWarmer() {
  stop_.store(true, std::memory_order_relaxed);
  thread_.join();
}

void BlockCacheWarmer::Run() {
  core::NameThisThread("kg-cache-warm");
  LowerThisThreadsPriority();
  const absl::Time start = absl::Now();
  uint64_t family_bytes = 0;
  uint64_t estimated_entries = 0;
  db_->GetIntProperty(family_, rocksdb::DB::Properties::kTotalSstFilesSize, &family_bytes);
  db_->GetIntProperty(family_, rocksdb::DB::Properties::kEstimateNumKeys, &estimated_entries);
  const size_t limit = static_cast<size_t>(cache_->GetCapacity() * kFillFraction);
  const std::string family = family_->GetName();
  if (family_bytes > limit) {
    core::Log(core::LogLevel::kWarning, "block_cache_smaller_than_keys",
              {{"family", family},
               {"family_mib", Mib(family_bytes)},
               {"block_cache_mib", Mib(cache_->GetCapacity())},
               {"message", "lookups of keys outside the cache read the disk; for flat latency "
                           "set --block_cache_mb above the family's size"}});
  }

  rocksdb::ReadOptions read;
  read.fill_cache = true;
  read.readahead_size = kReadaheadBytes;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, family_));
  uint64_t entries = 0;
  const char* outcome = "complete";
  absl::Time next_progress = start + kProgressInterval;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (++entries % kEntriesPerCheck != 0) continue;
    if (stop_.load(std::memory_order_relaxed)) {
      outcome = "stopped";
      break;
    }
    if (cache_->GetUsage() >= limit) {
      outcome = "cache_full";
      break;
    }
    if (absl::Now() >= next_progress) {
      next_progress += kProgressInterval;
      core::Log(core::LogLevel::kInfo, "block_cache_warming",
                {{"family", family},
                 {"entries", entries},
                 {"estimated_entries", estimated_entries},
                 {"block_cache_mib", Mib(cache_->GetUsage())}});
    }
  }
  if (!it->status().ok()) outcome = "read_error";  // Lookups report it themselves.
  core::Log(core::LogLevel::kInfo, "block_cache_warmed",
            {{"family", family},
             {"outcome", outcome},
             {"entries", entries},
             {"block_cache_mib", Mib(cache_->GetUsage())},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  done_.Notify();
}

}  // namespace keygate::storage
