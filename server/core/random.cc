#include "server/core/random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace keygate::core {

std::string SecureRandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                          static_cast<int>(n)) != 1) {
    std::fputs("keygate: fatal: OpenSSL RAND_bytes failed\n", stderr);
    std::abort();
  }
  return out;
}

std::string SecureRandomBase62(size_t n) {
  // 62 * 4 = 248: bytes >= 248 are rejected so that `byte % 62` is uniform.
  constexpr unsigned kLimit = 248;
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    const std::string bytes = SecureRandomBytes(n - out.size() + 8);
    for (unsigned char b : bytes) {
      if (b >= kLimit) continue;
      out.push_back(kBase62Alphabet[b % 62]);
      if (out.size() == n) break;
    }
  }
  return out;
}

}  // namespace keygate::core
