// The application layer: authorization decisions and key management rules,
// over a KeyStore. Free of gRPC; the gRPC services translate to and from it.
#ifndef KEYGATE_SERVER_SERVICE_KEY_SERVICE_H_
#define KEYGATE_SERVER_SERVICE_KEY_SERVICE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/clock.h"
#include "server/core/decision.h"
#include "server/core/key_record.h"
#include "server/core/scope.h"
#include "server/core/token.h"
#include "server/core/token_hasher.h"
#include "storage/key_store.h"

namespace keygate::service {

// The outcome of Authorize: the decision and, when the token matched a key,
// that key.
struct AuthorizeResult {
  core::Decision decision;
  std::optional<core::KeyRecord> key;
};

// An authenticated management caller.
struct Caller {
  std::string key_id;
  std::string team_id;  // Empty for operators.
  core::Environment environment = core::Environment::kLive;
  bool is_operator = false;
};

// What CreateKey needs; validated by CreateKey.
struct NewKey {
  std::string team_id;
  std::string name;
  std::vector<std::string> scopes;
  std::optional<core::Environment> environment;
  absl::Time expire_time = absl::InfiniteFuture();
};

struct CreatedKey {
  core::KeyRecord key;
  std::string token;  // The secret; returned to the caller once, never stored.
};

struct ListRequest {
  std::string team_id;
  int page_size = 0;  // 0: default.
  std::string page_token;
  bool include_inactive = false;
  std::optional<core::Environment> environment;
};

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// Keygate's behaviour, independent of the transport.
//
// Authorize is the hot path: it takes no lock of its own (only the store's
// lock-free reads). Management calls block on durable writes. Thread-safe.
class KeyService {
 public:
  KeyService(core::TokenFormat format, std::unique_ptr<core::TokenHasher> hasher,
             storage::KeyStore* store, core::Clock* clock);

  // Verifies that the hasher's pepper is the one this store was created with
  // (recording it on first use). Returns FailedPrecondition on a mismatch:
  // with another pepper no stored key could ever match.
  absl::Status CheckPepper();

  // Decides whether `token` (raw or `Bearer …`) grants `required`, optionally
  // only in `environment`. A malformed token is rejected before any lookup.
  // Errors only when storage fails (callers fail closed).
  absl::StatusOr<AuthorizeResult> Authorize(absl::string_view token,
                                            const core::Scope& required,
                                            std::optional<core::Environment> environment) const;

  // Identifies a management caller from an `authorization` header value.
  // Unauthenticated: missing, malformed, unknown, revoked or expired
  // credential. PermissionDenied: a valid key that is neither an operator
  // key nor holds the unrestricted `admin` scope.
  absl::StatusOr<Caller> Authenticate(absl::string_view authorization) const;

  // Creates a key (durably). InvalidArgument on bad input; PermissionDenied
  // if a team admin targets another team or environment.
  absl::StatusOr<CreatedKey> CreateKey(const Caller& caller, const NewKey& request);

  // NotFound if no such key or it belongs to a team the caller cannot see;
  // PermissionDenied for a team admin on a key of the other environment.
  absl::StatusOr<core::KeyRecord> GetKey(const Caller& caller, absl::string_view key_id) const;

  // PermissionDenied for another team's (or environment's) listing.
  absl::StatusOr<storage::KeyPage> ListKeys(const Caller& caller, const ListRequest& request) const;

  // Revokes a key, effective for the next Authorize. Idempotent: an already
  // revoked key is returned unchanged. Errors as GetKey.
  absl::StatusOr<core::KeyRecord> RevokeKey(const Caller& caller, absl::string_view key_id,
                                            absl::string_view reason);

  // Makes sure the token in `path` is a registered operator key, generating
  // the token and writing it to `path` (mode 0600) first if the file does not
  // exist. Returns the operator key. InvalidArgument if the file holds no
  // valid token; FailedPrecondition if its token belongs to a normal key.
  struct BootstrapResult {
    core::KeyRecord key;
    bool generated_file = false;
    bool registered = false;
  };
  absl::StatusOr<BootstrapResult> EnsureOperatorKey(const std::string& path);

  const core::TokenFormat& token_format() const { return format_; }
  core::Clock& clock() const { return *clock_; }

 private:
  // Loads `key_id` as visible to `caller` (see GetKey).
  absl::StatusOr<core::KeyRecord> LoadVisible(const Caller& caller, absl::string_view key_id) const;

  const core::TokenFormat format_;
  const std::unique_ptr<core::TokenHasher> hasher_;
  storage::KeyStore* const store_;
  core::Clock* const clock_;
};

}  // namespace keygate::service

#endif  // KEYGATE_SERVER_SERVICE_KEY_SERVICE_H_
