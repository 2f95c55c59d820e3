#include "server/core/token_hasher.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>

namespace keygate::core {

absl::StatusOr<std::unique_ptr<TokenHasher>> TokenHasher::Create(absl::string_view pepper) {
  if (pepper.size() < kMinPepperBytes) {
    return absl::InvalidArgumentError("pepper must be at least 32 bytes");
  }
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return absl::InternalError("OpenSSL has no HMAC");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // The context holds its own reference.
  if (ctx == nullptr) return absl::InternalError("EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(pepper.data()),
                   pepper.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return absl::InternalError("EVP_MAC_init(HMAC-SHA256) failed");
  }
  return std::unique_ptr<TokenHasher>(new TokenHasher(ctx));
}

TokenHasher::~TokenHasher() { EVP_MAC_CTX_free(keyed_); }

std::string TokenHasher::Hash(absl::string_view data) const {
  std::string out(kHashBytes, '\0');
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed_);
  size_t len = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) == 1 &&
      EVP_MAC_final(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                    out.size()) == 1 &&
      len == kHashBytes;
  EVP_MAC_CTX_free(ctx);
  if (!ok) {
    // Fail closed: never hand out a hash that could match the wrong key.
    std::fputs("keygate: fatal: HMAC-SHA256 failed\n", stderr);
    std::abort();
  }
  return out;
}

}  // namespace keygate::core
