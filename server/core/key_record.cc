#include "server/core/key_record.h"

namespace keygate::core {

KeyState KeyRecord::StateAt(absl::Time now) const {
  if (RevokedAt(now)) return KeyState::kRevoked;
  if (ExpiredAt(now)) return KeyState::kExpired;
  return KeyState::kActive;
}

}  // namespace keygate::core
