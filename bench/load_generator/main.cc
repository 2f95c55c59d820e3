// keygate-bench: closed-loop load against a running keygate-server.
//
//   keygate-bench --target=127.0.0.1:50051 --tokens=STORE/tokens.txt
//                 --revoked=STORE/revoked.txt --server_pid=PID --duration=10s
//   keygate-bench --rpc=create --operator_key_file=DATA/operator.key --outstanding=32
//   keygate-bench --probe ...        (one Authorize; exit status 0 if it succeeds)
//
// Prints one JSON object on stdout and a one-line summary on stderr.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/common/token_list.h"
#include "bench/load_generator/load_generator.h"
#include "bench/load_generator/token_mix.h"
#include "grpcpp/client_context.h"
#include "keygate/v1/authorizer.grpc.pb.h"
#include "keygate/v1/key_manager.grpc.pb.h"
#include "server/core/secret_file.h"
#include "server/core/status_macros.h"
#include "server/core/token.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Server address, host:port");
ABSL_FLAG(std::string, rpc, "authorize", "authorize or create (durable CreateKey)");
ABSL_FLAG(int, channels, 4, "Separate connections");
ABSL_FLAG(int, outstanding, 64, "Calls kept in flight (closed loop), over all channels");
ABSL_FLAG(int, threads, 1, "Client completion-queue threads");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(3), "Load before the measured window");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Length of the measured window");
ABSL_FLAG(std::string, tokens, "", "Known tokens, one per line, most popular first");
ABSL_FLAG(std::string, revoked, "", "Revoked tokens, one per line (optional)");
ABSL_FLAG(double, zipf_s, 1.0, "Zipf exponent of the known-token popularity");
ABSL_FLAG(double, invalid_fraction, 0.02,
          "Share of malformed, unknown and revoked tokens (a third each)");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the token choice");
ABSL_FLAG(std::string, key_prefix, "fs", "Token prefix of the server (for unknown tokens)");
ABSL_FLAG(std::string, required_scope, "flows:read", "required_scope of every Authorize");
ABSL_FLAG(std::string, operator_key_file, "", "Operator token file (--rpc=create)");
ABSL_FLAG(int, server_pid, 0, "Server process id, for its CPU time and RSS (0: none)");
ABSL_FLAG(std::string, label, "", "Copied into the JSON output");
ABSL_FLAG(bool, probe, false, "Send one Authorize (waiting for the server) and exit");

namespace keygate::bench {
namespace {

using keygate::v1::Authorizer;
using keygate::v1::KeyManager;

class AuthorizeCall final : public Call {
 public:
  AuthorizeCall(Authorizer::Stub* stub, absl::string_view token, const std::string& scope,
                grpc::CompletionQueue* cq) {
    request_.set_token(std::string(token));
    request_.set_required_scope(scope);
    reader_ = stub->PrepareAsyncAuthorize(&context_, request_, cq);
    reader_->StartCall();
    reader_->Finish(&response_, &status_, this);
  }

  void Record(CallStats* stats) const override {
    if (!status_.ok()) {
      ++stats->errors[status_.error_code()];
    } else if (response_.allowed()) {
      ++stats->allowed;
    } else {
      ++stats->denied[static_cast<size_t>(response_.reason()) % stats->denied.size()];
    }
  }

 private:
  grpc::ClientContext context_;
  keygate::v1::AuthorizeRequest request_;
  keygate::v1::AuthorizeResponse response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<keygate::v1::AuthorizeResponse>> reader_;
};

class AuthorizeCalls final : public CallFactory {
 public:
  AuthorizeCalls(const std::vector<std::shared_ptr<grpc::Channel>>& channels, const TokenMix* mix,
                 std::string scope)
      : mix_(mix), scope_(std::move(scope)) {
    for (const auto& channel : channels) stubs_.push_back(Authorizer::NewStub(channel));
  }

  int channels() const override { return static_cast<int>(stubs_.size()); }
  Call* Start(int channel, grpc::CompletionQueue* cq, std::mt19937_64& rng) const override {
    return new AuthorizeCall(stubs_[channel].get(), mix_->Next(rng), scope_, cq);
  }

 private:
  std::vector<std::unique_ptr<Authorizer::Stub>> stubs_;
  const TokenMix* const mix_;
  const std::string scope_;
};

class CreateCall final : public Call {
 public:
  CreateCall(KeyManager::Stub* stub, const std::string& authorization, grpc::CompletionQueue* cq) {
    context_.AddMetadata("authorization", authorization);
    request_.set_team_id("bench-create");
    request_.set_name("bench create");
    request_.add_scopes("flows:read");
    request_.set_environment(keygate::v1::ENVIRONMENT_LIVE);
    reader_ = stub->PrepareAsyncCreateKey(&context_, request_, cq);
    reader_->StartCall();
    reader_->Finish(&response_, &status_, this);
  }

  void Record(CallStats* stats) const override {
    if (status_.ok()) {
      ++stats->allowed;
    } else {
      ++stats->errors[status_.error_code()];
    }
  }

 private:
  grpc::ClientContext context_;
  keygate::v1::CreateKeyRequest request_;
  keygate::v1::CreateKeyResponse response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<keygate::v1::CreateKeyResponse>> reader_;
};

class CreateCalls final : public CallFactory {
 public:
  CreateCalls(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
              std::string authorization)
      : authorization_(std::move(authorization)) {
    for (const auto& channel : channels) stubs_.push_back(KeyManager::NewStub(channel));
  }

  int channels() const override { return static_cast<int>(stubs_.size()); }
  Call* Start(int channel, grpc::CompletionQueue* cq, std::mt19937_64&) const override {
    return new CreateCall(stubs_[channel].get(), authorization_, cq);
  }

 private:
  std::vector<std::unique_ptr<KeyManager::Stub>> stubs_;
  const std::string authorization_;
};

constexpr const char* kReasonNames[] = {
    "none",    "malformed_token",    "unknown_key",       "revoked",
    "expired", "insufficient_scope", "wrong_environment", "other"};

std::string ToJson(const LoadResult& result) {
  const CallStats& s = result.stats;
  const uint64_t calls = s.latency.count();
  auto us = [&](double q) { return s.latency.Percentile(q) / 1e3; };
  std::string denied = "{";
  uint64_t denied_total = 0;
  for (size_t i = 0; i < s.denied.size(); ++i) {
    if (s.denied[i] == 0) continue;
    absl::StrAppend(&denied, denied.size() > 1 ? "," : "", "\"", kReasonNames[i],
                    "\":", s.denied[i]);
    denied_total += s.denied[i];
  }
  denied += "}";
  std::string errors = "{";
  uint64_t error_total = 0;
  for (const auto& [code, count] : s.errors) {
    absl::StrAppend(&errors, errors.size() > 1 ? "," : "", "\"", static_cast<int>(code),
                    "\":", count);
    error_total += count;
  }
  errors += "}";
  const double per_call = calls == 0 ? 0 : 1e6 / static_cast<double>(calls);
  // Server figures are null without --server_pid.
  const bool server = result.server_cpu_seconds >= 0;
  auto number = [server](double v) { return server ? absl::StrFormat("%.3f", v) : "null"; };
  return absl::StrFormat(
      "{\"label\":\"%s\",\"rpc\":\"%s\",\"channels\":%d,\"outstanding\":%d,\"threads\":%d,"
      "\"warmup_s\":%.1f,\"duration_s\":%.1f,\"calls\":%d,\"qps\":%.1f,"
      "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
      "\"mean_us\":%.1f,\"allowed\":%d,\"denied\":%d,\"denied_by_reason\":%s,\"errors\":%d,"
      "\"errors_by_code\":%s,\"server_cpu_us_per_call\":%s,\"server_cpu_util\":%s,"
      "\"server_rss_mib\":%s,\"client_cpu_us_per_call\":%.2f,\"client_cpu_util\":%.3f}",
      absl::GetFlag(FLAGS_label), absl::GetFlag(FLAGS_rpc), absl::GetFlag(FLAGS_channels),
      absl::GetFlag(FLAGS_outstanding), absl::GetFlag(FLAGS_threads),
      absl::ToDoubleSeconds(absl::GetFlag(FLAGS_warmup)), result.seconds, calls,
      static_cast<double>(calls) / result.seconds, us(0.50), us(0.90), us(0.99), us(0.999),
      s.latency.max() / 1e3, s.latency.mean() / 1e3, s.allowed, denied_total, denied, error_total,
      errors, number(result.server_cpu_seconds * per_call),
      number(result.server_cpu_seconds / result.seconds), number(result.server_rss_mib),
      result.client_cpu_seconds * per_call, result.client_cpu_seconds / result.seconds);
}

// One Authorize that waits for the server to come up (or `timeout`).
absl::Status Probe(const std::string& target, absl::Duration timeout) {
  KEYGATE_ASSIGN_OR_RETURN(std::vector<std::shared_ptr<grpc::Channel>> channels,
                           ConnectChannels(target, 1, timeout));
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::nanoseconds(absl::ToInt64Nanoseconds(timeout)));
  keygate::v1::AuthorizeRequest request;
  request.set_token("probe");
  request.set_required_scope("read");
  keygate::v1::AuthorizeResponse response;
  const grpc::Status status =
      Authorizer::NewStub(channels[0])->Authorize(&context, request, &response);
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  return absl::OkStatus();
}

absl::Status Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  if (absl::GetFlag(FLAGS_probe)) return Probe(target, absl::Seconds(10));

  KEYGATE_ASSIGN_OR_RETURN(
      std::vector<std::shared_ptr<grpc::Channel>> channels,
      ConnectChannels(target, std::max(1, absl::GetFlag(FLAGS_channels)), absl::Seconds(10)));
  LoadOptions options;
  options.outstanding = absl::GetFlag(FLAGS_outstanding);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.server_pid = absl::GetFlag(FLAGS_server_pid);

  absl::StatusOr<LoadResult> result;
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  if (rpc == "authorize") {
    KEYGATE_ASSIGN_OR_RETURN(const TokenList known, TokenList::Load(absl::GetFlag(FLAGS_tokens)));
    TokenList revoked;
    if (!absl::GetFlag(FLAGS_revoked).empty()) {
      KEYGATE_ASSIGN_OR_RETURN(revoked, TokenList::Load(absl::GetFlag(FLAGS_revoked)));
    }
    if (known.empty()) return absl::InvalidArgumentError("--tokens holds no token");
    KEYGATE_ASSIGN_OR_RETURN(const core::TokenFormat format,
                             core::TokenFormat::Create(absl::GetFlag(FLAGS_key_prefix)));
    const TokenMix mix(&known, &revoked, format, absl::GetFlag(FLAGS_zipf_s),
                       absl::GetFlag(FLAGS_invalid_fraction));
    result = RunLoad(options, AuthorizeCalls(channels, &mix, absl::GetFlag(FLAGS_required_scope)));
  } else if (rpc == "create") {
    KEYGATE_ASSIGN_OR_RETURN(const std::string token,
                             core::ReadSecretFile(absl::GetFlag(FLAGS_operator_key_file)));
    result = RunLoad(
        options, CreateCalls(channels, absl::StrCat("Bearer ", absl::StripAsciiWhitespace(token))));
  } else {
    return absl::InvalidArgumentError("--rpc must be authorize or create");
  }
  if (!result.ok()) return result.status();

  std::printf("%s\n", ToJson(*result).c_str());
  const CallStats& s = result->stats;
  uint64_t errors = 0;
  for (const auto& [code, count] : s.errors) errors += count;
  std::fprintf(stderr, "keygate-bench %s: %.0f calls/s, p50 %.0f us, p99 %.0f us, %llu errors\n",
               absl::GetFlag(FLAGS_label).c_str(), s.latency.count() / result->seconds,
               s.latency.Percentile(0.5) / 1e3, s.latency.Percentile(0.99) / 1e3,
               static_cast<unsigned long long>(errors));
  if (result->server_cpu_seconds >= 0 && s.latency.count() > 0) {
    std::fprintf(stderr, "  server %.1f CPU-us/call (%.0f%% of a core), RSS %.0f MiB\n",
                 result->server_cpu_seconds * 1e6 / s.latency.count(),
                 100 * result->server_cpu_seconds / result->seconds, result->server_rss_mib);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace keygate::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Closed-loop gRPC load generator for keygate-server.");
  absl::ParseCommandLine(argc, argv);
  const absl::Status status = keygate::bench::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "keygate-bench: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
