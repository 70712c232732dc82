// provider_crypto.cc -- see provider_crypto.hpp.
#include "providers/provider_crypto.hpp"

#include <curl/curl.h>
#include <cctype>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

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
