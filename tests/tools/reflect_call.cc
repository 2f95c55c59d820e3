// reflect_call: a minimal grpcurl-like client driven only by server reflection.
//
// It has no compiled-in knowledge of the services it calls: every schema is
// fetched at run time over grpc.reflection.v1alpha, assembled into a
// DescriptorPool and used to translate JSON <-> DynamicMessage. The tests use
// it to prove that a client that knows nothing but reflection can use an API.
// Only unary methods are supported; the channel is insecure.

#include <grpcpp/grpcpp.h>
#include <grpcpp/generic/generic_stub.h>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace {

namespace pb = ::google::protobuf;
namespace refl = ::grpc::reflection::v1alpha;

constexpr auto kDeadline = std::chrono::seconds(10);
constexpr int kUsageExit = 2;     // bad command line
constexpr int kLocalExit = 1;     // local failure: bad JSON, unknown symbol...
constexpr int kGrpcExitBase = 64;  // gRPC error: 64 + status code

constexpr char kUsage[] = R"(Usage:
  reflect_call [-H 'name: value']... ADDR list [SERVICE]
  reflect_call [-H 'name: value']... ADDR describe SYMBOL
  reflect_call [-H 'name: value']... [-d JSON] ADDR SERVICE/METHOD

  list              print the services (or the methods of SERVICE)
  describe SYMBOL   print the descriptor of a service, method, message or enum
  SERVICE/METHOD    call a unary method with the JSON request (-d, default {},
                    '-d @' reads it from stdin); print the response as JSON

Options:
  -H 'name: value'  request metadata (repeatable), sent with every call
  -d JSON           request body for a method call
  -h, --help        this help

All schemas come from server reflection (grpc.reflection.v1alpha). Insecure
channel, 10 s deadline per RPC.

Exit status: 0 OK; 1 local error (bad JSON, unknown symbol, unsupported
method); 2 usage error; 64 + gRPC status code when an RPC fails, e.g. 65
CANCELLED, 67 INVALID_ARGUMENT, 69 NOT_FOUND, 71 PERMISSION_DENIED,
78 UNAVAILABLE, 80 UNAUTHENTICATED. RPC errors are printed on stderr as
"ERROR: code=<CODE_NAME> message=<message>".
)";

using Metadata = std::vector<std::pair<std::string, std::string>>;

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",               "CANCELLED",          "UNKNOWN",
      "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",  "NOT_FOUND",
      "ALREADY_EXISTS",   "PERMISSION_DENIED",  "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED",         "OUT_OF_RANGE",
      "UNIMPLEMENTED",    "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS",        "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(std::size(kNames)) ? kNames[i]
                                                            : "UNKNOWN_CODE";
}

int ReportRpcError(const grpc::Status& status) {
  std::cerr << "ERROR: code=" << CodeName(status.error_code())
            << " message=" << status.error_message() << "\n";
  return kGrpcExitBase + static_cast<int>(status.error_code());
}

int ReportLocalError(const std::string& message) {
  std::cerr << "ERROR: " << message << "\n";
  return kLocalExit;
}

void PrepareContext(const Metadata& metadata, grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + kDeadline);
  for (const auto& [name, value] : metadata) context->AddMetadata(name, value);
}

// One ServerReflectionInfo stream, used request by request. It also builds
// the DescriptorPool of every file it has fetched.
class ReflectionClient {
 public:
  ReflectionClient(const std::shared_ptr<grpc::Channel>& channel,
                   const Metadata& metadata)
      : stub_(refl::ServerReflection::NewStub(channel)) {
    PrepareContext(metadata, &context_);
    stream_ = stub_->ServerReflectionInfo(&context_);
  }

  ~ReflectionClient() {
    if (!finished_) {
      stream_->WritesDone();
      stream_->Finish().IgnoreError();
    }
  }

  grpc::Status ListServices(std::vector<std::string>* names) {
    refl::ServerReflectionRequest request;
    request.set_list_services("");
    refl::ServerReflectionResponse response;
    grpc::Status status = RoundTrip(request, &response);
    if (!status.ok()) return status;
    for (const auto& service : response.list_services_response().service()) {
      names->push_back(service.name());
    }
    return grpc::Status::OK;
  }

  // Makes sure the file that defines `symbol` (and its imports) is in pool().
  grpc::Status LoadSymbol(const std::string& symbol) {
    refl::ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    std::string file_name;
    grpc::Status status = Fetch(request, &file_name);
    return status.ok() ? BuildFile(file_name) : status;
  }

  const pb::DescriptorPool& pool() const { return pool_; }

 private:
  // Sends one request and reads its answer; reflection errors become Status.
  grpc::Status RoundTrip(const refl::ServerReflectionRequest& request,
                         refl::ServerReflectionResponse* response) {
    if (finished_) return grpc::Status(grpc::StatusCode::INTERNAL, "stream closed");
    if (!stream_->Write(request) || !stream_->Read(response)) {
      finished_ = true;
      grpc::Status status = stream_->Finish();
      return status.ok() ? grpc::Status(grpc::StatusCode::INTERNAL,
                                        "reflection stream ended early")
                         : status;
    }
    if (response->has_error_response()) {
      const auto& error = response->error_response();
      return grpc::Status(static_cast<grpc::StatusCode>(error.error_code()),
                          "reflection: " + error.error_message());
    }
    return grpc::Status::OK;
  }

  // Fetches file descriptors and remembers them; `first` gets the name of the
  // first one (the requested file; the rest are its imports).
  grpc::Status Fetch(const refl::ServerReflectionRequest& request,
                     std::string* first) {
    refl::ServerReflectionResponse response;
    grpc::Status status = RoundTrip(request, &response);
    if (!status.ok()) return status;
    for (const std::string& bytes :
         response.file_descriptor_response().file_descriptor_proto()) {
      pb::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) {
        return grpc::Status(grpc::StatusCode::INTERNAL,
                            "unparsable file descriptor from reflection");
      }
      if (first->empty()) *first = file.name();
      fetched_.emplace(file.name(), std::move(file));
    }
    if (first->empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no file descriptor");
    }
    return grpc::Status::OK;
  }

  // Adds `name` to the pool after its imports, fetching what is missing via
  // file_by_filename. Well-known google/protobuf/* files fall back to the
  // copies compiled into libprotobuf if the server does not serve them.
  grpc::Status BuildFile(const std::string& name) {
    if (pool_.FindFileByName(name) != nullptr) return grpc::Status::OK;
    if (fetched_.count(name) == 0) {
      refl::ServerReflectionRequest request;
      request.set_file_by_filename(name);
      std::string ignored;
      grpc::Status status = Fetch(request, &ignored);
      if (!status.ok() || fetched_.count(name) == 0) {
        const pb::FileDescriptor* builtin =
            name.rfind("google/protobuf/", 0) == 0
                ? pb::DescriptorPool::generated_pool()->FindFileByName(name)
                : nullptr;
        if (builtin == nullptr) {
          return status.ok() ? grpc::Status(grpc::StatusCode::NOT_FOUND,
                                            "reflection did not return " + name)
                             : status;
        }
        builtin->CopyTo(&fetched_[name]);
      }
    }
    const pb::FileDescriptorProto& file = fetched_.at(name);
    for (const std::string& dependency : file.dependency()) {
      grpc::Status status = BuildFile(dependency);
      if (!status.ok()) return status;
    }
    if (pool_.BuildFile(file) == nullptr) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "invalid file descriptor " + name);
    }
    return grpc::Status::OK;
  }

  std::unique_ptr<refl::ServerReflection::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<refl::ServerReflectionRequest,
                                           refl::ServerReflectionResponse>>
      stream_;
  bool finished_ = false;
  std::map<std::string, pb::FileDescriptorProto> fetched_;
  pb::DescriptorPool pool_;
};

// `list` and `list SERVICE`.
int List(ReflectionClient& reflection, const std::string& service_name) {
  if (service_name.empty()) {
    std::vector<std::string> names;
    grpc::Status status = reflection.ListServices(&names);
    if (!status.ok()) return ReportRpcError(status);
    for (const std::string& name : names) std::cout << name << "\n";
    return 0;
  }
  grpc::Status status = reflection.LoadSymbol(service_name);
  if (!status.ok()) return ReportRpcError(status);
  const pb::ServiceDescriptor* service =
      reflection.pool().FindServiceByName(service_name);
  if (service == nullptr) return ReportLocalError(service_name + " is not a service");
  for (int i = 0; i < service->method_count(); ++i) {
    std::cout << service->method(i)->full_name() << "\n";
  }
  return 0;
}

// `describe SYMBOL`: prints the descriptor in .proto syntax, with leading
// comments when the server sent source_code_info.
int Describe(ReflectionClient& reflection, std::string symbol) {
  for (char& c : symbol) c = c == '/' ? '.' : c;  // Service/Method form.
  grpc::Status status = reflection.LoadSymbol(symbol);
  if (!status.ok()) return ReportRpcError(status);
  pb::DebugStringOptions options;
  options.include_comments = true;
  const pb::DescriptorPool& pool = reflection.pool();
  if (const auto* d = pool.FindServiceByName(symbol)) {
    std::cout << symbol << " is a service:\n" << d->DebugStringWithOptions(options);
  } else if (const auto* d = pool.FindMethodByName(symbol)) {
    std::cout << symbol << " is a method:\n" << d->DebugStringWithOptions(options);
  } else if (const auto* d = pool.FindMessageTypeByName(symbol)) {
    std::cout << symbol << " is a message:\n" << d->DebugStringWithOptions(options);
  } else if (const auto* d = pool.FindEnumTypeByName(symbol)) {
    std::cout << symbol << " is an enum:\n" << d->DebugStringWithOptions(options);
  } else {
    return ReportLocalError("cannot describe " + symbol);
  }
  return 0;
}

// `SERVICE/METHOD`: JSON -> DynamicMessage -> generic unary call -> JSON.
int Call(ReflectionClient& reflection,
         const std::shared_ptr<grpc::Channel>& channel,
         const Metadata& metadata, const std::string& target,
         const std::string& json) {
  size_t split = target.rfind('/');
  if (split == std::string::npos) split = target.rfind('.');
  if (split == std::string::npos) return ReportLocalError("bad method " + target);
  const std::string service_name = target.substr(0, split);
  const std::string method_name = service_name + "." + target.substr(split + 1);

  grpc::Status status = reflection.LoadSymbol(service_name);
  if (!status.ok()) return ReportRpcError(status);
  const pb::MethodDescriptor* method =
      reflection.pool().FindMethodByName(method_name);
  if (method == nullptr) return ReportLocalError("no method " + method_name);
  if (method->client_streaming() || method->server_streaming()) {
    return ReportLocalError(method_name + " is streaming; only unary is supported");
  }

  pb::DynamicMessageFactory factory(&reflection.pool());
  std::unique_ptr<pb::Message> request(
      factory.GetPrototype(method->input_type())->New());
  std::unique_ptr<pb::Message> response(
      factory.GetPrototype(method->output_type())->New());
  auto parsed = pb::util::JsonStringToMessage(json, request.get());
  if (!parsed.ok()) return ReportLocalError("bad request JSON: " + parsed.ToString());

  // Unary call over the generic stub, completed synchronously on a queue.
  std::string request_bytes = request->SerializeAsString();
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  PrepareContext(metadata, &context);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  const std::string path = "/" + service_name + "/" + method->name();
  auto call = stub.PrepareUnaryCall(&context, path, request_buffer, &queue);
  call->StartCall();
  call->Finish(&response_buffer, &status, /*tag=*/&queue);
  void* tag = nullptr;
  bool ok = false;
  if (!queue.Next(&tag, &ok) || !ok) {
    return ReportLocalError("completion queue failure");
  }
  if (!status.ok()) return ReportRpcError(status);

  std::vector<grpc::Slice> slices;
  response_buffer.Dump(&slices).IgnoreError();
  std::string response_bytes;
  for (const grpc::Slice& s : slices) {
    response_bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (!response->ParseFromString(response_bytes)) {
    return ReportLocalError("cannot parse the response");
  }
  pb::util::JsonPrintOptions print_options;
  print_options.add_whitespace = true;  // camelCase names, defaults omitted.
  std::string out;
  auto printed = pb::util::MessageToJsonString(*response, &out, print_options);
  if (!printed.ok()) return ReportLocalError("cannot print: " + printed.ToString());
  std::cout << out;
  if (out.empty() || out.back() != '\n') std::cout << "\n";
  return 0;
}

// Parses "name: value" into lower-case name and trimmed value.
bool ParseHeader(const std::string& header, Metadata* metadata) {
  size_t colon = header.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t") + 1);
    return s;
  };
  std::string name = trim(header.substr(0, colon));
  if (name.empty()) return false;
  for (char& c : name) c = static_cast<char>(std::tolower(c));
  metadata->emplace_back(name, trim(header.substr(colon + 1)));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Metadata metadata;
  std::string json = "{}";
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    } else if ((arg == "-H" || arg == "-d") && i + 1 < argc) {
      const std::string value = argv[++i];
      if (arg == "-d") {
        json = value == "@" ? std::string(std::istreambuf_iterator<char>(std::cin),
                                          std::istreambuf_iterator<char>())
                            : value;
      } else if (!ParseHeader(value, &metadata)) {
        std::cerr << "bad header '" << value << "', want 'name: value'\n";
        return kUsageExit;
      }
    } else if (!arg.empty() && arg[0] == '-') {
      std::cerr << "unknown or incomplete option " << arg << "\n" << kUsage;
      return kUsageExit;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() < 2) {
    std::cerr << kUsage;
    return kUsageExit;
  }

  auto channel =
      grpc::CreateChannel(positional[0], grpc::InsecureChannelCredentials());
  ReflectionClient reflection(channel, metadata);
  const std::string& verb = positional[1];
  if (verb == "list" && positional.size() <= 3) {
    return List(reflection, positional.size() == 3 ? positional[2] : "");
  }
  if (verb == "describe" && positional.size() == 3) {
    return Describe(reflection, positional[2]);
  }
  if (positional.size() == 2) {
    return Call(reflection, channel, metadata, verb, json);
  }
  std::cerr << kUsage;
  return kUsageExit;
}
