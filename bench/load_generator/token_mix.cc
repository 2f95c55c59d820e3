#include "bench/load_generator/token_mix.h"

namespace keygate::bench {

TokenMix::TokenMix(const TokenList* known, const TokenList* revoked,
                   const core::TokenFormat& format, double zipf_s, double invalid_fraction)
    : known_(known),
      revoked_(revoked),
      zipf_(known->size(), zipf_s),
      invalid_fraction_(invalid_fraction) {
  for (int i = 0; i < kPoolSize; ++i) {
    unknown_.push_back(format.Generate(core::Environment::kLive));
    std::string bad((*known)[i % known->size()]);
    switch (i % 3) {
      case 0:  // One character changed: the checksum no longer matches.
        bad[bad.size() - 10] = bad[bad.size() - 10] == 'a' ? 'b' : 'a';
        break;
      case 1:  // Truncated.
        bad.resize(bad.size() - 3);
        break;
      default:  // Another service's prefix.
        bad = "xx" + bad.substr(bad.find('_'));
        break;
    }
    malformed_.push_back(std::move(bad));
  }
}

absl::string_view TokenMix::Next(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  if (u >= invalid_fraction_) return (*known_)[zipf_.Sample(rng)];
  const int kind = static_cast<int>(u / invalid_fraction_ * 3);  // 0, 1 or 2.
  const size_t pick = rng();
  if (kind == 0) return malformed_[pick % malformed_.size()];
  if (kind == 1 && !revoked_->empty()) return (*revoked_)[pick % revoked_->size()];
  return unknown_[pick % unknown_.size()];
}

}  // namespace keygate::bench
