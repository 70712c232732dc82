// child_process.hpp -- a helper process for crash tests: spawn it with its
// stdout on a pipe, read its report lines, SIGKILL it at any moment.
//
// The crash tests (outbox, cascade) start a helper executable built from
// tests/support/helper_*.cpp, let it work, kill it with SIGKILL at a chosen
// moment and then check that the store it wrote is whole. Catch2's REQUIRE
// and CHECK are used inside, so include it from test files only.
#ifndef LIFELINE_TESTS_SUPPORT_CHILD_PROCESS_HPP_
#define LIFELINE_TESTS_SUPPORT_CHILD_PROCESS_HPP_

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

extern char** environ;

namespace lifeline::testing {

// The helper lives in $LIFELINE_TEST_BIN_DIR. Catch tests may not get that
// variable (tests/CMakeLists.txt passes two ENVIRONMENT entries through
// catch_discover_tests, whose ';' splits them), so fall back to this test's
// own directory, where CMake puts the helpers too.
inline std::string HelperPath(const std::string& name) {
  const char* dir = std::getenv("LIFELINE_TEST_BIN_DIR");
  std::string base;
  if (dir != nullptr && *dir != '\0') {
    base = dir;
  } else {
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    REQUIRE(n > 0);
    base.assign(self, static_cast<size_t>(n));
    base.erase(base.rfind('/'));
  }
  std::string path = base + "/" + name;
  INFO("helper: " << path);
  REQUIRE(::access(path.c_str(), X_OK) == 0);
  return path;
}

// A running child with its stdout on a pipe.
class Child {
 public:
  // Starts the helper executable `helper` (e.g. "lifeline_helper_outbox_writer").
  Child(const std::string& helper, const std::vector<std::string>& args) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    std::string path = HelperPath(helper);
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    INFO("posix_spawn " << path);
    REQUIRE(rc == 0);
    fd_ = fds[0];
  }

  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  // Reads complete lines until `stop(line)` is true, EOF, or `timeout`.
  // Returns whether `stop` matched.
  template <typename Stop>
  bool ReadUntil(std::chrono::milliseconds timeout, Stop stop) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t nl;
      while ((nl = buffer_.find('\n')) != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        lines_.push_back(line);
        if (stop(line)) return true;
      }
      if (eof_) return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready <= 0) continue;
      char chunk[4096];
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) {
        eof_ = true;
      } else {
        buffer_.append(chunk, static_cast<size_t>(n));
      }
    }
  }

  // SIGKILL, reap, and read what the child wrote before dying. A partial
  // last line (cut by the kill) is dropped: it reports nothing.
  void Kill() {
    REQUIRE(::kill(pid_, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    ReadUntil(std::chrono::seconds(10), [](const std::string&) { return false; });
  }

  // Waits for a normal exit; returns the exit status.
  int Wait() {
    ReadUntil(std::chrono::seconds(120), [](const std::string&) { return false; });
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
  }

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
  std::vector<std::string> lines_;
};

}  // namespace lifeline::testing

#endif  // LIFELINE_TESTS_SUPPORT_CHILD_PROCESS_HPP_
