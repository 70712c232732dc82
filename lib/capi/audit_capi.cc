// C ABI over lifeline::AuditLog (include/lifeline/audit_log.hpp).
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <limits>
#include <memory>
#include <string>

#include "capi/audit_handle.hpp"
#include "capi/capi_support.hpp"
#include "lifeline/rfc3339.hpp"

using lifeline::capi::CheckString;
using lifeline::capi::CopyOut;
using lifeline::capi::Fail;
using lifeline::capi::Guard;

namespace {

lifeline::StatusCode CodeOf(lifeline_status st) {
  switch (st) {
    case LIFELINE_E_INVALID_ARGUMENT:
    case LIFELINE_E_NOT_FOUND:
    case LIFELINE_E_UNAVAILABLE:
    case LIFELINE_E_IO:
    case LIFELINE_E_TIMEOUT:
    case LIFELINE_E_STATE:
    case LIFELINE_E_INTERNAL:
      return static_cast<lifeline::StatusCode>(st);
    default:
      return lifeline::StatusCode::kUnavailable;
  }
}

std::shared_ptr<lifeline::KeyProvider> CallbackKeys(lifeline_key_callback callback,
                                                    void* user_data) {
  return std::make_shared<lifeline::CallbackKeyProvider>(
      [callback, user_data](std::string_view id, std::uint8_t* out) {
        std::string key_id(id);
        lifeline_status st = callback(key_id.c_str(), out, user_data);
        if (st == LIFELINE_OK) return lifeline::Status::Ok();
        return lifeline::Status(CodeOf(st), std::string("returned ") + lifeline_status_str(st));
      });
}

lifeline_status ParseConfig(const char* fn, const char* config_json,
                            lifeline_key_callback key_callback, void* key_user_data,
                            lifeline::AuditLogOptions* options) {
  if (lifeline_status st = CheckString(fn, "config_json", config_json); st != LIFELINE_OK) return st;
  std::shared_ptr<lifeline::KeyProvider> keys;
  if (key_callback != nullptr) keys = CallbackKeys(key_callback, key_user_data);
  lifeline::Status s = lifeline::ParseAuditConfig(config_json, options, keys);
  if (!s.ok()) return Fail(fn, s);
  if (key_callback != nullptr && options->keys != keys) {
    return Fail(fn, LIFELINE_E_INVALID_ARGUMENT,
                "key_callback must be NULL unless config.keys.provider is \"callback\"");
  }
  return LIFELINE_OK;
}

lifeline::Status GetStringMember(const rapidjson::Value& v, const std::string& where,
                                 std::string* out) {
  if (!v.IsString()) return lifeline::InvalidArgument(where + " must be a string");
  out->assign(v.GetString(), v.GetStringLength());
  return lifeline::Status::Ok();
}

lifeline::Status ParseEvent(const rapidjson::Value& v, const std::string& where,
                            lifeline::AuditEvent* e) {
  if (!v.IsObject()) return lifeline::InvalidArgument(where + " must be a JSON object");
  bool has_source = false, has_time = false;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    std::string at = where + "." + key;
    const rapidjson::Value& value = it->value;
    lifeline::Status s;
    if (key == "source") {
      std::string name;
      s = GetStringMember(value, at, &name);
      if (s.ok() && (!lifeline::ParseAuditSource(name, &e->source) ||
                     e->source == lifeline::AuditSource::kAudit)) {
        s = lifeline::InvalidArgument(at + " must be \"ivr\", \"cascade\" or \"failover\"");
      }
      has_source = true;
    } else if (key == "time") {
      if (!value.IsInt64()) {
        s = lifeline::InvalidArgument(at + " must be an integer (ms since the epoch)");
      } else {
        e->time = value.GetInt64();
      }
      has_time = true;
    } else if (key == "incidentId") {
      s = GetStringMember(value, at, &e->incident_id);
    } else if (key == "callId") {
      s = GetStringMember(value, at, &e->call_id);
    } else if (key == "subject") {
      s = GetStringMember(value, at, &e->subject);
    } else if (key == "channel") {
      s = GetStringMember(value, at, &e->channel);
    } else if (key == "event") {
      s = GetStringMember(value, at, &e->event);
    } else if (key == "status") {
      s = GetStringMember(value, at, &e->status);
    } else if (key == "providerId") {
      s = GetStringMember(value, at, &e->provider_id);
    } else if (key == "detail") {
      s = GetStringMember(value, at, &e->detail);
    } else if (key == "pii") {
      if (!value.IsObject()) {
        s = lifeline::InvalidArgument(at + " must be an object of field name to string");
      } else {
        for (auto f = value.MemberBegin(); s.ok() && f != value.MemberEnd(); ++f) {
          lifeline::PiiField field;
          field.name.assign(f->name.GetString(), f->name.GetStringLength());
          s = GetStringMember(f->value, at + "." + field.name, &field.value);
          e->pii.push_back(std::move(field));
        }
      }
    } else {
      s = lifeline::InvalidArgument(where + ": unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  if (!has_source) return lifeline::InvalidArgument(where + ".source is required");
  if (!has_time) return lifeline::InvalidArgument(where + ".time is required");
  return lifeline::Status::Ok();
}

lifeline::Status ParseJson(const char* text, const std::string& what, rapidjson::Document* doc) {
  doc->Parse(text);
  if (doc->HasParseError()) {
    return lifeline::InvalidArgument(what + " is not valid JSON at offset " +
                                     std::to_string(doc->GetErrorOffset()) + ": " +
                                     rapidjson::GetParseError_En(doc->GetParseError()));
  }
  return lifeline::Status::Ok();
}

lifeline::Status ParseFilter(const char* text, lifeline::AuditFilter* filter) {
  rapidjson::Document doc;
  lifeline::Status s = ParseJson(text, "filter_json", &doc);
  if (!s.ok()) return s;
  if (!doc.IsObject()) return lifeline::InvalidArgument("filter_json must be a JSON object");
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    if (key == "incidentId") {
      s = GetStringMember(it->value, "filter_json.incidentId", &filter->incident_id);
    } else if (key == "callId") {
      s = GetStringMember(it->value, "filter_json.callId", &filter->call_id);
    } else if (key == "from" || key == "to") {
      if (!it->value.IsInt64()) {
        s = lifeline::InvalidArgument("filter_json." + key + " must be an integer (ms since the epoch)");
      } else {
        (key == "from" ? filter->from : filter->to) = it->value.GetInt64();
      }
    } else {
      s = lifeline::InvalidArgument("filter_json: unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  return lifeline::Status::Ok();
}

lifeline_audit_finding FindingOf(lifeline::AuditFinding finding) {
  switch (finding) {
    case lifeline::AuditFinding::kOk: return LIFELINE_AUDIT_OK;
    case lifeline::AuditFinding::kEdited: return LIFELINE_AUDIT_EDITED;
    case lifeline::AuditFinding::kDeleted: return LIFELINE_AUDIT_DELETED;
    case lifeline::AuditFinding::kReordered: return LIFELINE_AUDIT_REORDERED;
    case lifeline::AuditFinding::kTruncated: return LIFELINE_AUDIT_TRUNCATED;
    case lifeline::AuditFinding::kBadCheckpoint: return LIFELINE_AUDIT_BAD_CHECKPOINT;
    case lifeline::AuditFinding::kCorruptArchive: return LIFELINE_AUDIT_CORRUPT_ARCHIVE;
    case lifeline::AuditFinding::kBadPurgeManifest: return LIFELINE_AUDIT_BAD_PURGE_MANIFEST;
  }
  return LIFELINE_AUDIT_EDITED;
}

lifeline_status WriteReport(const char* fn, const lifeline::Result<lifeline::AuditVerifyReport>& r,
                            lifeline_audit_finding* out_finding, uint64_t* out_first_bad_seq,
                            char* out_report_json, size_t cap) {
  if (!r.ok()) return Fail(fn, r.status());
  if (out_report_json != nullptr) {
    lifeline_status st = CopyOut(fn, r->ToJson(), out_report_json, cap);
    if (st != LIFELINE_OK) return st;
  }
  *out_finding = FindingOf(r->finding);
  *out_first_bad_seq = r->first_bad_seq;
  return LIFELINE_OK;
}

}  // namespace

extern "C" {

LIFELINE_API const char* lifeline_audit_finding_str(lifeline_audit_finding finding) {
  switch (finding) {
    case LIFELINE_AUDIT_OK: return "ok";
    case LIFELINE_AUDIT_EDITED: return "edited";
    case LIFELINE_AUDIT_DELETED: return "deleted";
    case LIFELINE_AUDIT_REORDERED: return "reordered";
    case LIFELINE_AUDIT_TRUNCATED: return "truncated";
    case LIFELINE_AUDIT_BAD_CHECKPOINT: return "bad_checkpoint";
    case LIFELINE_AUDIT_CORRUPT_ARCHIVE: return "corrupt_archive";
    case LIFELINE_AUDIT_BAD_PURGE_MANIFEST: return "bad_purge_manifest";
  }
  return "unknown";
}

LIFELINE_API lifeline_status lifeline_audit_open(const char* config_json,
                                                 lifeline_key_callback key_callback,
                                                 void* key_user_data, lifeline_audit_t** out) {
  static constexpr const char* kFn = "lifeline_audit_open";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    lifeline::AuditLogOptions options;
    auto credentials = std::make_shared<lifeline_audit_credentials>();
    options.verify_credential = [credentials](std::string_view role, std::string_view credential) {
      std::lock_guard<std::mutex> lock(credentials->mu);
      if (credentials->callback == nullptr) return false;
      std::string r(role), c(credential);
      return credentials->callback(r.c_str(), c.c_str(), credentials->user_data) == 1;
    };
    lifeline_status st = ParseConfig(kFn, config_json, key_callback, key_user_data, &options);
    if (st != LIFELINE_OK) return st;
    auto log = lifeline::AuditLog::Open(std::move(options));
    if (!log.ok()) return Fail(kFn, log.status());
    *out = new lifeline_audit_t{std::move(*log), std::move(credentials)};
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_audit_set_credential_verifier(
    lifeline_audit_t* log, lifeline_credential_callback callback, void* user_data) {
  static constexpr const char* kFn = "lifeline_audit_set_credential_verifier";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  std::lock_guard<std::mutex> lock(log->credentials->mu);
  log->credentials->callback = callback;
  log->credentials->user_data = user_data;
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_audit_append(lifeline_audit_t* log, const char* event_json) {
  static constexpr const char* kFn = "lifeline_audit_append";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  if (lifeline_status st = CheckString(kFn, "event_json", event_json); st != LIFELINE_OK) return st;
  return Guard(kFn, [&] {
    rapidjson::Document doc;
    lifeline::Status s = ParseJson(event_json, "event_json", &doc);
    lifeline::AuditEvent event;
    if (s.ok()) s = ParseEvent(doc, "event_json", &event);
    if (s.ok()) s = log->log->Append(event);
    return Fail(kFn, s);
  });
}

LIFELINE_API lifeline_status lifeline_audit_append_batch(lifeline_audit_t* log,
                                                         const char* events_json) {
  static constexpr const char* kFn = "lifeline_audit_append_batch";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  if (lifeline_status st = CheckString(kFn, "events_json", events_json); st != LIFELINE_OK) return st;
  return Guard(kFn, [&] {
    rapidjson::Document doc;
    lifeline::Status s = ParseJson(events_json, "events_json", &doc);
    if (s.ok() && !doc.IsArray()) s = lifeline::InvalidArgument("events_json must be a JSON array");
    std::vector<lifeline::AuditEvent> events;
    for (rapidjson::SizeType i = 0; s.ok() && i < doc.Size(); ++i) {
      lifeline::AuditEvent event;
      s = ParseEvent(doc[i], "events_json[" + std::to_string(i) + "]", &event);
      events.push_back(std::move(event));
    }
    if (s.ok()) s = log->log->AppendBatch(events);
    return Fail(kFn, s);
  });
}

LIFELINE_API lifeline_status lifeline_audit_flush(lifeline_audit_t* log) {
  static constexpr const char* kFn = "lifeline_audit_flush";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  return Guard(kFn, [&] { return Fail(kFn, log->log->Flush()); });
}

LIFELINE_API lifeline_status lifeline_audit_rotate_data_key(lifeline_audit_t* log,
                                                            const char* key_id) {
  static constexpr const char* kFn = "lifeline_audit_rotate_data_key";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  if (lifeline_status st = CheckString(kFn, "key_id", key_id); st != LIFELINE_OK) return st;
  return Guard(kFn, [&] { return Fail(kFn, log->log->RotateDataKey(key_id)); });
}

LIFELINE_API lifeline_status lifeline_audit_head(const lifeline_audit_t* log, uint64_t* out_seq,
                                                 char* out_hash, size_t cap) {
  static constexpr const char* kFn = "lifeline_audit_head";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_seq);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_hash);
  return Guard(kFn, [&] {
    // Read both under one look so they describe the same record.
    std::uint64_t seq;
    std::string hash;
    do {
      seq = log->log->head_seq();
      hash = log->log->head_hash();
    } while (seq != log->log->head_seq());
    lifeline_status st = CopyOut(kFn, hash, out_hash, cap);
    if (st != LIFELINE_OK) return st;
    *out_seq = seq;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_audit_verify(lifeline_audit_t* log,
                                                   lifeline_audit_finding* out_finding,
                                                   uint64_t* out_first_bad_seq,
                                                   char* out_report_json, size_t cap) {
  static constexpr const char* kFn = "lifeline_audit_verify";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_finding);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_first_bad_seq);
  return Guard(kFn, [&] {
    return WriteReport(kFn, log->log->Verify(), out_finding, out_first_bad_seq, out_report_json,
                       cap);
  });
}

LIFELINE_API lifeline_status lifeline_audit_verify_dir(const char* config_json,
                                                       lifeline_key_callback key_callback,
                                                       void* key_user_data,
                                                       lifeline_audit_finding* out_finding,
                                                       uint64_t* out_first_bad_seq,
                                                       char* out_report_json, size_t cap) {
  static constexpr const char* kFn = "lifeline_audit_verify_dir";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_finding);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_first_bad_seq);
  return Guard(kFn, [&] {
    lifeline::AuditLogOptions options;
    lifeline_status st = ParseConfig(kFn, config_json, key_callback, key_user_data, &options);
    if (st != LIFELINE_OK) return st;
    return WriteReport(kFn, lifeline::VerifyAuditDirectory(options), out_finding,
                       out_first_bad_seq, out_report_json, cap);
  });
}

LIFELINE_API lifeline_status lifeline_audit_verify_export(const char* export_path,
                                                          const char* config_json,
                                                          lifeline_key_callback key_callback,
                                                          void* key_user_data,
                                                          lifeline_audit_finding* out_finding,
                                                          uint64_t* out_first_bad_seq,
                                                          char* out_report_json, size_t cap) {
  static constexpr const char* kFn = "lifeline_audit_verify_export";
  if (lifeline_status st = CheckString(kFn, "export_path", export_path); st != LIFELINE_OK) return st;
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_finding);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_first_bad_seq);
  return Guard(kFn, [&] {
    lifeline::AuditLogOptions options;
    lifeline_status st = ParseConfig(kFn, config_json, key_callback, key_user_data, &options);
    if (st != LIFELINE_OK) return st;
    return WriteReport(kFn, lifeline::VerifyAuditExport(export_path, *options.keys), out_finding,
                       out_first_bad_seq, out_report_json, cap);
  });
}

LIFELINE_API lifeline_status lifeline_audit_archive(lifeline_audit_t* log, int64_t now_unix_ms,
                                                    uint64_t* out_archived) {
  static constexpr const char* kFn = "lifeline_audit_archive";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  return Guard(kFn, [&] {
    lifeline::Result<std::uint64_t> n = log->log->Archive(now_unix_ms);
    if (!n.ok()) return Fail(kFn, n.status());
    if (out_archived != nullptr) *out_archived = *n;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_audit_export(lifeline_audit_t* log, const char* filter_json,
                                                   const char* role, const char* credential,
                                                   int64_t now_unix_ms, const char* out_path,
                                                   uint64_t* out_records) {
  static constexpr const char* kFn = "lifeline_audit_export";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  if (lifeline_status st = CheckString(kFn, "filter_json", filter_json); st != LIFELINE_OK) return st;
  if (lifeline_status st = CheckString(kFn, "out_path", out_path); st != LIFELINE_OK) return st;
  if (role != nullptr) {
    if (lifeline_status st = CheckString(kFn, "role", role); st != LIFELINE_OK) return st;
  }
  if (credential != nullptr) {
    if (lifeline_status st = CheckString(kFn, "credential", credential); st != LIFELINE_OK) return st;
  }
  return Guard(kFn, [&] {
    lifeline::AuditFilter filter;
    lifeline::Status s = ParseFilter(filter_json, &filter);
    if (!s.ok()) return Fail(kFn, s);
    lifeline::AuditReader reader{role != nullptr ? role : "", credential != nullptr ? credential : ""};
    if (lifeline::IsPrivilegedAuditRole(reader.role)) {
      std::lock_guard<std::mutex> lock(log->credentials->mu);
      if (log->credentials->callback == nullptr) {
        return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                    "no credential verifier is configured (lifeline_audit_set_credential_verifier); "
                    "PII cannot be decrypted");
      }
    }
    auto summary = log->log->Export(filter, reader, now_unix_ms, out_path);
    if (!summary.ok()) return Fail(kFn, summary.status());
    if (out_records != nullptr) *out_records = summary->records;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_audit_close(lifeline_audit_t* log) {
  static constexpr const char* kFn = "lifeline_audit_close";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  return Guard(kFn, [&] { return Fail(kFn, log->log->Close()); });
}

LIFELINE_API void lifeline_audit_free(lifeline_audit_t* log) { delete log; }

LIFELINE_API lifeline_status lifeline_audit_purge_archive(lifeline_audit_t* log,
                                                          int64_t cutoff_unix_ms,
                                                          const char* role,
                                                          const char* credential,
                                                          int64_t now_unix_ms,
                                                          uint64_t* out_segments,
                                                          uint64_t* out_records) {
  static constexpr const char* kFn = "lifeline_audit_purge_archive";
  LIFELINE_REQUIRE_NOT_NULL(kFn, log);
  if (lifeline_status st = CheckString(kFn, "role", role); st != LIFELINE_OK) return st;
  if (lifeline_status st = CheckString(kFn, "credential", credential); st != LIFELINE_OK) return st;
  if (cutoff_unix_ms < 0 || cutoff_unix_ms > lifeline::kLatestUnixMillis) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "cutoff_unix_ms must be between 0 and 253402300799999 (1970-01-01 to 9999-12-31)");
  }
  if (now_unix_ms < 0 || now_unix_ms > lifeline::kLatestUnixMillis) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "now_unix_ms must be between 0 and 253402300799999 (1970-01-01 to 9999-12-31)");
  }
  return Guard(kFn, [&] {
    {
      std::lock_guard<std::mutex> lock(log->credentials->mu);
      if (log->credentials->callback == nullptr) {
        return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                    "no credential verifier is configured (lifeline_audit_set_credential_verifier); "
                    "the archive cannot be purged");
      }
    }
    auto summary = log->log->PurgeArchive(cutoff_unix_ms, lifeline::AuditReader{role, credential},
                                          now_unix_ms);
    if (!summary.ok()) return Fail(kFn, summary.status());
    if (out_segments != nullptr) *out_segments = summary->segments;
    if (out_records != nullptr) *out_records = summary->records;
    return LIFELINE_OK;
  });
}

}  // extern "C"
