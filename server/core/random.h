// Cryptographically secure randomness for secrets and identifiers.
#ifndef KEYGATE_SERVER_CORE_RANDOM_H_
#define KEYGATE_SERVER_CORE_RANDOM_H_

#include <cstddef>
#include <string>

namespace keygate::core {

// The base62 alphabet used by tokens and ids: 0-9, A-Z, a-z.
inline constexpr char kBase62Alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// Returns `n` bytes from OpenSSL's CSPRNG (RAND_bytes). Aborts the process if
// the CSPRNG fails: a service that cannot make secrets must not make weak ones.
// Thread-safe.
std::string SecureRandomBytes(size_t n);

// Returns `n` uniformly distributed base62 characters from the CSPRNG
// (rejection sampling, no modulo bias). Thread-safe.
std::string SecureRandomBase62(size_t n);

}  // namespace keygate::core

#endif  // KEYGATE_SERVER_CORE_RANDOM_H_
