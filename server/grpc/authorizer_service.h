// keygate.v1.Authorizer over gRPC: translates to KeyService::Authorize.
#ifndef KEYGATE_SERVER_GRPC_AUTHORIZER_SERVICE_H_
#define KEYGATE_SERVER_GRPC_AUTHORIZER_SERVICE_H_

#include <string>

#include "grpcpp/support/byte_buffer.h"
#include "keygate/v1/authorizer.grpc.pb.h"
#include "server/metrics/server_metrics.h"
#include "server/service/key_service.h"

namespace keygate::grpc_api {

// Authorize without gRPC, on serialized messages: validates `request`
// (InvalidArgument for a missing or malformed required_scope or an unknown
// environment), decides, and appends the serialized AuthorizeResponse to
// `response`. Returns the store's error when no decision could be made.
// `result`, if not null, receives the decision (for metrics and logs).
absl::Status AuthorizeToWire(const service::KeyService& keys,
                             const keygate::v1::AuthorizeRequest& request, std::string* response,
                             service::AuthorizeResult* result = nullptr);

// The same, into a message: what a client of the service receives. Shared by
// tests and the fuzzer.
absl::Status AuthorizeInto(const service::KeyService& keys,
                           const keygate::v1::AuthorizeRequest& request,
                           keygate::v1::AuthorizeResponse* response);

// The hot path. Runs inline on gRPC's callback thread (a warm lookup costs
// microseconds) and takes no lock of its own. It is registered as a raw
// method: it parses the request itself and writes the response bytes
// directly (authorize_wire.h), which clients cannot tell from the generated
// message code. Thread-safe.
class AuthorizerService final : public keygate::v1::Authorizer::WithRawCallbackMethod_Authorize<
                                    keygate::v1::Authorizer::Service> {
 public:
  struct Options {
    // Every call parses the request and answers a fixed "allowed" without
    // looking at it: the benchmark baseline, the cost of gRPC alone. Never
    // in production.
    bool noop = false;
    // Where decisions and latency are counted; null: nowhere.
    metrics::ServerMetrics* metrics = nullptr;
    // Fraction of calls written to the access log (0: none, 1: all).
    double log_sample_rate = 0;
  };

  AuthorizerService(const service::KeyService* keys, Options options)
      : keys_(keys), options_(options) {}

  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

 private:
  // Records metrics and the sampled access log of one answered call.
  void Observe(grpc::CallbackServerContext* context, const keygate::v1::AuthorizeRequest& request,
               const service::AuthorizeResult& result, absl::Duration latency) const;

  const service::KeyService* const keys_;
  const Options options_;
};

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_AUTHORIZER_SERVICE_H_
