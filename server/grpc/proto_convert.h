// Conversions between keygate.v1 protos and the domain types.
#ifndef KEYGATE_SERVER_GRPC_PROTO_CONVERT_H_
#define KEYGATE_SERVER_GRPC_PROTO_CONVERT_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "keygate/v1/key.pb.h"
#include "server/core/key_record.h"
#include "server/core/token.h"

namespace keygate::grpc_api {

// `key`'s public metadata as seen at `now` (state is derived from it).
void ToProto(const core::KeyRecord& key, absl::Time now, keygate::v1::Key* out);

// ENVIRONMENT_UNSPECIFIED -> nullopt. InvalidArgument for unknown values.
absl::StatusOr<std::optional<core::Environment>> FromProto(keygate::v1::Environment env);
keygate::v1::Environment ToProto(core::Environment env);

// InvalidArgument if the timestamp is outside the proto's valid range.
absl::StatusOr<absl::Time> FromProto(const google::protobuf::Timestamp& ts);
void ToProto(absl::Time t, google::protobuf::Timestamp* out);

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_PROTO_CONVERT_H_
