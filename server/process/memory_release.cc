#include "server/process/memory_release.h"

#include <cstdint>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "server/core/thread_name.h"

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#include <malloc.h>
#include <unistd.h>
#endif

// jemalloc's control interface; null unless jemalloc is linked in or
// preloaded.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp,
                       size_t newlen) __attribute__((weak));

namespace keygate::process {
namespace {

// Reads a jemalloc statistic or setting of type T; false if there is none.
template <typename T>
bool JemallocRead(const char* name, T* value) {
  size_t size = sizeof(T);
  return mallctl != nullptr && mallctl(name, value, &size, nullptr, 0) == 0 && size == sizeof(T);
}

// Whether jemalloc serves malloc: its control interface may be present while
// another allocator comes first (a library that links jemalloc), so check
// that a malloc is counted by it.
bool ComputeJemallocServesMalloc() {
  uint64_t before = 0, after = 0;
  if (!JemallocRead("thread.allocated", &before)) return false;
  void* volatile block = std::malloc(4096);
  const bool read = JemallocRead("thread.allocated", &after);
  std::free(block);
  return read && after >= before + 4096;
}

bool JemallocServesMalloc() {
  static const bool serves = ComputeJemallocServesMalloc();
  return serves;
}

// Resident bytes held by jemalloc, after refreshing its statistics.
size_t JemallocResident() {
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  mallctl("epoch", &epoch, &size, &epoch, sizeof(epoch));
  size_t resident = 0;
  return JemallocRead("stats.resident", &resident) ? resident : 0;
}

}  // namespace

std::string MallocName() {
  if (JemallocServesMalloc()) {
    const char* version = nullptr;
    return absl::StrCat("jemalloc ", JemallocRead("version", &version) ? version : "");
  }
#if defined(__GLIBC__)
  return absl::StrCat("glibc ", gnu_get_libc_version());
#else
  return "libc";
#endif
}

void LimitMallocArenas() {
#if defined(__GLIBC__)
  if (JemallocServesMalloc() || std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  mallopt(M_ARENA_MAX, static_cast<int>(cores > 1 ? cores : 1));
#endif
}

bool ReleaseFreeHeapPages() {
  if (JemallocServesMalloc()) {
    // Every arena's unused dirty pages (4096 is MALLCTL_ARENAS_ALL).
    const size_t before = JemallocResident();
    if (mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0) != 0) return false;
    return JemallocResident() < before;
  }
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
