// Voice through the host's PBX, end to end through the cascade runtime
// (CascadeService, as behind lifeline_cascade_runtime_*) on a manual clock:
// a fake PBX (a CallOriginator) records every call it is asked to place and
// answers from a script; SMS goes to a fake Twilio on loopback. Covers the
// digit-1 acknowledgement (no SMS follows), no answer / busy (the retry
// rule, then SMS), answered without the digit (the hold time, then SMS),
// trunks busy (the call waits for the retry-after and is offered again),
// escalation to the on-call manager on "voice.priority", no originator yet,
// a result reported from inside the originator, and the configuration.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cascade/cascade_service.hpp"
#include "lifeline/outbound_call.hpp"
#include "support/fake_cascade_providers.hpp"
#include "support/store_test_files.hpp"

using namespace lifeline;
using lifeline::testing::FakeTwilio;

namespace {

constexpr UnixMillis kT0 = 1'716'215'520'000;  // 2024-05-20T14:32:00Z

// The fake PBX: records each request with the clock's time and answers from
// a script, else from `answer_fn`, else kOriginated. `on_call` runs inside
// Originate (on the runtime's thread), as a PBX that reports at once would.
class FakePbx : public CallOriginator {
 public:
  explicit FakePbx(const Clock* clock) : clock_(clock) {}
  struct Call {
    OutboundCallRequest request;
    UnixMillis at = 0;
  };
  OriginateAnswer Originate(const OutboundCallRequest& request) override {
    std::function<void(const OutboundCallRequest&)> hook;
    OriginateAnswer answer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back({request, clock_->Now()});
      if (!script_.empty()) {
        answer = script_.front();
        script_.pop_front();
      } else if (answer_fn_) {
        answer = answer_fn_(request);
      }
      hook = on_call_;
    }
    if (hook) hook(request);
    return answer;
  }
  void Script(std::vector<OriginateAnswer> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.assign(answers.begin(), answers.end());
  }
  void AnswerWith(std::function<OriginateAnswer(const OutboundCallRequest&)> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_fn_ = std::move(fn);
  }
  void OnCall(std::function<void(const OutboundCallRequest&)> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    on_call_ = std::move(hook);
  }
  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  const Clock* clock_;
  mutable std::mutex mu_;
  std::vector<Call> calls_;
  std::deque<OriginateAnswer> script_;
  std::function<OriginateAnswer(const OutboundCallRequest&)> answer_fn_;
  std::function<void(const OutboundCallRequest&)> on_call_;
};

const char* kDirectory =
    R"({"members": [
         {"id": "alice", "channels": ["voice", "sms"],
          "addresses": {"voice": "+12125550101", "sms": "+12125550111"}},
         {"id": "bob", "channels": ["voice"], "addresses": {"voice": "+12125550102"}},
         {"id": "mgr", "channels": ["voice"], "addresses": {"voice": "+12125550199"}}],
       "groups": [{"id": "ops", "members": ["alice"], "onCallManager": "mgr"},
                  {"id": "solo", "members": ["bob"], "onCallManager": "mgr"}]})";

std::string Config(const std::string& twilio_url, const std::string& voice = R"({"via": "pbx",
    "caller_id": "+15550001111", "media_id": "bcp-intro"})") {
  return std::string(R"({"directory": )") + kDirectory + R"(,
    "channels": {"twilio": {"base_url": ")" + twilio_url + R"(", "account_sid": "AC1",
                            "auth_token": "tok", "from": "+15550000000",
                            "status_callback_url": "https://host.example/status"},
                 "voice": )" + voice + "}}";
}

std::string Trigger(const std::string& incident, const std::string& group) {
  return R"({"incidentId": ")" + incident + R"(", "severity": "P1", "stakeholderGroupId": ")" + group +
         R"(", "messageTemplate": "Outage at {{site}}", "timestamp": "2024-05-20T14:32:00Z",
            "variables": {"site": "DC-East"}})";
}

// One request answered proves the fake's accept loop runs, so stopping it
// later cannot race its start (httplib ignores a stop before listen).
void WaitUntilListening(FakeTwilio& fake) {
  httplib::Client client("127.0.0.1", fake.server().port());
  auto answer = client.Get("/ready");
  REQUIRE(answer);
}

struct Harness {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kT0);
  FakeTwilio twilio{"AC1", "tok"};
  std::shared_ptr<FakePbx> pbx = std::make_shared<FakePbx>(clock.get());
  std::unique_ptr<CascadeService> service;

  explicit Harness(bool set_originator = true) {
    WaitUntilListening(twilio);
    twilio.set_clock([c = clock] { return c->Now(); });
    auto s = CascadeService::Open(Config(twilio.base_url()), clock);
    REQUIRE(s.ok());
    service = std::move(*s);
    if (set_originator) REQUIRE(service->SetVoiceOriginator(pbx).ok());
  }
  ~Harness() { service.reset(); }  // stops the runtime before the fakes go

  void Settle() { REQUIRE(service->Settle(30'000).ok()); }
  // Moves the clock to kT0 + `offset` and lets the runtime do what is due.
  void At(DurationMillis offset) {
    REQUIRE(clock->Now() <= kT0 + offset);
    clock->Set(kT0 + offset);
    Settle();
  }
  rapidjson::Document State(const std::string& incident) {
    auto json = service->StateJson(incident);
    REQUIRE(json.ok());
    rapidjson::Document d;
    d.Parse(json->c_str());
    REQUIRE(d.IsObject());
    return d;
  }
  // The stakeholder's status and its attempts as "channel:STATUS" strings.
  std::string Status(const std::string& incident, const std::string& member) {
    auto d = State(incident);
    for (const auto& s : d["stakeholders"].GetArray()) {
      if (member == s["memberId"].GetString()) return s["status"].GetString();
    }
    FAIL("no such stakeholder");
    return "";
  }
  std::vector<std::string> Attempts(const std::string& incident, const std::string& member) {
    auto d = State(incident);
    std::vector<std::string> out;
    for (const auto& s : d["stakeholders"].GetArray()) {
      if (member != s["memberId"].GetString()) continue;
      for (const auto& a : s["attempts"].GetArray()) {
        out.push_back(std::string(a["channel"].GetString()) + ":" + a["status"].GetString() +
                      (a["escalation"].GetBool() ? ":escalation" : ""));
      }
    }
    return out;
  }
  std::string Metrics() { return service->MetricsJson(); }
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

OutboundCallResult Answered(std::string digits) {
  return {OutboundCallOutcome::kAnswered, std::move(digits)};
}

}  // namespace

TEST_CASE("PBX voice: the member presses 1, is ACKNOWLEDGED, and no SMS follows") {
  Harness h;
  REQUIRE(h.service->Trigger(Trigger("INC-1", "ops")).ok());
  h.Settle();
  auto calls = h.pbx->calls();
  REQUIRE(calls.size() == 1);
  const OutboundCallRequest& r = calls[0].request;
  CHECK(calls[0].at == kT0);
  CHECK(r.message_id != 0);
  CHECK(r.incident_id == "INC-1");
  CHECK(r.member_id == "alice");
  CHECK(r.destination == "+12125550101");
  CHECK(r.caller_id == "+15550001111");
  CHECK(r.media_id == "bcp-intro");
  CHECK(r.prompt_text == "Outage at DC-East");
  CHECK(r.gather_prompt_text == "Press 1 to acknowledge.");
  CHECK(r.ack_digit == '1');
  CHECK(r.max_digits == 1);
  CHECK(r.digit_timeout_ms == 10'000);
  CHECK(r.ring_timeout_ms == 30'000);
  CHECK(r.severity == Severity::kP1);
  CHECK_FALSE(r.escalation);
  CHECK(h.Attempts("INC-1", "alice") == std::vector<std::string>{"voice:PENDING"});

  // The PBX reports the call: answered, "1" pressed.
  h.clock->Advance(20'000);
  REQUIRE(h.service->VoiceResult(r.message_id, Answered("1")).ok());
  h.Settle();
  CHECK(h.Status("INC-1", "alice") == "ACKNOWLEDGED");
  CHECK(h.Attempts("INC-1", "alice") == std::vector<std::string>{"voice:ACKNOWLEDGED"});
  CHECK(Contains(*h.service->StateJson("INC-1"), "\"acknowledgedCount\":1"));

  // Late and duplicate results change nothing; unknown ids are NotFound.
  CHECK(h.service->VoiceResult(r.message_id, Answered("1")).ok());
  CHECK(h.service->VoiceResult(r.message_id, {OutboundCallOutcome::kNoAnswer, ""}).ok());
  Status unknown = h.service->VoiceResult(r.message_id + 1000, Answered("1"));
  CHECK(unknown.code() == StatusCode::kNotFound);
  CHECK(unknown.message() == "message_id: unknown message");
  Status bad = h.service->VoiceResult(r.message_id, {OutboundCallOutcome::kBusy, "1"});
  CHECK(bad.code() == StatusCode::kInvalidArgument);
  CHECK(bad.message() == "digits: only an answered call has digits");

  // Ten minutes later: still one call, and no SMS ever went out.
  for (DurationMillis t = 30'000; t <= 600'000; t += 30'000) h.At(t);
  CHECK(h.Status("INC-1", "alice") == "ACKNOWLEDGED");
  CHECK(h.pbx->calls().size() == 1);
  CHECK(h.twilio.deliveries().empty());
  std::string m = h.Metrics();
  CHECK(Contains(m, "\"voice\":{\"sent\":1,\"accepted\":1,\"throttled\":0,\"failed\":0}"));
  CHECK(Contains(m, "\"sms\":{\"sent\":0,"));
  CHECK(Contains(m, "\"voice_results\":3"));
  CHECK(Contains(h.service->MetricsPrometheus(), "lifeline_cascade_voice_results_total 3\n"));
}

TEST_CASE("PBX voice: no answer and busy retry the call with backoff, then the cascade moves to SMS") {
  Harness h;
  REQUIRE(h.service->Trigger(Trigger("INC-2", "ops")).ok());
  h.Settle();
  // The retry rule: 15 s, 30 s, 60 s after each failure, 3 retries.
  const DurationMillis kCallAt[] = {0, 15'000, 45'000, 105'000};
  const OutboundCallOutcome kOutcome[] = {OutboundCallOutcome::kNoAnswer, OutboundCallOutcome::kBusy,
                                          OutboundCallOutcome::kNoAnswer, OutboundCallOutcome::kFailed};
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      h.At(kCallAt[i] - 1);
      CHECK(h.pbx->calls().size() == static_cast<std::size_t>(i));  // not a millisecond early
      h.At(kCallAt[i]);
    }
    auto calls = h.pbx->calls();
    REQUIRE(calls.size() == static_cast<std::size_t>(i + 1));
    CHECK(calls[i].at == kT0 + kCallAt[i]);
    CHECK(calls[i].request.destination == "+12125550101");
    ids.push_back(calls[i].request.message_id);
    CHECK(h.twilio.deliveries().empty());
    REQUIRE(h.service->VoiceResult(ids.back(), {kOutcome[i], ""}).ok());
    h.Settle();
  }
  // Four distinct attempts, all FAILED; then the SMS went out at once.
  CHECK(ids[0] != ids[1]);
  CHECK(ids[2] != ids[3]);
  CHECK(h.Attempts("INC-2", "alice") ==
        std::vector<std::string>{"voice:FAILED", "voice:FAILED", "voice:FAILED", "voice:FAILED", "sms:PENDING"});
  auto sms = h.twilio.deliveries();
  REQUIRE(sms.size() == 1);
  CHECK(sms[0].to == "+12125550111");
  CHECK(sms[0].at == kT0 + 105'000);
  CHECK(h.twilio.rejected() == 0);
  CHECK(h.pbx->calls().size() == 4);

  // A result for the SMS attempt's id is not a voice call.
  std::uint64_t sms_id = 0;
  auto d = h.State("INC-2");
  for (const auto& a : d["stakeholders"][0]["attempts"].GetArray()) {
    if (std::string(a["channel"].GetString()) == "sms") sms_id = a["id"].GetUint64();
  }
  REQUIRE(sms_id != 0);
  Status s = h.service->VoiceResult(sms_id, Answered("1"));
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(s.message() == "message_id: not a voice call");
  CHECK(h.Status("INC-2", "alice") == "ACTIVE");
}

TEST_CASE("PBX voice: answered without the digit is DELIVERED, after the P1 hold time the SMS goes") {
  Harness h;
  REQUIRE(h.service->Trigger(Trigger("INC-3", "ops")).ok());
  h.Settle();
  REQUIRE(h.pbx->calls().size() == 1);
  REQUIRE(h.service->VoiceResult(h.pbx->calls()[0].request.message_id, Answered("2")).ok());
  h.Settle();
  CHECK(h.Attempts("INC-3", "alice") == std::vector<std::string>{"voice:DELIVERED"});
  h.At(89'999);
  CHECK(h.twilio.deliveries().empty());
  h.At(90'000);
  auto sms = h.twilio.deliveries();
  REQUIRE(sms.size() == 1);
  CHECK(sms[0].at == kT0 + 90'000);
  CHECK(h.Attempts("INC-3", "alice") == std::vector<std::string>{"voice:DELIVERED", "sms:PENDING"});
  CHECK(h.pbx->calls().size() == 1);
}

TEST_CASE("PBX voice: trunks busy throttles the voice endpoint, the same call is offered again later") {
  Harness h;
  h.pbx->Script({{OriginateAnswer::Kind::kTrunksBusy, 5'000},
                 {OriginateAnswer::Kind::kTrunksBusy, 0},   // the cascade's default: 1 s
                 {OriginateAnswer::Kind::kOriginated, 0}});
  REQUIRE(h.service->Trigger(Trigger("INC-4", "ops")).ok());
  h.Settle();
  REQUIRE(h.pbx->calls().size() == 1);
  std::uint64_t id = h.pbx->calls()[0].request.message_id;
  CHECK(h.Attempts("INC-4", "alice") == std::vector<std::string>{"voice:QUEUED"});
  h.At(4'999);
  CHECK(h.pbx->calls().size() == 1);
  h.At(5'000);
  REQUIRE(h.pbx->calls().size() == 2);
  CHECK(h.pbx->calls()[1].request.message_id == id);   // the same attempt, not a retry
  h.At(5'999);
  CHECK(h.pbx->calls().size() == 2);
  h.At(6'000);
  auto calls = h.pbx->calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[2].request.message_id == id);
  CHECK(calls[2].at == kT0 + 6'000);
  CHECK(h.Attempts("INC-4", "alice") == std::vector<std::string>{"voice:PENDING"});
  REQUIRE(h.service->VoiceResult(id, Answered("1")).ok());
  h.At(200'000);
  CHECK(h.Status("INC-4", "alice") == "ACKNOWLEDGED");
  CHECK(h.twilio.deliveries().empty());
  CHECK(Contains(h.Metrics(), "\"voice\":{\"sent\":3,\"accepted\":1,\"throttled\":2,\"failed\":0}"));
}

TEST_CASE("PBX voice: an unroutable number escalates to the on-call manager on voice.priority") {
  Harness h;
  // alice's calls find every trunk busy for a minute; bob's number cannot
  // be routed; the manager's calls go through.
  h.pbx->AnswerWith([](const OutboundCallRequest& r) -> OriginateAnswer {
    if (r.destination == "+12125550101") return {OriginateAnswer::Kind::kTrunksBusy, 60'000};
    if (r.destination == "+12125550102") return {OriginateAnswer::Kind::kUnroutable, 0};
    return {};
  });
  REQUIRE(h.service->Trigger(Trigger("INC-A", "ops")).ok());
  h.Settle();
  REQUIRE(h.pbx->calls().size() == 1);                  // alice: busy, "voice" paused 60 s
  REQUIRE(h.service->Trigger(Trigger("INC-5", "solo")).ok());
  h.At(59'999);
  CHECK(h.pbx->calls().size() == 1);                    // bob's call waits on "voice"
  h.At(60'000);
  auto calls = h.pbx->calls();
  REQUIRE(calls.size() == 4);
  CHECK(calls[1].request.destination == "+12125550101");  // alice again: busy again
  CHECK(calls[2].request.destination == "+12125550102");  // bob: unroutable
  CHECK_FALSE(calls[2].request.escalation);
  // bob's only channel was UNREACHABLE: channels exhausted, the manager is
  // called through the same PBX at once, flagged as an escalation, on the
  // "voice.priority" endpoint -- which the paused "voice" does not hold up.
  const OutboundCallRequest& e = calls[3].request;
  CHECK(calls[3].at == kT0 + 60'000);
  CHECK(e.destination == "+12125550199");
  CHECK(e.escalation);
  CHECK(e.member_id == "bob");       // the stakeholder the escalation is about
  CHECK(e.incident_id == "INC-5");
  CHECK(e.severity == Severity::kP1);
  CHECK(e.caller_id == "+15550001111");
  CHECK(e.prompt_text == "ESCALATION P1 incident INC-5: stakeholder bob has not acknowledged. Outage at DC-East");
  CHECK(h.Status("INC-5", "bob") == "ESCALATED");
  CHECK(h.Attempts("INC-5", "bob") ==
        std::vector<std::string>{"voice:UNREACHABLE", "voice:PENDING:escalation"});
  // The manager presses 1: the escalation call is acknowledged.
  REQUIRE(h.service->VoiceResult(e.message_id, Answered("1")).ok());
  h.Settle();
  CHECK(h.Attempts("INC-5", "bob") ==
        std::vector<std::string>{"voice:UNREACHABLE", "voice:ACKNOWLEDGED:escalation"});
  CHECK(h.Attempts("INC-A", "alice") == std::vector<std::string>{"voice:QUEUED"});
  CHECK(h.pbx->calls().size() == 4);
  CHECK(Contains(h.Metrics(), "\"voice\":{\"sent\":4,\"accepted\":1,\"throttled\":2,\"failed\":1}"));
}

TEST_CASE("PBX voice: without an originator the call fails and is retried, a PBX may report from inside Originate") {
  Harness h(/*set_originator=*/false);
  REQUIRE(h.service->Trigger(Trigger("INC-6", "ops")).ok());
  h.Settle();
  CHECK(h.Attempts("INC-6", "alice") == std::vector<std::string>{"voice:FAILED"});
  CHECK(Contains(*h.service->StateJson("INC-6"), "\"nextEscalationTimestamp\":1716215535000"));

  // This PBX knows at once: it reports the answer from inside Originate, on
  // the runtime's own thread (which must not deadlock).
  std::vector<Status> reported;
  std::mutex mu;
  CascadeService* service = h.service.get();
  h.pbx->OnCall([&](const OutboundCallRequest& r) {
    Status s = service->VoiceResult(r.message_id, Answered("1"));
    std::lock_guard<std::mutex> lock(mu);
    reported.push_back(s);
  });
  REQUIRE(h.service->SetVoiceOriginator(h.pbx).ok());
  h.At(15'000);
  REQUIRE(h.pbx->calls().size() == 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(reported.size() == 1);
    CHECK(reported[0].ok());
  }
  CHECK(h.Status("INC-6", "alice") == "ACKNOWLEDGED");
  CHECK(h.Attempts("INC-6", "alice") == std::vector<std::string>{"voice:FAILED", "voice:ACKNOWLEDGED"});

  // Removed again: nothing more reaches this PBX.
  REQUIRE(h.service->SetVoiceOriginator(nullptr).ok());
  REQUIRE(h.service->Trigger(Trigger("INC-7", "ops")).ok());
  h.Settle();
  CHECK(h.pbx->calls().size() == 1);
  CHECK(h.Attempts("INC-7", "alice") == std::vector<std::string>{"voice:FAILED"});
}

TEST_CASE("PBX voice: a call placed before a restart is still answered by its message id") {
  lifeline::testing::TempDbPath db("pbx-voice-restart");
  auto clock = std::make_shared<ManualClock>(kT0);
  auto pbx = std::make_shared<FakePbx>(clock.get());
  std::string config = Config("http://127.0.0.1:9");   // no SMS is sent here
  config.replace(0, 1, R"({"store": {"path": ")" + db.path() + R"("}, )");
  std::uint64_t id = 0;
  {
    auto service = CascadeService::Open(config, clock);
    REQUIRE(service.ok());
    REQUIRE((*service)->SetVoiceOriginator(pbx).ok());
    REQUIRE((*service)->Trigger(Trigger("INC-8", "ops")).ok());
    REQUIRE((*service)->Settle(30'000).ok());
    REQUIRE(pbx->calls().size() == 1);
    id = pbx->calls()[0].request.message_id;
  }  // the process goes away while the PBX still has the call up
  clock->Advance(20'000);
  auto service = CascadeService::Open(config, clock);
  REQUIRE(service.ok());
  REQUIRE((*service)->SetVoiceOriginator(pbx).ok());
  REQUIRE((*service)->VoiceResult(id, Answered("1")).ok());
  REQUIRE((*service)->Settle(30'000).ok());
  auto state = (*service)->StateJson("INC-8");
  REQUIRE(state.ok());
  CHECK(Contains(*state, "\"acknowledgedCount\":1"));
  CHECK(Contains(*state, "\"channel\":\"voice\",\"status\":\"ACKNOWLEDGED\""));
  CHECK(pbx->calls().size() == 1);   // nothing was placed twice
}

TEST_CASE("PBX voice configuration: choices, contradictions and PBX-only keys are checked") {
  // Nothing is sent here: no server behind the URL.
  const std::string kNowhere = "http://127.0.0.1:9";
  auto open = [&](const std::string& voice) {
    return CascadeService::Open(Config(kNowhere, voice), std::make_shared<ManualClock>(kT0));
  };
  auto error = [&](const std::string& voice) {
    auto s = open(voice);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    return s.status().message();
  };
  CHECK(open(R"({"via": "pbx"})").ok());
  CHECK(open(R"({"via": "pbx", "ack_digit": "#", "gather_prompt": "Press pound.",
                 "digit_timeout_ms": 5000, "ring_timeout_ms": 45000})").ok());
  CHECK(Contains(error(R"({"via": "sip"})"), "channels.voice.via"));
  CHECK(error(R"({"via": "pbx", "ack_digit": "11"})") == "channels.voice.ack_digit: expected one of 0-9, * or #");
  CHECK(error(R"({"via": "pbx", "ack_digit": "A"})") == "channels.voice.ack_digit: expected one of 0-9, * or #");
  CHECK(Contains(error(R"({"via": "pbx", "ring_timeout_ms": 0})"), "channels.voice.ring_timeout_ms"));
  CHECK(Contains(error(R"({"via": "pbx", "codec": "g711"})"), "channels.voice.codec: unknown configuration key"));
  CHECK(error(R"({"via": "twilio", "caller_id": "+15550001111"})") ==
        "channels.voice.caller_id: only for \"via\": \"pbx\"");

  // Twilio's own voice switch must agree with the choice.
  auto with_twilio_voice = [&](bool on, const std::string& via) {
    std::string c = Config(kNowhere, R"({"via": ")" + via + R"("})");
    std::string key = R"("status_callback_url": "https://host.example/status")";
    c.replace(c.find(key), key.size(), key + R"(, "voice": )" + (on ? "true" : "false"));
    return CascadeService::Open(c, std::make_shared<ManualClock>(kT0));
  };
  auto contradiction = with_twilio_voice(true, "pbx");
  REQUIRE_FALSE(contradiction.ok());
  CHECK(contradiction.status().message() == "channels.voice.via: \"pbx\" contradicts channels.twilio.voice: true");
  CHECK(with_twilio_voice(false, "pbx").ok());
  auto off = with_twilio_voice(false, "twilio");
  REQUIRE_FALSE(off.ok());
  CHECK(off.status().message() == "channels.voice.via: \"twilio\" contradicts channels.twilio.voice: false");
  std::string no_twilio = std::string(R"({"directory": )") + kDirectory + R"(, "channels": {"voice": {"via": "twilio"}}})";
  auto needs = CascadeService::Open(no_twilio, std::make_shared<ManualClock>(kT0));
  REQUIRE_FALSE(needs.ok());
  CHECK(needs.status().message() == "channels.voice.via: \"twilio\" needs channels.twilio");

  // Voice through Twilio: the PBX calls are a state error.
  auto twilio_voice = open(R"({"via": "twilio"})");
  REQUIRE(twilio_voice.ok());
  Status s = (*twilio_voice)->SetVoiceOriginator(std::make_shared<FakePbx>(nullptr));
  CHECK(s.code() == StatusCode::kState);
  CHECK(s.message() == "no PBX voice channel is configured (channels.voice.via is not \"pbx\")");
  CHECK((*twilio_voice)->VoiceResult(1, Answered("1")).code() == StatusCode::kState);
}
