#include "server/core/thread_name.h"

#include <pthread.h>

#include <cstring>
#include <string>

namespace keygate::core {

void NameThisThread(const char* name) {
#if defined(__linux__)
  constexpr size_t kMaxChars = 15;  // The kernel's limit, without the NUL.
  const std::string truncated(name, strnlen(name, kMaxChars));
  pthread_setname_np(pthread_self(), truncated.c_str());
#else
  (void)name;
#endif
}

}  // namespace keygate::core
