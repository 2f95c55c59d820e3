// Wire compatibility with Envoy's published v3 API, independent of our copy
// of the protos: requests are encoded by hand with CodedOutputStream, sent
// with a GenericStub to /envoy.service.auth.v3.Authorization/Check, and the
// responses are decoded by field number. Every number below was written from
// the upstream files (envoyproxy/data-plane-api, mirrored in envoyproxy/envoy
// under api/; googleapis/googleapis google/rpc/status.proto), not from
// proto/ — if our copy drifted from upstream, these tests would fail.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "tests/server/envoy/envoy_fixture.h"

namespace keygate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Upstream field numbers.
// envoy/service/auth/v3/external_auth.proto
constexpr int kCheckRequestAttributes = 1;
constexpr int kCheckResponseStatus = 1;
constexpr int kCheckResponseDenied = 2;
constexpr int kCheckResponseOk = 3;
constexpr int kDeniedStatus = 1;
constexpr int kDeniedHeaders = 2;
constexpr int kDeniedBody = 3;
constexpr int kOkHeaders = 2;
constexpr int kOkHeadersToRemove = 5;
// envoy/service/auth/v3/attribute_context.proto
constexpr int kAttributesSource = 1;
constexpr int kAttributesDestination = 2;
constexpr int kAttributesRequest = 4;
constexpr int kAttributesContextExtensions = 10;
constexpr int kAttributesMetadataContext = 11;  // Not in our subset: must be skipped.
constexpr int kPeerAddress = 1;
constexpr int kRequestHttp = 2;
constexpr int kHttpId = 1;
constexpr int kHttpMethod = 2;
constexpr int kHttpHeaders = 3;
constexpr int kHttpPath = 4;
constexpr int kHttpHost = 5;
constexpr int kHttpSize = 9;
constexpr int kHttpProtocol = 10;
constexpr int kHttpBody = 11;  // Not in our subset: must be skipped.
constexpr int kMapKey = 1;     // Map entries: key = 1, value = 2.
constexpr int kMapValue = 2;
// envoy/config/core/v3/address.proto
constexpr int kAddressSocketAddress = 1;
constexpr int kSocketAddressAddress = 2;
constexpr int kSocketAddressPortValue = 3;
// envoy/config/core/v3/base.proto
constexpr int kOptionHeader = 1;
constexpr int kOptionAppend = 2;  // google.protobuf.BoolValue (value = 1).
constexpr int kOptionAppendAction = 3;
constexpr int kHeaderKey = 1;
constexpr int kHeaderValue = 2;
constexpr int kBoolValueValue = 1;
constexpr uint64_t kOverwriteIfExistsOrAdd = 2;
// envoy/type/v3/http_status.proto
constexpr int kHttpStatusCode = 1;
// google/rpc/status.proto
constexpr int kRpcStatusCode = 1;

constexpr int kWireVarint = 0;
constexpr int kWireLengthDelimited = 2;

// A message under construction, encoded field by field.
class Wire {
 public:
  Wire& String(int field, const std::string& value) {
    google::protobuf::io::StringOutputStream stream(&data_);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.WriteTag(static_cast<uint32_t>(field << 3 | kWireLengthDelimited));
    out.WriteVarint32(static_cast<uint32_t>(value.size()));
    out.WriteString(value);
    return *this;
  }
  Wire& Message(int field, const Wire& message) { return String(field, message.data_); }
  Wire& Varint(int field, uint64_t value) {
    google::protobuf::io::StringOutputStream stream(&data_);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.WriteTag(static_cast<uint32_t>(field << 3 | kWireVarint));
    out.WriteVarint64(value);
    return *this;
  }
  // One entry of a map<string, string> field.
  Wire& MapEntry(int field, const std::string& key, const std::string& value) {
    return Message(field, Wire().String(kMapKey, key).String(kMapValue, value));
  }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

// One decoded field.
struct Field {
  int number = 0;
  int wire_type = 0;
  uint64_t varint = 0;
  std::string bytes;
};

// Decodes the top level of a message; fails the test on malformed input.
std::vector<Field> Decode(const std::string& data) {
  std::vector<Field> fields;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(data.data()),
                                            static_cast<int>(data.size()));
  while (uint32_t tag = in.ReadTag()) {
    Field field;
    field.number = static_cast<int>(tag >> 3);
    field.wire_type = static_cast<int>(tag & 7);
    bool ok = false;
    switch (field.wire_type) {
      case kWireVarint:
        ok = in.ReadVarint64(&field.varint);
        break;
      case kWireLengthDelimited: {
        uint32_t size = 0;
        ok = in.ReadVarint32(&size) && in.ReadString(&field.bytes, static_cast<int>(size));
        break;
      }
      default:
        ADD_FAILURE() << "unexpected wire type " << field.wire_type << " for field "
                      << field.number;
        return fields;
    }
    if (!ok) {
      ADD_FAILURE() << "truncated field " << field.number;
      return fields;
    }
    fields.push_back(std::move(field));
  }
  EXPECT_TRUE(in.ConsumedEntireMessage()) << "garbage after the last field";
  return fields;
}

std::vector<const Field*> All(const std::vector<Field>& fields, int number) {
  std::vector<const Field*> found;
  for (const Field& field : fields) {
    if (field.number == number) found.push_back(&field);
  }
  return found;
}

bool Has(const std::vector<Field>& fields, int number) { return !All(fields, number).empty(); }

// The only occurrence of length-delimited `number` (empty if absent).
std::string BytesOf(const std::vector<Field>& fields, int number) {
  const std::vector<const Field*> found = All(fields, number);
  EXPECT_LE(found.size(), 1u) << "field " << number << " repeated";
  if (found.empty()) return "";
  EXPECT_EQ(found[0]->wire_type, kWireLengthDelimited) << "field " << number;
  return found[0]->bytes;
}

// The varint `number`; 0 (the proto3 default) if absent.
uint64_t VarintOf(const std::vector<Field>& fields, int number) {
  const std::vector<const Field*> found = All(fields, number);
  EXPECT_LE(found.size(), 1u) << "field " << number << " repeated";
  if (found.empty()) return 0;
  EXPECT_EQ(found[0]->wire_type, kWireVarint) << "field " << number;
  return found[0]->varint;
}

// A decoded HeaderValueOption.
struct Header {
  std::string key;
  std::string value;
  bool has_append = false;
  uint64_t append = 0;
  uint64_t append_action = 0;
};

std::vector<Header> DecodeHeaders(const std::vector<Field>& message, int number) {
  std::vector<Header> headers;
  for (const Field* option_field : All(message, number)) {
    const std::vector<Field> option = Decode(option_field->bytes);
    const std::vector<Field> header = Decode(BytesOf(option, kOptionHeader));
    Header decoded;
    decoded.key = BytesOf(header, kHeaderKey);
    decoded.value = BytesOf(header, kHeaderValue);
    decoded.has_append = Has(option, kOptionAppend);
    decoded.append = VarintOf(Decode(BytesOf(option, kOptionAppend)), kBoolValueValue);
    decoded.append_action = VarintOf(option, kOptionAppendAction);
    headers.push_back(std::move(decoded));
  }
  return headers;
}

const Header* FindHeader(const std::vector<Header>& headers, const std::string& key) {
  for (const Header& header : headers) {
    if (header.key == key) return &header;
  }
  return nullptr;
}

class EnvoyWireCompatTest : public EnvoyFixture {
 protected:
  // A CheckRequest as Envoy's HTTP filter builds it, including fields our
  // subset does not declare.
  static std::string EncodeCheckRequest(const std::string& method, const std::string& path,
                                        const std::string& authorization,
                                        const std::string& required_scope) {
    Wire source_address;
    source_address.Message(kAddressSocketAddress,
                           Wire()
                               .String(kSocketAddressAddress, "198.51.100.23")
                               .Varint(kSocketAddressPortValue, 51234));
    Wire destination_address;
    destination_address.Message(
        kAddressSocketAddress,
        Wire().String(kSocketAddressAddress, "10.0.0.5").Varint(kSocketAddressPortValue, 8080));

    Wire http;
    http.String(kHttpId, "6b1f3c2e-request-id")
        .String(kHttpMethod, method)
        .MapEntry(kHttpHeaders, ":authority", "api.flowstack.test")
        .MapEntry(kHttpHeaders, "user-agent", "curl/8.0");
    if (!authorization.empty()) http.MapEntry(kHttpHeaders, "authorization", authorization);
    http.String(kHttpPath, path)
        .String(kHttpHost, "api.flowstack.test")
        .Varint(kHttpSize, static_cast<uint64_t>(int64_t{-1}))
        .String(kHttpProtocol, "HTTP/1.1")
        .String(kHttpBody, "");

    Wire attributes;
    attributes.Message(kAttributesSource, Wire().Message(kPeerAddress, source_address))
        .Message(kAttributesDestination, Wire().Message(kPeerAddress, destination_address))
        .Message(kAttributesRequest, Wire().Message(kRequestHttp, http))
        .Message(kAttributesMetadataContext, Wire());
    if (!required_scope.empty()) {
      attributes.MapEntry(kAttributesContextExtensions, "required_scope", required_scope);
    }
    return Wire().Message(kCheckRequestAttributes, attributes).data();
  }

  // Sends raw bytes to the Check method; returns the raw response.
  std::string CallCheck(const std::string& request) {
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice slice(request);
    const grpc::ByteBuffer request_buffer(&slice, 1);
    grpc::ByteBuffer response_buffer;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(&context, "/envoy.service.auth.v3.Authorization/Check", grpc::StubOptions(),
                   &request_buffer, &response_buffer, [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(response_buffer.Dump(&slices).ok());
    std::string response;
    for (const grpc::Slice& s : slices) {
      response.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return response;
  }

  // Asserts a denied CheckResponse; returns its decoded headers and body.
  static void ExpectDenied(const std::string& raw, uint64_t rpc_code, uint64_t http_status,
                           std::vector<Header>* headers, std::string* body) {
    const std::vector<Field> response = Decode(raw);
    EXPECT_EQ(VarintOf(Decode(BytesOf(response, kCheckResponseStatus)), kRpcStatusCode), rpc_code);
    EXPECT_FALSE(Has(response, kCheckResponseOk));
    ASSERT_TRUE(Has(response, kCheckResponseDenied));
    const std::vector<Field> denied = Decode(BytesOf(response, kCheckResponseDenied));
    EXPECT_EQ(VarintOf(Decode(BytesOf(denied, kDeniedStatus)), kHttpStatusCode), http_status);
    *headers = DecodeHeaders(denied, kDeniedHeaders);
    *body = BytesOf(denied, kDeniedBody);
  }
};

TEST_F(EnvoyWireCompatTest, AllowedResponseDecodesByUpstreamNumbers) {
  const TestKey key = MakeKey("acme", {"flows:read", "runs:read"}, core::Environment::kTest);
  const std::string raw =
      CallCheck(EncodeCheckRequest("GET", "/api/v1/flows/f_1?page=2", "Bearer " + key.token,
                                   /*required_scope=*/"flows:read"));
  const std::vector<Field> response = Decode(raw);

  EXPECT_EQ(VarintOf(Decode(BytesOf(response, kCheckResponseStatus)), kRpcStatusCode), 0u);
  EXPECT_FALSE(Has(response, kCheckResponseDenied));
  ASSERT_TRUE(Has(response, kCheckResponseOk));
  const std::vector<Field> ok = Decode(BytesOf(response, kCheckResponseOk));

  const std::vector<Header> headers = DecodeHeaders(ok, kOkHeaders);
  ASSERT_EQ(headers.size(), 4u);
  const Header* key_id = FindHeader(headers, "x-keygate-key-id");
  const Header* team = FindHeader(headers, "x-keygate-team-id");
  const Header* environment = FindHeader(headers, "x-keygate-environment");
  const Header* scopes = FindHeader(headers, "x-keygate-scopes");
  ASSERT_NE(key_id, nullptr);
  ASSERT_NE(team, nullptr);
  ASSERT_NE(environment, nullptr);
  ASSERT_NE(scopes, nullptr);
  EXPECT_EQ(key_id->value, key.record.key_id);
  EXPECT_EQ(team->value, "acme");
  EXPECT_EQ(environment->value, "test");
  EXPECT_EQ(scopes->value, "flows:read,runs:read");
  for (const Header& header : headers) {
    SCOPED_TRACE(header.key);
    // append: a BoolValue that is present and false (overwrite).
    EXPECT_TRUE(header.has_append);
    EXPECT_EQ(header.append, 0u);
    EXPECT_EQ(header.append_action, kOverwriteIfExistsOrAdd);
  }

  std::vector<std::string> removed;
  for (const Field* field : All(ok, kOkHeadersToRemove)) removed.push_back(field->bytes);
  EXPECT_THAT(removed, UnorderedElementsAre("authorization"));
}

TEST_F(EnvoyWireCompatTest, MissingCredentialIsUnauthenticated401) {
  std::vector<Header> headers;
  std::string body;
  ExpectDenied(CallCheck(EncodeCheckRequest("GET", "/api/v1/flows", "", "")), 16, 401, &headers,
               &body);
  const Header* challenge = FindHeader(headers, "www-authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(challenge->value, "Bearer realm=\"flowstack\"");
  const Header* content_type = FindHeader(headers, "content-type");
  ASSERT_NE(content_type, nullptr);
  EXPECT_EQ(content_type->value, "application/json");
  EXPECT_THAT(body, HasSubstr("\"error\":\"unauthorized\""));
}

TEST_F(EnvoyWireCompatTest, RevokedKeyIsUnauthenticated401InvalidToken) {
  const TestKey key = MakeKey("acme", {"admin"});
  Revoke(key.record.key_id);
  std::vector<Header> headers;
  std::string body;
  ExpectDenied(CallCheck(EncodeCheckRequest("GET", "/x", "Bearer " + key.token, "")), 16, 401,
               &headers, &body);
  const Header* challenge = FindHeader(headers, "www-authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(challenge->value, "Bearer realm=\"flowstack\", error=\"invalid_token\"");
  EXPECT_EQ(body, "{\"error\":\"unauthorized\",\"reason\":\"REASON_REVOKED\"}");
}

TEST_F(EnvoyWireCompatTest, ContextExtensionScopeIsReadFromField10) {
  const TestKey key = MakeKey("acme", {"flows:read"});
  std::vector<Header> headers;
  std::string body;
  ExpectDenied(
      CallCheck(EncodeCheckRequest("GET", "/api/v1/flows", "Bearer " + key.token, "runs:write")), 7,
      403, &headers, &body);
  const Header* challenge = FindHeader(headers, "www-authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(challenge->value,
            "Bearer realm=\"flowstack\", error=\"insufficient_scope\", scope=\"runs:write\"");
  EXPECT_THAT(body, HasSubstr("REASON_INSUFFICIENT_SCOPE"));
}

TEST_F(EnvoyWireCompatTest, MethodAndPathAreReadFromFields2And4) {
  // The route table asks flows:write for a POST under /api/v1/flows.
  const TestKey key = MakeKey("acme", {"flows:read"});
  std::vector<Header> headers;
  std::string body;
  ExpectDenied(CallCheck(EncodeCheckRequest("POST", "/api/v1/flows/f_1?dry_run=1",
                                            "Bearer " + key.token, "")),
               7, 403, &headers, &body);
  const Header* challenge = FindHeader(headers, "www-authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_THAT(challenge->value, HasSubstr("scope=\"flows:write\""));
}

}  // namespace
}  // namespace keygate::testing
