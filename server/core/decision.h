// The allow/deny decision for one Authorize call.
#ifndef KEYGATE_SERVER_CORE_DECISION_H_
#define KEYGATE_SERVER_CORE_DECISION_H_

#include <optional>

#include "absl/time/time.h"
#include "server/core/key_record.h"
#include "server/core/scope.h"
#include "server/core/token.h"

namespace keygate::core {

// Why a request is denied; kNone when it is allowed. Mirrors the public
// `keygate.v1.Reason` enum value for value.
enum class Reason {
  kNone = 0,
  kMalformedToken = 1,
  kUnknownKey = 2,
  kRevoked = 3,
  kExpired = 4,
  kInsufficientScope = 5,
  kWrongEnvironment = 6,
};

// The outcome of an authorization check. A plain value type.
struct Decision {
  Reason reason = Reason::kNone;

  bool allowed() const { return reason == Reason::kNone; }
  // 200 allowed; 403 insufficient scope; 401 for every other denial.
  int http_status() const;
};

// Decides whether `key` may perform an operation needing `required` at
// `now`, optionally only in `required_env`. Checks, in order: revoked,
// expired, environment, scope.
Decision Decide(const KeyRecord& key, const Scope& required,
                std::optional<Environment> required_env, absl::Time now);

// A short stable name for logs and metrics: "allowed", "revoked", ….
const char* ReasonName(Reason reason);

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_DECISION_H_
