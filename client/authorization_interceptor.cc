#include "client/authorization_interceptor.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace keygate {
namespace {

// Maps each call's context to the key that authorized it.
class CallRegistry {
 public:
  static CallRegistry& Get() {
    static CallRegistry* const registry = new CallRegistry();
    return *registry;
  }
  void Put(const grpc::ServerContextBase* context, const AuthorizedKey* key) {
    absl::MutexLock lock(&mu_);
    keys_[context] = key;
  }
  void Erase(const grpc::ServerContextBase* context) {
    absl::MutexLock lock(&mu_);
    keys_.erase(context);
  }
  const AuthorizedKey* Find(const grpc::ServerContextBase* context) {
    absl::MutexLock lock(&mu_);
    const auto it = keys_.find(context);
    return it == keys_.end() ? nullptr : it->second;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*, const AuthorizedKey*> keys_
      ABSL_GUARDED_BY(mu_);
};

// The host of a gRPC peer string ("ipv4:10.0.0.1:5000" -> "10.0.0.1").
std::string PeerAddress(const std::string& peer) {
  if (peer.rfind("ipv4:", 0) == 0) return peer.substr(5, peer.rfind(':') - 5);
  if (peer.rfind("ipv6:[", 0) == 0) return peer.substr(6, peer.find(']') - 6);
  return "";
}

// One call's interceptor: decides once the metadata has arrived, then
// enforces the decision on what the server sends.
class AuthorizationInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthorizationInterceptor(const InterceptorOptions* options, grpc::experimental::ServerRpcInfo* info)
      : options_(options), info_(info), method_(info->method()) {}

  ~AuthorizationInterceptor() override { CallRegistry::Get().Erase(info_->server_context()); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Decide(methods);  // Proceeds when the decision is made.
      return;
    }
    if (!refusal_.ok()) {
      if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
        *methods->GetSerializedSendMessage() = grpc::ByteBuffer();  // Nothing leaks.
      }
      if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
        methods->ModifySendStatus(refusal_);
      }
    }
    methods->Proceed();
  }

 private:
  void Decide(grpc::experimental::InterceptorBatchMethods* methods) {
    if (options_->public_methods.contains(method_)) {
      methods->Proceed();
      return;
    }
    const auto scope = options_->method_scopes.find(method_);
    if (scope == options_->method_scopes.end()) {
      refusal_ = grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                              "this method has no required scope configured");
      methods->Proceed();
      return;
    }
    keygate::v1::AuthorizeRequest request;
    const auto* metadata = methods->GetRecvInitialMetadata();
    const auto header = metadata->find("authorization");
    if (header == metadata->end()) {
      refusal_ = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                              "missing credential: send 'authorization: Bearer <API key>'");
      methods->Proceed();
      return;
    }
    request.set_token(std::string(header->second.data(), header->second.size()));
    request.set_required_scope(scope->second);
    request.set_environment(options_->environment);
    request.set_client_ip(PeerAddress(info_->server_context()->peer()));
    options_->client->AuthorizeAsync(
        request, [this, methods](absl::StatusOr<keygate::v1::AuthorizeResponse> answer) {
          Apply(answer);
          methods->Proceed();
        });
  }

  // Turns Keygate's answer into the call's identity or refusal.
  void Apply(const absl::StatusOr<keygate::v1::AuthorizeResponse>& answer) {
    if (!answer.ok()) {  // No decision: fail closed.
      refusal_ = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "authorization is unavailable; retry later");
      return;
    }
    if (!answer->allowed()) {
      refusal_ = grpc::Status(answer->http_status() == 403 ? grpc::StatusCode::PERMISSION_DENIED
                                                           : grpc::StatusCode::UNAUTHENTICATED,
                              absl::StrCat("API key refused: ",
                                           keygate::v1::Reason_Name(answer->reason())));
      return;
    }
    key_.key_id = answer->key().key_id();
    key_.team_id = answer->key().team_id();
    key_.environment = answer->key().environment();
    key_.scopes.assign(answer->key().scopes().begin(), answer->key().scopes().end());
    CallRegistry::Get().Put(info_->server_context(), &key_);
  }

  const InterceptorOptions* const options_;
  grpc::experimental::ServerRpcInfo* const info_;
  const std::string method_;
  grpc::Status refusal_;  // OK unless the call is refused.
  AuthorizedKey key_;
};

class AuthorizationInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthorizationInterceptorFactory(InterceptorOptions options)
      : options_(std::move(options)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AuthorizationInterceptor(&options_, info);
  }

 private:
  const InterceptorOptions options_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewAuthorizationInterceptorFactory(InterceptorOptions options) {
  return std::make_unique<AuthorizationInterceptorFactory>(std::move(options));
}

const AuthorizedKey* AuthorizedCaller(const grpc::ServerContextBase* context) {
  return CallRegistry::Get().Find(context);
}

}  // namespace keygate
