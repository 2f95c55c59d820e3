// The route table: parsing (with errors naming the line), lookup, path
// normalization and the method fallback.
#include "server/envoy/route_scopes.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace keygate::envoy_authz {
namespace {

using ::keygate::testing::StatusIs;
using ::keygate::testing::TempDir;
using ::testing::HasSubstr;

// The scope Find picks, as text; "none" if no rule matches.
std::string ScopeFor(const RouteScopeTable& table, absl::string_view method,
                     absl::string_view path) {
  const RouteRule* rule = table.Find(method, path);
  return rule == nullptr ? "none" : rule->scope.ToString();
}

RouteScopeTable MustParse(absl::string_view text) {
  absl::StatusOr<RouteScopeTable> table = RouteScopeTable::Parse(text);
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *std::move(table) : RouteScopeTable();
}

// The message of a Parse error, or "" when it parses.
std::string ParseError(absl::string_view text) {
  absl::StatusOr<RouteScopeTable> table = RouteScopeTable::Parse(text);
  if (table.ok()) return "";
  EXPECT_THAT(table.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  return std::string(table.status().message());
}

TEST(RouteScopeTableTest, ParsesRulesCommentsAndBlankLines) {
  const RouteScopeTable table = MustParse(
      "# FlowStack API\n"
      "\n"
      "GET   /api/v1/flows  flows:read   # listing and reading\n"
      "\t*\t/api/v1/runs\truns:write\r\n"
      "   \n");
  ASSERT_EQ(table.rules().size(), 2u);
  EXPECT_FALSE(table.empty());
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows"), "flows:read");
  EXPECT_EQ(ScopeFor(table, "PATCH", "/api/v1/runs"), "runs:write");
  EXPECT_EQ(table.Find("GET", "/api/v1/runs")->line, 4);
}

TEST(RouteScopeTableTest, EmptyTableMatchesNothing) {
  const RouteScopeTable table = MustParse("# nothing yet\n");
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.Find("GET", "/"), nullptr);
  EXPECT_EQ(RouteScopeTable().Find("GET", "/api"), nullptr);
}

TEST(RouteScopeTableTest, LongestPrefixWins) {
  const RouteScopeTable table = MustParse(
      "*  /api            read\n"
      "*  /api/v1/flows   flows:write\n"
      "*  /api/v1         write\n");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows/f_1"), "flows:write");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/runs"), "write");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v2"), "read");
  EXPECT_EQ(ScopeFor(table, "GET", "/other"), "none");
}

TEST(RouteScopeTableTest, NamedMethodBeatsWildcardOnTheSamePrefix) {
  const RouteScopeTable table = MustParse(
      "*     /api/v1/flows  flows:write\n"
      "GET   /api/v1/flows  flows:read\n"
      "HEAD  /api/v1/flows  flows:read\n");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows"), "flows:read");
  EXPECT_EQ(ScopeFor(table, "HEAD", "/api/v1/flows"), "flows:read");
  EXPECT_EQ(ScopeFor(table, "POST", "/api/v1/flows"), "flows:write");
  EXPECT_EQ(ScopeFor(table, "DELETE", "/api/v1/flows/f_1"), "flows:write");
  // Methods are case-sensitive (RFC 9110): "get" is not GET.
  EXPECT_EQ(ScopeFor(table, "get", "/api/v1/flows"), "flows:write");
}

TEST(RouteScopeTableTest, LongerWildcardPrefixBeatsShorterNamedMethod) {
  const RouteScopeTable table = MustParse(
      "GET  /api             read\n"
      "*    /api/v1/admin    admin\n");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/admin/users"), "admin");
}

TEST(RouteScopeTableTest, PrefixesMatchOnSegmentBoundaries) {
  const RouteScopeTable table = MustParse(
      "*  /api/v1/flows  flows:read\n"
      "*  /static/       read\n");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows"), "flows:read");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows/"), "flows:read");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows/f_1/runs"), "flows:read");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flowstats"), "none");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flow"), "none");
  EXPECT_EQ(ScopeFor(table, "GET", "/static/app.js"), "read");
  EXPECT_EQ(ScopeFor(table, "GET", "/static"), "none");
}

TEST(RouteScopeTableTest, RootPrefixMatchesEverything) {
  const RouteScopeTable table = MustParse("POST / write\n");
  EXPECT_EQ(ScopeFor(table, "POST", "/"), "write");
  EXPECT_EQ(ScopeFor(table, "POST", "/anything/at/all"), "write");
  EXPECT_EQ(ScopeFor(table, "GET", "/anything"), "none");
}

TEST(RouteScopeTableTest, QueryStringAndFragmentAreIgnored) {
  const RouteScopeTable table = MustParse(
      "*  /api/v1/flows  flows:read\n"
      "*  /api/v1/admin  admin\n");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows?redirect=/api/v1/admin"), "flows:read");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows#x"), "flows:read");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/admin?x=1"), "admin");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flowstats?/api/v1/flows"), "none");
}

TEST(RouteScopeTableTest, PathsAreNormalizedBeforeMatching) {
  const RouteScopeTable table = MustParse(
      "*  /api/v1/flows  flows:read\n"
      "*  /api/v1/admin  admin\n");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows/../admin/keys"), "admin");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/flows/%2e%2E/admin"), "admin");
  EXPECT_EQ(ScopeFor(table, "GET", "/api//v1///admin"), "admin");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/./v1/flows"), "flows:read");
  EXPECT_EQ(ScopeFor(table, "GET", "/api/v1/%66lows"), "flows:read");  // %66 = 'f'
}

TEST(NormalizeRequestPathTest, FollowsRfc3986) {
  EXPECT_EQ(NormalizeRequestPath("/"), "/");
  EXPECT_EQ(NormalizeRequestPath(""), "");
  EXPECT_EQ(NormalizeRequestPath("/a/b"), "/a/b");
  EXPECT_EQ(NormalizeRequestPath("/a/b/"), "/a/b/");
  EXPECT_EQ(NormalizeRequestPath("/a//b"), "/a/b");
  EXPECT_EQ(NormalizeRequestPath("//a"), "/a");
  EXPECT_EQ(NormalizeRequestPath("/a/./b"), "/a/b");
  EXPECT_EQ(NormalizeRequestPath("/a/."), "/a/");
  EXPECT_EQ(NormalizeRequestPath("/a/b/../c"), "/a/c");
  EXPECT_EQ(NormalizeRequestPath("/a/b/.."), "/a/");
  EXPECT_EQ(NormalizeRequestPath("/a/.."), "/");
  EXPECT_EQ(NormalizeRequestPath("/../../etc"), "/etc");
  EXPECT_EQ(NormalizeRequestPath("/a/b?c=/../d"), "/a/b");
  EXPECT_EQ(NormalizeRequestPath("/a/%2e%2e/b"), "/b");
  EXPECT_EQ(NormalizeRequestPath("/a%7Eb"), "/a~b");
  // Escapes of reserved characters are kept: %2F is not a separator here.
  EXPECT_EQ(NormalizeRequestPath("/a%2F..%2Fb"), "/a%2F..%2Fb");
  EXPECT_EQ(NormalizeRequestPath("/a%zz"), "/a%zz");
  EXPECT_EQ(NormalizeRequestPath("/a%2"), "/a%2");
  EXPECT_EQ(NormalizeRequestPath("*"), "*");
}

TEST(RouteScopeTableTest, ErrorsNameTheLine) {
  EXPECT_THAT(ParseError("GET /a read\nGET /b\n"),
              HasSubstr("line 2: expected `METHOD PATH_PREFIX SCOPE`, got 2 fields"));
  EXPECT_THAT(ParseError("GET /a read extra\n"), HasSubstr("line 1:"));
  EXPECT_THAT(ParseError("# c\nget /a read\n"),
              HasSubstr("line 2: method must be an upper-case HTTP method"));
  EXPECT_THAT(ParseError("GET api/v1 read\n"),
              HasSubstr("line 1: path prefix must start with '/'"));
  EXPECT_THAT(ParseError("\n\nGET /api/../x read\n"),
              HasSubstr("line 3: path prefix \"/api/../x\" is not normalized; write \"/x\""));
  EXPECT_THAT(ParseError("GET /api?x=1 read\n"), HasSubstr("line 1: path prefix must be a path"));
  EXPECT_THAT(ParseError("GET /api flows:own\n"), HasSubstr("line 1: scope \"flows:own\""));
  EXPECT_THAT(ParseError("GET /a read\n* /a write\nGET /a admin\n"),
              HasSubstr("line 3: duplicate rule for GET /a (first on line 1)"));
  EXPECT_EQ(ParseError("GET /a read\n* /a write\n"), "");
}

TEST(RouteScopeTableTest, LoadFileReadsAndNamesTheFile) {
  TempDir dir;
  const std::string good = dir.path() + "/routes.txt";
  std::ofstream(good) << "GET /api/v1/flows flows:read\n";
  absl::StatusOr<RouteScopeTable> table = RouteScopeTable::LoadFile(good);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(ScopeFor(*table, "GET", "/api/v1/flows"), "flows:read");

  const std::string bad = dir.path() + "/bad.txt";
  std::ofstream(bad) << "GET /ok read\nPOST /api\n";
  absl::StatusOr<RouteScopeTable> broken = RouteScopeTable::LoadFile(bad);
  EXPECT_THAT(broken, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(broken.status().message(), HasSubstr(bad + ": line 2:"));

  EXPECT_THAT(RouteScopeTable::LoadFile(dir.path() + "/missing.txt"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(MethodFallbackScopeTest, SafeMethodsReadOthersWrite) {
  for (const char* method : {"GET", "HEAD", "OPTIONS"}) {
    EXPECT_EQ(MethodFallbackScope(method).ToString(), "read") << method;
  }
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "CONNECT", "TRACE", "get", ""}) {
    EXPECT_EQ(MethodFallbackScope(method).ToString(), "write") << method;
  }
}

}  // namespace
}  // namespace keygate::envoy_authz
