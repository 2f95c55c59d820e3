#include "server/core/scope.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace keygate::core {
namespace {

using ::keygate::testing::StatusIs;
using ::testing::ElementsAre;

Scope MustParse(absl::string_view text) {
  absl::StatusOr<Scope> scope = ParseScope(text);
  EXPECT_TRUE(scope.ok()) << text << ": " << scope.status();
  return scope.ok() ? *scope : Scope{};
}

TEST(ParseScopeTest, AcceptsValidScopes) {
  struct Case {
    absl::string_view text;
    absl::string_view resource;
    Level level;
  };
  const Case cases[] = {
      {"read", "", Level::kRead},
      {"write", "", Level::kWrite},
      {"admin", "", Level::kAdmin},
      {"flows:read", "flows", Level::kRead},
      {"runs-2:write", "runs-2", Level::kWrite},
      {"a_b:admin", "a_b", Level::kAdmin},
      {"9lives:read", "9lives", Level::kRead},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Scope> scope = ParseScope(c.text);
    ASSERT_TRUE(scope.ok()) << c.text << ": " << scope.status();
    EXPECT_EQ(scope->resource, c.resource) << c.text;
    EXPECT_EQ(scope->level, c.level) << c.text;
  }
}

TEST(ParseScopeTest, AcceptsResourceOf64Chars) {
  const std::string text = std::string(kMaxResourceChars, 'r') + ":read";
  absl::StatusOr<Scope> scope = ParseScope(text);
  ASSERT_TRUE(scope.ok()) << scope.status();
  EXPECT_EQ(scope->resource.size(), 64u);
}

TEST(ParseScopeTest, RejectsInvalidScopes) {
  const std::string too_long = std::string(65, 'r') + ":read";
  const std::vector<std::string> invalid = {
      "",           "READ",        "Read",          "flows:",      ":read",
      "flows:delete", "Flows:read", "-x:read",       "_x:read",     too_long,
      "flows:read:write", "a:b:read", "flows::read", "flows :read", " read",
      "read ",      "flows/x:read", "flows.x:read",  "flows:READ",  "none",
      std::string("read\0", 5),
  };
  for (const std::string& text : invalid) {
    EXPECT_THAT(ParseScope(text), StatusIs(absl::StatusCode::kInvalidArgument))
        << "scope: '" << text << "'";
  }
}

struct MatrixCase {
  const char* granted;
  const char* required;
  bool satisfies;
};

class ScopeMatrixTest : public ::testing::TestWithParam<MatrixCase> {};

TEST_P(ScopeMatrixTest, Satisfies) {
  const MatrixCase& c = GetParam();
  const Scope granted = MustParse(c.granted);
  const Scope required = MustParse(c.required);
  EXPECT_EQ(Satisfies(granted, required), c.satisfies)
      << c.granted << " vs required " << c.required;
  EXPECT_EQ(AnySatisfies({granted}, required), c.satisfies);
}

INSTANTIATE_TEST_SUITE_P(
    Contract, ScopeMatrixTest,
    ::testing::Values(
        // From the contract.
        MatrixCase{"write", "flows:read", true},
        MatrixCase{"flows:write", "runs:read", false},
        MatrixCase{"admin", "read", true}, MatrixCase{"admin", "write", true},
        MatrixCase{"admin", "admin", true}, MatrixCase{"admin", "flows:admin", true},
        MatrixCase{"admin", "runs:write", true},
        MatrixCase{"read", "write", false},
        MatrixCase{"flows:admin", "flows:write", true},
        MatrixCase{"flows:admin", "write", false},
        // Levels are ordered read < write < admin.
        MatrixCase{"read", "read", true}, MatrixCase{"read", "admin", false},
        MatrixCase{"write", "write", true}, MatrixCase{"write", "admin", false},
        MatrixCase{"write", "read", true},
        // Resources must be equal, or the granted one empty.
        MatrixCase{"flows:read", "flows:read", true},
        MatrixCase{"flows:read", "flows:write", false},
        MatrixCase{"flows:read", "read", false},
        MatrixCase{"flows:admin", "admin", false},
        MatrixCase{"flows:admin", "runs:read", false},
        MatrixCase{"flows:write", "flow:read", false},
        MatrixCase{"flow:write", "flows:read", false},
        MatrixCase{"read", "flows:read", true},
        MatrixCase{"read", "flows:write", false}));

TEST(AnySatisfiesTest, NeedsOneGrantedScopeThatSatisfies) {
  const std::vector<Scope> granted = {MustParse("flows:read"), MustParse("runs:write")};
  EXPECT_TRUE(AnySatisfies(granted, MustParse("flows:read")));
  EXPECT_TRUE(AnySatisfies(granted, MustParse("runs:read")));
  EXPECT_FALSE(AnySatisfies(granted, MustParse("flows:write")));
  EXPECT_FALSE(AnySatisfies(granted, MustParse("read")));
  EXPECT_FALSE(AnySatisfies({}, MustParse("read")));
}

TEST(ScopeToStringTest, RoundTrips) {
  for (absl::string_view text :
       {"read", "write", "admin", "flows:read", "runs-2:write", "a_b:admin"}) {
    const Scope scope = MustParse(text);
    EXPECT_EQ(scope.ToString(), text);
    EXPECT_EQ(MustParse(scope.ToString()), scope);
  }
  EXPECT_EQ((Scope{"", Level::kWrite}).ToString(), "write");
  EXPECT_EQ((Scope{"flows", Level::kAdmin}).ToString(), "flows:admin");
}

TEST(ParseScopesTest, ParsesInOrderAndRemovesDuplicates) {
  const std::vector<std::string> texts = {"flows:read", "write", "flows:read", "runs:admin",
                                          "write"};
  absl::StatusOr<ScopeList> scopes = ParseScopes(texts);
  ASSERT_TRUE(scopes.ok()) << scopes.status();
  EXPECT_THAT(*scopes, ElementsAre(Scope{"flows", Level::kRead}, Scope{"", Level::kWrite},
                                   Scope{"runs", Level::kAdmin}));
}

TEST(ParseScopesTest, EmptyListGivesNoScopes) {
  absl::StatusOr<ScopeList> scopes = ParseScopes({});
  ASSERT_TRUE(scopes.ok()) << scopes.status();
  EXPECT_TRUE(scopes->empty());
}

TEST(ParseScopesTest, FailsOnFirstBadScope) {
  const std::vector<std::string> texts = {"read", "flows:delete", "write"};
  EXPECT_THAT(ParseScopes(texts), StatusIs(absl::StatusCode::kInvalidArgument));
  // The message is that of the first bad scope (a bad level), not the later
  // bad resource.
  const std::vector<std::string> two_bad = {"read", "flows:delete", "Flows:read"};
  absl::StatusOr<ScopeList> scopes = ParseScopes(two_bad);
  ASSERT_FALSE(scopes.ok());
  EXPECT_EQ(scopes.status(), ParseScope("flows:delete").status());
}

}  // namespace
}  // namespace keygate::core
