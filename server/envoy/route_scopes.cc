#include "server/envoy/route_scopes.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace keygate::envoy_authz {
namespace {

// Route files are small; anything larger is a mistake (a wrong path).
constexpr size_t kMaxRouteFileBytes = 1 << 20;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Decodes %XX escapes of unreserved characters; keeps every other escape.
std::string DecodeUnreserved(absl::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      const int hi = HexValue(path[i + 1]);
      const int lo = HexValue(path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        const char decoded = static_cast<char>(hi * 16 + lo);
        if (IsUnreserved(decoded)) {
          out.push_back(decoded);
          i += 2;
          continue;
        }
      }
    }
    out.push_back(path[i]);
  }
  return out;
}

// Whether `prefix` matches `path` on a segment boundary (see RouteScopeTable).
bool PrefixMatches(absl::string_view prefix, absl::string_view path) {
  if (!absl::StartsWith(path, prefix)) return false;
  if (path.size() == prefix.size()) return true;
  return prefix.back() == '/' || path[prefix.size()] == '/';
}

bool IsMethodChar(char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

absl::Status ValidateMethod(absl::string_view method) {
  if (method == kAnyMethod) return absl::OkStatus();
  if (!std::all_of(method.begin(), method.end(), IsMethodChar)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "method must be an upper-case HTTP method (GET, POST, ...) or *, got \"", method, "\""));
  }
  return absl::OkStatus();
}

absl::Status ValidatePrefix(absl::string_view prefix) {
  if (prefix.empty() || prefix[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("path prefix must start with '/', got \"", prefix, "\""));
  }
  for (char c : prefix) {
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') {
      return absl::InvalidArgumentError(absl::StrCat(
          "path prefix must be a path without query, fragment or control characters, got \"",
          prefix, "\""));
    }
  }
  const std::string normalized = NormalizeRequestPath(prefix);
  if (normalized != prefix) {
    return absl::InvalidArgumentError(
        absl::StrCat("path prefix \"", prefix, "\" is not normalized; write \"", normalized, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<RouteRule> ParseLine(absl::string_view line, int line_number) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t\r\f\v"), absl::SkipEmpty());
  if (fields.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat("expected `METHOD PATH_PREFIX SCOPE`, got ",
                                                   fields.size(), " field",
                                                   fields.size() == 1 ? "" : "s"));
  }
  if (absl::Status status = ValidateMethod(fields[0]); !status.ok()) return status;
  if (absl::Status status = ValidatePrefix(fields[1]); !status.ok()) return status;
  absl::StatusOr<core::Scope> scope = core::ParseScope(fields[2]);
  if (!scope.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("scope \"", fields[2], "\": ", scope.status().message()));
  }
  return RouteRule{std::string(fields[0]), std::string(fields[1]), *std::move(scope), line_number};
}

}  // namespace

absl::StatusOr<RouteScopeTable> RouteScopeTable::Parse(absl::string_view text) {
  std::vector<RouteRule> rules;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = line.substr(0, line.find('#'));
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<RouteRule> rule = ParseLine(line, line_number);
    if (!rule.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": ", rule.status().message()));
    }
    for (const RouteRule& earlier : rules) {
      if (earlier.method == rule->method && earlier.path_prefix == rule->path_prefix) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_number, ": duplicate rule for ", rule->method, " ",
                         rule->path_prefix, " (first on line ", earlier.line, ")"));
      }
    }
    rules.push_back(*std::move(rule));
  }
  // Match order: longest prefix first; for equal prefixes a named method
  // before `*`. Stable, so ties keep file order (they cannot both match).
  std::stable_sort(rules.begin(), rules.end(), [](const RouteRule& a, const RouteRule& b) {
    if (a.path_prefix.size() != b.path_prefix.size()) {
      return a.path_prefix.size() > b.path_prefix.size();
    }
    return a.method != kAnyMethod && b.method == kAnyMethod;
  });
  return RouteScopeTable(std::move(rules));
}

absl::StatusOr<RouteScopeTable> RouteScopeTable::LoadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) {
      return absl::NotFoundError(absl::StrCat("route scopes file ", path, " does not exist"));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot open route scopes file ", path, ": ", std::strerror(error)));
  }
  std::string text;
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return absl::UnavailableError(
          absl::StrCat("cannot read route scopes file ", path, ": ", std::strerror(error)));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxRouteFileBytes) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": route scopes file is larger than 1 MiB"));
    }
  }
  ::close(fd);
  absl::StatusOr<RouteScopeTable> table = Parse(text);
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", table.status().message()));
  }
  return table;
}

const RouteRule* RouteScopeTable::Find(absl::string_view method, absl::string_view path) const {
  if (rules_.empty()) return nullptr;
  const std::string normalized = NormalizeRequestPath(path);
  for (const RouteRule& rule : rules_) {
    if ((rule.method == kAnyMethod || rule.method == method) &&
        PrefixMatches(rule.path_prefix, normalized)) {
      return &rule;
    }
  }
  return nullptr;
}

std::string NormalizeRequestPath(absl::string_view target) {
  const std::string decoded = DecodeUnreserved(target.substr(0, target.find_first_of("?#")));
  if (decoded.empty() || decoded[0] != '/') return decoded;
  std::vector<absl::string_view> segments;
  bool trailing_slash = false;
  for (absl::string_view segment : absl::StrSplit(absl::string_view(decoded).substr(1), '/')) {
    trailing_slash = true;
    if (segment.empty() || segment == ".") continue;  // `//` merged, `.` dropped.
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(segment);
    trailing_slash = false;
  }
  std::string normalized = absl::StrCat("/", absl::StrJoin(segments, "/"));
  if (trailing_slash && !segments.empty()) normalized.push_back('/');
  return normalized;
}

core::Scope MethodFallbackScope(absl::string_view method) {
  core::Scope scope;
  scope.level = (method == "GET" || method == "HEAD" || method == "OPTIONS") ? core::Level::kRead
                                                                             : core::Level::kWrite;
  return scope;
}

}  // namespace keygate::envoy_authz
