// provider_crypto.cc -- see provider_crypto.hpp.
#include "providers/provider_crypto.hpp"

#include <curl/curl.h>
#include <cctype>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <cstring>

namespace lifeline {
namespace {

std::string Hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

std::string HmacSha1(std::string_view key, std::string_view data) { return Hmac(EVP_sha1(), key, data); }
std::string HmacSha256(std::string_view key, std::string_view data) {
  return Hmac(EVP_sha256(), key, data);
}

std::string Sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string Base64Url(std::string_view bytes) {
  std::string s = Base64(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return s;
}

Result<std::string> DecodeBase64Url(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return InvalidArgument("not base64url");
  }
  std::size_t pad = (4 - s.size() % 4) % 4;
  if (pad == 3) return InvalidArgument("not base64url");
  s.append(pad, '=');
  std::string out(s.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return InvalidArgument("not base64url");
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

Result<std::string> DecodeBase64(std::string_view text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.size() % 4 != 0) return InvalidArgument("not base64");
  std::size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  for (std::size_t i = 0; i + pad < text.size(); ++i) {
    if (text[i] == '\0' || std::strchr(kAlphabet, text[i]) == nullptr) return InvalidArgument("not base64");
  }
  if (text.empty()) return std::string();
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad) return InvalidArgument("not base64");
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

Result<EcdsaP256PublicKey> EcdsaP256PublicKey::FromDer(std::string_view der) {
  const Status refused = InvalidArgument("not a DER SubjectPublicKeyInfo of a P-256 (prime256v1) EC key");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  EVP_PKEY* raw = der.empty() ? nullptr : d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr) {
    ERR_clear_error();
    return refused;
  }
  std::shared_ptr<evp_pkey_st> key(raw, EVP_PKEY_free);
  char group[64] = {0};
  std::size_t group_len = 0;
  if (p != end || EVP_PKEY_is_a(raw, "EC") != 1 ||
      EVP_PKEY_get_group_name(raw, group, sizeof group, &group_len) != 1 ||
      std::strcmp(group, "prime256v1") != 0) {
    ERR_clear_error();
    return refused;
  }
  return EcdsaP256PublicKey(std::move(key));
}

bool EcdsaP256PublicKey::VerifySha256(std::string_view data, std::string_view der_signature) const {
  if (!key_ || der_signature.empty()) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = ctx != nullptr &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der_signature.data()),
                             der_signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()) == 1;
  // A refused signature leaves OpenSSL errors queued on this thread, which
  // the host's own OpenSSL calls would otherwise find.
  if (!ok) ERR_clear_error();
  return ok;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  std::string da = Sha256(a), db = Sha256(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

Result<std::vector<std::pair<std::string, std::string>>> DecodeForm(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  auto decode = [](std::string_view part) -> Result<std::string> {
    std::string s(part);
    for (char& c : s) {
      if (c == '+') c = ' ';
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
                          !std::isxdigit(static_cast<unsigned char>(s[i + 2])))) {
        return InvalidArgument("form body: malformed percent-escape");
      }
    }
    int len = 0;
    char* d = curl_easy_unescape(nullptr, s.data(), static_cast<int>(s.size()), &len);
    if (d == nullptr) return InternalError("form body: out of memory");
    std::string r(d, static_cast<std::size_t>(len));
    curl_free(d);
    return r;
  };
  std::size_t pos = 0;
  while (pos <= body.size() && !body.empty()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view field = body.substr(pos, amp - pos);
    if (!field.empty()) {
      std::size_t eq = field.find('=');
      auto k = decode(field.substr(0, eq));
      if (!k.ok()) return k.status();
      auto v = decode(eq == std::string_view::npos ? std::string_view() : field.substr(eq + 1));
      if (!v.ok()) return v.status();
      out.emplace_back(std::move(*k), std::move(*v));
    }
    pos = amp + 1;
  }
  return out;
}

}  // namespace lifeline
