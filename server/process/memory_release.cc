#include "server/process/memory_release.h"

#include <cstdlib>

#include "server/core/thread_name.h"

#if defined(__GLIBC__)
#include <malloc.h>
#include <unistd.h>
#endif

namespace keygate::process {

void LimitMallocArenas() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  mallopt(M_ARENA_MAX, static_cast<int>(cores > 1 ? cores : 1));
#endif
}

bool ReleaseFreeHeapPages() {
#if defined(__GLIBC__)
  return malloc_trim(0) != 0;
#else
  return false;
#endif
}

PeriodicMemoryRelease::PeriodicMemoryRelease(absl::Duration interval)
    : thread_([this, interval] {
        core::NameThisThread("kg-mem-release");
        while (!stop_.WaitForNotificationWithTimeout(interval)) ReleaseFreeHeapPages();
      }) {}

PeriodicMemoryRelease::~PeriodicMemoryRelease() {
  stop_.Notify();
  thread_.join();
}

}  // namespace keygate::process
