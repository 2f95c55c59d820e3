// keygate-server: the Keygate API-key authorization service.
//
// Every flag can also be set with an environment variable KEYGATE_<FLAG>
// (e.g. KEYGATE_DATA_DIR); a flag on the command line wins.
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/core/duration.h"
#include "server/core/log.h"
#include "server/core/random.h"
#include "server/core/secret_file.h"
#include "server/envoy/authorization_service.h"
#include "server/grpc/keygate_server.h"
#include "server/metrics/server_metrics.h"
#include "server/process/memory_release.h"
#include "server/process/process_settings.h"
#include "server/service/key_service.h"
#include "storage/rocksdb_key_store.h"

using keygate::core::HumanDuration;

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address, host:port");
ABSL_FLAG(std::string, data_dir, "./data", "Directory of the embedded RocksDB store");
ABSL_FLAG(std::string, bootstrap_key_file, "",
          "Operator key file: generated (mode 0600) if missing, registered if present. "
          "Default: <data_dir>/operator.key");
ABSL_FLAG(std::string, key_prefix, "fs", "Token prefix, e.g. fs for fs_live_...");
ABSL_FLAG(std::string, pepper_file, "",
          "Secret for hashing tokens (>= 32 bytes); generated (mode 0600) if missing. "
          "Default: <data_dir>/pepper");
ABSL_FLAG(int, block_cache_mb, 128, "RocksDB block cache size in MiB");
ABSL_FLAG(bool, warm_block_cache, true,
          "After start, read the keys into the block cache in the background (up to 90% of "
          "--block_cache_mb), so that first lookups do not wait on random disk reads");
ABSL_FLAG(int, key_cache_mb, 64,
          "Decoded keys kept in memory for Authorize, in MiB (0: read RocksDB every time)");
ABSL_FLAG(int, management_threads, 64,
          "Threads serving management calls other than CreateKey (which commits in groups on "
          "its own threads): revoke and rotate wait for their synced write here");
ABSL_FLAG(bool, reflection, true, "Serve gRPC server reflection (for grpcurl)");
ABSL_FLAG(std::string, log_level, "info", "Minimum log level: debug, info, warning, error");
ABSL_FLAG(double, authorize_log_sample_rate, 0,
          "Fraction of Authorize calls written to the access log (0 = none, 1 = all)");
ABSL_FLAG(HumanDuration, shutdown_delay, {absl::Seconds(2)},
          "On SIGTERM: how long readiness is NOT_SERVING while the server still serves, so "
          "that load balancers stop sending calls first");
ABSL_FLAG(HumanDuration, shutdown_grace, {absl::Seconds(10)},
          "On SIGTERM, after the delay: how long in-flight calls may take to finish");
ABSL_FLAG(HumanDuration, max_key_ttl, {},
          "Longest lifetime a key may get (e.g. 365d); 0 = no ceiling. With a ceiling, keys "
          "created without expire_time expire after it");
ABSL_FLAG(HumanDuration, rotation_period, {absl::Hours(24 * 90)},
          "Active keys older than this are marked as due for rotation");
ABSL_FLAG(HumanDuration, audit_retention, {absl::Hours(24 * 400)},
          "How long audit events, and revoked or expired keys, are kept");
ABSL_FLAG(int, auth_failure_burst, 10,
          "Failed management authentications allowed per client address before its calls "
          "are refused with RESOURCE_EXHAUSTED");
ABSL_FLAG(HumanDuration, auth_failure_refill, {absl::Seconds(6)},
          "How often a throttled address regains one authentication try");
ABSL_FLAG(bool, usage_monitoring, true, "Count Authorize outcomes per key (GetKeyUsage)");
ABSL_FLAG(HumanDuration, usage_flush_interval, {absl::Seconds(1)},
          "How often usage counts are written to the store (at most 1s; a crash loses at "
          "most one interval)");
ABSL_FLAG(std::string, metrics_listen, "",
          "Serve Prometheus metrics at http://<host:port>/metrics (e.g. 0.0.0.0:9090); "
          "empty = off");
ABSL_FLAG(HumanDuration, key_count_interval, {absl::Minutes(10)},
          "How often keys are counted by state for metrics (a scan of the store)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain: serve TLS (re-read on change)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: require client certificates signed by it (mTLS)");
ABSL_FLAG(HumanDuration, tls_reload_interval, {absl::Seconds(10)},
          "How often the TLS files are checked for changes");
ABSL_FLAG(std::string, envoy_route_scopes_file, "",
          "Envoy ext_authz route table: one 'METHOD PATH_PREFIX SCOPE' rule per line; used "
          "when a route sets no required_scope context extension");
ABSL_FLAG(std::string, envoy_realm, "keygate",
          "Realm in www-authenticate of Envoy 401/403 answers");
ABSL_FLAG(bool, envoy_keep_authorization_header, false,
          "Do not strip the Authorization header from requests Envoy lets through");
ABSL_FLAG(std::string, backup_dir, "",
          "Where CreateBackup (keygate admin backup) writes backups. Default: <data_dir>/backups");
ABSL_FLAG(std::string, restore_backup, "",
          "Restore backup ID (or 'latest') from --backup_dir into an empty --data_dir, then exit");
ABSL_FLAG(bool, accept_data_loss, false,
          "Recovery override for a damaged store that refuses to open: replay the write-ahead "
          "log only up to a damaged record (dropping later, acknowledged writes) and accept a "
          "store older than its recorded sequence floor. Revoked keys may become valid again; "
          "use once, then remove it (see docs/operations.md)");
ABSL_FLAG(bool, verify_store, false,
          "Verify the checksum of every block of the store, print the result and exit "
          "(the server must not be running on the same data_dir)");
ABSL_FLAG(HumanDuration, memory_release_interval, {absl::Seconds(10)},
          "How often heap memory freed inside malloc's arenas is returned to the kernel "
          "(0: never)");
ABSL_FLAG(bool, authorize_noop, false,
          "Benchmark baseline only: Authorize answers a fixed 'allowed' without checking "
          "anything. Never use in production");

namespace keygate {
namespace {

constexpr const char* kFlagNames[] = {
    "listen",          "data_dir",          "bootstrap_key_file",   "key_prefix",
    "pepper_file",     "block_cache_mb",    "warm_block_cache",     "key_cache_mb",
    "management_threads", "reflection",
    "log_level",       "shutdown_delay",    "shutdown_grace",       "max_key_ttl",
    "rotation_period", "audit_retention",   "usage_monitoring",     "usage_flush_interval",
    "metrics_listen",  "key_count_interval", "tls_cert_file",       "tls_key_file",
    "tls_client_ca_file", "tls_reload_interval", "authorize_log_sample_rate", "verify_store",
    "authorize_noop",  "envoy_route_scopes_file", "envoy_realm", "envoy_keep_authorization_header",
    "auth_failure_burst", "auth_failure_refill", "backup_dir", "restore_backup",
    "accept_data_loss", "memory_release_interval"};

// Applies KEYGATE_<FLAG> environment variables; the command line, parsed
// afterwards, overrides them.
bool ApplyEnvironment() {
  for (const char* name : kFlagNames) {
    const std::string var = absl::StrCat("KEYGATE_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "keygate-server: bad %s: %s\n", var.c_str(), error.c_str());
      return false;
    }
  }
  return true;
}

int Fail(absl::string_view event, const absl::Status& status) {
  core::Log(core::LogLevel::kError, event, {{"error", status.ToString()}});
  return 1;
}

absl::StatusOr<std::string> LoadOrCreatePepper(const std::string& path) {
  absl::StatusOr<std::string> pepper = core::ReadSecretFile(path);
  if (absl::IsNotFound(pepper.status())) {
    const std::string bytes = core::SecureRandomBytes(32);
    std::string hex;
    for (unsigned char c : bytes) absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
    if (absl::Status s = core::WriteNewSecretFile(path, hex + "\n"); !s.ok()) return s;
    core::Log(core::LogLevel::kInfo, "pepper_generated", {{"path", path}});
    return hex;
  }
  if (!pepper.ok()) return pepper.status();
  return std::string(absl::StripTrailingAsciiWhitespace(*pepper));
}

// Blocks until SIGTERM or SIGINT (blocked in every thread by main()), or
// until `timeout` passes. Returns the signal, or 0 on timeout.
int WaitForSignal(absl::Duration timeout) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (timeout == absl::InfiniteDuration()) {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    return signal_number;
  }
  const timespec ts = absl::ToTimespec(timeout);
  const int signal_number = sigtimedwait(&signals, nullptr, &ts);
  return signal_number > 0 ? signal_number : 0;
}

int Run() {
  core::LogLevel level;
  if (!core::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "keygate-server: --log_level must be debug, info, warning or error\n");
    return 2;
  }
  core::SetLogLevel(level);
  const absl::Duration flush_interval = absl::GetFlag(FLAGS_usage_flush_interval).value;
  if (flush_interval <= absl::ZeroDuration() || flush_interval > absl::Seconds(1)) {
    std::fprintf(stderr, "keygate-server: --usage_flush_interval must be > 0 and <= 1s\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_block_cache_mb) < 1 || absl::GetFlag(FLAGS_key_cache_mb) < 0) {
    std::fprintf(stderr,
                 "keygate-server: --block_cache_mb must be >= 1 and --key_cache_mb >= 0\n");
    return 2;
  }
  const double sample_rate = absl::GetFlag(FLAGS_authorize_log_sample_rate);
  if (sample_rate < 0 || sample_rate > 1) {
    std::fprintf(stderr, "keygate-server: --authorize_log_sample_rate must be in [0, 1]\n");
    return 2;
  }

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail("data_dir_failed", absl::UnavailableError(absl::StrCat("cannot create ", data_dir)));
  }
  std::string backup_dir = absl::GetFlag(FLAGS_backup_dir);
  if (backup_dir.empty()) backup_dir = data_dir + "/backups";
  if (const std::string restore = absl::GetFlag(FLAGS_restore_backup); !restore.empty()) {
    uint32_t backup_id = 0;
    if (restore != "latest" && (!absl::SimpleAtoi(restore, &backup_id) || backup_id == 0)) {
      std::fprintf(stderr, "keygate-server: --restore_backup must be a backup id or 'latest'\n");
      return 2;
    }
    absl::StatusOr<storage::BackupInfo> restored =
        storage::RestoreRocksDbBackup(backup_dir, backup_id, data_dir + "/db");
    if (!restored.ok()) return Fail("restore_failed", restored.status());
    core::Log(core::LogLevel::kInfo, "restore_complete",
              {{"backup_id", static_cast<int64_t>(restored->backup_id)},
               {"backup_dir", backup_dir},
               {"data_dir", data_dir},
               {"note", "copy the original pepper file into the data dir before starting"}});
    return 0;
  }
  storage::RocksDbOptions store_options;
  store_options.path = data_dir + "/db";
  store_options.block_cache_bytes = size_t(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  store_options.record_cache_bytes = size_t(absl::GetFlag(FLAGS_key_cache_mb)) << 20;
  // A verification reads every file itself and then exits: nothing to warm.
  store_options.warm_block_cache =
      absl::GetFlag(FLAGS_warm_block_cache) && !absl::GetFlag(FLAGS_verify_store);
  store_options.retention = absl::GetFlag(FLAGS_audit_retention).value;
  store_options.statistics = !absl::GetFlag(FLAGS_metrics_listen).empty();
  store_options.accept_data_loss = absl::GetFlag(FLAGS_accept_data_loss);
  if (store_options.accept_data_loss) {
    core::Log(core::LogLevel::kWarning, "accept_data_loss",
              {{"message", "a damaged store opens with what can be recovered; remove the flag "
                           "once the store serves"}});
  }
  absl::StatusOr<std::unique_ptr<storage::KeyStore>> store =
      storage::OpenRocksDbKeyStore(store_options);
  if (!store.ok()) return Fail("store_open_failed", store.status());

  if (absl::GetFlag(FLAGS_verify_store)) {
    core::Log(core::LogLevel::kInfo, "verify_store_started", {{"path", store_options.path}});
    const absl::Status verified = (*store)->VerifyChecksums();
    if (!verified.ok()) return Fail("verify_store_failed", verified);
    core::Log(core::LogLevel::kInfo, "verify_store_ok", {{"path", store_options.path}});
    return 0;
  }

  std::string pepper_file = absl::GetFlag(FLAGS_pepper_file);
  if (pepper_file.empty()) pepper_file = data_dir + "/pepper";
  std::string bootstrap_file = absl::GetFlag(FLAGS_bootstrap_key_file);
  if (bootstrap_file.empty()) bootstrap_file = data_dir + "/operator.key";
  absl::StatusOr<core::TokenFormat> format =
      core::TokenFormat::Create(absl::GetFlag(FLAGS_key_prefix));
  if (!format.ok()) return Fail("bad_key_prefix", format.status());
  absl::StatusOr<std::string> pepper = LoadOrCreatePepper(pepper_file);
  if (!pepper.ok()) return Fail("pepper_failed", pepper.status());
  absl::StatusOr<std::unique_ptr<core::TokenHasher>> hasher = core::TokenHasher::Create(*pepper);
  if (!hasher.ok()) return Fail("pepper_failed", hasher.status());

  std::unique_ptr<service::UsageRecorder> usage;
  if (absl::GetFlag(FLAGS_usage_monitoring)) {
    usage = std::make_unique<service::UsageRecorder>(store->get(), flush_interval);
  }
  service::KeyServiceOptions policy;
  policy.max_key_ttl = absl::GetFlag(FLAGS_max_key_ttl).value;
  policy.rotation_period = absl::GetFlag(FLAGS_rotation_period).value;
  policy.auth_failure_burst = absl::GetFlag(FLAGS_auth_failure_burst);
  policy.auth_failure_refill = absl::GetFlag(FLAGS_auth_failure_refill).value;
  policy.backup_dir = backup_dir;
  service::KeyService keys(*std::move(format), *std::move(hasher), store->get(),
                           &core::Clock::Real(), policy, usage.get());
  if (absl::Status s = keys.CheckPepper(); !s.ok()) return Fail("pepper_mismatch", s);
  absl::StatusOr<service::KeyService::BootstrapResult> bootstrap =
      keys.EnsureOperatorKey(bootstrap_file);
  if (!bootstrap.ok()) return Fail("bootstrap_failed", bootstrap.status());
  core::Log(core::LogLevel::kInfo, "operator_key_ready",
            {{"path", bootstrap_file},
             {"key_id", bootstrap->key.key_id},
             {"generated_file", bootstrap->generated_file},
             {"registered", bootstrap->registered}});

  std::unique_ptr<metrics::ServerMetrics> server_metrics;
  if (const std::string listen = absl::GetFlag(FLAGS_metrics_listen); !listen.empty()) {
    metrics::MetricSources sources;
    sources.store = store->get();
    sources.key_count_interval = absl::GetFlag(FLAGS_key_count_interval).value;
    if (usage != nullptr) {
      sources.usage_flush_lag = [recorder = usage.get()] { return recorder->SinceLastFlush(); };
    }
    absl::StatusOr<std::unique_ptr<metrics::ServerMetrics>> started =
        metrics::ServerMetrics::Start(listen, std::move(sources));
    if (!started.ok()) return Fail("metrics_listen_failed", started.status());
    server_metrics = *std::move(started);
    core::Log(core::LogLevel::kInfo, "metrics_started",
              {{"listen", listen}, {"port", server_metrics->port()}});
  }

  absl::StatusOr<envoy_authz::AuthzConfig> envoy_config = envoy_authz::MakeConfig(
      absl::GetFlag(FLAGS_envoy_realm), !absl::GetFlag(FLAGS_envoy_keep_authorization_header),
      absl::GetFlag(FLAGS_envoy_route_scopes_file));
  if (!envoy_config.ok()) return Fail("bad_envoy_config", envoy_config.status());
  envoy_authz::AuthorizationService envoy_check(&keys, *std::move(envoy_config), server_metrics.get());

  grpc_api::ServerConfig config;
  config.extra_services.push_back(&envoy_check);
  config.listen = absl::GetFlag(FLAGS_listen);
  config.reflection = absl::GetFlag(FLAGS_reflection);
  config.management_threads = absl::GetFlag(FLAGS_management_threads);
  config.authorize_noop = absl::GetFlag(FLAGS_authorize_noop);
  config.metrics = server_metrics.get();
  config.authorize_log_sample_rate = sample_rate;
  config.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  config.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  config.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  config.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval).value;
  config.storage_check = [kv = store->get()] { return kv->Health(); };
  if (config.authorize_noop) {
    core::Log(core::LogLevel::kWarning, "authorize_noop",
              {{"message", "Authorize answers 'allowed' to everything (benchmark baseline)"}});
  }
  absl::StatusOr<std::unique_ptr<grpc_api::KeygateServer>> server =
      grpc_api::KeygateServer::Start(config, &keys);
  if (!server.ok()) return Fail("listen_failed", server.status());
  const size_t colon = config.listen.rfind(':');
  core::Log(core::LogLevel::kInfo, "server_started",
            {{"listen", absl::StrCat(config.listen.substr(0, colon), ":", (*server)->port())},
             {"port", (*server)->port()},
             {"tls", !config.tls_cert_file.empty()},
             {"mtls", !config.tls_client_ca_file.empty()},
             {"data_dir", data_dir},
             {"malloc", process::MallocName()}});

  std::unique_ptr<process::PeriodicMemoryRelease> memory_release;
  if (const absl::Duration every = absl::GetFlag(FLAGS_memory_release_interval).value;
      every > absl::ZeroDuration()) {
    memory_release = std::make_unique<process::PeriodicMemoryRelease>(every);
  }

  const int signal_number = WaitForSignal(absl::InfiniteDuration());
  const absl::Duration delay = absl::GetFlag(FLAGS_shutdown_delay).value;
  core::Log(core::LogLevel::kInfo, "shutdown_started",
            {{"signal", signal_number}, {"delay_ms", absl::ToInt64Milliseconds(delay)}});
  (*server)->BeginDrain();
  // Keep serving while load balancers notice; a second signal cuts it short.
  if (delay > absl::ZeroDuration() && WaitForSignal(delay) != 0) {
    core::Log(core::LogLevel::kWarning, "shutdown_delay_skipped");
  }
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace).value);
  server->reset();
  usage.reset();  // Flushes pending usage counts.
  server_metrics.reset();
  store->reset();
  core::Log(core::LogLevel::kInfo, "shutdown_complete");
  return 0;
}

}  // namespace
}  // namespace keygate

int main(int argc, char** argv) {
  keygate::process::ApplyServerProcessSettings();
  // Block the shutdown signals before any thread starts, so that every thread
  // inherits the mask and only the waits in Run() receive them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::SetProgramUsageMessage(
      "Keygate API-key authorization service.\n"
      "Flags may also be set as KEYGATE_<FLAG> environment variables.");
  if (!keygate::ApplyEnvironment()) return 2;
  absl::ParseCommandLine(argc, argv);
  return keygate::Run();
}
