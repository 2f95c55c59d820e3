// keygate.v1.Authorizer over gRPC: translates to KeyService::Authorize.
#ifndef KEYGATE_SERVER_GRPC_AUTHORIZER_SERVICE_H_
#define KEYGATE_SERVER_GRPC_AUTHORIZER_SERVICE_H_

#include "keygate/v1/authorizer.grpc.pb.h"
#include "server/metrics/server_metrics.h"
#include "server/service/key_service.h"

namespace keygate::grpc_api {

// Authorize without gRPC: validates `request` (InvalidArgument for a
// missing or malformed required_scope or an unknown environment), decides,
// and fills `response`. Returns the store's error when no decision could be
// made. Shared by the service and the fuzzer.
absl::Status AuthorizeInto(const service::KeyService& keys,
                           const keygate::v1::AuthorizeRequest& request,
                           keygate::v1::AuthorizeResponse* response);

// The hot path. Runs inline on gRPC's callback thread (a warm lookup costs
// microseconds) and takes no lock of its own. Thread-safe.
class AuthorizerService final : public keygate::v1::Authorizer::CallbackService {
 public:
  struct Options {
    // Every call answers a fixed "allowed" without looking at the request:
    // the benchmark baseline, the cost of gRPC alone. Never in production.
    bool noop = false;
    // Where decisions and latency are counted; null: nowhere.
    metrics::ServerMetrics* metrics = nullptr;
    // Fraction of calls written to the access log (0: none, 1: all).
    double log_sample_rate = 0;
  };

  AuthorizerService(const service::KeyService* keys, Options options)
      : keys_(keys), options_(options) {}

  // keygate::v1::Authorizer::CallbackService
  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* context,
                                      const keygate::v1::AuthorizeRequest* request,
                                      keygate::v1::AuthorizeResponse* response) override;

 private:
  const service::KeyService* const keys_;
  const Options options_;
};

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_AUTHORIZER_SERVICE_H_
