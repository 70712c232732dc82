// audit_store.hpp -- where the live audit records are kept: an append-only
// JSON Lines file, or an SQLite table. Internal to the library; AuditLog
// chooses one from AuditLogOptions::store.
//
// Both stores hold the exact lines the chain hashes, so verification is the
// same for both. Neither trusts anything but the lines: the SQLite table's
// seq column only speeds up maintenance.
#ifndef LIFELINE_LIB_STORE_AUDIT_STORE_HPP_
#define LIFELINE_LIB_STORE_AUDIT_STORE_HPP_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lifeline/audit_log.hpp"
#include "lifeline/status.hpp"

namespace lifeline::audit_internal {

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Opens or creates the store for appending. An unterminated final line (a
  // write cut by a crash) is cut off; `*torn_bytes` says how many bytes.
  virtual Status Open(std::uint64_t* torn_bytes) = 0;

  // Calls `line` for each complete line in order (without its newline) until
  // it returns false. When `torn` is not NULL it receives an unterminated
  // final chunk, if any. Works whether or not Open was called, and while
  // another thread appends (lines appended meanwhile may or may not be seen).
  virtual Status Scan(const std::function<bool(std::string_view line)>& line,
                      std::string* torn) = 0;

  // The complete lines at the end of the store, oldest first, starting at
  // the last line whose seq is <= back_to_seq (or at the first line).
  // `*from_start` says whether they start at the store's first line.
  virtual Status ReadTail(std::uint64_t back_to_seq, std::vector<std::string>* lines,
                          bool* from_start) = 0;

  // Durably appends `count` newline-terminated lines. On failure nothing of
  // them remains, or (when even that cannot be ensured) `*broken` is set and
  // the store must be reopened.
  virtual Status Append(std::string_view lines, std::uint64_t count, bool* broken) = 0;

  // Removes, atomically and durably, every line up to and including the one
  // with seq `through_seq` (they were archived).
  virtual Status DropThrough(std::uint64_t through_seq) = 0;

  // "file /path" or "sqlite /path", for messages.
  virtual std::string Describe() const = 0;
};

std::unique_ptr<AuditStore> NewAuditFileStore(std::string path, AuditFileOps* ops);
std::unique_ptr<AuditStore> NewAuditSqliteStore(std::string path);

// The default POSIX file operations.
AuditFileOps* DefaultAuditFileOps();

// fsync of a directory, after a rename or a create inside it.
Status SyncDirectory(const std::string& dir);

// Reads a whole file into `*out`; NotFound when it does not exist.
Status ReadWholeFile(const std::string& path, std::string* out);

// Splits `data` into complete lines (without newlines) and an unterminated tail.
void SplitLines(std::string_view data, std::vector<std::string_view>* lines,
                std::string_view* tail);

}  // namespace lifeline::audit_internal

#endif  // LIFELINE_LIB_STORE_AUDIT_STORE_HPP_
