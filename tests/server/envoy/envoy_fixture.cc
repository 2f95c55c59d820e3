#include "tests/server/envoy/envoy_fixture.h"

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/core/random.h"
#include "server/core/scope.h"
#include "storage/rocksdb_key_store.h"

namespace keygate::testing {

void EnvoyFixture::SetUp() {
  storage::RocksDbOptions options;
  options.path = dir_.path() + "/db";
  options.block_cache_bytes = 8 << 20;
  absl::StatusOr<std::unique_ptr<storage::KeyStore>> store = storage::OpenRocksDbKeyStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);

  absl::StatusOr<core::TokenFormat> format = core::TokenFormat::Create("fs");
  ASSERT_TRUE(format.ok());
  format_ = std::make_unique<core::TokenFormat>(*format);
  absl::StatusOr<std::unique_ptr<core::TokenHasher>> hasher = core::TokenHasher::Create(kPepper);
  ASSERT_TRUE(hasher.ok());
  hasher_ = *std::move(hasher);
  absl::StatusOr<std::unique_ptr<core::TokenHasher>> service_hasher =
      core::TokenHasher::Create(kPepper);
  ASSERT_TRUE(service_hasher.ok());
  usage_ = std::make_unique<service::UsageRecorder>(store_.get(), absl::Hours(1));
  keys_ =
      std::make_unique<service::KeyService>(*format, *std::move(service_hasher), store_.get(),
                                            &clock_, service::KeyServiceOptions(), usage_.get());
  KEYGATE_ASSERT_OK(keys_->CheckPepper());

  envoy_authz::AuthzConfig config;
  config.realm = kTestRealm;
  absl::StatusOr<envoy_authz::RouteScopeTable> routes =
      envoy_authz::RouteScopeTable::Parse(kTestRoutes);
  ASSERT_TRUE(routes.ok()) << routes.status();
  config.routes = *std::move(routes);
  KEYGATE_ASSERT_OK(envoy_authz::ValidateConfig(config));
  authz_ = std::make_unique<envoy_authz::AuthorizationService>(keys_.get(), std::move(config));

  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(authz_.get());
  server_ = builder.BuildAndStart();
  ASSERT_NE(server_, nullptr);
  ASSERT_GT(port_, 0);
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

void EnvoyFixture::TearDown() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
  channel_.reset();
  authz_.reset();
  keys_.reset();
  usage_.reset();  // Flushes into the store.
  store_.reset();
}

EnvoyFixture::TestKey EnvoyFixture::MakeKey(const std::string& team,
                                            const std::vector<std::string>& scopes,
                                            core::Environment env, bool is_operator) {
  TestKey key;
  key.token = format_->Generate(env);
  absl::StatusOr<core::ParsedToken> parsed = format_->Parse(key.token);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<core::ScopeList> parsed_scopes = core::ParseScopes(scopes);
  EXPECT_TRUE(parsed_scopes.ok()) << parsed_scopes.status();
  if (!parsed.ok() || !parsed_scopes.ok()) return key;
  key.record.key_id = "key_" + core::SecureRandomBase62(20);
  key.record.team_id = team;
  key.record.name = "envoy test key";
  key.record.scopes = *parsed_scopes;
  key.record.environment = env;
  key.record.display_prefix = core::TokenFormat::DisplayPrefix(*parsed);
  key.record.token_hash = hasher_->Hash(parsed->token);
  key.record.create_time = clock_.Now();
  key.record.created_by = core::kCreatedByBootstrap;
  key.record.is_operator = is_operator;
  KEYGATE_EXPECT_OK(store_->Create(key.record));
  return key;
}

void EnvoyFixture::Revoke(const std::string& key_id) {
  absl::StatusOr<core::KeyRecord> revoked = store_->Update(key_id, [this](core::KeyRecord& record) {
    record.revoke_time = clock_.Now();
    record.revoke_reason = "test";
    return absl::OkStatus();
  });
  EXPECT_TRUE(revoked.ok()) << revoked.status();
}

}  // namespace keygate::testing
