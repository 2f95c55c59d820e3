#include "server/grpc/authorize_wire.h"

#include <cstdint>
#include <cstring>
#include <optional>

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

size_t VarintSize(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

// Encoding runs twice over the same code: once into a Sizer, to learn the
// exact length (of the whole response, and of the nested Key, whose length
// comes first), then into a Writer over a buffer of that length. So the
// output grows once, and every byte is a plain store.
class Sizer {
 public:
  void Varint(uint64_t value) { size_ += VarintSize(value); }
  void Bytes(absl::string_view bytes) { size_ += bytes.size(); }
  void Byte(char) { ++size_; }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

class Writer {
 public:
  explicit Writer(char* at) : at_(at) {}
  void Varint(uint64_t value) {
    while (value >= 0x80) {
      *at_++ = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    *at_++ = static_cast<char>(value);
  }
  void Bytes(absl::string_view bytes) {
    std::memcpy(at_, bytes.data(), bytes.size());
    at_ += bytes.size();
  }
  void Byte(char c) { *at_++ = c; }

 private:
  char* at_;
};

template <typename Out>
void Tag(int field, uint32_t wire_type, Out& out) {
  out.Varint((static_cast<uint64_t>(field) << 3) | wire_type);
}

// Scalars and strings follow proto3: default values are not written.
template <typename Out>
void VarintField(int field, uint64_t value, Out& out) {
  if (value == 0) return;
  Tag(field, kVarint, out);
  out.Varint(value);
}

// Negative int32/enum values are sign-extended to 64 bits, as protobuf does.
template <typename Out>
void Int32Field(int field, int32_t value, Out& out) {
  VarintField(field, static_cast<uint64_t>(static_cast<int64_t>(value)), out);
}

template <typename Out>
void StringField(int field, absl::string_view value, Out& out) {
  if (value.empty()) return;
  Tag(field, kLengthDelimited, out);
  out.Varint(value.size());
  out.Bytes(value);
}

// A google.protobuf.Timestamp field (always present, even at the epoch, as
// ToProto sets it).
template <typename Out>
void TimestampField(int field, absl::Time t, Out& out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  const auto nanos =
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds)));
  const uint64_t seconds_wire = static_cast<uint64_t>(seconds);
  const uint64_t nanos_wire = static_cast<uint64_t>(static_cast<int64_t>(nanos));
  const size_t size = (seconds != 0 ? 1 + VarintSize(seconds_wire) : 0) +
                      (nanos != 0 ? 1 + VarintSize(nanos_wire) : 0);
  Tag(field, kLengthDelimited, out);
  out.Varint(size);
  VarintField(google::protobuf::Timestamp::kSecondsFieldNumber, seconds_wire, out);
  VarintField(google::protobuf::Timestamp::kNanosFieldNumber, nanos_wire, out);
}

// A scope's canonical text (Scope::ToString) as a repeated string element.
template <typename Out>
void ScopeField(int field, const core::Scope& scope, Out& out) {
  const absl::string_view level = core::LevelName(scope.level);
  const size_t size =
      scope.resource.empty() ? level.size() : scope.resource.size() + 1 + level.size();
  Tag(field, kLengthDelimited, out);
  out.Varint(size);
  if (!scope.resource.empty()) {
    out.Bytes(scope.resource);
    out.Byte(':');
  }
  out.Bytes(level);
}

template <typename Out>
void KeyFields(const core::KeyRecord& key, absl::Time now, bool rotation_due, Out& out) {
  StringField(Key::kKeyIdFieldNumber, key.key_id, out);
  StringField(Key::kTeamIdFieldNumber, key.team_id, out);
  StringField(Key::kNameFieldNumber, key.name, out);
  for (const core::Scope& scope : key.scopes) ScopeField(Key::kScopesFieldNumber, scope, out);
  Int32Field(Key::kEnvironmentFieldNumber, ToProto(key.environment), out);
  StringField(Key::kDisplayPrefixFieldNumber, key.display_prefix, out);
  Int32Field(Key::kStateFieldNumber, ToProto(key.StateAt(now)), out);
  TimestampField(Key::kCreateTimeFieldNumber, key.create_time, out);
  if (key.expire_time != absl::InfiniteFuture()) {
    TimestampField(Key::kExpireTimeFieldNumber, key.expire_time, out);
  }
  if (key.revoke_time != absl::InfiniteFuture()) {
    TimestampField(Key::kRevokeTimeFieldNumber, key.revoke_time, out);
  }
  if (key.last_used_time != absl::InfinitePast()) {
    TimestampField(Key::kLastUsedTimeFieldNumber, key.last_used_time, out);
  }
  StringField(Key::kCreatedByFieldNumber, key.created_by, out);
  VarintField(Key::kOperatorFieldNumber, key.is_operator ? 1 : 0, out);
  StringField(Key::kRevokeReasonFieldNumber, key.revoke_reason, out);
  StringField(Key::kRotatedFromKeyIdFieldNumber, key.rotated_from_key_id, out);
  StringField(Key::kRotatedToKeyIdFieldNumber, key.rotated_to_key_id, out);
  VarintField(Key::kRotationDueFieldNumber, rotation_due ? 1 : 0, out);
}

// The response's fields before the Key's own: allowed, reason, http_status
// and, if `key_size` is set, the Key field's tag and length.
template <typename Out>
void ResponseHead(const core::Decision& decision, std::optional<size_t> key_size, Out& out) {
  VarintField(AuthorizeResponse::kAllowedFieldNumber, decision.allowed() ? 1 : 0, out);
  Int32Field(AuthorizeResponse::kReasonFieldNumber, ToProto(decision.reason), out);
  Int32Field(AuthorizeResponse::kHttpStatusFieldNumber, decision.http_status(), out);
  if (!key_size.has_value()) return;
  Tag(AuthorizeResponse::kKeyFieldNumber, kLengthDelimited, out);
  out.Varint(*key_size);
}

// Grows `out` by `size` bytes and returns a Writer over them.
Writer Grow(size_t size, std::string* out) {
  const size_t at = out->size();
  out->resize(at + size);
  return Writer(out->data() + at);
}

}  // namespace

void AppendKeyWire(const core::KeyRecord& key, absl::Time now, bool rotation_due,
                   std::string* out) {
  Sizer size;
  KeyFields(key, now, rotation_due, size);
  Writer writer = Grow(size.size(), out);
  KeyFields(key, now, rotation_due, writer);
}

void AppendAuthorizeResponseWire(const core::Decision& decision, const core::KeyRecord* key,
                                 absl::Time now, bool rotation_due, std::string* out) {
  std::optional<size_t> key_size;
  if (key != nullptr) {
    Sizer size;
    KeyFields(*key, now, rotation_due, size);
    key_size = size.size();
  }
  Sizer head_size;
  ResponseHead(decision, key_size, head_size);
  Writer writer = Grow(head_size.size() + key_size.value_or(0), out);
  ResponseHead(decision, key_size, writer);
  if (key != nullptr) KeyFields(*key, now, rotation_due, writer);
}

}  // namespace keygate::grpc_api
