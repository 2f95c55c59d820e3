#include "storage/record_codec.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "storage/key_record.pb.h"

namespace keygate::storage {
namespace {

int64_t ToMicros(absl::Time t) {
  return t == absl::InfiniteFuture() ? 0 : absl::ToUnixMicros(t);
}

absl::Time FromMicros(int64_t us) {
  return us == 0 ? absl::InfiniteFuture() : absl::FromUnixMicros(us);
}

bool IsKnownLevel(int32_t level) {
  return level >= static_cast<int32_t>(core::Level::kRead) &&
         level <= static_cast<int32_t>(core::Level::kAdmin);
}

}  // namespace

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
  stored.set_expire_time_us(ToMicros(record.expire_time));
  stored.set_revoke_time_us(ToMicros(record.revoke_time));
  stored.set_revoke_reason(record.revoke_reason);
  stored.set_created_by(record.created_by);
  stored.set_is_operator(record.is_operator);
  return stored.SerializeAsString();
}

absl::StatusOr<core::KeyRecord> DecodeKeyRecord(absl::string_view bytes) {
  StoredKeyRecord stored;
  if (!stored.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("stored key record does not parse");
  }
  if (stored.environment() != static_cast<int32_t>(core::Environment::kLive) &&
      stored.environment() != static_cast<int32_t>(core::Environment::kTest)) {
    return absl::DataLossError("stored key record has an unknown environment");
  }
  core::KeyRecord record;
  record.key_id = stored.key_id();
  record.team_id = stored.team_id();
  record.name = stored.name();
  record.scopes.reserve(stored.scopes_size());
  for (const StoredScope& s : stored.scopes()) {
    if (!IsKnownLevel(s.level())) {
      return absl::DataLossError("stored key record has an unknown scope level");
    }
    record.scopes.push_back(core::Scope{s.resource(), static_cast<core::Level>(s.level())});
  }
  record.environment = static_cast<core::Environment>(stored.environment());
  record.display_prefix = stored.display_prefix();
  record.token_hash = stored.token_hash();
  record.create_time = absl::FromUnixMicros(stored.create_time_us());
  record.expire_time = FromMicros(stored.expire_time_us());
  record.revoke_time = FromMicros(stored.revoke_time_us());
  record.revoke_reason = stored.revoke_reason();
  record.created_by = stored.created_by();
  record.is_operator = stored.is_operator();
  return record;
}

std::string TeamIndexPrefix(absl::string_view team_id) {
  return absl::StrCat(team_id, absl::string_view("\0", 1));
}

std::string TeamIndexKey(const core::KeyRecord& record) {
  std::string key = TeamIndexPrefix(record.team_id);
  const uint64_t us = static_cast<uint64_t>(absl::ToUnixMicros(record.create_time));
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((us >> shift) & 0xff));
  }
  absl::StrAppend(&key, record.key_id);
  return key;
}

}  // namespace keygate::storage
