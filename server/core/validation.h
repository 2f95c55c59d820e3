// Input rules for the fields of management requests. Each function returns
// OK or InvalidArgument with a message that names the field and the rule
// (and never echoes secrets).
#ifndef KEYGATE_SERVER_CORE_VALIDATION_H_
#define KEYGATE_SERVER_CORE_VALIDATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace keygate::core {

inline constexpr size_t kMaxTeamIdChars = 64;
inline constexpr size_t kMaxNameBytes = 128;
inline constexpr size_t kMaxScopesPerKey = 32;
inline constexpr size_t kMaxScopeChars = 96;
inline constexpr size_t kMaxRevokeReasonBytes = 256;
inline constexpr size_t kKeyIdRandomChars = 20;
inline constexpr char kKeyIdPrefix[] = "key_";

// 1-64 characters of [a-z0-9_-], starting with a letter or digit.
absl::Status ValidateTeamId(absl::string_view team_id);
// 1-128 bytes, no control characters.
absl::Status ValidateKeyName(absl::string_view name);
// `key_` followed by 20 base62 characters.
absl::Status ValidateKeyId(absl::string_view key_id);
// At most 256 bytes, no control characters.
absl::Status ValidateRevokeReason(absl::string_view reason);

// A new random key id.
std::string GenerateKeyId();

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_VALIDATION_H_
