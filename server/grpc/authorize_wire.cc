#include "server/grpc/authorize_wire.h"

#include <cstdint>

#include "absl/strings/string_view.h"
#include "keygate/v1/authorizer.pb.h"
#include "keygate/v1/key.pb.h"
#include "server/grpc/proto_convert.h"

namespace keygate::grpc_api {
namespace {

using keygate::v1::AuthorizeResponse;
using keygate::v1::Key;

// Protocol Buffers wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

void AppendVarint(uint64_t value, std::string* out) {
  char bytes[10];
  size_t size = 0;
  while (value >= 0x80) {
    bytes[size++] = static_cast<char>(value | 0x80);
    value >>= 7;
  }
  bytes[size++] = static_cast<char>(value);
  out->append(bytes, size);
}

size_t VarintSize(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

void AppendTag(int field, uint32_t wire_type, std::string* out) {
  AppendVarint((static_cast<uint64_t>(field) << 3) | wire_type, out);
}

// Scalars and strings follow proto3: default values are not written.
void AppendVarintField(int field, uint64_t value, std::string* out) {
  if (value == 0) return;
  AppendTag(field, kVarint, out);
  AppendVarint(value, out);
}

// Negative int32/enum values are sign-extended to 64 bits, as protobuf does.
void AppendInt32Field(int field, int32_t value, std::string* out) {
  AppendVarintField(field, static_cast<uint64_t>(static_cast<int64_t>(value)), out);
}

void AppendStringField(int field, absl::string_view value, std::string* out) {
  if (value.empty()) return;
  AppendTag(field, kLengthDelimited, out);
  AppendVarint(value.size(), out);
  out->append(value.data(), value.size());
}

// A google.protobuf.Timestamp field (always present, even at the epoch, as
// ToProto sets it).
void AppendTimestampField(int field, absl::Time t, std::string* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  const auto nanos =
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds)));
  const uint64_t seconds_wire = static_cast<uint64_t>(seconds);
  const size_t size = (seconds != 0 ? 1 + VarintSize(seconds_wire) : 0) +
                      (nanos != 0 ? 1 + VarintSize(static_cast<uint64_t>(nanos)) : 0);
  AppendTag(field, kLengthDelimited, out);
  AppendVarint(size, out);
  AppendVarintField(google::protobuf::Timestamp::kSecondsFieldNumber, seconds_wire, out);
  AppendInt32Field(google::protobuf::Timestamp::kNanosFieldNumber, nanos, out);
}

// A scope's canonical text (Scope::ToString) as a repeated string element.
void AppendScopeField(int field, const core::Scope& scope, std::string* out) {
  const absl::string_view level = core::LevelName(scope.level);
  const size_t size =
      scope.resource.empty() ? level.size() : scope.resource.size() + 1 + level.size();
  AppendTag(field, kLengthDelimited, out);
  AppendVarint(size, out);
  if (!scope.resource.empty()) {
    out->append(scope.resource);
    out->push_back(':');
  }
  out->append(level.data(), level.size());
}

}  // namespace

void AppendKeyWire(const core::KeyRecord& key, absl::Time now, bool rotation_due,
                   std::string* out) {
  AppendStringField(Key::kKeyIdFieldNumber, key.key_id, out);
  AppendStringField(Key::kTeamIdFieldNumber, key.team_id, out);
  AppendStringField(Key::kNameFieldNumber, key.name, out);
  for (const core::Scope& scope : key.scopes) AppendScopeField(Key::kScopesFieldNumber, scope, out);
  AppendInt32Field(Key::kEnvironmentFieldNumber, ToProto(key.environment), out);
  AppendStringField(Key::kDisplayPrefixFieldNumber, key.display_prefix, out);
  AppendInt32Field(Key::kStateFieldNumber, ToProto(key.StateAt(now)), out);
  AppendTimestampField(Key::kCreateTimeFieldNumber, key.create_time, out);
  if (key.expire_time != absl::InfiniteFuture()) {
    AppendTimestampField(Key::kExpireTimeFieldNumber, key.expire_time, out);
  }
  if (key.revoke_time != absl::InfiniteFuture()) {
    AppendTimestampField(Key::kRevokeTimeFieldNumber, key.revoke_time, out);
  }
  if (key.last_used_time != absl::InfinitePast()) {
    AppendTimestampField(Key::kLastUsedTimeFieldNumber, key.last_used_time, out);
  }
  AppendStringField(Key::kCreatedByFieldNumber, key.created_by, out);
  AppendVarintField(Key::kOperatorFieldNumber, key.is_operator ? 1 : 0, out);
  AppendStringField(Key::kRevokeReasonFieldNumber, key.revoke_reason, out);
  AppendStringField(Key::kRotatedFromKeyIdFieldNumber, key.rotated_from_key_id, out);
  AppendStringField(Key::kRotatedToKeyIdFieldNumber, key.rotated_to_key_id, out);
  AppendVarintField(Key::kRotationDueFieldNumber, rotation_due ? 1 : 0, out);
}

void AppendAuthorizeResponseWire(const core::Decision& decision, const core::KeyRecord* key,
                                 absl::Time now, bool rotation_due, std::string* out) {
  AppendVarintField(AuthorizeResponse::kAllowedFieldNumber, decision.allowed() ? 1 : 0, out);
  AppendInt32Field(AuthorizeResponse::kReasonFieldNumber, ToProto(decision.reason), out);
  AppendInt32Field(AuthorizeResponse::kHttpStatusFieldNumber, decision.http_status(), out);
  if (key == nullptr) return;
  // The key is length-delimited: written after a placeholder for its length,
  // then moved into place once the length is known.
  AppendTag(AuthorizeResponse::kKeyFieldNumber, kLengthDelimited, out);
  const size_t length_at = out->size();
  AppendKeyWire(*key, now, rotation_due, out);
  const size_t length = out->size() - length_at;
  std::string prefix;
  AppendVarint(length, &prefix);
  out->insert(length_at, prefix);
}

}  // namespace keygate::grpc_api
