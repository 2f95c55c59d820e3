#include "client/cli/output.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace keygate::cli {
namespace {

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

}  // namespace

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "{}\n";
  return json;
}

std::string EnvironmentLabel(keygate::v1::Environment env) {
  switch (env) {
    case keygate::v1::ENVIRONMENT_LIVE:
      return "live";
    case keygate::v1::ENVIRONMENT_TEST:
      return "test";
    default:
      return "-";
  }
}

std::string StateLabel(keygate::v1::Key::State state) {
  switch (state) {
    case keygate::v1::Key::STATE_ACTIVE:
      return "active";
    case keygate::v1::Key::STATE_REVOKED:
      return "revoked";
    case keygate::v1::Key::STATE_EXPIRED:
      return "expired";
    default:
      return "-";
  }
}

std::string FormatKeyDetails(const keygate::v1::Key& key) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"key_id", key.key_id()},
      {"team_id", key.team_id().empty() ? "- (operator)" : key.team_id()},
      {"name", key.name()},
      {"scopes", absl::StrJoin(key.scopes(), " ")},
      {"environment", EnvironmentLabel(key.environment())},
      {"state", StateLabel(key.state())},
      {"prefix", key.display_prefix()},
      {"created", FormatTimestamp(key.create_time())},
      {"created_by", key.created_by()},
      {"expires", key.has_expire_time() ? FormatTimestamp(key.expire_time()) : "never"},
  };
  if (key.has_revoke_time()) {
    rows.emplace_back("revoked", FormatTimestamp(key.revoke_time()));
    if (!key.revoke_reason().empty()) rows.emplace_back("revoke_reason", key.revoke_reason());
  }
  if (key.has_last_used_time()) rows.emplace_back("last_used", FormatTimestamp(key.last_used_time()));
  std::string out;
  for (const auto& [field, value] : rows) absl::StrAppend(&out, "  ", field, ":",
                                                         std::string(14 - field.size(), ' '),
                                                         value, "\n");
  return out;
}

std::string FormatKeyTable(const std::vector<keygate::v1::Key>& keys) {
  std::vector<std::vector<std::string>> rows = {
      {"KEY ID", "NAME", "ENV", "SCOPES", "STATE", "PREFIX", "CREATED"}};
  for (const keygate::v1::Key& key : keys) {
    rows.push_back({key.key_id(), key.name(), EnvironmentLabel(key.environment()),
                    absl::StrJoin(key.scopes(), ","), StateLabel(key.state()),
                    key.display_prefix(), FormatTimestamp(key.create_time())});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&out, row[i]);
      if (i + 1 < row.size()) absl::StrAppend(&out, std::string(widths[i] - row[i].size() + 2, ' '));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace keygate::cli
