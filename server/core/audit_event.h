// An entry of the append-only audit trail of management calls.
#ifndef KEYGATE_SERVER_CORE_AUDIT_EVENT_H_
#define KEYGATE_SERVER_CORE_AUDIT_EVENT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace keygate::core {

// Who did what to which key, and how it ended. Never holds a token.
// A plain value type.
struct AuditEvent {
  std::string event_id;           // Unique, random.
  absl::Time time = absl::UnixEpoch();
  std::string actor_key_id;       // Empty when the caller was not identified.
  bool actor_is_operator = false;
  std::string team_id;            // The team acted on; empty if unknown.
  std::string action;             // The RPC: "CreateKey", "RevokeKey", "RotateKey", ….
  std::string target_key_id;      // Empty if none (e.g. a refused CreateKey).
  absl::StatusCode outcome = absl::StatusCode::kOk;
  std::string peer;               // The caller's network address.
  std::string detail;             // Short human-readable note (error message, new key id).
};

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_AUDIT_EVENT_H_
