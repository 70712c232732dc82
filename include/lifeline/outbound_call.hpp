// outbound_call.hpp -- the telephony port for the cascade's voice calls.
//
// Overview: a cascade's voice message can be a call placed by the host's own
// PBX instead of Twilio. The PBX side is a port, `CallOriginator`: the
// cascade asks it to place one call (`OutboundCallRequest`), it answers at
// once whether it took the call (`OriginateAnswer`), and later it reports how
// the call went (`OutboundCallResult`), which becomes a receipt of the
// cascade attempt the call belongs to.
//
// The call the PBX is asked to place: dial `destination`, present
// `caller_id`; when answered, play `media_id` (if any), say `prompt_text`,
// say `gather_prompt_text` ("Press 1 to acknowledge.") and collect one DTMF
// digit for up to `digit_timeout_ms`; give up ringing after
// `ring_timeout_ms`. It is the PBX twin of the Twilio TwiML
// `<Say>`/`<Play>` + `<Gather numDigits="1">`.
//
// The immediate answer (`OriginateAnswer`, returned by `Originate`) and the
// `SendResult` the cascade engine receives:
//
//   kOriginated   the PBX is placing the call      -> kAccepted (result follows)
//   kTrunksBusy   refused for now (all trunks      -> kThrottled: the voice
//                 busy, a call-rate limit)            endpoint pauses for
//                                                     retry_after_ms, the call
//                                                     is queued again, not lost
//   kUnroutable   no route / not a valid number    -> kUnreachable
//   kFailed       any other refusal                -> kFailed (the retry rule)
//
// The later result (`OutboundCallResult`) and the attempt status it moves
// the cascade attempt to (`AttemptStatusOf`):
//
//   kAnswered, first digit == ack digit            -> kAcknowledged
//   kAnswered, no digit or another digit           -> kDelivered (hold time)
//   kBusy, kNoAnswer, kFailed                      -> kFailed (the retry rule)
//   kUnroutable                                    -> kUnreachable
//
// Only the first digit decides, as in the IVR flow (FlowConfig::max_digits).
// Results only ever move an attempt forward (see cascade_engine.hpp): a
// result after the receipt timeout is ignored, except an acknowledgement.
//
// The destination is PII: no error message or log made here contains it.
//
// Example (a PBX adapter):
//
//   class MyPbx : public lifeline::CallOriginator {
//    public:
//     lifeline::OriginateAnswer Originate(const lifeline::OutboundCallRequest& call) override {
//       if (trunks_.Full()) return {lifeline::OriginateAnswer::Kind::kTrunksBusy, 5'000};
//       pbx_.Dial(call.destination, call.caller_id, call.message_id);   // async
//       return {};                                                      // kOriginated
//     }
//   };
//   // later, on the PBX's thread, when the call ends:
//   service.VoiceResult(message_id, {lifeline::OutboundCallOutcome::kAnswered, "1"});
//
// Thread-safety: the types are plain values; a `CallOriginator` is called
// from one thread at a time (the cascade runtime's thread) and must not block.
#ifndef LIFELINE_OUTBOUND_CALL_HPP_
#define LIFELINE_OUTBOUND_CALL_HPP_

#include <cstdint>
#include <string>
#include <string_view>

#include "lifeline/cascade_engine.hpp"
#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// The longest digit string a result may carry.
inline constexpr std::size_t kMaxOutboundCallDigits = 16;
// The longest pause a kTrunksBusy answer can ask for (1 h).
inline constexpr DurationMillis kMaxOriginateRetryAfterMs = 3'600'000;

// True for a DTMF key: 0-9, *, #, A-D.
bool IsDtmfKey(char c);

// How the cascade's PBX calls are made (the "channels.voice" configuration
// of the runtime, minus the routing choice).
struct OutboundCallOptions {
  std::string caller_id;               // presented number; "" = the trunk's default
  std::string media_id;                // a recording played first; "" = none
  char ack_digit = '1';                // the digit that acknowledges (DTMF)
  std::string gather_prompt_text;      // "" = "Press <ack_digit> to acknowledge."
  DurationMillis digit_timeout_ms = 10'000;
  DurationMillis ring_timeout_ms = 30'000;

  // OK, or InvalidArgument naming the first bad field: ack_digit not 0-9,
  // * or #; timeouts outside 1 ms .. 10 min.
  Status Validate() const;
};

// One call the PBX is asked to place.
struct OutboundCallRequest {
  std::uint64_t message_id = 0;  // the cascade attempt; results are reported by it
  std::string incident_id;
  std::string member_id;
  std::string destination;       // PII: the number to dial, as in the directory
  std::string caller_id;         // "" = the trunk's default
  std::string prompt_text;       // the rendered message, for text-to-speech
  std::string media_id;          // played before prompt_text; "" = none
  std::string gather_prompt_text;
  char ack_digit = '1';
  int max_digits = 1;            // the gather: one digit
  DurationMillis digit_timeout_ms = 10'000;
  DurationMillis ring_timeout_ms = 30'000;
  Severity severity = Severity::kP1;
  bool escalation = false;       // a call to the on-call manager ("voice.priority")
};

// The request for a voice message of the cascade.
OutboundCallRequest MakeOutboundCallRequest(const OutboundMessage& message,
                                            const OutboundCallOptions& options);

// The PBX's immediate answer to `Originate` (see the file comment).
struct OriginateAnswer {
  enum class Kind { kOriginated, kTrunksBusy, kUnroutable, kFailed };
  Kind kind = Kind::kOriginated;
  // kTrunksBusy: when to try again; 0 = the cascade's default_retry_after_ms.
  DurationMillis retry_after_ms = 0;
};

// The SendResult the engine gets for `answer`. retry_after_ms is clamped to
// 0 .. kMaxOriginateRetryAfterMs.
SendResult ToSendResult(const OriginateAnswer& answer);

// How a placed call ended. Values are stable: they cross the C ABI.
enum class OutboundCallOutcome : int {
  kAnswered = 0,    // someone answered; `digits` holds what they pressed
  kBusy = 1,
  kNoAnswer = 2,    // rang for ring_timeout_ms unanswered
  kUnroutable = 3,  // no route, or the number is not valid
  kFailed = 4,      // any other failure (network, PBX fault)
};
inline constexpr int kOutboundCallOutcomeCount = 5;

// "answered", "busy", "no_answer", "unroutable", "failed"; "unknown" otherwise.
const char* OutboundCallOutcomeName(OutboundCallOutcome outcome);

struct OutboundCallResult {
  OutboundCallOutcome outcome = OutboundCallOutcome::kAnswered;
  std::string digits;   // kAnswered only: the DTMF collected, "" = none
};

// OK, or InvalidArgument naming the field: an outcome outside the enum;
// digits longer than kMaxOutboundCallDigits, with a key that is not DTMF,
// or on an outcome other than kAnswered.
Status ValidateOutboundCallResult(const OutboundCallResult& result);

// The attempt status a (valid) result moves its attempt to (see the file
// comment).
AttemptStatus AttemptStatusOf(const OutboundCallResult& result, char ack_digit = '1');

// The telephony port. `Originate` starts one call and returns without
// waiting for it (it runs on the cascade runtime's thread: blocking stalls
// every channel); the result comes back later through the runtime.
class CallOriginator {
 public:
  virtual ~CallOriginator() = default;
  virtual OriginateAnswer Originate(const OutboundCallRequest& request) = 0;
};

// Forwards every call to another originator: tests override `Originate` to
// inject faults (trunks busy, refusals) and keep the rest.
class ForwardingCallOriginator : public CallOriginator {
 public:
  // `target` is not owned and must outlive this object.
  explicit ForwardingCallOriginator(CallOriginator* target) : target_(target) {}
  CallOriginator* target() const { return target_; }
  OriginateAnswer Originate(const OutboundCallRequest& request) override {
    return target_->Originate(request);
  }

 private:
  CallOriginator* target_;
};

}  // namespace lifeline

#endif  // LIFELINE_OUTBOUND_CALL_HPP_
