// provider_crypto.hpp -- the few cryptographic and encoding helpers the
// channel adapters need, all over OpenSSL (nothing hand-rolled).
//
//   HmacSha1 / HmacSha256   raw MACs (Twilio signatures, ack tokens, triggers)
//   Base64 / Base64Url      standard (padded) and URL-safe (unpadded) encodings
//   DecodeBase64            strict standard base64 (SendGrid keys, signatures)
//   EcdsaP256PublicKey      ECDSA P-256 / SHA-256 signature checks (SendGrid's
//                           Signed Event Webhook)
//   Hex                     lower-case hex
//   ConstantTimeEquals      CRYPTO_memcmp after a length check on digests
//   DecodeForm              application/x-www-form-urlencoded -> ordered pairs
#ifndef LIFELINE_LIB_PROVIDERS_PROVIDER_CRYPTO_HPP_
#define LIFELINE_LIB_PROVIDERS_PROVIDER_CRYPTO_HPP_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/status.hpp"

struct evp_pkey_st;   // OpenSSL's EVP_PKEY

namespace lifeline {

std::string HmacSha1(std::string_view key, std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);
std::string Sha256(std::string_view data);
std::string Base64(std::string_view bytes);
std::string Base64Url(std::string_view bytes);
// nullopt-like: InvalidArgument on a malformed input.
Result<std::string> DecodeBase64Url(std::string_view text);
// Standard base64 (RFC 4648 section 4) with its '=' padding; no whitespace.
// InvalidArgument "not base64" on anything else.
Result<std::string> DecodeBase64(std::string_view text);
std::string Hex(std::string_view bytes);

// Compares two secrets in time independent of where they differ. Both are
// hashed with SHA-256 first, so the time does not reveal the length either.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// An elliptic-curve public key on NIST P-256 (prime256v1), for ECDSA
// signatures over SHA-256. Immutable once made: copies share the OpenSSL key,
// and one key may verify on several threads at once.
//
//   auto key = EcdsaP256PublicKey::FromDer(*DecodeBase64(base64_key));
//   if (key.ok() && key->VerifySha256(timestamp + body, *DecodeBase64(sig))) ...
class EcdsaP256PublicKey {
 public:
  // From a DER SubjectPublicKeyInfo (RFC 5480; what `openssl ec -pubout
  // -outform DER` writes). InvalidArgument when it is not one, has trailing
  // bytes, or holds a key of another type or curve.
  static Result<EcdsaP256PublicKey> FromDer(std::string_view der);

  // Whether `der_signature` (an ASN.1 DER ECDSA-Sig-Value, SEQUENCE {r, s})
  // is this key's signature of SHA-256(`data`). False for a wrong or
  // malformed signature; never throws.
  bool VerifySha256(std::string_view data, std::string_view der_signature) const;

 private:
  explicit EcdsaP256PublicKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

// Splits and percent-decodes a form body ('+' is a space). InvalidArgument
// on a malformed escape.
Result<std::vector<std::pair<std::string, std::string>>> DecodeForm(std::string_view body);

}  // namespace lifeline

#endif  // LIFELINE_LIB_PROVIDERS_PROVIDER_CRYPTO_HPP_
