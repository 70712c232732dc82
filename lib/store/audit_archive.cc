// Archive segments (gzip through zlib) and the SQLite archive index.
#include "store/audit_archive.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "store/audit_store.hpp"

namespace lifeline::audit_internal {
namespace {

constexpr std::string_view kPrefix = "seg-";
constexpr std::string_view kSuffix = ".jsonl.gz";

bool ParseDigits(std::string_view text, std::uint64_t* out) {
  if (text.size() != 20) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    std::uint64_t next = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != v) return false;
    v = next;
  }
  *out = v;
  return true;
}

Status WriteAll(int fd, const unsigned char* data, std::size_t size, const std::string& path) {
  return DefaultAuditFileOps()->Append(fd, reinterpret_cast<const char*>(data), size, path);
}

}  // namespace

std::string SegmentFileName(std::uint64_t first_seq, std::uint64_t last_seq) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "seg-%020" PRIu64 "-%020" PRIu64 ".jsonl.gz", first_seq, last_seq);
  return buf;
}

bool ParseSegmentFileName(std::string_view name, std::uint64_t* first_seq,
                          std::uint64_t* last_seq) {
  if (name.size() != kPrefix.size() + 20 + 1 + 20 + kSuffix.size()) return false;
  if (name.substr(0, kPrefix.size()) != kPrefix) return false;
  if (name.substr(name.size() - kSuffix.size()) != kSuffix) return false;
  if (name[kPrefix.size() + 20] != '-') return false;
  return ParseDigits(name.substr(kPrefix.size(), 20), first_seq) &&
         ParseDigits(name.substr(kPrefix.size() + 21, 20), last_seq);
}

Status ListSegments(const std::string& archive_dir, std::vector<SegmentFile>* out) {
  out->clear();
  DIR* dir = ::opendir(archive_dir.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return Status::Ok();
    return IoError("cannot list " + archive_dir + ": " + std::strerror(errno));
  }
  while (dirent* entry = ::readdir(dir)) {
    SegmentFile file;
    file.name = entry->d_name;
    if (!ParseSegmentFileName(file.name, &file.first_seq, &file.last_seq)) continue;
    file.path = archive_dir + "/" + file.name;
    out->push_back(std::move(file));
  }
  ::closedir(dir);
  std::sort(out->begin(), out->end(), [](const SegmentFile& a, const SegmentFile& b) {
    return a.first_seq < b.first_seq;
  });
  return Status::Ok();
}

Status WriteSegment(const std::string& archive_dir, const AuditSegmentHeader& header,
                    const std::vector<std::string>& lines, SegmentFile* out) {
  SegmentFile file;
  file.first_seq = header.first_seq;
  file.last_seq = header.last_seq;
  file.name = SegmentFileName(header.first_seq, header.last_seq);
  file.path = archive_dir + "/" + file.name;
  std::string tmp = file.path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create " + tmp + ": " + std::strerror(errno));

  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  // windowBits 15 + 16: a gzip wrapper (with its CRC-32), readable by gzip(1).
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return InternalError("deflateInit2 failed");
  }
  std::vector<unsigned char> buf(1 << 16);
  Status s;
  auto feed = [&](std::string_view data, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    do {
      zs.next_out = buf.data();
      zs.avail_out = static_cast<uInt>(buf.size());
      int rc = deflate(&zs, flush);
      if (rc == Z_STREAM_ERROR) {
        s = InternalError("deflate failed");
        return;
      }
      std::size_t have = buf.size() - zs.avail_out;
      if (have > 0) {
        s = WriteAll(fd, buf.data(), have, tmp);
        if (!s.ok()) return;
      }
    } while (zs.avail_out == 0 || (flush == Z_FINISH && zs.avail_in > 0));
  };
  std::string head = FormatAuditSegmentHeader(header);
  head.push_back('\n');
  feed(head, Z_NO_FLUSH);
  std::string line_buf;
  for (const std::string& line : lines) {
    if (!s.ok()) break;
    line_buf.assign(line);
    line_buf.push_back('\n');
    feed(line_buf, Z_NO_FLUSH);
  }
  if (s.ok()) {
    // Finish: loop until deflate reports the stream end.
    for (;;) {
      zs.next_in = nullptr;
      zs.avail_in = 0;
      zs.next_out = buf.data();
      zs.avail_out = static_cast<uInt>(buf.size());
      int rc = deflate(&zs, Z_FINISH);
      std::size_t have = buf.size() - zs.avail_out;
      if (have > 0) {
        s = WriteAll(fd, buf.data(), have, tmp);
        if (!s.ok()) break;
      }
      if (rc == Z_STREAM_END) break;
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        s = InternalError("deflate failed to finish");
        break;
      }
    }
  }
  deflateEnd(&zs);
  if (s.ok()) s = DefaultAuditFileOps()->Sync(fd, tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), file.path.c_str()) != 0) {
    s = IoError("rename of " + tmp + " failed: " + std::strerror(errno));
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  s = SyncDirectory(archive_dir);
  if (!s.ok()) return s;
  *out = std::move(file);
  return Status::Ok();
}

Status ReadSegment(const SegmentFile& file, AuditSegmentHeader* header,
                   std::vector<std::string>* lines, bool* corrupt) {
  *corrupt = false;
  lines->clear();
  std::string compressed;
  Status s = ReadWholeFile(file.path, &compressed);
  if (!s.ok()) return s;
  auto damaged = [&](const std::string& why) {
    *corrupt = true;
    return StateError("archive segment " + file.name + " is corrupt: " + why);
  };

  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return InternalError("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(compressed.data());
  zs.avail_in = static_cast<uInt>(compressed.size());
  std::string plain;
  std::vector<unsigned char> buf(1 << 16);
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = buf.data();
    zs.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
      std::string why = zs.msg != nullptr ? zs.msg : "inflate error";
      inflateEnd(&zs);
      return damaged("gzip data error (" + why + ")");
    }
    plain.append(reinterpret_cast<const char*>(buf.data()), buf.size() - zs.avail_out);
    if (rc == Z_BUF_ERROR || (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)) {
      inflateEnd(&zs);
      return damaged("the gzip stream is truncated");
    }
  }
  bool trailing = zs.avail_in != 0;
  inflateEnd(&zs);
  if (trailing) return damaged("bytes follow the end of the gzip stream");

  std::vector<std::string_view> pieces;
  std::string_view tail;
  SplitLines(plain, &pieces, &tail);
  if (!tail.empty()) return damaged("the last line has no newline");
  if (pieces.empty()) return damaged("there is no header");
  s = ParseAuditSegmentHeader(pieces[0], header);
  if (!s.ok()) return damaged(s.message());
  if (header->first_seq != file.first_seq || header->last_seq != file.last_seq) {
    return damaged("the header does not match the file name");
  }
  lines->reserve(pieces.size() - 1);
  for (std::size_t i = 1; i < pieces.size(); ++i) lines->emplace_back(pieces[i]);
  return Status::Ok();
}

// --- index -------------------------------------------------------------------

namespace {

constexpr const char* kIndexSchema =
    "CREATE TABLE IF NOT EXISTS segments("
    "  file TEXT PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,"
    "  first_prev_hash TEXT NOT NULL, last_hash TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS records("
    "  seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    "  incident_id TEXT NOT NULL, call_id TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS records_incident ON records(incident_id, seq);"
    "CREATE INDEX IF NOT EXISTS records_time ON records(time_ms);";

Status IndexError(sqlite3* db, const std::string& what) {
  return IoError("archive index: " + what + " failed: " +
                 (db != nullptr ? sqlite3_errmsg(db) : "cannot open"));
}

}  // namespace

Result<std::unique_ptr<ArchiveIndex>> ArchiveIndex::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status s = IndexError(db, "open");
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr,
                   nullptr) != SQLITE_OK ||
      sqlite3_exec(db, kIndexSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Status s = IndexError(db, "schema");
    sqlite3_close_v2(db);
    return s;
  }
  return std::unique_ptr<ArchiveIndex>(new ArchiveIndex(db));
}

ArchiveIndex::~ArchiveIndex() { sqlite3_close_v2(db_); }

Status ArchiveIndex::AddSegment(const SegmentFile& file, const AuditSegmentHeader& header,
                                const std::vector<IndexRow>& rows) {
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return IndexError(db_, "begin");
  }
  Status s;
  sqlite3_stmt* seg = nullptr;
  sqlite3_stmt* rec = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO segments(file, first_seq, last_seq, "
                         "first_prev_hash, last_hash) VALUES(?1, ?2, ?3, ?4, ?5)",
                         -1, &seg, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO records(seq, time_ms, incident_id, call_id) "
                         "VALUES(?1, ?2, ?3, ?4)",
                         -1, &rec, nullptr) != SQLITE_OK) {
    s = IndexError(db_, "prepare");
  }
  if (s.ok()) {
    sqlite3_bind_text(seg, 1, file.name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(seg, 2, static_cast<sqlite3_int64>(header.first_seq));
    sqlite3_bind_int64(seg, 3, static_cast<sqlite3_int64>(header.last_seq));
    sqlite3_bind_text(seg, 4, header.first_prev_hash.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(seg, 5, header.last_hash.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(seg) != SQLITE_DONE) s = IndexError(db_, "insert segment");
  }
  for (const IndexRow& row : rows) {
    if (!s.ok()) break;
    sqlite3_reset(rec);
    sqlite3_bind_int64(rec, 1, static_cast<sqlite3_int64>(row.seq));
    sqlite3_bind_int64(rec, 2, row.time);
    sqlite3_bind_text(rec, 3, row.incident_id.data(), static_cast<int>(row.incident_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(rec, 4, row.call_id.data(), static_cast<int>(row.call_id.size()),
                      SQLITE_TRANSIENT);
    if (sqlite3_step(rec) != SQLITE_DONE) s = IndexError(db_, "insert record");
  }
  sqlite3_finalize(seg);
  sqlite3_finalize(rec);
  if (s.ok() && sqlite3_exec(db_, "COMMIT;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    s = IndexError(db_, "commit");
  }
  if (!s.ok()) sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
  return s;
}

Status ArchiveIndex::SegmentNames(std::set<std::string>* out) {
  out->clear();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT file FROM segments", -1, &stmt, nullptr) != SQLITE_OK) {
    return IndexError(db_, "prepare");
  }
  Status s;
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      s = IndexError(db_, "select");
      break;
    }
    out->insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return s;
}

Status ArchiveIndex::RemoveThrough(std::uint64_t through_seq) {
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return IndexError(db_, "begin");
  }
  Status s;
  for (const char* sql : {"DELETE FROM segments WHERE last_seq <= ?1",
                          "DELETE FROM records WHERE seq <= ?1"}) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      s = IndexError(db_, "prepare");
      break;
    }
    sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(through_seq));
    if (sqlite3_step(stmt) != SQLITE_DONE) s = IndexError(db_, "delete");
    sqlite3_finalize(stmt);
    if (!s.ok()) break;
  }
  if (s.ok() && sqlite3_exec(db_, "COMMIT;", nullptr, nullptr, nullptr) != SQLITE_OK) {
    s = IndexError(db_, "commit");
  }
  if (!s.ok()) sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
  return s;
}

Status ArchiveIndex::Matching(const AuditFilter& filter, std::vector<std::uint64_t>* seqs) {
  seqs->clear();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT seq FROM records WHERE (?1 = '' OR incident_id = ?1) "
                         "AND (?2 = '' OR call_id = ?2) AND time_ms >= ?3 AND time_ms < ?4 "
                         "ORDER BY seq",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    return IndexError(db_, "prepare");
  }
  sqlite3_bind_text(stmt, 1, filter.incident_id.data(), static_cast<int>(filter.incident_id.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, filter.call_id.data(), static_cast<int>(filter.call_id.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 3, filter.from);
  sqlite3_bind_int64(stmt, 4, filter.to);
  Status s;
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      s = IndexError(db_, "select");
      break;
    }
    seqs->push_back(static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return s;
}

}  // namespace lifeline::audit_internal
