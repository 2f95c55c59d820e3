// Keeps a long-running server's resident memory flat, under glibc malloc
// (the default) or jemalloc (KEYGATE_MALLOC=jemalloc in CMakeLists.txt).
//
// gRPC and RocksDB allocate and free on many threads. glibc gives threads
// that meet on a malloc lock arenas of their own (up to 8 per core) and
// returns freed pages inside an arena to the kernel only when they are at its
// top, so freed memory stays resident (2.2 MiB of a 36 MiB heap after a
// 150 s soak; docs/reliability.md, "Soak"). jemalloc returns freed pages
// after a delay of its own; a release returns them at once.
#ifndef KEYGATE_SERVER_PROCESS_MEMORY_RELEASE_H_
#define KEYGATE_SERVER_PROCESS_MEMORY_RELEASE_H_

#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace keygate::process {

// The allocator that serves this process's malloc: "jemalloc <version>"
// (linked in, or preloaded), else "glibc <version>", else "libc".
std::string MallocName();

// Under glibc malloc, caps its arenas at one per core. Call at the start of
// main, before any thread starts. Leaves an explicit MALLOC_ARENA_MAX in the
// environment alone.
void LimitMallocArenas();

// Returns free heap pages (wherever they lie in an arena) to the kernel.
// Returns whether any memory was released.
bool ReleaseFreeHeapPages();

// A thread that calls ReleaseFreeHeapPages() every `interval` until destroyed.
class PeriodicMemoryRelease {
 public:
  explicit PeriodicMemoryRelease(absl::Duration interval);
  ~PeriodicMemoryRelease();  // Stops and joins the thread.

  PeriodicMemoryRelease(const PeriodicMemoryRelease&) = delete;
  PeriodicMemoryRelease& operator=(const PeriodicMemoryRelease&) = delete;

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace keygate::process

#endif  // KEYGATE_SERVER_PROCESS_MEMORY_RELEASE_H_
