// outbound_call.cc -- see outbound_call.hpp.
#include "lifeline/outbound_call.hpp"

namespace lifeline {
namespace {

constexpr DurationMillis kMaxCallTimeoutMs = 600'000;

}  // namespace

bool IsDtmfKey(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

Status OutboundCallOptions::Validate() const {
  if (!((ack_digit >= '0' && ack_digit <= '9') || ack_digit == '*' || ack_digit == '#')) {
    return InvalidArgument("ack_digit: expected one of 0-9, * or #");
  }
  if (digit_timeout_ms < 1 || digit_timeout_ms > kMaxCallTimeoutMs) {
    return InvalidArgument("digit_timeout_ms: expected 1 .. 600000");
  }
  if (ring_timeout_ms < 1 || ring_timeout_ms > kMaxCallTimeoutMs) {
    return InvalidArgument("ring_timeout_ms: expected 1 .. 600000");
  }
  return Status::Ok();
}

OutboundCallRequest MakeOutboundCallRequest(const OutboundMessage& m, const OutboundCallOptions& o) {
  OutboundCallRequest r;
  r.message_id = m.message_id;
  r.incident_id = m.incident_id;
  r.member_id = m.member_id;
  r.destination = m.address;
  r.caller_id = o.caller_id;
  r.prompt_text = m.text;
  r.media_id = o.media_id;
  r.ack_digit = o.ack_digit;
  r.gather_prompt_text = o.gather_prompt_text.empty()
                             ? std::string("Press ") + o.ack_digit + " to acknowledge."
                             : o.gather_prompt_text;
  r.max_digits = 1;
  r.digit_timeout_ms = o.digit_timeout_ms;
  r.ring_timeout_ms = o.ring_timeout_ms;
  r.severity = m.severity;
  r.escalation = m.escalation;
  return r;
}

SendResult ToSendResult(const OriginateAnswer& answer) {
  switch (answer.kind) {
    case OriginateAnswer::Kind::kOriginated:
      return SendResult{SendResult::Kind::kAccepted, "", 0};
    case OriginateAnswer::Kind::kTrunksBusy:
      return SendResult{SendResult::Kind::kThrottled, "",
                        answer.retry_after_ms <= 0 ? 0
                        : answer.retry_after_ms > kMaxOriginateRetryAfterMs ? kMaxOriginateRetryAfterMs
                                                                             : answer.retry_after_ms};
    case OriginateAnswer::Kind::kUnroutable:
      return SendResult{SendResult::Kind::kUnreachable, "", 0};
    case OriginateAnswer::Kind::kFailed:
      break;
  }
  return SendResult{SendResult::Kind::kFailed, "", 0};
}

const char* OutboundCallOutcomeName(OutboundCallOutcome outcome) {
  switch (outcome) {
    case OutboundCallOutcome::kAnswered: return "answered";
    case OutboundCallOutcome::kBusy: return "busy";
    case OutboundCallOutcome::kNoAnswer: return "no_answer";
    case OutboundCallOutcome::kUnroutable: return "unroutable";
    case OutboundCallOutcome::kFailed: return "failed";
  }
  return "unknown";
}

Status ValidateOutboundCallResult(const OutboundCallResult& result) {
  int kind = static_cast<int>(result.outcome);
  if (kind < 0 || kind >= kOutboundCallOutcomeCount) {
    return InvalidArgument("result_kind: expected 0 (answered) .. 4 (failed)");
  }
  if (result.digits.empty()) return Status::Ok();
  if (result.outcome != OutboundCallOutcome::kAnswered) {
    return InvalidArgument("digits: only an answered call has digits");
  }
  if (result.digits.size() > kMaxOutboundCallDigits) {
    return InvalidArgument("digits: at most 16 keys");
  }
  for (std::size_t i = 0; i < result.digits.size(); ++i) {
    if (!IsDtmfKey(result.digits[i])) {
      return InvalidArgument("digits: key " + std::to_string(i) + " is not DTMF (0-9, *, #, A-D)");
    }
  }
  return Status::Ok();
}

AttemptStatus AttemptStatusOf(const OutboundCallResult& result, char ack_digit) {
  switch (result.outcome) {
    case OutboundCallOutcome::kAnswered:
      return !result.digits.empty() && result.digits[0] == ack_digit ? AttemptStatus::kAcknowledged
                                                                     : AttemptStatus::kDelivered;
    case OutboundCallOutcome::kUnroutable:
      return AttemptStatus::kUnreachable;
    case OutboundCallOutcome::kBusy:
    case OutboundCallOutcome::kNoAnswer:
    case OutboundCallOutcome::kFailed:
      break;
  }
  return AttemptStatus::kFailed;
}

}  // namespace lifeline
