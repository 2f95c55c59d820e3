#include "server/core/decision.h"

namespace keygate::core {

int Decision::http_status() const {
  switch (reason) {
    case Reason::kNone:
      return 200;
    case Reason::kInsufficientScope:
      return 403;
    default:
      return 401;
  }
}

Decision Decide(const KeyRecord& key, const Scope& required,
                std::optional<Environment> required_env, absl::Time now) {
  if (key.RevokedAt(now)) return {Reason::kRevoked};
  if (key.ExpiredAt(now)) return {Reason::kExpired};
  if (required_env.has_value() && *required_env != key.environment) {
    return {Reason::kWrongEnvironment};
  }
  if (!AnySatisfies(key.scopes, required)) return {Reason::kInsufficientScope};
  return {Reason::kNone};
}

const char* ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kNone:
      return "allowed";
    case Reason::kMalformedToken:
      return "malformed_token";
    case Reason::kUnknownKey:
      return "unknown_key";
    case Reason::kRevoked:
      return "revoked";
    case Reason::kExpired:
      return "expired";
    case Reason::kInsufficientScope:
      return "insufficient_scope";
    case Reason::kWrongEnvironment:
      return "wrong_environment";
  }
  return "unknown";
}

}  // namespace keygate::core
