#include "bench/common/zipf.h"

#include <algorithm>
#include <cmath>

namespace keygate::bench {

ZipfDistribution::ZipfDistribution(size_t n, double s) : cdf_(std::max<size_t>(n, 1)) {
  double sum = 0;
  for (size_t k = 0; k < cdf_.size(); ++k) {
    sum += std::pow(static_cast<double>(k + 1), -s);
    cdf_[k] = sum;
  }
  for (double& c : cdf_) c /= sum;
  cdf_.back() = 1.0;
}

size_t ZipfDistribution::Sample(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const size_t k = std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin();
  return std::min(k, cdf_.size() - 1);
}

}  // namespace keygate::bench
