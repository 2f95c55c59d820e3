#include "flows/flows_service.h"

#include <utility>

#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace examples::flows {

grpc::ServerUnaryReactor* FlowsService::ListFlows(grpc::CallbackServerContext* context,
                                                  const v1::ListFlowsRequest* request,
                                                  v1::ListFlowsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const keygate::AuthorizedKey* key = keygate::AuthorizedCaller(context);
  if (key == nullptr) {  // Refused: the interceptor sets the status.
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  absl::MutexLock lock(&mu_);
  for (const v1::Flow& flow : flows_) {
    if (flow.owner_team() == key->team_id) *response->add_flows() = flow;
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* FlowsService::CreateFlow(grpc::CallbackServerContext* context,
                                                   const v1::CreateFlowRequest* request,
                                                   v1::Flow* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const keygate::AuthorizedKey* key = keygate::AuthorizedCaller(context);
  if (key == nullptr) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  response->set_name(request->name());
  response->set_owner_team(key->team_id);
  response->set_created_by_key(key->key_id);
  {
    absl::MutexLock lock(&mu_);
    flows_.push_back(*response);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

keygate::InterceptorOptions FlowsAuthorization(std::shared_ptr<const keygate::Client> client) {
  keygate::InterceptorOptions options;
  options.client = std::move(client);
  options.method_scopes = {{"/examples.flows.v1.Flows/ListFlows", "flows:read"},
                           {"/examples.flows.v1.Flows/CreateFlow", "flows:write"}};
  return options;
}

std::unique_ptr<grpc::Server> StartFlowsServer(const std::string& listen, FlowsService* service,
                                               keygate::InterceptorOptions authorization,
                                               int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), port);
  builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(keygate::NewAuthorizationInterceptorFactory(std::move(authorization)));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  return builder.BuildAndStart();
}

}  // namespace examples::flows
