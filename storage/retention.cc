#include "storage/retention.h"

#include <algorithm>
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
      *new_value =
          EncodeCounters(allowed + add_allowed, denied + add_denied, std::max(last, add_last));
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

class RetentionFilter final : public rocksdb::CompactionFilter {
 public:
  RetentionFilter(RetentionKind kind, const core::Clock* clock, absl::Duration retention)
      : kind_(kind), clock_(clock), retention_(retention) {}

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
    const absl::Time now = clock_->Now();
    switch (kind_) {
      case RetentionKind::kKeyRecords: {
        absl::StatusOr<core::KeyRecord> record = DecodeKeyRecord(value);
        return record.ok() && PurgeAfter(*record, retention_) <= now;
      }
      case RetentionKind::kKeyIndex: {
        absl::string_view hash;
        absl::Time purge_after;
        return DecodeIndexValue(value, &hash, &purge_after) && purge_after <= now;
      }
      case RetentionKind::kAudit: {
        absl::Time time;
        return AuditKeyTime(key, &time) && time + retention_ <= now;
      }
      case RetentionKind::kUsage: {
        if (UsageKind(key) == kUsageDay) {
          if (key.size() < 10) return false;
          // A day's row expires `retention_` after the day ends. Day numbers
          // count UTC days from the epoch, and a UTC day is 24 h, so the end
          // is integer arithmetic, not a calendar conversion (this runs for
          // every usage row and operand compacted). Durations saturate, so a
          // damaged number cannot overflow.
          const int64_t day = static_cast<int64_t>(ReadBigEndian64(key.substr(key.size() - 8)));
          const absl::Time day_end = absl::UnixEpoch() + absl::Hours(24) * day + absl::Hours(24);
          return day_end + retention_ <= now;
        }
        absl::Time time;
        return DecodeMicros(value, &time) && time + retention_ <= now;
      }
    }
    return false;
  }

  const RetentionKind kind_;
  const core::Clock* const clock_;
  const absl::Duration retention_;
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewUsageMergeOperator() {
  return std::make_shared<UsageMergeOperator>();
}

std::unique_ptr<rocksdb::CompactionFilter> NewRetentionFilter(RetentionKind kind,
                                                              const core::Clock* clock,
                                                              absl::Duration retention) {
  return std::make_unique<RetentionFilter>(kind, clock, retention);
}

}  // namespace keygate::storage
