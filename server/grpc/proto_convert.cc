#include "server/grpc/proto_convert.h"

#include <cstdint>

namespace keygate::grpc_api {
namespace {

// google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

keygate::v1::Key::State ToProto(core::KeyState state) {
  switch (state) {
    case core::KeyState::kActive:
      return keygate::v1::Key::STATE_ACTIVE;
    case core::KeyState::kRevoked:
      return keygate::v1::Key::STATE_REVOKED;
    case core::KeyState::kExpired:
      return keygate::v1::Key::STATE_EXPIRED;
  }
  return keygate::v1::Key::STATE_UNSPECIFIED;
}

}  // namespace

keygate::v1::Environment ToProto(core::Environment env) {
  return env == core::Environment::kTest ? keygate::v1::ENVIRONMENT_TEST
                                         : keygate::v1::ENVIRONMENT_LIVE;
}

absl::StatusOr<std::optional<core::Environment>> FromProto(keygate::v1::Environment env) {
  switch (env) {
    case keygate::v1::ENVIRONMENT_UNSPECIFIED:
      return std::optional<core::Environment>();
    case keygate::v1::ENVIRONMENT_LIVE:
      return std::optional<core::Environment>(core::Environment::kLive);
    case keygate::v1::ENVIRONMENT_TEST:
      return std::optional<core::Environment>(core::Environment::kTest);
    default:
      return absl::InvalidArgumentError("environment has an unknown value");
  }
}

absl::StatusOr<absl::Time> FromProto(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds ||
      ts.nanos() < 0 || ts.nanos() > 999999999) {
    return absl::InvalidArgumentError("timestamp is out of range");
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

void ToProto(const core::KeyRecord& key, absl::Time now, keygate::v1::Key* out) {
  out->set_key_id(key.key_id);
  out->set_team_id(key.team_id);
  out->set_name(key.name);
  for (const core::Scope& scope : key.scopes) out->add_scopes(scope.ToString());
  out->set_environment(ToProto(key.environment));
  out->set_display_prefix(key.display_prefix);
  out->set_state(ToProto(key.StateAt(now)));
  ToProto(key.create_time, out->mutable_create_time());
  if (key.expire_time != absl::InfiniteFuture()) ToProto(key.expire_time, out->mutable_expire_time());
  if (key.revoke_time != absl::InfiniteFuture()) ToProto(key.revoke_time, out->mutable_revoke_time());
  out->set_created_by(key.created_by);
  out->set_operator_(key.is_operator);
  out->set_revoke_reason(key.revoke_reason);
}

}  // namespace keygate::grpc_api
