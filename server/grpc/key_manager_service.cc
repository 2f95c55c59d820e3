#include "server/grpc/key_manager_service.h"

#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "server/core/log.h"
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
  pool_->Submit([this, context, method, reactor, handler = std::move(handler),
                 authorization = AuthorizationOf(*context)] {
    const absl::Time start = absl::Now();
    absl::StatusOr<service::Caller> caller = keys_->Authenticate(authorization);
    const absl::Status status = caller.ok() ? handler(*caller) : caller.status();
    const core::LogLevel level = absl::IsInternal(status) || absl::IsDataLoss(status) ||
                                         absl::IsUnavailable(status)
                                     ? core::LogLevel::kError
                                     : core::LogLevel::kInfo;
    core::Log(level, "management_call",
              {{"method", method},
               {"code", absl::StatusCodeToString(status.code())},
               {"caller", caller.ok() ? caller->key_id : std::string()},
               {"peer", context->peer()},
               {"duration_us", absl::ToInt64Microseconds(absl::Now() - start)},
               {"error", status.ok() ? std::string() : std::string(status.message())}});
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

grpc::ServerUnaryReactor* KeyManagerService::CreateKey(
    grpc::CallbackServerContext* context, const keygate::v1::CreateKeyRequest* request,
    keygate::v1::CreateKeyResponse* response) {
  return Run(context, "CreateKey", [this, request, response](const service::Caller& caller) {
    service::NewKey new_key;
    new_key.team_id = request->team_id();
    new_key.name = request->name();
    new_key.scopes.assign(request->scopes().begin(), request->scopes().end());
    KEYGATE_ASSIGN_OR_RETURN(new_key.environment, FromProto(request->environment()));
    if (request->has_expire_time()) {
      KEYGATE_ASSIGN_OR_RETURN(new_key.expire_time, FromProto(request->expire_time()));
    }
    KEYGATE_ASSIGN_OR_RETURN(service::CreatedKey created, keys_->CreateKey(caller, new_key));
    ToProto(created.key, keys_->clock().Now(), response->mutable_key());
    response->set_token(std::move(created.token));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeyManagerService::GetKey(grpc::CallbackServerContext* context,
                                                    const keygate::v1::GetKeyRequest* request,
                                                    keygate::v1::Key* response) {
  return Run(context, "GetKey", [this, request, response](const service::Caller& caller) {
    KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord key, keys_->GetKey(caller, request->key_id()));
    ToProto(key, keys_->clock().Now(), response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeyManagerService::ListKeys(
    grpc::CallbackServerContext* context, const keygate::v1::ListKeysRequest* request,
    keygate::v1::ListKeysResponse* response) {
  return Run(context, "ListKeys", [this, request, response](const service::Caller& caller) {
    service::ListRequest list;
    list.team_id = request->team_id();
    list.page_size = request->page_size();
    list.page_token = request->page_token();
    list.include_inactive = request->include_revoked();
    KEYGATE_ASSIGN_OR_RETURN(list.environment, FromProto(request->environment()));
    KEYGATE_ASSIGN_OR_RETURN(storage::KeyPage page, keys_->ListKeys(caller, list));
    const absl::Time now = keys_->clock().Now();
    for (const core::KeyRecord& key : page.keys) ToProto(key, now, response->add_keys());
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeyManagerService::RevokeKey(
    grpc::CallbackServerContext* context, const keygate::v1::RevokeKeyRequest* request,
    keygate::v1::Key* response) {
  return Run(context, "RevokeKey", [this, request, response](const service::Caller& caller) {
    KEYGATE_ASSIGN_OR_RETURN(core::KeyRecord key,
                             keys_->RevokeKey(caller, request->key_id(), request->reason()));
    ToProto(key, keys_->clock().Now(), response);
    return absl::OkStatus();
  });
}

}  // namespace keygate::grpc_api
