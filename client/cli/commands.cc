#include "client/cli/commands.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/cli/output.h"
#include "server/core/duration.h"

namespace keygate::cli {
namespace {

// Prints a failed call as one line and returns kExitError.
int FailCall(const absl::Status& status) {
  return Fail(kExitError, absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                                       status.message()));
}

// Parses --env (live|test); unset -> ENVIRONMENT_UNSPECIFIED.
bool ParseEnv(const Args& args, keygate::v1::Environment* env) {
  const std::string text = args.Value("env");
  if (text.empty()) {
    *env = keygate::v1::ENVIRONMENT_UNSPECIFIED;
  } else if (text == "live") {
    *env = keygate::v1::ENVIRONMENT_LIVE;
  } else if (text == "test") {
    *env = keygate::v1::ENVIRONMENT_TEST;
  } else {
    return false;
  }
  return true;
}

// The single positional argument after the command words, e.g. the ID of
// `keys get ID`.
bool OnePositional(const Args& args, size_t command_words, std::string* out) {
  if (args.positional.size() != command_words + 1) return false;
  *out = args.positional.back();
  return true;
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

}  // namespace

int Fail(int code, absl::string_view message) {
  std::cerr << "keygate: " << message << "\n";
  return code;
}

int KeysCreate(const CommandContext& ctx, const Args& args) {
  keygate::v1::CreateKeyRequest request;
  request.set_team_id(args.Value("team"));
  request.set_name(args.Value("name"));
  if (request.team_id().empty() || request.name().empty() || args.values.count("scope") == 0) {
    return Fail(kExitUsage, "keys create needs --team, --name and at least one --scope");
  }
  for (const std::string& scope : args.values.at("scope")) request.add_scopes(scope);
  keygate::v1::Environment env;
  if (!ParseEnv(args, &env)) return Fail(kExitUsage, "--env must be live or test");
  request.set_environment(env == keygate::v1::ENVIRONMENT_UNSPECIFIED
                              ? keygate::v1::ENVIRONMENT_LIVE
                              : env);
  if (args.Has("expires")) {
    absl::StatusOr<absl::Time> expiry = ParseExpiry(args.Value("expires"), absl::Now());
    if (!expiry.ok()) return Fail(kExitUsage, expiry.status().message());
    SetTimestamp(*expiry, request.mutable_expire_time());
  }
  absl::StatusOr<keygate::v1::CreateKeyResponse> response = ctx.client.CreateKey(request);
  if (!response.ok()) return FailCall(response.status());
  if (ctx.json) {
    std::cout << ToJson(*response);
  } else {
    std::cout << "Created key " << response->key().key_id()
              << ". Copy the token now: it is shown only once.\n\n  token:         "
              << response->token() << "\n"
              << FormatKeyDetails(response->key());
  }
  return kExitOk;
}

int KeysList(const CommandContext& ctx, const Args& args) {
  keygate::v1::ListKeysRequest request;
  request.set_team_id(args.Value("team"));
  if (request.team_id().empty()) return Fail(kExitUsage, "keys list needs --team");
  request.set_include_revoked(args.Has("all"));
  keygate::v1::Environment env;
  if (!ParseEnv(args, &env)) return Fail(kExitUsage, "--env must be live or test");
  request.set_environment(env);
  int page_size = 100;
  if (args.Has("page-size") && !absl::SimpleAtoi(args.Value("page-size"), &page_size)) {
    return Fail(kExitUsage, "--page-size must be a number");
  }
  request.set_page_size(page_size);
  request.set_rotation_due_only(args.Has("stale"));

  // Follows next_page_token to list every key.
  keygate::v1::ListKeysResponse all;
  do {
    absl::StatusOr<keygate::v1::ListKeysResponse> page = ctx.client.ListKeys(request);
    if (!page.ok()) return FailCall(page.status());
    for (keygate::v1::Key& key : *page->mutable_keys()) *all.add_keys() = std::move(key);
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());

  if (ctx.json) {
    std::cout << ToJson(all);
  } else if (all.keys().empty()) {
    std::cout << "No keys" << (request.include_revoked() ? "" : " (use --all to include revoked and expired)")
              << ".\n";
  } else {
    std::cout << FormatKeyTable({all.keys().begin(), all.keys().end()});
  }
  return kExitOk;
}

int KeysGet(const CommandContext& ctx, const Args& args) {
  keygate::v1::GetKeyRequest request;
  std::string id;
  if (!OnePositional(args, 2, &id)) return Fail(kExitUsage, "usage: keygate keys get KEY_ID");
  request.set_key_id(id);
  absl::StatusOr<keygate::v1::Key> key = ctx.client.GetKey(request);
  if (!key.ok()) return FailCall(key.status());
  std::cout << (ctx.json ? ToJson(*key) : FormatKeyDetails(*key));
  return kExitOk;
}

int KeysRevoke(const CommandContext& ctx, const Args& args) {
  keygate::v1::RevokeKeyRequest request;
  std::string id;
  if (!OnePositional(args, 2, &id)) {
    return Fail(kExitUsage, "usage: keygate keys revoke KEY_ID [--reason TEXT]");
  }
  request.set_key_id(id);
  request.set_reason(args.Value("reason"));
  absl::StatusOr<keygate::v1::Key> key = ctx.client.RevokeKey(request);
  if (!key.ok()) return FailCall(key.status());
  if (ctx.json) {
    std::cout << ToJson(*key);
  } else {
    std::cout << "Revoked key " << key->key_id() << ": every request with it now gets 401.\n"
              << FormatKeyDetails(*key);
  }
  return kExitOk;
}

int KeysRotate(const CommandContext& ctx, const Args& args) {
  keygate::v1::RotateKeyRequest request;
  std::string id;
  if (!OnePositional(args, 2, &id)) {
    return Fail(kExitUsage, "usage: keygate keys rotate KEY_ID [--grace 24h]");
  }
  request.set_key_id(id);
  if (args.Has("grace")) {
    absl::StatusOr<absl::Duration> grace = core::ParseHumanDuration(args.Value("grace"));
    if (!grace.ok()) return Fail(kExitUsage, grace.status().message());
    request.mutable_grace_period()->set_seconds(absl::ToInt64Seconds(*grace));
  }
  absl::StatusOr<keygate::v1::RotateKeyResponse> response = ctx.client.RotateKey(request);
  if (!response.ok()) return FailCall(response.status());
  if (ctx.json) {
    std::cout << ToJson(*response);
    return kExitOk;
  }
  const keygate::v1::Key& old_key = response->previous_key();
  std::cout << "Rotated " << old_key.key_id() << " -> " << response->key().key_id()
            << ". Copy the new token now: it is shown only once.\n\n  token:         "
            << response->token() << "\n"
            << FormatKeyDetails(response->key()) << "\nThe old key "
            << (old_key.state() == keygate::v1::Key::STATE_ACTIVE ? "keeps working until "
                                                                   : "stopped working at ")
            << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                absl::FromUnixSeconds(old_key.revoke_time().seconds()),
                                absl::UTCTimeZone())
            << ".\n";
  return kExitOk;
}

int KeysUsage(const CommandContext& ctx, const Args& args) {
  keygate::v1::GetKeyUsageRequest request;
  std::string id;
  if (!OnePositional(args, 2, &id)) {
    return Fail(kExitUsage, "usage: keygate keys usage KEY_ID [--days N]");
  }
  request.set_key_id(id);
  int days = 0;
  if (args.Has("days") && !absl::SimpleAtoi(args.Value("days"), &days)) {
    return Fail(kExitUsage, "--days must be a number (1-90)");
  }
  request.set_days(days);
  absl::StatusOr<keygate::v1::KeyUsage> usage = ctx.client.GetKeyUsage(request);
  if (!usage.ok()) return FailCall(usage.status());
  std::cout << (ctx.json ? ToJson(*usage) : FormatUsage(*usage));
  return kExitOk;
}

int Audit(const CommandContext& ctx, const Args& args) {
  keygate::v1::ListAuditEventsRequest request;
  request.set_team_id(args.Value("team"));
  request.set_key_id(args.Value("key"));
  if (request.team_id().empty()) return Fail(kExitUsage, "audit needs --team");
  int limit = 100;
  if (args.Has("limit") && (!absl::SimpleAtoi(args.Value("limit"), &limit) || limit < 1)) {
    return Fail(kExitUsage, "--limit must be a positive number");
  }
  // Newest first, following pages until `limit` events.
  keygate::v1::ListAuditEventsResponse all;
  do {
    request.set_page_size(std::min(limit - all.events_size(), 1000));
    absl::StatusOr<keygate::v1::ListAuditEventsResponse> page = ctx.client.ListAuditEvents(request);
    if (!page.ok()) return FailCall(page.status());
    for (auto& event : *page->mutable_events()) *all.add_events() = std::move(event);
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty() && all.events_size() < limit);
  if (ctx.json) {
    std::cout << ToJson(all);
  } else if (all.events().empty()) {
    std::cout << "No audit events.\n";
  } else {
    std::cout << FormatAuditTable({all.events().begin(), all.events().end()});
  }
  return kExitOk;
}

int AdminBackup(const CommandContext& ctx, const Args& args) {
  absl::StatusOr<keygate::v1::Backup> backup = ctx.client.CreateBackup({});
  if (!backup.ok()) return FailCall(backup.status());
  if (ctx.json) {
    std::cout << ToJson(*backup);
  } else {
    std::cout << "Backup " << backup->backup_id() << " taken in " << backup->backup_dir() << " ("
              << backup->file_count() << " files, " << backup->size_bytes() << " bytes).\n"
              << "Restore: keygate-server --restore_backup=" << backup->backup_id()
              << " --backup_dir=" << backup->backup_dir() << " --data_dir=<new dir>\n";
  }
  return kExitOk;
}

int Authorize(const CommandContext& ctx, const Args& args) {
  keygate::v1::AuthorizeRequest request;
  std::string token;
  if (!OnePositional(args, 1, &token) || !args.Has("scope")) {
    return Fail(kExitUsage, "usage: keygate authorize TOKEN|- --scope SCOPE [--env live|test]");
  }
  if (token == "-") {  // Read from stdin, keeping the token out of `ps`.
    std::getline(std::cin, token);
    token = std::string(absl::StripAsciiWhitespace(token));
  }
  request.set_token(token);
  request.set_required_scope(args.Value("scope"));
  keygate::v1::Environment env;
  if (!ParseEnv(args, &env)) return Fail(kExitUsage, "--env must be live or test");
  request.set_environment(env);
  request.set_client_ip(args.Value("client-ip"));
  absl::StatusOr<keygate::v1::AuthorizeResponse> response = ctx.client.Authorize(request);
  if (!response.ok()) return FailCall(response.status());
  if (ctx.json) {
    std::cout << ToJson(*response);
  } else if (response->allowed()) {
    std::cout << "allowed (" << response->http_status() << ")  key " << response->key().key_id()
              << "  team " << response->key().team_id() << "\n";
  }
  if (!response->allowed()) {
    return Fail(kExitDenied, absl::StrCat("denied: ", keygate::v1::Reason_Name(response->reason()),
                                          " (", response->http_status(), ")"));
  }
  return kExitOk;
}

}  // namespace keygate::cli
