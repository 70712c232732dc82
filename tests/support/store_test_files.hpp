// store_test_files.hpp -- scratch database files for the store tests.
//
// `TempDbPath` names a fresh file under $LIFELINE_TEST_TMP (set by CTest;
// /tmp when run by hand), unique per process and per object, and deletes it
// with its -wal, -shm and -journal companions when destroyed.
//
//   lifeline::testing::TempDbPath db("outbox-reopen");
//   options.database.path = db.path();
#ifndef LIFELINE_TESTS_SUPPORT_STORE_TEST_FILES_HPP_
#define LIFELINE_TESTS_SUPPORT_STORE_TEST_FILES_HPP_

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace lifeline {
namespace testing {

inline std::string TestTmpDir() {
  const char* dir = std::getenv("LIFELINE_TEST_TMP");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

class TempDbPath {
 public:
  explicit TempDbPath(const std::string& label) {
    static std::atomic<int> counter{0};
    path_ = TestTmpDir() + "/" + label + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter.fetch_add(1)) + ".db";
    Remove();
  }
  ~TempDbPath() { Remove(); }
  TempDbPath(const TempDbPath&) = delete;
  TempDbPath& operator=(const TempDbPath&) = delete;

  const std::string& path() const { return path_; }

  void Remove() const {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::remove((path_ + suffix).c_str());
    }
  }

  // Whether the file (without suffix) exists.
  bool Exists() const { return std::ifstream(path_).good(); }

 private:
  std::string path_;
};

}  // namespace testing
}  // namespace lifeline

#endif  // LIFELINE_TESTS_SUPPORT_STORE_TEST_FILES_HPP_
