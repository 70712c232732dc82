// self_signed_cert.hpp -- a throw-away TLS certificate for loopback tests.
//
// Overview: `WriteSelfSignedCertificate` generates a P-256 key and a
// self-signed X.509 v3 certificate for CN=localhost with subjectAltName
// DNS:localhost and IP:127.0.0.1, valid from an hour ago for a day, and
// writes both as PEM. Serve it with FakeHttpServer's tls_cert_file /
// tls_key_file; trust it in a client with the certificate file as its CA
// file. Everything is OpenSSL (libcrypto); nothing is hand-rolled.
//
// Example:
//
//   std::string error;
//   REQUIRE(lifeline::testing::WriteSelfSignedCertificate(dir + "/cert.pem",
//                                                         dir + "/key.pem", &error));
#ifndef LIFELINE_TESTS_SUPPORT_SELF_SIGNED_CERT_HPP_
#define LIFELINE_TESTS_SUPPORT_SELF_SIGNED_CERT_HPP_

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>

namespace lifeline {
namespace testing {

inline bool WriteSelfSignedCertificate(const std::string& cert_path, const std::string& key_path,
                                       std::string* error) {
  auto fail = [&](const char* what) {
    if (error != nullptr) *error = what;
    return false;
  };
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) return fail("EVP_EC_gen failed");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (!cert) return fail("X509_new failed");
  X509_set_version(cert.get(), 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_key_usage, "critical,digitalSignature,keyCertSign"},
      {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
  };
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return fail("X509V3_EXT_conf_nid failed");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return fail("X509_sign failed");

  std::unique_ptr<FILE, decltype(&std::fclose)> cert_file(std::fopen(cert_path.c_str(), "w"),
                                                          &std::fclose);
  if (!cert_file || PEM_write_X509(cert_file.get(), cert.get()) != 1) {
    return fail("cannot write the certificate file");
  }
  std::unique_ptr<FILE, decltype(&std::fclose)> key_file(std::fopen(key_path.c_str(), "w"),
                                                         &std::fclose);
  if (!key_file ||
      PEM_write_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return fail("cannot write the key file");
  }
  return true;
}

}  // namespace testing
}  // namespace lifeline

#endif  // LIFELINE_TESTS_SUPPORT_SELF_SIGNED_CERT_HPP_
