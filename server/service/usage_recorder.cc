#include "server/service/usage_recorder.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/time/civil_time.h"
#include "server/core/log.h"
#include "server/core/thread_name.h"
#include "storage/record_codec.h"

namespace keygate::service {
namespace {

// storage::DayFromNumber: civil-day arithmetic costs hundreds of
// instructions, and a flush converts the day of every key it writes, which
// is nearly always the same one.
absl::CivilDay DayFromNumber(int64_t day) {
  thread_local int64_t cached_day = std::numeric_limits<int64_t>::min();
  thread_local absl::CivilDay cached;
  if (day != cached_day) {
    cached = storage::DayFromNumber(day);
    cached_day = day;
  }
  return cached;
}

bool IsPrintableAscii(absl::string_view text) {
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

std::atomic<uint64_t> next_recorder_id{1};

}  // namespace

UsageRecorder::UsageRecorder(storage::KeyStore* store, absl::Duration flush_interval)
    : store_(store),
      flush_interval_(flush_interval),
      id_(next_recorder_id.fetch_add(1)),
      last_flush_us_(absl::ToUnixMicros(absl::Now())),
      flusher_([this] { FlushLoop(); }) {}

UsageRecorder::~UsageRecorder() {
  stop_.Notify();
  flusher_.join();
  Flush().IgnoreError();  // Logged inside.
  absl::MutexLock lock(&shards_mu_);
  for (const std::shared_ptr<Shard>& shard : shards_) shard->recorder_gone = true;
}

UsageRecorder::Shard& UsageRecorder::ThisThreadShard() {
  // This thread's shards, one per recorder it recorded into. Usually one.
  struct ThreadShards {
    std::vector<std::pair<uint64_t, std::shared_ptr<Shard>>> shards;
    ~ThreadShards() {
      for (auto& [id, shard] : shards) shard->thread_exited = true;
    }
  };
  thread_local ThreadShards mine;
  for (auto& [id, shard] : mine.shards) {
    if (id == id_) return *shard;
  }
  // First record of this thread here: forget shards of recorders that are
  // gone, register a new one.
  mine.shards.erase(
      std::remove_if(mine.shards.begin(), mine.shards.end(),
                     [](const auto& entry) { return entry.second->recorder_gone.load(); }),
      mine.shards.end());
  auto shard = std::make_shared<Shard>();
  {
    absl::MutexLock lock(&shards_mu_);
    shards_.push_back(shard);
  }
  mine.shards.emplace_back(id_, shard);
  return *shard;
}

void UsageRecorder::Record(const core::SharedKeyRecord& key, bool allowed,
                           absl::string_view client_address, absl::Time now) {
  const int64_t day = storage::UtcDayNumber(now);
  const int64_t now_us = absl::ToUnixMicros(now);
  Shard& shard = ThisThreadShard();
  absl::MutexLock lock(&shard.mu);
  auto [it, inserted] = shard.pending.try_emplace(key.get());
  Pending& pending = it->second;
  if (inserted) pending.key = key;
  if (pending.day != day) {  // A new entry, or the day changed.
    if (pending.allowed + pending.denied > 0) {
      if (pending.rare == nullptr) pending.rare = std::make_unique<Rare>();
      pending.rare->earlier.push_back(
          core::DailyUsage{DayFromNumber(pending.day), pending.allowed, pending.denied});
    }
    pending.day = day;
    pending.allowed = pending.denied = 0;
  }
  ++(allowed ? pending.allowed : pending.denied);
  if (now_us > pending.last_used_us) pending.last_used_us = now_us;
  if (!client_address.empty() && client_address.size() <= kMaxAddressBytes &&
      IsPrintableAscii(client_address)) {
    if (pending.rare == nullptr) pending.rare = std::make_unique<Rare>();
    auto& clients = pending.rare->clients;
    auto client = clients.find(client_address);
    if (client != clients.end()) {
      client->second = now;
    } else if (clients.size() < kMaxClientsPerInterval) {
      clients.emplace(std::string(client_address), now);
    }
  }
}

void UsageRecorder::AddDay(int64_t day, uint64_t allowed, uint64_t denied, Pending& into) {
  if (allowed + denied == 0) return;
  if (into.day == day || into.allowed + into.denied == 0) {
    into.day = day;
    into.allowed += allowed;
    into.denied += denied;
    return;
  }
  if (into.rare == nullptr) into.rare = std::make_unique<Rare>();
  const absl::CivilDay civil = DayFromNumber(day);
  for (core::DailyUsage& d : into.rare->earlier) {
    if (d.day == civil) {
      d.allowed += allowed;
      d.denied += denied;
      return;
    }
  }
  into.rare->earlier.push_back(core::DailyUsage{civil, allowed, denied});
}

void UsageRecorder::MergePending(Pending&& from, Pending& into) {
  if (from.rare != nullptr) {
    for (const core::DailyUsage& d : from.rare->earlier) {
      AddDay(storage::DayNumber(d.day), d.allowed, d.denied, into);
    }
  }
  AddDay(from.day, from.allowed, from.denied, into);
  into.last_used_us = std::max(into.last_used_us, from.last_used_us);
  if (from.rare == nullptr || from.rare->clients.empty()) return;
  if (into.rare == nullptr) into.rare = std::make_unique<Rare>();
  auto& clients = into.rare->clients;
  for (auto& [address, seen] : from.rare->clients) {
    auto client = clients.find(address);
    if (client != clients.end()) {
      client->second = std::max(client->second, seen);
    } else if (clients.size() < kMaxClientsPerInterval) {
      clients.emplace(address, seen);
    }
  }
}

absl::Status UsageRecorder::Flush() {
  absl::MutexLock flush_lock(&flush_mu_);
  std::vector<std::shared_ptr<Shard>> shards;
  {
    absl::MutexLock lock(&shards_mu_);
    shards = shards_;
  }
  // Every thread's counts of a record become one set of merge operands.
  // Tables are merged by record, which needs no look at the key id (a cache
  // miss per key): a key id that two records share (one re-read after a
  // change) gets two sets, which the store's merge operator adds up.
  PendingMap all;
  std::vector<const Shard*> finished;
  for (const std::shared_ptr<Shard>& shard : shards) {
    // A thread that has ended records nothing more: once taken, its shard
    // stays empty and is dropped.
    if (shard->thread_exited.load()) finished.push_back(shard.get());
    // The thread's next table is allocated here, outside its lock.
    PendingMap taken;
    taken.reserve(shard->last_taken);
    {
      absl::MutexLock lock(&shard->mu);
      taken.swap(shard->pending);
    }
    shard->last_taken = taken.size();
    if (taken.size() > all.size()) all.swap(taken);  // Merge the smaller in.
    for (auto& [record, pending] : taken) {
      auto [it, inserted] = all.try_emplace(record);
      if (inserted) {
        it->second = std::move(pending);
      } else {
        MergePending(std::move(pending), it->second);
      }
    }
  }
  if (!finished.empty()) {
    absl::MutexLock lock(&shards_mu_);
    shards_.erase(std::remove_if(shards_.begin(), shards_.end(),
                                 [&](const std::shared_ptr<Shard>& shard) {
                                   return std::find(finished.begin(), finished.end(),
                                                    shard.get()) != finished.end();
                                 }),
                  shards_.end());
  }
  std::vector<core::KeyUsage> deltas;
  deltas.reserve(all.size());
  for (auto& [record, pending] : all) {
    core::KeyUsage usage;
    usage.key_id = record->key_id;
    if (pending.rare != nullptr) usage.days = std::move(pending.rare->earlier);
    if (pending.allowed + pending.denied > 0) {
      usage.days.push_back(
          core::DailyUsage{DayFromNumber(pending.day), pending.allowed, pending.denied});
    }
    std::sort(usage.days.begin(), usage.days.end(),
              [](const core::DailyUsage& a, const core::DailyUsage& b) { return a.day < b.day; });
    if (pending.last_used_us != Pending::kNeverUsed) {
      usage.last_used = absl::FromUnixMicros(pending.last_used_us);
    }
    if (pending.rare != nullptr) {
      for (auto& [address, seen] : pending.rare->clients) usage.clients.push_back({address, seen});
    }
    deltas.push_back(std::move(usage));
  }
  if (deltas.empty()) {
    last_flush_us_.store(absl::ToUnixMicros(absl::Now()));
    return absl::OkStatus();
  }
  absl::Status status = store_->RecordUsage(deltas);
  if (!status.ok()) {
    core::Log(core::LogLevel::kError, "usage_flush_failed",
              {{"keys", static_cast<int64_t>(deltas.size())}, {"error", status.ToString()}});
    return status;
  }
  last_flush_us_.store(absl::ToUnixMicros(absl::Now()));
  return absl::OkStatus();
}

absl::Duration UsageRecorder::SinceLastFlush() const {
  return absl::Now() - absl::FromUnixMicros(last_flush_us_.load());
}

void UsageRecorder::FlushLoop() {
  core::NameThisThread("kg-usage-flush");
  while (!stop_.WaitForNotificationWithTimeout(flush_interval_)) {
    Flush().IgnoreError();  // Logged inside; the next interval tries again.
  }
}

}  // namespace keygate::service
