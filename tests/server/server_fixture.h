// A real Keygate gRPC server on 127.0.0.1:0 over a real RocksDB store in a
// temp dir, with a fake clock, and clients that call it through real
// channels. Restart() reopens the same data dir.
#ifndef KEYGATE_TESTS_SERVER_SERVER_FIXTURE_H_
#define KEYGATE_TESTS_SERVER_SERVER_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "client/keygate_client.h"
#include "gtest/gtest.h"
#include "server/grpc/keygate_server.h"
#include "server/service/key_service.h"
#include "storage/key_store.h"
#include "tests/support/test_support.h"

namespace keygate::testing {

class ServerFixture : public ::testing::Test {
 protected:
  static constexpr char kPepper[] = "test-pepper-0123456789abcdef0123456789abcdef";

  void SetUp() override;
  void TearDown() override { Stop(); }

  void Start();
  void Stop();
  void Restart() {
    Stop();
    Start();
  }

  // A client sending `credential` (may be empty or garbage) on management calls.
  Client ClientWith(const std::string& credential) const;
  Client Operator() const { return ClientWith(operator_token_); }
  Client Anonymous() const { return ClientWith(""); }

  // Creates a key as the operator; fails the test on error.
  keygate::v1::CreateKeyResponse MustCreate(const std::string& team,
                                            const std::vector<std::string>& scopes,
                                            keygate::v1::Environment env = keygate::v1::ENVIRONMENT_LIVE,
                                            const std::string& name = "test key");

  // Authorize through the server; fails the test on a gRPC error.
  keygate::v1::AuthorizeResponse MustAuthorize(const std::string& token, const std::string& scope,
                                               keygate::v1::Environment env = keygate::v1::ENVIRONMENT_UNSPECIFIED);

  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  // Policy and transport for the next Start(); tests may change them before
  // Restart(). `server_config_.listen` is always 127.0.0.1:0.
  service::KeyServiceOptions policy_;
  grpc_api::ServerConfig server_config_;

  TempDir dir_;
  FakeClock clock_;
  std::string operator_token_;
  std::string operator_key_id_;
  std::unique_ptr<storage::KeyStore> store_;
  // Flushes only when a test calls Flush() (its interval is an hour).
  std::unique_ptr<service::UsageRecorder> usage_;
  std::unique_ptr<service::KeyService> keys_;
  std::unique_ptr<grpc_api::KeygateServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace keygate::testing

#endif  // KEYGATE_TESTS_SERVER_SERVER_FIXTURE_H_
