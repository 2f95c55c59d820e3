#include "server/service/auth_throttle.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace keygate::service {

AuthThrottle::AuthThrottle(const core::Clock* clock, int burst, absl::Duration refill,
                           size_t max_addresses)
    : clock_(clock), burst_(std::max(1, burst)), refill_(refill), max_addresses_(max_addresses) {}

void AuthThrottle::Refill(Bucket& bucket, absl::Time now) const {
  if (refill_ > absl::ZeroDuration() && now > bucket.updated) {
    bucket.tries = std::min(burst_, bucket.tries + absl::FDivDuration(now - bucket.updated, refill_));
  }
  bucket.updated = now;
}

bool AuthThrottle::Allowed(absl::string_view address) {
  absl::MutexLock lock(&mu_);
  const auto it = buckets_.find(address);
  if (it == buckets_.end()) return true;
  Refill(it->second, clock_->Now());
  return it->second.tries >= 1;
}

void AuthThrottle::RecordFailure(absl::string_view address) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  if (buckets_.size() >= max_addresses_ && buckets_.find(address) == buckets_.end()) {
    // Forget addresses that have recovered; if none has, start over rather
    // than grow without bound.
    absl::erase_if(buckets_, [&](auto& entry) {
      Refill(entry.second, now);
      return entry.second.tries >= burst_;
    });
    if (buckets_.size() >= max_addresses_) buckets_.clear();
  }
  auto [it, inserted] = buckets_.try_emplace(address, Bucket{burst_, now});
  Refill(it->second, now);
  it->second.tries = std::max(0.0, it->second.tries - 1);
}

std::string PeerHost(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (absl::ConsumePrefix(&peer, "ipv6:") && absl::StartsWith(peer, "[")) {
    return std::string(peer.substr(1, peer.find(']') - 1));
  }
  return std::string(peer);
}

}  // namespace keygate::service
