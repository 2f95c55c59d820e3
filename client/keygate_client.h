// keygate::Client: a C++ client for Keygate's Authorizer and KeyManager.
#ifndef KEYGATE_CLIENT_KEYGATE_CLIENT_H_
#define KEYGATE_CLIENT_KEYGATE_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/retry_budget.h"
#include "grpcpp/channel.h"
#include "keygate/v1/authorizer.grpc.pb.h"
#include "keygate/v1/key_manager.grpc.pb.h"

namespace keygate {

struct ClientOptions {
  // host:port of keygate-server.
  std::string server = "localhost:50051";
  // Management credential (an admin or operator token), sent as
  // `authorization: Bearer <api_key>` on KeyManager calls. Not needed for
  // Authorize.
  std::string api_key;
  // Deadline of each management call.
  absl::Duration timeout = absl::Seconds(10);
  // Deadline of an Authorize call, all attempts included. It sits on the
  // request path of the caller's own API, so it is short.
  absl::Duration authorize_timeout = absl::Milliseconds(50);
  // Authorize attempts at most (1 = no retry). Retries happen only on
  // UNAVAILABLE, within the deadline and within the retry budget.
  int authorize_max_attempts = 3;
  // TLS: set tls_ca_file (PEM roots that sign the server's certificate) to
  // connect with TLS; add tls_cert_file and tls_key_file for mTLS. Empty:
  // plaintext.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // Overrides the name checked against the server certificate.
  std::string tls_server_name;
};

// A channel to `options.server` with the options' credentials.
// InvalidArgument if a TLS file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateKeygateChannel(const ClientOptions& options);

// Calls one Keygate server. Errors come back as absl::Status with the gRPC
// code and message. A denial is not an error: Authorize returns OK with
// allowed=false; an error means no decision was made, and callers must fail
// closed (IsAllowed does). Thread-safe.
class Client {
 public:
  // Uses an existing channel, e.g. from CreateKeygateChannel.
  Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel);

  // Retries on UNAVAILABLE (see ClientOptions) within authorize_timeout.
  absl::StatusOr<keygate::v1::AuthorizeResponse> Authorize(
      const keygate::v1::AuthorizeRequest& request) const;
  // The same, without blocking: `done` runs once, on a gRPC thread.
  void AuthorizeAsync(
      const keygate::v1::AuthorizeRequest& request,
      std::function<void(absl::StatusOr<keygate::v1::AuthorizeResponse>)> done) const;
  absl::StatusOr<keygate::v1::CreateKeyResponse> CreateKey(
      const keygate::v1::CreateKeyRequest& request) const;
  absl::StatusOr<keygate::v1::Key> GetKey(const keygate::v1::GetKeyRequest& request) const;
  absl::StatusOr<keygate::v1::ListKeysResponse> ListKeys(
      const keygate::v1::ListKeysRequest& request) const;
  absl::StatusOr<keygate::v1::Key> RevokeKey(const keygate::v1::RevokeKeyRequest& request) const;
  absl::StatusOr<keygate::v1::RotateKeyResponse> RotateKey(
      const keygate::v1::RotateKeyRequest& request) const;
  absl::StatusOr<keygate::v1::KeyUsage> GetKeyUsage(
      const keygate::v1::GetKeyUsageRequest& request) const;
  absl::StatusOr<keygate::v1::ListAuditEventsResponse> ListAuditEvents(
      const keygate::v1::ListAuditEventsRequest& request) const;
  absl::StatusOr<keygate::v1::Backup> CreateBackup(
      const keygate::v1::CreateBackupRequest& request) const;

 private:
  // Fresh management-call context with the deadline and the credential.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<keygate::v1::Authorizer::Stub> authorizer_;
  std::unique_ptr<keygate::v1::KeyManager::Stub> key_manager_;
  mutable RetryBudget retry_budget_;
};

// Fail closed: true only for an answer that says "allowed".
inline bool IsAllowed(const absl::StatusOr<keygate::v1::AuthorizeResponse>& answer) {
  return answer.ok() && answer->allowed();
}

// grpc::Status -> absl::Status, keeping code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace keygate

#endif  // KEYGATE_CLIENT_KEYGATE_CLIENT_H_
