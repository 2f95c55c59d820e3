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

namespace {

// Rows (the first is the header) as left-aligned columns.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
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

}  // namespace

std::string FormatKeyTable(const std::vector<keygate::v1::Key>& keys) {
  std::vector<std::vector<std::string>> rows = {
      {"KEY ID", "NAME", "ENV", "SCOPES", "STATE", "PREFIX", "CREATED", "LAST USED"}};
  for (const keygate::v1::Key& key : keys) {
    std::string state = StateLabel(key.state());
    if (key.rotation_due()) state += " (rotate)";
    rows.push_back({key.key_id(), key.name(), EnvironmentLabel(key.environment()),
                    absl::StrJoin(key.scopes(), ","), state, key.display_prefix(),
                    FormatTimestamp(key.create_time()), FormatTimestamp(key.last_used_time())});
  }
  return FormatTable(rows);
}

std::string FormatUsage(const keygate::v1::KeyUsage& usage) {
  std::string out = absl::StrCat("key:        ", usage.key_id(),
                                 "\nlast used:  ", FormatTimestamp(usage.last_used_time()),
                                 "\nallowed:    ", usage.total_allowed(),
                                 "\ndenied:     ", usage.total_denied(), "  (over ",
                                 usage.days_size(), " days)\n\n");
  std::vector<std::vector<std::string>> days = {{"DATE", "ALLOWED", "DENIED"}};
  for (const keygate::v1::DailyUsage& day : usage.days()) {
    if (day.allowed() == 0 && day.denied() == 0) continue;
    days.push_back({day.date(), absl::StrCat(day.allowed()), absl::StrCat(day.denied())});
  }
  absl::StrAppend(&out, days.size() > 1 ? FormatTable(days) : "No calls in this period.\n");
  if (usage.client_addresses_size() > 0) {
    std::vector<std::vector<std::string>> clients = {{"CLIENT ADDRESS", "LAST SEEN"}};
    for (const keygate::v1::ClientAddress& c : usage.client_addresses()) {
      clients.push_back({c.address(), FormatTimestamp(c.last_seen_time())});
    }
    absl::StrAppend(&out, "\n", FormatTable(clients));
  }
  return out;
}

std::string FormatAuditTable(const std::vector<keygate::v1::AuditEvent>& events) {
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "ACTION", "OUTCOME", "ACTOR", "TARGET", "PEER", "DETAIL"}};
  for (const keygate::v1::AuditEvent& e : events) {
    std::string actor = e.actor_key_id().empty() ? "-" : e.actor_key_id();
    if (e.actor_is_operator()) actor += " (operator)";
    rows.push_back({FormatTimestamp(e.time()), e.action(), e.outcome(), actor,
                    e.target_key_id().empty() ? "-" : e.target_key_id(), e.peer(), e.detail()});
  }
  return FormatTable(rows);
}

}  // namespace keygate::cli
