#include "server/service/usage_recorder.h"

#include <utility>

#include "absl/hash/hash.h"
#include "absl/time/civil_time.h"
#include "server/core/log.h"

namespace keygate::service {
namespace {

constexpr int64_t kSecondsPerDay = 24 * 60 * 60;

absl::CivilDay UtcDay(absl::Time t) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  const int64_t day = seconds >= 0 ? seconds / kSecondsPerDay : (seconds + 1) / kSecondsPerDay - 1;
  return absl::CivilDay(1970, 1, 1) + day;
}

bool IsPrintableAscii(absl::string_view text) {
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

UsageRecorder::UsageRecorder(storage::KeyStore* store, const core::Clock* clock,
                             absl::Duration flush_interval)
    : store_(store),
      clock_(clock),
      flush_interval_(flush_interval),
      last_flush_us_(absl::ToUnixMicros(absl::Now())),
      flusher_([this] { FlushLoop(); }) {}

UsageRecorder::~UsageRecorder() {
  stop_.Notify();
  flusher_.join();
  Flush().IgnoreError();  // Logged inside.
}

void UsageRecorder::Record(absl::string_view key_id, bool allowed,
                           absl::string_view client_address) {
  const absl::Time now = clock_->Now();
  const absl::CivilDay day = UtcDay(now);
  Shard& shard = shards_[absl::Hash<absl::string_view>()(key_id) % shards_.size()];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.pending.find(key_id);
  if (it == shard.pending.end()) it = shard.pending.emplace(std::string(key_id), Pending()).first;
  Pending& pending = it->second;
  if (pending.days.empty() || pending.days.back().day != day) {
    pending.days.push_back(core::DailyUsage{day});
  }
  ++(allowed ? pending.days.back().allowed : pending.days.back().denied);
  if (now > pending.last_used) pending.last_used = now;
  if (!client_address.empty() && client_address.size() <= kMaxAddressBytes &&
      IsPrintableAscii(client_address)) {
    auto client = pending.clients.find(client_address);
    if (client != pending.clients.end()) {
      client->second = now;
    } else if (pending.clients.size() < kMaxClientsPerInterval) {
      pending.clients.emplace(std::string(client_address), now);
    }
  }
}

absl::Status UsageRecorder::Flush() {
  absl::MutexLock flush_lock(&flush_mu_);
  std::vector<core::KeyUsage> deltas;
  for (Shard& shard : shards_) {
    absl::flat_hash_map<std::string, Pending> taken;
    {
      absl::MutexLock lock(&shard.mu);
      taken.swap(shard.pending);
    }
    for (auto& [key_id, pending] : taken) {
      core::KeyUsage usage;
      usage.key_id = key_id;
      usage.days = std::move(pending.days);
      usage.last_used = pending.last_used;
      for (auto& [address, seen] : pending.clients) usage.clients.push_back({address, seen});
      deltas.push_back(std::move(usage));
    }
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
  while (!stop_.WaitForNotificationWithTimeout(flush_interval_)) {
    Flush().IgnoreError();  // Logged inside; the next interval tries again.
  }
}

}  // namespace keygate::service
