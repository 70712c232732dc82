// Key providers for the audit trail: environment, files (0600), callbacks,
// memory.
#include "lifeline/audit_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/audit_crypto.hpp"

namespace lifeline {

bool IsValidKeyId(std::string_view key_id) {
  if (key_id.empty() || key_id.size() > 64 || key_id[0] == '.') return false;
  for (char c : key_id) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<SecretKey> DecodeKeyText(std::string_view text, std::string_view what) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  SecretKey key;
  if (text.size() == 2 * SecretKey::kSize &&
      audit_internal::HexDecode(text, key.data(), SecretKey::kSize)) {
    return key;
  }
  std::string decoded;
  if (audit_internal::Base64Decode(text, &decoded)) {
    if (decoded.size() == SecretKey::kSize) {
      key = SecretKey(reinterpret_cast<const std::uint8_t*>(decoded.data()));
      SecureWipe(decoded.data(), decoded.size());
      return key;
    }
    std::size_t size = decoded.size();
    SecureWipe(decoded.data(), decoded.size());
    return InvalidArgument(std::string(what) + " decodes to " + std::to_string(size) +
                           " bytes; a key is 32 bytes (64 hex digits or base64)");
  }
  return InvalidArgument(std::string(what) +
                         " is neither 64 hex digits nor base64 of 32 bytes");
}

namespace {

Status CheckKeyId(std::string_view key_id) {
  if (!IsValidKeyId(key_id)) {
    return InvalidArgument("key id is not 1-64 characters of [A-Za-z0-9._-] (not starting with '.')");
  }
  return Status::Ok();
}

}  // namespace

// --- environment -----------------------------------------------------------

EnvKeyProvider::EnvKeyProvider(std::string prefix) : prefix_(std::move(prefix)) {}

std::string EnvKeyProvider::VariableName(std::string_view key_id) const {
  std::string name = prefix_;
  for (char c : key_id) {
    if (c == '.' || c == '-') {
      name.push_back('_');
    } else {
      name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  return name;
}

Result<SecretKey> EnvKeyProvider::GetKey(std::string_view key_id) {
  Status s = CheckKeyId(key_id);
  if (!s.ok()) return s;
  std::string name = VariableName(key_id);
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    return NotFound("key '" + std::string(key_id) + "': environment variable " + name +
                    " is not set");
  }
  return DecodeKeyText(value, "key '" + std::string(key_id) + "' in environment variable " + name);
}

// --- files -----------------------------------------------------------------

FileKeyProvider::FileKeyProvider(std::string dir) : dir_(std::move(dir)) {}

std::string FileKeyProvider::PathFor(std::string_view key_id) const {
  std::string path = dir_;
  if (!path.empty() && path.back() != '/') path.push_back('/');
  path.append(key_id);
  path.append(".key");
  return path;
}

Result<SecretKey> FileKeyProvider::GetKey(std::string_view key_id) {
  Status s = CheckKeyId(key_id);
  if (!s.ok()) return s;
  std::string path = PathFor(key_id);
  std::string what = "key '" + std::string(key_id) + "' in " + path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound(what + ": no such file");
    return Unavailable(what + ": " + std::strerror(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Unavailable(what + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(what + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return InvalidArgument(what + " has permissions " + mode +
                           "; refusing a key readable or writable by group or others "
                           "(chmod 600)");
  }
  char buf[512];
  std::size_t size = 0;
  while (size < sizeof buf) {
    ssize_t n = ::read(fd, buf + size, sizeof buf - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      SecureWipe(buf, sizeof buf);
      return Unavailable(what + ": " + std::strerror(err));
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  ::close(fd);
  Result<SecretKey> key = size == sizeof buf
                              ? Result<SecretKey>(InvalidArgument(what + " is too large"))
                              : DecodeKeyText(std::string_view(buf, size), what);
  SecureWipe(buf, sizeof buf);
  return key;
}

// --- callback ----------------------------------------------------------------

Result<SecretKey> CallbackKeyProvider::GetKey(std::string_view key_id) {
  Status s = CheckKeyId(key_id);
  if (!s.ok()) return s;
  if (!fetch_) return Unavailable("no key callback is registered");
  SecretKey key;
  s = fetch_(key_id, key.data());
  if (!s.ok()) {
    std::string message = "key '" + std::string(key_id) + "' from the key callback";
    if (!s.message().empty()) message += ": " + s.message();
    return Status(s.code(), message);
  }
  return key;
}

// --- memory ------------------------------------------------------------------

void StaticKeyProvider::Add(std::string key_id, const SecretKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  keys_[std::move(key_id)] = key;
}

void StaticKeyProvider::Remove(std::string_view key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(key_id);
  if (it != keys_.end()) keys_.erase(it);
}

Result<SecretKey> StaticKeyProvider::GetKey(std::string_view key_id) {
  Status s = CheckKeyId(key_id);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(key_id);
  if (it == keys_.end()) return NotFound("key '" + std::string(key_id) + "' is not known");
  return it->second;
}

}  // namespace lifeline
