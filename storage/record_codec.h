// Serialisation of core::KeyRecord for storage, and the index key layout.
#ifndef KEYGATE_STORAGE_RECORD_CODEC_H_
#define KEYGATE_STORAGE_RECORD_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/key_record.h"

namespace keygate::storage {

// Encodes `record` into its stored bytes.
std::string EncodeKeyRecord(const core::KeyRecord& record);

// Decodes stored bytes. Returns DataLoss if they are not a valid record.
absl::StatusOr<core::KeyRecord> DecodeKeyRecord(absl::string_view bytes);

// The team index key: team_id, NUL, big-endian creation microseconds, key_id.
// Sorts a team's keys by creation time, then id.
std::string TeamIndexKey(const core::KeyRecord& record);
// The prefix shared by every index key of `team_id`.
std::string TeamIndexPrefix(absl::string_view team_id);

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_RECORD_CODEC_H_
