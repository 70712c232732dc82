// The audit record's line format, the chain hash, checkpoints, segment
// headers, and the chain verifier. No I/O, no clock.
#include "lifeline/audit_chain.hpp"

#include <date/date.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cassert>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/audit_content.hpp"
#include "core/audit_crypto.hpp"
#include "core/audit_json.hpp"
#include "lifeline/rfc3339.hpp"

namespace lifeline {

using audit_internal::HexDecode;
using audit_internal::HexEncode;
using audit_internal::IsLowerHex64;
using audit_internal::JsonWriter;
using audit_internal::kSha256Size;
using audit_internal::StringSink;

const char kAuditGenesisHash[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

namespace {

// The fixed tail of every line: ,"prev_hash":"<64>","hash":"<64>"}
constexpr std::string_view kPrevKey = ",\"prev_hash\":\"";
constexpr std::string_view kHashKey = "\",\"hash\":\"";
constexpr std::size_t kTailSize = kPrevKey.size() + 64 + kHashKey.size() + 64 + 2;

// The content members, in canonical order.
constexpr std::array<const char*, 12> kContentKeys = {
    "seq",   "time",  "source",     "incidentId", "callId", "subject",
    "channel", "event", "status", "providerId", "detail", "pii"};

bool GetString(const rapidjson::Value& object, const char* key, std::string* out) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) return false;
  out->assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

}  // namespace

namespace {

// Writes the 24 characters of FormatAuditTime(t) to `out` for the years
// FormatRfc3339 writes (0001-9999); false for other instants.
bool FormatAuditTimeTo(UnixMillis t, char* out) {
  char text[kRfc3339BufferSize];
  if (!FormatRfc3339(t, text).ok()) return false;
  std::memcpy(out, text, 24);
  return true;
}

}  // namespace

std::string FormatAuditTime(UnixMillis t) {
  char buf[24];
  if (FormatAuditTimeTo(t, buf)) return std::string(buf, sizeof buf);
  using namespace std::chrono;
  date::sys_time<milliseconds> tp{milliseconds{t}};
  date::sys_days day = date::floor<date::days>(tp);
  date::year_month_day ymd{day};
  auto ms = static_cast<unsigned>((tp - day).count());
  char wide[64];
  std::snprintf(wide, sizeof wide, "%d-%02u-%02uT%02u:%02u:%02u.%03uZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), ms / 3600000u, ms / 60000u % 60u,
                ms / 1000u % 60u, ms % 1000u);
  return wide;
}

bool ParseAuditTime(std::string_view text, UnixMillis* out) {
  // Exactly the form FormatAuditTime writes, YYYY-MM-DDTHH:MM:SS.sssZ: any
  // other spelling of the same instant (an offset, more fraction digits, a
  // leap second) would not format back to the text that was hashed.
  if (text.size() != 24) return false;
  Result<UnixMillis> t = ParseRfc3339(text);
  if (!t.ok()) return false;
  char again[kRfc3339BufferSize];
  if (!FormatRfc3339(*t, again).ok() || std::string_view(again, 24) != text) return false;
  *out = *t;
  return true;
}

namespace audit_internal {

// Appends `value` as a JSON string, byte for byte what RapidJSON's compact
// Writer writes. Most values (ids, base64, hex, plain words) need no
// escaping and are copied between quotes; the others go through RapidJSON.
void AppendJsonString(std::string_view value, std::string* out) {
  // RapidJSON's Writer escapes the control characters, '"' and '\\', and
  // copies every other byte (UTF-8 sequences included) as is.
  if (!NeedsJsonEscape(value)) {
    out->push_back('"');
    out->append(value);
    out->push_back('"');
    return;
  }
  thread_local rapidjson::StringBuffer buffer;
  thread_local rapidjson::Writer<rapidjson::StringBuffer> writer;
  buffer.Clear();
  writer.Reset(buffer);
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  out->append(buffer.GetString(), buffer.GetSize());
  // The value may be a clear PII value on its way into a sealed message:
  // leave no copy of it behind in the thread's buffer.
  SecureWipe(const_cast<char*>(buffer.GetString()), buffer.GetSize());
}

namespace {

// The content's punctuation, member by member (the members and their order
// are fixed, so it is written as literals).
constexpr std::string_view kSeqKey = "{\"seq\":";
constexpr std::string_view kTimeKey = ",\"time\":\"";
constexpr std::string_view kSourceKey = "\",\"source\":\"";
constexpr std::string_view kIncidentKey = "\",\"incidentId\":";
constexpr std::string_view kCallKey = ",\"callId\":";
constexpr std::string_view kSubjectKey = ",\"subject\":";
constexpr std::string_view kChannelKey = ",\"channel\":";
constexpr std::string_view kEventKey = ",\"event\":";
constexpr std::string_view kStatusKey = ",\"status\":";
constexpr std::string_view kProviderKey = ",\"providerId\":";
constexpr std::string_view kDetailKey = ",\"detail\":";
constexpr std::string_view kPiiKey = ",\"pii\":{";
constexpr std::string_view kEncKey = "\"enc\":";
constexpr std::string_view kPsnKey = "\"psn\":";
constexpr std::string_view kPiiEncKey = ",\"pii_enc\":";

// Any content: every string through AppendJsonString.
void AppendContentEscaped(const AuditContentView& r, std::string_view seq, std::string_view time,
                          std::string* out) {
  out->append(kSeqKey).append(seq).append(kTimeKey).append(time).append(kSourceKey);
  out->append(AuditSourceName(r.source));
  out->append(kIncidentKey);
  AppendJsonString(r.incident_id, out);
  out->append(kCallKey);
  AppendJsonString(r.call_id, out);
  out->append(kSubjectKey);
  AppendJsonString(r.subject, out);
  out->append(kChannelKey);
  AppendJsonString(r.channel, out);
  out->append(kEventKey);
  AppendJsonString(r.event, out);
  out->append(kStatusKey);
  AppendJsonString(r.status, out);
  out->append(kProviderKey);
  AppendJsonString(r.provider_id, out);
  out->append(kDetailKey);
  AppendJsonString(r.detail, out);
  out->append(kPiiKey);
  for (std::size_t i = 0; i < r.pii_size; ++i) {
    const StoredPiiView& field = r.pii[i];
    if (i > 0) out->push_back(',');
    AppendJsonString(field.name, out);
    out->append(":{");
    if (!field.enc.empty()) {
      out->append(kEncKey);
      AppendJsonString(field.enc, out);
    }
    if (!field.psn.empty()) {
      if (!field.enc.empty()) out->push_back(',');
      out->append(kPsnKey);
      AppendJsonString(field.psn, out);
    }
    out->push_back('}');
  }
  out->push_back('}');
  if (!r.pii_enc.empty()) {
    out->append(kPiiEncKey);
    AppendJsonString(r.pii_enc, out);
  }
  out->push_back('}');
}

// Copies bytes forward through a buffer sized in advance.
struct Cursor {
  char* p;
  void Put(std::string_view s) {
    // An empty view may have a null data(), which memcpy must not get.
    if (s.empty()) return;
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void Put(char c) { *p++ = c; }
  void Quoted(std::string_view s) {
    *p++ = '"';
    Put(s);
    *p++ = '"';
  }
};

}  // namespace

void AppendAuditContent(const AuditContentView& r, std::string* out) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, r.seq);
  (void)ec;
  std::string_view seq(digits, static_cast<std::size_t>(end - digits));
  char time_buffer[24];
  std::string wide_time;  // years outside 0-9999 only
  std::string_view time(time_buffer, sizeof time_buffer);
  if (!FormatAuditTimeTo(r.time, time_buffer)) {
    wide_time = FormatAuditTime(r.time);
    time = wide_time;
  }
  // The usual record has no string that needs escaping: its exact size is
  // known, and it is copied into place in one pass.
  const std::string_view strings[] = {r.incident_id, r.call_id, r.status, r.subject, r.channel,
                                      r.event, r.provider_id, r.detail, r.pii_enc};
  bool escapes = false;
  std::size_t size = kSeqKey.size() + seq.size() + kTimeKey.size() + time.size() +
                     kSourceKey.size() + std::strlen(AuditSourceName(r.source)) +
                     kIncidentKey.size() + kCallKey.size() + kSubjectKey.size() +
                     kChannelKey.size() + kEventKey.size() + kStatusKey.size() +
                     kProviderKey.size() + kDetailKey.size() + 8 * 2 + kPiiKey.size() + 2;
  for (std::string_view s : strings) {
    escapes |= NeedsJsonEscape(s);
    size += s.size();
  }
  if (!r.pii_enc.empty()) size += kPiiEncKey.size() + 2;
  for (std::size_t i = 0; i < r.pii_size; ++i) {
    const StoredPiiView& field = r.pii[i];
    escapes = escapes || NeedsJsonEscape(field.name) || NeedsJsonEscape(field.enc) ||
              NeedsJsonEscape(field.psn);
    // ,"name":{"enc":"..","psn":".."}
    size += (i > 0 ? 1 : 0) + field.name.size() + 2 + 2 + 1;
    if (!field.enc.empty()) size += kEncKey.size() + field.enc.size() + 2;
    if (!field.psn.empty()) size += (field.enc.empty() ? 0 : 1) + kPsnKey.size() + field.psn.size() + 2;
  }
  if (escapes) {
    out->reserve(out->size() + size + size / 2);
    AppendContentEscaped(r, seq, time, out);
    return;
  }
  std::size_t start = out->size();
  out->resize(start + size);
  Cursor c{out->data() + start};
  c.Put(kSeqKey);
  c.Put(seq);
  c.Put(kTimeKey);
  c.Put(time);
  c.Put(kSourceKey);
  c.Put(AuditSourceName(r.source));
  c.Put(kIncidentKey);
  c.Quoted(r.incident_id);
  c.Put(kCallKey);
  c.Quoted(r.call_id);
  c.Put(kSubjectKey);
  c.Quoted(r.subject);
  c.Put(kChannelKey);
  c.Quoted(r.channel);
  c.Put(kEventKey);
  c.Quoted(r.event);
  c.Put(kStatusKey);
  c.Quoted(r.status);
  c.Put(kProviderKey);
  c.Quoted(r.provider_id);
  c.Put(kDetailKey);
  c.Quoted(r.detail);
  c.Put(kPiiKey);
  for (std::size_t i = 0; i < r.pii_size; ++i) {
    const StoredPiiView& field = r.pii[i];
    if (i > 0) c.Put(',');
    c.Quoted(field.name);
    c.Put(":{");
    if (!field.enc.empty()) {
      c.Put(kEncKey);
      c.Quoted(field.enc);
    }
    if (!field.psn.empty()) {
      if (!field.enc.empty()) c.Put(',');
      c.Put(kPsnKey);
      c.Quoted(field.psn);
    }
    c.Put('}');
  }
  c.Put('}');
  if (!r.pii_enc.empty()) {
    c.Put(kPiiEncKey);
    c.Quoted(r.pii_enc);
  }
  c.Put('}');
  assert(c.p == out->data() + out->size());
}

}  // namespace audit_internal

void AppendAuditContent(const AuditRecord& r, std::string* out) {
  // The views of a few fields live on the stack; records with more (the
  // log allows 33) use the heap.
  audit_internal::StoredPiiView small[8];
  std::vector<audit_internal::StoredPiiView> large;
  audit_internal::StoredPiiView* pii = small;
  if (r.pii.size() > std::size(small)) {
    large.resize(r.pii.size());
    pii = large.data();
  }
  for (std::size_t i = 0; i < r.pii.size(); ++i) pii[i] = {r.pii[i].name, r.pii[i].enc, r.pii[i].psn};
  audit_internal::AuditContentView view;
  view.seq = r.seq;
  view.time = r.time;
  view.source = r.source;
  view.incident_id = r.incident_id;
  view.call_id = r.call_id;
  view.subject = r.subject;
  view.channel = r.channel;
  view.event = r.event;
  view.status = r.status;
  view.provider_id = r.provider_id;
  view.detail = r.detail;
  view.pii = pii;
  view.pii_size = r.pii.size();
  view.pii_enc = r.pii_enc;
  audit_internal::AppendAuditContent(view, out);
}

std::string AuditContentDigest(std::string_view content) {
  std::uint8_t digest[kSha256Size];
  audit_internal::Sha256(content, digest);
  return HexEncode(digest, sizeof digest);
}

namespace {

std::string LinkHashRaw(std::string_view prev_hash_hex, const std::uint8_t* digest) {
  std::uint8_t prev[kSha256Size];
  if (!HexDecode(prev_hash_hex, prev, sizeof prev)) std::memset(prev, 0, sizeof prev);
  std::uint8_t hash[kSha256Size];
  audit_internal::Sha256Two(prev, sizeof prev, digest, kSha256Size, hash);
  return HexEncode(hash, sizeof hash);
}

}  // namespace

std::string AuditChainHash(std::string_view prev_hash_hex, std::string_view content) {
  std::uint8_t digest[kSha256Size];
  audit_internal::Sha256(content, digest);
  return LinkHashRaw(prev_hash_hex, digest);
}

std::string AuditLinkHash(std::string_view prev_hash_hex, std::string_view content_digest_hex) {
  std::uint8_t digest[kSha256Size];
  if (!HexDecode(content_digest_hex, digest, sizeof digest)) std::memset(digest, 0, sizeof digest);
  return LinkHashRaw(prev_hash_hex, digest);
}

void AppendAuditLine(AuditRecord* record, std::string* out) {
  std::size_t start = out->size();
  AppendAuditContent(*record, out);
  std::string_view content(out->data() + start, out->size() - start);
  record->hash = AuditChainHash(record->prev_hash, content);
  out->pop_back();  // the content's closing brace
  out->append(kPrevKey);
  out->append(record->prev_hash);
  out->append(kHashKey);
  out->append(record->hash);
  out->append("\"}");
}

Status ParseAuditLine(std::string_view line, AuditRecord* record, std::string* content_digest) {
  if (line.size() < kTailSize + 2 || line.back() != '}' || line[line.size() - 2] != '"') {
    return InvalidArgument("line does not end with the prev_hash and hash members");
  }
  std::size_t tail = line.size() - kTailSize;
  std::string_view prev_key = line.substr(tail, kPrevKey.size());
  std::string_view prev = line.substr(tail + kPrevKey.size(), 64);
  std::string_view hash_key = line.substr(tail + kPrevKey.size() + 64, kHashKey.size());
  std::string_view hash = line.substr(tail + kPrevKey.size() + 64 + kHashKey.size(), 64);
  if (prev_key != kPrevKey || hash_key != kHashKey) {
    return InvalidArgument("line does not end with the prev_hash and hash members");
  }
  if (!IsLowerHex64(prev)) return InvalidArgument("prev_hash is not 64 lower-case hex digits");
  if (!IsLowerHex64(hash)) return InvalidArgument("hash is not 64 lower-case hex digits");

  std::string content(line.substr(0, tail));
  content.push_back('}');
  std::uint8_t digest[kSha256Size];
  audit_internal::Sha256(content, digest);
  if (LinkHashRaw(prev, digest) != hash) {
    return InvalidArgument("hash does not match the record's content and prev_hash");
  }
  if (content_digest != nullptr) *content_digest = HexEncode(digest, sizeof digest);

  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(content.data(), content.size());
  if (doc.HasParseError() || !doc.IsObject()) return InvalidArgument("content is not a JSON object");
  // The record members in canonical order, then pii_enc when a field is
  // encrypted.
  bool has_pii_enc = doc.MemberCount() == kContentKeys.size() + 1;
  if (doc.MemberCount() != kContentKeys.size() && !has_pii_enc) {
    return InvalidArgument("content does not have exactly the record members");
  }
  std::size_t i = 0;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it, ++i) {
    const char* expected = i < kContentKeys.size() ? kContentKeys[i] : "pii_enc";
    if (std::strcmp(it->name.GetString(), expected) != 0) {
      return InvalidArgument(i < kContentKeys.size()
                                 ? "content members are not in canonical order"
                                 : "content does not have exactly the record members");
    }
  }
  AuditRecord r;
  if (!doc["seq"].IsUint64() || doc["seq"].GetUint64() == 0) {
    return InvalidArgument("seq is not a positive integer");
  }
  r.seq = doc["seq"].GetUint64();
  std::string text;
  if (!GetString(doc, "time", &text) || !ParseAuditTime(text, &r.time)) {
    return InvalidArgument("time is not RFC 3339 UTC with milliseconds");
  }
  if (!GetString(doc, "source", &text) || !ParseAuditSource(text, &r.source)) {
    return InvalidArgument("source is not ivr, cascade, failover or audit");
  }
  struct {
    const char* key;
    std::string* field;
  } strings[] = {{"incidentId", &r.incident_id}, {"callId", &r.call_id},
                 {"subject", &r.subject},        {"channel", &r.channel},
                 {"event", &r.event},            {"status", &r.status},
                 {"providerId", &r.provider_id}, {"detail", &r.detail}};
  for (const auto& s : strings) {
    if (!GetString(doc, s.key, s.field)) return InvalidArgument(std::string(s.key) + " is not a string");
  }
  const rapidjson::Value& pii = doc["pii"];
  if (!pii.IsObject()) return InvalidArgument("pii is not an object");
  for (auto it = pii.MemberBegin(); it != pii.MemberEnd(); ++it) {
    if (!it->value.IsObject()) return InvalidArgument("a pii member is not an object");
    StoredPii field;
    field.name.assign(it->name.GetString(), it->name.GetStringLength());
    if (!r.pii.empty() && !(r.pii.back().name < field.name)) {
      return InvalidArgument("pii members are not sorted and unique");
    }
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
      std::string_view key(m->name.GetString(), m->name.GetStringLength());
      if (!m->value.IsString()) return InvalidArgument("a pii value is not a string");
      std::string value(m->value.GetString(), m->value.GetStringLength());
      if (key == "enc") {
        field.enc = std::move(value);
      } else if (key == "psn") {
        field.psn = std::move(value);
      } else {
        return InvalidArgument("a pii member has a key other than enc and psn");
      }
    }
    if (field.enc.empty() && field.psn.empty()) {
      return InvalidArgument("a pii member has neither enc nor psn");
    }
    r.pii.push_back(std::move(field));
  }
  if (has_pii_enc) {
    if (!GetString(doc, "pii_enc", &r.pii_enc) || r.pii_enc.empty()) {
      return InvalidArgument("pii_enc is not a non-empty string");
    }
    for (const StoredPii& field : r.pii) {
      if (!field.enc.empty()) {
        return InvalidArgument("a record has both pii_enc and a per-field enc");
      }
    }
  }
  r.prev_hash.assign(prev);
  r.hash.assign(hash);
  *record = std::move(r);
  return Status::Ok();
}

std::uint64_t PeekAuditSeq(std::string_view line) {
  static constexpr std::string_view kPrefix = "{\"seq\":";
  if (line.substr(0, kPrefix.size()) != kPrefix) return 0;
  std::uint64_t seq = 0;
  std::size_t i = kPrefix.size();
  std::size_t digits = 0;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9' && digits < 20) {
    seq = seq * 10 + static_cast<std::uint64_t>(line[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0 || i >= line.size() || line[i] != ',') return 0;
  return seq;
}

// ---------------------------------------------------------------------------

std::string AuditCheckpointMessage(std::uint64_t seq, std::string_view hash) {
  std::string message = "lifeline-audit-checkpoint/v1\n";
  message += std::to_string(seq);
  message += '\n';
  message.append(hash);
  return message;
}

std::string FormatAuditCheckpoint(const AuditCheckpoint& cp) {
  std::string out;
  StringSink sink{&out};
  JsonWriter w(sink);
  w.StartObject();
  w.Key("seq");
  w.Uint64(cp.seq);
  w.Key("hash");
  w.String(cp.hash.c_str());
  w.Key("kid");
  w.String(cp.kid.c_str());
  w.Key("mac");
  w.String(cp.mac.c_str());
  w.EndObject();
  return out;
}

Status ParseAuditCheckpoint(std::string_view line, AuditCheckpoint* out) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return InvalidArgument("checkpoint is not a JSON object");
  AuditCheckpoint cp;
  auto seq = doc.FindMember("seq");
  if (seq == doc.MemberEnd() || !seq->value.IsUint64()) {
    return InvalidArgument("checkpoint seq is not an integer");
  }
  cp.seq = seq->value.GetUint64();
  if (!GetString(doc, "hash", &cp.hash) || !IsLowerHex64(cp.hash)) {
    return InvalidArgument("checkpoint hash is not 64 lower-case hex digits");
  }
  if (!GetString(doc, "kid", &cp.kid) || cp.kid.empty()) {
    return InvalidArgument("checkpoint kid is missing");
  }
  if (!GetString(doc, "mac", &cp.mac) || !IsLowerHex64(cp.mac)) {
    return InvalidArgument("checkpoint mac is not 64 lower-case hex digits");
  }
  *out = std::move(cp);
  return Status::Ok();
}

// ---------------------------------------------------------------------------

std::string FormatAuditSegmentHeader(const AuditSegmentHeader& h) {
  std::string out;
  StringSink sink{&out};
  JsonWriter w(sink);
  w.StartObject();
  w.Key("segment");
  w.Uint(1);
  w.Key("first_seq");
  w.Uint64(h.first_seq);
  w.Key("last_seq");
  w.Uint64(h.last_seq);
  w.Key("count");
  w.Uint64(h.count);
  w.Key("first_prev_hash");
  w.String(h.first_prev_hash.c_str());
  w.Key("last_hash");
  w.String(h.last_hash.c_str());
  w.EndObject();
  return out;
}

Status ParseAuditSegmentHeader(std::string_view line, AuditSegmentHeader* out) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return InvalidArgument("segment header is not a JSON object");
  auto version = doc.FindMember("segment");
  if (version == doc.MemberEnd() || !version->value.IsUint() || version->value.GetUint() != 1) {
    return InvalidArgument("segment header version is not 1");
  }
  AuditSegmentHeader h;
  for (auto [key, field] : {std::pair<const char*, std::uint64_t*>{"first_seq", &h.first_seq},
                            {"last_seq", &h.last_seq},
                            {"count", &h.count}}) {
    auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsUint64()) {
      return InvalidArgument(std::string("segment header ") + key + " is not an integer");
    }
    *field = it->value.GetUint64();
  }
  if (!GetString(doc, "first_prev_hash", &h.first_prev_hash) || !IsLowerHex64(h.first_prev_hash) ||
      !GetString(doc, "last_hash", &h.last_hash) || !IsLowerHex64(h.last_hash)) {
    return InvalidArgument("segment header hashes are not 64 lower-case hex digits");
  }
  if (h.first_seq == 0 || h.last_seq < h.first_seq || h.count != h.last_seq - h.first_seq + 1) {
    return InvalidArgument("segment header boundaries are inconsistent");
  }
  *out = std::move(h);
  return Status::Ok();
}

// ---------------------------------------------------------------------------

std::string AuditPurgeMessage(const AuditPurgeEntry& e) {
  std::string message = "lifeline-audit-purge/v1\n";
  for (std::uint64_t n : {e.segment.first_seq, e.segment.last_seq}) {
    message += std::to_string(n);
    message += '\n';
  }
  message += e.segment.first_prev_hash;
  message += '\n';
  message += e.segment.last_hash;
  for (UnixMillis t : {e.max_time, e.cutoff, e.purged_at}) {
    message += '\n';
    message += std::to_string(t);
  }
  message += '\n';
  message += std::to_string(e.audit_seq);
  return message;
}

std::string FormatAuditPurgeEntry(const AuditPurgeEntry& e) {
  std::string out;
  StringSink sink{&out};
  JsonWriter w(sink);
  w.StartObject();
  w.Key("purged");
  w.Uint(1);
  w.Key("first_seq");
  w.Uint64(e.segment.first_seq);
  w.Key("last_seq");
  w.Uint64(e.segment.last_seq);
  w.Key("count");
  w.Uint64(e.segment.count);
  w.Key("first_prev_hash");
  w.String(e.segment.first_prev_hash.c_str());
  w.Key("last_hash");
  w.String(e.segment.last_hash.c_str());
  for (auto [key, t] : {std::pair<const char*, UnixMillis>{"max_time", e.max_time},
                        {"cutoff", e.cutoff},
                        {"purged_at", e.purged_at}}) {
    w.Key(key);
    std::string text = FormatAuditTime(t);
    w.String(text.c_str());
  }
  w.Key("audit_seq");
  w.Uint64(e.audit_seq);
  w.Key("kid");
  w.String(e.kid.c_str());
  w.Key("mac");
  w.String(e.mac.c_str());
  w.EndObject();
  return out;
}

Status ParseAuditPurgeEntry(std::string_view line, AuditPurgeEntry* out) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return InvalidArgument("purge manifest entry is not a JSON object");
  }
  auto version = doc.FindMember("purged");
  if (version == doc.MemberEnd() || !version->value.IsUint() || version->value.GetUint() != 1) {
    return InvalidArgument("purge manifest entry version is not 1");
  }
  AuditPurgeEntry e;
  for (auto [key, field] : {std::pair<const char*, std::uint64_t*>{"first_seq", &e.segment.first_seq},
                            {"last_seq", &e.segment.last_seq},
                            {"count", &e.segment.count},
                            {"audit_seq", &e.audit_seq}}) {
    auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsUint64()) {
      return InvalidArgument(std::string("purge manifest entry ") + key + " is not an integer");
    }
    *field = it->value.GetUint64();
  }
  if (!GetString(doc, "first_prev_hash", &e.segment.first_prev_hash) ||
      !IsLowerHex64(e.segment.first_prev_hash) ||
      !GetString(doc, "last_hash", &e.segment.last_hash) || !IsLowerHex64(e.segment.last_hash)) {
    return InvalidArgument("purge manifest entry hashes are not 64 lower-case hex digits");
  }
  const AuditSegmentHeader& h = e.segment;
  if (h.first_seq == 0 || h.last_seq < h.first_seq || h.count != h.last_seq - h.first_seq + 1) {
    return InvalidArgument("purge manifest entry boundaries are inconsistent");
  }
  std::string text;
  for (auto [key, field] : {std::pair<const char*, UnixMillis*>{"max_time", &e.max_time},
                            {"cutoff", &e.cutoff},
                            {"purged_at", &e.purged_at}}) {
    if (!GetString(doc, key, &text) || !ParseAuditTime(text, field)) {
      return InvalidArgument(std::string("purge manifest entry ") + key +
                             " is not RFC 3339 UTC with milliseconds");
    }
  }
  if (!GetString(doc, "kid", &e.kid) || e.kid.empty()) {
    return InvalidArgument("purge manifest entry kid is missing");
  }
  if (!GetString(doc, "mac", &e.mac) || !IsLowerHex64(e.mac)) {
    return InvalidArgument("purge manifest entry mac is not 64 lower-case hex digits");
  }
  *out = std::move(e);
  return Status::Ok();
}

std::uint64_t AuditPurgedThrough(const AuditRecord& record) {
  if (record.source != AuditSource::kAudit || record.event != "ARCHIVE_PURGED") return 0;
  rapidjson::Document doc;
  doc.Parse(record.detail.data(), record.detail.size());
  if (doc.HasParseError() || !doc.IsObject()) return 0;
  auto it = doc.FindMember("last_seq");
  if (it == doc.MemberEnd() || !it->value.IsUint64()) return 0;
  return it->value.GetUint64();
}

// ---------------------------------------------------------------------------

const char* AuditFindingName(AuditFinding finding) {
  switch (finding) {
    case AuditFinding::kOk: return "ok";
    case AuditFinding::kEdited: return "edited";
    case AuditFinding::kDeleted: return "deleted";
    case AuditFinding::kReordered: return "reordered";
    case AuditFinding::kTruncated: return "truncated";
    case AuditFinding::kBadCheckpoint: return "bad_checkpoint";
    case AuditFinding::kCorruptArchive: return "corrupt_archive";
    case AuditFinding::kBadPurgeManifest: return "bad_purge_manifest";
  }
  return "unknown";
}

std::string AuditVerifyReport::ToJson() const {
  std::string out;
  StringSink sink{&out};
  JsonWriter w(sink);
  w.StartObject();
  w.Key("ok");
  w.Bool(ok());
  w.Key("kind");
  w.String(AuditFindingName(finding));
  w.Key("first_bad_seq");
  w.Uint64(first_bad_seq);
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.Key("records");
  w.Uint64(records);
  w.Key("links");
  w.Uint64(links);
  w.Key("segments");
  w.Uint64(segments);
  w.Key("checkpoints");
  w.Uint64(checkpoints);
  w.Key("first_seq");
  w.Uint64(first_seq);
  w.Key("last_seq");
  w.Uint64(last_seq);
  w.Key("head_hash");
  w.String(head_hash.c_str());
  w.Key("torn_tail_bytes");
  w.Uint64(torn_tail_bytes);
  w.Key("purged_segments");
  w.Uint64(purged_segments);
  w.Key("purged_through");
  w.Uint64(purged_through);
  w.EndObject();
  return out;
}

AuditChainVerifier::AuditChainVerifier() : head_hash_(kAuditGenesisHash) {}

void AuditChainVerifier::Fail(AuditFinding finding, std::uint64_t seq, std::string message) {
  if (final_ || gap_pending_) return;
  report_.finding = finding;
  report_.first_bad_seq = seq;
  report_.message = std::move(message);
  final_ = true;
}

bool AuditChainVerifier::done() const { return final_; }

void AuditChainVerifier::AddCheckpoint(const AuditCheckpoint& cp, bool mac_ok) {
  ++report_.checkpoints;
  std::string at = "checkpoint at seq " + std::to_string(cp.seq);
  if (started_ && report_.last_seq > 0 && cp.seq <= report_.last_seq) {
    // Reached already (an export's closing checkpoint): compare with the head.
    if (!mac_ok) {
      Fail(AuditFinding::kBadCheckpoint, cp.seq, at + " fails its MAC");
    } else if (cp.seq == report_.last_seq && cp.hash != head_hash_) {
      Fail(AuditFinding::kBadCheckpoint, cp.seq, at + " does not match the chain");
    }
    return;
  }
  auto [it, inserted] = checkpoints_.emplace(cp.seq, CheckpointState{cp.hash, mac_ok});
  if (!inserted && (it->second.hash != cp.hash || !mac_ok)) it->second.mac_ok = false;
}

void AuditChainVerifier::StartAnywhere() { anywhere_ = true; }

void AuditChainVerifier::AddPurged(const AuditPurgeEntry& entry, bool mac_ok) {
  if (final_ || gap_pending_) return;
  const AuditSegmentHeader& h = entry.segment;
  std::string range = "seqs " + std::to_string(h.first_seq) + "-" + std::to_string(h.last_seq);
  if (!mac_ok) {
    Fail(AuditFinding::kBadPurgeManifest, h.first_seq,
         "the purge manifest entry for " + range + " fails its MAC (edited or forged)");
    return;
  }
  if (started_) {
    Fail(AuditFinding::kBadPurgeManifest, h.first_seq,
         "the purge manifest entry for " + range + " comes after records that were kept");
    return;
  }
  if (h.first_seq != expected_seq_ || h.first_prev_hash != head_hash_) {
    Fail(AuditFinding::kBadPurgeManifest, expected_seq_,
         "the purge manifest does not chain: its entry for " + range +
             (expected_seq_ == 1 ? std::string(" does not start the chain")
                                 : " does not continue seq " + std::to_string(expected_seq_ - 1)));
    return;
  }
  expected_seq_ = h.last_seq + 1;
  head_hash_ = h.last_hash;
  ++report_.purged_segments;
  report_.purged_through = h.last_seq;
  // The checkpoint at the purged segment's last seq can still be compared:
  // its hash is the entry's last_hash. Those inside it cannot.
  auto cp = checkpoints_.find(h.last_seq);
  if (cp != checkpoints_.end()) {
    std::string at = "checkpoint at seq " + std::to_string(h.last_seq);
    if (!cp->second.mac_ok) {
      Fail(AuditFinding::kBadCheckpoint, h.last_seq, at + " fails its MAC");
    } else if (cp->second.hash != h.last_hash) {
      Fail(AuditFinding::kBadPurgeManifest, h.last_seq,
           at + " does not match the purge manifest's last hash for " + range);
    }
  }
}

void AuditChainVerifier::ReportBadPurgeManifest(std::uint64_t seq, std::string message) {
  Fail(AuditFinding::kBadPurgeManifest, seq, std::move(message));
}

void AuditChainVerifier::BeginSegment(const AuditSegmentHeader& header) {
  in_segment_ = true;
  segment_ = header;
  segment_seen_ = 0;
  segment_first_seq_ = 0;
  segment_first_prev_.clear();
  last_segment_hashes_.clear();
  ++report_.segments;
}

void AuditChainVerifier::EndSegment() {
  in_segment_ = false;
  if (final_ || gap_pending_) return;
  if (segment_seen_ != segment_.count || segment_first_seq_ != segment_.first_seq ||
      segment_first_prev_ != segment_.first_prev_hash || report_.last_seq != segment_.last_seq ||
      head_hash_ != segment_.last_hash) {
    Fail(AuditFinding::kCorruptArchive, segment_.first_seq,
         "archive segment starting at seq " + std::to_string(segment_.first_seq) +
             " does not match its header's chain boundaries");
  }
}

void AuditChainVerifier::BeginLive() { live_ = true; }

void AuditChainVerifier::Accept(std::uint64_t seq, const std::string& hash) {
  if (in_segment_) {
    if (segment_seen_ == 0) {
      segment_first_seq_ = seq;
      segment_first_prev_ = head_hash_;
    }
    ++segment_seen_;
    last_segment_hashes_[seq] = hash;
  }
  if (report_.first_seq == 0) report_.first_seq = seq;
  report_.last_seq = seq;
  head_hash_ = hash;
  expected_seq_ = seq + 1;
  auto cp = checkpoints_.find(seq);
  if (cp != checkpoints_.end()) {
    std::string at = "checkpoint at seq " + std::to_string(seq);
    if (!cp->second.mac_ok) {
      Fail(AuditFinding::kBadCheckpoint, seq, at + " fails its MAC");
    } else if (cp->second.hash != hash) {
      Fail(AuditFinding::kBadCheckpoint, seq,
           at + " does not match the chain (the chain was rewritten or the checkpoint forged)");
    }
  }
}

void AuditChainVerifier::AddLine(std::string_view line) {
  if (final_) return;
  AuditRecord record;
  Status parsed = ParseAuditLine(line, &record);
  if (parsed.ok()) {
    std::uint64_t through = AuditPurgedThrough(record);
    if (through > claimed_purged_through_) {
      claimed_purged_through_ = through;
      claimed_purge_record_ = record.seq;
    }
  }
  if (gap_pending_) {
    if (parsed.ok() && record.seq == gap_seq_) {
      report_.finding = AuditFinding::kReordered;
      report_.first_bad_seq = gap_seq_;
      report_.message = "seq " + std::to_string(gap_seq_) + " is out of order: " + gap_message_;
      gap_pending_ = false;
      final_ = true;
    }
    return;
  }
  if (!parsed.ok()) {
    // Mid-chain the damaged line is the one that should hold expected_seq_;
    // a walk that starts anywhere has no expectation yet and trusts the
    // line's own seq prefix, if readable.
    std::uint64_t seq = expected_seq_;
    if (anywhere_ && !started_ && PeekAuditSeq(line) != 0) seq = PeekAuditSeq(line);
    Fail(AuditFinding::kEdited, seq, "record at seq " + std::to_string(seq) + ": " + parsed.message());
    return;
  }
  if (!started_) {
    started_ = true;
    if (anywhere_) {
      expected_seq_ = record.seq;
      head_hash_ = record.prev_hash;
    }
  }
  if (record.seq == expected_seq_) {
    if (record.prev_hash != head_hash_) {
      Fail(AuditFinding::kEdited, record.seq,
           "prev_hash of seq " + std::to_string(record.seq) + " does not match the hash of seq " +
               std::to_string(record.seq - 1) + " (one of them was rewritten)");
      return;
    }
    ++report_.records;
    Accept(record.seq, record.hash);
    return;
  }
  if (record.seq > expected_seq_) {
    gap_pending_ = true;
    gap_seq_ = expected_seq_;
    gap_message_ = "seq " + std::to_string(record.seq) + " appears where it belongs";
    return;
  }
  if (live_) {
    auto it = last_segment_hashes_.find(record.seq);
    if (it != last_segment_hashes_.end() && it->second == record.hash) return;  // archived copy
  }
  Fail(AuditFinding::kReordered, expected_seq_,
       "seq " + std::to_string(record.seq) + " appears where seq " + std::to_string(expected_seq_) +
           " belongs");
}

void AuditChainVerifier::AddLink(std::uint64_t seq, std::string_view digest) {
  if (final_) return;
  if (gap_pending_) {
    if (seq == gap_seq_) {
      report_.finding = AuditFinding::kReordered;
      report_.first_bad_seq = gap_seq_;
      report_.message = "seq " + std::to_string(gap_seq_) + " is out of order";
      gap_pending_ = false;
      final_ = true;
    }
    return;
  }
  if (!started_) {
    Fail(AuditFinding::kEdited, seq, "a proof link cannot start the chain");
    return;
  }
  if (!IsLowerHex64(digest)) {
    Fail(AuditFinding::kEdited, expected_seq_,
         "link at seq " + std::to_string(expected_seq_) + " has a malformed digest");
    return;
  }
  if (seq == expected_seq_) {
    ++report_.links;
    Accept(seq, AuditLinkHash(head_hash_, digest));
    return;
  }
  if (seq > expected_seq_) {
    gap_pending_ = true;
    gap_seq_ = expected_seq_;
    gap_message_ = "link " + std::to_string(seq) + " appears where it belongs";
    return;
  }
  Fail(AuditFinding::kReordered, expected_seq_,
       "seq " + std::to_string(seq) + " appears where seq " + std::to_string(expected_seq_) +
           " belongs");
}

void AuditChainVerifier::AddTornTail(std::string_view chunk) {
  if (final_ || gap_pending_ || chunk.empty()) return;
  AuditRecord record;
  if (chunk.size() > 1 && ParseAuditLine(chunk.substr(0, chunk.size() - 1), &record).ok()) {
    Fail(AuditFinding::kEdited, expected_seq_,
         "record at seq " + std::to_string(expected_seq_) +
             " ends with a stray byte instead of its newline");
    return;
  }
  report_.torn_tail_bytes = chunk.size();
}

void AuditChainVerifier::ReportCorruptArchive(std::uint64_t seq, std::string message) {
  if (final_) return;
  if (gap_pending_) {
    report_.finding = AuditFinding::kDeleted;
    report_.first_bad_seq = gap_seq_;
    report_.message = "seq " + std::to_string(gap_seq_) +
                      " is missing (a later archive segment is corrupt, so it may lie there)";
    gap_pending_ = false;
    final_ = true;
    return;
  }
  Fail(AuditFinding::kCorruptArchive, seq, std::move(message));
}

AuditVerifyReport AuditChainVerifier::Finish() {
  if (gap_pending_) {
    gap_pending_ = false;
    report_.first_bad_seq = gap_seq_;
    if (gap_seq_ <= claimed_purged_through_) {
      // A purge recorded in the chain removed these seqs, but the manifest
      // that should prove their boundaries does not have them.
      report_.finding = AuditFinding::kBadPurgeManifest;
      report_.message = "seqs " + std::to_string(gap_seq_) + "-" +
                        std::to_string(claimed_purged_through_) +
                        " were purged (ARCHIVE_PURGED record at seq " +
                        std::to_string(claimed_purge_record_) +
                        ") but the purge manifest does not account for them (it was truncated or "
                        "removed)";
    } else {
      report_.finding = AuditFinding::kDeleted;
      report_.message = "seq " + std::to_string(gap_seq_) + " is missing";
    }
    final_ = true;
  }
  if (report_.finding == AuditFinding::kOk) {
    std::uint64_t beyond_ok = 0, beyond_bad = 0;
    for (const auto& [seq, state] : checkpoints_) {
      if (seq <= report_.last_seq) continue;
      if (state.mac_ok && beyond_ok == 0) beyond_ok = seq;
      if (!state.mac_ok && beyond_bad == 0) beyond_bad = seq;
    }
    if (beyond_ok != 0) {
      report_.finding = AuditFinding::kTruncated;
      report_.first_bad_seq = report_.last_seq + 1;
      report_.message = "the chain ends at seq " + std::to_string(report_.last_seq) +
                        " but a checkpoint covers seq " + std::to_string(beyond_ok);
    } else if (beyond_bad != 0) {
      report_.finding = AuditFinding::kBadCheckpoint;
      report_.first_bad_seq = beyond_bad;
      report_.message = "checkpoint at seq " + std::to_string(beyond_bad) +
                        " fails its MAC and lies beyond the end of the chain";
    }
  }
  report_.head_hash = head_hash_;
  final_ = true;
  return report_;
}

}  // namespace lifeline
