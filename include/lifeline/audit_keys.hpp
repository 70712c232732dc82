// audit_keys.hpp -- where the audit trail gets its keys from.
//
// Overview: the audit log needs three kinds of 256-bit keys, each named by a
// key id: data keys (AES-256-GCM encryption of PII), pseudonym keys
// (HMAC-SHA256 pseudonyms) and checkpoint keys (HMAC-SHA256 over the chain
// head). It never stores a key; it asks a `KeyProvider` for a key by id and
// keeps it in memory only. Every record names the key id it was written
// with, so rotating keys (a new current id, the old ids still resolvable)
// leaves old records readable.
//
// Three providers come with Lifeline:
//  - `EnvKeyProvider`: key id "k1" is the environment variable
//    LIFELINE_AUDIT_KEY_K1 (the prefix is configurable), as 64 hex digits or
//    base64 of 32 bytes.
//  - `FileKeyProvider`: key id "k1" is the file <dir>/k1.key, same encodings.
//    A file readable or writable by group or others (anything looser than
//    0600) is refused.
//  - `CallbackKeyProvider`: a host function, e.g. in front of a KMS.
// `StaticKeyProvider` holds keys in memory (tests, hosts with their own store).
//
// Key ids are 1 to 64 characters from [A-Za-z0-9._-], not starting with '.'
// (so a key id can never name a path outside the key directory).
//
// Messages never contain key material: they name the key id and the source.
//
// Example:
//
//   lifeline::EnvKeyProvider keys;             // LIFELINE_AUDIT_KEY_<ID>
//   lifeline::Result<lifeline::SecretKey> k = keys.GetKey("k1");
//   if (!k.ok()) std::cerr << k.status().message();
#ifndef LIFELINE_AUDIT_KEYS_HPP_
#define LIFELINE_AUDIT_KEYS_HPP_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "lifeline/status.hpp"

namespace lifeline {

// Overwrites `size` bytes at `data` in a way the compiler cannot elide.
void SecureWipe(void* data, std::size_t size);

// A 256-bit key. Wiped when destroyed.
class SecretKey {
 public:
  static constexpr std::size_t kSize = 32;

  SecretKey() { bytes_.fill(0); }
  explicit SecretKey(const std::uint8_t* bytes) {
    for (std::size_t i = 0; i < kSize; ++i) bytes_[i] = bytes[i];
  }
  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey() { SecureWipe(bytes_.data(), bytes_.size()); }

  const std::uint8_t* data() const { return bytes_.data(); }
  std::uint8_t* data() { return bytes_.data(); }

 private:
  std::array<std::uint8_t, kSize> bytes_;
};

// True when `key_id` is 1-64 characters of [A-Za-z0-9._-], not starting
// with '.'.
bool IsValidKeyId(std::string_view key_id);

// Decodes key text: 64 hex digits, or base64 (standard alphabet, padding
// optional) of exactly 32 bytes. Surrounding whitespace is ignored. `what`
// names the source in the error ("environment variable X"), never the value.
Result<SecretKey> DecodeKeyText(std::string_view text, std::string_view what);

// The source of keys. Implementations are thread-safe.
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  // The key named `key_id`. LIFELINE_E_NOT_FOUND when the provider has no
  // such key, LIFELINE_E_UNAVAILABLE when it cannot be reached,
  // LIFELINE_E_INVALID_ARGUMENT when the key id or the stored key is
  // malformed (or, for files, the permissions are too open).
  virtual Result<SecretKey> GetKey(std::string_view key_id) = 0;
};

// Keys from environment variables: <prefix><KEY ID>, the key id upper-cased
// and '.' and '-' turned into '_'.
class EnvKeyProvider final : public KeyProvider {
 public:
  explicit EnvKeyProvider(std::string prefix = "LIFELINE_AUDIT_KEY_");

  // The variable that holds `key_id`, e.g. "LIFELINE_AUDIT_KEY_K1".
  std::string VariableName(std::string_view key_id) const;

  Result<SecretKey> GetKey(std::string_view key_id) override;

 private:
  std::string prefix_;
};

// Keys from files <dir>/<key id>.key. The file must be a regular file with
// no permission bits for group or others (0600, 0400 or stricter).
class FileKeyProvider final : public KeyProvider {
 public:
  explicit FileKeyProvider(std::string dir);

  std::string PathFor(std::string_view key_id) const;

  Result<SecretKey> GetKey(std::string_view key_id) override;

 private:
  std::string dir_;
};

// Keys from a host function (a KMS client). The function fills the 32
// bytes and returns OK, or returns the error to report.
class CallbackKeyProvider final : public KeyProvider {
 public:
  using Fetch = std::function<Status(std::string_view key_id, std::uint8_t* out_key32)>;

  explicit CallbackKeyProvider(Fetch fetch) : fetch_(std::move(fetch)) {}

  Result<SecretKey> GetKey(std::string_view key_id) override;

 private:
  Fetch fetch_;
};

// Keys held in memory.
class StaticKeyProvider final : public KeyProvider {
 public:
  // Adds or replaces `key_id`.
  void Add(std::string key_id, const SecretKey& key);
  // Removes `key_id`; later lookups give NotFound.
  void Remove(std::string_view key_id);

  Result<SecretKey> GetKey(std::string_view key_id) override;

 private:
  std::mutex mu_;
  std::map<std::string, SecretKey, std::less<>> keys_;
};

}  // namespace lifeline

#endif  // LIFELINE_AUDIT_KEYS_HPP_
