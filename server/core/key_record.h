// The stored form of an API key, independent of gRPC and of storage.
#ifndef KEYGATE_SERVER_CORE_KEY_RECORD_H_
#define KEYGATE_SERVER_CORE_KEY_RECORD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/core/scope.h"
#include "server/core/token.h"
#include "server/core/usage_tally.h"

namespace keygate::core {

enum class KeyState { kActive, kRevoked, kExpired };

// Everything Keygate knows about a key. Never holds the token, only its
// keyed hash. A value type, except for `usage_tally`, which a copy does not
// copy.
struct KeyRecord {
  // First the fields that Authorize's decision reads on every call, so that
  // in a shared record (std::make_shared puts the reference counts just
  // before it) they share the cache lines the reference count already brings
  // in: a key-cache hit then waits for fewer memory reads.
  //
  // The key is revoked from this time on; InfiniteFuture: not revoked.
  absl::Time revoke_time = absl::InfiniteFuture();
  // The key stops authorizing at this time; InfiniteFuture: never expires.
  absl::Time expire_time = absl::InfiniteFuture();
  Environment environment = Environment::kLive;
  // Authorize answers of this object not yet flushed (UsageRecorder); next
  // to the fields above because every counted call writes it.
  mutable UsageTally usage_tally;
  ScopeList scopes;  // Parsed, duplicate-free.
  std::string key_id;         // Public id, `key_` + 20 base62 characters.
  std::string team_id;        // Empty for operator keys.
  std::string name;
  std::string display_prefix;  // e.g. `fs_live_AbCd`.
  std::string token_hash;      // TokenHasher::Hash of the token (32 bytes).
  absl::Time create_time = absl::UnixEpoch();
  std::string revoke_reason;
  std::string created_by;  // Creator key id, or kCreatedByBootstrap.
  bool is_operator = false;
  // Rotation links: the key this one replaced, and the key that replaced it.
  std::string rotated_from_key_id;
  std::string rotated_to_key_id;
  // Not stored with the record: filled in from usage data by the reads that
  // report it (InfinitePast: never used, or not looked up).
  absl::Time last_used_time = absl::InfinitePast();

  bool RevokedAt(absl::Time now) const { return now >= revoke_time; }
  bool ExpiredAt(absl::Time now) const { return now >= expire_time; }
  // Revoked wins over expired.
  KeyState StateAt(absl::Time now) const;
};

// A record shared read-only between the store's cache and its readers.
using SharedKeyRecord = std::shared_ptr<const KeyRecord>;

inline constexpr char kCreatedByBootstrap[] = "bootstrap";

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_KEY_RECORD_H_
