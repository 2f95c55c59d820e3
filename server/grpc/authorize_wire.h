// The serialized keygate.v1.AuthorizeResponse, written directly from the
// domain types: the Authorize hot path answers without building (and then
// destroying) a response message with a dozen heap strings.
#ifndef KEYGATE_SERVER_GRPC_AUTHORIZE_WIRE_H_
#define KEYGATE_SERVER_GRPC_AUTHORIZE_WIRE_H_

#include <string>

#include "absl/time/time.h"
#include "server/core/decision.h"
#include "server/core/key_record.h"

namespace keygate::grpc_api {

// Appends the serialized keygate.v1.Key of `key` as seen at `now`: the bytes
// that parse to exactly the message ToProto(key, now, rotation_due, &msg)
// builds (proto_convert.h; the equivalence is tested field by field).
void AppendKeyWire(const core::KeyRecord& key, absl::Time now, bool rotation_due, std::string* out);

// Appends the serialized keygate.v1.AuthorizeResponse for `decision` and, if
// not null, the matched `key` (with its metadata as AppendKeyWire).
void AppendAuthorizeResponseWire(const core::Decision& decision, const core::KeyRecord* key,
                                 absl::Time now, bool rotation_due, std::string* out);

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_AUTHORIZE_WIRE_H_
