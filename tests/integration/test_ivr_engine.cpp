// The IVR engine end to end through the C ABI: real HTTP on loopback against
// fake Genesys / CXone / webhook servers, a real SQLite outbox, and a manual
// clock so Retry-After, backoff and rate limits are checked exactly.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "lifeline/lifeline.h"
#include "support/fake_platforms.hpp"

using lifeline::testing::FakeCxone;
using lifeline::testing::FakeGenesys;
using lifeline::testing::FakeWebhook;

namespace {

constexpr int64_t kStart = 1795000000000;  // 2026-11-18T...Z, a Wednesday

struct Engine {
  lifeline_clock_t* clock = nullptr;
  lifeline_engine_t* engine = nullptr;
  explicit Engine(const std::string& config) {
    REQUIRE(lifeline_clock_new_manual(kStart, &clock) == LIFELINE_OK);
    INFO(lifeline_last_error());
    REQUIRE(lifeline_engine_open_with_clock(config.c_str(), clock, &engine) == LIFELINE_OK);
  }
  ~Engine() {
    lifeline_engine_close(engine);
    lifeline_clock_free(clock);
  }
  void Advance(int64_t ms) {
    REQUIRE(lifeline_clock_advance(clock, ms) == LIFELINE_OK);
    Settle();
  }
  void Settle() { REQUIRE(lifeline_engine_settle(engine, 20000) == LIFELINE_OK); }
  lifeline_status Submit(const std::string& json, std::string* id = nullptr) {
    char buffer[LIFELINE_REQUEST_ID_BUFFER_SIZE];
    lifeline_status s = lifeline_callback_submit(engine, json.c_str(), buffer, sizeof buffer);
    if (id != nullptr && (s == LIFELINE_OK || s == LIFELINE_E_DUPLICATE)) *id = buffer;
    return s;
  }
  std::string Metrics() {
    std::vector<char> out(8192);
    size_t needed = 0;
    REQUIRE(lifeline_metrics_json(engine, out.data(), out.size(), &needed) == LIFELINE_OK);
    return out.data();
  }
};

std::string GenesysConfig(const std::string& base, const std::string& extra = "") {
  return R"({"platform":"genesys","genesys":{"api_base_url":")" + base +
         R"(","login_base_url":")" + base +
         R"(","client_id":"cid","client_secret":"sec","queue_id":"emergency-q"},)"
         R"("retry":{"jitter":"none","initial_ms":1000,"max_ms":8000,"max_attempts":4})" +
         extra + "}";
}

std::string Request(const std::string& phone, const std::string& queue = "q-support",
                    const std::string& extra = "") {
  return R"({"callerPhone":")" + phone + R"(","originalQueueId":")" + queue +
         R"(","flowName":"Main_IVR","contextData":{"account":"A-1"})" + extra + "}";
}

}  // namespace

TEST_CASE("Genesys: callbacks reach the emergency queue once, with token and documented shape") {
  FakeGenesys genesys("Basic Y2lkOnNlYw==", "emergency-q");
  Engine e(GenesysConfig(genesys.base_url()));
  std::string a, b, c, dup;
  REQUIRE(e.Submit(Request("(212) 555-0100"), &a) == LIFELINE_OK);
  REQUIRE(e.Submit(Request("+44 20 7946 0000"), &b) == LIFELINE_OK);
  REQUIRE(e.Submit(Request("212-555-0101", "q-billing",
                           R"(,"callbackTime":"2026-11-18T15:30:00-05:00")"),
                   &c) == LIFELINE_OK);
  CHECK(e.Submit(Request("+1 212 555 0100"), &dup) == LIFELINE_E_DUPLICATE);
  CHECK(dup == a);
  CHECK(a.size() == 32);
  e.Settle();
  REQUIRE(lifeline_engine_drain(e.engine, 10000) == LIFELINE_OK);
  auto deliveries = genesys.deliveries();
  CHECK(deliveries.size() == 3);
  CHECK(deliveries[a] == 1);
  CHECK(deliveries[b] == 1);
  CHECK(deliveries[c] == 1);
  CHECK(genesys.violations().empty());
  CHECK(genesys.token_requests() == 1);
  bool saw_schedule = false;
  for (const auto& body : genesys.accepted_bodies()) {
    if (body.find("\"callbackScheduledTime\":\"2026-11-18T20:30:00.000Z\"") != std::string::npos) {
      saw_schedule = true;
    }
    CHECK(body.find("\"callbackNumbers\":[\"+") != std::string::npos);
  }
  CHECK(saw_schedule);
  std::string metrics = e.Metrics();
  CHECK(metrics.find("\"callbacks_delivered\":3") != std::string::npos);
  CHECK(metrics.find("\"callbacks_deduplicated\":1") != std::string::npos);
}

TEST_CASE("A 429 pauses the endpoint until Retry-After, and not a millisecond less") {
  FakeGenesys genesys("Basic Y2lkOnNlYw==", "emergency-q");
  Engine e(GenesysConfig(genesys.base_url()));
  genesys.server().AddFault({lifeline::testing::FaultAction::kRespond, 429, 2, R"({})",
                             std::chrono::milliseconds(0), 1, std::chrono::milliseconds(0), "POST",
                             "/api/v2/conversations/callbacks"});
  std::string id;
  REQUIRE(e.Submit(Request("+12125550100"), &id) == LIFELINE_OK);
  e.Settle();
  CHECK(genesys.deliveries().empty());
  size_t seen = genesys.server().request_count();  // token + the throttled POST
  e.Advance(1999);
  CHECK(genesys.server().request_count() == seen);
  e.Advance(1);
  REQUIRE(lifeline_engine_drain(e.engine, 10000) == LIFELINE_OK);
  CHECK(genesys.deliveries()[id] == 1);
  CHECK(e.Metrics().find("\"platform_429\":1") != std::string::npos);
}

TEST_CASE("The rate limit holds in every window, with a manual clock") {
  FakeWebhook hook;
  std::string config = R"({"platform":"webhook","webhook":{"url":")" + hook.base_url() +
                       R"(/callbacks"},"rate_limit":{"requests":5,"period_ms":1000}})";
  Engine e(config);
  for (int i = 0; i < 12; ++i) {
    REQUIRE(e.Submit(Request("+1212555" + std::to_string(1000 + i))) == LIFELINE_OK);
  }
  e.Settle();
  CHECK(hook.delivered_total() == 5);
  e.Advance(999);
  CHECK(hook.delivered_total() == 5);
  e.Advance(1);
  CHECK(hook.delivered_total() == 10);
  e.Advance(1000);
  CHECK(hook.delivered_total() == 12);
  CHECK(hook.violations().empty());
}

TEST_CASE("Retryable failures back off exactly, permanent ones are dead-lettered and re-drivable") {
  FakeGenesys genesys("Basic Y2lkOnNlYw==", "emergency-q");
  Engine e(GenesysConfig(genesys.base_url()));
  std::string id;
  SECTION("503 twice, then delivered after 1 s and 2 s of backoff") {
    genesys.server().AddFault({lifeline::testing::FaultAction::kRespond, 503, -1, R"({})",
                               std::chrono::milliseconds(0), 2, std::chrono::milliseconds(0),
                               "POST", "/api/v2/conversations/callbacks"});
    REQUIRE(e.Submit(Request("+12125550100"), &id) == LIFELINE_OK);
    e.Settle();
    e.Advance(999);
    CHECK(genesys.deliveries().empty());
    e.Advance(1);  // second attempt: 503 again
    CHECK(genesys.deliveries().empty());
    e.Advance(1999);
    CHECK(genesys.deliveries().empty());
    e.Advance(1);
    CHECK(genesys.deliveries()[id] == 1);
  }
  SECTION("400 is permanent: dead letter, listed, re-driven") {
    genesys.server().AddFault({lifeline::testing::FaultAction::kRespond, 400, -1, R"({})",
                               std::chrono::milliseconds(0), 1, std::chrono::milliseconds(0),
                               "POST", "/api/v2/conversations/callbacks"});
    REQUIRE(e.Submit(Request("+12125550100"), &id) == LIFELINE_OK);
    e.Settle();
    std::vector<char> out(4096);
    size_t needed = 0;
    REQUIRE(lifeline_callback_dead_letters(e.engine, out.data(), out.size(), &needed) == LIFELINE_OK);
    CHECK(std::string(out.data()).find(id) != std::string::npos);
    CHECK(std::string(out.data()).find("HTTP 400") != std::string::npos);
    REQUIRE(lifeline_callback_redrive(e.engine, id.c_str()) == LIFELINE_OK);
    e.Settle();
    CHECK(genesys.deliveries()[id] == 1);
  }
}

TEST_CASE("A 401 refreshes the token once and sends again") {
  FakeGenesys genesys("Basic Y2lkOnNlYw==", "emergency-q");
  Engine e(GenesysConfig(genesys.base_url()));
  std::string id;
  REQUIRE(e.Submit(Request("+12125550100"), &id) == LIFELINE_OK);
  e.Settle();
  REQUIRE(genesys.token_requests() == 1);
  genesys.RevokeToken();
  REQUIRE(e.Submit(Request("+12125550199"), &id) == LIFELINE_OK);
  e.Settle();
  e.Settle();
  CHECK(genesys.token_requests() == 2);
  CHECK(genesys.deliveries()[id] == 1);
}

TEST_CASE("CXone: token, queuecallback for ASAP and promise for a slot") {
  FakeCxone cxone;
  std::string config = R"({"platform":"cxone","cxone":{"api_base_url":")" + cxone.base_url() +
                       R"(","auth_base_url":")" + cxone.base_url() +
                       R"(","client_id":"app","client_secret":"s","access_key_id":"k","access_key_secret":"ks","skill":"4354630"}})";
  Engine e(config);
  std::string asap, slot;
  REQUIRE(e.Submit(Request("+12125550100"), &asap) == LIFELINE_OK);
  REQUIRE(e.Submit(Request("+12125550101", "q", R"(,"callbackTime":"2026-11-19T14:00:00Z")"),
                   &slot) == LIFELINE_OK);
  REQUIRE(lifeline_engine_drain(e.engine, 10000) == LIFELINE_OK);
  CHECK(cxone.violations().empty());
  CHECK(cxone.deliveries()[asap] == 1);
  CHECK(cxone.deliveries()[slot] == 1);
}

TEST_CASE("The call flow through the C ABI: consent, durable record, confirmation") {
  FakeWebhook hook;
  std::string config = R"({"platform":"webhook","webhook":{"url":")" + hook.base_url() +
                       R"(/callbacks"},"failover":{"media_channel_capacity":1}})";
  Engine e(config);
  int entry = -1;
  lifeline_call_t* call = nullptr;
  lifeline_action action;
  const char* call_json = R"({"callId":"c-1","ani":"+12125550100","originalQueueId":"q1","flowName":"Main"})";
  REQUIRE(lifeline_call_begin(e.engine, call_json, &entry, &call, &action) == LIFELINE_OK);
  CHECK(entry == LIFELINE_ENTRY_NORMAL);
  CHECK(call == nullptr);

  REQUIRE(lifeline_failover_set(e.engine, LIFELINE_MODE_FAILOVER, "outage drill", 0) == LIFELINE_OK);
  int mode = -1;
  REQUIRE(lifeline_failover_mode(e.engine, &mode) == LIFELINE_OK);
  CHECK(mode == LIFELINE_MODE_FAILOVER);
  REQUIRE(lifeline_call_begin(e.engine, call_json, &entry, &call, &action) == LIFELINE_OK);
  REQUIRE(entry == LIFELINE_ENTRY_FAILOVER);
  CHECK(action.kind == LIFELINE_ACTION_PLAY);
  CHECK(action.prompt == LIFELINE_PROMPT_EMERGENCY_MESSAGE);
  CHECK(action.timeout_ms == 15000);

  // Capacity 1: a second caller gets a short busy.
  lifeline_call_t* second = nullptr;
  REQUIRE(lifeline_call_begin(e.engine, R"({"callId":"c-2","ani":"+12125550111"})", &entry,
                              &second, &action) == LIFELINE_OK);
  CHECK(entry == LIFELINE_ENTRY_REJECT_BUSY);
  CHECK(second == nullptr);
  CHECK(action.kind == LIFELINE_ACTION_HANGUP);
  CHECK(action.tone == LIFELINE_TONE_BUSY);

  int guard = 0;
  lifeline_action next;
  REQUIRE(lifeline_call_event(call, LIFELINE_EVENT_PROMPT_FINISHED, nullptr, &next) == LIFELINE_OK);
  while (next.kind != LIFELINE_ACTION_COLLECT_DIGITS && guard++ < 5) {
    REQUIRE(lifeline_call_event(call, LIFELINE_EVENT_PROMPT_FINISHED, nullptr, &next) == LIFELINE_OK);
  }
  REQUIRE(next.kind == LIFELINE_ACTION_COLLECT_DIGITS);
  CHECK(next.max_digits == 1);
  CHECK(next.inter_digit_timeout_ms == 4000);
  CHECK(lifeline_call_event(call, LIFELINE_EVENT_DIGITS, "1x", &next) == LIFELINE_E_INVALID_ARGUMENT);
  REQUIRE(lifeline_call_event(call, LIFELINE_EVENT_DIGITS, "1", &next) == LIFELINE_OK);
  CHECK(next.kind == LIFELINE_ACTION_PLAY);
  CHECK(next.prompt == LIFELINE_PROMPT_CONFIRMATION);
  char id[LIFELINE_REQUEST_ID_BUFFER_SIZE];
  REQUIRE(lifeline_call_request_id(call, id, sizeof id) == LIFELINE_OK);
  REQUIRE(lifeline_call_event(call, LIFELINE_EVENT_PROMPT_FINISHED, nullptr, &next) == LIFELINE_OK);
  CHECK(next.kind == LIFELINE_ACTION_HANGUP);
  CHECK(next.tone == LIFELINE_TONE_POLITE);
  int outcome = -2;
  REQUIRE(lifeline_call_outcome(call, &outcome) == LIFELINE_OK);
  CHECK(outcome == LIFELINE_OUTCOME_CALLBACK_RECORDED);
  CHECK(std::string(lifeline_call_outcome_str(outcome)) == "callback_recorded");
  lifeline_call_end(call);

  REQUIRE(lifeline_engine_drain(e.engine, 10000) == LIFELINE_OK);
  CHECK(hook.deliveries()[id] == 1);
  std::string metrics = e.Metrics();
  CHECK(metrics.find("\"callback_recorded\":1") != std::string::npos);
  CHECK(metrics.find("\"rejected_busy\":1") != std::string::npos);
  CHECK(metrics.find("\"media_channels_active\":0") != std::string::npos);
}

TEST_CASE("Bad input to the engine's C functions is refused, never crashes") {
  lifeline_engine_t* engine = nullptr;
  CHECK(lifeline_engine_open(nullptr, &engine) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_engine_open(R"({"platfrom":"genesys"})", &engine) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(std::string(lifeline_last_error()).find("platfrom: unknown configuration key") != std::string::npos);
  CHECK(lifeline_engine_open(R"({"retry":{"multiplier":"2"}})", &engine) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(std::string(lifeline_last_error()).find("retry.multiplier") != std::string::npos);
  CHECK(lifeline_engine_open(R"({"platform":"genesys"})", &engine) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(std::string(lifeline_last_error()).find("genesys.client_id") != std::string::npos);

  FakeWebhook hook;
  Engine e(R"({"platform":"webhook","webhook":{"url":")" + hook.base_url() + R"(/callbacks"}})");
  char id[LIFELINE_REQUEST_ID_BUFFER_SIZE];
  CHECK(lifeline_callback_submit(e.engine, "{", id, sizeof id) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_callback_submit(e.engine, R"({"originalQueueId":"q"})", id, sizeof id) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(std::string(lifeline_last_error()).find("callerPhone") != std::string::npos);
  CHECK(lifeline_callback_submit(e.engine, Request("+12125550100").c_str(), id, 8) ==
        LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(lifeline_callback_submit(e.engine, Request("not a number").c_str(), id, sizeof id) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_callback_submit(e.engine,
                                 Request("+12125550100", "q", R"(,"callbackTime":"2026-11-18T10:00")").c_str(),
                                 id, sizeof id) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_callback_submit(e.engine, "{\"callerPhone\":\"\xff\"}", id, sizeof id) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_failover_set(e.engine, 7, "x", 0) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_failover_set(nullptr, 1, "x", 0) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_call_event(nullptr, 0, nullptr, nullptr) == LIFELINE_E_INVALID_ARGUMENT);
  lifeline_engine_close(nullptr);
  lifeline_call_end(nullptr);
}

namespace {
lifeline_status TestKeys(const char* key_id, uint8_t* out_key32, void*) {
  for (int i = 0; i < 32; ++i) out_key32[i] = static_cast<uint8_t>(key_id[0] + i);
  return LIFELINE_OK;
}
}  // namespace

TEST_CASE("The engine's audit trail: transitions, captures and outcomes, with the caller's number protected") {
  const char* tmp = std::getenv("LIFELINE_TEST_TMP");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/ivr_audit_" + std::to_string(getpid());
  std::string audit_config = R"({"dir":")" + dir +
                             R"(","keys":{"provider":"callback","data_key_id":"k1","pseudonym_key_id":"p1","checkpoint_key_id":"c1"},"pii":{"phone":"encrypt"}})";
  lifeline_audit_t* audit = nullptr;
  REQUIRE(lifeline_audit_open(audit_config.c_str(), TestKeys, nullptr, &audit) == LIFELINE_OK);

  FakeGenesys genesys("Basic Y2lkOnNlYw==", "emergency-q");
  {
    Engine e(GenesysConfig(genesys.base_url()));
    REQUIRE(lifeline_engine_set_audit(e.engine, audit) == LIFELINE_OK);
    REQUIRE(lifeline_failover_set(e.engine, LIFELINE_MODE_FAILOVER, "drill", 0) == LIFELINE_OK);
    std::string id;
    REQUIRE(e.Submit(Request("+12125550177"), &id) == LIFELINE_OK);
    REQUIRE(lifeline_engine_drain(e.engine, 10000) == LIFELINE_OK);
    e.Settle();
    REQUIRE(lifeline_engine_set_audit(e.engine, nullptr) == LIFELINE_OK);
  }
  REQUIRE(lifeline_audit_flush(audit) == LIFELINE_OK);
  lifeline_audit_free(audit);

  // The raw store (the live JSON Lines file) names every event and never the
  // number in clear.
  std::string raw;
  FILE* f = std::fopen((dir + "/audit.log").c_str(), "rb");
  REQUIRE(f != nullptr);
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) raw.append(buffer, n);
  std::fclose(f);
  REQUIRE_FALSE(raw.empty());
  CHECK(raw.find("FAILOVER_mode_changed") != std::string::npos);
  CHECK(raw.find("CALLBACK_CAPTURED") != std::string::npos);
  CHECK(raw.find("CALLBACK_SUBMISSION") != std::string::npos);
  CHECK(raw.find("DELIVERED") != std::string::npos);
  CHECK(raw.find("2125550177") == std::string::npos);
}
