// faulty_sqlite_vfs.hpp -- a SQLite VFS that fails writes or syncs on demand.
//
// Overview: SQLite tests its own crash and I/O-error handling with VFS shims
// that inject faults. This is the same idea for Lifeline's stores: a VFS
// named "lifeline-faulty" forwards every call to the default VFS, except that
// when armed it fails the Nth write or sync of a chosen kind of file (the
// WAL, or the main database) with SQLITE_IOERR_WRITE / SQLITE_IOERR_FSYNC.
//
// Example:
//
//   auto& vfs = lifeline::testing::FaultySqliteVfs::Get();
//   options.database.vfs = vfs.name();
//   ...open the store...
//   vfs.Arm(FaultySqliteVfs::Op::kWrite, FaultySqliteVfs::File::kWal, 0);
//   CHECK(store->Enqueue(record).code() == StatusCode::kIo);
//   vfs.Disarm();
//
// Thread-safety: arming and the injected calls are guarded by one mutex.
#ifndef LIFELINE_TESTS_SUPPORT_FAULTY_SQLITE_VFS_HPP_
#define LIFELINE_TESTS_SUPPORT_FAULTY_SQLITE_VFS_HPP_

#include <sqlite3.h>

#include <cstring>
#include <mutex>

namespace lifeline {
namespace testing {

class FaultySqliteVfs {
 public:
  enum class Op { kWrite, kSync };
  enum class File { kWal, kMainDb };

  // The process-wide instance, registered (not as the default) on first use.
  static FaultySqliteVfs& Get() {
    static FaultySqliteVfs* instance = new FaultySqliteVfs();
    return *instance;
  }

  const char* name() const { return "lifeline-faulty"; }

  // The (skip + 1)-th matching call from now on fails, and so does every
  // matching call after it until Disarm() (a disk that stays broken).
  void Arm(Op op, File file, int skip) {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
    op_ = op;
    file_ = file;
    skip_ = skip;
  }

  void Disarm() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = false;
  }

  // How many calls have been failed since the process started.
  int injected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return injected_;
  }

 private:
  struct FaultyFile {
    sqlite3_file base;  // must be first: SQLite sees this
    sqlite3_file* real;
    File kind;
  };

  FaultySqliteVfs() {
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    vfs_ = *real;
    vfs_.pNext = nullptr;
    vfs_.zName = "lifeline-faulty";
    vfs_.pAppData = real;
    vfs_.szOsFile = static_cast<int>(sizeof(FaultyFile)) + real->szOsFile;
    vfs_.xOpen = &FaultySqliteVfs::Open;
    std::memset(&methods_, 0, sizeof(methods_));
    methods_.iVersion = 3;
    methods_.xClose = [](sqlite3_file* f) {
      sqlite3_file* real = Real(f);
      int rc = real->pMethods != nullptr ? real->pMethods->xClose(real) : SQLITE_OK;
      return rc;
    };
    methods_.xRead = [](sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
      return Real(f)->pMethods->xRead(Real(f), buf, n, off);
    };
    methods_.xWrite = [](sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
      if (Get().ShouldFail(Op::kWrite, Kind(f))) return SQLITE_IOERR_WRITE;
      return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
    };
    methods_.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      return Real(f)->pMethods->xTruncate(Real(f), size);
    };
    methods_.xSync = [](sqlite3_file* f, int flags) {
      if (Get().ShouldFail(Op::kSync, Kind(f))) return SQLITE_IOERR_FSYNC;
      return Real(f)->pMethods->xSync(Real(f), flags);
    };
    methods_.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
      return Real(f)->pMethods->xFileSize(Real(f), size);
    };
    methods_.xLock = [](sqlite3_file* f, int level) {
      return Real(f)->pMethods->xLock(Real(f), level);
    };
    methods_.xUnlock = [](sqlite3_file* f, int level) {
      return Real(f)->pMethods->xUnlock(Real(f), level);
    };
    methods_.xCheckReservedLock = [](sqlite3_file* f, int* out) {
      return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
    };
    methods_.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      return Real(f)->pMethods->xFileControl(Real(f), op, arg);
    };
    methods_.xSectorSize = [](sqlite3_file* f) {
      return Real(f)->pMethods->xSectorSize(Real(f));
    };
    methods_.xDeviceCharacteristics = [](sqlite3_file* f) {
      return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
    };
    methods_.xShmMap = [](sqlite3_file* f, int pg, int pgsz, int extend, void volatile** p) {
      return Real(f)->pMethods->xShmMap(Real(f), pg, pgsz, extend, p);
    };
    methods_.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
      return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
    };
    methods_.xShmBarrier = [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); };
    methods_.xShmUnmap = [](sqlite3_file* f, int del) {
      return Real(f)->pMethods->xShmUnmap(Real(f), del);
    };
    methods_.xFetch = [](sqlite3_file* f, sqlite3_int64 off, int amt, void** p) {
      return Real(f)->pMethods->xFetch(Real(f), off, amt, p);
    };
    methods_.xUnfetch = [](sqlite3_file* f, sqlite3_int64 off, void* p) {
      return Real(f)->pMethods->xUnfetch(Real(f), off, p);
    };
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/0);
  }

  static sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<FaultyFile*>(f)->real; }
  static File Kind(sqlite3_file* f) { return reinterpret_cast<FaultyFile*>(f)->kind; }

  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
                  int* out_flags) {
    sqlite3_vfs* real_vfs = static_cast<sqlite3_vfs*>(vfs->pAppData);
    auto* faulty = reinterpret_cast<FaultyFile*>(file);
    faulty->real = reinterpret_cast<sqlite3_file*>(faulty + 1);
    faulty->kind = (flags & SQLITE_OPEN_WAL) != 0 ? File::kWal : File::kMainDb;
    int rc = real_vfs->xOpen(real_vfs, name, faulty->real, flags, out_flags);
    // SQLite calls xClose only when pMethods is set; mirror the real file.
    faulty->base.pMethods = faulty->real->pMethods != nullptr ? &Get().methods_ : nullptr;
    return rc;
  }

  bool ShouldFail(Op op, File file) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!armed_ || op != op_ || file != file_) return false;
    if (skip_ > 0) {
      --skip_;
      return false;
    }
    ++injected_;
    return true;
  }

  sqlite3_vfs vfs_;
  sqlite3_io_methods methods_;
  mutable std::mutex mu_;
  bool armed_ = false;
  Op op_ = Op::kWrite;
  File file_ = File::kWal;
  int skip_ = 0;
  int injected_ = 0;
};

}  // namespace testing
}  // namespace lifeline

#endif  // LIFELINE_TESTS_SUPPORT_FAULTY_SQLITE_VFS_HPP_
