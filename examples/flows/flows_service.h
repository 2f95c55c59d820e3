// An example internal service that lets Keygate authorize every call.
#ifndef KEYGATE_EXAMPLES_FLOWS_FLOWS_SERVICE_H_
#define KEYGATE_EXAMPLES_FLOWS_FLOWS_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/authorization_interceptor.h"
#include "flows/flows.grpc.pb.h"
#include "grpcpp/server.h"

namespace examples::flows {

// Flows of every team, in memory. Each handler acts only for the key the
// interceptor authorized, and only on that key's team. Thread-safe.
class FlowsService final : public v1::Flows::CallbackService {
 public:
  grpc::ServerUnaryReactor* ListFlows(grpc::CallbackServerContext* context,
                                      const v1::ListFlowsRequest* request,
                                      v1::ListFlowsResponse* response) override;
  grpc::ServerUnaryReactor* CreateFlow(grpc::CallbackServerContext* context,
                                       const v1::CreateFlowRequest* request,
                                       v1::Flow* response) override;

 private:
  absl::Mutex mu_;
  std::vector<v1::Flow> flows_ ABSL_GUARDED_BY(mu_);
};

// The method -> scope table of FlowsService.
keygate::InterceptorOptions FlowsAuthorization(std::shared_ptr<const keygate::Client> client);

// Starts `service` on `listen` with the Keygate interceptor; sets *port.
std::unique_ptr<grpc::Server> StartFlowsServer(const std::string& listen, FlowsService* service,
                                               keygate::InterceptorOptions authorization,
                                               int* port);

}  // namespace examples::flows

#endif  // KEYGATE_EXAMPLES_FLOWS_FLOWS_SERVICE_H_
