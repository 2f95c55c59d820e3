#include "server/service/key_service.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/core/secret_file.h"
#include "server/core/status_macros.h"
#include "server/core/validation.h"

namespace keygate::service {
namespace {

constexpr char kPepperCheckName[] = "pepper_check";
constexpr char kPepperCheckInput[] = "keygate pepper check v1";

bool HoldsUnrestrictedAdmin(const core::KeyRecord& key) {
  for (const core::Scope& scope : key.scopes) {
    if (scope.resource.empty() && scope.level == core::Level::kAdmin) return true;
  }
  return false;
}

absl::Status NotFoundKey() { return absl::NotFoundError("no key with this key_id"); }

}  // namespace

KeyService::KeyService(core::TokenFormat format, std::unique_ptr<core::TokenHasher> hasher,
                       storage::KeyStore* store, core::Clock* clock)
    : format_(std::move(format)), hasher_(std::move(hasher)), store_(store), clock_(clock) {}

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

absl::StatusOr<AuthorizeResult> KeyService::Authorize(
    absl::string_view token, const core::Scope& required,
    std::optional<core::Environment> environment) const {
  const absl::StatusOr<core::ParsedToken> parsed = format_.Parse(token);
  if (!parsed.ok()) return AuthorizeResult{{core::Reason::kMalformedToken}, std::nullopt};
  absl::StatusOr<core::KeyRecord> key = store_->FindByTokenHash(hasher_->Hash(parsed->token));
  if (absl::IsNotFound(key.status())) {
    return AuthorizeResult{{core::Reason::kUnknownKey}, std::nullopt};
  }
  KEYGATE_RETURN_IF_ERROR(key.status());
  const core::Decision decision = core::Decide(*key, required, environment, clock_->Now());
  return AuthorizeResult{decision, *std::move(key)};
}

absl::StatusOr<Caller> KeyService::Authenticate(absl::string_view authorization) const {
  if (absl::StripAsciiWhitespace(authorization).empty()) {
    return absl::UnauthenticatedError(
        "missing credential: send metadata 'authorization: Bearer <admin key>'");
  }
  const absl::StatusOr<core::ParsedToken> parsed = format_.Parse(authorization);
  if (!parsed.ok()) {
    return absl::UnauthenticatedError(absl::StrCat("malformed credential: ", parsed.status().message()));
  }
  absl::StatusOr<core::KeyRecord> key = store_->FindByTokenHash(hasher_->Hash(parsed->token));
  if (absl::IsNotFound(key.status())) return absl::UnauthenticatedError("unknown credential");
  KEYGATE_RETURN_IF_ERROR(key.status());
  switch (key->StateAt(clock_->Now())) {
    case core::KeyState::kRevoked:
      return absl::UnauthenticatedError("credential is revoked");
    case core::KeyState::kExpired:
      return absl::UnauthenticatedError("credential has expired");
    case core::KeyState::kActive:
      break;
  }
  if (!key->is_operator && !HoldsUnrestrictedAdmin(*key)) {
    return absl::PermissionDeniedError(
        "credential lacks the admin scope needed to manage keys");
  }
  return Caller{key->key_id, key->team_id, key->environment, key->is_operator};
}

absl::StatusOr<CreatedKey> KeyService::CreateKey(const Caller& caller, const NewKey& request) {
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
  KEYGATE_ASSIGN_OR_RETURN(std::vector<core::Scope> scopes, core::ParseScopes(request.scopes));
  if (!request.environment.has_value()) {
    return absl::InvalidArgumentError(
        "environment is required (ENVIRONMENT_LIVE or ENVIRONMENT_TEST)");
  }
  const absl::Time now = clock_->Now();
  if (request.expire_time <= now) {
    return absl::InvalidArgumentError("expire_time must be in the future");
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
  core::KeyRecord& key = created.key;
  key.key_id = core::GenerateKeyId();
  key.team_id = request.team_id;
  key.name = request.name;
  key.scopes = std::move(scopes);
  key.environment = *request.environment;
  key.display_prefix = core::TokenFormat::DisplayPrefix(*parsed);
  key.token_hash = hasher_->Hash(parsed->token);
  key.create_time = now;
  key.expire_time = request.expire_time;
  key.created_by = caller.key_id;
  KEYGATE_RETURN_IF_ERROR(store_->Create(key));
  return created;
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
    return absl::PermissionDeniedError(
        "an admin key may only manage keys of its own environment");
  }
  return key;
}

absl::StatusOr<core::KeyRecord> KeyService::GetKey(const Caller& caller,
                                                   absl::string_view key_id) const {
  return LoadVisible(caller, key_id);
}

absl::StatusOr<storage::KeyPage> KeyService::ListKeys(const Caller& caller,
                                                      const ListRequest& request) const {
  KEYGATE_RETURN_IF_ERROR(core::ValidateTeamId(request.team_id));
  if (request.page_size < 0 || request.page_size > kMaxPageSize) {
    return absl::InvalidArgumentError("page_size must be between 0 and 1000");
  }
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
  query.page_size = request.page_size == 0 ? kDefaultPageSize : request.page_size;
  query.page_token = request.page_token;
  const absl::Time now = clock_->Now();
  const bool include_inactive = request.include_inactive;
  query.filter = [environment, include_inactive, now](const core::KeyRecord& key) {
    if (environment.has_value() && key.environment != *environment) return false;
    return include_inactive || key.StateAt(now) == core::KeyState::kActive;
  };
  return store_->List(query);
}

absl::StatusOr<core::KeyRecord> KeyService::RevokeKey(const Caller& caller,
                                                      absl::string_view key_id,
                                                      absl::string_view reason) {
  KEYGATE_RETURN_IF_ERROR(core::ValidateRevokeReason(reason));
  KEYGATE_RETURN_IF_ERROR(LoadVisible(caller, key_id).status());
  const absl::Time now = clock_->Now();
  return store_->Update(key_id, [&](core::KeyRecord& key) {
    if (!key.RevokedAt(now)) {
      key.revoke_time = now;
      key.revoke_reason = std::string(reason);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyService::BootstrapResult> KeyService::EnsureOperatorKey(
    const std::string& path) {
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
    return absl::InvalidArgumentError(absl::StrCat(
        "bootstrap key file ", path, " does not hold a valid '", format_.prefix(),
        "_' token: ", parsed.status().message()));
  }
  const std::string hash = hasher_->Hash(parsed->token);
  absl::StatusOr<core::KeyRecord> existing = store_->FindByTokenHash(hash);
  if (existing.ok()) {
    if (!existing->is_operator) {
      return absl::FailedPreconditionError(absl::StrCat(
          "bootstrap key file ", path, " holds the token of a team key, not an operator key"));
    }
    result.key = *std::move(existing);
    return result;
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();

  core::KeyRecord& key = result.key;
  key.key_id = core::GenerateKeyId();
  key.name = "operator (bootstrap)";
  key.scopes = {core::Scope{"", core::Level::kAdmin}};
  key.environment = parsed->environment;
  key.display_prefix = core::TokenFormat::DisplayPrefix(*parsed);
  key.token_hash = hash;
  key.create_time = clock_->Now();
  key.created_by = core::kCreatedByBootstrap;
  key.is_operator = true;
  KEYGATE_RETURN_IF_ERROR(store_->Create(key));
  result.registered = true;
  return result;
}

}  // namespace keygate::service
