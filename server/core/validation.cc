#include "server/core/validation.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/random.h"

namespace keygate::core {
namespace {

bool HasControlChar(absl::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

absl::Status ValidateTeamId(absl::string_view team_id) {
  const bool chars_ok = std::all_of(team_id.begin(), team_id.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return absl::ascii_islower(u) || absl::ascii_isdigit(u) || c == '-' || c == '_';
  });
  if (team_id.empty() || team_id.size() > kMaxTeamIdChars || !chars_ok ||
      team_id[0] == '-' || team_id[0] == '_') {
    return absl::InvalidArgumentError(
        "team_id must be 1-64 characters of a-z, 0-9, '-', '_', starting with a "
        "letter or digit");
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes || HasControlChar(name)) {
    return absl::InvalidArgumentError(
        "name must be 1-128 bytes of text without control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyId(absl::string_view key_id) {
  const absl::string_view prefix = kKeyIdPrefix;
  const bool ok = key_id.size() == prefix.size() + kKeyIdRandomChars &&
                  absl::StartsWith(key_id, prefix) &&
                  std::all_of(key_id.begin() + prefix.size(), key_id.end(), [](char c) {
                    return absl::ascii_isalnum(static_cast<unsigned char>(c));
                  });
  if (!ok) {
    return absl::InvalidArgumentError(
        "key_id must be 'key_' followed by 20 letters or digits");
  }
  return absl::OkStatus();
}

absl::Status ValidateRevokeReason(absl::string_view reason) {
  if (reason.size() > kMaxRevokeReasonBytes || HasControlChar(reason)) {
    return absl::InvalidArgumentError(
        "reason must be at most 256 bytes of text without control characters");
  }
  return absl::OkStatus();
}

std::string GenerateKeyId() {
  return absl::StrCat(kKeyIdPrefix, SecureRandomBase62(kKeyIdRandomChars));
}

}  // namespace keygate::core
