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

std::unique_ptr<grpc::ClientContext> Client::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::microseconds(absl::ToInt64Microseconds(options_.timeout)));
  if (!options_.api_key.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  return context;
}

absl::StatusOr<keygate::v1::AuthorizeResponse> Client::Authorize(
    const keygate::v1::AuthorizeRequest& request) const {
  retry_budget_.Deposit();
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::microseconds(absl::ToInt64Microseconds(options_.authorize_timeout));
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    keygate::v1::AuthorizeResponse response;
    const grpc::Status status = authorizer_->Authorize(&context, request, &response);
    if (status.ok()) return response;
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        attempt >= options_.authorize_max_attempts ||
        std::chrono::system_clock::now() >= deadline || !retry_budget_.TryWithdraw()) {
      return FromGrpcStatus(status);
    }
  }
}

namespace {

// One asynchronous Authorize with its retries; deletes itself when done.
class AsyncAuthorize {
 public:
  AsyncAuthorize(keygate::v1::Authorizer::Stub* stub, const keygate::v1::AuthorizeRequest& request,
                 std::chrono::system_clock::time_point deadline, int max_attempts,
                 RetryBudget* budget,
                 std::function<void(absl::StatusOr<keygate::v1::AuthorizeResponse>)> done)
      : stub_(stub), request_(request), deadline_(deadline), attempts_left_(max_attempts),
        budget_(budget), done_(std::move(done)) {}

  void Start() {
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(deadline_);
    --attempts_left_;
    stub_->async()->Authorize(context_.get(), &request_, &response_,
                              [this](grpc::Status status) { OnDone(std::move(status)); });
  }

 private:
  void OnDone(grpc::Status status) {
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE && attempts_left_ > 0 &&
        std::chrono::system_clock::now() < deadline_ && budget_->TryWithdraw()) {
      Start();
      return;
    }
    if (status.ok()) {
      done_(std::move(response_));
    } else {
      done_(FromGrpcStatus(status));
    }
    delete this;
  }

  keygate::v1::Authorizer::Stub* const stub_;
  const keygate::v1::AuthorizeRequest request_;
  const std::chrono::system_clock::time_point deadline_;
  int attempts_left_;
  RetryBudget* const budget_;
  std::function<void(absl::StatusOr<keygate::v1::AuthorizeResponse>)> done_;
  std::unique_ptr<grpc::ClientContext> context_;
  keygate::v1::AuthorizeResponse response_;
};

}  // namespace

void Client::AuthorizeAsync(
    const keygate::v1::AuthorizeRequest& request,
    std::function<void(absl::StatusOr<keygate::v1::AuthorizeResponse>)> done) const {
  retry_budget_.Deposit();
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::microseconds(absl::ToInt64Microseconds(options_.authorize_timeout));
  (new AsyncAuthorize(authorizer_.get(), request, deadline, options_.authorize_max_attempts,
                      &retry_budget_, std::move(done)))
      ->Start();
}

absl::StatusOr<keygate::v1::CreateKeyResponse> Client::CreateKey(
    const keygate::v1::CreateKeyRequest& request) const {
  return Invoke<keygate::v1::CreateKeyResponse>(
      NewContext(), [&](grpc::ClientContext* c, keygate::v1::CreateKeyResponse* r) {
        return key_manager_->CreateKey(c, request, r);
      });
}

absl::StatusOr<keygate::v1::Key> Client::GetKey(const keygate::v1::GetKeyRequest& request) const {
  return Invoke<keygate::v1::Key>(NewContext(),
                                  [&](grpc::ClientContext* c, keygate::v1::Key* r) {
                                    return key_manager_->GetKey(c, request, r);
                                  });
}

absl::StatusOr<keygate::v1::ListKeysResponse> Client::ListKeys(
    const keygate::v1::ListKeysRequest& request) const {
  return Invoke<keygate::v1::ListKeysResponse>(
      NewContext(), [&](grpc::ClientContext* c, keygate::v1::ListKeysResponse* r) {
        return key_manager_->ListKeys(c, request, r);
      });
}

absl::StatusOr<keygate::v1::Key> Client::RevokeKey(
    const keygate::v1::RevokeKeyRequest& request) const {
  return Invoke<keygate::v1::Key>(NewContext(),
                                  [&](grpc::ClientContext* c, keygate::v1::Key* r) {
                                    return key_manager_->RevokeKey(c, request, r);
                                  });
}

absl::StatusOr<keygate::v1::RotateKeyResponse> Client::RotateKey(
    const keygate::v1::RotateKeyRequest& request) const {
  return Invoke<keygate::v1::RotateKeyResponse>(
      NewContext(), [&](grpc::ClientContext* c, keygate::v1::RotateKeyResponse* r) {
        return key_manager_->RotateKey(c, request, r);
      });
}

absl::StatusOr<keygate::v1::KeyUsage> Client::GetKeyUsage(
    const keygate::v1::GetKeyUsageRequest& request) const {
  return Invoke<keygate::v1::KeyUsage>(NewContext(),
                                       [&](grpc::ClientContext* c, keygate::v1::KeyUsage* r) {
                                         return key_manager_->GetKeyUsage(c, request, r);
                                       });
}

absl::StatusOr<keygate::v1::ListAuditEventsResponse> Client::ListAuditEvents(
    const keygate::v1::ListAuditEventsRequest& request) const {
  return Invoke<keygate::v1::ListAuditEventsResponse>(
      NewContext(), [&](grpc::ClientContext* c, keygate::v1::ListAuditEventsResponse* r) {
        return key_manager_->ListAuditEvents(c, request, r);
      });
}

absl::StatusOr<keygate::v1::Backup> Client::CreateBackup(
    const keygate::v1::CreateBackupRequest& request) const {
  return Invoke<keygate::v1::Backup>(NewContext(), [&](grpc::ClientContext* c, keygate::v1::Backup* r) {
    return key_manager_->CreateBackup(c, request, r);
  });
}

}  // namespace keygate
