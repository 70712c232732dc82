// audit_crypto.hpp -- the OpenSSL (libcrypto) primitives the audit trail
// uses: SHA-256, HMAC-SHA256, AES-256-GCM, random bytes, hex and base64.
//
// Internal to the library. The classes keep their OpenSSL contexts between
// calls (fetching an algorithm is the expensive part in OpenSSL 3), so one
// instance must not be used by two threads at once; the free functions are
// thread-safe.
#ifndef LIFELINE_LIB_CORE_AUDIT_CRYPTO_HPP_
#define LIFELINE_LIB_CORE_AUDIT_CRYPTO_HPP_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lifeline/audit_keys.hpp"
#include "lifeline/status.hpp"

namespace lifeline::audit_internal {

inline constexpr std::size_t kSha256Size = 32;

// SHA-256 of `data` into `out` (32 bytes). Thread-safe.
void Sha256(std::string_view data, std::uint8_t* out);
// SHA-256 of a ‖ b into `out`.
void Sha256Two(const std::uint8_t* a, std::size_t a_size, const std::uint8_t* b,
               std::size_t b_size, std::uint8_t* out);

// Lower-case hex of `size` bytes.
std::string HexEncode(const std::uint8_t* data, std::size_t size);
// The same, appended to `*out`.
void HexAppend(const std::uint8_t* data, std::size_t size, std::string* out);
// Decodes exactly `size` bytes from 2*size hex digits (either case). False
// on a wrong length or a non-hex digit.
bool HexDecode(std::string_view hex, std::uint8_t* out, std::size_t size);
// True for 64 lower-case hex digits.
bool IsLowerHex64(std::string_view text);

// Standard base64 with padding.
std::string Base64Encode(const std::uint8_t* data, std::size_t size);
// The same, appended to `*out`.
void Base64Append(const std::uint8_t* data, std::size_t size, std::string* out);
// Decodes standard base64 (padding optional). False on bad input.
bool Base64Decode(std::string_view text, std::string* out);

// Cryptographically random bytes. IO error when the RNG fails.
Status RandomBytes(std::uint8_t* out, std::size_t size);

// HMAC-SHA256 with a fixed key, reusable.
class HmacSha256 {
 public:
  explicit HmacSha256(const SecretKey& key);
  // Any key length (the RFC 4231 test vectors use 4 to 131 bytes).
  HmacSha256(const std::uint8_t* key, std::size_t size);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  // MAC of `message` into `out` (32 bytes).
  void Compute(std::string_view message, std::uint8_t* out);
  // Lower-case hex of the MAC.
  std::string Hex(std::string_view message);
  // The same, appended to `*out`.
  void AppendHex(std::string_view message, std::string* out);

 private:
  void* ctx_;  // HMAC_CTX* (EVP_MAC_CTX* without OpenSSL's deprecated API)
};

// AES-256-GCM with a 96-bit nonce and a 128-bit tag, reusable across keys.
class AesGcm {
 public:
  static constexpr std::size_t kNonceSize = 12;
  static constexpr std::size_t kTagSize = 16;

  AesGcm();
  ~AesGcm();
  AesGcm(const AesGcm&) = delete;
  AesGcm& operator=(const AesGcm&) = delete;

  // Encrypts `plaintext` with a fresh random 96-bit nonce; `*out` becomes
  // nonce ‖ ciphertext ‖ tag. Nonces come from a pool filled by RAND_bytes
  // (one call per 340 nonces: a call costs microseconds, whatever its size);
  // a fork empties every pool, so a child never reuses its parent's nonces.
  Status Seal(const SecretKey& key, std::string_view aad, std::string_view plaintext,
              std::string* out);
  // Reverses Seal. LIFELINE_E_STATE when the tag does not verify (wrong key,
  // wrong AAD, or tampered data); the message says which field, not why.
  Status Open(const SecretKey& key, std::string_view aad, std::string_view sealed,
              std::string* out);

 private:
  Status NextNonce(std::uint8_t* out);
  // Sets the key (and direction) unless the context already has them, so
  // the AES key schedule is computed once per key, not once per value.
  void Prepare(const SecretKey& key, bool encrypt);

  void* ctx_;  // EVP_CIPHER_CTX*
  bool keyed_ = false;
  bool encrypting_ = false;
  std::uint8_t key_[SecretKey::kSize] = {};
  std::uint8_t pool_[kNonceSize * 340] = {};
  std::size_t pool_used_ = sizeof pool_;
  std::uint64_t pool_generation_ = 0;
};

}  // namespace lifeline::audit_internal

#endif  // LIFELINE_LIB_CORE_AUDIT_CRYPTO_HPP_
