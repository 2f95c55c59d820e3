// The reference meaning of a stored key record: protobuf's own parse of it
// (a StoredKeyRecord, or a message with the same fields) turned into a
// core::KeyRecord field by field. DecodeKeyRecord, which reads the wire format
// itself, is tested against it (record_codec_test, record_decoder_fuzzer).
#ifndef KEYGATE_TESTS_STORAGE_STORED_RECORD_REFERENCE_H_
#define KEYGATE_TESTS_STORAGE_STORED_RECORD_REFERENCE_H_

#include <optional>

#include "absl/time/time.h"
#include "server/core/key_record.h"
#include "server/core/scope.h"
#include "storage/record_codec.h"

namespace keygate::storage::testing {

// The record `stored` holds, or nullopt where DecodeKeyRecord must refuse it
// (an unknown environment or scope level).
template <typename Stored>
std::optional<core::KeyRecord> ReferenceRecord(const Stored& stored) {
  if (stored.environment() != static_cast<int32_t>(core::Environment::kLive) &&
      stored.environment() != static_cast<int32_t>(core::Environment::kTest)) {
    return std::nullopt;
  }
  core::KeyRecord record;
  record.key_id = stored.key_id();
  record.team_id = stored.team_id();
  record.name = stored.name();
  for (const auto& s : stored.scopes()) {
    if (s.level() < static_cast<int32_t>(core::Level::kRead) ||
        s.level() > static_cast<int32_t>(core::Level::kAdmin)) {
      return std::nullopt;
    }
    record.scopes.push_back(core::Scope{s.resource(), static_cast<core::Level>(s.level())});
  }
  record.environment = static_cast<core::Environment>(stored.environment());
  record.display_prefix = stored.display_prefix();
  record.token_hash = stored.token_hash();
  record.create_time = absl::FromUnixMicros(stored.create_time_us());
  record.expire_time = FromStoredMicros(stored.expire_time_us());
  record.revoke_time = FromStoredMicros(stored.revoke_time_us());
  record.revoke_reason = stored.revoke_reason();
  record.created_by = stored.created_by();
  record.is_operator = stored.is_operator();
  record.rotated_from_key_id = stored.rotated_from_key_id();
  record.rotated_to_key_id = stored.rotated_to_key_id();
  return record;
}

}  // namespace keygate::storage::testing

#endif  // KEYGATE_TESTS_STORAGE_STORED_RECORD_REFERENCE_H_
