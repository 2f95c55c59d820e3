// Serialisation of records for storage, and the key layouts of the column
// families. Big-endian integers in keys so that byte order is numeric order.
#ifndef KEYGATE_STORAGE_RECORD_CODEC_H_
#define KEYGATE_STORAGE_RECORD_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/core/audit_event.h"
#include "server/core/key_record.h"

namespace keygate::storage {

// Encodes `record` into its stored bytes.
std::string EncodeKeyRecord(const core::KeyRecord& record);
// Decodes stored bytes. Returns DataLoss if they are not a valid record.
absl::StatusOr<core::KeyRecord> DecodeKeyRecord(absl::string_view bytes);
// The same into `*record`, every field overwritten (e.g. a record already in
// its shared allocation). On error `*record` is unspecified. Reads the wire
// format directly, without a StoredKeyRecord (record_decoder.cc).
absl::Status DecodeKeyRecord(absl::string_view bytes, core::KeyRecord* record);

// Stored times that may be unset: µs since the Unix epoch, 0 for
// InfiniteFuture (never expires, not revoked, never purged).
int64_t ToStoredMicros(absl::Time t);
absl::Time FromStoredMicros(int64_t us);

std::string EncodeAuditEvent(const core::AuditEvent& event);
absl::StatusOr<core::AuditEvent> DecodeAuditEvent(absl::string_view bytes);

// `prefix`, NUL: the start of every index key of one team or key.
std::string IndexPrefix(absl::string_view owner);

// team_keys: team, NUL, big-endian creation µs, key id. Creation order.
std::string TeamIndexKey(const core::KeyRecord& record);

// Values of key_ids and team_keys: the token hash, then the big-endian µs
// after which the entry may be purged (0: never).
std::string IndexValue(absl::string_view token_hash, absl::Time purge_after);
// Returns false if `value` is not an index value.
bool DecodeIndexValue(absl::string_view value, absl::string_view* token_hash,
                      absl::Time* purge_after);

// When a record may be removed for good: `retention` after it was revoked or
// expired (whichever first); InfiniteFuture while it is neither.
absl::Time PurgeAfter(const core::KeyRecord& record, absl::Duration retention);

// audit / audit_by_key: owner (team or key id), NUL, big-endian inverted µs
// (newest first), event id.
std::string AuditKey(absl::string_view owner, const core::AuditEvent& event);
// The event time encoded in an audit key; false if malformed.
bool AuditKeyTime(absl::string_view key, absl::Time* time);

// usage: key id, NUL, then a kind byte:
//   'd' + big-endian day number -> counters (allowed, denied: 2 x uint64 LE),
//                                   optionally followed by the last use that
//                                   day (int64 µs LE)
//   'l'                          -> last use (int64 µs LE); no longer
//                                   written (the day counters carry it),
//                                   still read from older stores
//   'i' + client address         -> last seen (int64 µs LE)
inline constexpr char kUsageDay = 'd';
inline constexpr char kUsageLastUsed = 'l';
inline constexpr char kUsageClient = 'i';
std::string UsageDayKey(absl::string_view key_id, absl::CivilDay day);
// UsageDayKey into `out` (replacing its contents, reusing its memory).
void SetUsageDayKey(absl::string_view key_id, int64_t day_number, std::string* out);
std::string UsageLastUsedKey(absl::string_view key_id);
std::string UsageClientKey(absl::string_view key_id, absl::string_view address);

// A day's counters; `last_used` InfinitePast: not recorded (16 bytes).
std::string EncodeCounters(uint64_t allowed, uint64_t denied,
                           absl::Time last_used = absl::InfinitePast());
// EncodeCounters into `out` (replacing its contents, reusing its memory).
void SetCounters(uint64_t allowed, uint64_t denied, absl::Time last_used, std::string* out);
// Accepts both forms; `last_used` (may be null) is InfinitePast for the short.
bool DecodeCounters(absl::string_view value, uint64_t* allowed, uint64_t* denied,
                    absl::Time* last_used = nullptr);
std::string EncodeMicros(absl::Time t);
bool DecodeMicros(absl::string_view value, absl::Time* t);

// Days since 1970-01-01, and back.
int64_t DayNumber(absl::CivilDay day);
absl::CivilDay DayFromNumber(int64_t number);
// The number of the UTC day that contains `t` (finite): the same day as
// absl::ToCivilDay(t, UTC), without a calendar conversion (the usage
// flush asks once per key).
int64_t UtcDayNumber(absl::Time t);

void AppendBigEndian64(uint64_t v, std::string* out);
uint64_t ReadBigEndian64(absl::string_view bytes);  // bytes.size() >= 8

}  // namespace keygate::storage

#endif  // KEYGATE_STORAGE_RECORD_CODEC_H_
