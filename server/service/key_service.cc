#include "server/service/key_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "server/core/log.h"
#include "server/core/random.h"
#include "server/core/secret_file.h"
#include "server/core/status_macros.h"
#include "server/core/validation.h"

namespace keygate::service {
namespace {

constexpr char kPepperCheckName[] = "pepper_check";
constexpr char kPepperCheckInput[] = "keygate pepper check v1";
constexpr char kUnattributedTeam[] = "-";

bool HoldsUnrestrictedAdmin(const core::KeyRecord& key) {
  for (const core::Scope& scope : key.scopes) {
    if (scope.resource.empty() && scope.level == core::Level::kAdmin) return true;
  }
  return false;
}

// The caller a key acts as, if it may manage keys at all.
absl::StatusOr<Caller> ManagingCaller(const core::KeyRecord& key) {
  if (!key.is_operator && !HoldsUnrestrictedAdmin(key)) {
    return absl::PermissionDeniedError("credential lacks the admin scope needed to manage keys");
  }
  return Caller{key.key_id, key.team_id, key.environment, key.is_operator};
}

absl::Status NotFoundKey() { return absl::NotFoundError("no key with this key_id"); }

absl::Status CheckPageSize(int page_size) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError("page_size must be between 0 and 1000");
  }
  return absl::OkStatus();
}

size_t PageSizeOrDefault(int page_size) {
  return page_size == 0 ? kDefaultPageSize : static_cast<size_t>(page_size);
}

}  // namespace

KeyService::KeyService(core::TokenFormat format, std::unique_ptr<core::TokenHasher> hasher,
                       storage::KeyStore* store, const core::Clock* clock,
                       KeyServiceOptions options, UsageRecorder* usage)
    : format_(std::move(format)),
      hasher_(std::move(hasher)),
      store_(store),
      clock_(clock),
      options_(options),
      usage_(usage),
      throttle_(clock, options.auth_failure_burst, options.auth_failure_refill) {}

absl::Status KeyService::CheckPepper() {
  const std::string check = hasher_->Hash(kPepperCheckInput);
  absl::StatusOr<std::string> stored = store_->GetMetadata(kPepperCheckName);
  if (absl::IsNotFound(stored.status())) return store_->PutMetadata(kPepperCheckName, check);
  KEYGATE_RETURN_IF_ERROR(stored.status());
  if (*stored != check) {
    return absl::FailedPreconditionError(
        "the pepper does not match the one this store was created with; no stored key "
        "could authorize (restore the original pepper file)");
  }
  return absl::OkStatus();
}

absl::StatusOr<AuthorizeResult> KeyService::Authorize(absl::string_view token,
                                                      const core::Scope& required,
                                                      std::optional<core::Environment> environment,
                                                      absl::string_view client_address) const {
  const absl::StatusOr<core::ParsedToken> parsed = format_.Parse(token);
  if (!parsed.ok()) return AuthorizeResult{{core::Reason::kMalformedToken}, nullptr};
  unsigned char hash[core::TokenHasher::kHashBytes];
  hasher_->Hash(parsed->token, hash);
  absl::StatusOr<core::SharedKeyRecord> key =
      store_->FindByTokenHash(absl::string_view(reinterpret_cast<const char*>(hash), sizeof(hash)));
  if (absl::IsNotFound(key.status())) return AuthorizeResult{{core::Reason::kUnknownKey}, nullptr};
  KEYGATE_RETURN_IF_ERROR(key.status());
  const core::KeyRecord& record = **key;
  const absl::Time now = clock_->Now();  // The call's one clock read.
  const core::Decision decision = core::Decide(record, required, environment, now);
  if (usage_ != nullptr) usage_->Record(*key, decision.allowed(), client_address, now);
  return AuthorizeResult{decision, *std::move(key), now};
}

absl::StatusOr<core::KeyRecord> KeyService::Identify(absl::string_view authorization) const {
  if (absl::StripAsciiWhitespace(authorization).empty()) {
    return absl::UnauthenticatedError(
        "missing credential: send metadata 'authorization: Bearer <admin key>'");
  }
  const absl::StatusOr<core::ParsedToken> parsed = format_.Parse(authorization);
  if (!parsed.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("malformed credential: ", parsed.status().message()));
  }
  absl::StatusOr<core::SharedKeyRecord> key = store_->FindByTokenHash(hasher_->Hash(parsed->token));
  if (absl::IsNotFound(key.status())) return absl::UnauthenticatedError("unknown credential");
  KEYGATE_RETURN_IF_ERROR(key.status());
  switch ((*key)->StateAt(clock_->Now())) {
    case core::KeyState::kRevoked:
      return absl::UnauthenticatedError("credential is revoked");
    case core::KeyState::kExpired:
      return absl::UnauthenticatedError("credential has expired");
    case core::KeyState::kActive:
      break;
  }
  return **key;
}

absl::StatusOr<Caller> KeyService::Authenticate(absl::string_view authorization) const {
  KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord key, Identify(authorization));
  return ManagingCaller(key);
}

KeyService::ManagedCall KeyService::BeginManaged(const CallInfo& call, const char* action,
                                                 absl::string_view team,
                                                 absl::string_view target_key_id) const {
  ManagedCall managed;
  managed.start = absl::Now();
  managed.peer = call.peer;
  core::AuditEvent& event = managed.event;
  event.event_id = core::SecureRandomBase62(20);
  event.time = clock_->Now();
  event.team_id = std::string(team);
  event.action = action;
  event.target_key_id = std::string(target_key_id);
  event.peer = call.peer;
  return managed;
}

absl::StatusOr<Caller> KeyService::Admit(const CallInfo& call, core::AuditEvent& event) {
  const std::string host = PeerHost(call.peer);
  if (!throttle_.Allowed(host)) {
    return absl::ResourceExhaustedError(
        "too many failed authentications from this address; retry later");
  }
  absl::StatusOr<core::KeyRecord> identified = Identify(call.authorization);
  if (absl::IsUnauthenticated(identified.status())) throttle_.RecordFailure(host);
  // Identified callers are named in the audit trail even when refused.
  KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord key, std::move(identified));
  event.actor_key_id = key.key_id;
  event.actor_is_operator = key.is_operator;
  if (event.team_id.empty()) event.team_id = key.team_id;
  return ManagingCaller(key);
}

void KeyService::EndManaged(ManagedCall& managed, const absl::Status& status) const {
  core::AuditEvent& event = managed.event;
  if (!status.ok()) {
    event.outcome = status.code();
    event.detail = std::string(status.message().substr(0, 256));
    if (absl::Status s = store_->AppendAudit(event); !s.ok()) {
      core::Log(core::LogLevel::kError, "audit_append_failed", {{"error", s.ToString()}});
    }
  }
  const bool server_side = absl::IsInternal(status) || absl::IsDataLoss(status) ||
                           absl::IsUnavailable(status) || absl::IsResourceExhausted(status);
  core::Log(server_side ? core::LogLevel::kError : core::LogLevel::kInfo, "management_call",
            {{"method", event.action},
             {"code", absl::StatusCodeToString(status.code())},
             {"caller", event.actor_key_id},
             {"team", event.team_id},
             {"target", event.target_key_id},
             {"peer", managed.peer},
             {"duration_us", absl::ToInt64Microseconds(absl::Now() - managed.start)},
             {"error", std::string(status.message())}});
}

template <typename T, typename Body>
absl::StatusOr<T> KeyService::Manage(const CallInfo& call, const char* action,
                                     absl::string_view team, absl::string_view target_key_id,
                                     Body body) {
  ManagedCall managed = BeginManaged(call, action, team, target_key_id);
  absl::StatusOr<T> result = [&]() -> absl::StatusOr<T> {
    KEYGATE_ASSIGN_OR_RETURN(Caller caller, Admit(call, managed.event));
    return body(caller, managed.event);
  }();
  EndManaged(managed, result.status());
  return result;
}

core::KeyRecord KeyService::NewRecord(const Caller& caller, const core::ParsedToken& token) const {
  core::KeyRecord key;
  key.key_id = core::GenerateKeyId();
  key.environment = token.environment;
  key.display_prefix = core::TokenFormat::DisplayPrefix(token);
  key.token_hash = hasher_->Hash(token.token);
  key.create_time = clock_->Now();
  key.created_by = caller.key_id;
  return key;
}

absl::StatusOr<CreatedKey> KeyService::PrepareCreate(const Caller& caller, const NewKey& request,
                                                     core::AuditEvent& event) const {
  KEYGATE_RETURN_IF_ERROR(core::ValidateTeamId(request.team_id));
  KEYGATE_RETURN_IF_ERROR(core::ValidateKeyName(request.name));
  if (request.scopes.empty() || request.scopes.size() > core::kMaxScopesPerKey) {
    return absl::InvalidArgumentError("scopes must hold 1 to 32 scopes");
  }
  for (const std::string& scope : request.scopes) {
    if (scope.size() > core::kMaxScopeChars) {
      return absl::InvalidArgumentError("each scope must be at most 96 characters");
    }
  }
  KEYGATE_ASSIGN_OR_RETURN(core::ScopeList scopes, core::ParseScopes(request.scopes));
  if (!request.environment.has_value()) {
    return absl::InvalidArgumentError(
        "environment is required (ENVIRONMENT_LIVE or ENVIRONMENT_TEST)");
  }
  const absl::Time now = clock_->Now();
  absl::Time expire_time = request.expire_time;
  if (expire_time <= now) {
    return absl::InvalidArgumentError("expire_time must be in the future");
  }
  if (options_.max_key_ttl > absl::ZeroDuration()) {
    if (expire_time == absl::InfiniteFuture()) {
      expire_time = now + options_.max_key_ttl;
    } else if (expire_time > now + options_.max_key_ttl) {
      return absl::InvalidArgumentError(
          absl::StrCat("expire_time is beyond this server's maximum key lifetime of ",
                       absl::FormatDuration(options_.max_key_ttl)));
    }
  }
  if (!caller.is_operator) {
    if (caller.team_id != request.team_id) {
      return absl::PermissionDeniedError("an admin key may only create keys for its own team");
    }
    if (caller.environment != *request.environment) {
      return absl::PermissionDeniedError(
          "an admin key may only create keys in its own environment");
    }
  }

  CreatedKey created;
  created.token = format_.Generate(*request.environment);
  const absl::StatusOr<core::ParsedToken> parsed = format_.Parse(created.token);
  if (!parsed.ok()) return absl::InternalError("generated token does not parse");
  created.key = NewRecord(caller, *parsed);
  created.key.team_id = request.team_id;
  created.key.name = request.name;
  created.key.scopes = std::move(scopes);
  created.key.expire_time = expire_time;
  event.target_key_id = created.key.key_id;
  return created;
}

void KeyService::CreateKey(const CallInfo& call, const NewKey& request, CreateDone done) {
  auto managed =
      std::make_shared<ManagedCall>(BeginManaged(call, "CreateKey", request.team_id, ""));
  absl::StatusOr<CreatedKey> prepared = [&]() -> absl::StatusOr<CreatedKey> {
    KEYGATE_ASSIGN_OR_RETURN(Caller caller, Admit(call, managed->event));
    return PrepareCreate(caller, request, managed->event);
  }();
  if (!prepared.ok()) {
    EndManaged(*managed, prepared.status());
    return done(prepared.status());
  }
  auto created = std::make_shared<CreatedKey>(*std::move(prepared));
  store_->CreateAsync(created->key, &managed->event,
                      [this, managed, created, done = std::move(done)](absl::Status written) {
                        EndManaged(*managed, written);
                        if (!written.ok()) return done(written);
                        done(std::move(*created));
                      });
}

absl::StatusOr<CreatedKey> KeyService::CreateKey(const CallInfo& call, const NewKey& request) {
  absl::Notification finished;
  absl::StatusOr<CreatedKey> result;
  CreateKey(call, request, [&](absl::StatusOr<CreatedKey> created) {
    result = std::move(created);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

absl::StatusOr<core::KeyRecord> KeyService::LoadVisible(const Caller& caller,
                                                        absl::string_view key_id) const {
  KEYGATE_RETURN_IF_ERROR(core::ValidateKeyId(key_id));
  absl::StatusOr<core::KeyRecord> key = store_->Get(key_id);
  if (absl::IsNotFound(key.status())) return NotFoundKey();
  KEYGATE_RETURN_IF_ERROR(key.status());
  if (caller.is_operator) return key;
  // Another team's key (or an operator key) answers exactly like a missing
  // one, so that existence is not leaked.
  if (key->is_operator || key->team_id != caller.team_id) return NotFoundKey();
  if (key->environment != caller.environment) {
    return absl::PermissionDeniedError("an admin key may only manage keys of its own environment");
  }
  return key;
}

absl::Status KeyService::AddLastUsed(core::KeyRecord& key) const {
  KEYGATE_ASSIGN_OR_RETURN(key.last_used_time, store_->GetLastUsed(key.key_id));
  return absl::OkStatus();
}

absl::StatusOr<core::KeyRecord> KeyService::GetKey(const CallInfo& call, absl::string_view key_id) {
  return Manage<core::KeyRecord>(
      call, "GetKey", "", key_id,
      [&](const Caller& caller, core::AuditEvent&) -> absl::StatusOr<core::KeyRecord> {
        KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord key, LoadVisible(caller, key_id));
        KEYGATE_RETURN_IF_ERROR(AddLastUsed(key));
        return key;
      });
}

absl::StatusOr<storage::KeyPage> KeyService::ListKeys(const CallInfo& call,
                                                      const ListRequest& request) {
  return Manage<storage::KeyPage>(
      call, "ListKeys", request.team_id, "",
      [&](const Caller& caller, core::AuditEvent&) -> absl::StatusOr<storage::KeyPage> {
        KEYGATE_RETURN_IF_ERROR(core::ValidateTeamId(request.team_id));
        KEYGATE_RETURN_IF_ERROR(CheckPageSize(request.page_size));
        std::optional<core::Environment> environment = request.environment;
        if (!caller.is_operator) {
          if (caller.team_id != request.team_id) {
            return absl::PermissionDeniedError("an admin key may only list keys of its own team");
          }
          if (environment.has_value() && *environment != caller.environment) {
            return absl::PermissionDeniedError(
                "an admin key may only list keys of its own environment");
          }
          environment = caller.environment;
        }
        storage::ListQuery query;
        query.team_id = request.team_id;
        query.page_size = PageSizeOrDefault(request.page_size);
        query.page_token = request.page_token;
        const absl::Time now = clock_->Now();
        query.filter = [this, environment, request, now](const core::KeyRecord& key) {
          if (environment.has_value() && key.environment != *environment) return false;
          if (request.rotation_due_only) return RotationDue(key, now);
          return request.include_inactive || key.StateAt(now) == core::KeyState::kActive;
        };
        KEYGATE_ASSIGN_OR_RETURN(storage::KeyPage page, store_->List(query));
        for (core::KeyRecord& key : page.keys) KEYGATE_RETURN_IF_ERROR(AddLastUsed(key));
        return page;
      });
}

absl::StatusOr<core::KeyRecord> KeyService::RevokeKey(const CallInfo& call,
                                                      absl::string_view key_id,
                                                      absl::string_view reason) {
  return Manage<core::KeyRecord>(
      call, "RevokeKey", "", key_id,
      [&](const Caller& caller, core::AuditEvent& event) -> absl::StatusOr<core::KeyRecord> {
        KEYGATE_RETURN_IF_ERROR(core::ValidateRevokeReason(reason));
        KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord visible, LoadVisible(caller, key_id));
        event.team_id = visible.team_id;
        const absl::Time now = clock_->Now();
        return store_->Update(
            key_id,
            [&](core::KeyRecord& key) {
              if (!key.RevokedAt(now)) {
                key.revoke_time = now;
                key.revoke_reason = std::string(reason);
              }
              return absl::OkStatus();
            },
            storage::UpdateExtras{nullptr, &event});
      });
}

absl::StatusOr<RotatedKey> KeyService::RotateKey(const CallInfo& call, absl::string_view key_id,
                                                 absl::Duration grace_period) {
  return Manage<RotatedKey>(
      call, "RotateKey", "", key_id,
      [&](const Caller& caller, core::AuditEvent& event) -> absl::StatusOr<RotatedKey> {
        if (grace_period < absl::ZeroDuration() || grace_period > options_.max_grace_period) {
          return absl::InvalidArgumentError(
              absl::StrCat("grace_period must be between 0 and ",
                           absl::FormatDuration(options_.max_grace_period)));
        }
        KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord old_key, LoadVisible(caller, key_id));
        event.team_id = old_key.team_id;
        const absl::Time now = clock_->Now();
        RotatedKey rotated;
        rotated.token = format_.Generate(old_key.environment);
        const absl::StatusOr<core::ParsedToken> parsed = format_.Parse(rotated.token);
        if (!parsed.ok()) return absl::InternalError("generated token does not parse");
        core::KeyRecord& key = rotated.key;
        key = NewRecord(caller, *parsed);
        key.team_id = old_key.team_id;
        key.name = old_key.name;
        key.scopes = old_key.scopes;
        key.is_operator = old_key.is_operator;
        // Never outlives what the old key was allowed.
        key.expire_time = old_key.expire_time;
        key.rotated_from_key_id = old_key.key_id;
        event.detail = absl::StrCat("new key ", key.key_id);

        KEYGATE_ASSIGN_OR_RETURN(
            rotated.previous,
            store_->Update(
                key_id,
                [&](core::KeyRecord& old) -> absl::Status {
                  if (old.StateAt(now) != core::KeyState::kActive) {
                    return absl::FailedPreconditionError("only an active key can be rotated");
                  }
                  if (!old.rotated_to_key_id.empty()) {
                    return absl::FailedPreconditionError(
                        absl::StrCat("key was already rotated to ", old.rotated_to_key_id));
                  }
                  old.rotated_to_key_id = key.key_id;
                  old.revoke_time = now + grace_period;
                  old.revoke_reason = "rotated";
                  return absl::OkStatus();
                },
                storage::UpdateExtras{&key, &event}));
        return rotated;
      });
}

absl::StatusOr<core::KeyUsage> KeyService::GetKeyUsage(const CallInfo& call,
                                                       absl::string_view key_id, int days) {
  return Manage<core::KeyUsage>(
      call, "GetKeyUsage", "", key_id,
      [&](const Caller& caller, core::AuditEvent&) -> absl::StatusOr<core::KeyUsage> {
        if (days < 0 || days > core::kUsageRetentionDays) {
          return absl::InvalidArgumentError("days must be between 0 and 90");
        }
        if (days == 0) days = kDefaultUsageDays;
        KEYGATE_RETURN_IF_ERROR(LoadVisible(caller, key_id).status());
        const absl::CivilDay today = absl::ToCivilDay(clock_->Now(), absl::UTCTimeZone());
        const absl::CivilDay first = today - (days - 1);
        KEYGATE_ASSIGN_OR_RETURN(core::KeyUsage stored,
                                 store_->GetUsage(key_id, first, kMaxReportedClients));
        // One entry per day of the range, zero where nothing was recorded.
        core::KeyUsage usage = stored;
        usage.days.clear();
        auto it = stored.days.begin();
        for (absl::CivilDay day = first; day <= today; ++day) {
          while (it != stored.days.end() && it->day < day) ++it;
          if (it != stored.days.end() && it->day == day) {
            usage.days.push_back(*it);
          } else {
            usage.days.push_back(core::DailyUsage{day});
          }
        }
        return usage;
      });
}

absl::StatusOr<storage::AuditPage> KeyService::ListAuditEvents(const CallInfo& call,
                                                               const AuditRequest& request) {
  return Manage<storage::AuditPage>(
      call, "ListAuditEvents", request.team_id, request.key_id,
      [&](const Caller& caller, core::AuditEvent&) -> absl::StatusOr<storage::AuditPage> {
        const bool unattributed = request.team_id == kUnattributedTeam;
        if (!unattributed) KEYGATE_RETURN_IF_ERROR(core::ValidateTeamId(request.team_id));
        if (!request.key_id.empty()) KEYGATE_RETURN_IF_ERROR(core::ValidateKeyId(request.key_id));
        KEYGATE_RETURN_IF_ERROR(CheckPageSize(request.page_size));
        if (!caller.is_operator && (unattributed || caller.team_id != request.team_id)) {
          return absl::PermissionDeniedError(
              "an admin key may only read the audit trail of its own team");
        }
        // Like GetKey: another team's key is NOT_FOUND, another environment's
        // PERMISSION_DENIED. A team's whole trail covers both environments,
        // so it is for live admins (and operators) only.
        if (!request.key_id.empty()) {
          KEYGATE_RETURN_IF_ERROR(LoadVisible(caller, request.key_id).status());
        } else if (!caller.is_operator && caller.environment != core::Environment::kLive) {
          return absl::PermissionDeniedError(
              "a test-environment admin may only read the audit trail of one of its "
              "environment's keys (set key_id)");
        }
        storage::AuditQuery query;
        query.team_id = unattributed ? "" : request.team_id;
        query.key_id = request.key_id;
        query.page_size = PageSizeOrDefault(request.page_size);
        query.page_token = request.page_token;
        return store_->ListAudit(query);
      });
}

absl::Status KeyService::RefuseInput(const CallInfo& call, const char* action,
                                     absl::Status input_error) {
  return Manage<bool>(
             call, action, "", "",
             [&](const Caller&, core::AuditEvent&) -> absl::StatusOr<bool> { return input_error; })
      .status();
}

absl::StatusOr<storage::BackupInfo> KeyService::CreateBackup(const CallInfo& call) {
  return Manage<storage::BackupInfo>(
      call, "CreateBackup", "", "",
      [&](const Caller& caller, core::AuditEvent& event) -> absl::StatusOr<storage::BackupInfo> {
        if (!caller.is_operator) {
          return absl::PermissionDeniedError("only operator keys may take backups");
        }
        if (options_.backup_dir.empty()) {
          return absl::FailedPreconditionError("this server has no --backup_dir");
        }
        KEYGATE_ASSIGN_OR_RETURN(storage::BackupInfo backup,
                                 store_->CreateBackup(options_.backup_dir));
        event.detail = absl::StrCat("backup ", backup.backup_id, " in ", options_.backup_dir);
        if (absl::Status s = store_->AppendAudit(event); !s.ok()) {
          core::Log(core::LogLevel::kError, "audit_append_failed", {{"error", s.ToString()}});
        }
        return backup;
      });
}

bool KeyService::RotationDue(const core::KeyRecord& key, absl::Time now) const {
  return key.StateAt(now) == core::KeyState::kActive && key.rotated_to_key_id.empty() &&
         now - key.create_time >= options_.rotation_period;
}

absl::StatusOr<KeyService::BootstrapResult> KeyService::EnsureOperatorKey(const std::string& path) {
  BootstrapResult result;
  absl::StatusOr<std::string> content = core::ReadSecretFile(path);
  if (absl::IsNotFound(content.status())) {
    const std::string token = format_.Generate(core::Environment::kLive);
    KEYGATE_RETURN_IF_ERROR(core::WriteNewSecretFile(path, absl::StrCat(token, "\n")));
    result.generated_file = true;
    content = token;
  }
  KEYGATE_RETURN_IF_ERROR(content.status());
  const absl::StatusOr<core::ParsedToken> parsed = format_.Parse(*content);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bootstrap key file ", path,
                                                   " does not hold a valid '", format_.prefix(),
                                                   "_' token: ", parsed.status().message()));
  }
  const std::string hash = hasher_->Hash(parsed->token);
  absl::StatusOr<core::SharedKeyRecord> existing = store_->FindByTokenHash(hash);
  if (existing.ok()) {
    if (!(*existing)->is_operator) {
      return absl::FailedPreconditionError(absl::StrCat(
          "bootstrap key file ", path, " holds the token of a team key, not an operator key"));
    }
    result.key = **existing;
    return result;
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();

  core::KeyRecord& key = result.key;
  Caller bootstrap;
  bootstrap.key_id = core::kCreatedByBootstrap;
  key = NewRecord(bootstrap, *parsed);
  key.name = "operator (bootstrap)";
  key.scopes = {core::Scope{"", core::Level::kAdmin}};
  key.is_operator = true;
  core::AuditEvent event;
  event.event_id = core::SecureRandomBase62(20);
  event.time = key.create_time;
  event.actor_key_id = core::kCreatedByBootstrap;
  event.actor_is_operator = true;
  event.action = "BootstrapOperatorKey";
  event.target_key_id = key.key_id;
  event.detail = absl::StrCat("from ", path);
  KEYGATE_RETURN_IF_ERROR(store_->Create(key, &event));
  result.registered = true;
  return result;
}

}  // namespace keygate::service
