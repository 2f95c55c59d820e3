// A real gRPC server on 127.0.0.1:0 serving only the Envoy Authorization
// service, over a real RocksDB store in a temp dir and a KeyService with a
// fake clock. Keys are written straight into the store (hashed with the
// server's pepper), so the tests depend only on KeyService::Authorize (and
// usage monitoring, which records the client address Envoy reports).
#ifndef KEYGATE_TESTS_SERVER_ENVOY_ENVOY_FIXTURE_H_
#define KEYGATE_TESTS_SERVER_ENVOY_ENVOY_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"
#include "gtest/gtest.h"
#include "server/core/key_record.h"
#include "server/core/token.h"
#include "server/core/token_hasher.h"
#include "server/envoy/authorization_service.h"
#include "server/service/key_service.h"
#include "server/service/usage_recorder.h"
#include "storage/key_store.h"
#include "tests/support/test_support.h"

namespace keygate::testing {

// The route table every fixture server uses.
inline constexpr char kTestRoutes[] =
    "# method  prefix          scope\n"
    "GET       /api/v1/flows   flows:read\n"
    "*         /api/v1/flows   flows:write\n"
    "*         /api/v1/admin   admin\n";

inline constexpr char kTestRealm[] = "flowstack";

class EnvoyFixture : public ::testing::Test {
 protected:
  static constexpr char kPepper[] = "envoy-test-pepper-0123456789abcdef0123456789";

  struct TestKey {
    core::KeyRecord record;
    std::string token;
  };

  void SetUp() override;
  void TearDown() override;

  // Stores a new active key; fails the test on error.
  TestKey MakeKey(const std::string& team, const std::vector<std::string>& scopes,
                  core::Environment env = core::Environment::kLive, bool is_operator = false);
  // Revokes `key_id` at the fake clock's now.
  void Revoke(const std::string& key_id);

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<core::TokenFormat> format_;
  std::unique_ptr<core::TokenHasher> hasher_;  // Same pepper as the service's.
  std::unique_ptr<storage::KeyStore> store_;
  // Flushed by hand (the interval is never reached in a test).
  std::unique_ptr<service::UsageRecorder> usage_;
  std::unique_ptr<service::KeyService> keys_;
  std::unique_ptr<envoy_authz::AuthorizationService> authz_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace keygate::testing

#endif  // KEYGATE_TESTS_SERVER_ENVOY_ENVOY_FIXTURE_H_
