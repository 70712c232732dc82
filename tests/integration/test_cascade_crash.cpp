// The cascade under SIGKILL: a real child process (lifeline_helper_cascade_runner)
// runs a P1 mass activation of 500 stakeholders on a DurableCascade file with
// a carrier that throttles (429) after 150 SMS; the test kills it at random
// moments, restarts it, and finally lets it finish. It checks that
//
//   - no message is sent twice for the same attempt, except a message whose
//     outcome was unknown at a kill, re-sent at most once and flagged as such;
//   - no endpoint's throttle (50 per 1000 ms, sliding) is exceeded, across
//     restarts (the throttle's history is restored from the journal);
//   - nobody is lost: all 500 end ACKNOWLEDGED or ESCALATED, exactly the
//     never-answering third escalated at least, within the bound the config
//     implies (timers resume as the same UTC instants).
//
// The seed is printed; set LIFELINE_TEST_SEED to replay a run's kill points.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/store_test_files.hpp"

using lifeline::testing::TempDbPath;

namespace {

// The cascade runner as a child process (tests/support/child_process.hpp).
class Child : public lifeline::testing::Child {
 public:
  explicit Child(const std::vector<std::string>& args)
      : lifeline::testing::Child("lifeline_helper_cascade_runner", args) {}
};

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

constexpr std::int64_t kT0 = 1'716'215'520'000;

}  // namespace

TEST_CASE("SIGKILL during a mass activation: no duplicate sends, throttle kept, nobody lost") {
  std::uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("LIFELINE_TEST_SEED")) seed = std::strtoull(s, nullptr, 10);
  INFO("LIFELINE_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);
  TempDbPath db("cascade-crash");
  const int kMembers = 500;
  const std::vector<std::string> args = {db.path(), std::to_string(kMembers)};
  // Killed runs send slowly (5 ms per POST, see the helper), so a kill right
  // after a SENT line usually lands while that send's outcome is unknown.
  std::vector<std::string> slow_args = args;
  slow_args.push_back("slow");

  std::vector<std::string> lines;
  int kills = 0;
  bool finished = false;
  for (int run = 0; run < 4 && !finished; ++run) {
    Child child(slow_args);
    int want = std::uniform_int_distribution<int>(20, 250)(rng);
    int seen = 0;
    bool done = child.ReadUntil(std::chrono::seconds(60), [&](const std::string& l) {
      if (StartsWith(l, "DONE")) return true;
      if (StartsWith(l, "SENT") || StartsWith(l, "REFUSED")) ++seen;
      return seen >= want;
    });
    if (done && StartsWith(child.lines().back(), "DONE")) {
      REQUIRE(child.Wait() == 0);
      finished = true;
    } else {
      // Let it run a little further, then kill it mid-flight.
      ::usleep(static_cast<useconds_t>(std::uniform_int_distribution<int>(0, 2000)(rng)));
      child.Kill();
      ++kills;
    }
    lines.insert(lines.end(), child.lines().begin(), child.lines().end());
  }
  if (!finished) {
    Child child(args);
    REQUIRE(child.Wait() == 0);
    lines.insert(lines.end(), child.lines().begin(), child.lines().end());
  }
  INFO("kills: " << kills);
  REQUIRE(kills >= 1);
  REQUIRE_FALSE(lines.empty());
  REQUIRE(StartsWith(lines.back(), "DONE "));

  std::map<std::uint64_t, int> first_sends, resends;
  std::map<std::string, std::deque<std::int64_t>> taken;  // endpoint -> take times
  std::map<std::string, int> max_in_window;
  std::int64_t last_take = 0;
  for (const std::string& l : lines) {
    std::istringstream in(l);
    std::string word;
    in >> word;
    std::uint64_t id = 0;
    std::int64_t at = 0;
    std::string endpoint;
    if (word == "SENT") {
      int resend = 0;
      in >> id >> resend >> endpoint >> at;
      if (resend) {
        ++resends[id];
        continue;  // outside the throttle: a re-send of an already-counted take
      }
      ++first_sends[id];
    } else if (word == "REFUSED") {
      in >> id >> at;
      endpoint = "sms";
    } else {
      continue;
    }
    // Sim time never goes back across restarts.
    CHECK(at >= last_take);
    last_take = at;
    auto& q = taken[endpoint];
    q.push_back(at);
    while (!q.empty() && q.front() <= at - 1000) q.pop_front();
    max_in_window[endpoint] = std::max<int>(max_in_window[endpoint], static_cast<int>(q.size()));
  }
  for (const auto& [endpoint, n] : max_in_window) {
    INFO("endpoint " << endpoint);
    CHECK(n <= 50);
  }
  CHECK(max_in_window["sms"] == 50);  // the mass activation did hit the limit
  int twice = 0;
  for (const auto& [id, n] : first_sends) {
    INFO("message " << id);
    CHECK(n == 1);
  }
  for (const auto& [id, n] : resends) {
    INFO("message " << id);
    CHECK(n == 1);
    ++twice;
  }
  // Only messages in flight at a kill are re-sent: at most one tick's batch
  // (50 per endpoint, 3 endpoints) per kill.
  CHECK(twice <= kills * 150);
  // The unknown-outcome path did run (a kill inside a 5 ms send window).
  CHECK(twice >= 1);

  std::istringstream done(lines.back());
  std::string word;
  int acked = 0, escalated = 0, other = 0;
  std::int64_t end = 0;
  done >> word >> acked >> escalated >> other >> end;
  CHECK(other == 0);
  CHECK(acked + escalated == kMembers);
  CHECK(escalated >= kMembers / 3);
  CHECK(acked <= kMembers - kMembers / 3);
  // Two channels, each at worst 4 attempts x (120 s receipt timeout) plus
  // retry waits 15 + 30 + 60 s, plus two 90 s holds and a minute of throttling.
  CHECK(end - kT0 <= 2 * (4 * 120'000 + 105'000) + 2 * 90'000 + 60'000);
}
