// OpenSSL 3 deprecates the low-level SHA256_* functions in favour of EVP,
// whose per-call context setup costs more than the hash itself here.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "server/core/token_hasher.h"

#include <openssl/crypto.h>

#include <cstring>

namespace keygate::core {

absl::StatusOr<std::unique_ptr<TokenHasher>> TokenHasher::Create(absl::string_view pepper) {
  if (pepper.size() < kMinPepperBytes) {
    return absl::InvalidArgumentError("pepper must be at least 32 bytes");
  }
  // HMAC (RFC 2104): keys longer than the block are hashed first.
  unsigned char key[SHA256_CBLOCK] = {};
  if (pepper.size() > SHA256_CBLOCK) {
    SHA256(reinterpret_cast<const unsigned char*>(pepper.data()), pepper.size(), key);
  } else {
    std::memcpy(key, pepper.data(), pepper.size());
  }
  unsigned char ipad[SHA256_CBLOCK];
  unsigned char opad[SHA256_CBLOCK];
  for (int i = 0; i < SHA256_CBLOCK; ++i) {
    ipad[i] = key[i] ^ 0x36;
    opad[i] = key[i] ^ 0x5c;
  }
  std::unique_ptr<TokenHasher> hasher(new TokenHasher());
  if (SHA256_Init(&hasher->inner_) != 1 || SHA256_Update(&hasher->inner_, ipad, sizeof(ipad)) != 1 ||
      SHA256_Init(&hasher->outer_) != 1 || SHA256_Update(&hasher->outer_, opad, sizeof(opad)) != 1) {
    return absl::InternalError("SHA-256 setup failed");
  }
  OPENSSL_cleanse(key, sizeof(key));
  OPENSSL_cleanse(ipad, sizeof(ipad));
  OPENSSL_cleanse(opad, sizeof(opad));
  return hasher;
}

static_assert(TokenHasher::kHashBytes == SHA256_DIGEST_LENGTH);

void TokenHasher::Hash(absl::string_view data, unsigned char (&out)[kHashBytes]) const {
  unsigned char inner_digest[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx = inner_;
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(inner_digest, &ctx);
  ctx = outer_;
  SHA256_Update(&ctx, inner_digest, sizeof(inner_digest));
  SHA256_Final(out, &ctx);
  OPENSSL_cleanse(&ctx, sizeof(ctx));
}

std::string TokenHasher::Hash(absl::string_view data) const {
  unsigned char hash[kHashBytes];
  Hash(data, hash);
  return std::string(reinterpret_cast<const char*>(hash), sizeof(hash));
}

}  // namespace keygate::core
