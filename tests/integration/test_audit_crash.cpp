// Crash test: a child process appends audit events from three threads and
// acknowledges each one on stdout after Append returned; it is killed with
// SIGKILL in the middle of heavy appending. Reopened, the chain verifies and
// every acknowledged event is there. Three rounds on the same directory.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "lifeline/audit_log.hpp"
#include "support/audit_fixture.hpp"

using namespace audit_test;

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;
};

Child Spawn(const std::string& dir) {
  // LIFELINE_TEST_BIN_DIR, or else this test's own directory: the helpers
  // are built next to the tests.
  std::string bin;
  if (const char* env = std::getenv("LIFELINE_TEST_BIN_DIR")) {
    bin = env;
  } else {
    std::error_code ec;
    bin = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path().string();
  }
  std::string exe = bin + "/lifeline_helper_audit_writer";
  REQUIRE(::access(exe.c_str(), X_OK) == 0);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(exe.c_str(), exe.c_str(), dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(fds[1]);
  return Child{pid, fds[0]};
}

// Reads "ACK <id>" lines into `acked` until at least `want` arrived (or the
// child stops writing), then SIGKILLs the child and drains the pipe.
void RunAndKill(Child child, std::size_t want, std::set<std::string>* acked) {
  std::string pending;
  char buf[65536];
  std::size_t got = 0;
  bool killed = false;
  for (;;) {
    if (!killed && got >= want) {
      ::kill(child.pid, SIGKILL);
      killed = true;
    }
    pollfd p{child.out, POLLIN, 0};
    // A generous guard so a broken helper fails the test instead of hanging
    // it; not a timing assertion.
    int ready = ::poll(&p, 1, 60000);
    REQUIRE(ready > 0);
    ssize_t n = ::read(child.out, buf, sizeof buf);
    if (n <= 0) break;  // EOF: the child is gone
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0, nl;
    while ((nl = pending.find('\n', start)) != std::string::npos) {
      std::string line = pending.substr(start, nl - start);
      start = nl + 1;
      REQUIRE(line.rfind("ACK ", 0) == 0);
      acked->insert(line.substr(4));
      ++got;
    }
    pending.erase(0, start);
  }
  ::close(child.out);
  int status = 0;
  REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
  REQUIRE(killed);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

std::string Hex(unsigned char fill) {
  lifeline::SecretKey key = KeyOf(fill);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    out += digits[key.data()[i] >> 4];
    out += digits[key.data()[i] & 15];
  }
  return out;
}

}  // namespace

TEST_CASE("SIGKILL during heavy appends loses nothing acknowledged and never breaks the chain") {
  ::setenv("LIFELINE_AUDIT_KEY_K1", Hex(0x10).c_str(), 1);
  ::setenv("LIFELINE_AUDIT_KEY_P1", Hex(0x70).c_str(), 1);
  ::setenv("LIFELINE_AUDIT_KEY_C1", Hex(0xa0).c_str(), 1);
  std::string dir = FreshDir("crash");
  lifeline::AuditLogOptions options = TestOptions(dir, std::make_shared<lifeline::EnvKeyProvider>());
  options.checkpoint_every = 50;
  std::set<std::string> acked;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    RunAndKill(Spawn(dir), 1500, &acked);

    auto log = lifeline::AuditLog::Open(options);
    INFO(log.status().message());
    REQUIRE(log.ok());
    auto report = (*log)->Verify();
    REQUIRE(report.ok());
    INFO(report->ToJson());
    CHECK(report->ok());
    std::set<std::string> stored;
    std::uint64_t expected = 1;
    bool gap_free = true;
    REQUIRE((*log)->Read(lifeline::AuditFilter(), lifeline::AuditReader{"analyst", ""}, kT0,
                         [&](const lifeline::AuditView& v) {
                           gap_free = gap_free && v.record.seq == expected++;
                           stored.insert(v.record.detail);
                           return true;
                         })
                .ok());
    CHECK(gap_free);
    std::size_t missing = 0;
    for (const std::string& id : acked) missing += stored.count(id) == 0 ? 1 : 0;
    CHECK(missing == 0);
    CHECK(stored.size() >= acked.size());
    // The raw store never holds a phone number in clear.
    std::string raw = ReadFile(dir + "/audit.log");
    CHECK(raw.find("+15551") == std::string::npos);
    REQUIRE((*log)->Close().ok());
  }
}
