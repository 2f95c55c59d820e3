#include "tests/server/server_fixture.h"

#include "absl/strings/ascii.h"
#include "grpcpp/create_channel.h"
#include "server/core/secret_file.h"
#include "storage/rocksdb_key_store.h"

namespace keygate::testing {

void ServerFixture::SetUp() {
  // Tests make many failed calls from 127.0.0.1 on purpose; throttling has
  // its own test.
  policy_.auth_failure_burst = 1000000;
  Start();
}

void ServerFixture::Start() {
  storage::RocksDbOptions options;
  options.path = dir_.path() + "/db";
  options.block_cache_bytes = 8 << 20;
  options.clock = &clock_;
  absl::StatusOr<std::unique_ptr<storage::KeyStore>> store = storage::OpenRocksDbKeyStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);

  absl::StatusOr<core::TokenFormat> format = core::TokenFormat::Create("fs");
  ASSERT_TRUE(format.ok());
  absl::StatusOr<std::unique_ptr<core::TokenHasher>> hasher = core::TokenHasher::Create(kPepper);
  ASSERT_TRUE(hasher.ok());
  usage_ = std::make_unique<service::UsageRecorder>(store_.get(), absl::Hours(1));
  keys_ = std::make_unique<service::KeyService>(*std::move(format), *std::move(hasher),
                                                store_.get(), &clock_, policy_, usage_.get());
  KEYGATE_ASSERT_OK(keys_->CheckPepper());

  const std::string key_file = dir_.path() + "/operator.key";
  absl::StatusOr<service::KeyService::BootstrapResult> bootstrap = keys_->EnsureOperatorKey(key_file);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  operator_key_id_ = bootstrap->key.key_id;
  absl::StatusOr<std::string> token = core::ReadSecretFile(key_file);
  ASSERT_TRUE(token.ok());
  operator_token_ = std::string(absl::StripAsciiWhitespace(*token));

  grpc_api::ServerConfig config = server_config_;
  config.listen = "127.0.0.1:0";
  config.management_threads = 4;
  absl::StatusOr<std::unique_ptr<grpc_api::KeygateServer>> server =
      grpc_api::KeygateServer::Start(config, keys_.get());
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

void ServerFixture::Stop() {
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
  server_.reset();
  channel_.reset();
  keys_.reset();
  usage_.reset();
  store_.reset();
}

Client ServerFixture::ClientWith(const std::string& credential) const {
  ClientOptions options;
  options.server = address();
  options.api_key = credential;
  options.timeout = absl::Seconds(10);
  options.authorize_timeout = absl::Seconds(10);  // The machine may be busy.
  return Client(options, channel_);
}

keygate::v1::CreateKeyResponse ServerFixture::MustCreate(const std::string& team,
                                                         const std::vector<std::string>& scopes,
                                                         keygate::v1::Environment env,
                                                         const std::string& name) {
  keygate::v1::CreateKeyRequest request;
  request.set_team_id(team);
  request.set_name(name);
  for (const std::string& s : scopes) request.add_scopes(s);
  request.set_environment(env);
  absl::StatusOr<keygate::v1::CreateKeyResponse> response = Operator().CreateKey(request);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? *response : keygate::v1::CreateKeyResponse();
}

keygate::v1::AuthorizeResponse ServerFixture::MustAuthorize(const std::string& token,
                                                            const std::string& scope,
                                                            keygate::v1::Environment env) {
  keygate::v1::AuthorizeRequest request;
  request.set_token(token);
  request.set_required_scope(scope);
  request.set_environment(env);
  absl::StatusOr<keygate::v1::AuthorizeResponse> response = Anonymous().Authorize(request);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? *response : keygate::v1::AuthorizeResponse();
}

}  // namespace keygate::testing
