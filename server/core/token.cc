#include "server/core/token.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/crc32.h"
#include "server/core/random.h"

namespace keygate::core {
namespace {

bool IsBase62(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

bool IsValidPrefix(absl::string_view prefix) {
  if (prefix.empty() || prefix.size() > TokenFormat::kMaxPrefixChars) return false;
  if (!absl::ascii_islower(static_cast<unsigned char>(prefix[0]))) return false;
  for (char c : prefix) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::string_view EnvironmentName(Environment env) {
  return env == Environment::kTest ? "test" : "live";
}

std::optional<Environment> ParseEnvironmentName(absl::string_view name) {
  if (name == "live") return Environment::kLive;
  if (name == "test") return Environment::kTest;
  return std::nullopt;
}

std::string Base62Crc32(absl::string_view data) {
  uint32_t crc = Crc32(data);
  std::string out(TokenFormat::kChecksumChars, '0');
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = kBase62Alphabet[crc % 62];
    crc /= 62;
  }
  return out;
}

absl::string_view StripBearer(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  constexpr absl::string_view kScheme = "bearer";
  // The first letter first: a bare token (the usual case) is told apart
  // without the case-insensitive comparison's call.
  if (value.size() > kScheme.size() &&
      absl::ascii_tolower(static_cast<unsigned char>(value[0])) == 'b' &&
      absl::StartsWithIgnoreCase(value, kScheme) &&
      absl::ascii_isspace(static_cast<unsigned char>(value[kScheme.size()]))) {
    value = absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
  }
  return value;
}

absl::StatusOr<TokenFormat> TokenFormat::Create(absl::string_view prefix) {
  if (!IsValidPrefix(prefix)) {
    return absl::InvalidArgumentError(
        "key prefix must be 1-16 characters of a-z and 0-9, starting with a letter");
  }
  return TokenFormat(std::string(prefix));
}

size_t TokenFormat::max_token_length() const {
  return prefix_.size() + 1 + 4 + 1 + kBodyChars;  // "live"/"test" are 4 chars.
}

std::string TokenFormat::Generate(Environment env) const {
  std::string token =
      absl::StrCat(prefix_, "_", EnvironmentName(env), "_",
                   SecureRandomBase62(kRandomChars));
  absl::StrAppend(&token, Base62Crc32(token));
  return token;
}

absl::StatusOr<ParsedToken> TokenFormat::Parse(absl::string_view input) const {
  const absl::string_view token = StripBearer(input);
  if (token.empty()) return absl::InvalidArgumentError("token is empty");
  if (token.size() != max_token_length()) {
    return absl::InvalidArgumentError("token has the wrong length");
  }
  if (!absl::StartsWith(token, prefix_) || token[prefix_.size()] != '_') {
    return absl::InvalidArgumentError("token does not have this server's prefix");
  }
  const std::optional<Environment> env =
      ParseEnvironmentName(token.substr(prefix_.size() + 1, 4));
  if (!env.has_value() || token[prefix_.size() + 5] != '_') {
    return absl::InvalidArgumentError("token has no valid environment (live or test)");
  }
  const absl::string_view body = token.substr(token.size() - kBodyChars);
  for (char c : body) {
    if (!IsBase62(c)) {
      return absl::InvalidArgumentError("token contains characters outside base62");
    }
  }
  const absl::string_view signed_part = token.substr(0, token.size() - kChecksumChars);
  if (Base62Crc32(signed_part) != token.substr(signed_part.size())) {
    return absl::InvalidArgumentError("token checksum does not match (mistyped or truncated?)");
  }
  return ParsedToken{token, *env};
}

std::string TokenFormat::DisplayPrefix(const ParsedToken& token) {
  const size_t head = token.token.size() - kBodyChars + kDisplayBodyChars;
  return std::string(token.token.substr(0, head));
}

}  // namespace keygate::core
