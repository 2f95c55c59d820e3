#include "server/process/process_settings.h"

#include "absl/synchronization/mutex.h"
#include "server/process/memory_release.h"

namespace keygate::process {

void ApplyServerProcessSettings() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  LimitMallocArenas();
}

}  // namespace keygate::process
