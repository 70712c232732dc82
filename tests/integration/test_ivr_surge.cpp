// A surge: 10,000 calls in a burst, with repeated callers, some pressing 1,
// through the call-flow C ABI; a fake Genesys on loopback that throttles with
// 429 + Retry-After; a manual clock stepped one second at a time so every
// request the server saw is placed in simulated time.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lifeline/lifeline.h"
#include "support/fake_platforms.hpp"

namespace {
constexpr int64_t kStart = 1795000000000;
constexpr int64_t kLimit = 500;
constexpr int64_t kPeriod = 60000;
}  // namespace

TEST_CASE("Surge: 10,000 calls, exactly-once delivery, exact rate limit, Retry-After respected") {
  lifeline::testing::FakeGenesys genesys("Basic Y2lkOnNlYw==", "emergency-q");
  // The platform throttles twice during the surge.
  std::string config = R"({"platform":"genesys","genesys":{"api_base_url":")" + genesys.base_url() +
                       R"(","login_base_url":")" + genesys.base_url() +
                       R"(","client_id":"cid","client_secret":"sec","queue_id":"emergency-q"},
      "failover":{"initial_mode":"FAILOVER","media_channel_capacity":100},
      "rate_limit":{"requests":500,"period_ms":60000}})";
  lifeline_clock_t* clock = nullptr;
  lifeline_engine_t* engine = nullptr;
  REQUIRE(lifeline_clock_new_manual(kStart, &clock) == LIFELINE_OK);
  REQUIRE(lifeline_engine_open_with_clock(config.c_str(), clock, &engine) == LIFELINE_OK);

  std::mt19937_64 random(7);
  std::set<std::string> consented_callers;
  std::set<std::string> recorded_ids;
  int duplicates_confirmed = 0, confirmations = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string ani = "+1415555" + std::to_string(1000 + random() % 4000);
    bool presses_one = random() % 100 < 60;
    std::string json = R"({"callId":"s-)" + std::to_string(i) + R"(","ani":")" + ani +
                       R"(","originalQueueId":"q-sales"})";
    int entry = -1;
    lifeline_call_t* call = nullptr;
    lifeline_action action;
    REQUIRE(lifeline_call_begin(engine, json.c_str(), &entry, &call, &action) == LIFELINE_OK);
    REQUIRE(entry == LIFELINE_ENTRY_FAILOVER);
    int guard = 0;
    while (action.kind == LIFELINE_ACTION_PLAY && guard++ < 4) {
      REQUIRE(lifeline_call_event(call, LIFELINE_EVENT_PROMPT_FINISHED, nullptr, &action) == LIFELINE_OK);
    }
    REQUIRE(action.kind == LIFELINE_ACTION_COLLECT_DIGITS);
    if (presses_one) {
      REQUIRE(lifeline_call_event(call, LIFELINE_EVENT_DIGITS, "1", &action) == LIFELINE_OK);
      // The confirmation comes back at once: the caller never waits on the API.
      REQUIRE(action.kind == LIFELINE_ACTION_PLAY);
      REQUIRE(action.prompt == LIFELINE_PROMPT_CONFIRMATION);
      ++confirmations;
      char id[LIFELINE_REQUEST_ID_BUFFER_SIZE];
      REQUIRE(lifeline_call_request_id(call, id, sizeof id) == LIFELINE_OK);
      if (!consented_callers.insert(ani).second) ++duplicates_confirmed;
      recorded_ids.insert(id);
    } else {
      REQUIRE(lifeline_call_event(call, LIFELINE_EVENT_TIMEOUT, nullptr, &action) == LIFELINE_OK);
    }
    lifeline_call_end(call);
  }
  // One request id per distinct consenting caller: the burst is within one
  // dedup window, so a repeated caller maps to the first request.
  CHECK(recorded_ids.size() == consented_callers.size());
  CHECK(duplicates_confirmed > 0);

  // Step through simulated time; place every request the server saw.
  struct Seen {
    int64_t at;
    int status;
  };
  std::vector<Seen> posts;
  size_t seen = 0;
  int64_t t = kStart;
  int throttles_added = 0;
  while (genesys.delivered_total() < recorded_ids.size() && t < kStart + 3600000) {
    if ((throttles_added == 0 && t >= kStart + 30000) || (throttles_added == 1 && t >= kStart + 150000)) {
      genesys.server().AddFault({lifeline::testing::FaultAction::kRespond, 429, 7, R"({})",
                                 std::chrono::milliseconds(0), 2, std::chrono::milliseconds(0), "POST",
                                 "/api/v2/conversations/callbacks"});
      ++throttles_added;
    }
    REQUIRE(lifeline_engine_settle(engine, 30000) == LIFELINE_OK);
    auto requests = genesys.server().requests();
    for (; seen < requests.size(); ++seen) {
      if (requests[seen].path == "/api/v2/conversations/callbacks") {
        posts.push_back({t, requests[seen].response_status});
      }
    }
    t += 1000;
    REQUIRE(lifeline_clock_set(clock, t) == LIFELINE_OK);
  }
  REQUIRE(lifeline_engine_drain(engine, 30000) == LIFELINE_OK);

  // Every consented unique callback arrived exactly once.
  auto deliveries = genesys.deliveries();
  CHECK(deliveries.size() == recorded_ids.size());
  for (const auto& id : recorded_ids) {
    INFO(id);
    CHECK(deliveries[id] == 1);
  }
  CHECK(genesys.violations().empty());

  // Never more than the limit in any window of one period (every POST counts,
  // throttled ones too).
  for (size_t i = 0; i < posts.size(); ++i) {
    size_t j = i;
    while (j < posts.size() && posts[j].at < posts[i].at + kPeriod) ++j;
    INFO("window starting at " << posts[i].at - kStart);
    REQUIRE(static_cast<int64_t>(j - i) <= kLimit);
  }
  // No request before a Retry-After it was given has passed (7 s).
  int throttled = 0;
  for (size_t i = 0; i < posts.size(); ++i) {
    if (posts[i].status != 429) continue;
    ++throttled;
    for (size_t j = i + 1; j < posts.size(); ++j) {
      if (posts[j].at == posts[i].at) continue;  // answered in the same step, before the 429 arrived
      INFO("a POST " << posts[j].at - posts[i].at << " ms after a 429 with Retry-After: 7");
      CHECK(posts[j].at >= posts[i].at + 7000);
      break;
    }
  }
  CHECK(throttled >= 2);

  std::vector<char> metrics(8192);
  size_t needed = 0;
  REQUIRE(lifeline_metrics_json(engine, metrics.data(), metrics.size(), &needed) == LIFELINE_OK);
  std::string m = metrics.data();
  CHECK(m.find("\"callbacks_delivered\":" + std::to_string(recorded_ids.size())) != std::string::npos);
  CHECK(m.find("\"callbacks_resent\":0") != std::string::npos);
  CHECK(m.find("\"media_channels_active\":0") != std::string::npos);
  lifeline_engine_close(engine);
  lifeline_clock_free(clock);
}
