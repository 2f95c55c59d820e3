// TLS and mTLS on a real server, with certificates made by the openssl
// command at test time, and certificate rotation without a restart.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_fixture.h"

#ifndef KEYGATE_MAKE_TEST_CERTS
#error "KEYGATE_MAKE_TEST_CERTS must name tests/server/make_test_certs.sh"
#endif

namespace keygate::testing {
namespace {

// Copies `from` over `to` atomically (write beside, then rename).
void ReplaceFile(const std::string& from, const std::string& to) {
  std::ifstream in(from);
  std::stringstream content;
  content << in.rdbuf();
  const std::string tmp = to + ".new";
  std::ofstream(tmp) << content.str();
  ASSERT_EQ(std::rename(tmp.c_str(), to.c_str()), 0);
}

class TlsTest : public ServerFixture {
 protected:
  void SetUp() override {
    for (const char* set : {"one", "two"}) {
      const std::string command = absl::StrCat(KEYGATE_MAKE_TEST_CERTS, " ", dir_.path(), "/", set);
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
    // The server reads its files from a directory of its own, so that tests
    // can swap them.
    served_ = dir_.path() + "/served";
    ASSERT_EQ(std::system(absl::StrCat("cp -r ", dir_.path(), "/one ", served_).c_str()), 0);
    server_config_.tls_cert_file = served_ + "/server.pem";
    server_config_.tls_key_file = served_ + "/server.key";
    server_config_.tls_reload_interval = absl::Seconds(1);
    ServerFixture::SetUp();
  }

  // Authorize through a channel with these credentials; returns the code.
  absl::StatusCode Call(const std::string& set, bool with_client_cert) {
    ClientOptions options;
    options.server = address();
    options.timeout = absl::Seconds(5);
    options.authorize_timeout = absl::Seconds(5);
    if (!set.empty()) {
      options.tls_ca_file = dir_.path() + "/" + set + "/ca.pem";
      if (with_client_cert) {
        options.tls_cert_file = dir_.path() + "/" + set + "/client.pem";
        options.tls_key_file = dir_.path() + "/" + set + "/client.key";
      }
    }
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateKeygateChannel(options);
    if (!channel.ok()) return channel.status().code();
    keygate::v1::AuthorizeRequest request;
    request.set_token("not-a-token");
    request.set_required_scope("read");
    return Client(options, *channel).Authorize(request).status().code();
  }

  std::string served_;
};

TEST_F(TlsTest, ServesTlsAndRefusesPlaintext) {
  EXPECT_EQ(Call("one", false), absl::StatusCode::kOk);
  EXPECT_EQ(Call("", false), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Call("two", false), absl::StatusCode::kUnavailable);  // Untrusted server cert.
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificate) {
  server_config_.tls_client_ca_file = served_ + "/ca.pem";
  Restart();
  EXPECT_EQ(Call("one", true), absl::StatusCode::kOk);
  EXPECT_EQ(Call("one", false), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Call("", false), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, ReplacedCertificateFilesTakeEffectWithoutRestart) {
  server_config_.tls_client_ca_file = served_ + "/ca.pem";
  Restart();
  ASSERT_EQ(Call("one", true), absl::StatusCode::kOk);
  ReplaceFile(dir_.path() + "/two/ca.pem", served_ + "/ca.pem");
  ReplaceFile(dir_.path() + "/two/server.key", served_ + "/server.key");
  ReplaceFile(dir_.path() + "/two/server.pem", served_ + "/server.pem");
  // The server re-reads its files every second.
  absl::StatusCode code = absl::StatusCode::kUnknown;
  for (int i = 0; i < 50 && code != absl::StatusCode::kOk; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    code = Call("two", true);
  }
  EXPECT_EQ(code, absl::StatusCode::kOk);
  EXPECT_EQ(Call("one", true), absl::StatusCode::kUnavailable);
}

TEST_F(TlsTest, MissingFilesAreRejectedAtStart) {
  grpc_api::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.tls_cert_file = served_ + "/nope.pem";
  config.tls_key_file = served_ + "/server.key";
  EXPECT_THAT(grpc_api::KeygateServer::Start(config, keys_.get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  config.tls_cert_file.clear();
  config.tls_key_file.clear();
  config.tls_client_ca_file = served_ + "/ca.pem";
  EXPECT_THAT(grpc_api::KeygateServer::Start(config, keys_.get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace keygate::testing
