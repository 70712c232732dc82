// The PBX telephony port (lifeline/outbound_call.hpp) and the voice channel
// adapter over it (telephony/pbx_voice_sender.hpp): the call request built
// from a cascade message, the immediate answers mapped to send results, the
// call results mapped to attempt statuses, result validation, and the
// sender's behaviour without an originator or with one that throws.
#include <catch2/catch.hpp>

#include <memory>
#include <stdexcept>
#include <vector>

#include "lifeline/outbound_call.hpp"
#include "telephony/pbx_voice_sender.hpp"

using namespace lifeline;

namespace {

OutboundMessage VoiceMessage() {
  OutboundMessage m;
  m.message_id = 42;
  m.incident_id = "INC-7";
  m.member_id = "alice";
  m.channel = Channel::kVoice;
  m.endpoint = "voice";
  m.address = "+12125550101";
  m.text = "Data center outage at DC-East.";
  m.severity = Severity::kP2;
  m.escalation = false;
  return m;
}

// Answers from a script (then kOriginated), recording every request.
class ScriptedOriginator : public CallOriginator {
 public:
  std::vector<OriginateAnswer> script;
  std::vector<OutboundCallRequest> requests;
  OriginateAnswer Originate(const OutboundCallRequest& request) override {
    requests.push_back(request);
    if (requests.size() <= script.size()) return script[requests.size() - 1];
    return {};
  }
};

class ThrowingOriginator : public CallOriginator {
 public:
  OriginateAnswer Originate(const OutboundCallRequest&) override { throw std::runtime_error("pbx down"); }
};

// Sends and returns the result, checking `done` ran exactly once before
// Send returned.
SendResult SendOnce(ChannelSender& sender, const OutboundMessage& m) {
  int calls = 0;
  SendResult out;
  sender.Send(m, [&](SendResult r) {
    ++calls;
    out = r;
  });
  REQUIRE(calls == 1);
  return out;
}

}  // namespace

TEST_CASE("the call request carries the message, the options and the default gather prompt") {
  OutboundCallOptions o;
  o.caller_id = "+15550001111";
  o.media_id = "bcp-intro";
  o.digit_timeout_ms = 7'000;
  o.ring_timeout_ms = 25'000;
  OutboundCallRequest r = MakeOutboundCallRequest(VoiceMessage(), o);
  CHECK(r.message_id == 42);
  CHECK(r.incident_id == "INC-7");
  CHECK(r.member_id == "alice");
  CHECK(r.destination == "+12125550101");
  CHECK(r.caller_id == "+15550001111");
  CHECK(r.prompt_text == "Data center outage at DC-East.");
  CHECK(r.media_id == "bcp-intro");
  CHECK(r.gather_prompt_text == "Press 1 to acknowledge.");
  CHECK(r.ack_digit == '1');
  CHECK(r.max_digits == 1);
  CHECK(r.digit_timeout_ms == 7'000);
  CHECK(r.ring_timeout_ms == 25'000);
  CHECK(r.severity == Severity::kP2);
  CHECK_FALSE(r.escalation);

  o.ack_digit = '#';
  OutboundMessage escalation = VoiceMessage();
  escalation.escalation = true;
  escalation.endpoint = "voice.priority";
  r = MakeOutboundCallRequest(escalation, o);
  CHECK(r.gather_prompt_text == "Press # to acknowledge.");
  CHECK(r.ack_digit == '#');
  CHECK(r.escalation);
  o.gather_prompt_text = "Pour confirmer, appuyez sur dièse.";
  CHECK(MakeOutboundCallRequest(escalation, o).gather_prompt_text == "Pour confirmer, appuyez sur dièse.");
}

TEST_CASE("call options are validated, naming the field") {
  OutboundCallOptions o;
  CHECK(o.Validate().ok());
  CHECK(o.digit_timeout_ms == 10'000);
  CHECK(o.ring_timeout_ms == 30'000);
  for (char c : {'0', '9', '*', '#'}) {
    o.ack_digit = c;
    CHECK(o.Validate().ok());
  }
  for (char c : {'A', 'x', ' ', '\0'}) {
    o.ack_digit = c;
    CHECK(o.Validate().message() == "ack_digit: expected one of 0-9, * or #");
  }
  o.ack_digit = '1';
  o.digit_timeout_ms = 0;
  CHECK(o.Validate().message() == "digit_timeout_ms: expected 1 .. 600000");
  o.digit_timeout_ms = 600'000;
  CHECK(o.Validate().ok());
  o.ring_timeout_ms = 600'001;
  CHECK(o.Validate().code() == StatusCode::kInvalidArgument);
  CHECK(o.Validate().message() == "ring_timeout_ms: expected 1 .. 600000");
}

TEST_CASE("the immediate answer becomes the send result") {
  using K = OriginateAnswer::Kind;
  SendResult r = ToSendResult({K::kOriginated, 0});
  CHECK(r.kind == SendResult::Kind::kAccepted);
  CHECK(r.provider_ref.empty());
  CHECK(ToSendResult({K::kUnroutable, 0}).kind == SendResult::Kind::kUnreachable);
  CHECK(ToSendResult({K::kFailed, 0}).kind == SendResult::Kind::kFailed);
  r = ToSendResult({K::kTrunksBusy, 5'000});
  CHECK(r.kind == SendResult::Kind::kThrottled);
  CHECK(r.retry_after_ms == 5'000);
  // 0 and negative: the cascade's default; longer than an hour: an hour.
  CHECK(ToSendResult({K::kTrunksBusy, 0}).retry_after_ms == 0);
  CHECK(ToSendResult({K::kTrunksBusy, -7}).retry_after_ms == 0);
  CHECK(ToSendResult({K::kTrunksBusy, 3'600'000}).retry_after_ms == 3'600'000);
  CHECK(ToSendResult({K::kTrunksBusy, 3'600'001}).retry_after_ms == kMaxOriginateRetryAfterMs);
  // Retry-after only matters when throttled.
  CHECK(ToSendResult({K::kOriginated, 9'000}).retry_after_ms == 0);
}

TEST_CASE("call results map to attempt statuses, the first digit decides") {
  using O = OutboundCallOutcome;
  CHECK(AttemptStatusOf({O::kAnswered, "1"}) == AttemptStatus::kAcknowledged);
  CHECK(AttemptStatusOf({O::kAnswered, "12"}) == AttemptStatus::kAcknowledged);
  CHECK(AttemptStatusOf({O::kAnswered, "21"}) == AttemptStatus::kDelivered);
  CHECK(AttemptStatusOf({O::kAnswered, "2"}) == AttemptStatus::kDelivered);
  CHECK(AttemptStatusOf({O::kAnswered, ""}) == AttemptStatus::kDelivered);
  CHECK(AttemptStatusOf({O::kAnswered, "#"}) == AttemptStatus::kDelivered);
  CHECK(AttemptStatusOf({O::kAnswered, "#"}, '#') == AttemptStatus::kAcknowledged);
  CHECK(AttemptStatusOf({O::kAnswered, "1"}, '#') == AttemptStatus::kDelivered);
  CHECK(AttemptStatusOf({O::kBusy, ""}) == AttemptStatus::kFailed);
  CHECK(AttemptStatusOf({O::kNoAnswer, ""}) == AttemptStatus::kFailed);
  CHECK(AttemptStatusOf({O::kFailed, ""}) == AttemptStatus::kFailed);
  CHECK(AttemptStatusOf({O::kUnroutable, ""}) == AttemptStatus::kUnreachable);

  CHECK(std::string(OutboundCallOutcomeName(O::kAnswered)) == "answered");
  CHECK(std::string(OutboundCallOutcomeName(O::kBusy)) == "busy");
  CHECK(std::string(OutboundCallOutcomeName(O::kNoAnswer)) == "no_answer");
  CHECK(std::string(OutboundCallOutcomeName(O::kUnroutable)) == "unroutable");
  CHECK(std::string(OutboundCallOutcomeName(O::kFailed)) == "failed");
  CHECK(std::string(OutboundCallOutcomeName(static_cast<O>(5))) == "unknown");
}

TEST_CASE("call results are validated: outcome range, digits charset, length and kind") {
  using O = OutboundCallOutcome;
  CHECK(ValidateOutboundCallResult({O::kAnswered, ""}).ok());
  CHECK(ValidateOutboundCallResult({O::kAnswered, "0123456789*#ABCD"}).ok());  // 16 keys
  CHECK(ValidateOutboundCallResult({O::kNoAnswer, ""}).ok());
  Status s = ValidateOutboundCallResult({O::kAnswered, "0123456789*#ABCD1"});
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.message() == "digits: at most 16 keys");
  CHECK(ValidateOutboundCallResult({O::kAnswered, "1E"}).message() ==
        "digits: key 1 is not DTMF (0-9, *, #, A-D)");
  CHECK(ValidateOutboundCallResult({O::kAnswered, "a"}).message() ==
        "digits: key 0 is not DTMF (0-9, *, #, A-D)");
  CHECK(ValidateOutboundCallResult({O::kAnswered, " 1"}).code() == StatusCode::kInvalidArgument);
  CHECK(ValidateOutboundCallResult({O::kBusy, "1"}).message() == "digits: only an answered call has digits");
  CHECK(ValidateOutboundCallResult({static_cast<O>(5), ""}).message() ==
        "result_kind: expected 0 (answered) .. 4 (failed)");
  CHECK(ValidateOutboundCallResult({static_cast<O>(-1), ""}).code() == StatusCode::kInvalidArgument);
  CHECK(IsDtmfKey('D'));
  CHECK_FALSE(IsDtmfKey('d'));
  CHECK_FALSE(IsDtmfKey('+'));
}

TEST_CASE("PbxVoiceSender hands the call to the originator and maps its answer") {
  OutboundCallOptions o;
  o.caller_id = "+15550001111";
  PbxVoiceSender sender(o);
  auto pbx = std::make_shared<ScriptedOriginator>();
  pbx->script = {{OriginateAnswer::Kind::kOriginated, 0},
                 {OriginateAnswer::Kind::kTrunksBusy, 4'000},
                 {OriginateAnswer::Kind::kUnroutable, 0},
                 {OriginateAnswer::Kind::kFailed, 0}};
  CHECK_FALSE(sender.has_originator());
  sender.SetOriginator(pbx);
  CHECK(sender.has_originator());

  CHECK(SendOnce(sender, VoiceMessage()).kind == SendResult::Kind::kAccepted);
  REQUIRE(pbx->requests.size() == 1);
  CHECK(pbx->requests[0].message_id == 42);
  CHECK(pbx->requests[0].destination == "+12125550101");
  CHECK(pbx->requests[0].caller_id == "+15550001111");
  SendResult busy = SendOnce(sender, VoiceMessage());
  CHECK(busy.kind == SendResult::Kind::kThrottled);
  CHECK(busy.retry_after_ms == 4'000);
  CHECK(SendOnce(sender, VoiceMessage()).kind == SendResult::Kind::kUnreachable);
  CHECK(SendOnce(sender, VoiceMessage()).kind == SendResult::Kind::kFailed);
  CHECK(pbx->requests.size() == 4);

  // Not a voice message: failed, the PBX is not asked.
  OutboundMessage sms = VoiceMessage();
  sms.channel = Channel::kSms;
  CHECK(SendOnce(sender, sms).kind == SendResult::Kind::kFailed);
  CHECK(pbx->requests.size() == 4);

  // Removed: failed without a call (the engine's retry rule applies).
  sender.SetOriginator(nullptr);
  CHECK_FALSE(sender.has_originator());
  CHECK(SendOnce(sender, VoiceMessage()).kind == SendResult::Kind::kFailed);
  CHECK(pbx->requests.size() == 4);

  // An originator that throws is a failed send, not a crash.
  sender.SetOriginator(std::make_shared<ThrowingOriginator>());
  CHECK(SendOnce(sender, VoiceMessage()).kind == SendResult::Kind::kFailed);
}

TEST_CASE("ForwardingCallOriginator injects a fault and forwards the rest") {
  ScriptedOriginator pbx;
  class BusyForEscalations : public ForwardingCallOriginator {
   public:
    using ForwardingCallOriginator::ForwardingCallOriginator;
    OriginateAnswer Originate(const OutboundCallRequest& r) override {
      if (r.escalation) return {OriginateAnswer::Kind::kTrunksBusy, 2'000};
      return ForwardingCallOriginator::Originate(r);
    }
  };
  PbxVoiceSender sender(OutboundCallOptions{});
  sender.SetOriginator(std::make_shared<BusyForEscalations>(&pbx));
  OutboundMessage m = VoiceMessage();
  CHECK(SendOnce(sender, m).kind == SendResult::Kind::kAccepted);
  m.escalation = true;
  CHECK(SendOnce(sender, m).kind == SendResult::Kind::kThrottled);
  CHECK(pbx.requests.size() == 1);
}
