// The audit log's JSON configuration (docs/audit.md, "Configuration").
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <limits>
#include <set>

#include "lifeline/audit_log.hpp"

namespace lifeline {
namespace {

Status CheckKeys(const rapidjson::Value& object, const std::string& where,
                 const std::set<std::string>& allowed) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    if (allowed.count(key) == 0) {
      return InvalidArgument(where + ": unknown key '" + key + "'");
    }
  }
  return Status::Ok();
}

Status GetString(const rapidjson::Value& object, const char* key, const std::string& where,
                 bool required, std::string* out) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) {
    if (required) return InvalidArgument(where + "." + key + " is required");
    return Status::Ok();
  }
  if (!it->value.IsString()) return InvalidArgument(where + "." + key + " must be a string");
  out->assign(it->value.GetString(), it->value.GetStringLength());
  return Status::Ok();
}

Status GetUint(const rapidjson::Value& object, const char* key, const std::string& where,
               std::uint64_t min, std::uint64_t* out, bool* present = nullptr) {
  auto it = object.FindMember(key);
  if (present != nullptr) *present = it != object.MemberEnd();
  if (it == object.MemberEnd()) return Status::Ok();
  if (!it->value.IsUint64() || it->value.GetUint64() < min) {
    return InvalidArgument(where + "." + key + " must be an integer >= " + std::to_string(min));
  }
  *out = it->value.GetUint64();
  return Status::Ok();
}

}  // namespace

Status ParseAuditConfig(std::string_view json, AuditLogOptions* out,
                        std::shared_ptr<KeyProvider> callback_keys) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    return InvalidArgument("config is not valid JSON at offset " +
                           std::to_string(doc.GetErrorOffset()) + ": " +
                           rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) return InvalidArgument("config must be a JSON object");
  Status s = CheckKeys(doc, "config",
                       {"dir", "store", "keys", "pii", "pii_default", "checkpoint_every",
                        "retention_days", "retention_ms", "segment_max_records"});
  if (!s.ok()) return s;

  AuditLogOptions o;
  s = GetString(doc, "dir", "config", true, &o.dir);
  if (!s.ok()) return s;
  if (o.dir.empty()) return InvalidArgument("config.dir must not be empty");

  std::string store = "file";
  s = GetString(doc, "store", "config", false, &store);
  if (!s.ok()) return s;
  if (store == "file") {
    o.store = AuditStoreKind::kFile;
  } else if (store == "sqlite") {
    o.store = AuditStoreKind::kSqlite;
  } else {
    return InvalidArgument("config.store must be \"file\" or \"sqlite\"");
  }

  auto keys = doc.FindMember("keys");
  if (keys == doc.MemberEnd()) return InvalidArgument("config.keys is required");
  if (!keys->value.IsObject()) return InvalidArgument("config.keys must be an object");
  const rapidjson::Value& k = keys->value;
  s = CheckKeys(k, "config.keys",
                {"provider", "env_prefix", "dir", "data_key_id", "pseudonym_key_id",
                 "checkpoint_key_id"});
  if (!s.ok()) return s;
  std::string provider;
  s = GetString(k, "provider", "config.keys", true, &provider);
  if (s.ok()) s = GetString(k, "data_key_id", "config.keys", true, &o.data_key_id);
  if (s.ok()) s = GetString(k, "pseudonym_key_id", "config.keys", true, &o.pseudonym_key_id);
  if (s.ok()) s = GetString(k, "checkpoint_key_id", "config.keys", true, &o.checkpoint_key_id);
  if (!s.ok()) return s;
  if (provider == "env") {
    std::string prefix = "LIFELINE_AUDIT_KEY_";
    s = GetString(k, "env_prefix", "config.keys", false, &prefix);
    if (!s.ok()) return s;
    if (k.HasMember("dir")) return InvalidArgument("config.keys.dir is only for provider \"file\"");
    o.keys = std::make_shared<EnvKeyProvider>(prefix);
  } else if (provider == "file") {
    std::string dir;
    s = GetString(k, "dir", "config.keys", true, &dir);
    if (!s.ok()) return s;
    if (k.HasMember("env_prefix")) {
      return InvalidArgument("config.keys.env_prefix is only for provider \"env\"");
    }
    o.keys = std::make_shared<FileKeyProvider>(dir);
  } else if (provider == "callback") {
    if (k.HasMember("dir") || k.HasMember("env_prefix")) {
      return InvalidArgument("config.keys.dir and env_prefix are not for provider \"callback\"");
    }
    if (callback_keys == nullptr) {
      return InvalidArgument("config.keys.provider is \"callback\" but no key callback was given");
    }
    o.keys = std::move(callback_keys);
  } else {
    return InvalidArgument("config.keys.provider must be \"env\", \"file\" or \"callback\"");
  }

  auto pii = doc.FindMember("pii");
  if (pii != doc.MemberEnd()) {
    if (!pii->value.IsObject()) return InvalidArgument("config.pii must be an object");
    for (auto it = pii->value.MemberBegin(); it != pii->value.MemberEnd(); ++it) {
      std::string name(it->name.GetString(), it->name.GetStringLength());
      PiiMode mode;
      if (!it->value.IsString() || !ParsePiiMode(it->value.GetString(), &mode)) {
        return InvalidArgument("config.pii." + name +
                               " must be \"encrypt\", \"pseudonymise\" or \"plain\"");
      }
      o.pii.fields[name] = mode;
    }
  }
  auto def = doc.FindMember("pii_default");
  if (def != doc.MemberEnd()) {
    if (!def->value.IsString() || !ParsePiiMode(def->value.GetString(), &o.pii.default_mode)) {
      return InvalidArgument("config.pii_default must be \"encrypt\" or \"pseudonymise\"");
    }
  }

  s = GetUint(doc, "checkpoint_every", "config", 0, &o.checkpoint_every);
  if (s.ok()) s = GetUint(doc, "segment_max_records", "config", 1, &o.segment_max_records);
  if (!s.ok()) return s;
  std::uint64_t days = 0, ms = 0;
  bool has_days = false, has_ms = false;
  s = GetUint(doc, "retention_days", "config", 1, &days, &has_days);
  if (s.ok()) s = GetUint(doc, "retention_ms", "config", 1, &ms, &has_ms);
  if (!s.ok()) return s;
  if (has_days && has_ms) {
    return InvalidArgument("config: give retention_days or retention_ms, not both");
  }
  constexpr std::uint64_t kDayMs = 24ULL * 60 * 60 * 1000;
  if (has_days) {
    if (days > static_cast<std::uint64_t>(std::numeric_limits<DurationMillis>::max()) / kDayMs) {
      return InvalidArgument("config.retention_days is too large");
    }
    o.retention = static_cast<DurationMillis>(days * kDayMs);
  }
  if (has_ms) {
    if (ms > static_cast<std::uint64_t>(std::numeric_limits<DurationMillis>::max())) {
      return InvalidArgument("config.retention_ms is too large");
    }
    o.retention = static_cast<DurationMillis>(ms);
  }
  o.verify_credential = std::move(out->verify_credential);
  o.file_ops = out->file_ops;
  *out = std::move(o);
  return Status::Ok();
}

}  // namespace lifeline
