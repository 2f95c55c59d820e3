// The example service, with the authorization interceptor, against a real
// Keygate server: a missing key is UNAUTHENTICATED, a wrong scope
// PERMISSION_DENIED, a right key is served and its identity reaches the
// handler.
#include "flows/flows_service.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/server/server_fixture.h"

namespace keygate::testing {
namespace {

using examples::flows::v1::CreateFlowRequest;
using examples::flows::v1::Flow;
using examples::flows::v1::Flows;

class FlowsExampleTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    ClientOptions options;
    options.server = address();
    options.authorize_timeout = absl::Seconds(5);  // Generous on a busy test machine.
    auto client = std::make_shared<Client>(options, channel_);
    int port = 0;
    flows_server_ = examples::flows::StartFlowsServer(
        "127.0.0.1:0", &flows_, examples::flows::FlowsAuthorization(client), &port);
    ASSERT_NE(flows_server_, nullptr);
    flows_stub_ = Flows::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                                     grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    flows_server_->Shutdown();
    ServerFixture::TearDown();
  }

  grpc::Status Create(const std::string& key, Flow* flow) {
    grpc::ClientContext context;
    if (!key.empty()) context.AddMetadata("authorization", "Bearer " + key);
    CreateFlowRequest request;
    request.set_name("nightly-sync");
    return flows_stub_->CreateFlow(&context, request, flow);
  }

  examples::flows::FlowsService flows_;
  std::unique_ptr<grpc::Server> flows_server_;
  std::unique_ptr<Flows::Stub> flows_stub_;
};

TEST_F(FlowsExampleTest, RejectsAMissingKey) {
  Flow flow;
  EXPECT_EQ(Create("", &flow).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Create("fs_live_notarealtoken", &flow).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(FlowsExampleTest, RejectsAWrongScopeAndARevokedKey) {
  const auto reader = MustCreate("acme", {"flows:read"});
  Flow flow;
  const grpc::Status status = Create(reader.token(), &flow);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("REASON_INSUFFICIENT_SCOPE"));
  EXPECT_EQ(flow.name(), "");  // Nothing was returned...
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + reader.token());
  examples::flows::v1::ListFlowsResponse listed;
  ASSERT_TRUE(flows_stub_->ListFlows(&context, {}, &listed).ok());
  EXPECT_EQ(listed.flows_size(), 0);  // ...and nothing was created.

  const auto writer = MustCreate("acme", {"flows:write"});
  keygate::v1::RevokeKeyRequest revoke;
  revoke.set_key_id(writer.key().key_id());
  ASSERT_TRUE(Operator().RevokeKey(revoke).ok());
  EXPECT_EQ(Create(writer.token(), &flow).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(FlowsExampleTest, ServesARightKeyAndHandsItsIdentityToTheHandler) {
  const auto writer = MustCreate("acme", {"flows:write"});
  Flow flow;
  ASSERT_TRUE(Create(writer.token(), &flow).ok());
  EXPECT_EQ(flow.owner_team(), "acme");
  EXPECT_EQ(flow.created_by_key(), writer.key().key_id());

  // Another team's key sees none of acme's flows.
  const auto other = MustCreate("globex", {"flows:read"});
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + other.token());
  examples::flows::v1::ListFlowsResponse listed;
  ASSERT_TRUE(flows_stub_->ListFlows(&context, {}, &listed).ok());
  EXPECT_EQ(listed.flows_size(), 0);
}

TEST_F(FlowsExampleTest, FailsClosedWhenKeygateIsDown) {
  const auto writer = MustCreate("acme", {"flows:write"});
  Stop();
  Flow flow;
  EXPECT_EQ(Create(writer.token(), &flow).error_code(), grpc::StatusCode::UNAVAILABLE);
  Start();  // For TearDown.
}

}  // namespace
}  // namespace keygate::testing
