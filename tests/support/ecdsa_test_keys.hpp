// ecdsa_test_keys.hpp -- a throwaway ECDSA key pair made with OpenSSL, to
// sign requests the way SendGrid's Signed Event Webhook does.
//
//   lifeline::testing::EcdsaTestKey key;                 // fresh P-256 pair
//   std::string public_b64 = key.PublicKeyBase64();      // what SendGrid shows
//   std::string sig = key.SignBase64(timestamp + body);  // the header's value
//
// `EcdsaTestKey("secp384r1")` makes a key on another curve (for refusals).
#ifndef LIFELINE_TESTS_SUPPORT_ECDSA_TEST_KEYS_HPP_
#define LIFELINE_TESTS_SUPPORT_ECDSA_TEST_KEYS_HPP_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lifeline {
namespace testing {

inline std::string TestBase64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

class EcdsaTestKey {
 public:
  // "P-256" (prime256v1), "secp384r1" ...; "RSA" makes a 2048-bit RSA key.
  explicit EcdsaTestKey(const char* curve = "P-256") {
    EVP_PKEY* k = std::string_view(curve) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
    if (k == nullptr) throw std::runtime_error("EVP_PKEY_Q_keygen failed");
    key_.reset(k);
  }

  // DER SubjectPublicKeyInfo.
  std::string PublicKeyDer() const {
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key_.get(), &der);
    if (n <= 0) throw std::runtime_error("i2d_PUBKEY failed");
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    return out;
  }
  std::string PublicKeyBase64() const { return TestBase64(PublicKeyDer()); }

  // ECDSA (or RSA PKCS#1 v1.5) over SHA-256(data): the DER signature.
  std::string Sign(std::string_view data) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t len = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1) {
      throw std::runtime_error("EVP_DigestSign (size) failed");
    }
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
      throw std::runtime_error("EVP_DigestSign failed");
    }
    sig.resize(len);
    return sig;
  }
  std::string SignBase64(std::string_view data) const { return TestBase64(Sign(data)); }

 private:
  struct Free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  std::unique_ptr<EVP_PKEY, Free> key_;
};

}  // namespace testing
}  // namespace lifeline

#endif  // LIFELINE_TESTS_SUPPORT_ECDSA_TEST_KEYS_HPP_
