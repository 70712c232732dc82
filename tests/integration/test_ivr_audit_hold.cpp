// The callback outbox does not advance past an unrecorded audit event: when
// the audit sink refuses a delivery outcome, the outcome is kept (in order)
// and nothing new is sent until the sink takes it. Real HTTP on loopback
// against the fake webhook, a real SQLite outbox, a manual clock.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>

#include "ivr/ivr_engine.hpp"
#include "lifeline/audit_sink.hpp"
#include "support/fake_platforms.hpp"

using namespace lifeline;
using lifeline::testing::FakeWebhook;

namespace {

constexpr UnixMillis kStart = 1795000000000;

CallbackSubmission Caller(const std::string& phone) {
  CallbackSubmission s;
  s.caller_phone = phone;
  s.original_queue_id = "q-support";
  s.flow_name = "Main_IVR";
  return s;
}

std::size_t Outcomes(const RecordingAuditSink& audit, const std::string& status,
                     const std::string& request_id) {
  std::vector<AuditEvent> events = audit.events();
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](const AuditEvent& e) {
    return e.event == "CALLBACK_SUBMISSION" && e.status == status &&
           e.detail.find("requestId=" + request_id) != std::string::npos;
  }));
}

}  // namespace

TEST_CASE("A refused delivery outcome is kept, and nothing new is sent until it is recorded") {
  FakeWebhook hook;
  auto clock = std::make_shared<ManualClock>(kStart);
  auto opened = IvrEngine::Open(
      R"({"platform":"webhook","webhook":{"url":")" + hook.base_url() +
          R"(/callbacks"},"max_in_flight":1,)"
          R"("retry":{"jitter":"none","initial_ms":1000,"max_ms":1000,"max_attempts":5}})",
      clock);
  REQUIRE(opened.ok());
  IvrEngine& engine = **opened;
  RecordingAuditSink audit;
  engine.SetAuditSink(&audit);

  // Both first attempts fail (503): both retry at +1 s.
  hook.server().RespondWithStatus(2, 503);
  auto a = engine.Submit(Caller("+12125550100"));
  auto b = engine.Submit(Caller("+12125550101"));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(engine.Settle(20'000).ok());
  CHECK(Outcomes(audit, "RETRY", a->request_id) == 1);
  CHECK(Outcomes(audit, "RETRY", b->request_id) == 1);
  CHECK(hook.accepted_bodies().empty());

  // The disk fills up. A new capture is refused outright (the caller hears
  // the fallback) ...
  audit.FailWith(IoError("No space left on device"));
  auto refused = engine.Submit(Caller("+12125550102"));
  CHECK(refused.status().code() == StatusCode::kIo);

  // ... and of the two retries due, one goes out (max_in_flight 1); its
  // DELIVERED outcome cannot be recorded, so the other waits. The engine is
  // idle meanwhile: nothing can move until the audit retry (200 ms).
  clock->Advance(1000);
  REQUIRE(engine.Settle(20'000).ok());
  CHECK(hook.accepted_bodies().size() == 1);
  clock->Advance(199);
  REQUIRE(engine.Settle(20'000).ok());
  CHECK(hook.accepted_bodies().size() == 1);
  clock->Advance(1);  // the retry: refused again, the next one 200 ms later
  REQUIRE(engine.Settle(20'000).ok());
  CHECK(hook.accepted_bodies().size() == 1);
  const std::string metrics = engine.MetricsJson().value();
  CHECK(metrics.find("\"audit_failures\":2") != std::string::npos);
  // The outbox has not advanced past the unrecorded outcome: whichever
  // request went out is still IN_FLIGHT in the store (a crash now would
  // re-send it once, flagged), not DELIVERED.
  auto state_of = [&](const std::string& id) {
    std::string json = engine.StatusJson(id).value();
    return json.find("\"IN_FLIGHT\"") != std::string::npos   ? "IN_FLIGHT"
           : json.find("\"DELIVERED\"") != std::string::npos ? "DELIVERED"
                                                              : "other";
  };
  std::vector<std::string> states = {state_of(a->request_id), state_of(b->request_id)};
  std::sort(states.begin(), states.end());
  CHECK(states == std::vector<std::string>{"IN_FLIGHT", "other"});

  // The disk has room again: at the next retry the kept outcome is recorded
  // once, in order, and the held request goes.
  audit.FailWith(Status::Ok());
  clock->Advance(200);
  REQUIRE(engine.Drain(20'000).ok());
  CHECK(hook.accepted_bodies().size() == 2);
  CHECK(Outcomes(audit, "DELIVERED", a->request_id) == 1);
  CHECK(Outcomes(audit, "DELIVERED", b->request_id) == 1);
  CHECK(std::string(state_of(a->request_id)) == "DELIVERED");
  CHECK(std::string(state_of(b->request_id)) == "DELIVERED");
  engine.SetAuditSink(nullptr);
}
