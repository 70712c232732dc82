// basic_auth.cc -- see basic_auth.hpp.
#include "http/basic_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>

namespace lifeline {
namespace {

bool HasControlCharacter(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

}  // namespace

Result<std::string> BasicAuthorization(std::string_view user_id, std::string_view password) {
  if (user_id.find(':') != std::string_view::npos) {
    return InvalidArgument("basic auth user id must not contain ':'");
  }
  if (HasControlCharacter(user_id)) {
    return InvalidArgument("basic auth user id contains a control character");
  }
  if (HasControlCharacter(password)) {
    return InvalidArgument("basic auth password contains a control character");
  }
  std::string plain;
  plain.reserve(user_id.size() + 1 + password.size());
  plain.append(user_id).append(1, ':').append(password);
  if (plain.size() > static_cast<std::size_t>(INT_MAX / 4 * 3 - 3)) {
    return InvalidArgument("basic auth credentials are too long");
  }
  // EVP_EncodeBlock writes 4 bytes per started 3-byte group plus a NUL.
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  OPENSSL_cleanse(plain.data(), plain.size());
  if (written < 0) return InternalError("EVP_EncodeBlock failed");
  encoded.resize(static_cast<std::size_t>(written));
  return "Basic " + encoded;
}

}  // namespace lifeline
