// Conversions between keygate.v1 protos and the domain types.
#ifndef KEYGATE_SERVER_GRPC_PROTO_CONVERT_H_
#define KEYGATE_SERVER_GRPC_PROTO_CONVERT_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "keygate/v1/authorizer.pb.h"
#include "keygate/v1/key.pb.h"
#include "keygate/v1/key_manager.pb.h"
#include "server/core/audit_event.h"
#include "server/core/decision.h"
#include "server/core/key_record.h"
#include "server/core/token.h"
#include "server/core/usage.h"

namespace keygate::grpc_api {

// `key`'s public metadata as seen at `now` (state is derived from it).
void ToProto(const core::KeyRecord& key, absl::Time now, bool rotation_due, keygate::v1::Key* out);

void ToProto(const core::KeyUsage& usage, keygate::v1::KeyUsage* out);
void ToProto(const core::AuditEvent& event, keygate::v1::AuditEvent* out);
keygate::v1::Reason ToProto(core::Reason reason);
keygate::v1::Key::State ToProto(core::KeyState state);

// InvalidArgument if the duration is malformed (mixed signs, out of range).
absl::StatusOr<absl::Duration> FromProto(const google::protobuf::Duration& d);

// ENVIRONMENT_UNSPECIFIED -> nullopt. InvalidArgument for unknown values.
absl::StatusOr<std::optional<core::Environment>> FromProto(keygate::v1::Environment env);
keygate::v1::Environment ToProto(core::Environment env);

// InvalidArgument if the timestamp is outside the proto's valid range.
absl::StatusOr<absl::Time> FromProto(const google::protobuf::Timestamp& ts);
void ToProto(absl::Time t, google::protobuf::Timestamp* out);

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_PROTO_CONVERT_H_
