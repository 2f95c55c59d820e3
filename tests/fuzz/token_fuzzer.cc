// Fuzzes token parsing: TokenFormat::Parse and StripBearer on arbitrary
// bytes, for the default prefix and a long one.
//
// Invariants:
//  - StripBearer returns a view into its input without surrounding
//    whitespace;
//  - a token that parses is exactly StripBearer(input), has the format's
//    length, prefix and environment, a matching checksum, parses again bare
//    and as "Bearer <token>", and every single-character change of it is
//    rejected (the checksum catches typos);
//  - a token that does not parse gets InvalidArgument, and the error message
//    never echoes the input (also checked with a real-looking token spliced
//    in, so that an echo of secret text would show).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/core/token.h"
#include "tests/fuzz/fuzz_check.h"

namespace keygate::fuzzing {
namespace {

const core::TokenFormat& Format(bool long_prefix) {
  static const core::TokenFormat* const kShort = new core::TokenFormat(*core::TokenFormat::Create("fs"));
  static const core::TokenFormat* const kLong =
      new core::TokenFormat(*core::TokenFormat::Create("k0123456789abcde"));  // 16 chars.
  return long_prefix ? *kLong : *kShort;
}

bool IsWithin(absl::string_view inner, absl::string_view outer) {
  if (inner.empty()) return true;
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

void CheckStripBearer(absl::string_view input) {
  const absl::string_view stripped = core::StripBearer(input);
  FUZZ_CHECK(IsWithin(stripped, input), "StripBearer must return a view into its input");
  if (!stripped.empty()) {
    FUZZ_CHECK(!absl::ascii_isspace(static_cast<unsigned char>(stripped.front())) &&
                   !absl::ascii_isspace(static_cast<unsigned char>(stripped.back())),
               "StripBearer leaves no surrounding whitespace");
  }
  FUZZ_CHECK(stripped.size() <= input.size(), "StripBearer never grows");
}

void CheckParse(const core::TokenFormat& format, absl::string_view input) {
  const absl::StatusOr<core::ParsedToken> parsed = format.Parse(input);
  if (!parsed.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(parsed.status()), "a bad token is InvalidArgument");
    const absl::string_view message = parsed.status().message();
    const absl::string_view bare = core::StripBearer(input);
    // No rejection message is long enough to contain a 32+ character input
    // by accident, so any such hit is an echo.
    if (bare.size() >= 32) {
      FUZZ_CHECK(!ContainsSecret(message, bare), "Parse must not echo the token");
    }
    return;
  }
  const core::ParsedToken& token = *parsed;
  FUZZ_CHECK(token.token == core::StripBearer(input), "a parsed token is the stripped input");
  FUZZ_CHECK(token.token.size() == format.max_token_length(), "parsed token has the fixed length");
  FUZZ_CHECK(absl::StartsWith(token.token, absl::StrCat(format.prefix(), "_",
                                                        core::EnvironmentName(token.environment),
                                                        "_")),
             "parsed token starts with prefix_env_");
  const absl::string_view body = token.token.substr(token.token.size() - core::TokenFormat::kBodyChars);
  for (char c : body) {
    FUZZ_CHECK(absl::ascii_isalnum(static_cast<unsigned char>(c)), "body is base62");
  }
  const absl::string_view signed_part =
      token.token.substr(0, token.token.size() - core::TokenFormat::kChecksumChars);
  FUZZ_CHECK(core::Base62Crc32(signed_part) ==
                 token.token.substr(signed_part.size()),
             "checksum matches");
  FUZZ_CHECK(format.Parse(token.token).ok(), "a parsed token parses again bare");
  FUZZ_CHECK(format.Parse(absl::StrCat("Bearer ", token.token)).ok(),
             "a parsed token parses as a Bearer value");
  const std::string display = core::TokenFormat::DisplayPrefix(token);
  FUZZ_CHECK(absl::StartsWith(token.token, display) &&
                 display.size() + core::TokenFormat::kBodyChars - core::TokenFormat::kDisplayBodyChars ==
                     token.token.size(),
             "display prefix is the head of the token");

  // Every single-character change must be rejected.
  std::string mutated(token.token);
  for (size_t i = 0; i < mutated.size(); ++i) {
    const char original = mutated[i];
    for (char replacement : {'0', 'Z', 'z', '_', static_cast<char>('a' + i % 26)}) {
      if (replacement == original) continue;
      mutated[i] = replacement;
      FUZZ_CHECK(!format.Parse(mutated).ok(), "a one-character typo must be rejected");
    }
    mutated[i] = original;
  }
}

}  // namespace
}  // namespace keygate::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keygate::fuzzing;  // NOLINT
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckStripBearer(input);
  CheckParse(Format(false), input);
  CheckParse(Format(true), input);

  // With a freshly generated (secret) token spliced into the input at the
  // first '#': whatever the outcome, no message may contain it.
  const size_t hash = input.find('#');
  if (hash != absl::string_view::npos) {
    const std::string secret = Format(false).Generate(keygate::core::Environment::kLive);
    const std::string spliced =
        absl::StrCat(input.substr(0, hash), secret, input.substr(hash + 1));
    const absl::StatusOr<keygate::core::ParsedToken> parsed = Format(false).Parse(spliced);
    if (!parsed.ok()) {
      FUZZ_CHECK(!ContainsSecret(parsed.status().message(), secret) &&
                     !ContainsSecret(parsed.status().message(),
                                     absl::string_view(secret).substr(8, 30)),
                 "Parse must not echo a token");
    } else {
      FUZZ_CHECK(parsed->token == secret, "only the spliced token can parse");
    }
    CheckParse(Format(false), spliced);
  }
  // Generated tokens always parse.
  if (size > 0 && data[0] == 'G') {
    for (auto env : {keygate::core::Environment::kLive, keygate::core::Environment::kTest}) {
      const std::string token = Format(size % 2 == 0).Generate(env);
      const auto parsed = Format(size % 2 == 0).Parse(token);
      FUZZ_CHECK(parsed.ok() && parsed->environment == env, "generated tokens parse");
    }
  }
  return 0;
}
