// audit_archive.hpp -- compressed archive segments and their index.
// Internal to the library.
//
// A segment is a gzip file archive/seg-<first seq>-<last seq>.jsonl.gz (seqs
// zero-padded to 20 digits) holding a header line (AuditSegmentHeader: the
// chain boundaries) and then the archived record lines, byte for byte as they
// were in the live store. archive/index.sqlite maps seq to time, incidentId
// and callId so archived records stay queryable; it is derived data, never
// trusted by verification, and rebuilt from the segments when it lacks one.
#ifndef LIFELINE_LIB_STORE_AUDIT_ARCHIVE_HPP_
#define LIFELINE_LIB_STORE_AUDIT_ARCHIVE_HPP_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lifeline/audit_chain.hpp"
#include "lifeline/audit_log.hpp"
#include "lifeline/status.hpp"

struct sqlite3;

namespace lifeline::audit_internal {

struct SegmentFile {
  std::string name;  // seg-...jsonl.gz
  std::string path;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
};

std::string SegmentFileName(std::uint64_t first_seq, std::uint64_t last_seq);
bool ParseSegmentFileName(std::string_view name, std::uint64_t* first_seq,
                          std::uint64_t* last_seq);

// The segments in `archive_dir`, ordered by first seq. A missing directory
// has none. Names that are not segment names (e.g. *.tmp) are ignored.
Status ListSegments(const std::string& archive_dir, std::vector<SegmentFile>* out);

// Writes header + lines as a gzip segment: to a temporary name, fsync,
// rename, fsync of the directory. `*out` describes the file written.
Status WriteSegment(const std::string& archive_dir, const AuditSegmentHeader& header,
                    const std::vector<std::string>& lines, SegmentFile* out);

// Decompresses a whole segment (so a damaged one is known before any of its
// lines is used), checks its header against its name, then gives the header
// and the lines. A damaged segment sets `*corrupt` and returns
// LIFELINE_E_STATE with what is wrong; an unreadable file is LIFELINE_E_IO.
Status ReadSegment(const SegmentFile& file, AuditSegmentHeader* header,
                   std::vector<std::string>* lines, bool* corrupt);

// One archived record in the index.
struct IndexRow {
  std::uint64_t seq = 0;
  UnixMillis time = 0;
  std::string incident_id;
  std::string call_id;
};

class ArchiveIndex {
 public:
  static Result<std::unique_ptr<ArchiveIndex>> Open(const std::string& path);
  ~ArchiveIndex();

  // Adds a segment and its rows in one transaction (replacing a previous
  // entry for the same file).
  Status AddSegment(const SegmentFile& file, const AuditSegmentHeader& header,
                    const std::vector<IndexRow>& rows);

  // The segment file names the index knows.
  Status SegmentNames(std::set<std::string>* out);

  // Forgets the segments and records up to and including `through_seq`
  // (they were purged).
  Status RemoveThrough(std::uint64_t through_seq);

  // The seqs of archived records matching `filter`, ascending.
  Status Matching(const AuditFilter& filter, std::vector<std::uint64_t>* seqs);

 private:
  explicit ArchiveIndex(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace lifeline::audit_internal

#endif  // LIFELINE_LIB_STORE_AUDIT_ARCHIVE_HPP_
