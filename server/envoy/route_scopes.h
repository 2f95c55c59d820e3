// The route table of the Envoy integration: which scope an HTTP request
// needs, by method and path prefix.
//
// Text format, one rule per line, `#` starts a comment, blank lines ignored:
//
//   # METHOD  PATH_PREFIX        SCOPE
//   GET       /api/v1/flows      flows:read
//   *         /api/v1/flows      flows:write
//   *         /api/v1/admin      admin
//
// METHOD is an upper-case HTTP method or `*` (any method). PATH_PREFIX is a
// normalized absolute path (it starts with `/`, has no `.`/`..` segments, no
// `//`, no query). SCOPE is a Keygate scope (`read`, `flows:write`, …).
#ifndef KEYGATE_SERVER_ENVOY_ROUTE_SCOPES_H_
#define KEYGATE_SERVER_ENVOY_ROUTE_SCOPES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/scope.h"

namespace keygate::envoy_authz {

// Matches any method in a rule.
inline constexpr char kAnyMethod[] = "*";

// One line of the route table.
struct RouteRule {
  std::string method;       // Upper-case method, or kAnyMethod.
  std::string path_prefix;  // Normalized, starts with '/'.
  core::Scope scope;
  int line = 0;  // 1-based line in the source text, for messages.
};

// An immutable table of RouteRules. Lookup is thread-safe (const).
//
// Matching: a rule matches when its method equals the request's (or is `*`)
// and its prefix matches the request path on segment boundaries: prefix
// `/api/v1/flows` matches `/api/v1/flows`, `/api/v1/flows/f_1` but not
// `/api/v1/flowstats`; a prefix ending in `/` (such as `/`) matches every
// path below it. The longest matching prefix wins; for equal prefixes a rule
// naming the method wins over `*`.
class RouteScopeTable {
 public:
  // An empty table: Find always returns nullptr.
  RouteScopeTable() = default;

  // Parses the text format above. Returns InvalidArgument naming the first
  // bad line ("line 3: …"), also for two rules with the same method and
  // prefix.
  static absl::StatusOr<RouteScopeTable> Parse(absl::string_view text);

  // Reads and parses `path`. NotFound if the file does not exist,
  // InvalidArgument ("<path>: line 3: …") if it does not parse, Unavailable
  // if it cannot be read.
  static absl::StatusOr<RouteScopeTable> LoadFile(const std::string& path);

  // The rule for `method` on the request target `path` (which may carry a
  // query string; it is normalized with NormalizeRequestPath first), or
  // nullptr if no rule matches.
  const RouteRule* Find(absl::string_view method, absl::string_view path) const;

  // In match order: longest prefix first, a named method before `*`.
  const std::vector<RouteRule>& rules() const { return rules_; }
  bool empty() const { return rules_.empty(); }

 private:
  explicit RouteScopeTable(std::vector<RouteRule> rules) : rules_(std::move(rules)) {}

  std::vector<RouteRule> rules_;
};

// The path an upstream application resolves for the request target `target`:
// the query (`?…`) and fragment (`#…`) are dropped, percent-encoded unreserved
// characters (ALPHA, DIGIT, `-`, `.`, `_`, `~`) are decoded, repeated slashes
// are merged and `.`/`..` segments are removed (RFC 3986, section 5.2.4).
// Other escapes, such as `%2F`, are kept as they are. A target that does not
// start with `/` (e.g. `*`) is returned unchanged apart from the query.
std::string NormalizeRequestPath(absl::string_view target);

// The scope a request needs when no rule matches: `read` for GET, HEAD and
// OPTIONS, `write` for every other method.
core::Scope MethodFallbackScope(absl::string_view method);

}  // namespace keygate::envoy_authz

#endif  // KEYGATE_SERVER_ENVOY_ROUTE_SCOPES_H_
