// provider_crypto.hpp -- the few cryptographic and encoding helpers the
// channel adapters need, all over OpenSSL (nothing hand-rolled).
//
//   HmacSha1 / HmacSha256   raw MACs (Twilio signatures, ack tokens, triggers)
//   Base64 / Base64Url      standard (padded) and URL-safe (unpadded) encodings
//   Hex                     lower-case hex
//   ConstantTimeEquals      CRYPTO_memcmp after a length check on digests
//   DecodeForm              application/x-www-form-urlencoded -> ordered pairs
#ifndef LIFELINE_LIB_PROVIDERS_PROVIDER_CRYPTO_HPP_
#define LIFELINE_LIB_PROVIDERS_PROVIDER_CRYPTO_HPP_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/status.hpp"

namespace lifeline {

std::string HmacSha1(std::string_view key, std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);
std::string Sha256(std::string_view data);
std::string Base64(std::string_view bytes);
std::string Base64Url(std::string_view bytes);
// nullopt-like: InvalidArgument on a malformed input.
Result<std::string> DecodeBase64Url(std::string_view text);
std::string Hex(std::string_view bytes);

// Compares two secrets in time independent of where they differ. Both are
// hashed with SHA-256 first, so the time does not reveal the length either.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Splits and percent-decodes a form body ('+' is a space). InvalidArgument
// on a malformed escape.
Result<std::vector<std::pair<std::string, std::string>>> DecodeForm(std::string_view body);

}  // namespace lifeline

#endif  // LIFELINE_LIB_PROVIDERS_PROVIDER_CRYPTO_HPP_
