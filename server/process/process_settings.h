// Process-wide settings of keygate-server, applied at the start of main.
#ifndef KEYGATE_SERVER_PROCESS_PROCESS_SETTINGS_H_
#define KEYGATE_SERVER_PROCESS_PROCESS_SETTINGS_H_

namespace keygate::process {

// Turns off Abseil's mutex deadlock detection, which Debian's Abseil leaves
// on: it costs every lock of every absl::Mutex (gRPC's included) a lookup in
// a global lock graph (41 ns against 15 ns per uncontended lock and unlock
// here). Our lock order is simple, and ThreadSanitizer runs cover it; tests
// keep the detection. Then caps malloc arenas (LimitMallocArenas).
//
// Call at the start of main, before any thread starts. keygate-microbench
// applies it too, so that it times the decision path as the server runs it.
void ApplyServerProcessSettings();

}  // namespace keygate::process

#endif  // KEYGATE_SERVER_PROCESS_PROCESS_SETTINGS_H_
