#include "server/grpc/proto_convert.h"

#include <cstdint>

#include "absl/time/civil_time.h"

namespace keygate::grpc_api {
namespace {

// google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

}  // namespace

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

void ToProto(const core::KeyRecord& key, absl::Time now, bool rotation_due, keygate::v1::Key* out) {
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
  if (key.last_used_time != absl::InfinitePast()) {
    ToProto(key.last_used_time, out->mutable_last_used_time());
  }
  out->set_rotated_from_key_id(key.rotated_from_key_id);
  out->set_rotated_to_key_id(key.rotated_to_key_id);
  out->set_rotation_due(rotation_due);
}

void ToProto(const core::KeyUsage& usage, keygate::v1::KeyUsage* out) {
  out->set_key_id(usage.key_id);
  if (usage.last_used != absl::InfinitePast()) ToProto(usage.last_used, out->mutable_last_used_time());
  int64_t total_allowed = 0, total_denied = 0;
  for (const core::DailyUsage& day : usage.days) {
    keygate::v1::DailyUsage* d = out->add_days();
    d->set_date(absl::FormatCivilTime(day.day));
    d->set_allowed(static_cast<int64_t>(day.allowed));
    d->set_denied(static_cast<int64_t>(day.denied));
    total_allowed += d->allowed();
    total_denied += d->denied();
  }
  out->set_total_allowed(total_allowed);
  out->set_total_denied(total_denied);
  for (const core::ClientSeen& client : usage.clients) {
    keygate::v1::ClientAddress* c = out->add_client_addresses();
    c->set_address(client.address);
    ToProto(client.last_seen, c->mutable_last_seen_time());
  }
}

void ToProto(const core::AuditEvent& event, keygate::v1::AuditEvent* out) {
  out->set_event_id(event.event_id);
  ToProto(event.time, out->mutable_time());
  out->set_actor_key_id(event.actor_key_id);
  out->set_actor_is_operator(event.actor_is_operator);
  out->set_team_id(event.team_id);
  out->set_action(event.action);
  out->set_target_key_id(event.target_key_id);
  out->set_outcome(absl::StatusCodeToString(event.outcome));
  out->set_peer(event.peer);
  out->set_detail(event.detail);
}

keygate::v1::Reason ToProto(core::Reason reason) {
  static_assert(static_cast<int>(core::Reason::kMalformedToken) == keygate::v1::REASON_MALFORMED_TOKEN);
  static_assert(static_cast<int>(core::Reason::kUnknownKey) == keygate::v1::REASON_UNKNOWN_KEY);
  static_assert(static_cast<int>(core::Reason::kRevoked) == keygate::v1::REASON_REVOKED);
  static_assert(static_cast<int>(core::Reason::kExpired) == keygate::v1::REASON_EXPIRED);
  static_assert(static_cast<int>(core::Reason::kInsufficientScope) ==
                keygate::v1::REASON_INSUFFICIENT_SCOPE);
  static_assert(static_cast<int>(core::Reason::kWrongEnvironment) ==
                keygate::v1::REASON_WRONG_ENVIRONMENT);
  return static_cast<keygate::v1::Reason>(reason);
}

absl::StatusOr<absl::Duration> FromProto(const google::protobuf::Duration& d) {
  constexpr int64_t kMaxSeconds = 315576000000;  // Duration's documented range.
  if (d.seconds() < -kMaxSeconds || d.seconds() > kMaxSeconds || d.nanos() <= -1000000000 ||
      d.nanos() >= 1000000000 || (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0)) {
    return absl::InvalidArgumentError("duration is malformed");
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace keygate::grpc_api
