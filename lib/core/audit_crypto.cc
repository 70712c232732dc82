// OpenSSL 3 (libcrypto) behind the audit trail's small crypto interface.
#include "core/audit_crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>

// The low-level SHA256_* functions and HMAC_CTX (see Sha256 below), unless
// OpenSSL was built without its deprecated API.
#if !defined(OPENSSL_NO_DEPRECATED_3_0)
#define LIFELINE_AUDIT_LOW_LEVEL_OPENSSL 1
#else
#define LIFELINE_AUDIT_LOW_LEVEL_OPENSSL 0
#endif

namespace lifeline {

void SecureWipe(void* data, std::size_t size) { OPENSSL_cleanse(data, size); }

namespace audit_internal {
namespace {

// Algorithms are fetched once per process: fetching is the slow part of
// OpenSSL 3's EVP layer.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

#if !LIFELINE_AUDIT_LOW_LEVEL_OPENSSL
EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* ThreadDigestContext() {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) throw std::bad_alloc();
  return ctx.get();
}
#endif

void Check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("libcrypto failed in ") + what);
}

// Bumped in every child after fork(): nonce pools filled before the fork
// are then refilled rather than shared by parent and child.
std::atomic<std::uint64_t> g_fork_generation{1};

std::uint64_t ForkGeneration() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1); });
  });
  return g_fork_generation.load(std::memory_order_relaxed);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// SHA-256 and HMAC-SHA256 run on every record (three pseudonyms, the
// record digest, the link hash): about 20 SHA-256 blocks, ~40 ns each with
// SHA-NI, and in OpenSSL 3.0 the EVP_MAC and EVP_MD layers add a large
// share again around them (parameters looked up by name, provider
// dispatch). So the hot path uses the APIs below that layer:
//   - SHA256_Init/Update/Final: OpenSSL's SHA-256 code called directly
//     (which also means it bypasses the provider, e.g. a FIPS provider
//     configuration does not apply to it);
//   - HMAC_CTX: OpenSSL's HMAC, with the digest fetched above (from the
//     default provider).
// OpenSSL 3 deprecates both; they are confined to the functions below,
// which fall back to EVP when OpenSSL was built without its deprecated API.
// Measured on the project's VM at a quiet moment (ns per call): a pseudonym
// 157-164 instead of 189, a 64-byte digest 79 instead of 120 (about 0.23 us
// of the chained + PII record's 3.1; docs/performance.md, "Audit trail").
#if LIFELINE_AUDIT_LOW_LEVEL_OPENSSL
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

void Sha256(std::string_view data, std::uint8_t* out) {
#if LIFELINE_AUDIT_LOW_LEVEL_OPENSSL
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(out, &ctx);
#else
  EVP_MD_CTX* ctx = ThreadDigestContext();
  Check(EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr), "EVP_DigestInit_ex2");
  Check(EVP_DigestUpdate(ctx, data.data(), data.size()), "EVP_DigestUpdate");
  unsigned int size = 0;
  Check(EVP_DigestFinal_ex(ctx, out, &size), "EVP_DigestFinal_ex");
#endif
}

void Sha256Two(const std::uint8_t* a, std::size_t a_size, const std::uint8_t* b,
               std::size_t b_size, std::uint8_t* out) {
#if LIFELINE_AUDIT_LOW_LEVEL_OPENSSL
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, a, a_size);
  SHA256_Update(&ctx, b, b_size);
  SHA256_Final(out, &ctx);
#else
  EVP_MD_CTX* ctx = ThreadDigestContext();
  Check(EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr), "EVP_DigestInit_ex2");
  Check(EVP_DigestUpdate(ctx, a, a_size), "EVP_DigestUpdate");
  Check(EVP_DigestUpdate(ctx, b, b_size), "EVP_DigestUpdate");
  unsigned int size = 0;
  Check(EVP_DigestFinal_ex(ctx, out, &size), "EVP_DigestFinal_ex");
#endif
}

HmacSha256::HmacSha256(const SecretKey& key) : HmacSha256(key.data(), SecretKey::kSize) {}

HmacSha256::HmacSha256(const std::uint8_t* key, std::size_t size) {
#if LIFELINE_AUDIT_LOW_LEVEL_OPENSSL
  HMAC_CTX* ctx = HMAC_CTX_new();
  if (ctx == nullptr) throw std::bad_alloc();
  if (HMAC_Init_ex(ctx, key, static_cast<int>(size), Sha256Md(), nullptr) != 1) {
    HMAC_CTX_free(ctx);
    throw std::runtime_error("libcrypto failed in HMAC_Init_ex");
  }
#else
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(HmacAlgorithm());
  if (ctx == nullptr) throw std::bad_alloc();
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, key, size, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    throw std::runtime_error("libcrypto failed in EVP_MAC_init");
  }
#endif
  ctx_ = ctx;
}

HmacSha256::~HmacSha256() {
#if LIFELINE_AUDIT_LOW_LEVEL_OPENSSL
  HMAC_CTX_free(static_cast<HMAC_CTX*>(ctx_));
#else
  EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(ctx_));
#endif
}

void HmacSha256::Compute(std::string_view message, std::uint8_t* out) {
#if LIFELINE_AUDIT_LOW_LEVEL_OPENSSL
  auto* ctx = static_cast<HMAC_CTX*>(ctx_);
  // NULL key and digest: start over with the key given at construction
  // (HMAC_CTX keeps the keyed inner and outer states).
  Check(HMAC_Init_ex(ctx, nullptr, 0, nullptr, nullptr), "HMAC_Init_ex");
  Check(HMAC_Update(ctx, reinterpret_cast<const unsigned char*>(message.data()), message.size()),
        "HMAC_Update");
  unsigned int size = 0;
  Check(HMAC_Final(ctx, out, &size), "HMAC_Final");
#else
  auto* ctx = static_cast<EVP_MAC_CTX*>(ctx_);
  // A NULL key re-initialises with the key given at construction.
  Check(EVP_MAC_init(ctx, nullptr, 0, nullptr), "EVP_MAC_init");
  Check(EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()),
        "EVP_MAC_update");
  std::size_t size = 0;
  Check(EVP_MAC_final(ctx, out, &size, kSha256Size), "EVP_MAC_final");
#endif
}

#if LIFELINE_AUDIT_LOW_LEVEL_OPENSSL
#pragma GCC diagnostic pop
#endif

void HexAppend(const std::uint8_t* data, std::size_t size, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::size_t at = out->size();
  out->resize(at + size * 2);
  char* p = out->data() + at;
  for (std::size_t i = 0; i < size; ++i) {
    p[2 * i] = kDigits[data[i] >> 4];
    p[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
}

std::string HexEncode(const std::uint8_t* data, std::size_t size) {
  std::string out;
  HexAppend(data, size, &out);
  return out;
}

bool HexDecode(std::string_view hex, std::uint8_t* out, std::size_t size) {
  // A 256-entry table: every record's prev_hash goes through here.
  static const auto kTable = [] {
    std::array<std::int8_t, 256> t{};
    for (int c = 0; c < 256; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(HexValue(static_cast<char>(c)));
    return t;
  }();
  if (hex.size() != size * 2) return false;
  int bad = 0;
  for (std::size_t i = 0; i < size; ++i) {
    int hi = kTable[static_cast<unsigned char>(hex[2 * i])];
    int lo = kTable[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= hi | lo;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return bad >= 0;
}

bool IsLowerHex64(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void Base64Append(const std::uint8_t* data, std::size_t size, std::string* out) {
  std::size_t at = out->size();
  out->resize(at + 4 * ((size + 2) / 3) + 1);
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out->data() + at), data,
                          static_cast<int>(size));
  out->resize(at + (n < 0 ? 0 : static_cast<std::size_t>(n)));
}

std::string Base64Encode(const std::uint8_t* data, std::size_t size) {
  std::string out;
  Base64Append(data, size, &out);
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  std::string padded(text);
  for (char c : padded) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  // Strip then re-add padding, so "abc" and "abc=" decode alike.
  std::size_t pad = 0;
  while (!padded.empty() && padded.back() == '=') {
    padded.pop_back();
    ++pad;
  }
  if (pad > 2 || padded.find('=') != std::string::npos) return false;
  if (padded.size() % 4 == 1) return false;
  std::size_t missing = (4 - padded.size() % 4) % 4;
  padded.append(missing, '=');
  out->assign(padded.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                          reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<int>(padded.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes: drop them.
  out->resize(static_cast<std::size_t>(n) - missing);
  return true;
}

Status RandomBytes(std::uint8_t* out, std::size_t size) {
  if (RAND_bytes(out, static_cast<int>(size)) != 1) {
    return IoError("the random number generator failed");
  }
  return Status::Ok();
}

std::string HmacSha256::Hex(std::string_view message) {
  std::string out;
  AppendHex(message, &out);
  return out;
}

void HmacSha256::AppendHex(std::string_view message, std::string* out) {
  std::uint8_t mac[kSha256Size];
  Compute(message, mac);
  HexAppend(mac, sizeof mac, out);
}

AesGcm::AesGcm() {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) throw std::bad_alloc();
  ctx_ = ctx;
}

AesGcm::~AesGcm() {
  EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx_));
  SecureWipe(key_, sizeof key_);
}

Status AesGcm::NextNonce(std::uint8_t* out) {
  std::uint64_t generation = ForkGeneration();
  if (pool_used_ + kNonceSize > sizeof pool_ || generation != pool_generation_) {
    Status s = RandomBytes(pool_, sizeof pool_);
    if (!s.ok()) return s;
    pool_used_ = 0;
    pool_generation_ = generation;
  }
  std::memcpy(out, pool_ + pool_used_, kNonceSize);
  SecureWipe(pool_ + pool_used_, kNonceSize);  // each nonce is handed out once
  pool_used_ += kNonceSize;
  return Status::Ok();
}

void AesGcm::Prepare(const SecretKey& key, bool encrypt) {
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_);
  if (keyed_ && encrypting_ == encrypt && CRYPTO_memcmp(key_, key.data(), sizeof key_) == 0) return;
  if (encrypt) {
    Check(EVP_EncryptInit_ex2(ctx, Aes256Gcm(), key.data(), nullptr, nullptr), "EVP_EncryptInit_ex2");
  } else {
    Check(EVP_DecryptInit_ex2(ctx, Aes256Gcm(), key.data(), nullptr, nullptr), "EVP_DecryptInit_ex2");
  }
  std::memcpy(key_, key.data(), sizeof key_);
  keyed_ = true;
  encrypting_ = encrypt;
}

Status AesGcm::Seal(const SecretKey& key, std::string_view aad, std::string_view plaintext,
                    std::string* out) {
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_);
  out->assign(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out->data());
  // A fresh random 96-bit nonce per value: never reused under one key
  // (the birthday bound of 2^48 values per key is far beyond any log).
  Status s = NextNonce(bytes);
  if (!s.ok()) return s;
  int len = 0;
  Prepare(key, true);
  Check(EVP_EncryptInit_ex2(ctx, nullptr, nullptr, bytes, nullptr), "EVP_EncryptInit_ex2(iv)");
  if (!aad.empty()) {
    Check(EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                            static_cast<int>(aad.size())),
          "EVP_EncryptUpdate(aad)");
  }
  Check(EVP_EncryptUpdate(ctx, bytes + kNonceSize, &len,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          static_cast<int>(plaintext.size())),
        "EVP_EncryptUpdate");
  int tail = 0;
  Check(EVP_EncryptFinal_ex(ctx, bytes + kNonceSize + len, &tail), "EVP_EncryptFinal_ex");
  // The tag through the parameter interface directly: EVP_CIPHER_CTX_ctrl
  // would translate the legacy control into the same parameter first.
  OSSL_PARAM tag_params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                        bytes + kNonceSize + plaintext.size(), kTagSize),
      OSSL_PARAM_construct_end()};
  Check(EVP_CIPHER_CTX_get_params(ctx, tag_params), "EVP_CIPHER_CTX_get_params(tag)");
  return Status::Ok();
}

Status AesGcm::Open(const SecretKey& key, std::string_view aad, std::string_view sealed,
                    std::string* out) {
  if (sealed.size() < kNonceSize + kTagSize) {
    return Status(StatusCode::kState, "ciphertext is too short");
  }
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_);
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  std::size_t text_size = sealed.size() - kNonceSize - kTagSize;
  std::string plain(text_size, '\0');
  int len = 0;
  Prepare(key, false);
  Check(EVP_DecryptInit_ex2(ctx, nullptr, nullptr, bytes, nullptr), "EVP_DecryptInit_ex2(iv)");
  if (!aad.empty()) {
    Check(EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                            static_cast<int>(aad.size())),
          "EVP_DecryptUpdate(aad)");
  }
  Check(EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len,
                          bytes + kNonceSize, static_cast<int>(text_size)),
        "EVP_DecryptUpdate");
  std::uint8_t tag[kTagSize];
  std::memcpy(tag, bytes + kNonceSize + text_size, kTagSize);
  Check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag),
        "EVP_CTRL_GCM_SET_TAG");
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(plain.data()) + len, &tail) != 1) {
    SecureWipe(plain.data(), plain.size());
    return Status(StatusCode::kState, "authentication failed (wrong key or altered ciphertext)");
  }
  *out = std::move(plain);
  return Status::Ok();
}

}  // namespace audit_internal
}  // namespace lifeline
