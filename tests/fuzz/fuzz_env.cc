#include "tests/fuzz/fuzz_env.h"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "server/core/audit_event.h"
#include "server/core/log.h"
#include "server/core/random.h"
#include "server/core/token_hasher.h"
#include "storage/rocksdb_key_store.h"

namespace keygate::fuzzing {
namespace {

constexpr char kPepper[] = "fuzz-pepper-0123456789abcdef0123456789abcdef";
// 2027-01-15T08:00:00Z: any fixed time works; the clock never moves.
constexpr int64_t kNowUnixSeconds = 1'800'000'000;

std::string TempBase() {
  for (const char* var : {"KEYGATE_FUZZ_TMPDIR", "TEST_TMPDIR"}) {
    const char* value = std::getenv(var);
    if (value != nullptr && *value != '\0') return value;
  }
  return "/tmp";
}

void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz environment: %s\n", what.c_str());
  std::abort();
}

}  // namespace

std::string FixedToken(absl::string_view prefix, core::Environment env, absl::string_view tag) {
  std::string body;
  for (char c : tag) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) body.push_back(c);
  }
  // Pad with a fixed, non-trivial base62 sequence.
  for (size_t i = 0; body.size() < core::TokenFormat::kRandomChars; ++i) {
    body.push_back(core::kBase62Alphabet[(i * 7 + 3) % 62]);
  }
  body.resize(core::TokenFormat::kRandomChars);
  std::string token = absl::StrCat(prefix, "_", core::EnvironmentName(env), "_", body);
  absl::StrAppend(&token, core::Base62Crc32(token));
  return token;
}

core::Reason ExpectedReason(const core::KeyRecord& key, const core::Scope& required,
                            std::optional<core::Environment> required_env, absl::Time now) {
  if (now >= key.revoke_time) return core::Reason::kRevoked;
  if (now >= key.expire_time) return core::Reason::kExpired;
  if (required_env.has_value() && *required_env != key.environment) {
    return core::Reason::kWrongEnvironment;
  }
  for (const core::Scope& granted : key.scopes) {
    const bool resource_ok = granted.resource.empty() || granted.resource == required.resource;
    if (resource_ok && static_cast<int>(granted.level) >= static_cast<int>(required.level)) {
      return core::Reason::kNone;
    }
  }
  return core::Reason::kInsufficientScope;
}

void QuietProtobufAndLogs() {
  google::protobuf::SetLogHandler(nullptr);
  // Management calls log one info line each; keep warnings and errors.
  core::SetLogLevel(core::LogLevel::kWarning);
}

FuzzEnv& FuzzEnv::Get() {
  // Created on first use; an atexit handler closes the store and removes
  // the temp dir (libFuzzer ends runs with exit()).
  static FuzzEnv* env = nullptr;
  if (env == nullptr) {
    env = new FuzzEnv();
    std::atexit([] {
      delete env;
      env = nullptr;
    });
  }
  return *env;
}

FuzzEnv::FuzzEnv() : clock_(absl::FromUnixSeconds(kNowUnixSeconds)) {
  QuietProtobufAndLogs();
  std::string pattern = TempBase() + "/keygate_fuzz_XXXXXX";
  std::error_code ignored;
  std::filesystem::create_directories(TempBase(), ignored);
  if (::mkdtemp(pattern.data()) == nullptr) Die("mkdtemp failed under " + TempBase());
  dir_ = pattern;

  storage::RocksDbOptions options;
  options.path = dir_ + "/db";
  options.block_cache_bytes = 8 << 20;
  options.clock = &clock_;
  absl::StatusOr<std::unique_ptr<storage::KeyStore>> store = storage::OpenRocksDbKeyStore(options);
  if (!store.ok()) Die(store.status().ToString());
  store_ = *std::move(store);

  absl::StatusOr<core::TokenFormat> format = core::TokenFormat::Create(kPrefix);
  absl::StatusOr<std::unique_ptr<core::TokenHasher>> hasher = core::TokenHasher::Create(kPepper);
  if (!format.ok() || !hasher.ok()) Die("cannot create token format or hasher");
  // Hash the preloaded tokens with an identical hasher before the service
  // takes ownership of its own.
  absl::StatusOr<std::unique_ptr<core::TokenHasher>> own_hasher = core::TokenHasher::Create(kPepper);
  if (!own_hasher.ok()) Die("cannot create hasher");
  // Flushes only when a target calls usage().Flush() (the interval is long).
  usage_ = std::make_unique<service::UsageRecorder>(store_.get(), absl::Hours(24));
  service::KeyServiceOptions policy;
  // The targets call with failing credentials on purpose, and the clock
  // never moves: without this the failed-authentication throttle would
  // refuse every later call from the same address.
  policy.auth_failure_burst = 1 << 30;
  service_ = std::make_unique<service::KeyService>(*std::move(format), *std::move(hasher),
                                                   store_.get(), &clock_, policy, usage_.get());
  if (absl::Status s = service_->CheckPepper(); !s.ok()) Die(s.ToString());

  const absl::Time now = clock_.Now();
  struct Spec {
    const char* tag;
    const char* team;
    core::Environment env;
    core::ScopeList scopes;
    bool is_operator;
    absl::Duration revoked_ago;  // Zero: not revoked.
    absl::Duration expires_in;   // Zero: never expires.
  };
  using core::Level;
  const core::Environment live = core::Environment::kLive;
  const core::Environment test = core::Environment::kTest;
  const std::vector<Spec> specs = {
      {"FuzzOperatorKey", "", live, {{"", Level::kAdmin}}, true, {}, {}},
      {"FuzzAcmeAdmin", "acme", live, {{"", Level::kAdmin}}, false, {}, {}},
      {"FuzzAcmeRead", "acme", live, {{"", Level::kRead}}, false, {}, {}},
      {"FuzzAcmeWrite", "acme", live, {{"", Level::kWrite}}, false, {}, {}},
      {"FuzzAcmeFlowsWrite", "acme", live, {{"flows", Level::kWrite}, {"runs", Level::kRead}},
       false, {}, {}},
      {"FuzzAcmeTestAdmin", "acme", test, {{"", Level::kAdmin}}, false, {}, {}},
      {"FuzzAcmeRevokedAdmin", "acme", live, {{"", Level::kAdmin}}, false, absl::Hours(1), {}},
      {"FuzzAcmeExpiredRead", "acme", live, {{"", Level::kRead}}, false, {}, -absl::Hours(1)},
      {"FuzzGlobexAdmin", "globex", live, {{"", Level::kAdmin}}, false, {}, {}},
      {"FuzzAcmeExpiringRead", "acme", live, {{"", Level::kRead}}, false, {}, absl::Hours(1)},
  };
  for (size_t i = 0; i < specs.size(); ++i) {
    const Spec& spec = specs[i];
    PreloadedKey key;
    key.token = FixedToken(kPrefix, spec.env, spec.tag);
    absl::StatusOr<core::ParsedToken> parsed = service_->token_format().Parse(key.token);
    if (!parsed.ok()) Die("fixed token does not parse");
    core::KeyRecord& r = key.record;
    char key_id[32];
    std::snprintf(key_id, sizeof(key_id), "key_Fuzz%016zu", i);
    r.key_id = key_id;
    r.team_id = spec.team;
    r.name = spec.tag;
    r.scopes = spec.scopes;
    r.environment = spec.env;
    r.display_prefix = core::TokenFormat::DisplayPrefix(*parsed);
    r.token_hash = (*own_hasher)->Hash(key.token);
    r.create_time = now - absl::Hours(24);
    if (spec.revoked_ago != absl::ZeroDuration()) {
      r.revoke_time = now - spec.revoked_ago;
      r.revoke_reason = "fuzz";
    }
    if (spec.expires_in != absl::ZeroDuration()) r.expire_time = now + spec.expires_in;
    r.created_by = core::kCreatedByBootstrap;
    r.is_operator = spec.is_operator;
    if (absl::Status s = store_->Create(r); !s.ok()) Die(s.ToString());
    keys_.push_back(std::move(key));
  }
  if (keys_.size() != kNumKeys) Die("preloaded key table out of date");
}

FuzzEnv::~FuzzEnv() {
  service_.reset();
  usage_.reset();
  store_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

const PreloadedKey* FuzzEnv::FindByToken(absl::string_view bare_token) const {
  for (const PreloadedKey& key : keys_) {
    if (key.token == bare_token) return &key;
  }
  return nullptr;
}

bool FuzzEnv::ContainsPreloadedSecret(absl::string_view text) const {
  for (const PreloadedKey& key : keys_) {
    const absl::string_view token = key.token;
    const absl::string_view random_part = token.substr(
        token.size() - core::TokenFormat::kBodyChars, core::TokenFormat::kRandomChars);
    if (ContainsSecret(text, token) || ContainsSecret(text, random_part)) return true;
  }
  return false;
}

}  // namespace keygate::fuzzing
