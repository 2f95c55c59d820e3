#include "server/service/usage_recorder.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/time/civil_time.h"
#include "server/core/log.h"
#include "server/core/thread_name.h"
#include "storage/record_codec.h"

namespace keygate::service {
namespace {

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
  const core::UsageTally::Added added =
      key->usage_tally.Add(storage::UtcDayNumber(now), allowed, absl::ToUnixMicros(now));
  const bool note_client = !client_address.empty() &&
                           client_address.size() <= kMaxAddressBytes &&
                           IsPrintableAscii(client_address);
  if (added == core::UsageTally::Added::kCounted && !note_client) return;  // Most calls.
  Shard& shard = ThisThreadShard();
  absl::MutexLock lock(&shard.mu);
  if (added == core::UsageTally::Added::kFirst) shard.tallied.push_back(key);
  if (added != core::UsageTally::Added::kRefused && !note_client) return;
  auto [it, inserted] = shard.pending.try_emplace(key.get());
  Pending& pending = it->second;
  if (inserted) pending.key = key;
  if (now > pending.last_used) pending.last_used = now;
  if (added == core::UsageTally::Added::kRefused) {
    const absl::CivilDay day = storage::DayFromNumber(storage::UtcDayNumber(now));
    if (pending.latest.day != day) {  // A new entry, or the day changed.
      if (pending.latest.allowed + pending.latest.denied > 0) {
        pending.earlier.push_back(pending.latest);
      }
      pending.latest = core::DailyUsage{day};
    }
    ++(allowed ? pending.latest.allowed : pending.latest.denied);
  }
  if (note_client) {
    auto client = pending.clients.find(client_address);
    if (client != pending.clients.end()) {
      client->second = now;
    } else if (pending.clients.size() < kMaxClientsPerInterval) {
      pending.clients.emplace(std::string(client_address), now);
    }
  }
}

void UsageRecorder::AddDay(const core::DailyUsage& day, Pending& into) {
  if (day.allowed + day.denied == 0) return;
  core::DailyUsage* same = into.latest.day == day.day ? &into.latest : nullptr;
  for (core::DailyUsage& d : into.earlier) {
    if (same == nullptr && d.day == day.day) same = &d;
  }
  if (same != nullptr) {
    same->allowed += day.allowed;
    same->denied += day.denied;
  } else if (into.latest.allowed + into.latest.denied == 0) {
    into.latest = day;
  } else {
    into.earlier.push_back(day);
  }
}

void UsageRecorder::MergePending(Pending&& from, Pending& into) {
  for (const core::DailyUsage& day : from.earlier) AddDay(day, into);
  AddDay(from.latest, into);
  into.last_used = std::max(into.last_used, from.last_used);
  for (auto& [address, seen] : from.clients) {
    auto client = into.clients.find(address);
    if (client != into.clients.end()) {
      client->second = std::max(client->second, seen);
    } else if (into.clients.size() < kMaxClientsPerInterval) {
      into.clients.emplace(address, seen);
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
  std::vector<core::SharedKeyRecord> tallied;  // Records whose tallies hold counts.
  std::vector<const Shard*> finished;
  for (const std::shared_ptr<Shard>& shard : shards) {
    // A thread that has ended records nothing more: once taken, its shard
    // stays empty and is dropped.
    if (shard->thread_exited.load()) finished.push_back(shard.get());
    // The thread's next table is allocated here, outside its lock.
    PendingMap taken;
    taken.reserve(shard->last_taken);
    std::vector<core::SharedKeyRecord> shard_tallied;
    shard_tallied.reserve(shard->last_tallied);
    {
      absl::MutexLock lock(&shard->mu);
      taken.swap(shard->pending);
      shard_tallied.swap(shard->tallied);
    }
    shard->last_taken = taken.size();
    shard->last_tallied = shard_tallied.size();
    if (tallied.empty()) {
      tallied.swap(shard_tallied);
    } else {
      std::move(shard_tallied.begin(), shard_tallied.end(), std::back_inserter(tallied));
    }
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
  deltas.reserve(all.size() + tallied.size());
  // A count added to a tally after its Take() lists the record again
  // (UsageTally::Added::kFirst) and goes with the next flush.
  //
  // The records are spread over the heap and most have left the CPU cache
  // since they were counted: the lines of a record's tally and key id are
  // requested 2 * kAhead records before it, the id's characters kAhead before.
  constexpr size_t kAhead = 8;
  int64_t day_number = -1;  // The last tally's day (nearly all hold the same).
  absl::CivilDay civil_day;
  for (size_t i = 0; i < tallied.size(); ++i) {
    if (i + 2 * kAhead < tallied.size()) {
      const core::KeyRecord* later = tallied[i + 2 * kAhead].get();
      __builtin_prefetch(&later->usage_tally);
      __builtin_prefetch(&later->key_id);
    }
    if (i + kAhead < tallied.size()) __builtin_prefetch(tallied[i + kAhead]->key_id.data());
    const core::SharedKeyRecord& record = tallied[i];
    const core::UsageTally::Taken taken = record->usage_tally.Take();
    if (taken.allowed + taken.denied == 0) continue;  // Taken by an earlier flush.
    if (taken.day != day_number) {
      day_number = taken.day;
      civil_day = storage::DayFromNumber(day_number);
    }
    const core::DailyUsage day{civil_day, taken.allowed, taken.denied};
    const absl::Time last_used = absl::FromUnixMicros(taken.last_used_us);
    auto in_table = all.find(record.get());
    if (in_table != all.end()) {  // Counted in a table too: one delta.
      AddDay(day, in_table->second);
      in_table->second.last_used = std::max(in_table->second.last_used, last_used);
      continue;
    }
    core::KeyUsage usage;
    usage.key_id = record->key_id;
    usage.days.push_back(day);
    usage.last_used = last_used;
    deltas.push_back(std::move(usage));
  }
  for (auto& [record, pending] : all) {
    core::KeyUsage usage;
    usage.key_id = record->key_id;
    usage.days.assign(pending.earlier.begin(), pending.earlier.end());
    if (pending.latest.allowed + pending.latest.denied > 0) usage.days.push_back(pending.latest);
    std::sort(usage.days.begin(), usage.days.end(),
              [](const core::DailyUsage& a, const core::DailyUsage& b) { return a.day < b.day; });
    usage.last_used = pending.last_used;
    for (auto& [address, seen] : pending.clients) usage.clients.push_back({address, seen});
    deltas.push_back(std::move(usage));
  }
  if (deltas.empty()) {
    last_flush_us_.store(absl::ToUnixMicros(absl::Now()));
    return absl::OkStatus();
  }
  const auto keys = static_cast<int64_t>(deltas.size());
  absl::Status status = store_->RecordUsage(std::move(deltas));
  if (!status.ok()) {
    core::Log(core::LogLevel::kError, "usage_flush_failed",
              {{"keys", keys}, {"error", status.ToString()}});
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
