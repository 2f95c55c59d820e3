#include "server/core/token.h"

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/random.h"
#include "tests/support/test_support.h"

namespace keygate::core {
namespace {

using ::keygate::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr absl::string_view kAlphabet(kBase62Alphabet, 62);

bool AllBase62(absl::string_view s) {
  for (char c : s) {
    if (kAlphabet.find(c) == absl::string_view::npos) return false;
  }
  return true;
}

class TokenFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TokenFormat> format = TokenFormat::Create("fs");
    ASSERT_TRUE(format.ok()) << format.status();
    format_.emplace(*std::move(format));
  }

  const TokenFormat& format() const { return *format_; }

  // `count` fresh tokens, alternating live and test.
  std::vector<std::string> SampleTokens(int count) const {
    std::vector<std::string> tokens;
    for (int i = 0; i < count; ++i) {
      tokens.push_back(format().Generate(i % 2 == 0 ? Environment::kLive : Environment::kTest));
    }
    return tokens;
  }

  std::optional<TokenFormat> format_;
};

TEST(TokenFormatCreateTest, AcceptsValidPrefixes) {
  for (absl::string_view prefix : {"fs", "a", "abc123", "x9", "abcdefghijklmnop"}) {
    absl::StatusOr<TokenFormat> format = TokenFormat::Create(prefix);
    ASSERT_TRUE(format.ok()) << prefix << ": " << format.status();
    EXPECT_EQ(format->prefix(), prefix);
  }
}

TEST(TokenFormatCreateTest, RejectsInvalidPrefixes) {
  for (absl::string_view prefix :
       {"", "1fs", "Fs", "fS", "f_s", "f-s", "fs_", "fs ", " fs", "abcdefghijklmnopq", "f\xc3\xa9"}) {
    EXPECT_THAT(TokenFormat::Create(prefix), StatusIs(absl::StatusCode::kInvalidArgument))
        << "prefix: '" << prefix << "'";
  }
}

TEST_F(TokenFormatTest, GenerateLiveHasPrefixAnd36Base62Chars) {
  const std::string token = format().Generate(Environment::kLive);
  ASSERT_THAT(token, StartsWith("fs_live_"));
  const absl::string_view body = absl::string_view(token).substr(8);
  EXPECT_EQ(body.size(), 36u);
  EXPECT_EQ(body.size(), TokenFormat::kBodyChars);
  EXPECT_TRUE(AllBase62(body)) << token;
  EXPECT_EQ(token.size(), format().max_token_length());
}

TEST_F(TokenFormatTest, GenerateTestHasPrefixAnd36Base62Chars) {
  const std::string token = format().Generate(Environment::kTest);
  ASSERT_THAT(token, StartsWith("fs_test_"));
  const absl::string_view body = absl::string_view(token).substr(8);
  EXPECT_EQ(body.size(), 36u);
  EXPECT_TRUE(AllBase62(body)) << token;
}

TEST_F(TokenFormatTest, GeneratedTokenEndsWithChecksumOfTheRest) {
  const std::string token = format().Generate(Environment::kLive);
  const absl::string_view view(token);
  EXPECT_EQ(view.substr(view.size() - 6),
            Base62Crc32(view.substr(0, view.size() - TokenFormat::kChecksumChars)));
}

TEST_F(TokenFormatTest, ParseAcceptsGeneratedTokens) {
  for (Environment env : {Environment::kLive, Environment::kTest}) {
    const std::string token = format().Generate(env);
    absl::StatusOr<ParsedToken> parsed = format().Parse(token);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->token, token);
    EXPECT_EQ(parsed->environment, env);
  }
}

TEST_F(TokenFormatTest, ParseAcceptsBearerPrefixAndWhitespace) {
  const std::string token = format().Generate(Environment::kTest);
  for (const std::string& input :
       {absl::StrCat("Bearer ", token), absl::StrCat("bearer  ", token),
        absl::StrCat("BEARER\t", token), absl::StrCat("  ", token, "  "),
        absl::StrCat(" \tBearer ", token, " \r\n"), absl::StrCat("\n", token)}) {
    absl::StatusOr<ParsedToken> parsed = format().Parse(input);
    ASSERT_TRUE(parsed.ok()) << "'" << input << "': " << parsed.status();
    EXPECT_EQ(parsed->token, token) << input;
    EXPECT_EQ(parsed->environment, Environment::kTest);
  }
}

TEST_F(TokenFormatTest, TokensAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    seen.insert(format().Generate(Environment::kLive));
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST_F(TokenFormatTest, TokenBodiesUseTheWholeBase62Alphabet) {
  std::set<char> chars;
  for (int i = 0; i < 1000; ++i) {
    const std::string token = format().Generate(Environment::kLive);
    for (char c : absl::string_view(token).substr(8, TokenFormat::kRandomChars)) chars.insert(c);
  }
  EXPECT_EQ(chars.size(), 62u);
}

TEST_F(TokenFormatTest, ParseRejectsEmpty) {
  EXPECT_THAT(format().Parse(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(format().Parse("   "), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(format().Parse("Bearer "), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TokenFormatTest, ParseRejectsTokenOfAnotherPrefix) {
  for (absl::string_view other_prefix : {"ab", "fx", "f", "fsx", "gh"}) {
    absl::StatusOr<TokenFormat> other = TokenFormat::Create(other_prefix);
    ASSERT_TRUE(other.ok()) << other.status();
    const std::string token = other->Generate(Environment::kLive);
    ASSERT_TRUE(other->Parse(token).ok());
    EXPECT_THAT(format().Parse(token), StatusIs(absl::StatusCode::kInvalidArgument))
        << other_prefix;
  }
}

TEST_F(TokenFormatTest, ParseRejectsWrongEnvironment) {
  const std::string token = format().Generate(Environment::kLive);
  const std::string body = token.substr(8);
  for (absl::string_view env : {"prod", "LIVE", "Live", "tset", "dev_", "xxxx"}) {
    const std::string bad = absl::StrCat("fs_", env, "_", body);
    EXPECT_THAT(format().Parse(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << env;
  }
  // Swapping live for test keeps the syntax but breaks the checksum.
  EXPECT_THAT(format().Parse(absl::StrCat("fs_test_", body)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A different length environment name.
  EXPECT_THAT(format().Parse(absl::StrCat("fs_sandbox_", body)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TokenFormatTest, ParseRejectsTruncated) {
  const std::string token = format().Generate(Environment::kLive);
  for (size_t len = 0; len < token.size(); ++len) {
    EXPECT_THAT(format().Parse(token.substr(0, len)), StatusIs(absl::StatusCode::kInvalidArgument))
        << "length " << len;
  }
  // Dropping a character from the front or the middle too.
  EXPECT_THAT(format().Parse(token.substr(1)), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string middle = token;
  middle.erase(20, 1);
  EXPECT_THAT(format().Parse(middle), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TokenFormatTest, ParseRejectsExtended) {
  const std::string token = format().Generate(Environment::kLive);
  for (const std::string& bad :
       {absl::StrCat(token, "A"), absl::StrCat(token, "0"), absl::StrCat(token, token),
        absl::StrCat("x", token), absl::StrCat(token, "_"),
        absl::StrCat(token.substr(0, 20), "Q", token.substr(20))}) {
    EXPECT_THAT(format().Parse(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
  // A whole new checksum over a longer body is still the wrong length.
  const std::string longer = absl::StrCat(token.substr(0, token.size() - 6), "abc");
  EXPECT_THAT(format().Parse(absl::StrCat(longer, Base62Crc32(longer))),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TokenFormatTest, ParseRejectsNonBase62Characters) {
  const std::string token = format().Generate(Environment::kLive);
  for (size_t pos : {size_t{8}, size_t{20}, token.size() - 7, token.size() - 1}) {
    for (char c : {'-', '_', '+', '/', '=', ' ', '.', '\0', '\xc3', '\x7f'}) {
      std::string bad = token;
      bad[pos] = c;
      EXPECT_THAT(format().Parse(bad), StatusIs(absl::StatusCode::kInvalidArgument))
          << "position " << pos << " char " << static_cast<int>(c);
    }
  }
}

TEST_F(TokenFormatTest, ParseRejectsNonBase62BodyEvenWithMatchingChecksum) {
  // A body with a character outside base62, with a checksum computed over it.
  const std::string signed_part = absl::StrCat("fs_live_", std::string(29, 'a'), "-");
  const std::string bad = absl::StrCat(signed_part, Base62Crc32(signed_part));
  ASSERT_EQ(bad.size(), format().max_token_length());
  EXPECT_THAT(format().Parse(bad), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Required by the token-format issue: every single-character typo anywhere in
// a token (prefix, environment, separators, body, checksum) is rejected.
TEST_F(TokenFormatTest, ParseRejectsEverySingleCharacterSubstitution) {
  int checked = 0;
  int accepted = 0;
  std::string first_accepted;
  for (const std::string& token : SampleTokens(20)) {
    ASSERT_TRUE(format().Parse(token).ok()) << token;
    for (size_t pos = 0; pos < token.size(); ++pos) {
      for (char c : kAlphabet) {
        if (c == token[pos]) continue;
        std::string typo = token;
        typo[pos] = c;
        ++checked;
        if (format().Parse(typo).ok()) {
          ++accepted;
          if (first_accepted.empty()) first_accepted = typo;
        }
      }
    }
  }
  // 20 tokens x 44 positions x 61 (or 62 at a separator) substitutions.
  EXPECT_GE(checked, 20 * 44 * 61);
  EXPECT_EQ(accepted, 0) << "e.g. accepted " << first_accepted;
}

TEST_F(TokenFormatTest, ParseRejectsAdjacentTranspositionsInTheBody) {
  int accepted = 0;
  for (const std::string& token : SampleTokens(20)) {
    for (size_t pos = 8; pos + 1 < token.size() - TokenFormat::kChecksumChars; ++pos) {
      if (token[pos] == token[pos + 1]) continue;
      std::string typo = token;
      std::swap(typo[pos], typo[pos + 1]);
      if (format().Parse(typo).ok()) ++accepted;
    }
  }
  EXPECT_EQ(accepted, 0);
}

TEST_F(TokenFormatTest, ParseErrorMessagesNeverContainTheToken) {
  const std::string token = format().Generate(Environment::kLive);
  const std::string body = token.substr(8);
  const std::string random_part = body.substr(0, TokenFormat::kRandomChars);
  std::vector<std::string> bad_inputs = {
      token.substr(0, token.size() - 1),
      absl::StrCat(token, "x"),
      absl::StrCat("fs_prod_", body),
      absl::StrCat("gh_live_", body),
      absl::StrCat("fs_live_", body.substr(0, 35), body[35] == 'a' ? "b" : "a"),
      absl::StrCat("Bearer fs_live_", random_part, "-", body.substr(31)),
  };
  for (size_t pos = 0; pos < token.size(); ++pos) {
    std::string typo = token;
    typo[pos] = typo[pos] == 'Z' ? 'Y' : 'Z';
    bad_inputs.push_back(typo);
  }
  for (const std::string& input : bad_inputs) {
    absl::StatusOr<ParsedToken> parsed = format().Parse(input);
    ASSERT_FALSE(parsed.ok()) << input;
    const absl::string_view message = parsed.status().message();
    EXPECT_FALSE(message.empty());
    EXPECT_THAT(std::string(message), Not(HasSubstr(input)));
    // Not even a recognisable chunk of the secret part.
    for (size_t i = 0; i + 8 <= random_part.size(); ++i) {
      EXPECT_THAT(std::string(message), Not(HasSubstr(random_part.substr(i, 8))))
          << "message: " << message;
    }
  }
}

TEST_F(TokenFormatTest, DisplayPrefixIsPrefixEnvAndFirstFourBodyChars) {
  for (Environment env : {Environment::kLive, Environment::kTest}) {
    const std::string token = format().Generate(env);
    // ParsedToken views its input, which must outlive it.
    const std::string header = absl::StrCat("Bearer ", token);
    absl::StatusOr<ParsedToken> parsed = format().Parse(header);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    const std::string display = TokenFormat::DisplayPrefix(*parsed);
    EXPECT_EQ(display, token.substr(0, 12));
    EXPECT_EQ(display.size(), 8 + TokenFormat::kDisplayBodyChars);
    EXPECT_THAT(display, StartsWith(env == Environment::kLive ? "fs_live_" : "fs_test_"));
  }
}

TEST_F(TokenFormatTest, DisplayPrefixWithLongerServerPrefix) {
  absl::StatusOr<TokenFormat> format = TokenFormat::Create("acme");
  ASSERT_TRUE(format.ok());
  const std::string token = format->Generate(Environment::kLive);
  absl::StatusOr<ParsedToken> parsed = format->Parse(token);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(TokenFormat::DisplayPrefix(*parsed), token.substr(0, 14));
  EXPECT_THAT(TokenFormat::DisplayPrefix(*parsed), StartsWith("acme_live_"));
}

TEST(Base62Crc32Test, IsSixBase62CharsAndDeterministic) {
  for (absl::string_view data : {"", "a", "fs_live_", "hello world", "\xff\x00\x01"}) {
    const std::string sum = Base62Crc32(data);
    EXPECT_EQ(sum.size(), 6u) << data;
    EXPECT_TRUE(AllBase62(sum)) << sum;
    EXPECT_EQ(sum, Base62Crc32(data));
  }
}

TEST(Base62Crc32Test, MatchesKnownValues) {
  // CRC32("123456789") = 0xCBF43926 (the standard check value).
  EXPECT_EQ(Base62Crc32("123456789"), "3jZRME");
  EXPECT_EQ(Base62Crc32(""), "000000");
  EXPECT_NE(Base62Crc32("abc"), Base62Crc32("abd"));
}

TEST(StripBearerTest, Cases) {
  struct Case {
    absl::string_view input;
    absl::string_view want;
  };
  const Case cases[] = {
      {"abc", "abc"},
      {"Bearer abc", "abc"},
      {"bearer  abc", "abc"},
      {"BEARER\tabc", "abc"},
      {"BeArEr abc", "abc"},
      {"  Bearer abc  ", "abc"},
      {"  abc\n", "abc"},
      {"", ""},
      {"   ", ""},
      {"Bearer", "Bearer"},      // A bare scheme is not stripped.
      {"Bearerabc", "Bearerabc"},  // No separator: not the scheme.
      {"Basic abc", "Basic abc"},
      {"Bearer Bearer abc", "Bearer abc"},  // Only one scheme is stripped.
  };
  for (const Case& c : cases) {
    EXPECT_EQ(StripBearer(c.input), c.want) << "input: '" << c.input << "'";
  }
}

TEST(EnvironmentNameTest, ParseAndName) {
  EXPECT_EQ(ParseEnvironmentName("live"), Environment::kLive);
  EXPECT_EQ(ParseEnvironmentName("test"), Environment::kTest);
  for (absl::string_view bad : {"", "LIVE", "Live", "prod", "tests", "live ", "sandbox"}) {
    EXPECT_EQ(ParseEnvironmentName(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(EnvironmentName(Environment::kLive), "live");
  EXPECT_EQ(EnvironmentName(Environment::kTest), "test");
  for (Environment env : {Environment::kLive, Environment::kTest}) {
    EXPECT_EQ(ParseEnvironmentName(EnvironmentName(env)), env);
  }
}

}  // namespace
}  // namespace keygate::core
