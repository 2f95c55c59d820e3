// Keyed hashing of tokens: what is stored and looked up instead of the token.
#ifndef KEYGATE_SERVER_CORE_TOKEN_HASHER_H_
#define KEYGATE_SERVER_CORE_TOKEN_HASHER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <openssl/sha.h>

namespace keygate::core {

// HMAC-SHA256 of tokens under a server secret (the "pepper"). A stolen copy
// of the store without the pepper neither reveals tokens nor lets anyone test
// guesses offline.
//
// HMAC is computed from SHA-256 states precomputed from the pepper (the
// inner and outer padded keys), so a hash costs two SHA-256 compressions and
// no allocation. Immutable after creation; Hash() is safe
// to call from many threads at once.
class TokenHasher {
 public:
  static constexpr size_t kHashBytes = 32;
  static constexpr size_t kMinPepperBytes = 32;

  // Returns InvalidArgument if `pepper` is shorter than kMinPepperBytes,
  // Internal if OpenSSL cannot set up HMAC-SHA256.
  static absl::StatusOr<std::unique_ptr<TokenHasher>> Create(absl::string_view pepper);

  TokenHasher(const TokenHasher&) = delete;
  TokenHasher& operator=(const TokenHasher&) = delete;

  // The binary HMAC-SHA256 of `data`, written to `out`: no allocation
  // (Authorize hashes every token it is sent).
  void Hash(absl::string_view data, unsigned char (&out)[kHashBytes]) const;

  // The 32-byte binary HMAC-SHA256 of `data`.
  std::string Hash(absl::string_view data) const;

 private:
  TokenHasher() = default;

  // SHA-256 after absorbing key^ipad and key^opad respectively.
  SHA256_CTX inner_;
  SHA256_CTX outer_;
};

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_TOKEN_HASHER_H_
