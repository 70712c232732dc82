// Crash safety of the callback pipeline: a child process submitting under
// load is killed with SIGKILL at random points, several times. After each
// restart, every callback it reported committed is eventually delivered;
// a callback reaches the platform more than once only when a kill left it
// in flight, at most once more per kill, and such re-sends are counted.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "lifeline/lifeline.h"
#include "support/child_process.hpp"
#include "support/fake_platforms.hpp"

TEST_CASE("SIGKILL during submissions loses no committed callback, re-sends are bounded and counted") {
  const char* tmp = std::getenv("LIFELINE_TEST_TMP");
  REQUIRE(tmp != nullptr);
  const std::string helper = "lifeline_helper_ivr_submitter";
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
    lifeline::testing::Child child(helper, {outbox, url, std::to_string(kill_number * 1000000), "submit"});
    // Kill at a random point once the child has reported some commits (a
    // count, not a time, so a slow machine or a sanitizer build changes
    // nothing), then a random few milliseconds later, mid-operation.
    const std::size_t reported = 25 + random() % 50;
    REQUIRE(child.ReadUntil(std::chrono::seconds(120), [&](const std::string&) {
      return child.lines().size() >= reported;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 50));
    child.Kill();  // also reads what the child wrote before it died
    committed.insert(child.lines().begin(), child.lines().end());
  }
  REQUIRE(committed.size() >= 125);

  // A last, clean run delivers everything still pending.
  lifeline::testing::Child drain(helper, {outbox, url, "0", "drain"});
  REQUIRE(drain.Wait() == 0);

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
