// The one place where absl::Status becomes grpc::Status.
#ifndef KEYGATE_SERVER_GRPC_STATUS_CONVERT_H_
#define KEYGATE_SERVER_GRPC_STATUS_CONVERT_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace keygate::grpc_api {

// Same code, same message. DataLoss and Internal details are replaced by a
// generic message (they may describe internals); the caller still learns the
// code. Storage details are logged, not sent.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_STATUS_CONVERT_H_
