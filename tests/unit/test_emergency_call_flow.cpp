#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "lifeline/emergency_call_flow.hpp"
#include "support/allocation_counter.hpp"

using lifeline::CallerNumberSource;
using lifeline::CallOutcome;
using lifeline::CapturedCallback;
using lifeline::DurationMillis;
using lifeline::EmergencyCallFlow;
using lifeline::EmergencyCallInfo;
using lifeline::FlowAction;
using lifeline::FlowActionKind;
using lifeline::FlowConfig;
using lifeline::FlowEvent;
using lifeline::FlowEventKind;
using lifeline::FlowPrompt;
using lifeline::FlowState;
using lifeline::HangupTone;
using lifeline::OtherDigitRule;
using lifeline::Result;
using lifeline::Status;
using lifeline::StatusCode;
using lifeline::SubmissionResult;
using lifeline::UnixMillis;
using lifeline::testing::ThreadAllocations;

namespace {

constexpr UnixMillis kT0 = 1'700'000'000'000;

std::shared_ptr<FlowConfig> Config(const std::function<void(FlowConfig&)>& edit = {}) {
  auto c = std::make_shared<FlowConfig>();
  if (edit) edit(*c);
  return c;
}

EmergencyCallInfo Info(std::string caller = "(415) 555-0100") {
  EmergencyCallInfo i;
  i.call_id = "call-42";
  i.caller_number = std::move(caller);
  i.original_queue_id = "q-billing";
  i.flow_name = "Main_IVR";
  i.context = {{"account", "A-17"}, {"lang", "en"}};
  return i;
}

EmergencyCallFlow Must(Result<EmergencyCallFlow> r) {
  INFO(r.status().message());
  REQUIRE(r.ok());
  return std::move(r).value();
}

// Drives one flow on a manual time line and counts the actions that carry a
// final outcome: there must be exactly one per finished call.
class Driver {
 public:
  explicit Driver(std::shared_ptr<FlowConfig> config = Config(), EmergencyCallInfo info = Info())
      : flow(Must(EmergencyCallFlow::Create(std::move(config), std::move(info), kT0))) {}

  FlowAction Answered() { return Take(flow.OnAnswered(now)); }
  FlowAction RejectBusy() { return Take(flow.OnRejectBusy(now)); }
  FlowAction Prompt() { return Take(flow.OnPromptFinished(now)); }
  FlowAction Digits(std::string_view d) { return Take(flow.OnDigits(d, now)); }
  FlowAction Timeout() { return Take(flow.OnTimeout(now)); }
  FlowAction Hangup() { return Take(flow.OnHangup(now)); }
  FlowAction Recorded(SubmissionResult r = SubmissionResult::kRecorded) {
    return Take(flow.OnSubmissionResult(r, now));
  }
  FlowAction Timer(UnixMillis at) {
    now = at;
    return Take(flow.OnTimer(now));
  }
  void Advance(DurationMillis ms) { now += ms; }

  // Drives a fresh flow to the consent collection.
  void ToConsent() {
    Answered();
    Prompt();
    REQUIRE(Prompt().kind == FlowActionKind::kCollectDigits);
  }

  FlowAction Take(Result<FlowAction> r) {
    INFO("state " << lifeline::FlowStateName(flow.state()) << ": " << r.status().message());
    REQUIRE(r.ok());
    if (r->final_outcome.has_value()) {
      ++finals;
      last_final = *r->final_outcome;
    }
    return *r;
  }

  EmergencyCallFlow flow;
  UnixMillis now = kT0;
  int finals = 0;
  CallOutcome last_final = CallOutcome::kHangup;
};

// Checks that the flow finished once, with `outcome`.
void CheckFinished(const Driver& d, CallOutcome outcome) {
  CHECK(d.flow.finished());
  CHECK(d.flow.state() == FlowState::kDone);
  REQUIRE(d.flow.outcome().has_value());
  CHECK(*d.flow.outcome() == outcome);
  CHECK(d.finals == 1);
  CHECK(d.last_final == outcome);
  CHECK(d.flow.NextDeadline() == EmergencyCallFlow::kNoDeadline);
}

void CheckPlay(const FlowAction& a, FlowActionKind kind, FlowPrompt prompt, std::string_view media,
               bool barge_in) {
  CHECK(a.kind == kind);
  CHECK(a.prompt == prompt);
  CHECK(a.media_id == media);
  CHECK(a.timeout_ms == 15'000);
  CHECK(a.barge_in == barge_in);
  CHECK_FALSE(a.final_outcome.has_value());
}

void CheckHangup(const FlowAction& a, HangupTone tone, CallOutcome outcome) {
  CHECK(a.kind == FlowActionKind::kHangup);
  CHECK(a.tone == tone);
  REQUIRE(a.final_outcome.has_value());
  CHECK(*a.final_outcome == outcome);
}

void CheckNone(const FlowAction& a) {
  CHECK(a.kind == FlowActionKind::kNone);
  CHECK_FALSE(a.final_outcome.has_value());
}

// The event must be refused with kState and `message`, changing nothing.
void CheckRefused(Driver& d, Result<FlowAction> r, const std::string& message) {
  const FlowState before = d.flow.state();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kState);
  CHECK(r.status().message() == message);
  CHECK(d.flow.state() == before);
}

}  // namespace

TEST_CASE("flow config: defaults are the seed's and validate") {
  FlowConfig c;
  CHECK(c.playback_timeout_ms == 15'000);
  CHECK(c.max_digits == 1);
  CHECK(c.inter_digit_timeout_ms == 4'000);
  CHECK(c.first_digit_timeout_ms == 4'000);
  CHECK(c.prompt_plays == 1);
  CHECK(c.consent_digit == '1');
  CHECK(c.other_digit_rule == OtherDigitRule::kReplayOnce);
  CHECK(c.number_entry_enabled);
  CHECK(c.number_entry_max_digits == 15);
  CHECK(c.number_entry_terminator == '#');
  CHECK(c.max_confirmation_wait_ms == 3'000);
  CHECK(c.max_silence_ms == 10'000);
  CHECK(c.Validate().ok());
}

TEST_CASE("flow config: every field is checked, with a message naming it") {
  struct Case {
    std::function<void(FlowConfig&)> edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](FlowConfig& c) { c.emergency_message_media.clear(); }, "emergency_message_media must not be empty"},
      {[](FlowConfig& c) { c.confirmation_media.clear(); }, "confirmation_media must not be empty"},
      {[](FlowConfig& c) { c.fallback_media.clear(); }, "fallback_media must not be empty"},
      {[](FlowConfig& c) { c.number_entry_media.clear(); }, "number_entry_media must not be empty"},
      {[](FlowConfig& c) { c.goodbye_media.assign(257, 'g'); }, "goodbye_media is longer than 256 bytes"},
      {[](FlowConfig& c) { c.callback_offer_media.assign(257, 'o'); }, "callback_offer_media is longer than 256 bytes"},
      {[](FlowConfig& c) { c.playback_timeout_ms = 0; }, "playback_timeout_ms must be between 1 and 600000"},
      {[](FlowConfig& c) { c.max_digits = 0; }, "max_digits must be between 1 and 15"},
      {[](FlowConfig& c) { c.max_digits = 16; }, "max_digits must be between 1 and 15"},
      {[](FlowConfig& c) { c.first_digit_timeout_ms = -1; }, "first_digit_timeout_ms must be between 1 and 600000"},
      {[](FlowConfig& c) { c.inter_digit_timeout_ms = 600'001; }, "inter_digit_timeout_ms must be between 1 and 600000"},
      {[](FlowConfig& c) { c.prompt_plays = 0; }, "prompt_plays must be between 1 and 10"},
      {[](FlowConfig& c) { c.prompt_plays = 11; }, "prompt_plays must be between 1 and 10"},
      {[](FlowConfig& c) { c.consent_digit = 'x'; }, "consent_digit must be a DTMF key (0-9, *, #, A-D)"},
      {[](FlowConfig& c) { c.other_digit_rule = static_cast<OtherDigitRule>(5); }, "other_digit_rule must be replay_once or goodbye"},
      {[](FlowConfig& c) { c.number_entry_max_digits = 16; }, "number_entry_max_digits must be between 1 and 15"},
      {[](FlowConfig& c) { c.number_entry_terminator = '5'; }, "number_entry_terminator must be '#' or '*'"},
      {[](FlowConfig& c) { c.number_entry_attempts = 0; }, "number_entry_attempts must be between 1 and 5"},
      {[](FlowConfig& c) { c.default_country = "XX"; }, "default_country is not a supported ISO 3166-1 alpha-2 code"},
      {[](FlowConfig& c) { c.max_confirmation_wait_ms = 0; }, "max_confirmation_wait_ms must be between 1 and 600000"},
      {[](FlowConfig& c) { c.timer_grace_ms = -1; }, "timer_grace_ms must be between 0 and 60000"},
      {[](FlowConfig& c) { c.max_silence_ms = 0; }, "max_silence_ms must be between 1 and 600000"},
      {[](FlowConfig& c) { c.first_digit_timeout_ms = 9'001; }, "first_digit_timeout_ms + timer_grace_ms exceeds max_silence_ms"},
      {[](FlowConfig& c) { c.inter_digit_timeout_ms = 9'500; }, "inter_digit_timeout_ms + timer_grace_ms exceeds max_silence_ms"},
      {[](FlowConfig& c) { c.max_confirmation_wait_ms = 10'001; }, "max_confirmation_wait_ms exceeds max_silence_ms"},
  };
  for (const Case& k : cases) {
    auto config = Config(k.edit);
    Status s = config->Validate();
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message() == k.message);
    auto r = EmergencyCallFlow::Create(config, Info(), kT0);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == k.message);
  }
  // Optional media may be empty; entry media is optional when entry is off.
  CHECK(Config([](FlowConfig& c) {
          c.callback_offer_media.clear();
          c.goodbye_media.clear();
          c.number_entry_enabled = false;
          c.number_entry_media.clear();
          c.default_country.clear();
          c.first_digit_timeout_ms = 9'000;
        })->Validate().ok());
}

TEST_CASE("Create validates the call info and normalises the caller's number") {
  CHECK(EmergencyCallFlow::Create(nullptr, Info(), kT0).status().message() ==
        "config must not be null");
  auto bad = [](const std::function<void(EmergencyCallInfo&)>& edit) {
    EmergencyCallInfo i = Info();
    edit(i);
    auto r = EmergencyCallFlow::Create(Config(), std::move(i), kT0);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    return r.status().message();
  };
  CHECK(bad([](auto& i) { i.call_id.clear(); }) == "call_id must not be empty");
  CHECK(bad([](auto& i) { i.call_id.assign(257, 'c'); }) == "call_id is longer than 256 bytes");
  CHECK(bad([](auto& i) { i.original_queue_id.assign(257, 'q'); }) ==
        "original_queue_id is longer than 256 bytes");
  CHECK(bad([](auto& i) { i.flow_name.assign(257, 'f'); }) == "flow_name is longer than 256 bytes");
  CHECK(bad([](auto& i) { i.context.assign(65, {"k", "v"}); }) == "context has more than 64 entries");
  CHECK(bad([](auto& i) { i.context.push_back({"", "v"}); }) == "context entry 2: key must be 1 to 128 bytes");
  CHECK(bad([](auto& i) { i.context[0].first.assign(129, 'k'); }) ==
        "context entry 0: key must be 1 to 128 bytes");
  CHECK(bad([](auto& i) { i.context[1].second.assign(1025, 'v'); }) ==
        "context entry 1: value is longer than 1024 bytes");

  Driver ok;
  CHECK(ok.flow.state() == FlowState::kIdle);
  CHECK_FALSE(ok.flow.finished());
  CHECK_FALSE(ok.flow.outcome().has_value());
  CHECK(ok.flow.network_number_status() == StatusCode::kOk);
  CHECK(ok.flow.callback().caller_number == "+14155550100");
  CHECK(ok.flow.callback().caller_number_source == CallerNumberSource::kNetwork);
  CHECK(ok.flow.NextDeadline() == EmergencyCallFlow::kNoDeadline);

  Driver withheld(Config(), Info("anonymous"));
  CHECK(withheld.flow.network_number_status() == StatusCode::kNotFound);
  CHECK(withheld.flow.callback().caller_number.empty());
  CHECK(withheld.flow.callback().caller_number_source == CallerNumberSource::kNone);
  Driver invalid(Config(), Info("12345"));
  CHECK(invalid.flow.network_number_status() == StatusCode::kInvalidArgument);
  Driver too_long(Config(), Info(std::string(300, '1')));  // a bad ANI never fails Create
  CHECK(too_long.flow.network_number_status() == StatusCode::kInvalidArgument);
  Driver gb(Config([](FlowConfig& c) { c.default_country = "GB"; }), Info("020 7946 0000"));
  CHECK(gb.flow.callback().caller_number == "+442079460000");
}

TEST_CASE("happy path: consent, durable record, confirmation, callback_recorded") {
  Driver d;
  FlowAction a = d.Answered();
  CheckPlay(a, FlowActionKind::kPlayMedia, FlowPrompt::kEmergencyMessage, "emergency_message", true);
  CHECK(d.flow.state() == FlowState::kPlayingMessage);
  CHECK(d.flow.NextDeadline() == kT0 + 16'000);  // playback timeout + grace

  d.Advance(12'000);
  a = d.Prompt();
  CheckPlay(a, FlowActionKind::kPlayMedia, FlowPrompt::kCallbackOffer, "callback_offer", true);
  CHECK(d.flow.state() == FlowState::kPlayingOffer);
  CHECK(d.flow.offer_plays() == 1);

  d.Advance(6'000);
  a = d.Prompt();
  CHECK(a.kind == FlowActionKind::kCollectDigits);
  CHECK(a.max_digits == 1);
  CHECK(a.first_digit_timeout_ms == 4'000);
  CHECK(a.inter_digit_timeout_ms == 4'000);
  CHECK(a.terminator == '\0');
  CHECK(d.flow.state() == FlowState::kCollectingConsent);
  CHECK(d.flow.NextDeadline() == d.now + 5'000);

  d.Advance(1'500);
  a = d.Digits("1");
  CHECK(a.kind == FlowActionKind::kSubmitCallback);
  REQUIRE(a.callback != nullptr);
  CHECK(a.callback == &d.flow.callback());
  const CapturedCallback& cb = *a.callback;
  CHECK(cb.call_id == "call-42");
  CHECK(cb.flow_name == "Main_IVR");
  CHECK(cb.original_queue_id == "q-billing");
  CHECK(cb.caller_number == "+14155550100");
  CHECK(cb.caller_number_source == CallerNumberSource::kNetwork);
  REQUIRE(cb.context.size() == 2);
  CHECK(cb.context[0].first == "account");
  CHECK(cb.context[0].second == "A-17");
  CHECK(cb.context[1].first == "lang");
  CHECK_FALSE(cb.requested_time.has_value());
  CHECK(cb.consented_at == kT0 + 19'500);
  CHECK(d.flow.state() == FlowState::kAwaitingRecord);
  CHECK(d.flow.NextDeadline() == kT0 + 22'500);  // max_confirmation_wait_ms

  d.Advance(40);
  a = d.Recorded();
  CheckPlay(a, FlowActionKind::kPlayConfirmation, FlowPrompt::kConfirmation, "callback_confirmation",
            false);
  CHECK(d.flow.state() == FlowState::kPlayingConfirmation);
  CHECK_FALSE(d.flow.finished());
  CHECK_FALSE(d.flow.outcome().has_value());  // decided, reported once finished
  CHECK(d.flow.submission_result() == SubmissionResult::kRecorded);

  d.Advance(3'000);
  CheckHangup(d.Prompt(), HangupTone::kPolite, CallOutcome::kCallbackRecorded);
  CheckFinished(d, CallOutcome::kCallbackRecorded);

  // The PBX reports the channel closing: accepted, nothing changes.
  CheckNone(d.Hangup());
  CheckFinished(d, CallOutcome::kCallbackRecorded);
}

TEST_CASE("a duplicate submission is confirmed like a new one") {
  Driver d;
  d.ToConsent();
  d.Digits("1");
  CheckPlay(d.Recorded(SubmissionResult::kDuplicate), FlowActionKind::kPlayConfirmation,
            FlowPrompt::kConfirmation, "callback_confirmation", false);
  d.Prompt();
  CheckFinished(d, CallOutcome::kCallbackRecorded);
  CHECK(d.flow.submission_result() == SubmissionResult::kDuplicate);
}

TEST_CASE("consent can barge in on the message and the offer") {
  SECTION("during the emergency message") {
    Driver d;
    d.Answered();
    CHECK(d.Digits("1").kind == FlowActionKind::kSubmitCallback);
  }
  SECTION("during the offer, several keys at once: the first decides") {
    Driver d;
    d.Answered();
    d.Prompt();
    CHECK(d.Digits("19").kind == FlowActionKind::kSubmitCallback);
  }
  SECTION("barge-in off: digits during prompts are refused") {
    Driver d(Config([](FlowConfig& c) { c.barge_in = false; }));
    CHECK_FALSE(d.Answered().barge_in);
    CheckRefused(d, d.flow.OnDigits("1", d.now), "Digits is not valid in state playing_message");
    CHECK_FALSE(d.Prompt().barge_in);
    CheckRefused(d, d.flow.OnDigits("1", d.now), "Digits is not valid in state playing_offer");
    d.Prompt();
    CHECK(d.Digits("1").kind == FlowActionKind::kSubmitCallback);
  }
}

TEST_CASE("without an offer prompt the message carries the offer") {
  Driver d(Config([](FlowConfig& c) { c.callback_offer_media.clear(); }));
  d.Answered();
  CHECK(d.Prompt().kind == FlowActionKind::kCollectDigits);
  CHECK(d.flow.offer_plays() == 1);
  // A replay repeats the message.
  FlowAction a = d.Digits("7");
  CheckPlay(a, FlowActionKind::kPlayMedia, FlowPrompt::kEmergencyMessage, "emergency_message", true);
  CHECK(d.flow.state() == FlowState::kPlayingOffer);
  CHECK(d.flow.offer_plays() == 2);
}

TEST_CASE("another digit with replay_once: one replay, then goodbye -> declined") {
  Driver d;
  d.ToConsent();
  FlowAction a = d.Digits("2");
  CheckPlay(a, FlowActionKind::kPlayMedia, FlowPrompt::kCallbackOffer, "callback_offer", true);
  CHECK(d.flow.offer_plays() == 2);
  CHECK(d.Prompt().kind == FlowActionKind::kCollectDigits);
  a = d.Digits("*");
  CheckPlay(a, FlowActionKind::kPlayMedia, FlowPrompt::kGoodbye, "goodbye", false);
  CHECK(d.flow.state() == FlowState::kPlayingGoodbye);
  CHECK_FALSE(d.flow.finished());
  CheckHangup(d.Prompt(), HangupTone::kPolite, CallOutcome::kDeclined);
  CheckFinished(d, CallOutcome::kDeclined);
}

TEST_CASE("after the replay the caller can still consent") {
  Driver d;
  d.ToConsent();
  d.Digits("0");
  CHECK(d.Digits("1").kind == FlowActionKind::kSubmitCallback);  // barge-in on the replay
}

TEST_CASE("another digit with the goodbye rule ends at once -> declined") {
  Driver d(Config([](FlowConfig& c) { c.other_digit_rule = OtherDigitRule::kGoodbye; }));
  d.ToConsent();
  CheckPlay(d.Digits("9"), FlowActionKind::kPlayMedia, FlowPrompt::kGoodbye, "goodbye", false);
  CheckHangup(d.Prompt(), HangupTone::kPolite, CallOutcome::kDeclined);
  CheckFinished(d, CallOutcome::kDeclined);

  Driver silent(Config([](FlowConfig& c) {
    c.other_digit_rule = OtherDigitRule::kGoodbye;
    c.goodbye_media.clear();
  }));
  silent.ToConsent();
  CheckHangup(silent.Digits("#"), HangupTone::kPolite, CallOutcome::kDeclined);
  CheckFinished(silent, CallOutcome::kDeclined);
}

TEST_CASE("a configured consent digit replaces '1'") {
  Driver d(Config([](FlowConfig& c) { c.consent_digit = '5'; }));
  d.ToConsent();
  CHECK(d.Digits("1").kind == FlowActionKind::kPlayMedia);  // the replay
  d.Prompt();
  CHECK(d.Digits("5").kind == FlowActionKind::kSubmitCallback);
}

TEST_CASE("timeouts: no continue-on-timeout, a polite disconnect -> timeout") {
  SECTION("the PBX times out the message") {
    Driver d;
    d.Answered();
    CheckHangup(d.Timeout(), HangupTone::kPolite, CallOutcome::kTimeout);
    CheckFinished(d, CallOutcome::kTimeout);
  }
  SECTION("the PBX times out the offer") {
    Driver d;
    d.Answered();
    d.Prompt();
    CheckHangup(d.Timeout(), HangupTone::kPolite, CallOutcome::kTimeout);
    CheckFinished(d, CallOutcome::kTimeout);
  }
  SECTION("no digit: the prompt loops exactly once, so the call ends") {
    Driver d;
    d.ToConsent();
    CheckHangup(d.Timeout(), HangupTone::kPolite, CallOutcome::kTimeout);
    CheckFinished(d, CallOutcome::kTimeout);
  }
  SECTION("prompt_plays = 2 replays the offer once on silence") {
    Driver d(Config([](FlowConfig& c) { c.prompt_plays = 2; }));
    d.ToConsent();
    CheckPlay(d.Timeout(), FlowActionKind::kPlayMedia, FlowPrompt::kCallbackOffer, "callback_offer", true);
    d.Prompt();
    CheckHangup(d.Timeout(), HangupTone::kPolite, CallOutcome::kTimeout);
    CheckFinished(d, CallOutcome::kTimeout);
  }
  SECTION("the flow's own deadline backs up a PBX that never reports") {
    Driver d;
    d.Answered();
    CheckNone(d.Timer(kT0 + 15'999));
    CHECK(d.flow.state() == FlowState::kPlayingMessage);
    CheckHangup(d.Timer(kT0 + 16'000), HangupTone::kPolite, CallOutcome::kTimeout);
    CheckFinished(d, CallOutcome::kTimeout);
    // The PBX's late Timeout is refused; a timer is harmless.
    CheckRefused(d, d.flow.OnTimeout(d.now), "Timeout is not valid in state done");
    CheckNone(d.Timer(kT0 + 99'000));
  }
  SECTION("the deadline backs up the digit collection too") {
    Driver d;
    d.ToConsent();
    const UnixMillis deadline = d.flow.NextDeadline();
    CHECK(deadline == d.now + 5'000);
    CheckNone(d.Timer(deadline - 1));
    CheckHangup(d.Timer(deadline), HangupTone::kPolite, CallOutcome::kTimeout);
  }
  SECTION("a timeout while the confirmation plays keeps callback_recorded") {
    Driver d;
    d.ToConsent();
    d.Digits("1");
    d.Recorded();
    CheckHangup(d.Timeout(), HangupTone::kPolite, CallOutcome::kCallbackRecorded);
    CheckFinished(d, CallOutcome::kCallbackRecorded);
  }
  SECTION("a stuck fallback prompt still hangs up -> fallback") {
    Driver d;
    d.ToConsent();
    d.Digits("1");
    d.Recorded(SubmissionResult::kFailed);
    CheckHangup(d.Timer(d.flow.NextDeadline()), HangupTone::kPolite, CallOutcome::kFallback);
  }
  SECTION("a stuck goodbye prompt still hangs up -> declined") {
    Driver d(Config([](FlowConfig& c) { c.other_digit_rule = OtherDigitRule::kGoodbye; }));
    d.ToConsent();
    d.Digits("3");
    CheckHangup(d.Timeout(), HangupTone::kPolite, CallOutcome::kDeclined);
  }
}

TEST_CASE("a hangup in every state ends the flow with the right outcome") {
  struct Case {
    const char* name;
    std::function<void(Driver&)> to_state;
    FlowState state;
    CallOutcome outcome;
  };
  const std::vector<Case> cases = {
      {"idle", [](Driver&) {}, FlowState::kIdle, CallOutcome::kHangup},
      {"message", [](Driver& d) { d.Answered(); }, FlowState::kPlayingMessage, CallOutcome::kHangup},
      {"offer", [](Driver& d) { d.Answered(); d.Prompt(); }, FlowState::kPlayingOffer, CallOutcome::kHangup},
      {"consent", [](Driver& d) { d.ToConsent(); }, FlowState::kCollectingConsent, CallOutcome::kHangup},
      {"confirmation", [](Driver& d) { d.ToConsent(); d.Digits("1"); d.Recorded(); },
       FlowState::kPlayingConfirmation, CallOutcome::kCallbackRecorded},
      {"fallback", [](Driver& d) { d.ToConsent(); d.Digits("1"); d.Recorded(SubmissionResult::kFailed); },
       FlowState::kPlayingFallback, CallOutcome::kFallback},
      {"goodbye", [](Driver& d) { d.ToConsent(); d.Digits("2"); d.Prompt(); d.Digits("2"); },
       FlowState::kPlayingGoodbye, CallOutcome::kDeclined},
  };
  for (const Case& k : cases) {
    INFO(k.name);
    Driver d;
    k.to_state(d);
    REQUIRE(d.flow.state() == k.state);
    FlowAction a = d.Hangup();
    CHECK(a.kind == FlowActionKind::kNone);  // nothing to play to a caller who left
    REQUIRE(a.final_outcome.has_value());
    CHECK(*a.final_outcome == k.outcome);
    CheckFinished(d, k.outcome);
    CheckNone(d.Hangup());  // idempotent
    CHECK(d.finals == 1);
  }

  // Number entry states.
  for (int collecting = 0; collecting < 2; ++collecting) {
    Driver d(Config(), Info("restricted"));
    d.ToConsent();
    d.Digits("1");
    REQUIRE(d.flow.state() == FlowState::kPlayingNumberEntry);
    if (collecting) {
      d.Prompt();
      d.Digits("415");
      REQUIRE(d.flow.state() == FlowState::kCollectingNumber);
    }
    CHECK(d.Hangup().final_outcome == CallOutcome::kHangup);
    CheckFinished(d, CallOutcome::kHangup);
  }

  // After rejection.
  Driver r;
  r.RejectBusy();
  CheckNone(r.Hangup());
  CheckFinished(r, CallOutcome::kRejectedBusy);
}

TEST_CASE("a hangup while the submission is in flight waits for its result") {
  SECTION("recorded: the caller will be called back -> callback_recorded") {
    Driver d;
    d.ToConsent();
    d.Digits("1");
    CheckNone(d.Hangup());
    CHECK(d.flow.state() == FlowState::kAwaitingRecordCallerGone);
    CHECK_FALSE(d.flow.finished());
    CheckNone(d.Hangup());  // a repeated hangup is harmless
    FlowAction a = d.Recorded();
    CHECK(a.kind == FlowActionKind::kNone);  // no confirmation to an empty line
    CHECK(a.final_outcome == CallOutcome::kCallbackRecorded);
    CheckFinished(d, CallOutcome::kCallbackRecorded);
  }
  SECTION("duplicate counts as recorded") {
    Driver d;
    d.ToConsent();
    d.Digits("1");
    d.Hangup();
    CHECK(d.Recorded(SubmissionResult::kDuplicate).final_outcome == CallOutcome::kCallbackRecorded);
  }
  SECTION("failed -> hangup") {
    Driver d;
    d.ToConsent();
    d.Digits("1");
    d.Hangup();
    CHECK(d.Recorded(SubmissionResult::kFailed).final_outcome == CallOutcome::kHangup);
    CheckFinished(d, CallOutcome::kHangup);
  }
  SECTION("no result within the wait -> hangup") {
    Driver d;
    d.ToConsent();
    d.Digits("1");
    const UnixMillis deadline = d.flow.NextDeadline();
    d.Advance(100);
    d.Hangup();
    CHECK(d.flow.NextDeadline() == deadline);  // the wait is not extended
    CheckNone(d.Timer(deadline - 1));
    FlowAction a = d.Timer(deadline);
    CHECK(a.kind == FlowActionKind::kNone);
    CHECK(a.final_outcome == CallOutcome::kHangup);
    CheckFinished(d, CallOutcome::kHangup);
    // The result arrives afterwards: kept, outcome unchanged.
    CheckNone(d.Recorded());
    CHECK(d.flow.late_submission_result());
    CheckFinished(d, CallOutcome::kHangup);
  }
}

TEST_CASE("recording failure plays the fallback -> fallback") {
  Driver d;
  d.ToConsent();
  d.Digits("1");
  FlowAction a = d.Recorded(SubmissionResult::kFailed);
  CheckPlay(a, FlowActionKind::kPlayFallback, FlowPrompt::kFallback, "callback_fallback", false);
  CHECK(d.flow.state() == FlowState::kPlayingFallback);
  CheckHangup(d.Prompt(), HangupTone::kPolite, CallOutcome::kFallback);
  CheckFinished(d, CallOutcome::kFallback);
  CHECK(d.flow.submission_result() == SubmissionResult::kFailed);
  CHECK_FALSE(d.flow.late_submission_result());
}

TEST_CASE("no recording result within the silence limit plays the fallback") {
  Driver d(Config([](FlowConfig& c) { c.max_confirmation_wait_ms = 2'500; }));
  d.ToConsent();
  d.Digits("1");
  const UnixMillis submitted = d.now;
  CHECK(d.flow.NextDeadline() == submitted + 2'500);
  CheckNone(d.Timer(submitted + 2'499));
  CHECK(d.flow.state() == FlowState::kAwaitingRecord);
  FlowAction a = d.Timer(submitted + 2'500);
  CheckPlay(a, FlowActionKind::kPlayFallback, FlowPrompt::kFallback, "callback_fallback", false);
  // The result comes late: kept for the record, but the caller heard the fallback.
  CheckNone(d.Recorded());
  CHECK(d.flow.late_submission_result());
  CHECK(d.flow.submission_result() == SubmissionResult::kRecorded);
  CheckRefused(d, d.flow.OnSubmissionResult(SubmissionResult::kRecorded, d.now),
               "SubmissionResult is not valid in state playing_fallback");
  CheckHangup(d.Prompt(), HangupTone::kPolite, CallOutcome::kFallback);
  CheckFinished(d, CallOutcome::kFallback);
}

TEST_CASE("withheld number: keyed entry, '#'-terminated") {
  Driver d(Config(), Info("anonymous"));
  d.ToConsent();
  FlowAction a = d.Digits("1");
  CheckPlay(a, FlowActionKind::kPlayMedia, FlowPrompt::kNumberEntry, "number_entry", true);
  CHECK(d.flow.state() == FlowState::kPlayingNumberEntry);
  a = d.Prompt();
  CHECK(a.kind == FlowActionKind::kCollectDigits);
  CHECK(a.max_digits == 15);
  CHECK(a.terminator == '#');
  CHECK(a.first_digit_timeout_ms == 4'000);
  CHECK(a.inter_digit_timeout_ms == 4'000);
  CHECK(d.flow.state() == FlowState::kCollectingNumber);
  a = d.Digits("4155550100#");
  CHECK(a.kind == FlowActionKind::kSubmitCallback);
  CHECK(a.callback->caller_number == "+14155550100");
  CHECK(a.callback->caller_number_source == CallerNumberSource::kKeyed);
  CHECK(a.callback->consented_at == d.now);
  d.Recorded();
  d.Prompt();
  CheckFinished(d, CallOutcome::kCallbackRecorded);
}

TEST_CASE("keyed entry reported digit by digit") {
  Driver d(Config(), Info("unknown"));
  d.ToConsent();
  d.Digits("1");
  d.Prompt();
  d.Advance(2'000);
  CheckNone(d.Digits("415"));
  CHECK(d.flow.NextDeadline() == d.now + 5'000);  // inter-digit timeout + grace
  d.Advance(3'000);
  CheckNone(d.Digits("555"));
  CHECK(d.flow.NextDeadline() == d.now + 5'000);
  d.Advance(1'000);
  FlowAction a = d.Digits("0100#");
  CHECK(a.kind == FlowActionKind::kSubmitCallback);
  CHECK(a.callback->caller_number == "+14155550100");
}

TEST_CASE("keyed entry: barge-in on the entry prompt continues the collection") {
  Driver d(Config(), Info("private"));
  d.ToConsent();
  d.Digits("1");
  FlowAction a = d.Digits("415");
  CHECK(a.kind == FlowActionKind::kCollectDigits);
  CHECK(a.max_digits == 12);
  CHECK(a.first_digit_timeout_ms == 4'000);
  CHECK(a.terminator == '#');
  CHECK(d.flow.state() == FlowState::kCollectingNumber);
  CHECK(d.Digits("5550100#").kind == FlowActionKind::kSubmitCallback);
  CHECK(d.flow.callback().caller_number == "+14155550100");
}

TEST_CASE("keyed entry: 15 digits complete the entry without '#'") {
  SECTION("15 valid digits") {
    Driver d(Config(), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    FlowAction a = d.Digits("011442079460000");
    CHECK(a.kind == FlowActionKind::kSubmitCallback);
    CHECK(a.callback->caller_number == "+442079460000");
  }
  SECTION("a 16th key is ignored; the 15 are invalid for NANP -> fallback") {
    Driver d(Config(), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    FlowAction a = d.Digits("4155550100123456");
    CheckPlay(a, FlowActionKind::kPlayFallback, FlowPrompt::kFallback, "callback_fallback", false);
    d.Prompt();
    CheckFinished(d, CallOutcome::kFallback);
  }
  SECTION("a smaller configured limit") {
    Driver d(Config([](FlowConfig& c) { c.number_entry_max_digits = 10; }), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    CHECK(d.Prompt().max_digits == 10);
    CHECK(d.Digits("41555501009").kind == FlowActionKind::kSubmitCallback);
    CHECK(d.flow.callback().caller_number == "+14155550100");
  }
}

TEST_CASE("keyed entry timeouts") {
  SECTION("no key at all -> timeout") {
    Driver d(Config(), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    CheckHangup(d.Timeout(), HangupTone::kPolite, CallOutcome::kTimeout);
    CheckFinished(d, CallOutcome::kTimeout);
  }
  SECTION("the entry prompt itself times out -> timeout") {
    Driver d(Config(), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    CheckHangup(d.Timeout(), HangupTone::kPolite, CallOutcome::kTimeout);
  }
  SECTION("an inter-digit timeout after some keys ends the entry") {
    Driver d(Config(), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    d.Digits("4155550100");
    FlowAction a = d.Timeout();
    CHECK(a.kind == FlowActionKind::kSubmitCallback);
    CHECK(a.callback->caller_number == "+14155550100");
  }
  SECTION("the flow's own deadline ends the entry when the PBX is silent") {
    Driver d(Config(), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    CHECK(d.flow.NextDeadline() == d.now + 5'000);
    d.Digits("415555");
    CHECK(d.Timer(d.flow.NextDeadline()).kind == FlowActionKind::kPlayFallback);  // 6 digits: invalid
  }
}

TEST_CASE("keyed entry: invalid numbers, retries and the fallback") {
  SECTION("one attempt: an invalid entry plays the fallback") {
    Driver d(Config(), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    CHECK(d.Digits("12345#").kind == FlowActionKind::kPlayFallback);
    CHECK(d.flow.callback().caller_number.empty());
    d.Prompt();
    CheckFinished(d, CallOutcome::kFallback);
  }
  SECTION("'#' alone is an invalid entry") {
    Driver d(Config(), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    CHECK(d.Digits("#").kind == FlowActionKind::kPlayFallback);
  }
  SECTION("'*' in the entry makes it invalid") {
    Driver d(Config(), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    CHECK(d.Digits("415*5550100#").kind == FlowActionKind::kPlayFallback);
  }
  SECTION("two attempts: the prompt is replayed once with a fresh buffer") {
    Driver d(Config([](FlowConfig& c) { c.number_entry_attempts = 2; }), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    CheckPlay(d.Digits("999#"), FlowActionKind::kPlayMedia, FlowPrompt::kNumberEntry, "number_entry", true);
    d.Prompt();
    CHECK(d.Digits("4155550100#").kind == FlowActionKind::kSubmitCallback);
    CHECK(d.flow.callback().caller_number == "+14155550100");
  }
  SECTION("two attempts, both invalid") {
    Driver d(Config([](FlowConfig& c) { c.number_entry_attempts = 2; }), Info("anonymous"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    d.Digits("1#");
    d.Prompt();
    CHECK(d.Digits("2#").kind == FlowActionKind::kPlayFallback);
  }
  SECTION("an invalid (not withheld) ANI also asks for entry") {
    Driver d(Config(), Info("555-0100"));
    d.ToConsent();
    CHECK(d.Digits("1").prompt == FlowPrompt::kNumberEntry);
  }
  SECTION("number entry disabled: the fallback at once") {
    Driver d(Config([](FlowConfig& c) { c.number_entry_enabled = false; }), Info("anonymous"));
    d.ToConsent();
    CheckPlay(d.Digits("1"), FlowActionKind::kPlayFallback, FlowPrompt::kFallback, "callback_fallback", false);
    CheckHangup(d.Prompt(), HangupTone::kPolite, CallOutcome::kFallback);
    CheckFinished(d, CallOutcome::kFallback);
  }
  SECTION("the keyed number uses the default country") {
    Driver d(Config([](FlowConfig& c) { c.default_country = "GB"; }), Info("withheld"));
    d.ToConsent();
    d.Digits("1");
    d.Prompt();
    d.Digits("02079460000#");
    CHECK(d.flow.callback().caller_number == "+442079460000");
  }
}

TEST_CASE("admission rejection: a busy hangup -> rejected_busy") {
  Driver d;
  FlowAction a = d.RejectBusy();
  CheckHangup(a, HangupTone::kBusy, CallOutcome::kRejectedBusy);
  CheckFinished(d, CallOutcome::kRejectedBusy);
  CheckRefused(d, d.flow.OnAnswered(d.now), "Answered is not valid in state done");

  Driver answered;
  answered.Answered();
  CheckRefused(answered, answered.flow.OnRejectBusy(answered.now),
               "RejectBusy is not valid in state playing_message");
}

TEST_CASE("events in the wrong state are refused with kState and change nothing") {
  Driver d;
  CheckRefused(d, d.flow.OnPromptFinished(d.now), "PromptFinished is not valid in state idle");
  CheckRefused(d, d.flow.OnDigits("1", d.now), "Digits is not valid in state idle");
  CheckRefused(d, d.flow.OnTimeout(d.now), "Timeout is not valid in state idle");
  CheckRefused(d, d.flow.OnSubmissionResult(SubmissionResult::kRecorded, d.now),
               "SubmissionResult is not valid in state idle");
  d.Answered();
  CheckRefused(d, d.flow.OnAnswered(d.now), "Answered is not valid in state playing_message");
  CheckRefused(d, d.flow.OnSubmissionResult(SubmissionResult::kFailed, d.now),
               "SubmissionResult is not valid in state playing_message");
  d.Prompt();
  d.Prompt();
  CheckRefused(d, d.flow.OnPromptFinished(d.now), "PromptFinished is not valid in state collecting_consent");
  d.Digits("1");
  CheckRefused(d, d.flow.OnDigits("1", d.now), "Digits is not valid in state awaiting_record");
  CheckRefused(d, d.flow.OnTimeout(d.now), "Timeout is not valid in state awaiting_record");
  CheckRefused(d, d.flow.OnPromptFinished(d.now), "PromptFinished is not valid in state awaiting_record");
  d.Recorded();
  CheckRefused(d, d.flow.OnDigits("1", d.now), "Digits is not valid in state playing_confirmation");
  CheckRefused(d, d.flow.OnSubmissionResult(SubmissionResult::kRecorded, d.now),
               "SubmissionResult is not valid in state playing_confirmation");
  d.Prompt();
  CheckRefused(d, d.flow.OnPromptFinished(d.now), "PromptFinished is not valid in state done");
  CheckRefused(d, d.flow.OnDigits("1", d.now), "Digits is not valid in state done");
  CheckFinished(d, CallOutcome::kCallbackRecorded);

  Driver gone;
  gone.ToConsent();
  gone.Digits("1");
  gone.Hangup();
  CheckRefused(gone, gone.flow.OnTimeout(gone.now), "Timeout is not valid in state awaiting_record_caller_gone");
  CheckRefused(gone, gone.flow.OnDigits("1", gone.now), "Digits is not valid in state awaiting_record_caller_gone");
}

TEST_CASE("malformed input is kInvalidArgument") {
  Driver d;
  d.ToConsent();
  auto r = d.flow.OnDigits("", d.now);
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message() == "digits must not be empty");
  r = d.flow.OnDigits("1x", d.now);
  CHECK(r.status().message() == "digits: the key at position 1 is not DTMF (0-9, *, #, A-D)");
  r = d.flow.OnDigits(std::string(65, '1'), d.now);
  CHECK(r.status().message() == "digits has more than 64 keys");
  CHECK(d.flow.state() == FlowState::kCollectingConsent);
  CHECK(d.Digits("A").kind == FlowActionKind::kPlayMedia);  // a valid DTMF key: not consent
  d.Prompt();
  d.Digits("1");
  r = d.flow.OnSubmissionResult(static_cast<SubmissionResult>(7), d.now);
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message() == "submission result must be recorded, duplicate or failed");
  CHECK(d.flow.state() == FlowState::kAwaitingRecord);
  FlowEvent bad;
  bad.kind = static_cast<FlowEventKind>(42);
  CHECK(d.flow.OnEvent(bad, d.now).status().message() == "event kind is not a FlowEventKind");
}

TEST_CASE("OnEvent dispatches like the individual methods") {
  auto flow = Must(EmergencyCallFlow::Create(Config(), Info(), kT0));
  auto ev = [&](FlowEventKind k, std::string_view digits = {},
                SubmissionResult s = SubmissionResult::kRecorded) {
    FlowEvent e;
    e.kind = k;
    e.digits = digits;
    e.submission = s;
    auto r = flow.OnEvent(e, kT0);
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(ev(FlowEventKind::kAnswered).kind == FlowActionKind::kPlayMedia);
  CHECK(ev(FlowEventKind::kPromptFinished).kind == FlowActionKind::kPlayMedia);
  CHECK(ev(FlowEventKind::kPromptFinished).kind == FlowActionKind::kCollectDigits);
  CHECK(ev(FlowEventKind::kDigits, "1").kind == FlowActionKind::kSubmitCallback);
  CHECK(ev(FlowEventKind::kSubmissionResult, {}, SubmissionResult::kFailed).kind ==
        FlowActionKind::kPlayFallback);
  CHECK(ev(FlowEventKind::kTimeout).final_outcome == CallOutcome::kFallback);
  CHECK(ev(FlowEventKind::kHangup).kind == FlowActionKind::kNone);
  auto busy = Must(EmergencyCallFlow::Create(Config(), Info(), kT0));
  FlowEvent e;
  e.kind = FlowEventKind::kRejectBusy;
  CHECK(busy.OnEvent(e, kT0)->tone == HangupTone::kBusy);
}

TEST_CASE("the requested callback time is carried, and frozen at submission") {
  EmergencyCallInfo info = Info();
  info.requested_time = kT0 + 3'600'000;
  Driver d(Config(), std::move(info));
  CHECK(d.flow.callback().requested_time == kT0 + 3'600'000);
  CHECK(d.flow.SetRequestedTime(std::nullopt).ok());  // ASAP after all
  CHECK_FALSE(d.flow.callback().requested_time.has_value());
  CHECK(d.flow.SetRequestedTime(kT0 + 7'200'000).ok());
  d.ToConsent();
  FlowAction a = d.Digits("1");
  CHECK(a.callback->requested_time == kT0 + 7'200'000);
  Status s = d.flow.SetRequestedTime(kT0);
  CHECK(s.code() == StatusCode::kState);
  CHECK(s.message() == "SetRequestedTime: the callback was already submitted");
  CHECK(d.flow.callback().requested_time == kT0 + 7'200'000);
}

TEST_CASE("time never runs backwards inside the flow") {
  Driver d;
  d.now = kT0 + 10'000;
  d.Answered();
  CHECK(d.flow.NextDeadline() == kT0 + 26'000);
  d.now = kT0;  // an earlier time is treated as kT0 + 10 000
  d.Prompt();
  CHECK(d.flow.NextDeadline() == kT0 + 26'000);
}

TEST_CASE("names of outcomes, states and actions") {
  const std::vector<std::pair<CallOutcome, const char*>> outcomes = {
      {CallOutcome::kCallbackRecorded, "callback_recorded"}, {CallOutcome::kDeclined, "declined"},
      {CallOutcome::kTimeout, "timeout"}, {CallOutcome::kHangup, "hangup"},
      {CallOutcome::kRejectedBusy, "rejected_busy"}, {CallOutcome::kFallback, "fallback"}};
  REQUIRE(outcomes.size() == static_cast<std::size_t>(lifeline::kCallOutcomeCount));
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    CHECK(static_cast<int>(outcomes[i].first) == static_cast<int>(i));
    CHECK(std::string(lifeline::CallOutcomeName(outcomes[i].first)) == outcomes[i].second);
  }
  CHECK(std::string(lifeline::CallOutcomeName(static_cast<CallOutcome>(6))) == "unknown");
  CHECK(std::string(lifeline::FlowStateName(FlowState::kAwaitingRecordCallerGone)) ==
        "awaiting_record_caller_gone");
  CHECK(std::string(lifeline::FlowStateName(static_cast<FlowState>(12))) == "unknown");
  CHECK(std::string(lifeline::FlowActionKindName(FlowActionKind::kPlayConfirmation)) ==
        "play_confirmation");
  CHECK(std::string(lifeline::FlowActionKindName(FlowActionKind::kSubmitCallback)) == "submit_callback");
  CHECK(std::string(lifeline::FlowActionKindName(static_cast<FlowActionKind>(-1))) == "unknown");
}

TEST_CASE("a flow can be moved mid-call, its actions then refer to the new object") {
  Driver d;
  d.ToConsent();
  EmergencyCallFlow moved = std::move(d.flow);
  CHECK(moved.state() == FlowState::kCollectingConsent);
  auto r = moved.OnDigits("1", d.now);
  REQUIRE(r.ok());
  CHECK(r->callback == &moved.callback());
  CHECK(r->callback->caller_number == "+14155550100");
}

// Every sequence of up to kDepth events from every state: the flow never
// fails other than with kState / kInvalidArgument, finishes at most once,
// keeps its outcome, and never waits in silence beyond max_silence_ms.
TEST_CASE("exhaustive event sequences keep the flow's invariants") {
  constexpr int kDepth = 5;
  struct Step {
    const char* name;
    std::function<Result<FlowAction>(EmergencyCallFlow&, UnixMillis)> apply;
  };
  const std::vector<Step> steps = {
      {"answered", [](auto& f, auto t) { return f.OnAnswered(t); }},
      {"prompt", [](auto& f, auto t) { return f.OnPromptFinished(t); }},
      {"consent", [](auto& f, auto t) { return f.OnDigits("1", t); }},
      {"other", [](auto& f, auto t) { return f.OnDigits("2", t); }},
      {"number", [](auto& f, auto t) { return f.OnDigits("4155550100#", t); }},
      {"timeout", [](auto& f, auto t) { return f.OnTimeout(t); }},
      {"hangup", [](auto& f, auto t) { return f.OnHangup(t); }},
      {"recorded", [](auto& f, auto t) { return f.OnSubmissionResult(SubmissionResult::kRecorded, t); }},
      {"failed", [](auto& f, auto t) { return f.OnSubmissionResult(SubmissionResult::kFailed, t); }},
      {"busy", [](auto& f, auto t) { return f.OnRejectBusy(t); }},
      {"timer", [](auto& f, auto t) { return f.OnTimer(t); }},  // `now` jumps to the deadline
  };
  const auto config = Config([](FlowConfig& c) { c.prompt_plays = 2; });
  const int n = static_cast<int>(steps.size());
  long sequences = 0, finished = 0;
  std::vector<int> index(kDepth, 0);
  for (const char* caller : {"+14155550100", "anonymous"}) {
    for (long code = 0;; ++code) {
      // Decode `code` into kDepth step indexes; stop after the last combination.
      long c = code;
      for (int i = 0; i < kDepth; ++i, c /= n) index[i] = static_cast<int>(c % n);
      if (c != 0) break;
      ++sequences;
      auto flow = Must(EmergencyCallFlow::Create(config, Info(caller), kT0));
      UnixMillis now = kT0;
      int finals = 0;
      std::optional<CallOutcome> seen;
      for (int i = 0; i < kDepth; ++i) {
        const Step& step = steps[index[i]];
        now += 100;
        if (index[i] == n - 1 && flow.NextDeadline() != EmergencyCallFlow::kNoDeadline)
          now = std::max(now, flow.NextDeadline());
        const FlowState before = flow.state();
        const bool was_finished = flow.finished();
        Result<FlowAction> r = step.apply(flow, now);
        if (!r.ok()) {
          INFO(step.name << " in " << lifeline::FlowStateName(before) << ": " << r.status().message());
          REQUIRE(r.status().code() == StatusCode::kState);
          REQUIRE(flow.state() == before);
          continue;
        }
        if (r->final_outcome) {
          ++finals;
          REQUIRE_FALSE(was_finished);
          seen = r->final_outcome;
        }
        if (r->kind == FlowActionKind::kSubmitCallback) {
          REQUIRE(r->callback != nullptr);
          REQUIRE(r->callback->caller_number.size() >= 9);
          REQUIRE(r->callback->caller_number[0] == '+');
        }
        if (r->kind == FlowActionKind::kHangup) REQUIRE(r->final_outcome.has_value());
        REQUIRE(finals <= 1);
        REQUIRE(flow.finished() == (finals == 1));
        if (flow.finished()) REQUIRE(flow.outcome() == seen);
        const FlowState s = flow.state();
        if (s == FlowState::kCollectingConsent || s == FlowState::kCollectingNumber ||
            s == FlowState::kAwaitingRecord || s == FlowState::kAwaitingRecordCallerGone) {
          // A silent wait: bounded by the configured limit.
          REQUIRE(flow.NextDeadline() - now <= config->max_silence_ms);
        } else if (s != FlowState::kIdle && s != FlowState::kDone) {
          REQUIRE(flow.NextDeadline() - now <= config->playback_timeout_ms + config->timer_grace_ms);
        }
      }
      if (flow.finished()) ++finished;
    }
  }
  CHECK(sequences == 2 * 161'051);  // 11^5 per caller
  CHECK(finished > 0);
}

TEST_CASE("events on the success path allocate nothing") {
  const auto config = Config([](FlowConfig& c) { c.prompt_plays = 2; });
  auto flow = Must(EmergencyCallFlow::Create(config, Info(), kT0));
  UnixMillis t = kT0;
  const long before = ThreadAllocations();
  auto step = [&](Result<FlowAction> r) {
    if (!r.ok()) FAIL(r.status().message());
    t += 100;
  };
  step(flow.OnAnswered(t));
  step(flow.OnPromptFinished(t));
  step(flow.OnPromptFinished(t));
  step(flow.OnTimer(t));        // not due: kNone
  step(flow.OnTimeout(t));      // replay
  step(flow.OnPromptFinished(t));
  step(flow.OnDigits("1", t));  // SubmitCallback
  step(flow.OnSubmissionResult(SubmissionResult::kRecorded, t));
  step(flow.OnPromptFinished(t));
  step(flow.OnHangup(t));
  const long after = ThreadAllocations();
  CHECK(after == before);
  CHECK(flow.outcome() == CallOutcome::kCallbackRecorded);
  // The counter itself works.
  const long probe = ThreadAllocations();
  auto* heap = new std::string(64, 'x');
  delete heap;
  CHECK(ThreadAllocations() > probe);
}
