// Shared set-up of Keygate's fuzz targets: a real KeyService over a real
// RocksDB store in a temp dir, with a fixed clock and a few preloaded keys
// whose tokens are deterministic (so that seed corpora can hold them), and
// the check macro every target uses to report a broken invariant.
//
// The same sources build two ways (tests/fuzz/CMakeLists.txt): as libFuzzer
// binaries (clang, -DKEYGATE_FUZZ=ON) and, in every build, linked with
// replay_main.cc as a ctest test that runs the committed corpus once.
#ifndef KEYGATE_TESTS_FUZZ_FUZZ_ENV_H_
#define KEYGATE_TESTS_FUZZ_FUZZ_ENV_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/clock.h"
#include "server/core/key_record.h"
#include "server/core/scope.h"
#include "server/core/token.h"
#include "server/service/key_service.h"
#include "server/service/usage_recorder.h"
#include "storage/key_store.h"
#include "tests/fuzz/fuzz_check.h"

namespace keygate::fuzzing {

// The token prefix of the fuzzed server.
inline constexpr char kPrefix[] = "fs";

// A valid token (correct checksum) with a fixed body derived from `tag`
// (padded/cut to 30 base62 characters). Deterministic: seed corpora hold
// these tokens, and FuzzEnv registers the same ones.
std::string FixedToken(absl::string_view prefix, core::Environment env, absl::string_view tag);

// What a preloaded key is, for the targets' own (independent) oracle.
struct PreloadedKey {
  std::string token;
  core::KeyRecord record;
};

// Indexes into FuzzEnv::keys().
enum KeyIndex {
  kOperator = 0,      // operator key (live, no team)
  kAcmeAdmin,         // acme, live, admin
  kAcmeRead,          // acme, live, read
  kAcmeWrite,         // acme, live, write
  kAcmeFlowsWrite,    // acme, live, flows:write + runs:read
  kAcmeTestAdmin,     // acme, test, admin
  kAcmeRevokedAdmin,  // acme, live, admin, revoked an hour ago
  kAcmeExpiredRead,   // acme, live, read, expired an hour ago
  kGlobexAdmin,       // globex, live, admin
  kAcmeExpiringRead,  // acme, live, read, expires in an hour
  kNumKeys,
};

// A clock that never moves. Thread-safe.
class FixedClock final : public core::Clock {
 public:
  explicit FixedClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }

 private:
  const absl::Time now_;
};

// The process-wide environment, created on first use and kept for the life
// of the process (its temp dir is removed at exit). The store lives under
// $KEYGATE_FUZZ_TMPDIR, else $TEST_TMPDIR, else /tmp. Not thread-safe to
// create; libFuzzer calls targets from one thread.
class FuzzEnv {
 public:
  static FuzzEnv& Get();

  service::KeyService& service() { return *service_; }
  storage::KeyStore& store() { return *store_; }
  service::UsageRecorder& usage() { return *usage_; }
  const core::TokenFormat& format() const { return service_->token_format(); }
  absl::Time now() const { return clock_.Now(); }
  const std::vector<PreloadedKey>& keys() const { return keys_; }
  const PreloadedKey& key(KeyIndex index) const { return keys_[index]; }

  // The preloaded key whose token is `bare_token` (no "Bearer "), if any.
  const PreloadedKey* FindByToken(absl::string_view bare_token) const;

  // Whether `text` holds any secret: a preloaded token, or the 30-character
  // random part of one.
  bool ContainsPreloadedSecret(absl::string_view text) const;

  ~FuzzEnv();

 private:
  FuzzEnv();

  std::string dir_;
  FixedClock clock_;
  std::unique_ptr<storage::KeyStore> store_;
  std::unique_ptr<service::UsageRecorder> usage_;
  std::unique_ptr<service::KeyService> service_;
  std::vector<PreloadedKey> keys_;
};

// The reason Keygate must give for `key` and `required` at `now` (revoked,
// expired, environment, scope), written independently of core::Decide.
core::Reason ExpectedReason(const core::KeyRecord& key, const core::Scope& required,
                            std::optional<core::Environment> required_env, absl::Time now);

// Silences protobuf's log (a parse of invalid UTF-8 logs an error each time).
void QuietProtobufAndLogs();

}  // namespace keygate::fuzzing

#endif  // KEYGATE_TESTS_FUZZ_FUZZ_ENV_H_
