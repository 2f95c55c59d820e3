// A gRPC server interceptor that authorizes every incoming call of an
// internal C++ service with Keygate.
//
//   keygate::InterceptorOptions options;
//   options.client = std::make_shared<keygate::Client>(client_options, channel);
//   options.method_scopes = {{"/flows.v1.Flows/ListFlows", "flows:read"},
//                            {"/flows.v1.Flows/CreateFlow", "flows:write"}};
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(keygate::NewAuthorizationInterceptorFactory(std::move(options)));
//   builder.experimental().SetInterceptorCreators(std::move(f));
//
// and in every handler:
//
//   const keygate::AuthorizedKey* key = keygate::AuthorizedCaller(context);
//   if (key == nullptr) return Finish(reactor);  // Refused: the caller gets
//                                                // UNAUTHENTICATED/PERMISSION_DENIED.
//
// gRPC's C++ server interceptors cannot stop a call before its handler runs,
// so the interceptor (1) decides before the handler is invoked, (2) replaces
// the final status of a refused call with UNAUTHENTICATED or
// PERMISSION_DENIED and drops any response message, and (3) hands the
// decision to the handler through AuthorizedCaller(), which returns null for
// a refused call: handlers must not act on such a call.
#ifndef KEYGATE_CLIENT_AUTHORIZATION_INTERCEPTOR_H_
#define KEYGATE_CLIENT_AUTHORIZATION_INTERCEPTOR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "client/keygate_client.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"

namespace keygate {

// The key that authorized a call.
struct AuthorizedKey {
  std::string key_id;
  std::string team_id;
  keygate::v1::Environment environment = keygate::v1::ENVIRONMENT_UNSPECIFIED;
  std::vector<std::string> scopes;
};

struct InterceptorOptions {
  // Calls Keygate (Authorize, with its short deadline and bounded retries).
  std::shared_ptr<const Client> client;
  // Full method name ("/package.Service/Method") -> required scope. A method
  // in neither this table nor `public_methods` is refused
  // (PERMISSION_DENIED): forgetting a method fails closed.
  absl::flat_hash_map<std::string, std::string> method_scopes;
  // Methods served without a key (e.g. "/grpc.health.v1.Health/Check").
  absl::flat_hash_set<std::string> public_methods;
  // If set, keys of another environment are refused.
  keygate::v1::Environment environment = keygate::v1::ENVIRONMENT_UNSPECIFIED;
};

// A factory for ServerBuilder::experimental().SetInterceptorCreators().
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewAuthorizationInterceptorFactory(InterceptorOptions options);

// The key that authorized the call being handled on `context`; null when
// the call was refused, when Keygate could not be asked (fail closed), or
// for a public method. Valid until the call ends. Thread-safe.
const AuthorizedKey* AuthorizedCaller(const grpc::ServerContextBase* context);

}  // namespace keygate

#endif  // KEYGATE_CLIENT_AUTHORIZATION_INTERCEPTOR_H_
