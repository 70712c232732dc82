// lifeline-audit: verify, export and archive a Lifeline audit trail from the
// command line (docs/audit.md, "The lifeline-audit tool").
//
//   lifeline-audit verify        --config FILE
//   lifeline-audit export        --config FILE --out FILE [--incident ID] [--call ID]
//                                [--from T] [--to T] [--role ROLE]
//                                [--credentials-file FILE] [--now T]
//   lifeline-audit archive       --config FILE [--now T]
//   lifeline-audit purge         --config FILE --before T --credentials-file FILE [--now T]
//   lifeline-audit verify-export --config FILE --export FILE
//
// T is milliseconds since the epoch or RFC 3339 UTC ("2024-05-20T14:32:00.000Z").
// The configuration is the JSON the C ABI takes; its key provider must be
// "env" or "file" (a callback needs a host program).
//
// Exit status: 0 when all is well, 1 when verification found damage, 2 for
// a usage or an operational error (message on stderr).
//
// Decrypting PII: --role compliance_officer|bcp_admin, the credential in the
// environment variable LIFELINE_AUDIT_CREDENTIAL (never on the command line,
// where `ps` would show it), checked against --credentials-file: a JSON object
// of role to the lower-case hex SHA-256 of its credential, in a file no one
// but its owner may read or write (0600 or stricter).
//
// Purging archive segments: `purge` deletes, for good, the oldest archive
// segments whose records are all older than --before (which must not be
// later than --now minus the retention period), keeping their chain
// boundaries in the purge manifest. It acts as role bcp_admin: the
// credential comes from LIFELINE_AUDIT_CREDENTIAL and is checked against
// the "bcp_admin" entry of --credentials-file. The purge, or its refusal,
// is recorded in the trail.
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "core/audit_crypto.hpp"
#include "lifeline/audit_log.hpp"
#include "lifeline/clock.hpp"
#include "store/audit_store.hpp"

namespace {

constexpr int kOk = 0;
constexpr int kDamaged = 1;
constexpr int kError = 2;

int Usage() {
  std::fprintf(stderr,
               "usage: lifeline-audit verify        --config FILE\n"
               "       lifeline-audit export        --config FILE --out FILE [--incident ID]\n"
               "                                    [--call ID] [--from T] [--to T] [--role ROLE]\n"
               "                                    [--credentials-file FILE] [--now T]\n"
               "       lifeline-audit archive       --config FILE [--now T]\n"
               "       lifeline-audit purge         --config FILE --before T\n"
               "                                    --credentials-file FILE [--now T]\n"
               "       lifeline-audit verify-export --config FILE --export FILE\n"
               "T: ms since the epoch, or RFC 3339 UTC like 2024-05-20T14:32:00.000Z\n");
  return kError;
}

int Error(const std::string& message) {
  std::fprintf(stderr, "lifeline-audit: %s\n", message.c_str());
  return kError;
}

bool ParseTime(const std::string& text, lifeline::UnixMillis* out) {
  if (lifeline::ParseAuditTime(text, out)) return true;
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

// The credentials file: {"compliance_officer": "<sha256 hex>", ...}, 0600.
lifeline::Status LoadCredentials(const std::string& path, std::map<std::string, std::string>* out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return lifeline::NotFound("cannot read " + path);
  if ((st.st_mode & 077) != 0) {
    return lifeline::InvalidArgument(path + " is readable or writable by group or others; chmod 600");
  }
  std::string text;
  lifeline::Status s = lifeline::audit_internal::ReadWholeFile(path, &text);
  if (!s.ok()) return s;
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    return lifeline::InvalidArgument(path + " is not a JSON object of role to SHA-256 hex");
  }
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    if (!it->value.IsString() || !lifeline::audit_internal::IsLowerHex64(it->value.GetString())) {
      return lifeline::InvalidArgument(path + ": the value for role '" + it->name.GetString() +
                                       "' is not 64 lower-case hex digits");
    }
    (*out)[it->name.GetString()] = it->value.GetString();
  }
  return lifeline::Status::Ok();
}

// Checks credentials against the file's SHA-256 hashes, per role.
lifeline::CredentialVerifier HashVerifier(std::map<std::string, std::string> hashes) {
  return [hashes = std::move(hashes)](std::string_view role, std::string_view credential) {
    auto it = hashes.find(std::string(role));
    if (it == hashes.end()) return false;
    std::uint8_t digest[32];
    lifeline::audit_internal::Sha256(credential, digest);
    std::string hex = lifeline::audit_internal::HexEncode(digest, sizeof digest);
    return CRYPTO_memcmp(hex.data(), it->second.data(), hex.size()) == 0;
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string command = argv[1];
  std::map<std::string, std::string> args;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0 || i + 1 >= argc) return Usage();
    args[flag.substr(2)] = argv[++i];
  }
  auto take = [&](const char* name) -> std::string {
    auto it = args.find(name);
    if (it == args.end()) return "";
    std::string v = it->second;
    args.erase(it);
    return v;
  };
  std::string config_path = take("config");
  if (config_path.empty()) return Usage();
  std::string config_text;
  lifeline::Status s = lifeline::audit_internal::ReadWholeFile(config_path, &config_text);
  if (!s.ok()) return Error(s.message());
  lifeline::AuditLogOptions options;
  s = lifeline::ParseAuditConfig(config_text, &options);
  if (!s.ok()) return Error(config_path + ": " + s.message());

  lifeline::SystemClock clock;
  lifeline::UnixMillis now = clock.Now();
  std::string now_text = take("now");
  if (!now_text.empty() && !ParseTime(now_text, &now)) return Error("--now is not a time: " + now_text);

  if (command == "verify") {
    if (!args.empty()) return Usage();
    auto report = lifeline::VerifyAuditDirectory(options);
    if (!report.ok()) return Error(report.status().message());
    std::printf("%s\n", report->ToJson().c_str());
    return report->ok() ? kOk : kDamaged;
  }

  if (command == "verify-export") {
    std::string path = take("export");
    if (path.empty() || !args.empty()) return Usage();
    auto report = lifeline::VerifyAuditExport(path, *options.keys);
    if (!report.ok()) return Error(report.status().message());
    std::printf("%s\n", report->ToJson().c_str());
    return report->ok() ? kOk : kDamaged;
  }

  if (command == "archive") {
    if (!args.empty()) return Usage();
    auto log = lifeline::AuditLog::Open(options);
    if (!log.ok()) return Error(log.status().message());
    auto archived = (*log)->Archive(now);
    if (!archived.ok()) return Error(archived.status().message());
    s = (*log)->Close();
    if (!s.ok()) return Error(s.message());
    std::printf("{\"archived\":%llu}\n", static_cast<unsigned long long>(*archived));
    return kOk;
  }

  if (command == "purge") {
    std::string before = take("before");
    std::string credentials_file = take("credentials-file");
    if (before.empty() || credentials_file.empty() || !args.empty()) return Usage();
    lifeline::UnixMillis cutoff = 0;
    if (!ParseTime(before, &cutoff)) return Error("--before is not a time: " + before);
    std::map<std::string, std::string> hashes;
    s = LoadCredentials(credentials_file, &hashes);
    if (!s.ok()) return Error(s.message());
    options.verify_credential = HashVerifier(std::move(hashes));
    lifeline::AuditReader admin;
    admin.role = "bcp_admin";
    const char* credential = std::getenv("LIFELINE_AUDIT_CREDENTIAL");
    admin.credential = credential != nullptr ? credential : "";
    auto log = lifeline::AuditLog::Open(options);
    if (!log.ok()) return Error(log.status().message());
    auto summary = (*log)->PurgeArchive(cutoff, admin, now);
    lifeline::Status closed = (*log)->Close();
    if (!summary.ok()) return Error(summary.status().message());
    if (!closed.ok()) return Error(closed.message());
    std::printf("{\"segments\":%llu,\"records\":%llu,\"first_seq\":%llu,\"last_seq\":%llu,"
                "\"audit_seq\":%llu}\n",
                static_cast<unsigned long long>(summary->segments),
                static_cast<unsigned long long>(summary->records),
                static_cast<unsigned long long>(summary->first_seq),
                static_cast<unsigned long long>(summary->last_seq),
                static_cast<unsigned long long>(summary->audit_seq));
    return kOk;
  }

  if (command == "export") {
    lifeline::AuditFilter filter;
    std::string out = take("out");
    filter.incident_id = take("incident");
    filter.call_id = take("call");
    std::string from = take("from"), to = take("to");
    if (!from.empty() && !ParseTime(from, &filter.from)) return Error("--from is not a time: " + from);
    if (!to.empty() && !ParseTime(to, &filter.to)) return Error("--to is not a time: " + to);
    lifeline::AuditReader reader;
    reader.role = take("role");
    std::string credentials_file = take("credentials-file");
    if (out.empty() || !args.empty()) return Usage();
    if (lifeline::IsPrivilegedAuditRole(reader.role)) {
      if (credentials_file.empty()) {
        return Error("--role " + reader.role + " needs --credentials-file to check the credential");
      }
      std::map<std::string, std::string> hashes;
      s = LoadCredentials(credentials_file, &hashes);
      if (!s.ok()) return Error(s.message());
      const char* credential = std::getenv("LIFELINE_AUDIT_CREDENTIAL");
      reader.credential = credential != nullptr ? credential : "";
      options.verify_credential = HashVerifier(std::move(hashes));
    }
    auto log = lifeline::AuditLog::Open(options);
    if (!log.ok()) return Error(log.status().message());
    auto summary = (*log)->Export(filter, reader, now, out);
    lifeline::Status closed = (*log)->Close();
    if (!summary.ok()) return Error(summary.status().message());
    if (!closed.ok()) return Error(closed.message());
    std::printf("{\"records\":%llu,\"links\":%llu,\"checkpoint_seq\":%llu,\"decrypted\":%s}\n",
                static_cast<unsigned long long>(summary->records),
                static_cast<unsigned long long>(summary->links),
                static_cast<unsigned long long>(summary->checkpoint_seq),
                summary->decrypted ? "true" : "false");
    return kOk;
  }
  return Usage();
}
