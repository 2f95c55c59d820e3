#include "server/grpc/key_manager_service.h"

#include <string>
#include <utility>

#include "server/core/status_macros.h"
#include "server/grpc/proto_convert.h"
#include "server/grpc/status_convert.h"

namespace keygate::grpc_api {
namespace {

std::string AuthorizationOf(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("authorization");
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

grpc::ServerUnaryReactor* KeyManagerService::Run(grpc::CallbackServerContext* context,
                                                 const char* method, Handler handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service::CallInfo call{AuthorizationOf(*context), context->peer()};
  pool_->Submit([this, reactor, method, handler = std::move(handler), call = std::move(call)] {
    Finish(reactor, method, handler(call));
  });
  return reactor;
}

void KeyManagerService::Finish(grpc::ServerUnaryReactor* reactor, const char* method,
                               const absl::Status& status) {
  if (metrics_ != nullptr) metrics_->RecordManagement(method, status.code());
  reactor->Finish(ToGrpcStatus(status));
}

void KeyManagerService::KeyToProto(const core::KeyRecord& key, keygate::v1::Key* out) const {
  const absl::Time now = keys_->clock().Now();
  ToProto(key, now, keys_->RotationDue(key, now), out);
}

// Not on the pool: everything before the durable write is quick, and the
// store's committer finishes the call once the key is written.
grpc::ServerUnaryReactor* KeyManagerService::CreateKey(
    grpc::CallbackServerContext* context, const keygate::v1::CreateKeyRequest* request,
    keygate::v1::CreateKeyResponse* response) {
  static constexpr char kMethod[] = "CreateKey";
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const service::CallInfo call{AuthorizationOf(*context), context->peer()};
  service::NewKey new_key;
  new_key.team_id = request->team_id();
  new_key.name = request->name();
  new_key.scopes.assign(request->scopes().begin(), request->scopes().end());
  absl::StatusOr<std::optional<core::Environment>> environment = FromProto(request->environment());
  if (!environment.ok()) {
    Finish(reactor, kMethod, keys_->RefuseInput(call, kMethod, environment.status()));
    return reactor;
  }
  new_key.environment = *environment;
  if (request->has_expire_time()) {
    absl::StatusOr<absl::Time> expire_time = FromProto(request->expire_time());
    if (!expire_time.ok()) {
      Finish(reactor, kMethod, keys_->RefuseInput(call, kMethod, expire_time.status()));
      return reactor;
    }
    new_key.expire_time = *expire_time;
  }
  keys_->CreateKey(call, new_key,
                   [this, reactor, response](absl::StatusOr<service::CreatedKey> created) {
                     if (created.ok()) {
                       KeyToProto(created->key, response->mutable_key());
                       response->set_token(std::move(created->token));
                     }
                     Finish(reactor, kMethod, created.status());
                   });
  return reactor;
}

grpc::ServerUnaryReactor* KeyManagerService::GetKey(grpc::CallbackServerContext* context,
                                                    const keygate::v1::GetKeyRequest* request,
                                                    keygate::v1::Key* response) {
  return Run(context, "GetKey", [this, request, response](const service::CallInfo& call) -> absl::Status {
    KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord key, keys_->GetKey(call, request->key_id()));
    KeyToProto(key, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeyManagerService::ListKeys(
    grpc::CallbackServerContext* context, const keygate::v1::ListKeysRequest* request,
    keygate::v1::ListKeysResponse* response) {
  return Run(context, "ListKeys", [this, request, response](const service::CallInfo& call) -> absl::Status {
    service::ListRequest list;
    list.team_id = request->team_id();
    list.page_size = request->page_size();
    list.page_token = request->page_token();
    list.include_inactive = request->include_revoked();
    list.rotation_due_only = request->rotation_due_only();
    absl::StatusOr<std::optional<core::Environment>> environment =
        FromProto(request->environment());
    if (!environment.ok()) return keys_->RefuseInput(call, "ListKeys", environment.status());
    list.environment = *environment;
    KEYGATE_ASSIGN_OR_RETURN(storage::KeyPage page, keys_->ListKeys(call, list));
    for (const core::KeyRecord& key : page.keys) KeyToProto(key, response->add_keys());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeyManagerService::RevokeKey(
    grpc::CallbackServerContext* context, const keygate::v1::RevokeKeyRequest* request,
    keygate::v1::Key* response) {
  return Run(context, "RevokeKey", [this, request, response](const service::CallInfo& call) -> absl::Status {
    KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord key,
                             keys_->RevokeKey(call, request->key_id(), request->reason()));
    KeyToProto(key, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeyManagerService::RotateKey(
    grpc::CallbackServerContext* context, const keygate::v1::RotateKeyRequest* request,
    keygate::v1::RotateKeyResponse* response) {
  return Run(context, "RotateKey", [this, request, response](const service::CallInfo& call) -> absl::Status {
    const absl::StatusOr<absl::Duration> grace = FromProto(request->grace_period());
    if (!grace.ok()) return keys_->RefuseInput(call, "RotateKey", grace.status());
    KEYGATE_ASSIGN_OR_RETURN(service::RotatedKey rotated,
                             keys_->RotateKey(call, request->key_id(), *grace));
    KeyToProto(rotated.key, response->mutable_key());
    response->set_token(std::move(rotated.token));
    KeyToProto(rotated.previous, response->mutable_previous_key());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeyManagerService::GetKeyUsage(
    grpc::CallbackServerContext* context, const keygate::v1::GetKeyUsageRequest* request,
    keygate::v1::KeyUsage* response) {
  return Run(context, "GetKeyUsage", [this, request, response](const service::CallInfo& call) -> absl::Status {
    KEYGATE_ASSIGN_OR_RETURN(core::KeyUsage usage,
                             keys_->GetKeyUsage(call, request->key_id(), request->days()));
    ToProto(usage, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeyManagerService::ListAuditEvents(
    grpc::CallbackServerContext* context, const keygate::v1::ListAuditEventsRequest* request,
    keygate::v1::ListAuditEventsResponse* response) {
  return Run(context, "ListAuditEvents", [this, request, response](const service::CallInfo& call) -> absl::Status {
    service::AuditRequest audit;
    audit.team_id = request->team_id();
    audit.key_id = request->key_id();
    audit.page_size = request->page_size();
    audit.page_token = request->page_token();
    KEYGATE_ASSIGN_OR_RETURN(storage::AuditPage page, keys_->ListAuditEvents(call, audit));
    for (const core::AuditEvent& event : page.events) ToProto(event, response->add_events());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeyManagerService::CreateBackup(
    grpc::CallbackServerContext* context, const keygate::v1::CreateBackupRequest* request,
    keygate::v1::Backup* response) {
  return Run(context, "CreateBackup", [this, response](const service::CallInfo& call) -> absl::Status {
    KEYGATE_ASSIGN_OR_RETURN(storage::BackupInfo backup, keys_->CreateBackup(call));
    response->set_backup_id(backup.backup_id);
    ToProto(backup.create_time, response->mutable_create_time());
    response->set_size_bytes(static_cast<int64_t>(backup.size_bytes));
    response->set_file_count(static_cast<int32_t>(backup.file_count));
    response->set_backup_dir(keys_->options().backup_dir);
    return absl::OkStatus();
  });
}

}  // namespace keygate::grpc_api
