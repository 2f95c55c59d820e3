// flows-example: the example service, authorizing every call with Keygate.
//   flows-example --listen=127.0.0.1:8080 --keygate=localhost:50051
#include <csignal>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "flows/flows_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8080", "Address to serve the Flows API on");
ABSL_FLAG(std::string, keygate, "localhost:50051", "Keygate server");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  keygate::ClientOptions options;
  options.server = absl::GetFlag(FLAGS_keygate);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = keygate::CreateKeygateChannel(options);
  if (!channel.ok()) {
    std::fprintf(stderr, "flows-example: %s\n", channel.status().ToString().c_str());
    return 1;
  }
  auto client = std::make_shared<keygate::Client>(options, *channel);
  examples::flows::FlowsService service;
  int port = 0;
  std::unique_ptr<grpc::Server> server = examples::flows::StartFlowsServer(
      absl::GetFlag(FLAGS_listen), &service, examples::flows::FlowsAuthorization(client), &port);
  if (server == nullptr) {
    std::fprintf(stderr, "flows-example: cannot listen on %s\n", absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  std::fprintf(stderr, "flows-example: serving on port %d, authorizing with %s\n", port,
               options.server.c_str());
  server->Wait();
  return 0;
}
