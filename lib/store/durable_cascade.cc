// durable_cascade.cc -- see durable_cascade.hpp.
#include "store/durable_cascade.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <unordered_set>
#include <utility>

#include "absl/strings/escaping.h"

namespace lifeline {
namespace {

enum JournalKind : int {
  kTrigger = 1,
  kTake = 2,
  kSendResult = 3,
  kReceipt = 4,
  kProviderReceipt = 5,
  kAck = 6,
  kClose = 7,
  kTimer = 8,
};

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE cascade_meta(
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE cascade_journal(
  seq     INTEGER PRIMARY KEY,
  kind    INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  id      INTEGER NOT NULL DEFAULT 0,
  code    INTEGER NOT NULL DEFAULT 0,
  ref     TEXT,
  extra   INTEGER NOT NULL DEFAULT 0,
  payload TEXT
);
CREATE TABLE cascade_messages(
  message_id   INTEGER PRIMARY KEY,
  incident_id  TEXT NOT NULL,
  member_id    TEXT NOT NULL,
  channel      TEXT NOT NULL,
  endpoint     TEXT NOT NULL,
  state        TEXT NOT NULL CHECK(state IN ('sending','sent','failed','throttled','abandoned')),
  claimed_at   INTEGER NOT NULL,
  resends      INTEGER NOT NULL DEFAULT 0,
  provider_ref TEXT,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX cascade_messages_sending ON cascade_messages(state) WHERE state = 'sending';
)sql";

// v2: replies after a restart and single-use ack links (see the header).
// Hashes are hex (TEXT): the statement binder has no BLOB form.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE cascade_addresses(
  address_hash TEXT NOT NULL,
  message_id   INTEGER NOT NULL,
  claimed_at   INTEGER NOT NULL,
  PRIMARY KEY(address_hash, message_id)
) WITHOUT ROWID;
CREATE TABLE cascade_secrets(
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE cascade_ack_redemptions(
  token_hash  TEXT PRIMARY KEY,
  expires_at  INTEGER NOT NULL,
  redeemed_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX cascade_ack_redemptions_expiry ON cascade_ack_redemptions(expires_at);
)sql";

const SqliteSchema& CascadeSchema() {
  static const SqliteSchema* schema =
      new SqliteSchema{DurableCascade::kApplicationId, {{1, kSchemaV1}, {2, kSchemaV2}}};
  return *schema;
}

constexpr std::size_t kAddressKeySize = 32;

// The address hash is HMAC-SHA256 truncated to 128 bits: far beyond any
// chance of two numbers colliding, and half the index.
constexpr std::size_t kAddressHashSize = 16;

bool HasPhoneAddress(Channel c) { return c == Channel::kSms || c == Channel::kVoice; }

std::string Hex(const unsigned char* data, std::size_t size) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(data), size));
}

void FreeMacCtx(EVP_MAC_CTX* ctx) { EVP_MAC_CTX_free(ctx); }

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string Minute(int m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", (m / 60) % 100, m % 60);
  return buf;
}

void WriteMember(Writer& w, const StakeholderMember& m) {
  w.StartObject();
  WriteString(w, "id", m.id);
  w.Key("channels");
  w.StartArray();
  for (Channel c : m.channels) w.String(ChannelName(c));
  w.EndArray();
  w.Key("addresses");
  w.StartObject();
  for (int i = 0; i < kChannelCount; ++i) {
    const std::string& a = m.addresses[static_cast<std::size_t>(i)];
    if (!a.empty()) WriteString(w, ChannelName(static_cast<Channel>(i)), a);
  }
  w.EndObject();
  w.Key("tier");
  w.Int(m.tier);
  WriteString(w, "timeZone", m.time_zone);
  if (m.quiet_hours.enabled()) {
    w.Key("quietHours");
    w.StartObject();
    WriteString(w, "start", Minute(m.quiet_hours.start_minute));
    WriteString(w, "end", Minute(m.quiet_hours.end_minute));
    w.EndObject();
  }
  w.EndObject();
}

std::string Stringify(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  v.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// One live directory lookup made during a Trigger.
struct RecordedLookup {
  std::string member_id;
  bool ok = false;
  std::string member_json;   // ok: the record, in directory JSON
  int code = 0;              // !ok: the status
  std::string message;
};

}  // namespace

// Sits between the engine and the host's directory provider and sink: records
// lookups while live, plays them back (and silences events) while replaying.
struct DurableCascade::Recorder : public DirectoryProvider, public CascadeEventSink {
  DirectoryProvider* live = nullptr;
  CascadeEventSink* sink = nullptr;
  bool replaying = false;
  bool reemit = false;          // replaying an entry after the audit watermark
  std::int64_t reemitted = 0;
  std::vector<RecordedLookup> recorded;     // live: this trigger's lookups
  std::deque<RecordedLookup> playback;      // replay: the journaled lookups

  Result<StakeholderMember> Lookup(const std::string& member_id, DurationMillis timeout) override {
    if (replaying) {
      if (playback.empty() || playback.front().member_id != member_id) {
        return Unavailable("journal has no recorded lookup for this member");
      }
      RecordedLookup l = std::move(playback.front());
      playback.pop_front();
      if (!l.ok) return Status(static_cast<StatusCode>(l.code), l.message);
      auto dir = StakeholderDirectory::FromJson("{\"members\":[" + l.member_json + "]}");
      if (!dir.ok()) return dir.status();
      const StakeholderMember* m = dir->FindMember(member_id);
      if (m == nullptr) return Unavailable("journaled lookup lost its member");
      return *m;
    }
    Result<StakeholderMember> r = live->Lookup(member_id, timeout);
    RecordedLookup l;
    l.member_id = member_id;
    l.ok = r.ok();
    if (r.ok()) {
      rapidjson::StringBuffer buffer;
      Writer w(buffer);
      WriteMember(w, *r);
      l.member_json.assign(buffer.GetString(), buffer.GetSize());
    } else {
      l.code = static_cast<int>(r.status().code());
      l.message = r.status().message();
    }
    recorded.push_back(std::move(l));
    return r;
  }

  void OnEvent(const CascadeEvent& event) override {
    if (sink == nullptr) return;
    if (!replaying) {
      sink->OnEvent(event);
    } else if (reemit) {
      CascadeEvent recovered = event;
      recovered.recovered = true;
      sink->OnEvent(recovered);
      ++reemitted;
    }
  }
};

namespace {

std::string TriggerJson(const CascadeTrigger& t, const std::vector<RecordedLookup>& lookups) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  WriteString(w, "incidentId", t.incident_id);
  w.Key("severity");
  w.Int(static_cast<int>(t.severity));
  WriteString(w, "group", t.stakeholder_group_id);
  WriteString(w, "template", t.message_template);
  w.Key("timestamp");
  w.Int64(t.timestamp);
  w.Key("variables");
  w.StartArray();
  for (const auto& v : t.variables) {
    w.StartArray();
    w.String(v.first.c_str(), static_cast<rapidjson::SizeType>(v.first.size()));
    w.String(v.second.c_str(), static_cast<rapidjson::SizeType>(v.second.size()));
    w.EndArray();
  }
  w.EndArray();
  w.Key("lookups");
  w.StartArray();
  for (const RecordedLookup& l : lookups) {
    w.StartObject();
    WriteString(w, "id", l.member_id);
    w.Key("ok");
    w.Bool(l.ok);
    if (l.ok) {
      w.Key("member");
      w.RawValue(l.member_json.c_str(), l.member_json.size(), rapidjson::kObjectType);
    } else {
      w.Key("code");
      w.Int(l.code);
      WriteString(w, "message", l.message);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Status ParseTriggerJson(const std::string& json, CascadeTrigger* t, std::deque<RecordedLookup>* lookups) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  if (d.HasParseError() || !d.IsObject()) return StateError("journal: unreadable trigger entry");
  auto str = [&](const char* k) -> std::string {
    auto it = d.FindMember(k);
    return it != d.MemberEnd() && it->value.IsString()
               ? std::string(it->value.GetString(), it->value.GetStringLength())
               : std::string();
  };
  t->incident_id = str("incidentId");
  t->stakeholder_group_id = str("group");
  t->message_template = str("template");
  auto sev = d.FindMember("severity");
  auto ts = d.FindMember("timestamp");
  auto vars = d.FindMember("variables");
  auto looks = d.FindMember("lookups");
  if (sev == d.MemberEnd() || !sev->value.IsInt() || ts == d.MemberEnd() || !ts->value.IsInt64() ||
      vars == d.MemberEnd() || !vars->value.IsArray() || looks == d.MemberEnd() ||
      !looks->value.IsArray()) {
    return StateError("journal: incomplete trigger entry");
  }
  t->severity = static_cast<Severity>(sev->value.GetInt());
  t->timestamp = ts->value.GetInt64();
  for (const auto& v : vars->value.GetArray()) {
    if (!v.IsArray() || v.Size() != 2 || !v[0].IsString() || !v[1].IsString()) {
      return StateError("journal: bad trigger variable");
    }
    t->variables.emplace_back(v[0].GetString(), v[1].GetString());
  }
  for (const auto& l : looks->value.GetArray()) {
    RecordedLookup k;
    if (!l.IsObject() || !l.HasMember("id") || !l["id"].IsString() || !l.HasMember("ok")) {
      return StateError("journal: bad recorded lookup");
    }
    k.member_id = l["id"].GetString();
    k.ok = l["ok"].IsTrue();
    if (k.ok) {
      if (!l.HasMember("member")) return StateError("journal: bad recorded lookup");
      k.member_json = Stringify(l["member"]);
    } else {
      k.code = l.HasMember("code") && l["code"].IsInt() ? l["code"].GetInt()
                                                          : static_cast<int>(StatusCode::kUnavailable);
      k.message = l.HasMember("message") && l["message"].IsString() ? l["message"].GetString() : "";
    }
    lookups->push_back(std::move(k));
  }
  return Status::Ok();
}

const char* SendStateName(SendResult::Kind k) {
  switch (k) {
    case SendResult::Kind::kAccepted:
    case SendResult::Kind::kDelivered: return "sent";
    case SendResult::Kind::kThrottled: return "throttled";
    case SendResult::Kind::kFailed:
    case SendResult::Kind::kUnreachable: return "failed";
  }
  return "sent";
}

}  // namespace

DurableCascade::~DurableCascade() {
  if (!pending_addresses_.empty() && db_ != nullptr && Ensure().ok()) {
    Status s = FlushAddressHashes();   // on failure the next Open refills them
    (void)s;
  }
  if (tx_.has_value()) {
    Status s = tx_->Commit();
    (void)s;
    tx_.reset();
  }
  engine_.reset();
}

Result<std::unique_ptr<DurableCascade>> DurableCascade::Open(DurableCascadeOptions options,
                                                             const StakeholderDirectory* directory,
                                                             DirectoryProvider* provider,
                                                             CascadeEventSink* sink, UnixMillis now) {
  if (directory == nullptr) return InvalidArgument("directory must not be null");
  std::unique_ptr<DurableCascade> self(new DurableCascade());
  self->options_ = std::move(options);
  self->directory_ = directory;
  auto db = SqliteDatabase::Open(self->options_.database);
  if (!db.ok()) return db.status();
  self->db_ = std::move(*db);
  Status s = self->db_->Migrate(CascadeSchema());
  if (!s.ok()) return s;

  // The engine's epoch: the first open's `now`.
  UnixMillis epoch = now;
  {
    auto q = self->db_->Prepare("SELECT value FROM cascade_meta WHERE key = 'created_at'",
                                "cascade open");
    if (!q.ok()) return q.status();
    auto row = q->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      epoch = q->ColumnInt64(0);
    } else {
      // A new file: every event from here on goes through the watermark.
      auto ins = self->db_->Prepare(
          "INSERT INTO cascade_meta(key, value) VALUES('created_at', ?1), ('audited_through', 0)",
          "cascade open");
      if (!ins.ok()) return ins.status();
      ins->Bind(1, std::int64_t{now});
      s = ins->Run();
      if (!s.ok()) return s;
    }
  }
  self->last_at_ = epoch;
  s = self->LoadAddressKey();
  if (!s.ok()) return s;
  self->recorder_ = std::make_unique<Recorder>();
  self->recorder_->live = provider;
  self->recorder_->sink = sink;
  self->engine_ = std::make_unique<CascadeEngine>(self->options_.config, directory,
                                                  provider != nullptr ? self->recorder_.get() : nullptr,
                                                  self->recorder_.get(), epoch);
  s = self->Replay();
  if (!s.ok()) return s;
  return self;
}

Status DurableCascade::Replay() {
  recorder_->replaying = true;
  struct Restore {
    Recorder* r;
    ~Restore() { r->replaying = false; }
  } restore{recorder_.get()};

  // Messages handed out and still 'sending' in the ledger.
  std::unordered_set<std::uint64_t> sending;
  {
    auto q = db_->Prepare("SELECT message_id FROM cascade_messages WHERE state = 'sending'",
                          "cascade replay");
    if (!q.ok()) return q.status();
    for (;;) {
      auto row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      sending.insert(static_cast<std::uint64_t>(q->ColumnInt64(0)));
    }
  }
  stats_.unknown_outcomes = static_cast<std::int64_t>(sending.size());

  // Takes after the watermark may have phone messages missing from
  // cascade_addresses (a crash before their batch was written, or a
  // version-1 file): the replay re-derives them, addresses included.
  auto meta = [this](const char* key) -> Result<std::optional<std::int64_t>> {
    auto q = db_->Prepare("SELECT value FROM cascade_meta WHERE key = ?1", "cascade replay");
    if (!q.ok()) return q.status();
    q->Bind(1, std::string_view(key));
    auto row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(q->ColumnInt64(0));
  };
  auto indexed = meta("addresses_through");
  if (!indexed.ok()) return indexed.status();
  const std::int64_t indexed_through = indexed->value_or(0);
  // No watermark: a file from before it existed, whose events were handled
  // by the host of that time. Start it at the end rather than re-emit all.
  auto audited = meta("audited_through");
  if (!audited.ok()) return audited.status();
  const bool legacy = !audited->has_value();
  audited_through_ = audited->value_or(std::numeric_limits<std::int64_t>::max());
  std::int64_t last_take = 0;
  // One transaction for whatever the replay writes (address rows, the
  // watermark), opened before the journal is read.
  {
    Status s = Ensure();
    if (!s.ok()) return s;
  }

  auto q = db_->Prepare(
      "SELECT seq, kind, at, id, code, ref, extra, payload FROM cascade_journal ORDER BY seq",
      "cascade replay");
  if (!q.ok()) return q.status();
  std::int64_t n = 0;
  for (;;) {
    auto row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ++n;
    const std::int64_t seq = q->ColumnInt64(0);
    recorder_->reemit = seq > audited_through_;
    appended_seq_ = seq;
    const int kind = static_cast<int>(q->ColumnInt64(1));
    const UnixMillis at = q->ColumnInt64(2);
    const std::int64_t id = q->ColumnInt64(3);
    const std::int64_t code = q->ColumnInt64(4);
    const std::string ref = q->ColumnText(5);
    const std::int64_t extra = q->ColumnInt64(6);
    if (at > last_at_) last_at_ = at;
    switch (kind) {
      case kTrigger: {
        CascadeTrigger t;
        recorder_->playback.clear();
        Status s = ParseTriggerJson(q->ColumnText(7), &t, &recorder_->playback);
        if (!s.ok()) return s;
        (void)engine_->Trigger(t, at);
        break;
      }
      case kTake: {
        std::vector<OutboundMessage> out = engine_->TakeOutbound(at);
        if (static_cast<std::int64_t>(out.size()) != code ||
            (!out.empty() && static_cast<std::int64_t>(out.front().message_id) != id)) {
          return StateError("journal replay diverged at entry " + std::to_string(q->ColumnInt64(0)) +
                            " (was the config or the directory changed?)");
        }
        last_take = q->ColumnInt64(0);
        if (last_take > indexed_through) {
          for (const OutboundMessage& m : out) {
            Status s = IndexAddress(AddressHash(m), m.message_id, at);
            if (!s.ok()) return s;
          }
        }
        // A message re-taken after a 429 replaces its earlier copy.
        for (OutboundMessage& m : out) {
          if (sending.count(m.message_id) != 0) unknown_[m.message_id] = std::move(m);
        }
        break;
      }
      case kSendResult: {
        SendResult r;
        r.kind = static_cast<SendResult::Kind>(code);
        r.provider_ref = ref;
        r.retry_after_ms = extra;
        (void)engine_->OnSendResult(static_cast<std::uint64_t>(id), r, at);
        break;
      }
      case kReceipt:
        (void)engine_->OnReceipt(static_cast<std::uint64_t>(id), static_cast<AttemptStatus>(code), at);
        break;
      case kProviderReceipt:
        (void)engine_->OnProviderReceipt(ref, static_cast<AttemptStatus>(code), at);
        break;
      case kAck: {
        std::optional<Channel> ch;
        if (code >= 0) ch = static_cast<Channel>(code);
        (void)engine_->Acknowledge(ref, q->ColumnText(7), ch, at);
        break;
      }
      case kClose:
        (void)engine_->CloseIncident(ref, at);
        break;
      case kTimer:
        engine_->OnTimer(at);
        break;
      default:
        return StateError("journal: unknown entry kind " + std::to_string(kind));
    }
  }
  stats_.replayed_entries = n;
  stats_.journal_entries = n;
  stats_.recovered_events = recorder_->reemitted;
  last_take_seq_ = last_take;
  journal_seq_ = appended_seq_;
  if (legacy) {
    audited_through_ = journal_seq_;
    Status s = SetMeta("audited_through", audited_through_);
    if (!s.ok()) return s;
  }
  if (last_take > indexed_through) {
    Status s = SetIndexedThrough(last_take);
    if (!s.ok()) return s;
  }
  return Finish();
}

Status DurableCascade::IndexAddress(const std::string& hash, std::uint64_t message_id, UnixMillis claimed_at) {
  if (hash.empty()) return Status::Ok();
  Status s = Ensure();
  if (!s.ok()) return s;
  // OR IGNORE: a re-take after a 429 keeps its first claim's time.
  auto ins = db_->Prepare(
      "INSERT OR IGNORE INTO cascade_addresses(address_hash, message_id, claimed_at) VALUES(?1, ?2, ?3)",
      "cascade address index");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, hash).Bind(2, static_cast<std::int64_t>(message_id)).Bind(3, std::int64_t{claimed_at});
  return ins->Run();
}

Status DurableCascade::SetIndexedThrough(std::int64_t seq) { return SetMeta("addresses_through", seq); }

Status DurableCascade::SetMeta(const char* key, std::int64_t value) {
  Status s = Ensure();
  if (!s.ok()) return s;
  auto up = db_->Prepare(
      "INSERT INTO cascade_meta(key, value) VALUES(?1, ?2) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      "cascade meta");
  if (!up.ok()) return up.status();
  up->Bind(1, std::string_view(key)).Bind(2, value);
  return up->Run();
}

Status DurableCascade::MarkAudited(std::int64_t seq) {
  seq = std::min(seq, journal_seq_);
  if (seq <= audited_through_) return Status::Ok();
  Status s = SetMeta("audited_through", seq);
  if (s.ok()) s = Finish();
  if (!s.ok()) return s;
  audited_through_ = seq;
  return Status::Ok();
}

Status DurableCascade::LoadAddressKey() {
  std::string file_key;
  {
    auto q = db_->Prepare("SELECT value FROM cascade_secrets WHERE name = 'address_key'", "cascade open");
    if (!q.ok()) return q.status();
    auto row = q->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      std::string hex = q->ColumnText(0);
      if (hex.size() != 2 * kAddressKeySize || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return StateError("cascade open: unreadable address key");
      }
      file_key = absl::HexStringToBytes(hex);
    }
  }
  if (file_key.empty()) {
    unsigned char fresh[kAddressKeySize];
    if (RAND_bytes(fresh, sizeof fresh) != 1) {
      ERR_clear_error();
      return Status(StatusCode::kIo, "cascade open: no random bytes for the address key");
    }
    file_key.assign(reinterpret_cast<const char*>(fresh), sizeof fresh);
    auto ins = db_->Prepare("INSERT INTO cascade_secrets(name, value) VALUES('address_key', ?1)",
                            "cascade open");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, Hex(fresh, sizeof fresh));
    Status s = ins->Run();
    if (!s.ok()) return s;
  }
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                         EVP_MAC_free);
  auto keyed = [&](std::string_view key) -> EVP_MAC_CTX* {
    EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac.get()) : nullptr;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (ctx != nullptr &&
        EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) == 1) {
      return ctx;
    }
    EVP_MAC_CTX_free(ctx);
    return nullptr;
  };
  std::string key = file_key;
  if (!options_.address_key.empty()) {
    // key = HMAC-SHA256(address_key, per-file key)
    std::unique_ptr<EVP_MAC_CTX, decltype(&FreeMacCtx)> outer(keyed(options_.address_key), FreeMacCtx);
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (!outer || EVP_MAC_update(outer.get(), reinterpret_cast<const unsigned char*>(file_key.data()),
                                 file_key.size()) != 1 ||
        EVP_MAC_final(outer.get(), out, &len, sizeof out) != 1) {
      ERR_clear_error();
      return InternalError("cascade open: HMAC-SHA256 unavailable");
    }
    key.assign(reinterpret_cast<const char*>(out), len);
  }
  address_mac_.reset(keyed(key), FreeMacCtx);
  if (!address_mac_) {
    ERR_clear_error();
    return InternalError("cascade open: HMAC-SHA256 unavailable");
  }
  return Status::Ok();
}

std::string DurableCascade::AddressHash(std::string_view address) const {
  std::unique_ptr<EVP_MAC_CTX, decltype(&FreeMacCtx)> ctx(EVP_MAC_CTX_dup(address_mac_.get()), FreeMacCtx);
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (!ctx ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(address.data()), address.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out, &len, sizeof out) != 1 || len < kAddressHashSize) {
    ERR_clear_error();
    return "";   // matches nothing (callers bind "" as NULL)
  }
  return Hex(out, kAddressHashSize);
}

std::string DurableCascade::AddressHash(const OutboundMessage& m) const {
  if (!HasPhoneAddress(m.channel) || m.address.empty()) return "";
  return AddressHash(std::string_view(m.address));
}

Status DurableCascade::FlushAddressHashes() {
  if (pending_addresses_.empty()) return Status::Ok();
  // In key order: each index page is visited once, in sequence.
  std::vector<std::pair<const std::string*, std::uint64_t>> order;
  order.reserve(pending_addresses_.size());
  for (const auto& [id, p] : pending_addresses_) order.emplace_back(&p.hash, id);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    int c = a.first->compare(*b.first);
    return c != 0 ? c < 0 : a.second < b.second;
  });
  for (const auto& [hash, id] : order) {
    Status s = IndexAddress(*hash, id, pending_addresses_.at(id).claimed_at);
    if (!s.ok()) return s;
  }
  // Every take so far has its phone messages in the table now.
  Status s = SetIndexedThrough(last_take_seq_);
  if (!s.ok()) return s;
  pending_addresses_.clear();
  pending_by_hash_.clear();
  return Status::Ok();
}

Result<AddressRecipients> DurableCascade::RecipientsOf(std::string_view address) {
  std::string hash = address.empty() ? std::string() : AddressHash(address);
  if (hash.empty()) return NotFound("no message was sent to this address");
  struct Sent {
    UnixMillis claimed_at;
    std::uint64_t message_id;
    std::string incident_id;
    std::string member_id;
  };
  std::vector<Sent> sent;
  auto q = db_->Prepare(
      "SELECT a.claimed_at, a.message_id, m.incident_id, m.member_id FROM cascade_addresses a "
      "JOIN cascade_messages m ON m.message_id = a.message_id WHERE a.address_hash = ?1",
      "cascade recipients");
  if (!q.ok()) return q.status();
  q->Bind(1, hash);
  for (;;) {
    auto row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    sent.push_back({q->ColumnInt64(0), static_cast<std::uint64_t>(q->ColumnInt64(1)), q->ColumnText(2),
                    q->ColumnText(3)});
  }
  auto pending = pending_by_hash_.find(hash);
  if (pending != pending_by_hash_.end()) {
    for (std::uint64_t id : pending->second) {
      const PendingAddress& p = pending_addresses_.at(id);
      sent.push_back({p.claimed_at, id, p.incident_id, p.member_id});
    }
  }
  if (sent.empty()) return NotFound("no message was sent to this address");
  std::stable_sort(sent.begin(), sent.end(), [](const Sent& a, const Sent& b) {
    return a.claimed_at != b.claimed_at ? a.claimed_at > b.claimed_at : a.message_id > b.message_id;
  });
  AddressRecipients r;
  r.last_incident_id = sent.front().incident_id;
  for (Sent& m : sent) r.member_by_incident.emplace(std::move(m.incident_id), std::move(m.member_id));   // latest wins
  return r;
}

Status DurableCascade::AcknowledgeOnce(std::string_view token_id, UnixMillis expires_at,
                                       std::string_view incident_id, std::string_view member_id,
                                       std::optional<Channel> channel, UnixMillis now) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(token_id.data(), token_id.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    return InternalError("ack token: SHA-256 unavailable");
  }
  const std::string token_hash = Hex(digest, digest_len);
  Status s = Ensure();
  if (!s.ok()) return s;
  {
    auto prune = db_->Prepare("DELETE FROM cascade_ack_redemptions WHERE expires_at < ?1",
                              "cascade ack redemption");
    if (!prune.ok()) return prune.status();
    prune->Bind(1, std::int64_t{now});
    s = prune->Run();
    if (!s.ok()) return s;
  }
  bool used = false;
  {
    auto q = db_->Prepare("SELECT 1 FROM cascade_ack_redemptions WHERE token_hash = ?1",
                          "cascade ack redemption");
    if (!q.ok()) return q.status();
    q->Bind(1, token_hash);
    auto row = q->Step();
    if (!row.ok()) return row.status();
    used = *row;
  }
  if (used) {
    s = Finish();
    if (!s.ok()) return s;
    return Status(StatusCode::kDuplicate, "ack token: already used");
  }
  Status e = engine_->Acknowledge(incident_id, member_id, channel, now);
  if (!e.ok()) {
    s = Finish();   // the prune
    return s.ok() ? e : s;
  }
  s = Append(kAck, now, 0, channel.has_value() ? static_cast<std::int64_t>(*channel) : -1, incident_id, 0,
             member_id);
  if (s.ok()) {
    auto ins = db_->Prepare(
        "INSERT INTO cascade_ack_redemptions(token_hash, expires_at, redeemed_at) VALUES(?1, ?2, ?3)",
        "cascade ack redemption");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, token_hash).Bind(2, std::int64_t{expires_at}).Bind(3, std::int64_t{now});
    s = ins->Run();
  }
  if (s.ok()) s = Finish();
  return s;
}

Status DurableCascade::Ensure() {
  if (tx_.has_value()) return Status::Ok();
  auto tx = SqliteTransaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  tx_.emplace(std::move(*tx));
  return Status::Ok();
}

Status DurableCascade::Finish() {
  if (batch_ || !tx_.has_value()) return Status::Ok();
  Status s = tx_->Commit();
  tx_.reset();
  ++stats_.commits;
  // Only what committed counts for the audit watermark (a failed commit's
  // rows are gone, and their seqs will be reused).
  if (s.ok()) journal_seq_ = appended_seq_;
  else appended_seq_ = journal_seq_;
  return s;
}

Status DurableCascade::BeginBatch() {
  if (batch_) return StateError("a batch is already open");
  Status s = Ensure();
  if (!s.ok()) return s;
  batch_ = true;
  return Status::Ok();
}

Status DurableCascade::CommitBatch() {
  if (!batch_) return StateError("no batch is open");
  batch_ = false;
  return Finish();
}

Status DurableCascade::Append(int kind, UnixMillis at, std::int64_t id, std::int64_t code,
                              std::string_view ref, std::int64_t extra, std::string_view payload) {
  Status s = Ensure();
  if (!s.ok()) return s;
  auto ins = db_->Prepare(
      "INSERT INTO cascade_journal(kind, at, id, code, ref, extra, payload) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
      "cascade journal");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, std::int64_t{kind}).Bind(2, std::int64_t{at}).Bind(3, id).Bind(4, code);
  if (ref.empty()) ins->BindNull(5); else ins->Bind(5, ref);
  ins->Bind(6, extra);
  if (payload.empty()) ins->BindNull(7); else ins->Bind(7, payload);
  s = ins->Run();
  if (!s.ok()) return s;
  if (at > last_at_) last_at_ = at;
  ++stats_.journal_entries;
  appended_seq_ = sqlite3_last_insert_rowid(db_->handle());
  return Status::Ok();
}

Result<TriggerResult> DurableCascade::Trigger(const CascadeTrigger& trigger, UnixMillis now) {
  recorder_->recorded.clear();
  Result<TriggerResult> r = engine_->Trigger(trigger, now);
  if (!r.ok()) return r;
  if (!r->duplicate) {
    Status s = Append(kTrigger, now, 0, 0, trigger.incident_id, 0,
                      TriggerJson(trigger, recorder_->recorded));
    if (s.ok()) s = Finish();
    if (!s.ok()) return s;
  }
  recorder_->recorded.clear();
  return r;
}

Result<std::vector<ClaimedMessage>> DurableCascade::TakeOutbound(UnixMillis now) {
  std::vector<OutboundMessage> out = engine_->TakeOutbound(now);
  std::vector<ClaimedMessage> claimed;
  if (out.empty()) return claimed;
  Status s = Append(kTake, now, static_cast<std::int64_t>(out.front().message_id),
                    static_cast<std::int64_t>(out.size()), "", 0, "");
  if (!s.ok()) return s;
  last_take_seq_ = appended_seq_;   // this take's journal seq
  claimed.reserve(out.size());
  for (OutboundMessage& m : out) {
    bool fresh = false;
    {
      auto stmt = db_->Prepare(
          "INSERT INTO cascade_messages(message_id, incident_id, member_id, channel, endpoint, "
          "state, claimed_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, 'sending', ?6, ?6) "
          "ON CONFLICT(message_id) DO NOTHING",
          "cascade claim");
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, static_cast<std::int64_t>(m.message_id))
          .Bind(2, m.incident_id)
          .Bind(3, m.member_id)
          .Bind(4, std::string_view(ChannelName(m.channel)))
          .Bind(5, m.endpoint)
          .Bind(6, std::int64_t{now});
      s = stmt->Run();
      if (!s.ok()) return s;
      fresh = db_->Changes() > 0;
    }
    if (!fresh) {
      // Re-taken after a 429: 'sending' again; its first claim's time and
      // address hash stay.
      auto up = db_->Prepare(
          "UPDATE cascade_messages SET state = 'sending', updated_at = ?2 WHERE message_id = ?1",
          "cascade claim");
      if (!up.ok()) return up.status();
      up->Bind(1, static_cast<std::int64_t>(m.message_id)).Bind(2, std::int64_t{now});
      s = up->Run();
      if (!s.ok()) return s;
    } else if (HasPhoneAddress(m.channel)) {
      std::string hash = AddressHash(m);
      if (!hash.empty()) {
        pending_by_hash_[hash].push_back(m.message_id);
        pending_addresses_.emplace(m.message_id, PendingAddress{std::move(hash), now, m.incident_id, m.member_id});
      }
    }
    claimed.push_back(ClaimedMessage{std::move(m), false});
  }
  if (pending_addresses_.size() >= std::max<std::size_t>(options_.address_hash_batch, 1)) {
    s = FlushAddressHashes();   // committed with the claims
    if (!s.ok()) return s;
  }
  // The claim must be on disk before the host POSTs: commit even in a batch.
  if (tx_.has_value()) {
    s = tx_->Commit();
    tx_.reset();
    ++stats_.commits;
    if (!s.ok()) return s;
    if (batch_) {
      s = Ensure();
      if (!s.ok()) return s;
    }
  }
  return claimed;
}

Status DurableCascade::SetMessageState(std::uint64_t id, const char* state, std::string_view ref,
                                       UnixMillis at) {
  auto up = db_->Prepare(
      "UPDATE cascade_messages SET state = ?2, provider_ref = ?3, updated_at = ?4 "
      "WHERE message_id = ?1",
      "cascade message state");
  if (!up.ok()) return up.status();
  up->Bind(1, static_cast<std::int64_t>(id)).Bind(2, std::string_view(state));
  if (ref.empty()) up->BindNull(3); else up->Bind(3, ref);
  up->Bind(4, std::int64_t{at});
  return up->Run();
}

Status DurableCascade::OnSendResult(std::uint64_t message_id, const SendResult& result,
                                    UnixMillis now) {
  Status e = engine_->OnSendResult(message_id, result, now);
  if (!e.ok()) return e;
  Status s = Append(kSendResult, now, static_cast<std::int64_t>(message_id),
                    static_cast<std::int64_t>(result.kind), result.provider_ref,
                    result.retry_after_ms, "");
  if (s.ok()) s = SetMessageState(message_id, SendStateName(result.kind), result.provider_ref, now);
  if (s.ok()) s = Finish();
  return s;
}

Status DurableCascade::OnReceipt(std::uint64_t message_id, AttemptStatus status, UnixMillis now) {
  Status e = engine_->OnReceipt(message_id, status, now);
  if (!e.ok()) return e;
  Status s = Append(kReceipt, now, static_cast<std::int64_t>(message_id),
                    static_cast<std::int64_t>(status), "", 0, "");
  if (s.ok()) s = Finish();
  return s;
}

Status DurableCascade::OnProviderReceipt(std::string_view provider_ref, AttemptStatus status,
                                         UnixMillis now) {
  Status e = engine_->OnProviderReceipt(provider_ref, status, now);
  if (!e.ok()) return e;
  Status s = Append(kProviderReceipt, now, 0, static_cast<std::int64_t>(status), provider_ref, 0, "");
  if (s.ok()) s = Finish();
  return s;
}

Status DurableCascade::Acknowledge(std::string_view incident_id, std::string_view member_id,
                                   std::optional<Channel> channel, UnixMillis now) {
  Status e = engine_->Acknowledge(incident_id, member_id, channel, now);
  if (!e.ok()) return e;
  Status s = Append(kAck, now, 0, channel.has_value() ? static_cast<std::int64_t>(*channel) : -1,
                    incident_id, 0, member_id);
  if (s.ok()) s = Finish();
  return s;
}

Status DurableCascade::CloseIncident(std::string_view incident_id, UnixMillis now) {
  Status e = engine_->CloseIncident(incident_id, now);
  if (!e.ok()) return e;
  Status s = Append(kClose, now, 0, 0, incident_id, 0, "");
  if (s.ok()) s = Finish();
  return s;
}

Status DurableCascade::OnTimer(UnixMillis now) {
  std::optional<UnixMillis> due = engine_->NextDeadline();
  if (!due.has_value() || *due > now) return Status::Ok();
  engine_->OnTimer(now);
  Status s = Append(kTimer, now, 0, 0, "", 0, "");
  if (s.ok()) s = Finish();
  return s;
}

Result<std::vector<ClaimedMessage>> DurableCascade::TakeUnknownOutcomes(UnixMillis now) {
  std::vector<ClaimedMessage> out;
  if (unknown_.empty()) return out;
  Status s = Ensure();
  if (!s.ok()) return s;
  for (auto& [id, m] : unknown_) {
    (void)id;
    std::int64_t resends = 0;
    {
      auto q = db_->Prepare("SELECT resends FROM cascade_messages WHERE message_id = ?1",
                            "cascade resend");
      if (!q.ok()) return q.status();
      q->Bind(1, static_cast<std::int64_t>(m.message_id));
      auto row = q->Step();
      if (!row.ok()) return row.status();
      if (*row) resends = q->ColumnInt64(0);
    }
    if (resends >= 1) {
      s = SetMessageState(m.message_id, "abandoned", "", now);
      if (!s.ok()) return s;
      ++stats_.abandoned;
      continue;
    }
    auto up = db_->Prepare(
        "UPDATE cascade_messages SET resends = resends + 1, updated_at = ?2 WHERE message_id = ?1",
        "cascade resend");
    if (!up.ok()) return up.status();
    up->Bind(1, static_cast<std::int64_t>(m.message_id)).Bind(2, std::int64_t{now});
    s = up->Run();
    if (!s.ok()) return s;
    ++stats_.resends;
    out.push_back(ClaimedMessage{std::move(m), true});
  }
  unknown_.clear();
  if (tx_.has_value()) {
    s = tx_->Commit();
    tx_.reset();
    ++stats_.commits;
    if (!s.ok()) return s;
    if (batch_) {
      s = Ensure();
      if (!s.ok()) return s;
    }
  }
  return out;
}

}  // namespace lifeline
