// emergency_call_flow.cc -- the per-call emergency IVR state machine. The
// states, actions and outcomes are documented in
// include/lifeline/emergency_call_flow.hpp and docs/call-flow.md.
#include "lifeline/emergency_call_flow.hpp"

#include <string>
#include <utility>

#include "lifeline/phone_number.hpp"

namespace lifeline {
namespace {

constexpr std::size_t kMaxMediaIdBytes = 256;
constexpr std::size_t kMaxIdBytes = 256;
constexpr std::size_t kMaxContextEntries = 64;
constexpr std::size_t kMaxContextKeyBytes = 128;
constexpr std::size_t kMaxContextValueBytes = 1024;
constexpr std::size_t kMaxDigitsPerEvent = 64;
constexpr DurationMillis kMaxTimeoutMs = 600'000;
constexpr DurationMillis kMaxGraceMs = 60'000;
constexpr int kMaxEntryDigits = 15;

bool IsDtmf(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

bool InRange(DurationMillis v, DurationMillis lo, DurationMillis hi) { return v >= lo && v <= hi; }

UnixMillis SaturatingAdd(UnixMillis t, DurationMillis d) {
  if (d > 0 && t > EmergencyCallFlow::kNoDeadline - d) return EmergencyCallFlow::kNoDeadline;
  return t + d;
}

Status CheckMedia(const char* field, const std::string& media, bool required) {
  if (required && media.empty()) return InvalidArgument(std::string(field) + " must not be empty");
  if (media.size() > kMaxMediaIdBytes)
    return InvalidArgument(std::string(field) + " is longer than 256 bytes");
  return Status::Ok();
}

Status CheckId(const char* field, const std::string& value) {
  if (value.size() > kMaxIdBytes) return InvalidArgument(std::string(field) + " is longer than 256 bytes");
  return Status::Ok();
}

}  // namespace

const char* CallOutcomeName(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::kCallbackRecorded: return "callback_recorded";
    case CallOutcome::kDeclined: return "declined";
    case CallOutcome::kTimeout: return "timeout";
    case CallOutcome::kHangup: return "hangup";
    case CallOutcome::kRejectedBusy: return "rejected_busy";
    case CallOutcome::kFallback: return "fallback";
  }
  return "unknown";
}

const char* FlowStateName(FlowState state) {
  switch (state) {
    case FlowState::kIdle: return "idle";
    case FlowState::kPlayingMessage: return "playing_message";
    case FlowState::kPlayingOffer: return "playing_offer";
    case FlowState::kCollectingConsent: return "collecting_consent";
    case FlowState::kPlayingNumberEntry: return "playing_number_entry";
    case FlowState::kCollectingNumber: return "collecting_number";
    case FlowState::kAwaitingRecord: return "awaiting_record";
    case FlowState::kAwaitingRecordCallerGone: return "awaiting_record_caller_gone";
    case FlowState::kPlayingConfirmation: return "playing_confirmation";
    case FlowState::kPlayingFallback: return "playing_fallback";
    case FlowState::kPlayingGoodbye: return "playing_goodbye";
    case FlowState::kDone: return "done";
  }
  return "unknown";
}

const char* FlowActionKindName(FlowActionKind kind) {
  switch (kind) {
    case FlowActionKind::kNone: return "none";
    case FlowActionKind::kPlayMedia: return "play_media";
    case FlowActionKind::kCollectDigits: return "collect_digits";
    case FlowActionKind::kSubmitCallback: return "submit_callback";
    case FlowActionKind::kPlayConfirmation: return "play_confirmation";
    case FlowActionKind::kPlayFallback: return "play_fallback";
    case FlowActionKind::kHangup: return "hangup";
  }
  return "unknown";
}

Status FlowConfig::Validate() const {
  Status s;
  if (!(s = CheckMedia("emergency_message_media", emergency_message_media, true)).ok()) return s;
  if (!(s = CheckMedia("callback_offer_media", callback_offer_media, false)).ok()) return s;
  if (!(s = CheckMedia("number_entry_media", number_entry_media, number_entry_enabled)).ok()) return s;
  if (!(s = CheckMedia("confirmation_media", confirmation_media, true)).ok()) return s;
  if (!(s = CheckMedia("fallback_media", fallback_media, true)).ok()) return s;
  if (!(s = CheckMedia("goodbye_media", goodbye_media, false)).ok()) return s;
  if (!InRange(playback_timeout_ms, 1, kMaxTimeoutMs))
    return InvalidArgument("playback_timeout_ms must be between 1 and 600000");
  if (max_digits < 1 || max_digits > kMaxEntryDigits)
    return InvalidArgument("max_digits must be between 1 and 15");
  if (!InRange(first_digit_timeout_ms, 1, kMaxTimeoutMs))
    return InvalidArgument("first_digit_timeout_ms must be between 1 and 600000");
  if (!InRange(inter_digit_timeout_ms, 1, kMaxTimeoutMs))
    return InvalidArgument("inter_digit_timeout_ms must be between 1 and 600000");
  if (prompt_plays < 1 || prompt_plays > 10)
    return InvalidArgument("prompt_plays must be between 1 and 10");
  if (!IsDtmf(consent_digit)) return InvalidArgument("consent_digit must be a DTMF key (0-9, *, #, A-D)");
  if (other_digit_rule != OtherDigitRule::kReplayOnce && other_digit_rule != OtherDigitRule::kGoodbye)
    return InvalidArgument("other_digit_rule must be replay_once or goodbye");
  if (number_entry_max_digits < 1 || number_entry_max_digits > kMaxEntryDigits)
    return InvalidArgument("number_entry_max_digits must be between 1 and 15");
  if (number_entry_terminator != '#' && number_entry_terminator != '*')
    return InvalidArgument("number_entry_terminator must be '#' or '*'");
  if (number_entry_attempts < 1 || number_entry_attempts > 5)
    return InvalidArgument("number_entry_attempts must be between 1 and 5");
  if (!default_country.empty() && !IsSupportedCountry(default_country))
    return InvalidArgument("default_country is not a supported ISO 3166-1 alpha-2 code");
  if (!InRange(max_confirmation_wait_ms, 1, kMaxTimeoutMs))
    return InvalidArgument("max_confirmation_wait_ms must be between 1 and 600000");
  if (!InRange(timer_grace_ms, 0, kMaxGraceMs))
    return InvalidArgument("timer_grace_ms must be between 0 and 60000");
  if (!InRange(max_silence_ms, 1, kMaxTimeoutMs))
    return InvalidArgument("max_silence_ms must be between 1 and 600000");
  if (first_digit_timeout_ms + timer_grace_ms > max_silence_ms)
    return InvalidArgument("first_digit_timeout_ms + timer_grace_ms exceeds max_silence_ms");
  if (inter_digit_timeout_ms + timer_grace_ms > max_silence_ms)
    return InvalidArgument("inter_digit_timeout_ms + timer_grace_ms exceeds max_silence_ms");
  if (max_confirmation_wait_ms > max_silence_ms)
    return InvalidArgument("max_confirmation_wait_ms exceeds max_silence_ms");
  return Status::Ok();
}

// --- Construction ------------------------------------------------------------

Result<EmergencyCallFlow> EmergencyCallFlow::Create(std::shared_ptr<const FlowConfig> config,
                                                    EmergencyCallInfo call, UnixMillis now) {
  if (config == nullptr) return InvalidArgument("config must not be null");
  Status s = config->Validate();
  if (!s.ok()) return s;
  if (call.call_id.empty()) return InvalidArgument("call_id must not be empty");
  if (!(s = CheckId("call_id", call.call_id)).ok()) return s;
  if (!(s = CheckId("original_queue_id", call.original_queue_id)).ok()) return s;
  if (!(s = CheckId("flow_name", call.flow_name)).ok()) return s;
  if (call.context.size() > kMaxContextEntries)
    return InvalidArgument("context has more than 64 entries");
  for (std::size_t i = 0; i < call.context.size(); ++i) {
    const auto& [key, value] = call.context[i];
    if (key.empty() || key.size() > kMaxContextKeyBytes)
      return InvalidArgument("context entry " + std::to_string(i) + ": key must be 1 to 128 bytes");
    if (value.size() > kMaxContextValueBytes)
      return InvalidArgument("context entry " + std::to_string(i) + ": value is longer than 1024 bytes");
  }

  EmergencyCallFlow flow(std::move(config), now);
  Result<std::string> number = NormalizeE164(call.caller_number, flow.config_->default_country);
  if (number.ok()) {
    flow.callback_.caller_number = std::move(number).value();
    flow.callback_.caller_number_source = CallerNumberSource::kNetwork;
  } else {
    flow.network_number_status_ = number.status().code();
  }
  flow.callback_.call_id = std::move(call.call_id);
  flow.callback_.flow_name = std::move(call.flow_name);
  flow.callback_.original_queue_id = std::move(call.original_queue_id);
  flow.callback_.context = std::move(call.context);
  flow.callback_.requested_time = call.requested_time;
  return Result<EmergencyCallFlow>(std::move(flow));
}

EmergencyCallFlow::EmergencyCallFlow(std::shared_ptr<const FlowConfig> config, UnixMillis now)
    : config_(std::move(config)), last_now_(now) {}

EmergencyCallFlow::EmergencyCallFlow(EmergencyCallFlow&&) noexcept = default;
EmergencyCallFlow& EmergencyCallFlow::operator=(EmergencyCallFlow&&) noexcept = default;
EmergencyCallFlow::~EmergencyCallFlow() = default;

Status EmergencyCallFlow::SetRequestedTime(std::optional<UnixMillis> at) {
  if (submitted_) return StateError("SetRequestedTime: the callback was already submitted");
  callback_.requested_time = at;
  return Status::Ok();
}

// --- Helpers -----------------------------------------------------------------

Status EmergencyCallFlow::Refuse(const char* event) const {
  return StateError(std::string(event) + " is not valid in state " + FlowStateName(state_));
}

UnixMillis EmergencyCallFlow::Clamp(UnixMillis now) {
  if (now > last_now_) last_now_ = now;
  return last_now_;
}

FlowAction EmergencyCallFlow::Play(FlowState state, FlowActionKind kind, FlowPrompt prompt,
                                   const std::string& media, bool barge_in, UnixMillis now) {
  state_ = state;
  deadline_ = SaturatingAdd(now, config_->playback_timeout_ms + config_->timer_grace_ms);
  FlowAction a;
  a.kind = kind;
  a.prompt = prompt;
  a.media_id = media;
  a.timeout_ms = config_->playback_timeout_ms;
  a.barge_in = barge_in;
  return a;
}

FlowAction EmergencyCallFlow::PlayOffer(UnixMillis now) {
  ++offer_plays_;
  if (config_->callback_offer_media.empty())
    return Play(FlowState::kPlayingOffer, FlowActionKind::kPlayMedia, FlowPrompt::kEmergencyMessage,
                config_->emergency_message_media, config_->barge_in, now);
  return Play(FlowState::kPlayingOffer, FlowActionKind::kPlayMedia, FlowPrompt::kCallbackOffer,
              config_->callback_offer_media, config_->barge_in, now);
}

FlowAction EmergencyCallFlow::CollectConsent(UnixMillis now) {
  state_ = FlowState::kCollectingConsent;
  deadline_ = SaturatingAdd(now, config_->first_digit_timeout_ms + config_->timer_grace_ms);
  FlowAction a;
  a.kind = FlowActionKind::kCollectDigits;
  a.max_digits = config_->max_digits;
  a.first_digit_timeout_ms = config_->first_digit_timeout_ms;
  a.inter_digit_timeout_ms = config_->inter_digit_timeout_ms;
  a.terminator = '\0';
  return a;
}

FlowAction EmergencyCallFlow::PlayNumberEntry(UnixMillis now) {
  ++entry_attempts_;
  entry_length_ = 0;
  return Play(FlowState::kPlayingNumberEntry, FlowActionKind::kPlayMedia, FlowPrompt::kNumberEntry,
              config_->number_entry_media, config_->barge_in, now);
}

FlowAction EmergencyCallFlow::CollectNumber(int max_digits, DurationMillis first_timeout,
                                            UnixMillis now) {
  state_ = FlowState::kCollectingNumber;
  deadline_ = SaturatingAdd(now, first_timeout + config_->timer_grace_ms);
  FlowAction a;
  a.kind = FlowActionKind::kCollectDigits;
  a.max_digits = max_digits;
  a.first_digit_timeout_ms = first_timeout;
  a.inter_digit_timeout_ms = config_->inter_digit_timeout_ms;
  a.terminator = config_->number_entry_terminator;
  return a;
}

FlowAction EmergencyCallFlow::Submit(UnixMillis now) {
  submitted_ = true;
  state_ = FlowState::kAwaitingRecord;
  deadline_ = SaturatingAdd(now, config_->max_confirmation_wait_ms);
  FlowAction a;
  a.kind = FlowActionKind::kSubmitCallback;
  a.callback = &callback_;
  return a;
}

FlowAction EmergencyCallFlow::Finish(CallOutcome outcome) {
  if (!outcome_.has_value()) outcome_ = outcome;
  state_ = FlowState::kDone;
  deadline_ = kNoDeadline;
  FlowAction a;
  a.final_outcome = outcome_;
  return a;
}

FlowAction EmergencyCallFlow::HangupPolite(CallOutcome outcome) {
  FlowAction a = Finish(outcome);
  a.kind = FlowActionKind::kHangup;
  a.tone = HangupTone::kPolite;
  return a;
}

FlowAction EmergencyCallFlow::Goodbye(UnixMillis now) {
  outcome_ = CallOutcome::kDeclined;
  if (config_->goodbye_media.empty()) return HangupPolite(CallOutcome::kDeclined);
  return Play(FlowState::kPlayingGoodbye, FlowActionKind::kPlayMedia, FlowPrompt::kGoodbye,
              config_->goodbye_media, false, now);
}

FlowAction EmergencyCallFlow::Fallback(UnixMillis now) {
  outcome_ = CallOutcome::kFallback;
  return Play(FlowState::kPlayingFallback, FlowActionKind::kPlayFallback, FlowPrompt::kFallback,
              config_->fallback_media, false, now);
}

FlowAction EmergencyCallFlow::Confirm(UnixMillis now) {
  outcome_ = CallOutcome::kCallbackRecorded;
  return Play(FlowState::kPlayingConfirmation, FlowActionKind::kPlayConfirmation,
              FlowPrompt::kConfirmation, config_->confirmation_media, false, now);
}

// What a timeout means in each state that can time out.
FlowAction EmergencyCallFlow::TimeOut(UnixMillis now) {
  switch (state_) {
    case FlowState::kCollectingConsent:
      if (offer_plays_ < config_->prompt_plays) return PlayOffer(now);
      return HangupPolite(CallOutcome::kTimeout);
    case FlowState::kCollectingNumber:
      // An inter-digit timeout ends the entry, as on most PBXs.
      if (entry_length_ > 0) return CompleteNumber(now);
      return HangupPolite(CallOutcome::kTimeout);
    case FlowState::kPlayingConfirmation:
    case FlowState::kPlayingFallback:
    case FlowState::kPlayingGoodbye:
      return HangupPolite(*outcome_);  // already decided
    default:  // kPlayingMessage, kPlayingOffer, kPlayingNumberEntry
      return HangupPolite(CallOutcome::kTimeout);
  }
}

FlowAction EmergencyCallFlow::OnConsentKey(char key, UnixMillis now) {
  if (key == config_->consent_digit) {
    callback_.consented_at = now;
    if (network_number_status_ == StatusCode::kOk) return Submit(now);
    if (config_->number_entry_enabled) return PlayNumberEntry(now);
    return Fallback(now);
  }
  if (config_->other_digit_rule == OtherDigitRule::kReplayOnce && !replayed_) {
    replayed_ = true;
    return PlayOffer(now);
  }
  return Goodbye(now);
}

FlowAction EmergencyCallFlow::CompleteNumber(UnixMillis now) {
  if (entry_length_ > 0) {
    Result<std::string> number =
        NormalizeE164(std::string_view(entry_, static_cast<std::size_t>(entry_length_)),
                      config_->default_country);
    if (number.ok()) {
      callback_.caller_number = std::move(number).value();
      callback_.caller_number_source = CallerNumberSource::kKeyed;
      return Submit(now);
    }
  }
  if (entry_attempts_ < config_->number_entry_attempts) return PlayNumberEntry(now);
  return Fallback(now);
}

// --- Events ------------------------------------------------------------------

Result<FlowAction> EmergencyCallFlow::OnAnswered(UnixMillis now) {
  now = Clamp(now);
  if (state_ != FlowState::kIdle) return Refuse("Answered");
  return Play(FlowState::kPlayingMessage, FlowActionKind::kPlayMedia, FlowPrompt::kEmergencyMessage,
              config_->emergency_message_media, config_->barge_in, now);
}

Result<FlowAction> EmergencyCallFlow::OnRejectBusy(UnixMillis now) {
  Clamp(now);
  if (state_ != FlowState::kIdle) return Refuse("RejectBusy");
  FlowAction a = Finish(CallOutcome::kRejectedBusy);
  a.kind = FlowActionKind::kHangup;
  a.tone = HangupTone::kBusy;
  return a;
}

Result<FlowAction> EmergencyCallFlow::OnPromptFinished(UnixMillis now) {
  now = Clamp(now);
  switch (state_) {
    case FlowState::kPlayingMessage:
      if (config_->callback_offer_media.empty()) {
        offer_plays_ = 1;  // the message carried the offer
        return CollectConsent(now);
      }
      return PlayOffer(now);
    case FlowState::kPlayingOffer:
      return CollectConsent(now);
    case FlowState::kPlayingNumberEntry:
      return CollectNumber(config_->number_entry_max_digits, config_->first_digit_timeout_ms, now);
    case FlowState::kPlayingConfirmation:
    case FlowState::kPlayingFallback:
    case FlowState::kPlayingGoodbye:
      return HangupPolite(*outcome_);
    default:
      return Refuse("PromptFinished");
  }
}

Result<FlowAction> EmergencyCallFlow::OnDigits(std::string_view digits, UnixMillis now) {
  now = Clamp(now);
  const bool consent_state = state_ == FlowState::kCollectingConsent ||
                             (config_->barge_in && (state_ == FlowState::kPlayingMessage ||
                                                    state_ == FlowState::kPlayingOffer));
  const bool number_state = state_ == FlowState::kCollectingNumber ||
                            (config_->barge_in && state_ == FlowState::kPlayingNumberEntry);
  if (!consent_state && !number_state) return Refuse("Digits");
  if (digits.empty()) return InvalidArgument("digits must not be empty");
  if (digits.size() > kMaxDigitsPerEvent) return InvalidArgument("digits has more than 64 keys");
  for (std::size_t i = 0; i < digits.size(); ++i)
    if (!IsDtmf(digits[i]))
      return InvalidArgument("digits: the key at position " + std::to_string(i) +
                             " is not DTMF (0-9, *, #, A-D)");

  if (consent_state) return OnConsentKey(digits[0], now);

  const int max = config_->number_entry_max_digits;
  bool complete = false;
  for (char c : digits) {
    if (c == config_->number_entry_terminator) {
      complete = true;
      break;
    }
    entry_[entry_length_++] = c;
    if (entry_length_ >= max) {
      complete = true;  // the PBX stops at max_digits; later keys are ignored
      break;
    }
  }
  if (complete) return CompleteNumber(now);
  if (state_ == FlowState::kPlayingNumberEntry)  // barge-in: stop the prompt, keep collecting
    return CollectNumber(max - entry_length_, config_->inter_digit_timeout_ms, now);
  deadline_ = SaturatingAdd(now, config_->inter_digit_timeout_ms + config_->timer_grace_ms);
  return FlowAction{};
}

Result<FlowAction> EmergencyCallFlow::OnTimeout(UnixMillis now) {
  now = Clamp(now);
  switch (state_) {
    case FlowState::kPlayingMessage:
    case FlowState::kPlayingOffer:
    case FlowState::kCollectingConsent:
    case FlowState::kPlayingNumberEntry:
    case FlowState::kCollectingNumber:
    case FlowState::kPlayingConfirmation:
    case FlowState::kPlayingFallback:
    case FlowState::kPlayingGoodbye:
      return TimeOut(now);
    default:
      return Refuse("Timeout");
  }
}

Result<FlowAction> EmergencyCallFlow::OnHangup(UnixMillis now) {
  Clamp(now);
  switch (state_) {
    case FlowState::kDone:
    case FlowState::kAwaitingRecordCallerGone:
      return FlowAction{};  // idempotent
    case FlowState::kAwaitingRecord:
      // The callback may still be recorded: wait for the result (same deadline).
      state_ = FlowState::kAwaitingRecordCallerGone;
      return FlowAction{};
    default:
      return Finish(CallOutcome::kHangup);  // a decided outcome stands
  }
}

Result<FlowAction> EmergencyCallFlow::OnSubmissionResult(SubmissionResult result, UnixMillis now) {
  now = Clamp(now);
  const bool recorded =
      result == SubmissionResult::kRecorded || result == SubmissionResult::kDuplicate;
  if (!recorded && result != SubmissionResult::kFailed)
    return InvalidArgument("submission result must be recorded, duplicate or failed");
  switch (state_) {
    case FlowState::kAwaitingRecord:
      submission_result_ = result;
      return recorded ? Confirm(now) : Fallback(now);
    case FlowState::kAwaitingRecordCallerGone:
      submission_result_ = result;
      return Finish(recorded ? CallOutcome::kCallbackRecorded : CallOutcome::kHangup);
    default:
      if (submitted_ && !submission_result_.has_value()) {
        // The wait was given up on and the fallback chosen; keep the fact.
        submission_result_ = result;
        late_submission_result_ = true;
        return FlowAction{};
      }
      return Refuse("SubmissionResult");
  }
}

Result<FlowAction> EmergencyCallFlow::OnTimer(UnixMillis now) {
  now = Clamp(now);
  if (deadline_ == kNoDeadline || now < deadline_) return FlowAction{};
  switch (state_) {
    case FlowState::kAwaitingRecord:
      return Fallback(now);
    case FlowState::kAwaitingRecordCallerGone:
      return Finish(CallOutcome::kHangup);
    case FlowState::kIdle:
    case FlowState::kDone:
      return FlowAction{};
    default:
      return TimeOut(now);
  }
}

Result<FlowAction> EmergencyCallFlow::OnEvent(const FlowEvent& event, UnixMillis now) {
  switch (event.kind) {
    case FlowEventKind::kAnswered: return OnAnswered(now);
    case FlowEventKind::kPromptFinished: return OnPromptFinished(now);
    case FlowEventKind::kDigits: return OnDigits(event.digits, now);
    case FlowEventKind::kTimeout: return OnTimeout(now);
    case FlowEventKind::kHangup: return OnHangup(now);
    case FlowEventKind::kSubmissionResult: return OnSubmissionResult(event.submission, now);
    case FlowEventKind::kRejectBusy: return OnRejectBusy(now);
  }
  return InvalidArgument("event kind is not a FlowEventKind");
}

}  // namespace lifeline
