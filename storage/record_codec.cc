#include "storage/record_codec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "storage/key_record.pb.h"

namespace keygate::storage {
namespace {

void AppendLittleEndian64(uint64_t v, std::string* out) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(v >> (8 * i));
  out->append(bytes, sizeof(bytes));
}

uint64_t ReadLittleEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

int64_t ToStoredMicros(absl::Time t) {
  return t == absl::InfiniteFuture() ? 0 : absl::ToUnixMicros(t);
}

absl::Time FromStoredMicros(int64_t us) {
  return us == 0 ? absl::InfiniteFuture() : absl::FromUnixMicros(us);
}

void AppendBigEndian64(uint64_t v, std::string* out) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(v >> (56 - 8 * i));
  out->append(bytes, sizeof(bytes));
}

uint64_t ReadBigEndian64(absl::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

std::string EncodeKeyRecord(const core::KeyRecord& record) {
  StoredKeyRecord stored;
  stored.set_key_id(record.key_id);
  stored.set_team_id(record.team_id);
  stored.set_name(record.name);
  for (const core::Scope& scope : record.scopes) {
    StoredScope* s = stored.add_scopes();
    s->set_resource(scope.resource);
    s->set_level(static_cast<int32_t>(scope.level));
  }
  stored.set_environment(static_cast<int32_t>(record.environment));
  stored.set_display_prefix(record.display_prefix);
  stored.set_token_hash(record.token_hash);
  stored.set_create_time_us(absl::ToUnixMicros(record.create_time));
  stored.set_expire_time_us(ToStoredMicros(record.expire_time));
  stored.set_revoke_time_us(ToStoredMicros(record.revoke_time));
  stored.set_revoke_reason(record.revoke_reason);
  stored.set_created_by(record.created_by);
  stored.set_is_operator(record.is_operator);
  stored.set_rotated_from_key_id(record.rotated_from_key_id);
  stored.set_rotated_to_key_id(record.rotated_to_key_id);
  return stored.SerializeAsString();
}

absl::StatusOr<core::KeyRecord> DecodeKeyRecord(absl::string_view bytes) {
  core::KeyRecord record;
  absl::Status status = DecodeKeyRecord(bytes, &record);
  if (!status.ok()) return status;
  return record;
}

std::string EncodeAuditEvent(const core::AuditEvent& event) {
  StoredAuditEvent stored;
  stored.set_event_id(event.event_id);
  stored.set_time_us(absl::ToUnixMicros(event.time));
  stored.set_actor_key_id(event.actor_key_id);
  stored.set_actor_is_operator(event.actor_is_operator);
  stored.set_team_id(event.team_id);
  stored.set_action(event.action);
  stored.set_target_key_id(event.target_key_id);
  stored.set_outcome(static_cast<int32_t>(event.outcome));
  stored.set_peer(event.peer);
  stored.set_detail(event.detail);
  return stored.SerializeAsString();
}

absl::StatusOr<core::AuditEvent> DecodeAuditEvent(absl::string_view bytes) {
  StoredAuditEvent stored;
  if (!stored.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("stored audit event does not parse");
  }
  core::AuditEvent event;
  event.event_id = stored.event_id();
  event.time = absl::FromUnixMicros(stored.time_us());
  event.actor_key_id = stored.actor_key_id();
  event.actor_is_operator = stored.actor_is_operator();
  event.team_id = stored.team_id();
  event.action = stored.action();
  event.target_key_id = stored.target_key_id();
  event.outcome = static_cast<absl::StatusCode>(stored.outcome());
  event.peer = stored.peer();
  event.detail = stored.detail();
  return event;
}

std::string IndexPrefix(absl::string_view owner) {
  return absl::StrCat(owner, absl::string_view("\0", 1));
}

std::string TeamIndexKey(const core::KeyRecord& record) {
  std::string key = IndexPrefix(record.team_id);
  AppendBigEndian64(static_cast<uint64_t>(absl::ToUnixMicros(record.create_time)), &key);
  absl::StrAppend(&key, record.key_id);
  return key;
}

std::string IndexValue(absl::string_view token_hash, absl::Time purge_after) {
  std::string value(token_hash);
  AppendBigEndian64(static_cast<uint64_t>(ToStoredMicros(purge_after)), &value);
  return value;
}

bool DecodeIndexValue(absl::string_view value, absl::string_view* token_hash,
                      absl::Time* purge_after) {
  if (value.size() <= 8) return false;
  *token_hash = value.substr(0, value.size() - 8);
  *purge_after = FromStoredMicros(static_cast<int64_t>(ReadBigEndian64(value.substr(value.size() - 8))));
  return true;
}

absl::Time PurgeAfter(const core::KeyRecord& record, absl::Duration retention) {
  const absl::Time end = std::min(record.revoke_time, record.expire_time);
  return end == absl::InfiniteFuture() ? end : end + retention;
}

std::string AuditKey(absl::string_view owner, const core::AuditEvent& event) {
  std::string key = IndexPrefix(owner);
  AppendBigEndian64(~static_cast<uint64_t>(absl::ToUnixMicros(event.time)), &key);
  absl::StrAppend(&key, event.event_id);
  return key;
}

bool AuditKeyTime(absl::string_view key, absl::Time* time) {
  const size_t nul = key.find('\0');
  if (nul == absl::string_view::npos || key.size() < nul + 1 + 8) return false;
  *time = absl::FromUnixMicros(static_cast<int64_t>(~ReadBigEndian64(key.substr(nul + 1))));
  return true;
}

namespace {
constexpr absl::CivilDay kEpochDay(1970, 1, 1);  // Built at compile time.
constexpr int64_t kSecondsPerDay = 24 * 60 * 60;
}  // namespace

int64_t DayNumber(absl::CivilDay day) { return day - kEpochDay; }
absl::CivilDay DayFromNumber(int64_t number) { return kEpochDay + number; }

int64_t UtcDayNumber(absl::Time t) {
  const int64_t seconds = absl::ToUnixSeconds(t);  // Rounds down.
  return seconds >= 0 ? seconds / kSecondsPerDay : (seconds + 1) / kSecondsPerDay - 1;
}

std::string UsageDayKey(absl::string_view key_id, absl::CivilDay day) {
  std::string key;
  SetUsageDayKey(key_id, DayNumber(day), &key);
  return key;
}

void SetUsageDayKey(absl::string_view key_id, int64_t day_number, std::string* out) {
  out->assign(key_id.data(), key_id.size());
  out->push_back('\0');  // IndexPrefix
  out->push_back(kUsageDay);
  AppendBigEndian64(static_cast<uint64_t>(day_number), out);
}

std::string UsageLastUsedKey(absl::string_view key_id) {
  std::string key = IndexPrefix(key_id);
  key.push_back(kUsageLastUsed);
  return key;
}

std::string UsageClientKey(absl::string_view key_id, absl::string_view address) {
  std::string key = IndexPrefix(key_id);
  key.push_back(kUsageClient);
  absl::StrAppend(&key, address);
  return key;
}

std::string EncodeCounters(uint64_t allowed, uint64_t denied, absl::Time last_used) {
  std::string out;
  SetCounters(allowed, denied, last_used, &out);
  return out;
}

void SetCounters(uint64_t allowed, uint64_t denied, absl::Time last_used, std::string* out) {
  out->clear();
  AppendLittleEndian64(allowed, out);
  AppendLittleEndian64(denied, out);
  if (last_used != absl::InfinitePast()) {
    AppendLittleEndian64(static_cast<uint64_t>(absl::ToUnixMicros(last_used)), out);
  }
}

bool DecodeCounters(absl::string_view value, uint64_t* allowed, uint64_t* denied,
                    absl::Time* last_used) {
  if (value.size() != 16 && value.size() != 24) return false;
  *allowed = ReadLittleEndian64(value.data());
  *denied = ReadLittleEndian64(value.data() + 8);
  if (last_used != nullptr) {
    *last_used =
        value.size() == 24
            ? absl::FromUnixMicros(static_cast<int64_t>(ReadLittleEndian64(value.data() + 16)))
            : absl::InfinitePast();
  }
  return true;
}

std::string EncodeMicros(absl::Time t) {
  std::string out;
  AppendLittleEndian64(static_cast<uint64_t>(absl::ToUnixMicros(t)), &out);
  return out;
}

bool DecodeMicros(absl::string_view value, absl::Time* t) {
  if (value.size() != 8) return false;
  *t = absl::FromUnixMicros(static_cast<int64_t>(ReadLittleEndian64(value.data())));
  return true;
}

}  // namespace keygate::storage
