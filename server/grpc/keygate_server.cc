#include "server/grpc/keygate_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace keygate::grpc_api {

KeygateServer::KeygateServer(service::KeyService* keys, const ServerConfig& config)
    : pool_(config.management_threads),
      authorizer_(keys, config.authorize_noop),
      key_manager_(keys, &pool_) {}

absl::StatusOr<std::unique_ptr<KeygateServer>> KeygateServer::Start(const ServerConfig& config,
                                                                    service::KeyService* keys) {
  if (config.management_threads < 1) {
    return absl::InvalidArgumentError("management_threads must be at least 1");
  }
  if (config.reflection) {
    // Registers a plugin for every ServerBuilder made after this call.
    static const bool kReflectionRegistered = [] {
      grpc::reflection::InitProtoReflectionServerBuilderPlugin();
      return true;
    }();
    (void)kReflectionRegistered;
  }
  std::unique_ptr<KeygateServer> server(new KeygateServer(keys, config));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, grpc::InsecureServerCredentials(), &server->port_);
  builder.SetMaxReceiveMessageSize(config.max_receive_message_bytes);
  builder.RegisterService(&server->authorizer_);
  builder.RegisterService(&server->key_manager_);
  builder.RegisterService(&server->health_);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  }
  server->health_.SetServing(true);
  return server;
}

void KeygateServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  health_.SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::microseconds(absl::ToInt64Microseconds(grace)));
  server_->Wait();
}

KeygateServer::~KeygateServer() { Shutdown(absl::ZeroDuration()); }

}  // namespace keygate::grpc_api
