#include "storage/retention.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "storage/record_codec.h"

namespace keygate::storage {
namespace {

absl::string_view View(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// The kind byte of a usage key (after "key_id\0"), or 0.
char UsageKind(absl::string_view key) {
  const size_t nul = key.find('\0');
  return nul == absl::string_view::npos || nul + 1 >= key.size() ? 0 : key[nul + 1];
}

class UsageMergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger* logger) const override {
    if (UsageKind(View(key)) == kUsageDay) {
      uint64_t allowed = 0, denied = 0, add_allowed = 0, add_denied = 0;
      absl::Time last = absl::InfinitePast(), add_last = absl::InfinitePast();
      if (existing != nullptr && !DecodeCounters(View(*existing), &allowed, &denied, &last)) {
        return false;
      }
      if (!DecodeCounters(View(value), &add_allowed, &add_denied, &add_last)) return false;
      SetCounters(allowed + add_allowed, denied + add_denied, std::max(last, add_last), new_value);
      return true;
    }
    absl::Time newer;
    if (!DecodeMicros(View(value), &newer)) return false;
    absl::Time older = absl::InfinitePast();
    if (existing != nullptr && !DecodeMicros(View(*existing), &older)) return false;
    *new_value = EncodeMicros(std::max(older, newer));
    return true;
  }

  const char* Name() const override { return "keygate.UsageMergeOperator"; }
};

// The last day number whose usage rows have expired at `now`: a day's row
// expires `retention` after the day ends. Day numbers count UTC days from
// the epoch, and a UTC day is 24 h, so this is a division (durations
// saturate, so no input overflows).
int64_t LastExpiredDay(absl::Time now, absl::Duration retention) {
  constexpr int64_t kFirst = std::numeric_limits<int64_t>::min();
  absl::Duration remainder;
  // An infinite quotient saturates to kFirst or the largest int64.
  int64_t days = absl::IDivDuration(now - retention - absl::UnixEpoch(), absl::Hours(24), &remainder);
  if (days == kFirst) return kFirst;
  if (remainder < absl::ZeroDuration()) --days;  // Round down, not toward zero.
  return days == kFirst ? kFirst : days - 1;
}

// Judges the entries of one compaction at the time it started: a filter
// runs for every entry and merge operand compacted, so it reads no clock.
class RetentionFilter final : public rocksdb::CompactionFilter {
 public:
  RetentionFilter(RetentionKind kind, absl::Time now, absl::Duration retention)
      : kind_(kind),
        now_(now),
        retention_(retention),
        last_expired_day_(LastExpiredDay(now, retention)) {}

  bool Filter(int level, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* new_value, bool* value_changed) const override {
    return Expired(View(key), View(value));
  }

  bool FilterMergeOperand(int level, const rocksdb::Slice& key,
                          const rocksdb::Slice& operand) const override {
    return kind_ == RetentionKind::kUsage && Expired(View(key), View(operand));
  }

  const char* Name() const override { return "keygate.RetentionFilter"; }

 private:
  // Whether the entry is past retention. Undecodable entries are kept.
  bool Expired(absl::string_view key, absl::string_view value) const {
    switch (kind_) {
      case RetentionKind::kKeyRecords: {
        absl::StatusOr<core::KeyRecord> record = DecodeKeyRecord(value);
        return record.ok() && PurgeAfter(*record, retention_) <= now_;
      }
      case RetentionKind::kKeyIndex: {
        absl::string_view hash;
        absl::Time purge_after;
        return DecodeIndexValue(value, &hash, &purge_after) && purge_after <= now_;
      }
      case RetentionKind::kAudit: {
        absl::Time time;
        return AuditKeyTime(key, &time) && time + retention_ <= now_;
      }
      case RetentionKind::kUsage: {
        if (UsageKind(key) == kUsageDay) {
          if (key.size() < 10) return false;
          const auto day = static_cast<int64_t>(ReadBigEndian64(key.substr(key.size() - 8)));
          return day <= last_expired_day_;
        }
        absl::Time time;
        return DecodeMicros(value, &time) && time + retention_ <= now_;
      }
    }
    return false;
  }

  const RetentionKind kind_;
  const absl::Time now_;
  const absl::Duration retention_;
  const int64_t last_expired_day_;  // Usage day rows up to this one expired.
};

class RetentionFilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  RetentionFilterFactory(RetentionKind kind, const core::Clock* clock, absl::Duration retention)
      : kind_(kind), clock_(clock), retention_(retention) {}

  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override {
    return std::make_unique<RetentionFilter>(kind_, clock_->Now(), retention_);
  }

  const char* Name() const override { return "keygate.RetentionFilterFactory"; }

 private:
  const RetentionKind kind_;
  const core::Clock* const clock_;
  const absl::Duration retention_;
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewUsageMergeOperator() {
  return std::make_shared<UsageMergeOperator>();
}

std::shared_ptr<rocksdb::CompactionFilterFactory> NewRetentionFilterFactory(
    RetentionKind kind, const core::Clock* clock, absl::Duration retention) {
  return std::make_shared<RetentionFilterFactory>(kind, clock, retention);
}

}  // namespace keygate::storage
