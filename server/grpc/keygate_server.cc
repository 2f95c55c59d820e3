#include "server/grpc/keygate_server.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "server/core/log.h"
#include "server/core/thread_name.h"

namespace keygate::grpc_api {

namespace {

// Plaintext, TLS, or mTLS credentials from `config`, with certificate files
// watched for changes. InvalidArgument if a file is missing or the settings
// are incomplete.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const ServerConfig& config) {
  if (config.tls_cert_file.empty() && config.tls_key_file.empty()) {
    if (!config.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError("--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
    }
    return grpc::InsecureServerCredentials();
  }
  if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both --tls_cert_file and --tls_key_file");
  }
  for (const std::string& file : {config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file}) {
    if (!file.empty() && ::access(file.c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read TLS file ", file));
    }
  }
  const auto interval = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(config.tls_reload_interval)));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.tls_key_file, config.tls_cert_file, config.tls_client_ca_file, interval);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (config.tls_client_ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace

KeygateServer::KeygateServer(service::KeyService* keys, const ServerConfig& config)
    : pool_(config.management_threads),
      authorizer_(keys, AuthorizerService::Options{config.authorize_noop, config.metrics,
                                                   config.authorize_log_sample_rate}),
      key_manager_(keys, &pool_, config.metrics),
      storage_check_(config.storage_check),
      storage_check_interval_(config.storage_check_interval) {}

void KeygateServer::WatchStorage() {
  core::NameThisThread("kg-storage-chk");
  bool healthy = true;
  do {
    const absl::Status status = storage_check_();
    if (status.ok() != healthy) {
      healthy = status.ok();
      core::Log(healthy ? core::LogLevel::kInfo : core::LogLevel::kError,
                healthy ? "storage_recovered" : "storage_failed", {{"error", status.ToString()}});
    }
    health_.SetStorageHealthy(healthy);
  } while (!stop_watching_.WaitForNotificationWithTimeout(storage_check_interval_));
}

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
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentialsFor(config);
  if (!credentials.ok()) return credentials.status();
  std::unique_ptr<KeygateServer> server(new KeygateServer(keys, config));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(config.max_receive_message_bytes);
  builder.RegisterService(&server->authorizer_);
  builder.RegisterService(&server->key_manager_);
  builder.RegisterService(&server->health_);
  for (grpc::Service* service : config.extra_services) builder.RegisterService(service);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  }
  if (server->storage_check_) {
    KeygateServer* raw = server.get();
    server->storage_watcher_ = std::thread([raw] { raw->WatchStorage(); });
  } else {
    server->health_.SetStorageHealthy(true);
  }
  return server;
}

void KeygateServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  health_.SetDraining();
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::microseconds(absl::ToInt64Microseconds(grace)));
  server_->Wait();
  stop_watching_.Notify();
  if (storage_watcher_.joinable()) storage_watcher_.join();
}

KeygateServer::~KeygateServer() { Shutdown(absl::ZeroDuration()); }

}  // namespace keygate::grpc_api
