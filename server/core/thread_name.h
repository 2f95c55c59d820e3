// Names for Keygate's own threads, so that `top -H`, `perf` and core dumps
// tell the management pool, the usage flusher and the cache warmer apart.
#ifndef KEYGATE_SERVER_CORE_THREAD_NAME_H_
#define KEYGATE_SERVER_CORE_THREAD_NAME_H_

namespace keygate::core {

// Names the calling thread. Linux keeps the first 15 characters; elsewhere
// this does nothing. Never fails.
void NameThisThread(const char* name);

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_THREAD_NAME_H_
