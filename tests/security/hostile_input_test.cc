// Hostile input over the wire (issue 7, item 5), against a real server on
// 127.0.0.1:0 with a real RocksDB store: odd tokens (empty, 1 MiB, binary,
// NUL-containing, invalid UTF-8 sent as raw bytes), 10,000 scopes, a 5 MiB
// message, oversized metadata, 1,000 concurrent connections, streams opened
// and reset in a loop, calls without deadlines, and raw TCP garbage and idle
// connections. Each gets a defined answer, and afterwards the server still
// answers a normal Authorize correctly (ExpectServing).
//
// The limits these tests pin down are listed in docs/reliability.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "keygate/v1/authorizer.grpc.pb.h"
#include "keygate/v1/key_manager.grpc.pb.h"
#include "tests/server/server_fixture.h"

namespace keygate::testing {
namespace {

using ::grpc::StatusCode;

// The answers to a request message that does not parse (see
// InvalidUtf8IsRejectedWithoutADecision): Authorize parses its request itself
// and says INVALID_ARGUMENT; for the management RPCs gRPC 1.51's callback API
// answers UNIMPLEMENTED.
constexpr StatusCode kUnparsableAuthorize = StatusCode::INVALID_ARGUMENT;
constexpr StatusCode kUnparsable = StatusCode::UNIMPLEMENTED;
constexpr char kAuthorizeMethod[] = "/keygate.v1.Authorizer/Authorize";
constexpr char kCreateKeyMethod[] = "/keygate.v1.KeyManager/CreateKey";

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

// Appends a length-delimited protobuf field (wire type 2) to `out`, with
// arbitrary bytes: how a hostile client sends invalid UTF-8 in a string.
void AppendBytesField(int field, const std::string& bytes, std::string* out) {
  auto varint = [out](uint64_t v) {
    while (v >= 0x80) {
      out->push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out->push_back(static_cast<char>(v));
  };
  varint((static_cast<uint64_t>(field) << 3) | 2);
  varint(bytes.size());
  out->append(bytes);
}

struct RawAnswer {
  grpc::Status status;
  std::string body;
};

// One unary call of `method` with `request` as the raw message bytes.
RawAnswer RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                  const std::string& request, const std::string& authorization = "") {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  if (!authorization.empty()) context.AddMetadata("authorization", authorization);
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  RawAnswer answer;
  absl::Notification done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&](grpc::Status status) {
                   answer.status = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  std::vector<grpc::Slice> slices;
  if (answer.status.ok() && response_buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) answer.body.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return answer;
}

int OpenFds() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

class HostileInputTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    authorizer_ = keygate::v1::Authorizer::NewStub(channel_);
    key_manager_ = keygate::v1::KeyManager::NewStub(channel_);
    const keygate::v1::CreateKeyResponse created = MustCreate("acme", {"read", "flows:write"});
    token_ = created.token();
    key_id_ = created.key().key_id();
  }

  // Authorize through the generated stub (no client-library retries).
  grpc::Status Authorize(const std::string& token, const std::string& scope,
                         keygate::v1::AuthorizeResponse* response,
                         absl::Duration timeout = absl::Seconds(10)) {
    keygate::v1::AuthorizeRequest request;
    request.set_token(token);
    request.set_required_scope(scope);
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(timeout));
    return authorizer_->Authorize(&context, request, response);
  }

  // A normal Authorize still answers correctly: the valid key is allowed
  // exactly its scopes, a malformed token is denied, over a new channel too.
  void ExpectServing() {
    keygate::v1::AuthorizeResponse response;
    grpc::Status status = Authorize(token_, "flows:write", &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.allowed());
    EXPECT_EQ(response.key().key_id(), key_id_);
    status = Authorize(token_, "runs:write", &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.allowed());
    EXPECT_EQ(response.reason(), keygate::v1::REASON_INSUFFICIENT_SCOPE);
    status = Authorize(token_ + "x", "read", &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.reason(), keygate::v1::REASON_MALFORMED_TOKEN);

    auto fresh = keygate::v1::Authorizer::NewStub(
        grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
    keygate::v1::AuthorizeRequest request;
    request.set_token("Bearer " + token_);
    request.set_required_scope("read");
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    status = fresh->Authorize(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.allowed());
  }

  // Expects Authorize of `token` to be a normal denial as a malformed token.
  void ExpectMalformed(const std::string& token, const std::string& what) {
    keygate::v1::AuthorizeResponse response;
    const grpc::Status status = Authorize(token, "read", &response);
    ASSERT_TRUE(status.ok()) << what << ": " << status.error_message();
    EXPECT_FALSE(response.allowed()) << what;
    EXPECT_EQ(response.reason(), keygate::v1::REASON_MALFORMED_TOKEN) << what;
    EXPECT_EQ(response.http_status(), 401) << what;
    EXPECT_FALSE(response.has_key()) << what;
  }

  std::unique_ptr<keygate::v1::Authorizer::Stub> authorizer_;
  std::unique_ptr<keygate::v1::KeyManager::Stub> key_manager_;
  std::string token_;
  std::string key_id_;
};

TEST_F(HostileInputTest, OddTokensAreDeniedAsMalformed) {
  ExpectMalformed("", "empty");
  ExpectMalformed("Bearer", "scheme only");
  ExpectMalformed("Bearer    ", "scheme and spaces");
  // Control characters and valid multi-byte UTF-8 (proto3 strings must be
  // UTF-8; raw invalid bytes are the next test).
  std::string binary;
  for (int c = 1; c < 0x80; ++c) binary.push_back(static_cast<char>(c));
  binary += "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91";
  ExpectMalformed(binary, "binary");
  // NUL bytes: the token must not be cut at the NUL (C-string handling
  // would turn "valid\0garbage" into a valid token).
  ExpectMalformed(token_ + std::string(1, '\0'), "valid token + NUL");
  ExpectMalformed(token_ + std::string(1, '\0') + "garbage", "valid token + NUL + garbage");
  ExpectMalformed(std::string(1, '\0') + token_, "NUL + valid token");
  std::string nul_inside = token_;
  nul_inside[10] = '\0';
  ExpectMalformed(nul_inside, "NUL inside");
  ExpectMalformed(std::string(64, '\0'), "only NULs");
  // Longer than any token, but within the 256 KiB message limit.
  ExpectMalformed(std::string(200 * 1024, 'A'), "200 KiB token");
  ExpectMalformed(token_ + token_, "two tokens");
  ExpectMalformed("Bearer Bearer " + token_, "scheme twice");
  ExpectServing();
}

TEST_F(HostileInputTest, OneMebibyteTokenIsResourceExhausted) {
  keygate::v1::AuthorizeResponse response;
  const grpc::Status status = Authorize(std::string(1 << 20, 'A'), "read", &response);
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  ExpectServing();
}

TEST_F(HostileInputTest, InvalidUtf8IsRejectedWithoutADecision) {
  // A proto3 string holding invalid UTF-8 does not parse: gRPC answers the
  // call with an error and an empty message (callers fail closed), and a
  // denial or "allowed" is never produced: INVALID_ARGUMENT from Authorize
  // (which parses its own request), UNIMPLEMENTED from gRPC 1.51's callback
  // API for the management calls (its synchronous API would say INTERNAL).
  // Pinned so that a change shows.
  for (const std::string& bad : {std::string("\xff\xfe\xfd"), std::string("\xc3\x28"),
                                 token_.substr(0, 10) + "\x80" + token_.substr(11),
                                 std::string("\xed\xa0\x80")}) {  // A UTF-16 surrogate.
    std::string request;
    AppendBytesField(1, bad, &request);           // token
    AppendBytesField(2, "read", &request);        // required_scope
    const RawAnswer answer = RawCall(channel_, kAuthorizeMethod, request);
    EXPECT_EQ(answer.status.error_code(), kUnparsableAuthorize) << answer.status.error_message();
    EXPECT_TRUE(answer.body.empty());
  }
  // The same in a management call, and in the scope field.
  std::string create;
  AppendBytesField(1, "acme", &create);
  AppendBytesField(2, "bad \xff name", &create);
  const RawAnswer created = RawCall(channel_, kCreateKeyMethod, create, "Bearer " + operator_token_);
  EXPECT_EQ(created.status.error_code(), kUnparsable) << created.status.error_message();
  std::string scope;
  AppendBytesField(1, token_, &scope);
  AppendBytesField(2, "flows\xff:read", &scope);
  EXPECT_EQ(RawCall(channel_, kAuthorizeMethod, scope).status.error_code(), kUnparsableAuthorize);
  // Not a protobuf at all.
  EXPECT_EQ(RawCall(channel_, kAuthorizeMethod, "\xff\xff\xff\xff\xff").status.error_code(),
            kUnparsableAuthorize);
  // A well-formed raw request is answered normally (the raw path works).
  std::string good;
  AppendBytesField(1, token_, &good);
  AppendBytesField(2, "read", &good);
  const RawAnswer ok = RawCall(channel_, kAuthorizeMethod, good);
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  keygate::v1::AuthorizeResponse response;
  ASSERT_TRUE(response.ParseFromString(ok.body));
  EXPECT_TRUE(response.allowed());
  ExpectServing();
}

TEST_F(HostileInputTest, TenThousandScopesAreInvalidArgument) {
  keygate::v1::CreateKeyRequest request;
  request.set_team_id("acme");
  request.set_name("many scopes");
  request.set_environment(keygate::v1::ENVIRONMENT_LIVE);
  for (int i = 0; i < 10000; ++i) request.add_scopes(absl::StrCat("r", i, ":read"));
  ASSERT_LT(request.ByteSizeLong(), 256u * 1024);  // Reaches Keygate's validation.
  absl::StatusOr<keygate::v1::CreateKeyResponse> response = Operator().CreateKey(request);
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(response.status().message().find("scopes"), std::string::npos) << response.status();
  // 10,000 copies of one scope are not "one scope after merging": still
  // refused, before any parsing work per scope.
  keygate::v1::CreateKeyRequest same = request;
  same.clear_scopes();
  for (int i = 0; i < 10000; ++i) same.add_scopes("read");
  EXPECT_THAT(Operator().CreateKey(same), StatusIs(absl::StatusCode::kInvalidArgument));
  // Exactly 32 distinct scopes is the documented maximum.
  request.mutable_scopes()->DeleteSubrange(32, request.scopes_size() - 32);
  absl::StatusOr<keygate::v1::CreateKeyResponse> max = Operator().CreateKey(request);
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(max->key().scopes_size(), 32);
  ExpectServing();
}

TEST_F(HostileInputTest, FiveMebibyteMessagesAreResourceExhausted) {
  keygate::v1::CreateKeyRequest create;
  create.set_team_id("acme");
  create.set_name(std::string(5 << 20, 'n'));
  create.add_scopes("read");
  create.set_environment(keygate::v1::ENVIRONMENT_LIVE);
  EXPECT_THAT(Operator().CreateKey(create), StatusIs(absl::StatusCode::kResourceExhausted));

  keygate::v1::AuthorizeResponse response;
  keygate::v1::AuthorizeRequest authorize;
  authorize.set_token(token_);
  authorize.set_required_scope("read");
  authorize.set_client_ip(std::string(5 << 20, '1'));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  const grpc::Status status = authorizer_->Authorize(&context, authorize, &response);
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << status.error_message();

  // Just over the documented 256 KiB limit is refused; just under is served.
  authorize.set_client_ip(std::string(256 * 1024, '1'));
  grpc::ClientContext over;
  over.set_deadline(DeadlineIn(absl::Seconds(10)));
  EXPECT_EQ(authorizer_->Authorize(&over, authorize, &response).error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
  authorize.set_client_ip(std::string(255 * 1024, '1'));
  grpc::ClientContext under;
  under.set_deadline(DeadlineIn(absl::Seconds(10)));
  const grpc::Status served = authorizer_->Authorize(&under, authorize, &response);
  ASSERT_TRUE(served.ok()) << served.error_message();
  EXPECT_TRUE(response.allowed());
  ExpectServing();
}

TEST_F(HostileInputTest, OversizedCredentialMetadataIsRefused) {
  // gRPC bounds the metadata a server accepts (grpc.max_metadata_size,
  // default 8 KiB); a huge `authorization` header never reaches Keygate.
  // Over the limit the call is refused (RESOURCE_EXHAUSTED) or, depending
  // on how the header block is framed, the server drops the whole connection
  // (the client sees UNAVAILABLE); so these calls use their own connection:
  // only the sender's connection suffers.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // Not the fixture's connection.
  auto hostile = keygate::v1::KeyManager::NewStub(
      grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args));
  for (const size_t size : {size_t{9} << 10, size_t{16} << 10, size_t{1} << 20}) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    context.set_wait_for_ready(true);  // The previous call may have dropped the connection.
    context.AddMetadata("authorization", "Bearer " + std::string(size, 'A'));
    keygate::v1::GetKeyRequest request;
    request.set_key_id(key_id_);
    keygate::v1::Key key;
    const grpc::Status status = hostile->GetKey(&context, request, &key);
    EXPECT_THAT(status.error_code(),
                ::testing::AnyOf(StatusCode::RESOURCE_EXHAUSTED, StatusCode::UNAVAILABLE))
        << size << ": " << status.error_message();
    EXPECT_EQ(status.error_message().find("AAAAAAAAAAAAAAAA"), std::string::npos);
  }
  // Under the limit but far longer than any token: simply malformed.
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  context.AddMetadata("authorization", "Bearer " + std::string(4000, 'A'));
  keygate::v1::GetKeyRequest request;
  request.set_key_id(key_id_);
  keygate::v1::Key key;
  const grpc::Status status = key_manager_->GetKey(&context, request, &key);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_EQ(status.error_message().find("AAAAAAAAAAAAAAAA"), std::string::npos);
  ExpectServing();
}

TEST_F(HostileInputTest, ThousandConcurrentConnections) {
  constexpr int kConnections = 1000;
  // Each connection costs a client and a server descriptor.
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const rlim_t needed = 4 * kConnections + 1024;
  if (limit.rlim_cur < needed) {
    limit.rlim_cur = std::min<rlim_t>(needed, limit.rlim_max);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  if (limit.rlim_cur < needed) GTEST_SKIP() << "RLIMIT_NOFILE hard limit too low: " << limit.rlim_max;

  const int fds_before = OpenFds();
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<keygate::v1::Authorizer::Stub>> stubs;
  channels.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) {
    grpc::ChannelArguments args;
    // Distinct args and a local subchannel pool: one TCP connection each.
    args.SetInt("keygate.test.connection", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(
        grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args));
    stubs.push_back(keygate::v1::Authorizer::NewStub(channels.back()));
  }

  struct Call {
    grpc::ClientContext context;
    keygate::v1::AuthorizeRequest request;
    keygate::v1::AuthorizeResponse response;
    grpc::Status status;
  };
  std::vector<Call> calls(kConnections);
  absl::BlockingCounter pending(kConnections);
  const absl::Time start = absl::Now();
  for (int i = 0; i < kConnections; ++i) {
    Call& call = calls[i];
    call.context.set_deadline(DeadlineIn(absl::Seconds(60)));
    call.request.set_token(token_);
    call.request.set_required_scope(i % 2 == 0 ? "read" : "runs:write");
    stubs[i]->async()->Authorize(&call.context, &call.request, &call.response,
                                 [&call, &pending](grpc::Status status) {
                                   call.status = std::move(status);
                                   pending.DecrementCount();
                                 });
  }
  pending.Wait();
  const absl::Duration elapsed = absl::Now() - start;
  int allowed = 0, denied = 0;
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(calls[i].status.ok()) << i << ": " << calls[i].status.error_message();
    if (calls[i].response.allowed()) {
      ++allowed;
    } else {
      EXPECT_EQ(calls[i].response.reason(), keygate::v1::REASON_INSUFFICIENT_SCOPE);
      ++denied;
    }
  }
  EXPECT_EQ(allowed, kConnections / 2);
  EXPECT_EQ(denied, kConnections / 2);
  // Really 1,000 connections (a client and a server socket each), not a
  // shared one. A few descriptors of the process's own (gRPC's, RocksDB's)
  // may close between the two counts.
  const int fds_during = OpenFds();
  EXPECT_GE(fds_during - fds_before, 2 * kConnections - 16);
  std::cout << "1000 connections: " << elapsed << ", descriptors " << fds_before << " -> "
            << fds_during << std::endl;
  ExpectServing();
  stubs.clear();
  channels.clear();
  ExpectServing();
}

TEST_F(HostileInputTest, StreamsOpenedAndResetInALoop) {
  // Start calls and cancel them (RST_STREAM), after 0-200 µs so that some
  // resets reach the server mid-call: Authorize on the hot path and
  // CreateKey on the management pool, 2,000 times each, then 2,000 calls
  // started at once on one connection and all reset.
  constexpr int kRounds = 2000;
  std::atomic<int> cancelled{0}, completed{0}, other{0};
  auto count = [&](const grpc::Status& status) {
    if (status.error_code() == StatusCode::CANCELLED) {
      ++cancelled;
    } else if (status.ok() || status.error_code() == StatusCode::INVALID_ARGUMENT) {
      ++completed;
    } else {
      ++other;
    }
  };
  for (int i = 0; i < kRounds; ++i) {
    const auto delay = std::chrono::microseconds((i * 37) % 200);
    {
      grpc::ClientContext context;
      keygate::v1::AuthorizeRequest request;
      request.set_token(token_);
      request.set_required_scope("read");
      keygate::v1::AuthorizeResponse response;
      absl::Notification done;
      authorizer_->async()->Authorize(&context, &request, &response, [&](grpc::Status status) {
        count(status);
        done.Notify();
      });
      if (i % 2 == 1) std::this_thread::sleep_for(delay);
      context.TryCancel();
      done.WaitForNotification();
    }
    {
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + operator_token_);
      keygate::v1::CreateKeyRequest request;
      request.set_team_id("acme");
      request.set_name("reset");
      request.add_scopes("read");
      // Invalid on purpose, so that calls that complete do not fill the
      // store; they still authenticate and run on the management pool.
      request.set_environment(keygate::v1::ENVIRONMENT_UNSPECIFIED);
      keygate::v1::CreateKeyResponse response;
      absl::Notification done;
      key_manager_->async()->CreateKey(&context, &request, &response, [&](grpc::Status status) {
        count(status);
        done.Notify();
      });
      if (i % 2 == 1) std::this_thread::sleep_for(delay);
      context.TryCancel();
      done.WaitForNotification();
    }
  }
  {
    constexpr int kBurst = 2000;
    std::vector<grpc::ClientContext> contexts(kBurst);
    std::vector<keygate::v1::AuthorizeRequest> requests(kBurst);
    std::vector<keygate::v1::AuthorizeResponse> responses(kBurst);
    absl::BlockingCounter pending(kBurst);
    for (int i = 0; i < kBurst; ++i) {
      requests[i].set_token(token_);
      requests[i].set_required_scope("read");
      authorizer_->async()->Authorize(&contexts[i], &requests[i], &responses[i],
                                      [&](grpc::Status status) {
                                        count(status);
                                        pending.DecrementCount();
                                      });
    }
    for (auto& context : contexts) context.TryCancel();
    pending.Wait();
  }
  EXPECT_EQ(cancelled + completed, 2 * kRounds + 2000);
  EXPECT_EQ(other, 0);
  std::cout << "reset streams: " << cancelled << " cancelled, " << completed
            << " completed before the reset" << std::endl;
  // Calls with a deadline that passes while they are sent (1 µs): answered
  // or DEADLINE_EXCEEDED, nothing else.
  for (int i = 0; i < 100; ++i) {
    keygate::v1::AuthorizeResponse response;
    const grpc::Status status = Authorize(token_, "read", &response, absl::Microseconds(1));
    EXPECT_THAT(status.error_code(),
                ::testing::AnyOf(StatusCode::OK, StatusCode::DEADLINE_EXCEEDED));
    if (status.ok()) {
      EXPECT_TRUE(response.allowed());
    }
  }
  ExpectServing();
}

TEST_F(HostileInputTest, CallsWithoutDeadlinesComplete) {
  constexpr int kCalls = 200;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<keygate::v1::AuthorizeRequest> requests(kCalls);
  std::vector<keygate::v1::AuthorizeResponse> responses(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  absl::BlockingCounter pending(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());  // No deadline.
    requests[i].set_token(token_);
    requests[i].set_required_scope("flows:write");
    authorizer_->async()->Authorize(contexts[i].get(), &requests[i], &responses[i],
                                    [&, i](grpc::Status status) {
                                      statuses[i] = std::move(status);
                                      pending.DecrementCount();
                                    });
  }
  pending.Wait();
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_TRUE(responses[i].allowed());
  }
  // Management calls without a deadline, too.
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + operator_token_);
  keygate::v1::GetKeyRequest request;
  request.set_key_id(key_id_);
  keygate::v1::Key key;
  const grpc::Status status = key_manager_->GetKey(&context, request, &key);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(key.key_id(), key_id_);
  ExpectServing();
}

// A socket connected to the server.
int ConnectTcp(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(HostileInputTest, GarbageAndIdleTcpConnections) {
  // Not HTTP/2 at all, and a preface followed by junk: the server closes
  // those connections at once.
  for (const std::string& bytes :
       {std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string(64, '\xff'),
        std::string(4096, '\0')}) {
    const int fd = ConnectTcp(server_->port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    char buffer[4096];
    ssize_t n;
    int reads = 0;
    while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0 && ++reads < 100) {
    }
    const int error = errno;
    // Closed (0) or reset (ECONNRESET), not still open when the timeout hit.
    EXPECT_TRUE(n == 0 || (n < 0 && error != EAGAIN && error != EWOULDBLOCK))
        << "the server keeps a connection that does not speak HTTP/2 open: n=" << n
        << " errno=" << error << " input " << absl::CEscape(bytes.substr(0, 20));
    ::close(fd);
  }
  // Connections that never finish the HTTP/2 preface, or never send a byte,
  // are held by the server (see docs/reliability.md for the limits that
  // would bound them) but do not block anyone else.
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = ConnectTcp(server_->port());
    ASSERT_GE(fd, 0);
    if (i % 2 == 0) {
      const std::string partial = "PRI * HTTP/2.0\r\n";
      ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(partial.size()));
    }
    idle.push_back(fd);
  }
  ExpectServing();
  for (int fd : idle) ::close(fd);
  ExpectServing();
}

}  // namespace
}  // namespace keygate::testing
