#include "server/core/scope.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace keygate::core {
namespace {

bool ParseLevel(absl::string_view text, Level* level) {
  if (text == "read") {
    *level = Level::kRead;
  } else if (text == "write") {
    *level = Level::kWrite;
  } else if (text == "admin") {
    *level = Level::kAdmin;
  } else {
    return false;
  }
  return true;
}

bool IsResourceChar(char c) {
  return absl::ascii_islower(static_cast<unsigned char>(c)) ||
         absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

bool IsValidResource(absl::string_view resource) {
  if (resource.empty() || resource.size() > kMaxResourceChars) return false;
  if (resource[0] == '_' || resource[0] == '-') return false;
  return std::all_of(resource.begin(), resource.end(), IsResourceChar);
}

}  // namespace

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kRead:
      return "read";
    case Level::kWrite:
      return "write";
    case Level::kAdmin:
      return "admin";
  }
  return "read";
}

std::string Scope::ToString() const {
  if (resource.empty()) return std::string(LevelName(level));
  return absl::StrCat(resource, ":", LevelName(level));
}

absl::StatusOr<Scope> ParseScope(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("scope is empty");
  Scope scope;
  const size_t colon = text.find(':');
  absl::string_view level_text = text;
  if (colon != absl::string_view::npos) {
    const absl::string_view resource = text.substr(0, colon);
    if (!IsValidResource(resource)) {
      return absl::InvalidArgumentError(
          "scope resource must be 1-64 characters of a-z, 0-9, '-', '_' "
          "(e.g. flows:read)");
    }
    scope.resource = std::string(resource);
    level_text = text.substr(colon + 1);
  }
  if (!ParseLevel(level_text, &scope.level)) {
    return absl::InvalidArgumentError(
        "scope level must be read, write or admin (e.g. read, flows:write)");
  }
  return scope;
}

bool Satisfies(const Scope& granted, const Scope& required) {
  return (granted.resource.empty() || granted.resource == required.resource) &&
         granted.level >= required.level;
}

bool AnySatisfies(absl::Span<const Scope> granted, const Scope& required) {
  return std::any_of(granted.begin(), granted.end(),
                     [&](const Scope& g) { return Satisfies(g, required); });
}

absl::StatusOr<ScopeList> ParseScopes(absl::Span<const std::string> texts) {
  ScopeList scopes;
  scopes.reserve(texts.size());
  for (const std::string& text : texts) {
    absl::StatusOr<Scope> scope = ParseScope(text);
    if (!scope.ok()) return scope.status();
    if (std::find(scopes.begin(), scopes.end(), *scope) == scopes.end()) {
      scopes.push_back(*std::move(scope));
    }
  }
  return scopes;
}

}  // namespace keygate::core
