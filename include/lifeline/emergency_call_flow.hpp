// emergency_call_flow.hpp -- one caller's way through the emergency IVR.
//
// Overview: when the failover switch sends a call to the emergency flow, an
// `EmergencyCallFlow` drives it: play the pre-recorded emergency message,
// offer a callback, take the caller's consent, capture the callback with the
// call's context, hand it to the submission pipeline, and confirm -- or say
// goodbye, or play the fallback -- then hang up. It is sans-I/O: the
// telephony side (a PBX, the telephony adapters in lib/, a test) reports what
// happened and the flow answers with the one next thing to do. It never
// reads a clock: every method takes `now`, and the flow reports its own
// `NextDeadline()` so no path can leave a caller waiting in silence.
//
// Events in (each a method, or `OnEvent` with a `FlowEvent`):
//   Answered, RejectBusy, PromptFinished, Digits(string), Timeout, Hangup,
//   SubmissionResult(recorded | duplicate | failed), and OnTimer(now).
// Actions out (`FlowAction`):
//   PlayMedia, CollectDigits, SubmitCallback, PlayConfirmation, PlayFallback,
//   Hangup(polite | busy), None.
// Each action replaces whatever the channel was doing (a new prompt stops
// the one playing, as DTMF barge-in expects).
//
// The flow, with the seed's defaults (docs/call-flow.md has the diagram):
//
//   idle --Answered--> playing_message --PromptFinished--> playing_offer
//        --PromptFinished--> collecting_consent
//   consent digit ('1'):
//     caller's number valid ---------------------> SubmitCallback -> awaiting_record
//     withheld/invalid, entry enabled -> playing_number_entry -> collecting_number
//        ('#'-terminated, up to 15 digits) -> valid: SubmitCallback
//                                          -> invalid: retry or PlayFallback
//     withheld/invalid, entry disabled --------> PlayFallback
//   any other digit: replay the offer once (kReplayOnce) or goodbye (kGoodbye);
//     after the one replay, another digit is goodbye           -> declined
//   SubmissionResult recorded or duplicate -> PlayConfirmation -> callback_recorded
//   SubmissionResult failed, or none within max_confirmation_wait_ms
//                                          -> PlayFallback     -> fallback
//   Timeout (no continue-on-timeout): polite Hangup            -> timeout
//   Hangup by the caller                                       -> hangup
//   RejectBusy (before answer): busy Hangup                    -> rejected_busy
//
// Outcomes: every flow ends in exactly one `CallOutcome`. The outcome is
// decided at the decisive moment (the recording confirmed, the goodbye
// chosen, the fallback chosen, the timeout, the rejection) and never changes
// afterwards; the flow is finished when it has emitted its final Hangup, or
// when the caller hung up. The action that finishes the flow carries the
// outcome in `final_outcome`, and no other action does, so a host counts
// each call exactly once. A caller who hangs up:
//   - before any outcome is decided: `hangup`;
//   - while the confirmation, goodbye or fallback plays: the decided outcome
//     (`callback_recorded`, `declined`, `fallback`);
//   - while the submission is in flight (after consent, before the
//     SubmissionResult): the flow waits for the result, up to
//     max_confirmation_wait_ms, and ends `callback_recorded` when the
//     callback was recorded (it will be called back) and `hangup` otherwise.
// A duplicate (the same callback already recorded within the dedup TTL) is
// confirmed like a new one: the caller's callback IS recorded.
//
// Confirmation is played as soon as the host reports the request durably
// recorded (the outbox commit), never after a remote API answers.
//
// Errors: an event that is not valid in the current state is refused with
// StatusCode::kState and changes nothing; malformed input (digits that are
// not DTMF, an unknown SubmissionResult) with kInvalidArgument. Two events
// are idempotent rather than errors, because telephony reports them late as a
// matter of course: Hangup after the flow finished (no-op, kNone), and a
// SubmissionResult that arrives after the wait was given up on (recorded in
// `late_submission_result()`, kNone, the outcome stays `fallback`).
//
// Cost: a flow copies its call's context once, at Create. Events allocate
// nothing on the success path except when a keyed-in number is normalised
// (one string). Actions refer to media ids in the shared config and to the
// flow's captured callback; those references stay valid until the flow is
// moved or destroyed.
//
// Threads: a flow is a plain object; one call's events must be serialised by
// the host. Different flows are independent; their shared config is
// immutable.
//
// Example:
//
//   auto config = std::make_shared<FlowConfig>();
//   config->default_country = "GB";
//   EmergencyCallInfo info;
//   info.call_id = "c-1";
//   info.caller_number = "020 7946 0000";
//   info.original_queue_id = "q-billing";
//   auto flow = EmergencyCallFlow::Create(config, std::move(info), clock.Now());
//   Result<FlowAction> a = flow->OnAnswered(clock.Now());     // PlayMedia
//   a = flow->OnPromptFinished(clock.Now());                  // PlayMedia (offer)
//   a = flow->OnPromptFinished(clock.Now());                  // CollectDigits
//   a = flow->OnDigits("1", clock.Now());                     // SubmitCallback
//   bool ok = pipeline.Submit(*a->callback).ok();             // durable commit
//   a = flow->OnSubmissionResult(ok ? SubmissionResult::kRecorded
//                                   : SubmissionResult::kFailed, clock.Now());
//   a = flow->OnPromptFinished(clock.Now());                  // Hangup, final_outcome
#ifndef LIFELINE_EMERGENCY_CALL_FLOW_HPP_
#define LIFELINE_EMERGENCY_CALL_FLOW_HPP_

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// How a call ended. The values and names are stable: they label metrics and
// cross the C ABI.
enum class CallOutcome : int {
  kCallbackRecorded = 0,  // the callback was durably recorded (or already was)
  kDeclined = 1,          // the caller pressed another digit and heard goodbye
  kTimeout = 2,           // the caller did not answer a prompt in time
  kHangup = 3,            // the caller hung up before an outcome was decided
  kRejectedBusy = 4,      // admission control: no channel slot, short busy
  kFallback = 5,          // the callback could not be taken or recorded
};

// The number of CallOutcome values (for metric arrays).
inline constexpr int kCallOutcomeCount = 6;

// "callback_recorded", "declined", "timeout", "hangup", "rejected_busy",
// "fallback"; "unknown" for a value outside the enum.
const char* CallOutcomeName(CallOutcome outcome);

// What happens after a digit other than the consent digit.
enum class OtherDigitRule : int {
  kReplayOnce = 0,  // replay the offer once; another wrong digit is goodbye
  kGoodbye = 1,     // goodbye at once
};

enum class HangupTone : int {
  kPolite = 0,  // a polite disconnect
  kBusy = 1,    // a short busy (admission control)
};

// What the host reports after handing a SubmitCallback to the pipeline.
enum class SubmissionResult : int {
  kRecorded = 0,   // durably recorded (committed to the outbox)
  kDuplicate = 1,  // already recorded within the dedup TTL: confirmed too
  kFailed = 2,     // could not even be recorded: the caller hears the fallback
};

// Where the captured callback number came from.
enum class CallerNumberSource : int {
  kNone = 0,     // not known (yet)
  kNetwork = 1,  // the call's ANI
  kKeyed = 2,    // keyed in by the caller
};

// Which of the flow's prompts an action plays.
enum class FlowPrompt : int {
  kEmergencyMessage = 0,
  kCallbackOffer = 1,
  kNumberEntry = 2,
  kConfirmation = 3,
  kFallback = 4,
  kGoodbye = 5,
};

// The flow's states, for diagnostics, tests and the C ABI.
enum class FlowState : int {
  kIdle = 0,                    // created, not answered
  kPlayingMessage = 1,          // the emergency message
  kPlayingOffer = 2,            // the callback offer
  kCollectingConsent = 3,       // waiting for the consent digit
  kPlayingNumberEntry = 4,      // "please key in your number, then #"
  kCollectingNumber = 5,        // collecting the keyed number
  kAwaitingRecord = 6,          // SubmitCallback handed out, result pending
  kAwaitingRecordCallerGone = 7,  // as above, but the caller hung up
  kPlayingConfirmation = 8,
  kPlayingFallback = 9,
  kPlayingGoodbye = 10,
  kDone = 11,                   // finished: outcome() is set
};

// "idle", "playing_message", "playing_offer", "collecting_consent",
// "playing_number_entry", "collecting_number", "awaiting_record",
// "awaiting_record_caller_gone", "playing_confirmation", "playing_fallback",
// "playing_goodbye", "done"; "unknown" otherwise.
const char* FlowStateName(FlowState state);

enum class FlowActionKind : int {
  kNone = 0,              // nothing to do (keep waiting)
  kPlayMedia = 1,         // play media_id (the message, the offer, entry, goodbye)
  kCollectDigits = 2,     // collect DTMF as described
  kSubmitCallback = 3,    // hand *callback to the pipeline; report the result
  kPlayConfirmation = 4,  // play media_id: the callback is recorded
  kPlayFallback = 5,      // play media_id: we could not take the callback
  kHangup = 6,            // disconnect with `tone`
};

// "none", "play_media", "collect_digits", "submit_callback",
// "play_confirmation", "play_fallback", "hangup"; "unknown" otherwise.
const char* FlowActionKindName(FlowActionKind kind);

// The context captured for one callback: what SubmitCallback hands over.
struct CapturedCallback {
  std::string call_id;
  std::string flow_name;
  std::string original_queue_id;
  // The number to call back, E.164; empty while not known.
  std::string caller_number;
  CallerNumberSource caller_number_source = CallerNumberSource::kNone;
  // Free-form key/value context from the PBX, in the order given.
  std::vector<std::pair<std::string, std::string>> context;
  // When the caller wants the callback: nullopt means as soon as possible.
  // Carried as given; the pipeline normalises it to UTC business hours.
  std::optional<UnixMillis> requested_time;
  // When the caller gave consent (the consent digit).
  UnixMillis consented_at = 0;
};

// The next thing the telephony side must do. A flat struct so it maps onto
// the C ABI; which fields matter depends on `kind`.
struct FlowAction {
  FlowActionKind kind = FlowActionKind::kNone;

  // kPlayMedia, kPlayConfirmation, kPlayFallback:
  FlowPrompt prompt = FlowPrompt::kEmergencyMessage;
  std::string_view media_id;      // from the FlowConfig
  DurationMillis timeout_ms = 0;  // playback timeout
  bool barge_in = false;          // report DTMF pressed during playback

  // kCollectDigits:
  int max_digits = 0;
  DurationMillis first_digit_timeout_ms = 0;
  DurationMillis inter_digit_timeout_ms = 0;
  char terminator = '\0';  // '\0' = none

  // kSubmitCallback: the flow's captured callback.
  const CapturedCallback* callback = nullptr;

  // kHangup:
  HangupTone tone = HangupTone::kPolite;

  // Set on exactly one action per flow: the one that finishes it.
  std::optional<CallOutcome> final_outcome;
};

enum class FlowEventKind : int {
  kAnswered = 0,
  kPromptFinished = 1,
  kDigits = 2,
  kTimeout = 3,
  kHangup = 4,
  kSubmissionResult = 5,
  kRejectBusy = 6,
};

// One telephony event, for hosts (and the C ABI) that prefer one entry point.
struct FlowEvent {
  FlowEventKind kind = FlowEventKind::kAnswered;
  std::string_view digits;                                // kDigits
  SubmissionResult submission = SubmissionResult::kRecorded;  // kSubmissionResult
};

// A flow's configuration. Share one (immutable, validated) among all the
// flows that use it. Durations are milliseconds; media ids are opaque to
// Lifeline (the PBX's prompt names or URIs).
struct FlowConfig {
  // Media. Required: emergency_message_media, confirmation_media,
  // fallback_media; number_entry_media when number entry is enabled.
  // Optional: callback_offer_media (empty: the emergency message carries
  // the offer; replays repeat the message), goodbye_media (empty: hang up
  // at once).
  std::string emergency_message_media = "emergency_message";
  std::string callback_offer_media = "callback_offer";
  std::string number_entry_media = "number_entry";
  std::string confirmation_media = "callback_confirmation";
  std::string fallback_media = "callback_fallback";
  std::string goodbye_media = "goodbye";

  // The seed's prompt settings.
  DurationMillis playback_timeout_ms = 15'000;
  int max_digits = 1;  // keys collected for consent; the first one decides
  DurationMillis first_digit_timeout_ms = 4'000;
  DurationMillis inter_digit_timeout_ms = 4'000;
  // How many times the offer may play before a silent caller is timed out:
  // 1, the seed's "loop exactly once" (no replay on timeout).
  int prompt_plays = 1;
  // Report digits pressed while a prompt plays (DTMF barge-in).
  bool barge_in = true;

  // Digits.
  char consent_digit = '1';
  OtherDigitRule other_digit_rule = OtherDigitRule::kReplayOnce;

  // Callers whose number is withheld or invalid.
  bool number_entry_enabled = true;
  int number_entry_max_digits = 15;
  char number_entry_terminator = '#';
  int number_entry_attempts = 1;  // invalid entries before the fallback
  // For national numbers, ANI and keyed (see phone_number.hpp). Empty: only
  // international forms are accepted.
  std::string default_country = "US";

  // Silence limits.
  // Longest wait for the SubmissionResult before the fallback plays.
  DurationMillis max_confirmation_wait_ms = 3'000;
  // The flow's own deadline for a prompt or a collection is the PBX's
  // timeout plus this grace, so the PBX's Timeout normally arrives first
  // and OnTimer is only a backstop.
  DurationMillis timer_grace_ms = 1'000;
  // No silent wait may exceed this: Validate checks that the digit timeouts
  // (plus grace) and max_confirmation_wait_ms fit.
  DurationMillis max_silence_ms = 10'000;

  // OK, or kInvalidArgument naming the first field that is wrong.
  Status Validate() const;
};

// What the PBX knows about the call when the flow starts. Strings are UTF-8;
// limits (kInvalidArgument from Create): ids and names 256 bytes, at most 64
// context entries with keys of 1..128 bytes and values of up to 1024. An
// unusable caller_number never fails Create (see network_number_status()).
struct EmergencyCallInfo {
  std::string call_id;            // required
  std::string caller_number;      // the raw ANI; empty/"anonymous" = withheld
  std::string original_queue_id;
  std::string flow_name;
  std::vector<std::pair<std::string, std::string>> context;
  std::optional<UnixMillis> requested_time;  // nullopt = ASAP
};

class EmergencyCallFlow {
 public:
  // NextDeadline() when nothing is scheduled.
  static constexpr UnixMillis kNoDeadline = std::numeric_limits<UnixMillis>::max();

  // Creates a flow in kIdle and normalises the caller's number. Errors:
  // kInvalidArgument for a null or invalid config, or call info beyond its
  // limits (the message names the field).
  static Result<EmergencyCallFlow> Create(std::shared_ptr<const FlowConfig> config,
                                          EmergencyCallInfo call, UnixMillis now);

  EmergencyCallFlow(EmergencyCallFlow&&) noexcept;
  EmergencyCallFlow& operator=(EmergencyCallFlow&&) noexcept;
  EmergencyCallFlow(const EmergencyCallFlow&) = delete;
  EmergencyCallFlow& operator=(const EmergencyCallFlow&) = delete;
  ~EmergencyCallFlow();

  // --- Events. Each returns the next action, or kState / kInvalidArgument.

  // idle: the call was answered. -> PlayMedia(emergency message).
  Result<FlowAction> OnAnswered(UnixMillis now);
  // idle: admission control refused the call. -> Hangup(busy), rejected_busy.
  Result<FlowAction> OnRejectBusy(UnixMillis now);
  // A prompt finished playing.
  Result<FlowAction> OnPromptFinished(UnixMillis now);
  // DTMF: one or more of 0-9 * # A-D (at most 64 per event). Accepted while
  // collecting, and while a prompt that allows barge-in plays.
  Result<FlowAction> OnDigits(std::string_view digits, UnixMillis now);
  // The PBX's playback or collection timed out.
  Result<FlowAction> OnTimeout(UnixMillis now);
  // The caller hung up (any state; idempotent once finished).
  Result<FlowAction> OnHangup(UnixMillis now);
  // The pipeline's answer to SubmitCallback.
  Result<FlowAction> OnSubmissionResult(SubmissionResult result, UnixMillis now);
  // Applies the flow's own deadline when `now` has reached it: a prompt or a
  // collection the PBX never ended counts as a Timeout, and a missing
  // SubmissionResult plays the fallback. kNone (never an error) otherwise.
  Result<FlowAction> OnTimer(UnixMillis now);
  // Dispatches `event` to the methods above.
  Result<FlowAction> OnEvent(const FlowEvent& event, UnixMillis now);

  // When OnTimer has something to do, or kNoDeadline.
  UnixMillis NextDeadline() const { return deadline_; }

  // Sets the requested callback time (nullopt = ASAP) before the callback is
  // submitted; kState afterwards.
  Status SetRequestedTime(std::optional<UnixMillis> at);

  // --- Introspection.
  FlowState state() const { return state_; }
  bool finished() const { return state_ == FlowState::kDone; }
  // The outcome, once finished; nullopt before.
  std::optional<CallOutcome> outcome() const {
    return finished() ? outcome_ : std::nullopt;
  }
  // The captured context; caller_number is set once known.
  const CapturedCallback& callback() const { return callback_; }
  // Why the network number was not usable: kOk when it was, kNotFound when
  // withheld, kInvalidArgument when invalid.
  StatusCode network_number_status() const { return network_number_status_; }
  // The SubmissionResult received, if any, and whether it came after the
  // flow had given up waiting.
  std::optional<SubmissionResult> submission_result() const { return submission_result_; }
  bool late_submission_result() const { return late_submission_result_; }
  // How many times the offer has played.
  int offer_plays() const { return offer_plays_; }
  const FlowConfig& config() const { return *config_; }

 private:
  EmergencyCallFlow(std::shared_ptr<const FlowConfig> config, UnixMillis now);

  Status Refuse(const char* event) const;
  UnixMillis Clamp(UnixMillis now);
  FlowAction Play(FlowState state, FlowActionKind kind, FlowPrompt prompt,
                  const std::string& media, bool barge_in, UnixMillis now);
  FlowAction PlayOffer(UnixMillis now);
  FlowAction CollectConsent(UnixMillis now);
  FlowAction PlayNumberEntry(UnixMillis now);
  FlowAction CollectNumber(int max_digits, DurationMillis first_timeout, UnixMillis now);
  FlowAction Submit(UnixMillis now);
  FlowAction Goodbye(UnixMillis now);
  FlowAction Fallback(UnixMillis now);
  FlowAction Confirm(UnixMillis now);
  FlowAction Finish(CallOutcome outcome);
  FlowAction HangupPolite(CallOutcome outcome);
  FlowAction TimeOut(UnixMillis now);
  FlowAction OnConsentKey(char key, UnixMillis now);
  FlowAction CompleteNumber(UnixMillis now);

  std::shared_ptr<const FlowConfig> config_;
  FlowState state_ = FlowState::kIdle;
  UnixMillis last_now_ = 0;
  UnixMillis deadline_ = kNoDeadline;
  std::optional<CallOutcome> outcome_;  // decided; reported once finished
  CapturedCallback callback_;
  StatusCode network_number_status_ = StatusCode::kOk;
  std::optional<SubmissionResult> submission_result_;
  bool submitted_ = false;
  bool late_submission_result_ = false;
  int offer_plays_ = 0;
  bool replayed_ = false;
  int entry_attempts_ = 0;
  int entry_length_ = 0;
  char entry_[16] = {};
};

}  // namespace lifeline

#endif  // LIFELINE_EMERGENCY_CALL_FLOW_HPP_
