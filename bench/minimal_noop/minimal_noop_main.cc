// keygate-minimal-noop: the independent check's reference point (issue 6).
//
// A minimal keygate.v1.Authorizer server written the way any gRPC user would
// write one, with the generated code and the builder's defaults, sharing no
// Keygate server code: every Authorize call answers `allowed` (HTTP 200)
// without looking at the request. bench/independent.sh sends the same
// request to it and to keygate-server with a generic HTTP/2 load tool.
//
// Usage: keygate-minimal-noop --listen=127.0.0.1:0 [--api=sync|callback]
// Prints {"event":"server_started","port":N} on stderr once it listens.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "keygate/v1/authorizer.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "address to listen on");
ABSL_FLAG(std::string, api, "sync", "gRPC server API: sync or callback");

namespace {

class SyncNoop final : public keygate::v1::Authorizer::Service {
  grpc::Status Authorize(grpc::ServerContext*, const keygate::v1::AuthorizeRequest*,
                         keygate::v1::AuthorizeResponse* response) override {
    response->set_allowed(true);
    response->set_http_status(200);
    return grpc::Status::OK;
  }
};

class CallbackNoop final : public keygate::v1::Authorizer::CallbackService {
  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* context,
                                      const keygate::v1::AuthorizeRequest*,
                                      keygate::v1::AuthorizeResponse* response) override {
    response->set_allowed(true);
    response->set_http_status(200);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string api = absl::GetFlag(FLAGS_api);
  std::unique_ptr<grpc::Service> service;
  if (api == "sync") {
    service = std::make_unique<SyncNoop>();
  } else if (api == "callback") {
    service = std::make_unique<CallbackNoop>();
  } else {
    std::fprintf(stderr, "--api must be sync or callback, not %s\n", api.c_str());
    return 2;
  }
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "cannot listen on %s\n", absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  std::fprintf(stderr, "{\"event\":\"server_started\",\"port\":%d}\n", port);
  server->Wait();  // Until killed: a reference server needs no graceful stop.
  return 0;
}
