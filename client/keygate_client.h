// keygate::Client: a C++ client for Keygate's Authorizer and KeyManager.
#ifndef KEYGATE_CLIENT_KEYGATE_CLIENT_H_
#define KEYGATE_CLIENT_KEYGATE_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
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
  // Deadline of each call.
  absl::Duration timeout = absl::Seconds(10);
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
// allowed=false. Thread-safe.
class Client {
 public:
  // Uses an existing channel, e.g. from CreateKeygateChannel.
  Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<keygate::v1::AuthorizeResponse> Authorize(
      const keygate::v1::AuthorizeRequest& request) const;
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

 private:
  // Fresh context with the deadline and (for management) the credential.
  std::unique_ptr<grpc::ClientContext> NewContext(bool with_credential) const;

  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<keygate::v1::Authorizer::Stub> authorizer_;
  std::unique_ptr<keygate::v1::KeyManager::Stub> key_manager_;
};

// grpc::Status -> absl::Status, keeping code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace keygate

#endif  // KEYGATE_CLIENT_KEYGATE_CLIENT_H_
