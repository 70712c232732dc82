// audit_chain.hpp -- the audit record, its hash chain, checkpoints, and the
// verifier that walks a chain and names the first bad record.
//
// Overview: this is the sans-I/O heart of the audit trail. It turns records
// into lines and lines back into records, computes the chain hash, and
// checks a sequence of lines (from archive segments, the live store, or an
// export) without touching a file or a clock. `lifeline::AuditLog`
// (audit_log.hpp) does the I/O around it.
//
// The line format (docs/audit.md has the long form). Each record is one line
// of JSON, its keys always present and always in this order:
//
//   {"seq":7,"time":"2024-05-20T14:32:00.123Z","source":"cascade",
//    "incidentId":"INC-1","callId":"","subject":"","channel":"sms",
//    "event":"DELIVERY_ATTEMPT","status":"DELIVERED","providerId":"twilio",
//    "detail":"","pii":{"phone":{"psn":"p1:HEX"}},"pii_enc":"k1:BASE64",
//    "prev_hash":"<64 hex>","hash":"<64 hex>"}
//
// `pii_enc` is present only in records with encrypted fields: one
// AES-256-GCM message holding all of them. Records written before it
// existed carry a ciphertext per field instead ({"enc":...,"psn":...});
// both forms parse and verify.
//
// The *content* of a record is the line without its `prev_hash` and `hash`
// members: the bytes up to `,"prev_hash":` followed by `}`. The chain hash is
//
//   hash = SHA-256( bytes(prev_hash) || SHA-256(content) )
//
// (lower-case hex in the line), and the first record's prev_hash is 64 '0'.
// Hashing the content's digest rather than the content itself lets an export
// prove that the records it leaves out are still in place by listing their
// content digests only.
//
// Example:
//
//   lifeline::AuditChainVerifier verifier;
//   for (const std::string& line : lines) verifier.AddLine(line);
//   lifeline::AuditVerifyReport report = verifier.Finish();
//   if (!report.ok()) std::cerr << report.ToJson();  // {"ok":false,"kind":"deleted",...}
#ifndef LIFELINE_AUDIT_CHAIN_HPP_
#define LIFELINE_AUDIT_CHAIN_HPP_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lifeline/audit_sink.hpp"
#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// The prev_hash of the first record: 64 '0' characters.
extern const char kAuditGenesisHash[65];

// A protected PII field as stored. `psn` is "<key id>:<hex of
// HMAC-SHA256(value)>". `enc` is the per-field ciphertext of the first
// record format, "<key id>:<base64 of nonce(12) | ciphertext | tag(16)>"
// (AES-256-GCM); it is only read, never written: encrypted values now live
// together in AuditRecord::pii_enc. Either may be empty, never both.
struct StoredPii {
  std::string name;
  std::string enc;
  std::string psn;
};

// One record as stored: PII already protected.
struct AuditRecord {
  std::uint64_t seq = 0;
  UnixMillis time = 0;
  AuditSource source = AuditSource::kCascade;
  std::string incident_id;
  std::string call_id;
  std::string subject;
  std::string channel;
  std::string event;
  std::string status;
  std::string provider_id;
  std::string detail;
  std::vector<StoredPii> pii;  // sorted by name, names unique
  // The record's encrypted fields, sealed together: "<key id>:<base64 of
  // nonce(12) | ciphertext | tag(16)>", AES-256-GCM over the JSON object of
  // field name to clear value, with the AAD bound to seq and key id
  // (docs/audit.md, "PII protection"). Empty when no field is encrypted,
  // and then absent from the line. Never set together with a StoredPii::enc.
  std::string pii_enc;
  std::string prev_hash;       // 64 lower-case hex digits
  std::string hash;            // 64 lower-case hex digits
};

// Formats `t` as RFC 3339 UTC with milliseconds: "YYYY-MM-DDTHH:MM:SS.sssZ".
std::string FormatAuditTime(UnixMillis t);

// Parses exactly the format FormatAuditTime writes. False on anything else.
bool ParseAuditTime(std::string_view text, UnixMillis* out);

// Appends the canonical content serialisation of `record` (every member but
// prev_hash and hash) to `*out`.
void AppendAuditContent(const AuditRecord& record, std::string* out);

// hex(SHA-256(bytes(prev_hash_hex) || SHA-256(content))). `prev_hash_hex`
// must be 64 hex digits.
std::string AuditChainHash(std::string_view prev_hash_hex, std::string_view content);

// hex(SHA-256(content)): the digest an export lists for a record it omits.
std::string AuditContentDigest(std::string_view content);

// hex(SHA-256(bytes(prev_hash_hex) || bytes(content_digest_hex))).
std::string AuditLinkHash(std::string_view prev_hash_hex, std::string_view content_digest_hex);

// Computes `record->hash` from its content and prev_hash, and appends the
// complete line (without a newline) to `*out`.
void AppendAuditLine(AuditRecord* record, std::string* out);

// Parses a stored line and checks that its hash matches its content and
// prev_hash. On success fills `*record` and, when not NULL, `*content_digest`
// with hex(SHA-256(content)). Errors are LIFELINE_E_INVALID_ARGUMENT with a
// message naming the member or the check, never a value.
Status ParseAuditLine(std::string_view line, AuditRecord* record,
                      std::string* content_digest = nullptr);

// The seq of a line, read from its `{"seq":N,` prefix without parsing the
// rest; 0 when the line does not start that way.
std::uint64_t PeekAuditSeq(std::string_view line);

// ---------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------

// An HMAC-SHA256, under a key kept apart from the data keys, over the chain
// head at `seq`. Stored one per line in the checkpoint file:
//   {"seq":N,"hash":"<64 hex>","kid":"c1","mac":"<64 hex>"}
// The MAC covers the bytes "lifeline-audit-checkpoint/v1\n<seq>\n<hash>".
struct AuditCheckpoint {
  std::uint64_t seq = 0;
  std::string hash;
  std::string kid;
  std::string mac;
};

// The bytes the checkpoint MAC is computed over.
std::string AuditCheckpointMessage(std::uint64_t seq, std::string_view hash);

// The line for `checkpoint` (no newline).
std::string FormatAuditCheckpoint(const AuditCheckpoint& checkpoint);

// Parses a checkpoint line (its MAC is not checked here).
Status ParseAuditCheckpoint(std::string_view line, AuditCheckpoint* out);

// ---------------------------------------------------------------------------
// Archive segments
// ---------------------------------------------------------------------------

// The first line of a compressed archive segment: its chain boundaries.
//   {"segment":1,"first_seq":1,"last_seq":500,"count":500,
//    "first_prev_hash":"<64 hex>","last_hash":"<64 hex>"}
struct AuditSegmentHeader {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t count = 0;
  std::string first_prev_hash;
  std::string last_hash;
};

std::string FormatAuditSegmentHeader(const AuditSegmentHeader& header);
Status ParseAuditSegmentHeader(std::string_view line, AuditSegmentHeader* out);

// ---------------------------------------------------------------------------
// Purged segments
// ---------------------------------------------------------------------------

// One archive segment deleted by a purge, as the purge manifest
// (archive/purged.jsonl) records it, one line each:
//   {"purged":1,"first_seq":1,"last_seq":500,"count":500,
//    "first_prev_hash":"<64 hex>","last_hash":"<64 hex>",
//    "max_time":"<RFC 3339>","cutoff":"<RFC 3339>","purged_at":"<RFC 3339>",
//    "audit_seq":1234,"kid":"c1","mac":"<64 hex>"}
// The segment's chain boundaries let the first remaining record link to a
// proven predecessor. The MAC (HMAC-SHA256 under the checkpoint key `kid`)
// covers every other member (AuditPurgeMessage), so an entry cannot be
// edited or forged without that key.
struct AuditPurgeEntry {
  AuditSegmentHeader segment;   // the deleted segment's boundaries
  UnixMillis max_time = 0;      // its youngest record's time
  UnixMillis cutoff = 0;        // the purge's cutoff: every record was older
  UnixMillis purged_at = 0;     // when (the `now` of the purge)
  std::uint64_t audit_seq = 0;  // the ARCHIVE_PURGED record of that purge
  std::string kid;
  std::string mac;
};

// The bytes the purge entry's MAC is computed over:
// "lifeline-audit-purge/v1\n<first_seq>\n<last_seq>\n<first_prev_hash>\n
// <last_hash>\n<max_time ms>\n<cutoff ms>\n<purged_at ms>\n<audit_seq>".
std::string AuditPurgeMessage(const AuditPurgeEntry& entry);

// The manifest line for `entry` (no newline), and its parser (the MAC is not
// checked here). Errors name the member, never a value.
std::string FormatAuditPurgeEntry(const AuditPurgeEntry& entry);
Status ParseAuditPurgeEntry(std::string_view line, AuditPurgeEntry* out);

// What an ARCHIVE_PURGED record says it removed: the `last_seq` member of
// its detail. 0 for any other record (or a detail without it).
std::uint64_t AuditPurgedThrough(const AuditRecord& record);

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

// What is wrong with a chain, at its first bad seq.
enum class AuditFinding {
  kOk,
  kEdited,          // a record's bytes changed, or its link to the previous one broke
  kDeleted,         // a seq is missing and never shows up later
  kReordered,       // a seq is missing here but shows up later (or an old seq repeats)
  kTruncated,       // the chain ends before the last checkpoint's seq
  kBadCheckpoint,   // a checkpoint fails its MAC or disagrees with the chain
  kCorruptArchive,  // an archive segment cannot be read or contradicts its header
  kBadPurgeManifest,  // the purge manifest fails its MAC, does not chain, is
                      // missing what a purge removed, or disagrees with a
                      // segment that is still present
};

// "ok", "edited", "deleted", "reordered", "truncated", "bad_checkpoint",
// "corrupt_archive", "bad_purge_manifest".
const char* AuditFindingName(AuditFinding finding);

// The outcome of a verification.
struct AuditVerifyReport {
  AuditFinding finding = AuditFinding::kOk;
  std::uint64_t first_bad_seq = 0;  // 0 when ok
  std::string message;              // what failed; never a record value
  std::uint64_t records = 0;        // records verified before the finding
  std::uint64_t links = 0;          // omitted records proven by digest (exports)
  std::uint64_t segments = 0;       // archive segments walked
  std::uint64_t checkpoints = 0;    // checkpoints checked
  std::uint64_t first_seq = 0;      // first seq walked
  std::uint64_t last_seq = 0;       // last good seq
  std::string head_hash;            // hash of last_seq
  std::uint64_t torn_tail_bytes = 0;  // an unterminated final line, ignored
  std::uint64_t purged_segments = 0;  // purge manifest entries accepted
  std::uint64_t purged_through = 0;   // the last purged seq: the walk starts after it

  bool ok() const { return finding == AuditFinding::kOk; }

  // {"ok":...,"kind":"...","first_bad_seq":N,"message":"...","records":N,...}
  std::string ToJson() const;
};

// Walks a chain line by line and reports its first bad seq. Feed, in chain
// order: optional checkpoints first (AddCheckpoint), then the purge
// manifest's entries (AddPurged), then for each archive segment
// BeginSegment, its lines, EndSegment; then the live lines; then an
// unterminated final chunk, if any, with AddTornTail. Finish() gives the
// verdict. After a finding the verifier keeps reading only as far as it
// needs to tell "deleted" from "reordered"; `done()` says when more input
// cannot change the verdict.
//
// Not thread-safe; one verifier per walk.
class AuditChainVerifier {
 public:
  AuditChainVerifier();

  // A checkpoint the chain must agree with. `mac_ok` is whether its MAC
  // verified under its key; a checkpoint that does not is reported as
  // kBadCheckpoint when the walk reaches its seq (or when it lies beyond
  // the end of the chain).
  void AddCheckpoint(const AuditCheckpoint& checkpoint, bool mac_ok);

  // Accepts the first line's seq and prev_hash as the anchor instead of
  // requiring seq 1 and the genesis hash (for exports, which start mid-chain).
  void StartAnywhere();

  // A purged segment, from the purge manifest, in seq order and before any
  // line. `mac_ok` is whether its MAC verified. The entries must chain from
  // seq 1 and the genesis hash; the chain then continues after the last one,
  // from its last_hash. A failed MAC or a break is kBadPurgeManifest.
  void AddPurged(const AuditPurgeEntry& entry, bool mac_ok);

  // Something else wrong with the purge manifest or a purged segment (an
  // unreadable manifest line, a segment still present that contradicts its
  // entry). It is a finding.
  void ReportBadPurgeManifest(std::uint64_t seq, std::string message);

  // Archive segment boundaries, checked against the lines that follow.
  void BeginSegment(const AuditSegmentHeader& header);
  void EndSegment();

  // From here on the lines come from the live store. Live lines whose seq and
  // hash repeat the last segment's records (an archive interrupted before
  // the live store was rewritten) are skipped.
  void BeginLive();

  // One complete line, without its newline.
  void AddLine(std::string_view line);

  // An omitted record, proven by its content digest (exports).
  void AddLink(std::uint64_t seq, std::string_view content_digest_hex);

  // An unterminated final chunk. A prefix of a record (what a crash leaves)
  // is ignored and counted in torn_tail_bytes; a complete record followed by
  // a stray byte (a replaced newline) is an edit.
  void AddTornTail(std::string_view chunk);

  // An archive segment that cannot be read. It is a finding, never skipped.
  void ReportCorruptArchive(std::uint64_t seq, std::string message);

  // The seq the next record must have.
  std::uint64_t expected_seq() const { return expected_seq_; }
  // The hash of the last good record (the genesis hash before the first).
  const std::string& head_hash() const { return head_hash_; }

  // True when further input cannot change the verdict.
  bool done() const;

  // The verdict. Call once, after the last input.
  AuditVerifyReport Finish();

 private:
  void Fail(AuditFinding finding, std::uint64_t seq, std::string message);
  void Accept(std::uint64_t seq, const std::string& hash);

  struct CheckpointState {
    std::string hash;
    bool mac_ok = false;
  };

  AuditVerifyReport report_;
  bool anywhere_ = false;
  bool started_ = false;
  std::uint64_t expected_seq_ = 1;
  std::string head_hash_;
  std::map<std::uint64_t, CheckpointState> checkpoints_;
  // A seq was skipped: is it found later (reordered) or not (deleted)?
  bool gap_pending_ = false;
  std::uint64_t gap_seq_ = 0;
  std::string gap_message_;
  // Segment bookkeeping.
  bool in_segment_ = false;
  AuditSegmentHeader segment_;
  std::uint64_t segment_seen_ = 0;
  std::uint64_t segment_first_seq_ = 0;
  std::string segment_first_prev_;
  std::map<std::uint64_t, std::string> last_segment_hashes_;
  bool live_ = false;
  bool final_ = false;
  // The furthest seq an ARCHIVE_PURGED record says was purged, and where
  // that record is: a gap it explains is a manifest problem, not a deletion.
  std::uint64_t claimed_purged_through_ = 0;
  std::uint64_t claimed_purge_record_ = 0;
};

}  // namespace lifeline

#endif  // LIFELINE_AUDIT_CHAIN_HPP_
