// Slows down guessing of management credentials from one address.
#ifndef KEYGATE_SERVER_SERVICE_AUTH_THROTTLE_H_
#define KEYGATE_SERVER_SERVICE_AUTH_THROTTLE_H_

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/core/clock.h"

namespace keygate::service {

// A token bucket of failed authentications per client address: an address
// may fail `burst` times, regaining one try every `refill`; with the bucket
// empty its calls are refused until a try is regained. Successful calls
// cost nothing, and other addresses are unaffected. Memory is bounded by
// `max_addresses` (full buckets are forgotten first). Thread-safe.
class AuthThrottle {
 public:
  AuthThrottle(const core::Clock* clock, int burst, absl::Duration refill,
               size_t max_addresses = 100000);

  // Whether a call from `address` may try to authenticate now.
  bool Allowed(absl::string_view address);
  // Notes a failed authentication from `address`.
  void RecordFailure(absl::string_view address);

 private:
  struct Bucket {
    double tries;
    absl::Time updated;
  };
  // Brings `bucket` up to now.
  void Refill(Bucket& bucket, absl::Time now) const;

  const core::Clock* const clock_;
  const double burst_;
  const absl::Duration refill_;
  const size_t max_addresses_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// The host part of a gRPC peer string: "ipv4:10.1.2.3:5000" -> "10.1.2.3",
// "ipv6:[::1]:5000" -> "::1"; anything else is returned whole.
std::string PeerHost(absl::string_view peer);

}  // namespace keygate::service

#endif  // KEYGATE_SERVER_SERVICE_AUTH_THROTTLE_H_
