// AuditLog: group commit onto an AuditStore, PII protection, checkpoints,
// recovery on open, retention into archive segments, reads and exports.
#include "lifeline/audit_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <rapidjson/document.h>
#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "core/audit_content.hpp"
#include "core/audit_crypto.hpp"
#include "core/audit_json.hpp"
#include "lifeline/rfc3339.hpp"
#include "store/audit_archive.hpp"
#include "store/audit_store.hpp"

namespace lifeline {

using audit_internal::AesGcm;
using audit_internal::ArchiveIndex;
using audit_internal::AuditStore;
using audit_internal::HmacSha256;
using audit_internal::IndexRow;
using audit_internal::JsonWriter;
using audit_internal::SegmentFile;
using audit_internal::StringSink;

const char* PiiModeName(PiiMode mode) {
  switch (mode) {
    case PiiMode::kPlain: return "plain";
    case PiiMode::kPseudonymise: return "pseudonymise";
    case PiiMode::kEncrypt: return "encrypt";
  }
  return "unknown";
}

bool ParsePiiMode(std::string_view name, PiiMode* out) {
  for (PiiMode m : {PiiMode::kPlain, PiiMode::kPseudonymise, PiiMode::kEncrypt}) {
    if (name == PiiModeName(m)) {
      *out = m;
      return true;
    }
  }
  return false;
}

bool IsPrivilegedAuditRole(std::string_view role) {
  return role == "compliance_officer" || role == "bcp_admin";
}

bool AuditFilter::Matches(const AuditRecord& r) const {
  if (!incident_id.empty() && r.incident_id != incident_id) return false;
  if (!call_id.empty() && r.call_id != call_id) return false;
  return r.time >= from && r.time < to;
}

namespace {

constexpr std::size_t kMaxFieldBytes = 4096;
constexpr std::size_t kMaxDetailBytes = 16384;
constexpr std::size_t kMaxPiiFields = 32;
// Times a record can carry: 1970-01-01 to 9999-12-31 (four-digit years).
constexpr UnixMillis kMaxTime = kLatestUnixMillis;

bool IsUtf8(std::string_view text) {
  if (audit_internal::IsAscii(text)) return true;  // the common case, without decoding
  rapidjson::MemoryStream stream(text.data(), text.size());
  while (stream.Tell() < text.size()) {
    unsigned codepoint = 0;
    if (!rapidjson::UTF8<>::Decode(stream, &codepoint)) return false;
  }
  return true;
}

bool IsPiiName(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// The AES-GCM associated data of a per-field ciphertext (StoredPii::enc, the
// first record format, still read): binds it to its record's seq, its field
// name and its key id.
void PiiAad(std::uint64_t seq, std::string_view field, std::string_view kid, std::string* aad) {
  aad->assign("lifeline-audit/v1\n");
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, seq);
  (void)ec;
  aad->append(digits, static_cast<std::size_t>(end - digits));
  aad->push_back('\n');
  aad->append(field);
  aad->push_back('\n');
  aad->append(kid);
}

std::string PiiAad(std::uint64_t seq, std::string_view field, std::string_view kid) {
  std::string aad;
  PiiAad(seq, field, kid, &aad);
  return aad;
}

// The AES-GCM associated data of a record's sealed fields (pii_enc): binds
// the ciphertext to its record's seq and its key id. The field names are
// inside the authenticated plaintext.
void SealedAad(std::uint64_t seq, std::string_view kid, std::string* aad) {
  aad->assign("lifeline-audit/v2\n");
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, seq);
  (void)ec;
  aad->append(digits, static_cast<std::size_t>(end - digits));
  aad->push_back('\n');
  aad->append(kid);
}

Status MakeDirs(const std::string& dir) {
  if (dir.empty()) return InvalidArgument("dir must not be empty");
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return IoError("cannot create directory " + partial + ": " + std::strerror(errno));
    }
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return IoError(dir + " is not a directory");
  }
  return Status::Ok();
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Checkpoint MACs by key id, with the keys fetched once.
class CheckpointMacs {
 public:
  explicit CheckpointMacs(KeyProvider& keys) : keys_(keys) {}

  // Whether the checkpoint's MAC verifies. A key id the provider does not
  // know (or a malformed one) just fails the MAC; a provider that cannot be
  // reached is an error.
  Result<bool> Check(const AuditCheckpoint& cp) {
    return Check(cp.kid, AuditCheckpointMessage(cp.seq, cp.hash), cp.mac);
  }

  // The same for a purge manifest entry (same key: the checkpoint key).
  Result<bool> Check(const AuditPurgeEntry& entry) {
    return Check(entry.kid, AuditPurgeMessage(entry), entry.mac);
  }

  Result<bool> Check(const std::string& kid, const std::string& message, const std::string& mac) {
    auto it = macs_.find(kid);
    if (it == macs_.end()) {
      Result<SecretKey> key = keys_.GetKey(kid);
      if (!key.ok()) {
        if (key.status().code() == StatusCode::kNotFound ||
            key.status().code() == StatusCode::kInvalidArgument) {
          it = macs_.emplace(kid, nullptr).first;
        } else {
          return key.status();
        }
      } else {
        it = macs_.emplace(kid, std::make_unique<HmacSha256>(*key)).first;
      }
    }
    if (it->second == nullptr) return false;
    return ConstantTimeEqual(it->second->Hex(message), mac);
  }

 private:
  KeyProvider& keys_;
  std::map<std::string, std::unique_ptr<HmacSha256>> macs_;
};

struct DirLayout {
  std::string live;
  std::string checkpoints;
  std::string archive;
  std::string index;
  std::string purged;  // the purge manifest
  std::string lock;
};

DirLayout LayoutFor(const AuditLogOptions& o) {
  std::string dir = o.dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  DirLayout l;
  l.live = dir + (o.store == AuditStoreKind::kSqlite ? "/audit.db" : "/audit.log");
  l.checkpoints = dir + "/audit.checkpoints";
  l.archive = dir + "/archive";
  l.index = l.archive + "/index.sqlite";
  l.purged = l.archive + "/purged.jsonl";
  l.lock = dir + "/LOCK";
  return l;
}

std::unique_ptr<AuditStore> MakeStore(const AuditLogOptions& o, const DirLayout& l) {
  if (o.store == AuditStoreKind::kSqlite) return audit_internal::NewAuditSqliteStore(l.live);
  return audit_internal::NewAuditFileStore(l.live, o.file_ops);
}

// Feeds the checkpoint file into `verifier`. Returns an error only when a
// key provider cannot be reached or the file cannot be read.
Status FeedCheckpoints(const std::string& path, KeyProvider& keys, AuditChainVerifier* verifier,
                       std::vector<AuditCheckpoint>* parsed_out) {
  std::string data;
  Status s = audit_internal::ReadWholeFile(path, &data);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  if (!s.ok()) return s;
  std::vector<std::string_view> lines;
  std::string_view tail;
  audit_internal::SplitLines(data, &lines, &tail);
  CheckpointMacs macs(keys);
  std::uint64_t previous = 0;
  for (std::string_view line : lines) {
    AuditCheckpoint cp;
    bool ok = false;
    if (ParseAuditCheckpoint(line, &cp).ok()) {
      Result<bool> mac = macs.Check(cp);
      if (!mac.ok()) return mac.status();
      ok = *mac;
    } else {
      cp.seq = PeekAuditSeq(line);
      if (cp.seq == 0) cp.seq = previous + 1;
    }
    previous = cp.seq;
    verifier->AddCheckpoint(cp, ok);
    if (parsed_out != nullptr && ok) parsed_out->push_back(cp);
  }
  return Status::Ok();
}

// Reads the purge manifest: its complete lines, parsed, each with whether
// its MAC verifies (a line that does not parse comes back with `parsed`
// false and the parser's message). A missing manifest has no entries; an
// unterminated last line (a write cut by a crash) is not an entry.
struct ManifestLine {
  AuditPurgeEntry entry;
  bool parsed = false;
  bool mac_ok = false;
  std::string error;
};

Status ReadPurgeManifest(const std::string& path, KeyProvider& keys,
                         std::vector<ManifestLine>* out, std::size_t* complete_size) {
  out->clear();
  *complete_size = 0;
  std::string data;
  Status s = audit_internal::ReadWholeFile(path, &data);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  if (!s.ok()) return s;
  std::vector<std::string_view> lines;
  std::string_view tail;
  audit_internal::SplitLines(data, &lines, &tail);
  *complete_size = data.size() - tail.size();
  CheckpointMacs macs(keys);
  for (std::string_view line : lines) {
    ManifestLine item;
    Status parsed = ParseAuditPurgeEntry(line, &item.entry);
    item.parsed = parsed.ok();
    if (item.parsed) {
      Result<bool> mac = macs.Check(item.entry);
      if (!mac.ok()) return mac.status();
      item.mac_ok = *mac;
    } else {
      item.error = parsed.message();
    }
    out->push_back(std::move(item));
  }
  return Status::Ok();
}

// Whether a segment that is still on disk is exactly what a manifest entry
// says was purged (a purge interrupted before it deleted the file).
bool MatchesPurged(const SegmentFile& file, const AuditSegmentHeader& header,
                   const AuditPurgeEntry& entry) {
  const AuditSegmentHeader& h = entry.segment;
  return file.first_seq == h.first_seq && file.last_seq == h.last_seq &&
         header.first_seq == h.first_seq && header.last_seq == h.last_seq &&
         header.first_prev_hash == h.first_prev_hash && header.last_hash == h.last_hash;
}

// A record the log writes about itself (source "audit"): who (`role`) did
// what, and when.
AuditEvent OwnEvent(const std::string& role, UnixMillis now) {
  AuditEvent e;
  e.source = AuditSource::kAudit;
  e.time = std::clamp<UnixMillis>(now, 0, kMaxTime);
  e.subject = role;
  e.channel = "audit";
  return e;
}

}  // namespace

// ---------------------------------------------------------------------------

class AuditLog::Impl {
 public:
  explicit Impl(AuditLogOptions options) : opt(std::move(options)), layout(LayoutFor(opt)) {
    ops = opt.file_ops != nullptr ? opt.file_ops : audit_internal::DefaultAuditFileOps();
  }

  ~Impl() {
    if (cp_fd >= 0) ::close(cp_fd);
    if (lock_fd >= 0) ::close(lock_fd);
  }

  Status Init();
  // Appends `events`; on success `*first_seq` (when not NULL) is the seq of
  // the first.
  Status AppendEvents(const AuditEvent* events, std::size_t n, bool internal,
                      std::uint64_t* first_seq = nullptr);
  Status Flush();
  Status Close();
  Status RotateDataKey(std::string_view key_id);
  Result<AuditVerifyReport> Verify();
  Result<std::uint64_t> Archive(UnixMillis now);
  Result<AuditPurgeSummary> PurgeArchive(UnixMillis cutoff, const AuditReader& admin,
                                         UnixMillis now);
  Status Read(const AuditFilter& filter, const AuditReader& reader, UnixMillis now,
              const std::function<bool(const AuditView&)>& fn);
  Result<AuditExportSummary> Export(const AuditFilter& filter, const AuditReader& reader,
                                    UnixMillis now, const std::string& out_path);

  AuditLogOptions opt;
  DirLayout layout;
  AuditFileOps* ops = nullptr;

  // The append pipeline, under `mu`:
  //   reserve   next_seq hands each call its seqs (and the current data key);
  //   build     outside the lock, on any number of threads: PII protection,
  //             content, content digest;
  //   link      in seq order (link_seq), under the lock: prev_hash and hash,
  //             the complete lines go into the open batch;
  //   commit    one thread at a time (writing): write + fsync of the batch.
  // A failed commit bumps `epoch`: every call reserved before it fails too.
  mutable std::mutex mu;
  std::condition_variable cv;
  bool writing = false;  // one thread holds the writer role
  bool closed = false;
  bool broken = false;
  std::uint64_t next_seq = 1;   // next seq to reserve
  std::uint64_t link_seq = 1;   // next seq to link
  std::string head_hash = kAuditGenesisHash;  // hash of link_seq - 1
  std::uint64_t epoch = 0;
  Status epoch_status;          // why the last epoch ended
  std::uint64_t inflight = 0;   // calls between reserve and link
  std::uint64_t durable_seq = 0;
  std::string durable_hash = kAuditGenesisHash;

 private:
  struct Batch {
    std::string data;
    std::uint64_t count = 0;
    std::uint64_t last_seq = 0;
    std::string last_hash;
    bool done = false;
    Status status;
  };

  // Records built but not yet linked: their contents without the closing
  // brace, back to back in one buffer, and the SHA-256 of each content.
  struct Built {
    std::string contents;
    std::vector<std::size_t> ends;
    std::vector<std::array<std::uint8_t, 32>> digests;
  };
  // Crypto contexts and scratch space for one building thread; pooled, so
  // their buffers keep their capacity from one call to the next (fresh
  // megabytes cost page faults).
  struct Builder {
    Built built;
    std::unique_ptr<HmacSha256> psn;
    AesGcm gcm;
    // The record's protected fields, sorted by name (views into the event).
    struct Protected {
      std::string_view name;
      std::string_view value;
      bool encrypt;
    };
    std::vector<Protected> fields;
    // Their pseudonyms back to back, and the record's pii member as views
    // into them.
    std::string psn_text;
    std::vector<audit_internal::StoredPiiView> pii;
    // The JSON object the encrypted fields are sealed as (wiped after
    // sealing), the AAD, the sealed bytes and the record's pii_enc.
    std::string plain;
    std::string aad;
    std::string sealed;
    std::string pii_enc;
  };
  // What a call reserved.
  struct Ticket {
    std::uint64_t first_seq = 0;
    std::uint64_t epoch = 0;
    std::string data_kid;
    SecretKey data_key;
  };

  Status ValidateEvent(const AuditEvent& e, bool internal) const;
  Status Build(const AuditEvent& e, std::uint64_t seq, bool internal, const Ticket& ticket,
               Builder& b, Built* out);
  Status SealFields(std::uint64_t seq, const Ticket& ticket, Builder& b, std::string* out);
  Status OpenSealed(const AuditRecord& record, AesGcm& gcm,
                    std::map<std::string, std::string, std::less<>>* out);
  std::unique_ptr<Builder> TakeBuilder();
  void ReturnBuilder(std::unique_ptr<Builder> builder);
  void EndEpoch(const Status& why);  // under mu
  void LeadCommit(std::unique_lock<std::mutex>& lock);
  void AcquireWriter(std::unique_lock<std::mutex>& lock) {
    cv.wait(lock, [&] { return !writing; });
    writing = true;
  }
  void ReleaseWriter() {
    writing = false;
    cv.notify_all();
  }
  Status WriteCheckpoint(std::uint64_t seq, const std::string& hash);
  Status LoadCheckpoints();
  Status RecoverTail();
  Status ReconcileIndex();
  Status LoadPurgeManifest();
  Status FinishInterruptedPurge();
  Status AuthorizePurge(const AuditReader& admin, UnixMillis cutoff, UnixMillis now);
  Status AppendManifest(const std::vector<AuditPurgeEntry>& entries);
  std::uint64_t purged_through() const {
    return purged_.empty() ? 0 : purged_.back().segment.last_seq;
  }
  Result<SecretKey> ReadKey(const std::string& kid);
  Result<bool> DecideReader(const AuditFilter& filter, const AuditReader& reader, UnixMillis now,
                            const char* operation);
  Status MakeView(const AuditRecord& record, bool privileged, AesGcm& gcm, AuditView* view);
  // Calls `fn` for every line with start_seq <= seq <= snapshot, archive
  // segments first (only those `segment_wanted` accepts, when given), then
  // the live store.
  Status WalkFrom(std::uint64_t start_seq, std::uint64_t snapshot,
                  const std::function<Status(std::string_view line, std::uint64_t seq, bool* stop)>& fn,
                  const std::function<bool(const SegmentFile&)>& segment_wanted = nullptr);

  // Keys of the write path, used by the thread that builds lines (under mu)
  // or holds the writer role.
  std::string data_kid_;  // under mu
  SecretKey data_key_;    // under mu
  SecretKey psn_key_;
  std::string psn_kid_;
  PiiMode subject_mode_ = PiiMode::kPlain;  // opt.pii.ModeFor("subject")
  std::unique_ptr<HmacSha256> cp_mac_;  // writer role only
  SecretKey cp_key_;                    // for MACs made outside the writer role
  std::mutex builders_mu_;
  std::vector<std::unique_ptr<Builder>> builders_;

  std::mutex key_mu_;
  std::map<std::string, SecretKey> key_cache_;

  std::shared_ptr<Batch> open_batch_;
  std::string spare_data_;  // a written batch's buffer, reused; under mu
  std::unique_ptr<AuditStore> store_;
  std::unique_ptr<ArchiveIndex> index_;
  int lock_fd = -1;
  int cp_fd = -1;
  off_t cp_size_ = 0;
  std::mutex cp_mu_;  // guards checkpoints_ (read by exports)
  std::vector<AuditCheckpoint> checkpoints_;
  std::uint64_t last_cp_seq_ = 0;  // writer role only
  std::uint64_t anchor_seq_ = 0;   // last archived seq (writer role / maintenance)
  std::string anchor_hash_ = kAuditGenesisHash;
  std::shared_mutex maintenance_;  // Archive/Purge exclusive; Verify/Read/Export shared
  // The purge manifest, verified at open (maintenance_). After a failed
  // manifest write that could not be undone, purging is refused until the
  // log is reopened (which cuts the torn entry).
  std::vector<AuditPurgeEntry> purged_;
  bool purge_broken_ = false;
};

// --- open ----------------------------------------------------------------------

Status AuditLog::Impl::Init() {
  if (opt.dir.empty()) return InvalidArgument("dir must not be empty");
  if (opt.keys == nullptr) return InvalidArgument("keys (a key provider) must be set");
  for (auto [name, id] : {std::pair<const char*, const std::string*>{"data_key_id", &opt.data_key_id},
                          {"pseudonym_key_id", &opt.pseudonym_key_id},
                          {"checkpoint_key_id", &opt.checkpoint_key_id}}) {
    if (!IsValidKeyId(*id)) {
      return InvalidArgument(std::string(name) +
                             " must be 1-64 characters of [A-Za-z0-9._-], not starting with '.'");
    }
  }
  if (opt.checkpoint_key_id == opt.data_key_id || opt.checkpoint_key_id == opt.pseudonym_key_id) {
    return InvalidArgument("checkpoint_key_id must name a key separate from the data and pseudonym keys");
  }
  if (opt.retention <= 0) return InvalidArgument("retention must be > 0");
  if (opt.segment_max_records == 0) return InvalidArgument("segment_max_records must be > 0");
  if (opt.pii.default_mode == PiiMode::kPlain) {
    return InvalidArgument("pii default mode must be encrypt or pseudonymise; only subject may be plain");
  }
  for (const auto& [name, mode] : opt.pii.fields) {
    if (!IsPiiName(name)) {
      return InvalidArgument("pii field name '" + name + "' is not [a-z][a-z0-9_]* (at most 32)");
    }
    if (mode == PiiMode::kPlain && name != "subject") {
      return InvalidArgument("pii field '" + name + "' cannot be plain; only subject may be plain");
    }
  }

  Status s = MakeDirs(opt.dir);
  if (s.ok()) s = MakeDirs(layout.archive);
  if (!s.ok()) return s;

  lock_fd = ::open(layout.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return IoError("cannot open " + layout.lock + ": " + std::strerror(errno));
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Unavailable("the audit log in " + opt.dir + " is open in another process or handle");
    }
    return IoError("cannot lock " + layout.lock + ": " + std::strerror(errno));
  }

  // Keys: all three must resolve now, so a missing key is a clear error at
  // open rather than a failed append in the middle of an incident.
  Result<SecretKey> data = opt.keys->GetKey(opt.data_key_id);
  if (!data.ok()) return Status(data.status().code(), "data key: " + data.status().message());
  Result<SecretKey> psn = opt.keys->GetKey(opt.pseudonym_key_id);
  if (!psn.ok()) return Status(psn.status().code(), "pseudonym key: " + psn.status().message());
  Result<SecretKey> cp = opt.keys->GetKey(opt.checkpoint_key_id);
  if (!cp.ok()) return Status(cp.status().code(), "checkpoint key: " + cp.status().message());
  data_kid_ = opt.data_key_id;
  data_key_ = *data;
  psn_kid_ = opt.pseudonym_key_id;
  psn_key_ = *psn;
  subject_mode_ = opt.pii.ModeFor("subject");
  cp_mac_ = std::make_unique<HmacSha256>(*cp);
  cp_key_ = *cp;
  {
    std::lock_guard<std::mutex> lock(key_mu_);
    key_cache_[data_kid_] = *data;
  }

  store_ = MakeStore(opt, layout);
  std::uint64_t torn = 0;
  s = store_->Open(&torn);
  if (!s.ok()) return s;

  Result<std::unique_ptr<ArchiveIndex>> index = ArchiveIndex::Open(layout.index);
  if (!index.ok()) return index.status();
  index_ = std::move(*index);

  s = LoadCheckpoints();
  if (s.ok()) s = LoadPurgeManifest();
  if (s.ok()) s = FinishInterruptedPurge();
  if (s.ok()) s = RecoverTail();
  if (s.ok()) s = ReconcileIndex();
  return s;
}

Status AuditLog::Impl::LoadCheckpoints() {
  cp_fd = ::open(layout.checkpoints.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (cp_fd < 0) return IoError("cannot open " + layout.checkpoints + ": " + std::strerror(errno));
  std::string data;
  Status s = audit_internal::ReadWholeFile(layout.checkpoints, &data);
  if (!s.ok()) return s;
  std::vector<std::string_view> lines;
  std::string_view tail;
  audit_internal::SplitLines(data, &lines, &tail);
  cp_size_ = static_cast<off_t>(data.size() - tail.size());
  if (!tail.empty()) {
    // A checkpoint write cut by a crash; the records it covers are durable
    // and the next checkpoint will cover them again.
    s = ops->Truncate(cp_fd, cp_size_, layout.checkpoints);
    if (s.ok()) s = ops->Sync(cp_fd, layout.checkpoints);
    if (!s.ok()) return s;
  }
  CheckpointMacs macs(*opt.keys);
  for (std::string_view line : lines) {
    AuditCheckpoint cp;
    s = ParseAuditCheckpoint(line, &cp);
    if (!s.ok()) {
      return StateError("the checkpoint file " + layout.checkpoints +
                        " does not verify: " + s.message() + "; run lifeline-audit verify");
    }
    Result<bool> ok = macs.Check(cp);
    if (!ok.ok()) return ok.status();
    if (!*ok) {
      return StateError("checkpoint at seq " + std::to_string(cp.seq) +
                        " fails its MAC under key '" + cp.kid +
                        "' (a wrong checkpoint key, or a tampered checkpoint file); "
                        "run lifeline-audit verify");
    }
    checkpoints_.push_back(std::move(cp));
  }
  if (!checkpoints_.empty()) last_cp_seq_ = checkpoints_.back().seq;
  return Status::Ok();
}

Status AuditLog::Impl::RecoverTail() {
  // The archive's end is where the live store must continue from.
  std::vector<SegmentFile> segments;
  Status s = audit_internal::ListSegments(layout.archive, &segments);
  if (!s.ok()) return s;
  if (!segments.empty()) {
    AuditSegmentHeader header;
    std::vector<std::string> lines;
    bool corrupt = false;
    s = audit_internal::ReadSegment(segments.back(), &header, &lines, &corrupt);
    if (!s.ok()) return corrupt ? StateError(s.message() + "; run lifeline-audit verify") : s;
    anchor_seq_ = header.last_seq;
    anchor_hash_ = header.last_hash;
  } else if (!purged_.empty()) {
    // Every archived segment was purged: the manifest holds the boundary.
    anchor_seq_ = purged_.back().segment.last_seq;
    anchor_hash_ = purged_.back().segment.last_hash;
  }

  auto refuse = [&](const std::string& why) {
    return StateError("the audit store " + store_->Describe() + " does not verify at its end: " +
                      why + "; nothing was appended (run lifeline-audit verify)");
  };

  // The live store must continue the archive. Lines already archived (an
  // archive interrupted before the live store was rewritten) must repeat
  // the archive exactly; they are dropped now.
  if (anchor_seq_ > 0) {
    bool overlap = false;
    Status inner;
    s = store_->Scan(
        [&](std::string_view line) {
          std::uint64_t seq = PeekAuditSeq(line);
          AuditRecord r;
          bool parsed = ParseAuditLine(line, &r).ok();
          if (seq != 0 && seq <= anchor_seq_) {
            overlap = true;
            if (seq == anchor_seq_ && (!parsed || r.hash != anchor_hash_)) {
              inner = refuse("records still in the live store differ from their archived copies");
              return false;
            }
            return true;
          }
          if (!parsed) {
            inner = refuse("edited at seq " + std::to_string(anchor_seq_ + 1));
          } else if (r.seq != anchor_seq_ + 1 || r.prev_hash != anchor_hash_) {
            inner = refuse("the live store does not continue the archive's last record");
          }
          return false;
        },
        nullptr);
    if (s.ok()) s = inner;
    if (s.ok() && overlap) s = store_->DropThrough(anchor_seq_);
    if (!s.ok()) return s;
  }

  // The end of the store must verify against the last checkpoint.
  const AuditCheckpoint* last_cp = checkpoints_.empty() ? nullptr : &checkpoints_.back();
  std::uint64_t back_to = std::max<std::uint64_t>(last_cp != nullptr ? last_cp->seq : 0, anchor_seq_);
  std::vector<std::string> tail;
  bool from_start = false;
  s = store_->ReadTail(back_to, &tail, &from_start);
  if (!s.ok()) return s;
  std::uint64_t head = anchor_seq_;
  std::string hash = anchor_hash_;
  if (!tail.empty()) {
    AuditChainVerifier verifier;
    // Only a store that still starts at seq 1 is checked against genesis;
    // otherwise the chain is checked from the first line read (its link to
    // the archive was checked above).
    if (!(from_start && anchor_seq_ == 0)) verifier.StartAnywhere();
    if (last_cp != nullptr && last_cp->seq > anchor_seq_) verifier.AddCheckpoint(*last_cp, true);
    for (const std::string& line : tail) verifier.AddLine(line);
    AuditVerifyReport report = verifier.Finish();
    if (!report.ok()) {
      return refuse(std::string(AuditFindingName(report.finding)) + " at seq " +
                    std::to_string(report.first_bad_seq) + " (" + report.message + ")");
    }
    head = report.last_seq;
    hash = report.head_hash;
  }
  if (last_cp != nullptr) {
    if (last_cp->seq > head) {
      return refuse("truncated: the store ends at seq " + std::to_string(head) +
                    " but a checkpoint covers seq " + std::to_string(last_cp->seq));
    }
    if (last_cp->seq == anchor_seq_ && anchor_seq_ > 0 && last_cp->hash != anchor_hash_) {
      return refuse("bad_checkpoint at seq " + std::to_string(anchor_seq_));
    }
  }
  next_seq = head + 1;
  link_seq = head + 1;
  head_hash = hash;
  durable_seq = head;
  durable_hash = hash;
  return Status::Ok();
}

Status AuditLog::Impl::ReconcileIndex() {
  std::vector<SegmentFile> segments;
  Status s = audit_internal::ListSegments(layout.archive, &segments);
  if (!s.ok()) return s;
  // Rows of purged records (an index update cut short by a crash).
  if (purged_through() > 0) {
    s = index_->RemoveThrough(purged_through());
    if (!s.ok()) return s;
  }
  std::set<std::string> known;
  s = index_->SegmentNames(&known);
  if (!s.ok()) return s;
  for (const SegmentFile& file : segments) {
    if (known.count(file.name) != 0) continue;
    AuditSegmentHeader header;
    std::vector<std::string> lines;
    bool corrupt = false;
    s = audit_internal::ReadSegment(file, &header, &lines, &corrupt);
    if (!s.ok()) return corrupt ? StateError(s.message() + "; run lifeline-audit verify") : s;
    std::vector<IndexRow> rows;
    for (const std::string& line : lines) {
      AuditRecord r;
      if (!ParseAuditLine(line, &r).ok()) {
        return StateError("archive segment " + file.name +
                          " holds a record that does not verify; run lifeline-audit verify");
      }
      rows.push_back({r.seq, r.time, r.incident_id, r.call_id});
    }
    s = index_->AddSegment(file, header, rows);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status AuditLog::Impl::LoadPurgeManifest() {
  std::vector<ManifestLine> lines;
  std::size_t complete = 0;
  Status s = ReadPurgeManifest(layout.purged, *opt.keys, &lines, &complete);
  if (!s.ok()) return s;
  struct stat st;
  if (::stat(layout.purged.c_str(), &st) == 0 && static_cast<std::size_t>(st.st_size) > complete) {
    // An entry cut by a crash: its segments were not deleted yet (files are
    // deleted only after the manifest is durable), so dropping it is safe.
    int fd = ::open(layout.purged.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return IoError("cannot open " + layout.purged + ": " + std::strerror(errno));
    s = ops->Truncate(fd, static_cast<off_t>(complete), layout.purged);
    if (s.ok()) s = ops->Sync(fd, layout.purged);
    ::close(fd);
    if (!s.ok()) return s;
  }
  auto refuse = [&](const std::string& why) {
    return StateError("the purge manifest " + layout.purged + " does not verify: " + why +
                      "; run lifeline-audit verify");
  };
  std::uint64_t expected = 1;
  std::string head = kAuditGenesisHash;
  for (const ManifestLine& line : lines) {
    if (!line.parsed) return refuse(line.error);
    const AuditSegmentHeader& h = line.entry.segment;
    std::string range = "seqs " + std::to_string(h.first_seq) + "-" + std::to_string(h.last_seq);
    if (!line.mac_ok) {
      return refuse("the entry for " + range + " fails its MAC under key '" + line.entry.kid +
                    "' (a wrong checkpoint key, or a tampered manifest)");
    }
    if (h.first_seq != expected || h.first_prev_hash != head) {
      return refuse("the entry for " + range + " does not continue the one before it");
    }
    expected = h.last_seq + 1;
    head = h.last_hash;
    purged_.push_back(line.entry);
  }
  return Status::Ok();
}

Status AuditLog::Impl::FinishInterruptedPurge() {
  if (purged_.empty()) return Status::Ok();
  std::vector<SegmentFile> segments;
  Status s = audit_internal::ListSegments(layout.archive, &segments);
  if (!s.ok()) return s;
  bool removed = false;
  for (const SegmentFile& file : segments) {
    if (file.first_seq > purged_through()) break;
    // A segment the manifest says was purged: a purge cut short between
    // writing the manifest and deleting the files. Delete it now, but only
    // if it is exactly what the manifest describes.
    auto entry = std::find_if(purged_.begin(), purged_.end(), [&](const AuditPurgeEntry& e) {
      return e.segment.first_seq == file.first_seq;
    });
    AuditSegmentHeader header;
    std::vector<std::string> lines;
    bool corrupt = false;
    Status read = audit_internal::ReadSegment(file, &header, &lines, &corrupt);
    if (!read.ok() && !corrupt) return read;
    if (!read.ok() || entry == purged_.end() || !MatchesPurged(file, header, *entry)) {
      return StateError("archive segment " + file.name + " lies in the purged range (through seq " +
                        std::to_string(purged_through()) +
                        ") but does not match its purge manifest entry; run lifeline-audit verify");
    }
    if (::unlink(file.path.c_str()) != 0 && errno != ENOENT) {
      return IoError("cannot delete " + file.path + ": " + std::strerror(errno));
    }
    removed = true;
  }
  if (removed) return audit_internal::SyncDirectory(layout.archive);
  return Status::Ok();
}

// --- append --------------------------------------------------------------------

std::unique_ptr<AuditLog::Impl::Builder> AuditLog::Impl::TakeBuilder() {
  {
    std::lock_guard<std::mutex> lock(builders_mu_);
    if (!builders_.empty()) {
      std::unique_ptr<Builder> b = std::move(builders_.back());
      builders_.pop_back();
      return b;
    }
  }
  auto b = std::make_unique<Builder>();
  b->psn = std::make_unique<HmacSha256>(psn_key_);
  return b;
}

void AuditLog::Impl::ReturnBuilder(std::unique_ptr<Builder> builder) {
  std::lock_guard<std::mutex> lock(builders_mu_);
  builders_.push_back(std::move(builder));
}

Status AuditLog::Impl::SealFields(std::uint64_t seq, const Ticket& ticket, Builder& b,
                                  std::string* out) {
  // One AES-256-GCM message per record, whatever the number of encrypted
  // fields: {"email":"...","phone":"..."} (names sorted, as b.fields is),
  // with a fresh nonce and the AAD bound to seq and key id.
  std::string& plain = b.plain;
  plain.clear();
  // Room for the whole object up front, so that no clear value is left
  // behind in a buffer freed by growth (escapes may still need more).
  std::size_t size = 2;
  for (const Builder::Protected& f : b.fields) {
    if (f.encrypt) size += f.name.size() + f.value.size() + 6;
  }
  plain.reserve(size);
  plain.push_back('{');
  for (const Builder::Protected& f : b.fields) {
    if (!f.encrypt) continue;
    if (plain.size() > 1) plain.push_back(',');
    audit_internal::AppendJsonString(f.name, &plain);
    plain.push_back(':');
    audit_internal::AppendJsonString(f.value, &plain);
  }
  plain.push_back('}');
  SealedAad(seq, ticket.data_kid, &b.aad);
  Status s = b.gcm.Seal(ticket.data_key, b.aad, plain, &b.sealed);
  SecureWipe(plain.data(), plain.size());
  if (!s.ok()) return s;
  out->assign(ticket.data_kid).append(1, ':');
  audit_internal::Base64Append(reinterpret_cast<const std::uint8_t*>(b.sealed.data()),
                               b.sealed.size(), out);
  return Status::Ok();
}

Status AuditLog::Impl::ValidateEvent(const AuditEvent& e, bool internal) const {
  if (e.source == AuditSource::kAudit && !internal) {
    return InvalidArgument("source 'audit' is reserved for the audit log's own records");
  }
  if (e.time < 0 || e.time > kMaxTime) {
    return InvalidArgument("time must be between 1970-01-01 and 9999-12-31 (ms since the epoch)");
  }
  struct {
    const char* name;
    const std::string* value;
    std::size_t max;
  } fields[] = {{"incidentId", &e.incident_id, kMaxFieldBytes}, {"callId", &e.call_id, kMaxFieldBytes},
                {"subject", &e.subject, kMaxFieldBytes},        {"channel", &e.channel, kMaxFieldBytes},
                {"event", &e.event, kMaxFieldBytes},            {"status", &e.status, kMaxFieldBytes},
                {"providerId", &e.provider_id, kMaxFieldBytes}, {"detail", &e.detail, kMaxDetailBytes}};
  for (const auto& f : fields) {
    if (f.value->size() > f.max) {
      return InvalidArgument(std::string(f.name) + " is longer than " + std::to_string(f.max) +
                             " bytes");
    }
    if (!IsUtf8(*f.value)) return InvalidArgument(std::string(f.name) + " is not valid UTF-8");
  }
  if (e.pii.size() > kMaxPiiFields) {
    return InvalidArgument("pii has more than " + std::to_string(kMaxPiiFields) + " fields");
  }
  for (std::size_t i = 0; i < e.pii.size(); ++i) {
    const PiiField& f = e.pii[i];
    auto at = [i] { return "pii[" + std::to_string(i) + "]"; };
    if (!IsPiiName(f.name) || f.name == "subject") {
      return InvalidArgument(at() + ".name must match [a-z][a-z0-9_]* (at most 32) and not be 'subject'");
    }
    if (f.value.size() > kMaxFieldBytes) {
      return InvalidArgument(at() + ".value is longer than " + std::to_string(kMaxFieldBytes) + " bytes");
    }
    if (!IsUtf8(f.value)) return InvalidArgument(at() + ".value is not valid UTF-8");
    for (std::size_t j = 0; j < i; ++j) {
      if (e.pii[j].name == f.name) return InvalidArgument(at() + ".name '" + f.name + "' repeats");
    }
  }
  return Status::Ok();
}

Status AuditLog::Impl::Build(const AuditEvent& e, std::uint64_t seq, bool internal,
                             const Ticket& ticket, Builder& b, Built* out) {
  // The record is serialised from views into the event and the builder's
  // buffers, which keep their capacity: no allocation per record once warm.
  // Every protected field gets a pseudonym; the encrypted ones are also
  // sealed together into pii_enc.
  b.fields.clear();
  for (const PiiField& f : e.pii) {
    if (f.value.empty()) continue;
    b.fields.push_back({f.name, f.value, opt.pii.ModeFor(f.name) == PiiMode::kEncrypt});
  }
  PiiMode subject_mode = internal ? PiiMode::kPlain : subject_mode_;
  std::string_view subject;
  if (subject_mode == PiiMode::kPlain) {
    subject = e.subject;
  } else if (!e.subject.empty()) {
    b.fields.push_back({"subject", e.subject, subject_mode == PiiMode::kEncrypt});
  }
  // Sorted by name (names are unique): an insertion sort, as there are few.
  for (std::size_t i = 1; i < b.fields.size(); ++i) {
    Builder::Protected f = b.fields[i];
    std::size_t j = i;
    for (; j > 0 && f.name < b.fields[j - 1].name; --j) b.fields[j] = b.fields[j - 1];
    b.fields[j] = f;
  }
  // Pseudonyms: "<key id>:<hex of HMAC-SHA256(value)>".
  const std::size_t psn_size = psn_kid_.size() + 1 + 2 * audit_internal::kSha256Size;
  b.psn_text.clear();
  b.psn_text.reserve(b.fields.size() * psn_size);
  for (const Builder::Protected& f : b.fields) {
    b.psn_text.append(psn_kid_).push_back(':');
    b.psn->AppendHex(f.value, &b.psn_text);
  }
  b.pii.clear();
  bool any_encrypted = false;
  for (std::size_t i = 0; i < b.fields.size(); ++i) {
    b.pii.push_back({b.fields[i].name, {}, std::string_view(b.psn_text).substr(i * psn_size, psn_size)});
    any_encrypted |= b.fields[i].encrypt;
  }
  b.pii_enc.clear();
  if (any_encrypted) {
    Status s = SealFields(seq, ticket, b, &b.pii_enc);
    if (!s.ok()) return s;
  }
  b.fields.clear();  // views into the caller's event
  audit_internal::AuditContentView r;
  r.seq = seq;
  r.time = e.time;
  r.source = e.source;
  r.incident_id = e.incident_id;
  r.call_id = e.call_id;
  r.subject = subject;
  r.channel = e.channel;
  r.event = e.event;
  r.status = e.status;
  r.provider_id = e.provider_id;
  r.detail = e.detail;
  r.pii = b.pii.data();
  r.pii_size = b.pii.size();
  r.pii_enc = b.pii_enc;
  std::size_t start = out->contents.size();
  audit_internal::AppendAuditContent(r, &out->contents);
  out->digests.emplace_back();
  audit_internal::Sha256(std::string_view(out->contents).substr(start), out->digests.back().data());
  out->contents.pop_back();  // the closing brace; prev_hash and hash follow
  out->ends.push_back(out->contents.size());
  return Status::Ok();
}

void AuditLog::Impl::EndEpoch(const Status& why) {
  ++epoch;
  epoch_status = why;
  // Lines batched but not written were chained onto what failed: they fail
  // too, and the next call gets the first unrecorded seq again.
  if (open_batch_ != nullptr) {
    open_batch_->done = true;
    open_batch_->status = why;
    open_batch_ = nullptr;
  }
  next_seq = durable_seq + 1;
  link_seq = durable_seq + 1;
  head_hash = durable_hash;
  cv.notify_all();
}

Status AuditLog::Impl::AppendEvents(const AuditEvent* events, std::size_t n, bool internal,
                                    std::uint64_t* first_seq) {
  if (n == 0) return Status::Ok();
  for (std::size_t i = 0; i < n; ++i) {
    Status s = ValidateEvent(events[i], internal);
    if (!s.ok()) {
      return Status(s.code(), (n > 1 ? "event " + std::to_string(i) + ": " : std::string()) +
                                  s.message());
    }
  }

  // Reserve.
  Ticket ticket;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return StateError("the audit log is closed");
    if (broken) return IoError("the audit log could not undo an earlier I/O failure; reopen it");
    ticket.first_seq = next_seq;
    ticket.epoch = epoch;
    ticket.data_kid = data_kid_;
    ticket.data_key = data_key_;
    next_seq += n;
    ++inflight;
  }

  // Build, outside the lock.
  std::unique_ptr<Builder> builder = TakeBuilder();
  Built& built = builder->built;
  built.contents.clear();
  built.ends.clear();
  built.digests.clear();
  Status s;
  for (std::size_t i = 0; i < n && s.ok(); ++i) {
    s = Build(events[i], ticket.first_seq + i, internal, ticket, *builder, &built);
  }

  // Link, in seq order.
  std::unique_lock<std::mutex> lock(mu);
  struct ReturnOnExit {
    Impl* impl;
    std::unique_ptr<Builder>& builder;
    ~ReturnOnExit() { impl->ReturnBuilder(std::move(builder)); }
  } return_builder{this, builder};
  if (!s.ok()) {
    // Only the random number generator can fail here. Seqs after ours are
    // reserved already, so the chain cannot close the gap: stop appending.
    --inflight;
    broken = true;
    EndEpoch(s);
    return s;
  }
  cv.wait(lock, [&] { return ticket.epoch != epoch || link_seq == ticket.first_seq; });
  --inflight;
  if (ticket.epoch != epoch) {
    cv.notify_all();
    return epoch_status;
  }
  if (open_batch_ == nullptr) {
    open_batch_ = std::make_shared<Batch>();
    open_batch_->data = std::move(spare_data_);
    open_batch_->data.clear();
  }
  std::shared_ptr<Batch> batch = open_batch_;
  std::string& data = batch->data;
  data.reserve(data.size() + built.contents.size() + n * 160);
  std::uint8_t prev[32];
  audit_internal::HexDecode(head_hash, prev, sizeof prev);
  std::size_t begin = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t hash[32];
    audit_internal::Sha256Two(prev, sizeof prev, built.digests[i].data(), sizeof hash, hash);
    std::memcpy(prev, hash, sizeof prev);
    data.append(built.contents, begin, built.ends[i] - begin);
    begin = built.ends[i];
    data.append(",\"prev_hash\":\"");
    data.append(head_hash);
    data.append("\",\"hash\":\"");
    head_hash.clear();
    audit_internal::HexAppend(hash, sizeof hash, &head_hash);
    data.append(head_hash);
    data.append("\"}\n");
  }
  link_seq += n;
  batch->count += n;
  batch->last_seq = link_seq - 1;
  batch->last_hash = head_hash;
  cv.notify_all();  // the next call in seq order may link now

  // Commit: group commit. Whoever finds no writer at work writes every
  // batched line with one write and one fsync; the others wait for it.
  while (!batch->done) {
    if (!writing) {
      LeadCommit(lock);
    } else {
      cv.wait(lock);
    }
  }
  if (batch->status.ok() && first_seq != nullptr) *first_seq = ticket.first_seq;
  return batch->status;
}

void AuditLog::Impl::LeadCommit(std::unique_lock<std::mutex>& lock) {
  writing = true;
  std::shared_ptr<Batch> batch = std::move(open_batch_);
  open_batch_ = nullptr;
  lock.unlock();
  bool broke = false;
  Status s = store_->Append(batch->data, batch->count, &broke);
  if (s.ok() && opt.checkpoint_every > 0 && batch->last_seq - last_cp_seq_ >= opt.checkpoint_every) {
    // The records are durable whatever happens to their checkpoint; a failed
    // checkpoint is retried with the next one.
    (void)WriteCheckpoint(batch->last_seq, batch->last_hash);
  }
  lock.lock();
  if (s.ok()) {
    durable_seq = batch->last_seq;
    durable_hash = batch->last_hash;
  } else {
    if (broke) broken = true;
    EndEpoch(s);
  }
  batch->status = s;
  batch->done = true;
  // Keep the buffer for the next batch (unless it grew huge).
  if (batch->data.capacity() <= (64u << 20) && batch->data.capacity() > spare_data_.capacity()) {
    spare_data_ = std::move(batch->data);
  }
  ReleaseWriter();
}

Status AuditLog::Impl::WriteCheckpoint(std::uint64_t seq, const std::string& hash) {
  AuditCheckpoint cp;
  cp.seq = seq;
  cp.hash = hash;
  cp.kid = opt.checkpoint_key_id;
  cp.mac = cp_mac_->Hex(AuditCheckpointMessage(seq, hash));
  std::string line = FormatAuditCheckpoint(cp);
  line.push_back('\n');
  Status s = ops->Append(cp_fd, line.data(), line.size(), layout.checkpoints);
  if (s.ok()) s = ops->Sync(cp_fd, layout.checkpoints);
  if (!s.ok()) {
    // Never leave half a checkpoint for the next one to be glued to.
    if (!ops->Truncate(cp_fd, cp_size_, layout.checkpoints).ok()) {
      std::lock_guard<std::mutex> lock(mu);
      broken = true;
    }
    return s;
  }
  cp_size_ += static_cast<off_t>(line.size());
  last_cp_seq_ = seq;
  std::lock_guard<std::mutex> lock(cp_mu_);
  checkpoints_.push_back(std::move(cp));
  return Status::Ok();
}

Status AuditLog::Impl::Flush() {
  std::unique_lock<std::mutex> lock(mu);
  if (closed) return StateError("the audit log is closed");
  AcquireWriter(lock);
  std::uint64_t seq = durable_seq;
  std::string hash = durable_hash;
  lock.unlock();
  Status s;
  if (seq > last_cp_seq_) s = WriteCheckpoint(seq, hash);
  lock.lock();
  ReleaseWriter();
  return s;
}

Status AuditLog::Impl::Close() {
  std::unique_lock<std::mutex> lock(mu);
  if (closed) return StateError("the audit log is already closed");
  closed = true;  // no new appends; those already reserved still commit
  cv.wait(lock, [&] { return inflight == 0 && !writing && open_batch_ == nullptr; });
  writing = true;
  std::uint64_t seq = durable_seq;
  std::string hash = durable_hash;
  lock.unlock();
  Status s;
  if (seq > last_cp_seq_ && !broken) s = WriteCheckpoint(seq, hash);
  if (cp_fd >= 0) ::close(cp_fd);
  cp_fd = -1;
  store_.reset();
  index_.reset();
  if (lock_fd >= 0) ::close(lock_fd);
  lock_fd = -1;
  lock.lock();
  ReleaseWriter();
  return s;
}

Status AuditLog::Impl::RotateDataKey(std::string_view key_id) {
  if (!IsValidKeyId(key_id)) {
    return InvalidArgument("key_id must be 1-64 characters of [A-Za-z0-9._-], not starting with '.'");
  }
  if (key_id == opt.checkpoint_key_id) {
    return InvalidArgument("the data key must be separate from the checkpoint key");
  }
  Result<SecretKey> key = opt.keys->GetKey(key_id);
  if (!key.ok()) return Status(key.status().code(), "data key: " + key.status().message());
  {
    std::lock_guard<std::mutex> lock(key_mu_);
    key_cache_[std::string(key_id)] = *key;
  }
  std::lock_guard<std::mutex> lock(mu);
  if (closed) return StateError("the audit log is closed");
  data_kid_.assign(key_id);
  data_key_ = *key;
  return Status::Ok();
}

// --- reading -----------------------------------------------------------------

Result<SecretKey> AuditLog::Impl::ReadKey(const std::string& kid) {
  {
    std::lock_guard<std::mutex> lock(key_mu_);
    auto it = key_cache_.find(kid);
    if (it != key_cache_.end()) return it->second;
  }
  Result<SecretKey> key = opt.keys->GetKey(kid);
  if (!key.ok()) return key;
  std::lock_guard<std::mutex> lock(key_mu_);
  key_cache_[kid] = *key;
  return key;
}

Result<bool> AuditLog::Impl::DecideReader(const AuditFilter& filter, const AuditReader& reader,
                                          UnixMillis now, const char* operation) {
  if (!IsPrivilegedAuditRole(reader.role)) return false;
  AuditEvent e = OwnEvent(reader.role, now);
  e.incident_id = filter.incident_id;
  e.call_id = filter.call_id;
  std::string detail;
  StringSink sink{&detail};
  JsonWriter w(sink);
  w.StartObject();
  w.Key("operation");
  w.String(operation);
  w.Key("from");
  w.Int64(filter.from);
  w.Key("to");
  w.Int64(filter.to);
  w.EndObject();
  e.detail = detail;
  bool accepted = opt.verify_credential && opt.verify_credential(reader.role, reader.credential);
  if (!accepted) {
    e.event = "PII_ACCESS_DENIED";
    e.status = "DENIED";
    Status s = AppendEvents(&e, 1, true);
    if (!s.ok()) return s;
    return InvalidArgument(opt.verify_credential
                               ? "the credential for role '" + reader.role + "' was not accepted"
                               : std::string("no credential verifier is configured; PII cannot be decrypted"));
  }
  // The decryption is recorded before it happens: no record, no clear text.
  e.event = "PII_DECRYPTED";
  e.status = "GRANTED";
  Status s = AppendEvents(&e, 1, true);
  if (!s.ok()) return s;
  return true;
}

Status AuditLog::Impl::OpenSealed(const AuditRecord& record, AesGcm& gcm,
                                  std::map<std::string, std::string, std::less<>>* out) {
  std::string where = "record " + std::to_string(record.seq);
  std::size_t colon = record.pii_enc.find(':');
  if (colon == std::string::npos) return StateError(where + ": malformed encrypted fields");
  std::string kid = record.pii_enc.substr(0, colon);
  Result<SecretKey> key = ReadKey(kid);
  if (!key.ok()) {
    return Status(key.status().code(), where + ": data key '" + kid +
                                           "' is not available: " + key.status().message());
  }
  std::string sealed;
  if (!audit_internal::Base64Decode(std::string_view(record.pii_enc).substr(colon + 1), &sealed)) {
    return StateError(where + ": malformed encrypted fields");
  }
  std::string aad;
  SealedAad(record.seq, kid, &aad);
  std::string plain;
  Status s = gcm.Open(*key, aad, sealed, &plain);
  if (!s.ok()) return StateError(where + " does not decrypt with key '" + kid + "': " + s.message());
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(plain.data(), plain.size());
  bool ok = !doc.HasParseError() && doc.IsObject();
  if (ok) {
    for (auto it = doc.MemberBegin(); ok && it != doc.MemberEnd(); ++it) {
      ok = it->value.IsString();
      if (ok) {
        (*out)[std::string(it->name.GetString(), it->name.GetStringLength())].assign(
            it->value.GetString(), it->value.GetStringLength());
      }
    }
  }
  SecureWipe(plain.data(), plain.size());
  if (!ok) return StateError(where + ": the decrypted fields are not a JSON object of strings");
  return Status::Ok();
}

Status AuditLog::Impl::MakeView(const AuditRecord& record, bool privileged, AesGcm& gcm,
                               AuditView* view) {
  view->record = record;
  view->pii.clear();
  // Encrypted fields sealed together (pii_enc): decrypted once per record.
  std::map<std::string, std::string, std::less<>> sealed;
  if (privileged && !record.pii_enc.empty()) {
    Status s = OpenSealed(record, gcm, &sealed);
    if (!s.ok()) return s;
  }
  for (const StoredPii& field : record.pii) {
    PiiField out;
    out.name = field.name;
    auto clear = sealed.find(field.name);
    if (clear != sealed.end()) {
      out.value = std::move(clear->second);
      sealed.erase(clear);
    } else if (privileged && !field.enc.empty()) {
      // A per-field ciphertext (the first record format).
      std::size_t colon = field.enc.find(':');
      std::string where = "record " + std::to_string(record.seq) + " field '" + field.name + "'";
      if (colon == std::string::npos) return StateError(where + ": malformed encrypted value");
      std::string kid = field.enc.substr(0, colon);
      Result<SecretKey> key = ReadKey(kid);
      if (!key.ok()) {
        return Status(key.status().code(), where + ": data key '" + kid +
                                               "' is not available: " + key.status().message());
      }
      std::string ciphertext;
      if (!audit_internal::Base64Decode(std::string_view(field.enc).substr(colon + 1), &ciphertext)) {
        return StateError(where + ": malformed encrypted value");
      }
      Status s = gcm.Open(*key, PiiAad(record.seq, field.name, kid), ciphertext, &out.value);
      if (!s.ok()) {
        return StateError(where + " does not decrypt with key '" + kid + "': " + s.message());
      }
    } else if (!field.psn.empty()) {
      out.value = "psn:" + field.psn;
    } else {
      out.value = "[encrypted:" + field.enc.substr(0, field.enc.find(':')) + "]";
    }
    view->pii.push_back(std::move(out));
  }
  if (!sealed.empty()) {
    return StateError("record " + std::to_string(record.seq) +
                      ": an encrypted field has no pii member");
  }
  return Status::Ok();
}

Status AuditLog::Impl::WalkFrom(
    std::uint64_t start_seq, std::uint64_t snapshot,
    const std::function<Status(std::string_view, std::uint64_t, bool*)>& fn,
    const std::function<bool(const SegmentFile&)>& segment_wanted) {
  bool stop = false;
  std::uint64_t last_archived = 0;
  std::vector<SegmentFile> segments;
  Status s = audit_internal::ListSegments(layout.archive, &segments);
  if (!s.ok()) return s;
  for (const SegmentFile& file : segments) {
    last_archived = std::max(last_archived, file.last_seq);
    if (file.last_seq < start_seq || stop) continue;
    if (segment_wanted && !segment_wanted(file)) continue;
    AuditSegmentHeader header;
    std::vector<std::string> lines;
    bool corrupt = false;
    s = audit_internal::ReadSegment(file, &header, &lines, &corrupt);
    if (!s.ok()) return s;
    for (const std::string& line : lines) {
      std::uint64_t seq = PeekAuditSeq(line);
      if (seq < start_seq) continue;
      if (seq > snapshot) {
        stop = true;
        break;
      }
      s = fn(line, seq, &stop);
      if (!s.ok()) return s;
      if (stop) break;
    }
  }
  if (stop) return Status::Ok();
  Status inner;
  s = store_->Scan(
      [&](std::string_view line) {
        std::uint64_t seq = PeekAuditSeq(line);
        if (seq != 0 && (seq <= last_archived || seq < start_seq)) return true;
        if (seq > snapshot) return false;
        inner = fn(line, seq, &stop);
        return inner.ok() && !stop;
      },
      nullptr);
  if (!inner.ok()) return inner;
  return s;
}

Status AuditLog::Impl::Read(const AuditFilter& filter, const AuditReader& reader, UnixMillis now,
                            const std::function<bool(const AuditView&)>& fn) {
  // The reader sees the records that existed when it asked; its own
  // PII_DECRYPTED record comes after them.
  std::uint64_t snapshot;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return StateError("the audit log is closed");
    snapshot = durable_seq;
  }
  Result<bool> privileged = DecideReader(filter, reader, now, "read");
  if (!privileged.ok()) return privileged.status();
  std::shared_lock<std::shared_mutex> maintenance(maintenance_);
  std::vector<std::uint64_t> archived;
  Status s = index_->Matching(filter, &archived);
  if (!s.ok()) return s;
  std::set<std::uint64_t> wanted(archived.begin(), archived.end());
  std::uint64_t start = archived.empty() ? anchor_seq_ + 1 : archived.front();
  AuditView view;
  AesGcm gcm;  // one context per read: the key schedule is kept across records
  return WalkFrom(start, snapshot, [&](std::string_view line, std::uint64_t seq, bool* stop) {
    if (seq <= anchor_seq_ && wanted.count(seq) == 0) return Status::Ok();
    AuditRecord record;
    Status parsed = ParseAuditLine(line, &record);
    if (!parsed.ok()) {
      return StateError("record at seq " + std::to_string(seq) +
                        " does not verify; run lifeline-audit verify");
    }
    if (!filter.Matches(record)) return Status::Ok();
    Status v = MakeView(record, *privileged, gcm, &view);
    if (!v.ok()) return v;
    *stop = !fn(view);
    return Status::Ok();
  }, [&](const SegmentFile& file) {
    // Only the segments the index says hold a match are decompressed.
    auto it = wanted.lower_bound(file.first_seq);
    return it != wanted.end() && *it <= file.last_seq;
  });
}

Result<AuditExportSummary> AuditLog::Impl::Export(const AuditFilter& filter,
                                                  const AuditReader& reader, UnixMillis now,
                                                  const std::string& out_path) {
  // Records after this one (the export's own PII_DECRYPTED record among
  // them) can only appear as proof links, never as matches.
  std::uint64_t match_limit;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return StateError("the audit log is closed");
    match_limit = durable_seq;
  }
  Result<bool> privileged = DecideReader(filter, reader, now, "export");
  if (!privileged.ok()) return privileged.status();
  // A checkpoint over the head covers everything the export can contain.
  Status s = Flush();
  if (!s.ok()) return s;
  std::shared_lock<std::shared_mutex> maintenance(maintenance_);
  std::map<std::uint64_t, AuditCheckpoint> checkpoints;
  {
    std::lock_guard<std::mutex> lock(cp_mu_);
    for (const AuditCheckpoint& cp : checkpoints_) checkpoints[cp.seq] = cp;
  }
  std::uint64_t snapshot = checkpoints.empty() ? 0 : checkpoints.rbegin()->first;

  std::vector<std::uint64_t> archived;
  s = index_->Matching(filter, &archived);
  if (!s.ok()) return s;
  std::uint64_t start = archived.empty() ? anchor_seq_ + 1 : archived.front();

  int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create " + out_path + ": " + std::strerror(errno));
  std::string buf;
  off_t written = 0;
  auto flush_buf = [&]() -> Status {
    Status w = ops->Append(fd, buf.data(), buf.size(), out_path);
    written += static_cast<off_t>(buf.size());
    buf.clear();
    return w;
  };

  {
    StringSink sink{&buf};
    JsonWriter w(sink);
    w.StartObject();
    w.Key("type");
    w.String("export");
    w.Key("format");
    w.String("lifeline-audit-export/1");
    w.Key("exported_at");
    std::string at = FormatAuditTime(std::clamp<UnixMillis>(now, 0, kMaxTime));
    w.String(at.c_str());
    w.Key("role");
    w.String(reader.role.data(), static_cast<rapidjson::SizeType>(reader.role.size()));
    w.Key("pii");
    w.String(*privileged ? "decrypted" : "pseudonyms");
    w.Key("filter");
    w.StartObject();
    w.Key("incidentId");
    w.String(filter.incident_id.data(), static_cast<rapidjson::SizeType>(filter.incident_id.size()));
    w.Key("callId");
    w.String(filter.call_id.data(), static_cast<rapidjson::SizeType>(filter.call_id.size()));
    w.Key("from");
    w.Int64(filter.from);
    w.Key("to");
    w.Int64(filter.to);
    w.EndObject();
    w.EndObject();
    buf.push_back('\n');
  }
  off_t header_end = static_cast<off_t>(buf.size());

  AuditExportSummary summary;
  summary.decrypted = *privileged;
  bool started = false;
  bool covered = false;
  off_t covered_at = header_end;
  std::uint64_t records = 0, links = 0;
  AuditView view;
  AesGcm gcm;
  s = WalkFrom(start, snapshot, [&](std::string_view line, std::uint64_t seq, bool*) {
    AuditRecord record;
    std::string digest;
    if (!ParseAuditLine(line, &record, &digest).ok()) {
      return StateError("record at seq " + std::to_string(seq) +
                        " does not verify; run lifeline-audit verify");
    }
    bool match = seq <= match_limit && filter.Matches(record);
    if (!started && !match) return Status::Ok();
    started = true;
    if (match) {
      covered = false;
      buf.append(line);
      buf.push_back('\n');
      ++records;
      if (*privileged) {
        Status v = MakeView(record, true, gcm, &view);
        if (!v.ok()) return v;
        StringSink sink{&buf};
        JsonWriter w(sink);
        w.StartObject();
        w.Key("type");
        w.String("pii");
        w.Key("seq");
        w.Uint64(record.seq);
        w.Key("fields");
        w.StartObject();
        for (const PiiField& f : view.pii) {
          w.Key(f.name.c_str());
          w.String(f.value.data(), static_cast<rapidjson::SizeType>(f.value.size()));
        }
        w.EndObject();
        w.EndObject();
        buf.push_back('\n');
      }
    } else {
      StringSink sink{&buf};
      JsonWriter w(sink);
      w.StartObject();
      w.Key("type");
      w.String("link");
      w.Key("seq");
      w.Uint64(record.seq);
      w.Key("digest");
      w.String(digest.c_str());
      w.EndObject();
      buf.push_back('\n');
      ++links;
    }
    if (!covered && checkpoints.count(seq) != 0) {
      // The first checkpoint at or after the last match: the export can end
      // here. Anything written after this point is cut unless another
      // record matches.
      covered = true;
      covered_at = written + static_cast<off_t>(buf.size());
      summary.checkpoint_seq = seq;
      summary.records = records;
      summary.links = links;
    }
    if (buf.size() > (1 << 20)) return flush_buf();
    return Status::Ok();
  });
  if (s.ok()) s = flush_buf();
  if (s.ok() && started && !covered) {
    s = StateError("no checkpoint covers the exported records");
  }
  if (s.ok()) s = ops->Truncate(fd, started ? covered_at : header_end, out_path);
  if (s.ok()) {
    if (started) {
      AuditCheckpoint cp = checkpoints[summary.checkpoint_seq];
      std::string cp_line = FormatAuditCheckpoint(cp);
      buf = "{\"type\":\"checkpoint\"," + cp_line.substr(1) + "\n";
    }
    StringSink sink{&buf};
    JsonWriter w(sink);
    w.StartObject();
    w.Key("type");
    w.String("end");
    w.Key("records");
    w.Uint64(summary.records);
    w.Key("links");
    w.Uint64(summary.links);
    w.EndObject();
    buf.push_back('\n');
    Status a = ::lseek(fd, 0, SEEK_END) < 0 ? IoError("lseek failed") : Status::Ok();
    if (a.ok()) a = flush_buf();
    if (a.ok()) a = ops->Sync(fd, out_path);
    s = a;
  }
  ::close(fd);
  if (!s.ok()) {
    ::unlink(out_path.c_str());
    return s;
  }
  return summary;
}

Result<AuditVerifyReport> AuditLog::Impl::Verify() {
  Status s = Flush();
  if (!s.ok()) return s;
  std::shared_lock<std::shared_mutex> maintenance(maintenance_);
  return VerifyAuditDirectory(opt);
}

// --- retention -----------------------------------------------------------------

Result<std::uint64_t> AuditLog::Impl::Archive(UnixMillis now) {
  std::unique_lock<std::shared_mutex> maintenance(maintenance_);
  std::unique_lock<std::mutex> lock(mu);
  if (closed) return StateError("the audit log is closed");
  AcquireWriter(lock);
  std::uint64_t snapshot = durable_seq;
  lock.unlock();

  UnixMillis cutoff = now - opt.retention;
  if (now < std::numeric_limits<UnixMillis>::min() + opt.retention) {
    cutoff = std::numeric_limits<UnixMillis>::min();
  }
  std::uint64_t archived = 0;
  std::uint64_t archived_through = 0;
  std::uint64_t overlap_through = 0;
  std::vector<std::string> lines;
  std::vector<IndexRow> rows;
  AuditSegmentHeader header;
  Status inner;
  auto write_segment = [&]() -> Status {
    if (lines.empty()) return Status::Ok();
    header.count = lines.size();
    SegmentFile file;
    Status w = audit_internal::WriteSegment(layout.archive, header, lines, &file);
    if (w.ok()) w = index_->AddSegment(file, header, rows);
    if (!w.ok()) return w;
    archived += lines.size();
    archived_through = header.last_seq;
    anchor_seq_ = header.last_seq;
    anchor_hash_ = header.last_hash;
    lines.clear();
    rows.clear();
    return Status::Ok();
  };
  Status s = store_->Scan(
      [&](std::string_view line) {
        std::uint64_t seq = PeekAuditSeq(line);
        if (seq != 0 && seq <= anchor_seq_) {
          overlap_through = anchor_seq_;  // archived before; the drop was interrupted
          return true;
        }
        if (seq == 0 || seq > snapshot) return false;
        AuditRecord r;
        if (!ParseAuditLine(line, &r).ok()) {
          inner = StateError("record at seq " + std::to_string(seq) +
                             " does not verify; nothing more was archived (run lifeline-audit verify)");
          return false;
        }
        if (r.time >= cutoff) return false;
        if (lines.empty()) {
          header = AuditSegmentHeader();
          header.first_seq = r.seq;
          header.first_prev_hash = r.prev_hash;
        }
        header.last_seq = r.seq;
        header.last_hash = r.hash;
        lines.emplace_back(line);
        rows.push_back({r.seq, r.time, r.incident_id, r.call_id});
        if (lines.size() >= opt.segment_max_records) {
          inner = write_segment();
          if (!inner.ok()) return false;
        }
        return true;
      },
      nullptr);
  if (s.ok()) s = inner;
  if (s.ok()) s = write_segment();
  archived_through = std::max(archived_through, overlap_through);
  if (archived_through > 0) {
    Status d = store_->DropThrough(archived_through);
    if (s.ok()) s = d;
  }
  lock.lock();
  ReleaseWriter();
  lock.unlock();
  if (!s.ok()) return s;
  return archived;
}

// --- purge ---------------------------------------------------------------------

Status AuditLog::Impl::AuthorizePurge(const AuditReader& admin, UnixMillis cutoff,
                                      UnixMillis now) {
  bool accepted = admin.role == "bcp_admin" && opt.verify_credential &&
                  opt.verify_credential(admin.role, admin.credential);
  if (accepted) return Status::Ok();
  // A refused purge is recorded too: someone tried to destroy history.
  AuditEvent e = OwnEvent(admin.role, now);
  e.event = "PURGE_DENIED";
  e.status = "DENIED";
  std::string detail;
  StringSink sink{&detail};
  JsonWriter w(sink);
  w.StartObject();
  w.Key("operation");
  w.String("purge");
  w.Key("cutoff");
  w.Int64(cutoff);
  w.EndObject();
  e.detail = detail;
  Status s = AppendEvents(&e, 1, true);
  if (!s.ok()) return s;
  if (admin.role != "bcp_admin") {
    return InvalidArgument("purging the archive requires the role 'bcp_admin'");
  }
  return InvalidArgument(opt.verify_credential
                             ? std::string("the credential for role 'bcp_admin' was not accepted")
                             : std::string("no credential verifier is configured; the archive "
                                           "cannot be purged"));
}

Status AuditLog::Impl::AppendManifest(const std::vector<AuditPurgeEntry>& entries) {
  std::string data;
  for (const AuditPurgeEntry& e : entries) {
    data += FormatAuditPurgeEntry(e);
    data.push_back('\n');
  }
  struct stat st;
  bool created = ::stat(layout.purged.c_str(), &st) != 0;
  off_t size = created ? 0 : st.st_size;
  int fd = ::open(layout.purged.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot open " + layout.purged + ": " + std::strerror(errno));
  Status s = ops->Append(fd, data.data(), data.size(), layout.purged);
  if (s.ok()) s = ops->Sync(fd, layout.purged);
  if (!s.ok() && !ops->Truncate(fd, size, layout.purged).ok()) purge_broken_ = true;
  ::close(fd);
  if (s.ok() && created) s = audit_internal::SyncDirectory(layout.archive);
  return s;
}

Result<AuditPurgeSummary> AuditLog::Impl::PurgeArchive(UnixMillis cutoff, const AuditReader& admin,
                                                       UnixMillis now) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return StateError("the audit log is closed");
  }
  // The safety floor: nothing younger than the retention period, whatever
  // the caller asks for.
  UnixMillis floor = now < std::numeric_limits<UnixMillis>::min() + opt.retention
                         ? std::numeric_limits<UnixMillis>::min()
                         : now - opt.retention;
  if (cutoff > floor) {
    return InvalidArgument("cutoff " + FormatAuditTime(std::clamp<UnixMillis>(cutoff, 0, kMaxTime)) +
                           " is inside the retention period: only records older than now - "
                           "retention (" +
                           FormatAuditTime(std::clamp<UnixMillis>(floor, 0, kMaxTime)) +
                           ") may be purged");
  }
  Status s = AuthorizePurge(admin, cutoff, now);
  if (!s.ok()) return s;

  std::unique_lock<std::shared_mutex> maintenance(maintenance_);
  if (purge_broken_) {
    return IoError("an earlier purge could not undo a failed manifest write; reopen the log");
  }
  // Plan: the oldest segments, in order, whose records all lie before the
  // cutoff, each verified (hashes, links, header) from the last purged
  // boundary on: a damaged archive is never purged, so a purge cannot hide
  // tampering.
  std::vector<SegmentFile> segments;
  s = audit_internal::ListSegments(layout.archive, &segments);
  if (!s.ok()) return s;
  AuditChainVerifier verifier;
  for (const AuditPurgeEntry& e : purged_) verifier.AddPurged(e, true);
  std::vector<AuditPurgeEntry> plan;
  for (const SegmentFile& file : segments) {
    if (file.last_seq <= purged_through()) continue;  // finished at open
    AuditSegmentHeader header;
    std::vector<std::string> lines;
    bool corrupt = false;
    s = audit_internal::ReadSegment(file, &header, &lines, &corrupt);
    if (!s.ok()) {
      return corrupt ? StateError(s.message() + "; nothing was purged (run lifeline-audit verify)")
                     : s;
    }
    UnixMillis max_time = std::numeric_limits<UnixMillis>::min();
    verifier.BeginSegment(header);
    for (const std::string& line : lines) {
      verifier.AddLine(line);
      AuditRecord r;
      if (ParseAuditLine(line, &r).ok()) max_time = std::max(max_time, r.time);
    }
    verifier.EndSegment();
    if (verifier.done()) {
      AuditVerifyReport report = verifier.Finish();
      return StateError("the archive does not verify (" + std::string(AuditFindingName(report.finding)) +
                        " at seq " + std::to_string(report.first_bad_seq) +
                        "); nothing was purged (run lifeline-audit verify)");
    }
    if (max_time >= cutoff) break;  // this one and everything after it stay
    AuditPurgeEntry entry;
    entry.segment = header;
    entry.max_time = max_time;
    entry.cutoff = cutoff;
    entry.purged_at = std::clamp<UnixMillis>(now, 0, kMaxTime);
    entry.kid = opt.checkpoint_key_id;
    plan.push_back(std::move(entry));
  }
  AuditPurgeSummary summary;
  if (plan.empty()) return summary;  // nothing (more) to purge: no record, no change
  summary.segments = plan.size();
  summary.first_seq = plan.front().segment.first_seq;
  summary.last_seq = plan.back().segment.last_seq;
  summary.records = summary.last_seq - summary.first_seq + 1;

  // 1. The purge is recorded before anything is deleted; if it cannot be,
  //    nothing is.
  AuditEvent e = OwnEvent(admin.role, now);
  e.event = "ARCHIVE_PURGED";
  e.status = "PURGED";
  {
    std::string detail;
    StringSink sink{&detail};
    JsonWriter w(sink);
    w.StartObject();
    w.Key("operation");
    w.String("purge");
    w.Key("cutoff");
    w.Int64(cutoff);
    w.Key("first_seq");
    w.Uint64(summary.first_seq);
    w.Key("last_seq");
    w.Uint64(summary.last_seq);
    w.Key("last_hash");
    w.String(plan.back().segment.last_hash.c_str());
    w.Key("segments");
    w.Uint64(summary.segments);
    w.Key("records");
    w.Uint64(summary.records);
    w.EndObject();
    e.detail = detail;
  }
  s = AppendEvents(&e, 1, true, &summary.audit_seq);
  if (!s.ok()) return s;

  // 2. The manifest, MAC'd with the checkpoint key, durable before any file
  //    goes: the boundaries stay provable whatever happens next.
  HmacSha256 mac(cp_key_);  // cp_mac_ belongs to the writer role
  for (AuditPurgeEntry& entry : plan) {
    entry.audit_seq = summary.audit_seq;
    entry.mac = mac.Hex(AuditPurgeMessage(entry));
  }
  s = AppendManifest(plan);
  if (!s.ok()) return s;
  purged_.insert(purged_.end(), plan.begin(), plan.end());

  // 3. The segment files. A crash before this is done leaves segments the
  //    manifest lists; the next open (or purge) deletes them.
  for (const AuditPurgeEntry& entry : plan) {
    std::string path = layout.archive + "/" +
                       audit_internal::SegmentFileName(entry.segment.first_seq, entry.segment.last_seq);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return IoError("cannot delete " + path + ": " + std::strerror(errno) +
                     " (the purge is recorded; reopening the log finishes it)");
    }
  }
  s = audit_internal::SyncDirectory(layout.archive);
  if (!s.ok()) return s;
  // 4. The index (derived data; rebuilt on open if this fails).
  s = index_->RemoveThrough(summary.last_seq);
  if (!s.ok()) return s;
  return summary;
}

// ---------------------------------------------------------------------------

AuditLog::AuditLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AuditLog::~AuditLog() {
  bool closed;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    closed = impl_->closed;
  }
  if (!closed) (void)impl_->Close();
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(AuditLogOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  Status s = impl->Init();
  if (!s.ok()) return s;
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(impl)));
}

Status AuditLog::Append(const AuditEvent& event) { return impl_->AppendEvents(&event, 1, false); }

Status AuditLog::AppendBatch(const std::vector<AuditEvent>& events) {
  return impl_->AppendEvents(events.data(), events.size(), false);
}

Status AuditLog::Flush() { return impl_->Flush(); }
Status AuditLog::Close() { return impl_->Close(); }
Status AuditLog::RotateDataKey(std::string_view key_id) { return impl_->RotateDataKey(key_id); }

std::uint64_t AuditLog::head_seq() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->durable_seq;
}

std::string AuditLog::head_hash() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->durable_hash;
}

Result<AuditVerifyReport> AuditLog::Verify() { return impl_->Verify(); }
Result<std::uint64_t> AuditLog::Archive(UnixMillis now) { return impl_->Archive(now); }

Result<AuditPurgeSummary> AuditLog::PurgeArchive(UnixMillis cutoff, const AuditReader& admin,
                                                 UnixMillis now) {
  return impl_->PurgeArchive(cutoff, admin, now);
}

Status AuditLog::Read(const AuditFilter& filter, const AuditReader& reader, UnixMillis now,
                      const std::function<bool(const AuditView&)>& fn) {
  return impl_->Read(filter, reader, now, fn);
}

Result<AuditExportSummary> AuditLog::Export(const AuditFilter& filter, const AuditReader& reader,
                                            UnixMillis now, const std::string& out_path) {
  return impl_->Export(filter, reader, now, out_path);
}

// --- verification without the log open ----------------------------------------

Result<AuditVerifyReport> VerifyAuditDirectory(const AuditLogOptions& options) {
  if (options.dir.empty()) return InvalidArgument("dir must not be empty");
  if (options.keys == nullptr) return InvalidArgument("keys (a key provider) must be set");
  DirLayout layout = LayoutFor(options);
  struct stat st;
  if (::stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NotFound("there is no audit log directory at " + options.dir);
  }
  AuditChainVerifier verifier;
  Status s = FeedCheckpoints(layout.checkpoints, *options.keys, &verifier, nullptr);
  if (!s.ok()) return s;

  // The purge manifest: the boundaries of every purged segment, MAC'd. The
  // chain is proven from the end of the last one.
  std::vector<ManifestLine> manifest;
  std::size_t manifest_size = 0;
  s = ReadPurgeManifest(layout.purged, *options.keys, &manifest, &manifest_size);
  if (!s.ok()) return s;
  std::map<std::uint64_t, AuditPurgeEntry> purged;  // by first seq
  for (std::size_t i = 0; i < manifest.size() && !verifier.done(); ++i) {
    const ManifestLine& line = manifest[i];
    if (!line.parsed) {
      verifier.ReportBadPurgeManifest(verifier.expected_seq(),
                                      "line " + std::to_string(i + 1) +
                                          " of the purge manifest is not an entry: " + line.error);
      break;
    }
    verifier.AddPurged(line.entry, line.mac_ok);
    purged[line.entry.segment.first_seq] = line.entry;
  }
  std::uint64_t purged_through = purged.empty() ? 0 : purged.rbegin()->second.segment.last_seq;

  std::vector<SegmentFile> segments;
  s = audit_internal::ListSegments(layout.archive, &segments);
  if (!s.ok()) return s;
  // Ranges no segment holds, to name what is missing when seqs are.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> holes;
  std::uint64_t next_first = purged_through + 1;
  for (const SegmentFile& file : segments) {
    if (verifier.done()) break;
    if (file.first_seq <= purged_through) {
      // Purged, yet still here: a purge interrupted before it deleted the
      // file is fine if the file is exactly what the manifest describes.
      auto entry = purged.find(file.first_seq);
      AuditSegmentHeader header;
      std::vector<std::string> lines;
      bool corrupt = false;
      Status read = audit_internal::ReadSegment(file, &header, &lines, &corrupt);
      if (!read.ok() && !corrupt) return read;
      if (!read.ok() || entry == purged.end() || !MatchesPurged(file, header, entry->second)) {
        verifier.ReportBadPurgeManifest(
            file.first_seq, "archive segment " + file.name +
                                " lies in the purged range (through seq " +
                                std::to_string(purged_through) +
                                ") but does not match its purge manifest entry");
        break;
      }
      continue;
    }
    if (file.first_seq > next_first) holes.emplace_back(next_first, file.first_seq - 1);
    next_first = std::max(next_first, file.last_seq + 1);
    AuditSegmentHeader header;
    std::vector<std::string> lines;
    bool corrupt = false;
    s = audit_internal::ReadSegment(file, &header, &lines, &corrupt);
    if (corrupt) {
      verifier.ReportCorruptArchive(file.first_seq, s.message());
      break;
    }
    if (!s.ok()) return s;
    verifier.BeginSegment(header);
    for (const std::string& line : lines) {
      verifier.AddLine(line);
      if (verifier.done()) break;
    }
    verifier.EndSegment();
  }
  if (!verifier.done()) {
    verifier.BeginLive();
    std::unique_ptr<AuditStore> store = MakeStore(options, layout);
    std::string torn;
    bool first_live = true;
    s = store->Scan(
        [&](std::string_view line) {
          std::uint64_t seq = PeekAuditSeq(line);
          if (first_live && seq > next_first) holes.emplace_back(next_first, seq - 1);
          if (seq >= next_first) first_live = false;
          verifier.AddLine(line);
          return !verifier.done();
        },
        &torn);
    if (!s.ok()) return s;
    verifier.AddTornTail(torn);
  }
  AuditVerifyReport report = verifier.Finish();
  if (report.finding == AuditFinding::kDeleted) {
    for (const auto& [first, last] : holes) {
      if (report.first_bad_seq >= first && report.first_bad_seq <= last) {
        report.message += " (no archive segment holds seqs " + std::to_string(first) + "-" +
                          std::to_string(last) + "; expected " +
                          audit_internal::SegmentFileName(first, last) +
                          " or segments covering that range)";
      }
    }
  }
  return report;
}

Result<AuditVerifyReport> VerifyAuditExport(const std::string& path, KeyProvider& keys) {
  std::unique_ptr<AuditStore> reader = audit_internal::NewAuditFileStore(path, nullptr);
  AuditChainVerifier verifier;
  verifier.StartAnywhere();
  CheckpointMacs macs(keys);
  bool first = true, saw_end = false, saw_checkpoint = false, after_end = false;
  bool header_ok = false;
  Status inner;
  std::string torn;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return NotFound(path + " does not exist");
  Status s = reader->Scan(
      [&](std::string_view line) {
        if (first) {
          first = false;
          header_ok = line.substr(0, 17) == "{\"type\":\"export\",";
          return header_ok;
        }
        if (saw_end) {
          after_end = true;
          return false;
        }
        if (line.substr(0, 7) == "{\"seq\":") {
          verifier.AddLine(line);
        } else if (line.substr(0, 15) == "{\"type\":\"link\",") {
          rapidjson::Document doc;
          doc.Parse(line.data(), line.size());
          if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("seq") ||
              !doc["seq"].IsUint64() || !doc.HasMember("digest") || !doc["digest"].IsString()) {
            verifier.AddLine(line);  // reported as an edit at the expected seq
          } else {
            verifier.AddLink(doc["seq"].GetUint64(), doc["digest"].GetString());
          }
        } else if (line.substr(0, 14) == "{\"type\":\"pii\",") {
          // The decrypted view of the record before it; not part of the chain.
        } else if (line.substr(0, 21) == "{\"type\":\"checkpoint\",") {
          AuditCheckpoint cp;
          std::string plain = "{" + std::string(line.substr(21));
          bool ok = false;
          if (ParseAuditCheckpoint(plain, &cp).ok()) {
            Result<bool> mac = macs.Check(cp);
            if (!mac.ok()) {
              inner = mac.status();
              return false;
            }
            ok = *mac;
          } else {
            cp.seq = verifier.expected_seq() - 1;
          }
          saw_checkpoint = true;
          verifier.AddCheckpoint(cp, ok);
        } else if (line.substr(0, 14) == "{\"type\":\"end\",") {
          saw_end = true;
        } else {
          verifier.AddLine(line);
        }
        return true;
      },
      &torn);
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  if (!header_ok) {
    return InvalidArgument(path + " is not a Lifeline audit export (no export header line)");
  }
  verifier.AddTornTail(torn);
  AuditVerifyReport report = verifier.Finish();
  if (report.ok() && after_end) {
    report.finding = AuditFinding::kEdited;
    report.first_bad_seq = report.last_seq + 1;
    report.message = "lines follow the export's end line";
  } else if (report.ok() && (!saw_end || (report.records > 0 && !saw_checkpoint))) {
    report.finding = AuditFinding::kTruncated;
    report.first_bad_seq = report.last_seq + 1;
    report.message = "the export ends without its closing checkpoint and end line";
  }
  return report;
}

}  // namespace lifeline
