// The default audit store: an append-only JSON Lines file, fsynced per
// group commit, repaired (torn tail cut) on open.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lifeline/audit_chain.hpp"
#include "store/audit_store.hpp"

namespace lifeline {

namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

}  // namespace

Status AuditFileOps::Append(int fd, const char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("write to " + path + " failed: " + ErrnoText(errno));
    if (n == 0) return IoError("write to " + path + " made no progress");
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status AuditFileOps::Sync(int fd, const std::string& path) {
  while (::fdatasync(fd) != 0) {
    if (errno == EINTR) continue;
    return IoError("fdatasync of " + path + " failed: " + ErrnoText(errno));
  }
  return Status::Ok();
}

Status AuditFileOps::Truncate(int fd, off_t size, const std::string& path) {
  while (::ftruncate(fd, size) != 0) {
    if (errno == EINTR) continue;
    return IoError("ftruncate of " + path + " failed: " + ErrnoText(errno));
  }
  return Status::Ok();
}

namespace audit_internal {

AuditFileOps* DefaultAuditFileOps() {
  static AuditFileOps ops;
  return &ops;
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open directory " + dir + ": " + ErrnoText(errno));
  int rc;
  while ((rc = ::fsync(fd)) != 0 && errno == EINTR) {
  }
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("fsync of directory " + dir + " failed: " + ErrnoText(err));
  return Status::Ok();
}

Status ReadWholeFile(const std::string& path, std::string* out) {
  out->clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(path + " does not exist");
    return IoError("cannot open " + path + ": " + ErrnoText(errno));
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return IoError("read of " + path + " failed: " + ErrnoText(err));
    }
    if (n == 0) break;
    out->append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return Status::Ok();
}

void SplitLines(std::string_view data, std::vector<std::string_view>* lines,
                std::string_view* tail) {
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = data.find('\n', start);
    if (nl == std::string_view::npos) break;
    lines->push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  *tail = data.substr(start);
}

namespace {

std::string DirName(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status PRead(int fd, char* buf, std::size_t size, off_t offset, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::pread(fd, buf, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("read of " + path + " failed: " + ErrnoText(errno));
    if (n == 0) return IoError("read of " + path + " ended early");
    buf += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return Status::Ok();
}

class FileStore final : public AuditStore {
 public:
  FileStore(std::string path, AuditFileOps* ops) : path_(std::move(path)), ops_(ops) {}
  ~FileStore() override {
    if (fd_ >= 0) ::close(fd_);
  }

  std::string Describe() const override { return "file " + path_; }

  Status Open(std::uint64_t* torn_bytes) override {
    *torn_bytes = 0;
    bool existed = ::access(path_.c_str(), F_OK) == 0;
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) return IoError("cannot open " + path_ + ": " + ErrnoText(errno));
    if (!existed) {
      Status s = SyncDirectory(DirName(path_));
      if (!s.ok()) return s;
    }
    struct stat st;
    if (::fstat(fd_, &st) != 0) return IoError("cannot stat " + path_ + ": " + ErrnoText(errno));
    off_t size = st.st_size;
    // Find the end of the last complete line, reading backwards.
    off_t end = size;
    off_t keep = 0;
    char buf[1 << 16];
    while (end > 0) {
      off_t start = std::max<off_t>(0, end - static_cast<off_t>(sizeof buf));
      Status s = PRead(fd_, buf, static_cast<std::size_t>(end - start), start, path_);
      if (!s.ok()) return s;
      const char* found = static_cast<const char*>(
          ::memrchr(buf, '\n', static_cast<std::size_t>(end - start)));
      if (found != nullptr) {
        keep = start + (found - buf) + 1;
        break;
      }
      end = start;
    }
    if (keep < size) {
      // A torn write: the bytes after the last newline were never
      // acknowledged. Cut them so the next record starts on a fresh line.
      Status s = ops_->Truncate(fd_, keep, path_);
      if (s.ok()) s = ops_->Sync(fd_, path_);
      if (!s.ok()) return s;
      *torn_bytes = static_cast<std::uint64_t>(size - keep);
    }
    size_ = keep;
    return Status::Ok();
  }

  Status Scan(const std::function<bool(std::string_view)>& line, std::string* torn) override {
    if (torn != nullptr) torn->clear();
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::Ok();
      return IoError("cannot open " + path_ + ": " + ErrnoText(errno));
    }
    std::string carry;
    std::string buf(1 << 20, '\0');
    bool stop = false;
    Status result;
    while (!stop) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        result = IoError("read of " + path_ + " failed: " + ErrnoText(errno));
        break;
      }
      if (n == 0) break;
      std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (;;) {
        std::size_t nl = chunk.find('\n', start);
        if (nl == std::string_view::npos) break;
        std::string_view piece = chunk.substr(start, nl - start);
        start = nl + 1;
        if (!carry.empty()) {
          carry.append(piece);
          stop = !line(carry);
          carry.clear();
        } else {
          stop = !line(piece);
        }
        if (stop) break;
      }
      if (!stop) carry.append(chunk.substr(start));
    }
    ::close(fd);
    if (result.ok() && !stop && torn != nullptr) *torn = std::move(carry);
    return result;
  }

  Status ReadTail(std::uint64_t back_to_seq, std::vector<std::string>* lines,
                  bool* from_start) override {
    lines->clear();
    *from_start = true;
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::Ok();
      return IoError("cannot open " + path_ + ": " + ErrnoText(errno));
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return IoError("cannot stat " + path_ + ": " + ErrnoText(err));
    }
    off_t size = st.st_size;
    off_t window = 1 << 16;
    Status result;
    for (;;) {
      off_t start = std::max<off_t>(0, size - window);
      std::string data(static_cast<std::size_t>(size - start), '\0');
      result = PRead(fd, data.data(), data.size(), start, path_);
      if (!result.ok()) break;
      std::string_view view(data);
      if (start > 0) {
        std::size_t nl = view.find('\n');
        view = nl == std::string_view::npos ? std::string_view() : view.substr(nl + 1);
      }
      std::vector<std::string_view> found;
      std::string_view tail;
      SplitLines(view, &found, &tail);
      std::size_t first = found.size();
      for (std::size_t i = found.size(); i-- > 0;) {
        std::uint64_t seq = PeekAuditSeq(found[i]);
        if (seq != 0 && seq <= back_to_seq) {
          first = i;
          break;
        }
      }
      if (first == found.size() && start == 0) first = 0;
      if (first < found.size() || start == 0) {
        *from_start = start == 0 && first == 0;
        for (std::size_t i = first; i < found.size(); ++i) lines->emplace_back(found[i]);
        break;
      }
      window *= 4;
    }
    ::close(fd);
    return result;
  }

  Status Append(std::string_view lines, std::uint64_t, bool* broken) override {
    if (fd_ < 0) return StateError("the audit store is not open");
    Status s = ops_->Append(fd_, lines.data(), lines.size(), path_);
    if (!s.ok()) {
      // Nothing of this batch may stay: cut back to the last durable byte.
      Status cut = ops_->Truncate(fd_, size_, path_);
      if (!cut.ok()) *broken = true;
      return s;
    }
    s = ops_->Sync(fd_, path_);
    if (!s.ok()) {
      // After a failed fsync the kernel may have dropped the dirty pages:
      // what is on disk is unknown until the file is reopened and checked.
      *broken = true;
      return s;
    }
    size_ += static_cast<off_t>(lines.size());
    return Status::Ok();
  }

  Status DropThrough(std::uint64_t through_seq) override {
    // Find where the remaining lines start.
    off_t offset = 0;
    bool found = false;
    Status s = Scan(
        [&](std::string_view line) {
          offset += static_cast<off_t>(line.size() + 1);
          if (PeekAuditSeq(line) == through_seq) {
            found = true;
            return false;
          }
          return true;
        },
        nullptr);
    if (!s.ok()) return s;
    if (!found) return StateError("seq " + std::to_string(through_seq) + " is not in " + path_);

    std::string tmp = path_ + ".tmp";
    int in = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return IoError("cannot open " + path_ + ": " + ErrnoText(errno));
    int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
      int err = errno;
      ::close(in);
      return IoError("cannot create " + tmp + ": " + ErrnoText(err));
    }
    std::string buf(1 << 20, '\0');
    off_t pos = offset;
    off_t written = 0;
    for (;;) {
      ssize_t n = ::pread(in, buf.data(), buf.size(), pos);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = IoError("read of " + path_ + " failed: " + ErrnoText(errno));
        break;
      }
      if (n == 0) break;
      // Only complete lines move: a torn tail cannot exist while we hold
      // the writer role, but stay safe.
      s = ops_->Append(out, buf.data(), static_cast<std::size_t>(n), tmp);
      if (!s.ok()) break;
      pos += n;
      written += n;
    }
    ::close(in);
    if (s.ok()) s = ops_->Sync(out, tmp);
    ::close(out);
    if (s.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) {
      s = IoError("rename of " + tmp + " failed: " + ErrnoText(errno));
    }
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
    s = SyncDirectory(DirName(path_));
    if (!s.ok()) return s;
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
      if (fd_ < 0) return IoError("cannot reopen " + path_ + ": " + ErrnoText(errno));
      size_ = written;
    }
    return Status::Ok();
  }

 private:
  std::string path_;
  AuditFileOps* ops_;
  int fd_ = -1;
  off_t size_ = 0;
};

}  // namespace

std::unique_ptr<AuditStore> NewAuditFileStore(std::string path, AuditFileOps* ops) {
  return std::make_unique<FileStore>(std::move(path), ops == nullptr ? DefaultAuditFileOps() : ops);
}

}  // namespace audit_internal
}  // namespace lifeline
