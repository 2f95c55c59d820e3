#include "server/grpc/status_convert.h"

#include <string>

namespace keygate::grpc_api {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
      return grpc::Status(code, "internal storage error; see server log");
    case absl::StatusCode::kUnavailable:
      return grpc::Status(code, "storage is unavailable; retry later");
    case absl::StatusCode::kResourceExhausted:
      return grpc::Status(code, "storage is full; writes are refused until space is freed");
    default:
      return grpc::Status(code, std::string(status.message()));
  }
}

}  // namespace keygate::grpc_api
