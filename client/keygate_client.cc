#include "client/keygate_client.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace keygate {
namespace {

// Runs one unary call and returns its response or error.
template <typename Response, typename Call>
absl::StatusOr<Response> Invoke(std::unique_ptr<grpc::ClientContext> context, Call call) {
  Response response;
  const grpc::Status status = call(context.get(), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateKeygateChannel(const ClientOptions& options) {
  if (options.tls_ca_file.empty() && options.tls_cert_file.empty()) {
    return grpc::CreateChannel(options.server, grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions ssl;
  const std::pair<const std::string*, std::string*> files[] = {
      {&options.tls_ca_file, &ssl.pem_root_certs},
      {&options.tls_cert_file, &ssl.pem_cert_chain},
      {&options.tls_key_file, &ssl.pem_private_key}};
  for (const auto& [path, pem] : files) {
    if (path->empty()) continue;
    std::ifstream in(*path);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", *path));
    std::ostringstream content;
    content << in.rdbuf();
    *pem = content.str();
  }
  grpc::ChannelArguments args;
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  return grpc::CreateCustomChannel(options.server, grpc::SslCredentials(ssl), args);
}

Client::Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      authorizer_(keygate::v1::Authorizer::NewStub(channel_)),
      key_manager_(keygate::v1::KeyManager::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> Client::NewContext(bool with_credential) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::microseconds(absl::ToInt64Microseconds(options_.timeout)));
  if (with_credential && !options_.api_key.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  return context;
}

absl::StatusOr<keygate::v1::AuthorizeResponse> Client::Authorize(
    const keygate::v1::AuthorizeRequest& request) const {
  return Invoke<keygate::v1::AuthorizeResponse>(
      NewContext(false), [&](grpc::ClientContext* c, keygate::v1::AuthorizeResponse* r) {
        return authorizer_->Authorize(c, request, r);
      });
}

absl::StatusOr<keygate::v1::CreateKeyResponse> Client::CreateKey(
    const keygate::v1::CreateKeyRequest& request) const {
  return Invoke<keygate::v1::CreateKeyResponse>(
      NewContext(true), [&](grpc::ClientContext* c, keygate::v1::CreateKeyResponse* r) {
        return key_manager_->CreateKey(c, request, r);
      });
}

absl::StatusOr<keygate::v1::Key> Client::GetKey(const keygate::v1::GetKeyRequest& request) const {
  return Invoke<keygate::v1::Key>(NewContext(true),
                                  [&](grpc::ClientContext* c, keygate::v1::Key* r) {
                                    return key_manager_->GetKey(c, request, r);
                                  });
}

absl::StatusOr<keygate::v1::ListKeysResponse> Client::ListKeys(
    const keygate::v1::ListKeysRequest& request) const {
  return Invoke<keygate::v1::ListKeysResponse>(
      NewContext(true), [&](grpc::ClientContext* c, keygate::v1::ListKeysResponse* r) {
        return key_manager_->ListKeys(c, request, r);
      });
}

absl::StatusOr<keygate::v1::Key> Client::RevokeKey(
    const keygate::v1::RevokeKeyRequest& request) const {
  return Invoke<keygate::v1::Key>(NewContext(true),
                                  [&](grpc::ClientContext* c, keygate::v1::Key* r) {
                                    return key_manager_->RevokeKey(c, request, r);
                                  });
}

absl::StatusOr<keygate::v1::RotateKeyResponse> Client::RotateKey(
    const keygate::v1::RotateKeyRequest& request) const {
  return Invoke<keygate::v1::RotateKeyResponse>(
      NewContext(true), [&](grpc::ClientContext* c, keygate::v1::RotateKeyResponse* r) {
        return key_manager_->RotateKey(c, request, r);
      });
}

absl::StatusOr<keygate::v1::KeyUsage> Client::GetKeyUsage(
    const keygate::v1::GetKeyUsageRequest& request) const {
  return Invoke<keygate::v1::KeyUsage>(NewContext(true),
                                       [&](grpc::ClientContext* c, keygate::v1::KeyUsage* r) {
                                         return key_manager_->GetKeyUsage(c, request, r);
                                       });
}

absl::StatusOr<keygate::v1::ListAuditEventsResponse> Client::ListAuditEvents(
    const keygate::v1::ListAuditEventsRequest& request) const {
  return Invoke<keygate::v1::ListAuditEventsResponse>(
      NewContext(true), [&](grpc::ClientContext* c, keygate::v1::ListAuditEventsResponse* r) {
        return key_manager_->ListAuditEvents(c, request, r);
      });
}

}  // namespace keygate
