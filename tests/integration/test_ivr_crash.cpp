// Crash safety of the callback pipeline: a child process submitting under
// load is killed with SIGKILL at random points, several times. After each
// restart, every callback it reported committed is eventually delivered;
// a callback reaches the platform more than once only when a kill left it
// in flight, at most once more per kill, and such re-sends are counted.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "support/fake_platforms.hpp"

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;
};

Child Spawn(const std::string& exe, const std::vector<std::string>& args) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  return {pid, pipe_fds[0]};
}

// Reads whole lines from the child until EOF.
void ReadLines(int fd, std::set<std::string>* lines) {
  std::string buffer;
  char chunk[4096];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof chunk)) > 0) {
    buffer.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      lines->insert(buffer.substr(0, nl));
      buffer.erase(0, nl + 1);
    }
  }
  close(fd);  // a torn last line (no newline) was never reported committed
}

}  // namespace

TEST_CASE("SIGKILL during submissions loses no committed callback, re-sends are bounded and counted") {
  // Helpers are built next to the test executable.
  char self[4096];
  ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  REQUIRE(length > 0);
  std::string bin(self, static_cast<size_t>(length));
  bin = bin.substr(0, bin.rfind('/'));
  const char* tmp = std::getenv("LIFELINE_TEST_TMP");
  REQUIRE(tmp != nullptr);
  std::string exe = bin + "/lifeline_helper_ivr_submitter";
  std::string outbox = std::string(tmp) + "/ivr_crash_outbox.sqlite";
  std::remove(outbox.c_str());
  std::remove((outbox + "-wal").c_str());
  std::remove((outbox + "-shm").c_str());

  lifeline::testing::FakeWebhook hook;
  // Slow answers keep requests in flight when the kill comes.
  hook.server().DelayRequests(1000000, std::chrono::milliseconds(3));
  std::string url = hook.base_url() + "/callbacks";

  std::mt19937 random(11);
  std::set<std::string> committed;
  const int kKills = 5;
  for (int kill_number = 0; kill_number < kKills; ++kill_number) {
    Child child = Spawn(exe, {outbox, url, std::to_string(kill_number * 1000000), "submit"});
    std::set<std::string> lines;
    std::thread reader([&] { ReadLines(child.out, &lines); });
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 400));
    REQUIRE(kill(child.pid, SIGKILL) == 0);
    int status = 0;
    waitpid(child.pid, &status, 0);
    reader.join();
    CHECK(WIFSIGNALED(status));
    committed.insert(lines.begin(), lines.end());
  }
  REQUIRE(committed.size() > 100);

  // A last, clean run delivers everything still pending.
  Child child = Spawn(exe, {outbox, url, "0", "drain"});
  std::set<std::string> lines;
  ReadLines(child.out, &lines);
  int status = 0;
  waitpid(child.pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  auto deliveries = hook.deliveries();
  int extra = 0;
  for (const auto& id : committed) {
    INFO(id);
    auto it = deliveries.find(id);
    REQUIRE(it != deliveries.end());          // nothing committed is lost
    CHECK(it->second <= 1 + kKills);          // at most once more per kill
    extra += it->second - 1;
  }
  // Every extra delivery is a counted re-send: read the count back.
  lifeline_engine_t* engine = nullptr;
  std::string config = R"({"platform":"webhook","webhook":{"url":")" + url + R"("},"outbox":{"path":")" +
                       outbox + R"("}})";
  REQUIRE(lifeline_engine_open(config.c_str(), &engine) == LIFELINE_OK);
  std::vector<char> metrics(8192);
  size_t needed = 0;
  REQUIRE(lifeline_metrics_json(engine, metrics.data(), metrics.size(), &needed) == LIFELINE_OK);
  std::string m = metrics.data();
  size_t at = m.find("\"callbacks_resent\":");
  REQUIRE(at != std::string::npos);
  long resent = std::atol(m.c_str() + at + 19);
  INFO(m);
  CHECK(extra <= resent);
  CHECK(m.find("\"outbox_depth\":0") != std::string::npos);
  lifeline_engine_close(engine);
}
