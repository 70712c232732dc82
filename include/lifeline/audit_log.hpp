// audit_log.hpp -- the tamper-evident, PII-protected audit trail.
//
// Overview: `AuditLog` is the production `AuditSink`. Every event becomes a
// record with a gap-free `seq`, chained to the previous record by SHA-256
// (audit_chain.hpp), its personal data encrypted (AES-256-GCM) and/or
// pseudonymised (HMAC-SHA256) per field, and is durable (written and
// fsynced) before `Append` returns OK. Concurrent appenders are serialised
// in call order and share fsyncs (group commit); `AppendBatch` writes many
// events with one fsync.
//
// On disk, in `options.dir`:
//   audit.log          the live records, JSON Lines (store kFile), or
//   audit.db           the same lines in an SQLite table (store kSqlite, WAL)
//   audit.checkpoints  HMAC checkpoints over the chain head, JSON Lines
//   archive/seg-<first>-<last>.jsonl.gz   gzip segments of old records
//   archive/index.sqlite                  incidentId/time index of the archive
//   archive/purged.jsonl                  boundaries of purged segments (MAC'd)
//   LOCK               held (flock) by the one process that has the log open
//
// Every `checkpoint_every` records, and on Flush/Close, a checkpoint (HMAC
// under a key separate from the data keys) is appended to audit.checkpoints,
// so removing records from the end is detected too. `Archive(now)` moves the
// records older than the retention period into compressed segments that
// carry their chain boundaries, and `PurgeArchive` deletes the oldest of them
// for good, keeping those boundaries in a MAC'd manifest; `Verify` walks the
// manifest, the segments, the live store
// and the checkpoints and names the first bad seq; `Export` writes JSON
// Lines for a SIEM with a chain proof a compliance officer can check alone
// (`VerifyAuditExport`).
//
// Readers: only the roles "compliance_officer" and "bcp_admin", with a
// credential the host's `CredentialVerifier` accepts, get PII decrypted;
// every such read first appends a PII_DECRYPTED record (source "audit",
// subject = the role). Everyone else sees pseudonyms.
//
// Faults: a full disk or an I/O error fails `Append` with LIFELINE_E_IO and
// nothing of that call is stored; the seq is not consumed. A torn last line
// (a crash in the middle of a write) is cut off on open. A store whose end
// does not verify (edited, or shorter than its last checkpoint) is refused
// with LIFELINE_E_STATE rather than appended to, so the chain never forks.
// An fsync failure leaves the log refusing appends (LIFELINE_E_IO) until it
// is reopened, because the kernel may have dropped the unsynced data.
//
// Example:
//
//   auto keys = std::make_shared<lifeline::EnvKeyProvider>();
//   lifeline::AuditLogOptions options;
//   options.dir = "/var/lib/lifeline/audit";
//   options.keys = keys;
//   options.data_key_id = "k1";
//   options.pseudonym_key_id = "p1";
//   options.checkpoint_key_id = "c1";
//   auto log = lifeline::AuditLog::Open(options);
//   if (!log.ok()) return log.status();
//   lifeline::Status s = (*log)->Append(event);     // durable when OK
//   lifeline::AuditVerifyReport r = (*log)->Verify();
//
// Thread-safety: every method may be called from any thread.
#ifndef LIFELINE_AUDIT_LOG_HPP_
#define LIFELINE_AUDIT_LOG_HPP_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lifeline/audit_chain.hpp"
#include "lifeline/audit_keys.hpp"
#include "lifeline/audit_sink.hpp"
#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// How one PII field is stored.
enum class PiiMode {
  kPlain,         // only for "subject": stored as given
  kPseudonymise,  // psn = HMAC-SHA256(pseudonym key, value): joinable, not reversible
  kEncrypt,       // enc = AES-256-GCM(data key, value), plus psn
};

// "plain", "pseudonymise", "encrypt".
const char* PiiModeName(PiiMode mode);
bool ParsePiiMode(std::string_view name, PiiMode* out);

// Per-field protection. The names are PiiField names ("phone", "email",
// "push_token", "caller_name", ...) plus "subject" for AuditEvent::subject.
struct PiiPolicy {
  std::map<std::string, PiiMode, std::less<>> fields;
  PiiMode default_mode = PiiMode::kEncrypt;  // for names not in `fields`

  PiiMode ModeFor(std::string_view name) const {
    auto it = fields.find(name);
    return it == fields.end() ? default_mode : it->second;
  }
};

enum class AuditStoreKind { kFile, kSqlite };

// The file operations the file store and the checkpoint file use. The
// default implementation is POSIX; a test derives from this class and
// overrides one method to inject a fault (a full disk, a failing fsync),
// as with LevelDB's EnvWrapper. Messages name the file, never its content.
class AuditFileOps {
 public:
  virtual ~AuditFileOps() = default;

  // Writes all `size` bytes to `fd` (opened O_APPEND), retrying short
  // writes. ENOSPC and other errors: LIFELINE_E_IO.
  virtual Status Append(int fd, const char* data, std::size_t size, const std::string& path);

  // fdatasync(fd).
  virtual Status Sync(int fd, const std::string& path);

  // ftruncate(fd, size).
  virtual Status Truncate(int fd, off_t size, const std::string& path);
};

// Who reads the log.
struct AuditReader {
  std::string role;        // "compliance_officer", "bcp_admin", or anything else
  std::string credential;  // checked by the host's CredentialVerifier
};

// True when the roles may decrypt PII: "compliance_officer" and "bcp_admin".
bool IsPrivilegedAuditRole(std::string_view role);

// The host's check of a reader's credential. Called only for the two
// privileged roles; must be thread-safe.
using CredentialVerifier = std::function<bool(std::string_view role, std::string_view credential)>;

// Which records a read or an export covers. Empty strings match anything;
// `from` is inclusive and `to` exclusive, on the record's time.
struct AuditFilter {
  std::string incident_id;
  std::string call_id;
  UnixMillis from = std::numeric_limits<UnixMillis>::min();
  UnixMillis to = std::numeric_limits<UnixMillis>::max();

  bool Matches(const AuditRecord& record) const;
};

// A record as a reader sees it: the stored record, and each PII field's
// value for this reader: the clear text for a verified privileged reader,
// otherwise the pseudonym ("psn:<kid>:<hex>").
struct AuditView {
  AuditRecord record;
  std::vector<PiiField> pii;
};

struct AuditLogOptions {
  std::string dir;  // created (0700) when missing
  AuditStoreKind store = AuditStoreKind::kFile;

  std::shared_ptr<KeyProvider> keys;  // required
  std::string data_key_id;            // current key for new encrypted values
  std::string pseudonym_key_id;       // pseudonyms
  std::string checkpoint_key_id;      // checkpoint MACs, kept apart from data keys

  PiiPolicy pii;

  // A checkpoint after this many records (0: only on Flush and Close).
  std::uint64_t checkpoint_every = 1000;
  // Records older than this move to the archive on Archive(now).
  DurationMillis retention = 180LL * 24 * 60 * 60 * 1000;
  // At most this many records per archive segment.
  std::uint64_t segment_max_records = 50000;

  CredentialVerifier verify_credential;  // empty: nobody decrypts

  // The file operations; nullptr means POSIX. Not owned; must outlive the log.
  AuditFileOps* file_ops = nullptr;
};

// Parses the JSON configuration shared by the C ABI, Python and the
// lifeline-audit tool (docs/audit.md lists every key). Unknown keys are
// refused, naming them. "keys.provider" "env" and "file" build their
// provider; "callback" uses `callback_keys`, which must then be given.
Status ParseAuditConfig(std::string_view json, AuditLogOptions* out,
                        std::shared_ptr<KeyProvider> callback_keys = nullptr);

// What an export wrote.
struct AuditExportSummary {
  std::uint64_t records = 0;       // matching records written
  std::uint64_t links = 0;         // omitted records proven by digest
  std::uint64_t checkpoint_seq = 0;  // the covering checkpoint (0 when no records)
  bool decrypted = false;          // whether clear PII lines were written
};

// What a purge removed.
struct AuditPurgeSummary {
  std::uint64_t segments = 0;   // archive segment files deleted
  std::uint64_t records = 0;    // records they held
  std::uint64_t first_seq = 0;  // the first and last seq removed (0 when nothing was)
  std::uint64_t last_seq = 0;
  std::uint64_t audit_seq = 0;  // the ARCHIVE_PURGED record (0 when nothing was removed)
};

class AuditLog final : public AuditSink {
 public:
  // Opens (or creates) the log in options.dir: takes the directory lock,
  // fetches the keys, repairs a torn tail, finishes an interrupted archive,
  // indexes unindexed segments, and verifies the end of the store against
  // the last checkpoint. Errors: LIFELINE_E_INVALID_ARGUMENT for bad
  // options, LIFELINE_E_NOT_FOUND / _UNAVAILABLE for keys,
  // LIFELINE_E_UNAVAILABLE when another process holds the log,
  // LIFELINE_E_STATE when the stored chain does not verify at its end,
  // LIFELINE_E_IO for I/O errors.
  static Result<std::unique_ptr<AuditLog>> Open(AuditLogOptions options);

  // Closes (writing a final checkpoint) if Close was not called.
  ~AuditLog() override;

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Records one event; OK once it is written and fsynced. See AuditSink.
  Status Append(const AuditEvent& event) override;

  // Records `events` in order with one write and one fsync: all of them or
  // none. An invalid event fails the whole batch, naming its index.
  Status AppendBatch(const std::vector<AuditEvent>& events);

  // The AuditSink form of the above: `*recorded` is events.size() or 0.
  Status AppendBatch(const std::vector<AuditEvent>& events, std::size_t* recorded) override {
    Status s = AppendBatch(events);
    *recorded = s.ok() ? events.size() : 0;
    return s;
  }

  // Writes a checkpoint over the durable head if it moved since the last one.
  Status Flush();

  // Flush, then release the directory. Later calls give LIFELINE_E_STATE.
  Status Close();

  // Makes `key_id` the data key for new records. Old records keep theirs
  // and stay readable as long as the provider still resolves their ids.
  Status RotateDataKey(std::string_view key_id);

  // The last durable record (seq 0 and the genesis hash when empty).
  std::uint64_t head_seq() const;
  std::string head_hash() const;

  // Verifies archives, live store and checkpoints (after a Flush). I/O and
  // key errors are a non-OK Result; chain findings are in the report.
  Result<AuditVerifyReport> Verify();

  // Moves every record older than `now - retention` (the longest such
  // prefix of the chain) into archive segments. Returns how many moved.
  Result<std::uint64_t> Archive(UnixMillis now);

  // Deletes the oldest archive segments whose records are all older than
  // `cutoff`, for good. What the chain needs of them stays: each one's
  // boundaries (first and last seq, first prev_hash, last hash) go to the
  // purge manifest (archive/purged.jsonl), MAC'd with the checkpoint key, so
  // Verify still proves the remaining history from the last purged hash.
  //
  // Only `admin.role` "bcp_admin" with a credential the CredentialVerifier
  // accepts may purge; anyone else gets LIFELINE_E_INVALID_ARGUMENT, and the
  // attempt is recorded (PURGE_DENIED). `cutoff` must not be later than
  // `now - retention` (the safety floor): LIFELINE_E_INVALID_ARGUMENT, nothing
  // recorded. Purging stops at the first segment holding a record at or
  // after `cutoff` (segments are purged oldest first, never from the middle),
  // and refuses (LIFELINE_E_STATE) an archive that does not verify up to
  // there. The purge is recorded (ARCHIVE_PURGED, source "audit", subject the
  // role, detail the range) before anything is deleted, then the manifest is
  // made durable, then the files are deleted; a crash in between is finished
  // on the next open. Idempotent: when nothing is left to purge it returns an
  // empty summary and records nothing.
  Result<AuditPurgeSummary> PurgeArchive(UnixMillis cutoff, const AuditReader& admin,
                                         UnixMillis now);

  // Calls `fn` for each record matching `filter`, archived ones included, in
  // seq order, until it returns false. PII is decrypted only for a
  // privileged reader whose credential verifies; that read is audited first.
  // A privileged role with a rejected credential is LIFELINE_E_INVALID_ARGUMENT
  // (and is audited as PII_ACCESS_DENIED).
  Status Read(const AuditFilter& filter, const AuditReader& reader, UnixMillis now,
              const std::function<bool(const AuditView&)>& fn);

  // Writes the matching records to `out_path` as JSON Lines with a chain
  // proof (docs/audit.md, "Export format"). Same reader rules as Read.
  Result<AuditExportSummary> Export(const AuditFilter& filter, const AuditReader& reader,
                                    UnixMillis now, const std::string& out_path);

  class Impl;

 private:
  explicit AuditLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Verifies the log in options.dir without opening it for writing (no lock,
// nothing written): archives, live store, checkpoints. Only options.dir,
// options.store and options.keys (for checkpoint MACs) are used.
Result<AuditVerifyReport> VerifyAuditDirectory(const AuditLogOptions& options);

// Verifies an export file on its own: every record's hash, the chain through
// the omitted records' digests, and the closing checkpoint's MAC (which needs
// the checkpoint key from `keys`).
Result<AuditVerifyReport> VerifyAuditExport(const std::string& path, KeyProvider& keys);

}  // namespace lifeline

#endif  // LIFELINE_AUDIT_LOG_HPP_
