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
#include <cstdio>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "core/audit_crypto.hpp"
#include "core/audit_json.hpp"
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
constexpr UnixMillis kMaxTime = 253402300799999LL;

bool IsUtf8(std::string_view text) {
  bool ascii = true;
  for (char c : text) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) return true;  // the common case, without decoding
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

// The AES-GCM associated data of a PII value: binds the ciphertext to its
// record's seq, its field name and its key id.
void PiiAad(std::uint64_t seq, std::string_view field, std::string_view kid, std::string* aad) {
  aad->assign("lifeline-audit/v1\n");
  char digits[24];
  int n = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(seq));
  aad->append(digits, static_cast<std::size_t>(n));
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
    auto it = macs_.find(cp.kid);
    if (it == macs_.end()) {
      Result<SecretKey> key = keys_.GetKey(cp.kid);
      if (!key.ok()) {
        if (key.status().code() == StatusCode::kNotFound ||
            key.status().code() == StatusCode::kInvalidArgument) {
          it = macs_.emplace(cp.kid, nullptr).first;
        } else {
          return key.status();
        }
      } else {
        it = macs_.emplace(cp.kid, std::make_unique<HmacSha256>(*key)).first;
      }
    }
    if (it->second == nullptr) return false;
    return ConstantTimeEqual(it->second->Hex(AuditCheckpointMessage(cp.seq, cp.hash)), cp.mac);
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
  Status AppendEvents(const AuditEvent* events, std::size_t n, bool internal);
  Status Flush();
  Status Close();
  Status RotateDataKey(std::string_view key_id);
  Result<AuditVerifyReport> Verify();
  Result<std::uint64_t> Archive(UnixMillis now);
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
    std::string sealed;
    std::string aad;
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
  Status Protect(std::string_view name, std::string_view value, PiiMode mode, std::uint64_t seq,
                 const Ticket& ticket, Builder& b, StoredPii* out);
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
  std::unique_ptr<HmacSha256> cp_mac_;  // writer role only
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
  std::shared_mutex maintenance_;  // Archive exclusive; Verify/Read/Export shared
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
  cp_mac_ = std::make_unique<HmacSha256>(*cp);
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

Status AuditLog::Impl::Protect(std::string_view name, std::string_view value, PiiMode mode,
                               std::uint64_t seq, const Ticket& ticket, Builder& b,
                               StoredPii* out) {
  out->name.assign(name);
  out->psn.reserve(psn_kid_.size() + 65);
  out->psn.assign(psn_kid_).append(1, ':');
  b.psn->AppendHex(value, &out->psn);
  if (mode == PiiMode::kEncrypt) {
    PiiAad(seq, name, ticket.data_kid, &b.aad);
    Status s = b.gcm.Seal(ticket.data_key, b.aad, value, &b.sealed);
    if (!s.ok()) return s;
    out->enc.reserve(ticket.data_kid.size() + 2 + 4 * (b.sealed.size() + 2) / 3);
    out->enc.assign(ticket.data_kid).append(1, ':');
    audit_internal::Base64Append(reinterpret_cast<const std::uint8_t*>(b.sealed.data()),
                                 b.sealed.size(), &out->enc);
  }
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
    std::string at = "pii[" + std::to_string(i) + "]";
    if (!IsPiiName(f.name) || f.name == "subject") {
      return InvalidArgument(at + ".name must match [a-z][a-z0-9_]* (at most 32) and not be 'subject'");
    }
    if (f.value.size() > kMaxFieldBytes) {
      return InvalidArgument(at + ".value is longer than " + std::to_string(kMaxFieldBytes) + " bytes");
    }
    if (!IsUtf8(f.value)) return InvalidArgument(at + ".value is not valid UTF-8");
    for (std::size_t j = 0; j < i; ++j) {
      if (e.pii[j].name == f.name) return InvalidArgument(at + ".name '" + f.name + "' repeats");
    }
  }
  return Status::Ok();
}

Status AuditLog::Impl::Build(const AuditEvent& e, std::uint64_t seq, bool internal,
                             const Ticket& ticket, Builder& b, Built* out) {
  AuditRecord r;
  r.seq = seq;
  r.time = e.time;
  r.source = e.source;
  r.incident_id = e.incident_id;
  r.call_id = e.call_id;
  r.channel = e.channel;
  r.event = e.event;
  r.status = e.status;
  r.provider_id = e.provider_id;
  r.detail = e.detail;
  r.pii.reserve(e.pii.size() + 1);
  for (const PiiField& f : e.pii) {
    if (f.value.empty()) continue;
    StoredPii stored;
    Status s = Protect(f.name, f.value, opt.pii.ModeFor(f.name), seq, ticket, b, &stored);
    if (!s.ok()) return s;
    r.pii.push_back(std::move(stored));
  }
  PiiMode subject_mode = internal ? PiiMode::kPlain : opt.pii.ModeFor("subject");
  if (subject_mode == PiiMode::kPlain) {
    r.subject = e.subject;
  } else if (!e.subject.empty()) {
    StoredPii stored;
    Status s = Protect("subject", e.subject, subject_mode, seq, ticket, b, &stored);
    if (!s.ok()) return s;
    r.pii.push_back(std::move(stored));
  }
  std::sort(r.pii.begin(), r.pii.end(),
            [](const StoredPii& a, const StoredPii& b2) { return a.name < b2.name; });
  std::size_t start = out->contents.size();
  AppendAuditContent(r, &out->contents);
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

Status AuditLog::Impl::AppendEvents(const AuditEvent* events, std::size_t n, bool internal) {
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
  std::size_t begin = 0;
  for (std::size_t i = 0; i < n; ++i) {
    audit_internal::HexDecode(head_hash, prev, sizeof prev);
    std::uint8_t hash[32];
    audit_internal::Sha256Two(prev, sizeof prev, built.digests[i].data(), sizeof hash, hash);
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
  AuditEvent e;
  e.source = AuditSource::kAudit;
  e.time = std::clamp<UnixMillis>(now, 0, kMaxTime);
  e.subject = reader.role;
  e.incident_id = filter.incident_id;
  e.call_id = filter.call_id;
  e.channel = "audit";
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

Status AuditLog::Impl::MakeView(const AuditRecord& record, bool privileged, AesGcm& gcm,
                               AuditView* view) {
  view->record = record;
  view->pii.clear();
  for (const StoredPii& field : record.pii) {
    PiiField out;
    out.name = field.name;
    if (privileged && !field.enc.empty()) {
      std::size_t colon = field.enc.find(':');
      std::string where = "record " + std::to_string(record.seq) + " field '" + field.name + "'";
      if (colon == std::string::npos) return StateError(where + ": malformed encrypted value");
      std::string kid = field.enc.substr(0, colon);
      Result<SecretKey> key = ReadKey(kid);
      if (!key.ok()) {
        return Status(key.status().code(), where + ": data key '" + kid +
                                               "' is not available: " + key.status().message());
      }
      std::string sealed;
      if (!audit_internal::Base64Decode(std::string_view(field.enc).substr(colon + 1), &sealed)) {
        return StateError(where + ": malformed encrypted value");
      }
      Status s = gcm.Open(*key, PiiAad(record.seq, field.name, kid), sealed, &out.value);
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

  std::vector<SegmentFile> segments;
  s = audit_internal::ListSegments(layout.archive, &segments);
  if (!s.ok()) return s;
  for (const SegmentFile& file : segments) {
    if (verifier.done()) break;
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
    s = store->Scan(
        [&](std::string_view line) {
          verifier.AddLine(line);
          return !verifier.done();
        },
        &torn);
    if (!s.ok()) return s;
    verifier.AddTornTail(torn);
  }
  return verifier.Finish();
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
