// The application layer: authorization decisions and key management rules,
// over a KeyStore. Free of gRPC; the gRPC services translate to and from it.
#ifndef KEYGATE_SERVER_SERVICE_KEY_SERVICE_H_
#define KEYGATE_SERVER_SERVICE_KEY_SERVICE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/audit_event.h"
#include "server/core/clock.h"
#include "server/core/decision.h"
#include "server/core/key_record.h"
#include "server/core/scope.h"
#include "server/core/token.h"
#include "server/core/token_hasher.h"
#include "server/core/usage.h"
#include "server/service/auth_throttle.h"
#include "server/service/usage_recorder.h"
#include "storage/key_store.h"

namespace keygate::service {

// The outcome of Authorize: the decision and, when the token matched a key,
// that key (null otherwise).
struct AuthorizeResult {
  core::Decision decision;
  core::SharedKeyRecord key;
  // When the decision was made, if `key` is set: the key's state in the
  // answer is reported at this time, and usage is counted at it.
  absl::Time time = absl::InfinitePast();
};

// An authenticated management caller.
struct Caller {
  std::string key_id;
  std::string team_id;  // Empty for operators.
  core::Environment environment = core::Environment::kLive;
  bool is_operator = false;
};

// Where a management call comes from: its `authorization` header value and
// the peer address (for the audit trail and the access log).
struct CallInfo {
  std::string authorization;
  std::string peer;
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

struct RotatedKey {
  core::KeyRecord key;       // The new key.
  std::string token;         // Its secret, shown once.
  core::KeyRecord previous;  // The old key, revoked at the end of the grace period.
};

struct ListRequest {
  std::string team_id;
  int page_size = 0;  // 0: default.
  std::string page_token;
  bool include_inactive = false;
  bool rotation_due_only = false;
  std::optional<core::Environment> environment;
};

struct AuditRequest {
  std::string team_id;  // "-": events not attributed to a team (operators).
  std::string key_id;   // Optional filter.
  int page_size = 0;
  std::string page_token;
};

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kDefaultUsageDays = 30;
inline constexpr size_t kMaxReportedClients = 20;

// Server policy, fixed at start.
struct KeyServiceOptions {
  // Longest lifetime a key may be given; zero: no ceiling. With a ceiling,
  // keys created without expire_time expire after it.
  absl::Duration max_key_ttl = absl::ZeroDuration();
  // Active keys older than this are reported as due for rotation.
  absl::Duration rotation_period = absl::Hours(24 * 90);
  // Longest grace period RotateKey accepts.
  absl::Duration max_grace_period = absl::Hours(24 * 7);
  // Failed management authentications allowed per client address before its
  // calls are refused (RESOURCE_EXHAUSTED), and how fast tries come back.
  int auth_failure_burst = 10;
  absl::Duration auth_failure_refill = absl::Seconds(6);
  // Where CreateBackup writes; empty: backups are off.
  std::string backup_dir;
};

// Keygate's behaviour, independent of the transport.
//
// Authorize is the hot path: it takes no lock of its own besides one usage
// shard lock, and never writes to storage. Management calls authenticate the
// caller, block on durable writes, and are recorded: writes (create, rotate,
// revoke) carry their audit event in their own atomic batch, and every
// refused call is appended to the audit trail. Thread-safe.
class KeyService {
 public:
  // `store`, `clock` and `usage` (may be null: no usage monitoring) must
  // outlive the service.
  KeyService(core::TokenFormat format, std::unique_ptr<core::TokenHasher> hasher,
             storage::KeyStore* store, const core::Clock* clock,
             KeyServiceOptions options = {}, UsageRecorder* usage = nullptr);

  // Verifies that the hasher's pepper is the one this store was created with
  // (recording it on first use). Returns FailedPrecondition on a mismatch:
  // with another pepper no stored key could ever match.
  absl::Status CheckPepper();

  // Decides whether `token` (raw or `Bearer …`) grants `required`, optionally
  // only in `environment`. A malformed token is rejected before any lookup.
  // Outcomes for a matched key are counted for usage monitoring with
  // `client_address`. Errors only when storage fails (callers fail closed).
  absl::StatusOr<AuthorizeResult> Authorize(absl::string_view token,
                                            const core::Scope& required,
                                            std::optional<core::Environment> environment,
                                            absl::string_view client_address = "") const;

  // Identifies a management caller from an `authorization` header value.
  // Unauthenticated: missing, malformed, unknown, revoked or expired
  // credential. PermissionDenied: a valid key that is neither an operator
  // key nor holds the unrestricted `admin` scope.
  absl::StatusOr<Caller> Authenticate(absl::string_view authorization) const;

  // Every management call below first authenticates `call` (errors as
  // Authenticate; ResourceExhausted while its address is throttled after
  // repeated failed authentications) and returns InvalidArgument for bad
  // input.

  // Creates a key (durably). PermissionDenied if a team admin targets
  // another team or environment.
  absl::StatusOr<CreatedKey> CreateKey(const CallInfo& call, const NewKey& request);
  // CreateKey without blocking on the disk: `done` gets the result, on the
  // calling thread before this returns if the call is refused, otherwise on
  // the store's thread once the key is durable (see KeyStore::CreateAsync:
  // `done` must not block).
  using CreateDone = std::function<void(absl::StatusOr<CreatedKey>)>;
  void CreateKey(const CallInfo& call, const NewKey& request, CreateDone done);

  // NotFound if no such key or it belongs to a team the caller cannot see;
  // PermissionDenied for a team admin on a key of the other environment.
  absl::StatusOr<core::KeyRecord> GetKey(const CallInfo& call, absl::string_view key_id);

  // PermissionDenied for another team's (or environment's) listing.
  absl::StatusOr<storage::KeyPage> ListKeys(const CallInfo& call, const ListRequest& request);

  // Revokes a key, effective for the next Authorize. Idempotent: an already
  // revoked key keeps its revocation time. Errors as GetKey.
  absl::StatusOr<core::KeyRecord> RevokeKey(const CallInfo& call, absl::string_view key_id,
                                            absl::string_view reason);

  // Replaces an active key (see the RotateKey RPC). FailedPrecondition if the
  // key is revoked, expired or already rotated. Errors as GetKey.
  absl::StatusOr<RotatedKey> RotateKey(const CallInfo& call, absl::string_view key_id,
                                       absl::Duration grace_period);

  // Usage of a key over the last `days` UTC days (1-90, 0: 30), one entry
  // per day. Errors as GetKey.
  absl::StatusOr<core::KeyUsage> GetKeyUsage(const CallInfo& call, absl::string_view key_id,
                                             int days);

  // A team's audit trail, newest first. PermissionDenied for another team's.
  absl::StatusOr<storage::AuditPage> ListAuditEvents(const CallInfo& call,
                                                     const AuditRequest& request);

  // Refuses a call whose request the transport could not convert (an enum,
  // timestamp or duration out of range) with `input_error`, but like every
  // other management call: the caller is authenticated first (so a caller
  // without a valid credential gets Unauthenticated and learns nothing about
  // input rules), and the refusal is audited and throttled. `action` names
  // the RPC.
  absl::Status RefuseInput(const CallInfo& call, const char* action, absl::Status input_error);

  // Operators only (PermissionDenied otherwise): an online backup of the
  // store into options().backup_dir. FailedPrecondition if none is set.
  absl::StatusOr<storage::BackupInfo> CreateBackup(const CallInfo& call);

  // Whether an active key is older than the rotation period at `now`.
  bool RotationDue(const core::KeyRecord& key, absl::Time now) const;

  // Makes sure the token in `path` is a registered operator key, generating
  // the token and writing it to `path` (mode 0600) first if the file does not
  // exist. InvalidArgument if the file holds no valid token;
  // FailedPrecondition if its token belongs to a normal key.
  struct BootstrapResult {
    core::KeyRecord key;
    bool generated_file = false;
    bool registered = false;
  };
  absl::StatusOr<BootstrapResult> EnsureOperatorKey(const std::string& path);

  const core::TokenFormat& token_format() const { return format_; }
  const core::Clock& clock() const { return *clock_; }
  const KeyServiceOptions& options() const { return options_; }

 private:
  // Authenticates `call`, runs `body`, access-logs the call and appends the
  // audit event of a refused call. `body` gets the caller and the call's
  // audit event (to adjust, and to pass to the store on a write).
  template <typename T, typename Body>
  absl::StatusOr<T> Manage(const CallInfo& call, const char* action, absl::string_view team,
                           absl::string_view target_key_id, Body body);

  // Manage in steps, for calls that finish on another thread.
  struct ManagedCall {
    core::AuditEvent event;
    absl::Time start;
    std::string peer;
  };
  // Starts the call's audit event and clock.
  ManagedCall BeginManaged(const CallInfo& call, const char* action, absl::string_view team,
                           absl::string_view target_key_id) const;
  // Throttles and authenticates the caller, naming it in `event`.
  absl::StatusOr<Caller> Admit(const CallInfo& call, core::AuditEvent& event);
  // Access-logs the call and appends the audit event if it was refused.
  void EndManaged(ManagedCall& managed, const absl::Status& status) const;

  // Validates a CreateKey request of `caller` and makes the key (not stored).
  absl::StatusOr<CreatedKey> PrepareCreate(const Caller& caller, const NewKey& request,
                                           core::AuditEvent& event) const;

  // The active key of an `authorization` header value; Unauthenticated as
  // Authenticate.
  absl::StatusOr<core::KeyRecord> Identify(absl::string_view authorization) const;
  // Loads `key_id` as visible to `caller` (see GetKey).
  absl::StatusOr<core::KeyRecord> LoadVisible(const Caller& caller, absl::string_view key_id) const;
  // Fills in last_used_time from usage data.
  absl::Status AddLastUsed(core::KeyRecord& key) const;
  // A new key of `caller` from a parsed request.
  core::KeyRecord NewRecord(const Caller& caller, const core::ParsedToken& token) const;

  const core::TokenFormat format_;
  const std::unique_ptr<core::TokenHasher> hasher_;
  storage::KeyStore* const store_;
  const core::Clock* const clock_;
  const KeyServiceOptions options_;
  UsageRecorder* const usage_;
  AuthThrottle throttle_;
};

}  // namespace keygate::service

#endif  // KEYGATE_SERVER_SERVICE_KEY_SERVICE_H_
