// API token format: `<prefix>_<env>_<body>`, e.g. `fs_live_…`.
//
// The body is 30 base62 characters from the CSPRNG (178 bits) followed by a
// 6-character base62 CRC32 of everything before it. The checksum lets a
// mistyped or truncated token be rejected without touching storage, and lets
// secret scanners recognise real tokens (the scheme GitHub uses).
#ifndef KEYGATE_SERVER_CORE_TOKEN_H_
#define KEYGATE_SERVER_CORE_TOKEN_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace keygate::core {

// The environment a key belongs to; part of its token.
enum class Environment { kLive = 1, kTest = 2 };

// "live" or "test".
absl::string_view EnvironmentName(Environment env);
// Parses "live" / "test"; nullopt for anything else.
std::optional<Environment> ParseEnvironmentName(absl::string_view name);

// A token that passed every syntactic check, including the checksum.
struct ParsedToken {
  absl::string_view token;  // The bare token (no "Bearer "), views the input.
  Environment environment;
};

// Generates and parses tokens for one prefix. Immutable after creation and
// safe for concurrent use.
class TokenFormat {
 public:
  static constexpr size_t kRandomChars = 30;    // 30 * log2(62) = 178 bits.
  static constexpr size_t kChecksumChars = 6;   // 62^6 > 2^32.
  static constexpr size_t kBodyChars = kRandomChars + kChecksumChars;
  static constexpr size_t kMaxPrefixChars = 16;
  // Characters of the body shown in display prefixes (`fs_live_AbCd`).
  static constexpr size_t kDisplayBodyChars = 4;

  // Returns InvalidArgument unless `prefix` is 1-16 characters of [a-z0-9],
  // starting with a letter.
  static absl::StatusOr<TokenFormat> Create(absl::string_view prefix);

  // Returns a new random token for `env`.
  std::string Generate(Environment env) const;

  // Validates `token`, which may be a whole `Bearer <token>` header value.
  // Returns InvalidArgument (with a message that never echoes the input) if
  // the token is not well formed for this prefix or its checksum is wrong.
  absl::StatusOr<ParsedToken> Parse(absl::string_view token) const;

  // The non-secret prefix shown in listings, e.g. `fs_live_AbCd`.
  static std::string DisplayPrefix(const ParsedToken& token);

  const std::string& prefix() const { return prefix_; }
  // The longest token this format produces; longer input is malformed.
  size_t max_token_length() const;

 private:
  explicit TokenFormat(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string prefix_;
};

// Strips an optional case-insensitive `Bearer ` scheme and surrounding
// whitespace from an HTTP Authorization header value.
absl::string_view StripBearer(absl::string_view value);

// The base62 CRC32 checksum (6 characters) of `data`.
std::string Base62Crc32(absl::string_view data);

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_TOKEN_H_
