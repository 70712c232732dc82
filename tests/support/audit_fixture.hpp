// audit_fixture.hpp -- shared pieces of the audit trail tests: scratch
// directories, fixed test keys, events full of (fake) PII, raw file access.
#ifndef LIFELINE_TESTS_SUPPORT_AUDIT_FIXTURE_HPP_
#define LIFELINE_TESTS_SUPPORT_AUDIT_FIXTURE_HPP_

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lifeline/audit_keys.hpp"
#include "lifeline/audit_log.hpp"

namespace audit_test {

// 2024-05-20T14:32:00.000Z
inline constexpr lifeline::UnixMillis kT0 = 1716215520000LL;
inline constexpr lifeline::DurationMillis kDay = 24LL * 60 * 60 * 1000;

inline std::string FreshDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("LIFELINE_TEST_TMP");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/audit_" + name + "_" +
                    std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::filesystem::remove_all(dir);
  return dir;
}

inline lifeline::SecretKey KeyOf(unsigned char fill) {
  std::uint8_t bytes[32];
  for (int i = 0; i < 32; ++i) bytes[i] = static_cast<std::uint8_t>(fill + i);
  return lifeline::SecretKey(bytes);
}

// k1, k2: data keys; p1: pseudonym key; c1: checkpoint key.
inline std::shared_ptr<lifeline::StaticKeyProvider> TestKeys() {
  auto keys = std::make_shared<lifeline::StaticKeyProvider>();
  keys->Add("k1", KeyOf(0x10));
  keys->Add("k2", KeyOf(0x40));
  keys->Add("p1", KeyOf(0x70));
  keys->Add("c1", KeyOf(0xa0));
  return keys;
}

inline lifeline::AuditLogOptions TestOptions(const std::string& dir,
                                             std::shared_ptr<lifeline::KeyProvider> keys) {
  lifeline::AuditLogOptions o;
  o.dir = dir;
  o.keys = std::move(keys);
  o.data_key_id = "k1";
  o.pseudonym_key_id = "p1";
  o.checkpoint_key_id = "c1";
  o.pii.fields["phone"] = lifeline::PiiMode::kEncrypt;
  o.pii.fields["email"] = lifeline::PiiMode::kEncrypt;
  o.pii.fields["push_token"] = lifeline::PiiMode::kPseudonymise;
  o.checkpoint_every = 10;
  o.verify_credential = [](std::string_view role, std::string_view credential) {
    return (role == "compliance_officer" && credential == "co-secret") ||
           (role == "bcp_admin" && credential == "admin-secret");
  };
  return o;
}

inline std::string PhoneOf(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+1555%07d", 1000000 + i);
  return buf;
}

inline std::string EmailOf(int i) { return "person" + std::to_string(1000 + i) + "@example.com"; }

inline lifeline::AuditEvent EventOf(int i, lifeline::UnixMillis time = 0) {
  lifeline::AuditEvent e;
  e.source = i % 3 == 0 ? lifeline::AuditSource::kIvr : lifeline::AuditSource::kCascade;
  e.time = time != 0 ? time : kT0 + i * 1000LL;
  e.incident_id = "INC-" + std::to_string(i % 3);
  e.call_id = i % 3 == 0 ? "call-" + std::to_string(i) : "";
  e.subject = "stk-" + std::to_string(i);
  e.channel = i % 2 == 0 ? "sms" : "voice";
  e.event = "DELIVERY_ATTEMPT";
  e.status = "DELIVERED";
  e.provider_id = "twilio";
  e.detail = "attempt " + std::to_string(i);
  e.pii = {{"phone", PhoneOf(i)}, {"email", EmailOf(i)}, {"push_token", "tok-" + std::to_string(i)}};
  return e;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

inline std::vector<std::string> Lines(const std::string& data) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = data.find('\n', start);
    if (nl == std::string::npos) break;
    lines.push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

inline std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

}  // namespace audit_test

#endif  // LIFELINE_TESTS_SUPPORT_AUDIT_FIXTURE_HPP_
