// C ABI over the IVR failover engine (lib/ivr/ivr_engine.hpp).
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "capi/audit_handle.hpp"
#include "capi/capi_support.hpp"
#include "capi/handles.hpp"
#include "core/json_config.hpp"
#include "ivr/ivr_engine.hpp"
#include "lifeline/rfc3339.hpp"

using lifeline::capi::CheckString;
using lifeline::capi::CopyOut;
using lifeline::capi::Fail;
using lifeline::capi::Guard;

struct lifeline_engine_t {
  std::unique_ptr<lifeline::IvrEngine> engine;
};

struct lifeline_call_t {
  lifeline_engine_t* owner = nullptr;
  std::optional<lifeline::EmergencyCallFlow> flow;
  lifeline::ChannelLease lease;
  std::string request_id;
  // The outcome, once the flow has decided it (with its final hangup action
  // or when it finishes), counted in the metrics exactly once.
  std::optional<lifeline::CallOutcome> outcome;
};

namespace {

lifeline_status Open(const char* kFn, const char* config_json, lifeline_clock_t* clock,
                     lifeline_engine_t** out) {
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  if (lifeline_status s = CheckString(kFn, "config_json", config_json); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    std::shared_ptr<lifeline::Clock> shared_clock = clock ? clock->clock : nullptr;
    auto engine = lifeline::IvrEngine::Open(config_json, shared_clock);
    if (!engine.ok()) return Fail(kFn, engine.status());
    *out = new lifeline_engine_t{std::move(*engine)};
    return LIFELINE_OK;
  });
}

void ToCAction(const lifeline::FlowAction& a, lifeline_action* out) {
  std::memset(out, 0, sizeof *out);
  out->prompt = static_cast<int>(a.prompt);
  auto copy_media = [&] {
    size_t n = std::min(a.media_id.size(), sizeof out->media_id - 1);
    if (n > 0) std::memcpy(out->media_id, a.media_id.data(), n);  // an empty view may hold NULL
    out->media_id[n] = '\0';
  };
  switch (a.kind) {
    case lifeline::FlowActionKind::kNone:
    case lifeline::FlowActionKind::kSubmitCallback:
      out->kind = LIFELINE_ACTION_NONE;
      break;
    case lifeline::FlowActionKind::kPlayMedia:
    case lifeline::FlowActionKind::kPlayConfirmation:
    case lifeline::FlowActionKind::kPlayFallback:
      out->kind = LIFELINE_ACTION_PLAY;
      out->timeout_ms = a.timeout_ms;
      copy_media();
      break;
    case lifeline::FlowActionKind::kCollectDigits:
      out->kind = LIFELINE_ACTION_COLLECT_DIGITS;
      out->timeout_ms = a.first_digit_timeout_ms;
      out->max_digits = a.max_digits;
      out->inter_digit_timeout_ms = a.inter_digit_timeout_ms;
      out->terminator = a.terminator;
      copy_media();
      break;
    case lifeline::FlowActionKind::kHangup:
      out->kind = LIFELINE_ACTION_HANGUP;
      out->tone = a.tone == lifeline::HangupTone::kBusy ? LIFELINE_TONE_BUSY : LIFELINE_TONE_POLITE;
      break;
  }
}

// Feeds the flow's SubmitCallback requests to the engine until the flow asks
// for something the telephony side must do; counts the outcome once.
lifeline_status Advance(const char* kFn, lifeline_call_t* call,
                        lifeline::Result<lifeline::FlowAction> action, lifeline_action* out) {
  lifeline::IvrEngine& engine = *call->owner->engine;
  while (action.ok() && action->kind == lifeline::FlowActionKind::kSubmitCallback) {
    const lifeline::CapturedCallback& captured = *action->callback;
    lifeline::CallbackSubmission submission;
    submission.caller_phone = captured.caller_number;
    submission.original_queue_id = captured.original_queue_id;
    submission.flow_name = captured.flow_name;
    submission.call_id = captured.call_id;
    submission.context = captured.context;
    if (captured.requested_time) {
      submission.callback_time = lifeline::FormatRfc3339(*captured.requested_time).value();
    }
    auto submitted = engine.Submit(submission);
    lifeline::SubmissionResult result = lifeline::SubmissionResult::kFailed;
    if (submitted.ok()) {
      call->request_id = submitted->request_id;
      result = submitted->duplicate ? lifeline::SubmissionResult::kDuplicate
                                    : lifeline::SubmissionResult::kRecorded;
    }
    action = call->flow->OnSubmissionResult(result, engine.Now());
  }
  if (!action.ok()) return Fail(kFn, action.status());
  std::optional<lifeline::CallOutcome> decided = call->flow->outcome();
  if (!decided && action->kind == lifeline::FlowActionKind::kHangup) decided = action->final_outcome;
  if (decided && !call->outcome) {
    call->outcome = decided;
    engine.CountOutcome(*decided);
    call->lease.Release();  // the media channel is not needed past the hangup
  }
  ToCAction(*action, out);
  return LIFELINE_OK;
}

}  // namespace

extern "C" {

LIFELINE_API lifeline_status lifeline_engine_open(const char* config_json, lifeline_engine_t** out) {
  return Open("lifeline_engine_open", config_json, nullptr, out);
}

LIFELINE_API lifeline_status lifeline_engine_open_with_clock(const char* config_json,
                                                             lifeline_clock_t* clock,
                                                             lifeline_engine_t** out) {
  static constexpr const char* kFn = "lifeline_engine_open_with_clock";
  LIFELINE_REQUIRE_NOT_NULL(kFn, clock);
  return Open(kFn, config_json, clock, out);
}

LIFELINE_API lifeline_status lifeline_engine_drain(lifeline_engine_t* engine, int64_t timeout_ms) {
  static constexpr const char* kFn = "lifeline_engine_drain";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  if (timeout_ms < 0) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "timeout_ms must be >= 0");
  return Guard(kFn, [&] { return Fail(kFn, engine->engine->Drain(timeout_ms)); });
}

LIFELINE_API lifeline_status lifeline_engine_settle(lifeline_engine_t* engine, int64_t timeout_ms) {
  static constexpr const char* kFn = "lifeline_engine_settle";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  if (timeout_ms < 0) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "timeout_ms must be >= 0");
  return Guard(kFn, [&] { return Fail(kFn, engine->engine->Settle(timeout_ms)); });
}

LIFELINE_API void lifeline_engine_close(lifeline_engine_t* engine) {
  try {
    delete engine;
  } catch (...) {
  }
}

LIFELINE_API lifeline_status lifeline_engine_set_event_callback(lifeline_engine_t* engine,
                                                                lifeline_event_callback callback,
                                                                void* user_data) {
  static constexpr const char* kFn = "lifeline_engine_set_event_callback";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  return Guard(kFn, [&] {
    if (callback == nullptr) {
      engine->engine->SetEventCallback(nullptr);
    } else {
      engine->engine->SetEventCallback(
          [callback, user_data](const std::string& json) { callback(json.c_str(), user_data); });
    }
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_engine_set_audit(lifeline_engine_t* engine,
                                                       lifeline_audit_t* audit) {
  static constexpr const char* kFn = "lifeline_engine_set_audit";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  return Guard(kFn, [&] {
    engine->engine->SetAuditSink(audit != nullptr ? audit->log.get() : nullptr);
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_failover_set(lifeline_engine_t* engine, int mode,
                                                   const char* reason, int64_t expires_at_ms) {
  static constexpr const char* kFn = "lifeline_failover_set";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  if (mode != LIFELINE_MODE_NORMAL && mode != LIFELINE_MODE_FAILOVER) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "mode must be 0 (NORMAL) or 1 (FAILOVER)");
  }
  if (lifeline_status s = CheckString(kFn, "reason", reason); s != LIFELINE_OK) return s;
  if (expires_at_ms < 0) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "expires_at_ms must be >= 0");
  return Guard(kFn, [&] {
    return Fail(kFn, engine->engine->PushMode(static_cast<lifeline::RoutingMode>(mode), reason,
                                              expires_at_ms));
  });
}

LIFELINE_API lifeline_status lifeline_failover_observe(lifeline_engine_t* engine, int mode) {
  static constexpr const char* kFn = "lifeline_failover_observe";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  if (mode != LIFELINE_MODE_NORMAL && mode != LIFELINE_MODE_FAILOVER) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "mode must be 0 (NORMAL) or 1 (FAILOVER)");
  }
  return Guard(kFn, [&] {
    return Fail(kFn, engine->engine->ObserveMode(static_cast<lifeline::RoutingMode>(mode)));
  });
}

LIFELINE_API lifeline_status lifeline_failover_observe_failure(lifeline_engine_t* engine) {
  static constexpr const char* kFn = "lifeline_failover_observe_failure";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  return Guard(kFn, [&] { return Fail(kFn, engine->engine->ObserveModeFailure()); });
}

LIFELINE_API lifeline_status lifeline_failover_mode(lifeline_engine_t* engine, int* out_mode) {
  static constexpr const char* kFn = "lifeline_failover_mode";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_mode);
  *out_mode = static_cast<int>(engine->engine->Mode());
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_call_begin(lifeline_engine_t* engine, const char* call_json,
                                                 int* out_entry, lifeline_call_t** out_call,
                                                 lifeline_action* out_action) {
  static constexpr const char* kFn = "lifeline_call_begin";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_entry);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_call);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_action);
  if (lifeline_status s = CheckString(kFn, "call_json", call_json); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    lifeline::JsonConfig doc;
    lifeline::Status parsed = doc.Parse(call_json);
    if (!parsed.ok()) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "call_json: " + parsed.message());
    lifeline::ConfigObject root = doc.Root();
    lifeline::EmergencyCallInfo info;
    root.String("callId", &info.call_id);
    root.String("ani", &info.caller_number);
    root.String("originalQueueId", &info.original_queue_id);
    root.String("flowName", &info.flow_name);
    root.StringMap("contextData", &info.context);
    lifeline::Status checked = root.Finish();
    if (!checked.ok()) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "call_json: " + checked.message());
    if (info.call_id.empty()) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "call_json: callId is required");

    lifeline::IvrEngine& e = *engine->engine;
    lifeline::CallEntry entry = e.EnterCall();
    *out_call = nullptr;
    std::memset(out_action, 0, sizeof *out_action);
    switch (entry.decision) {
      case lifeline::CallEntryDecision::kNormalRouting:
        *out_entry = LIFELINE_ENTRY_NORMAL;
        return LIFELINE_OK;
      case lifeline::CallEntryDecision::kRejectBusy:
        *out_entry = LIFELINE_ENTRY_REJECT_BUSY;
        e.CountOutcome(lifeline::CallOutcome::kRejectedBusy);
        out_action->kind = LIFELINE_ACTION_HANGUP;
        out_action->tone = LIFELINE_TONE_BUSY;
        return LIFELINE_OK;
      case lifeline::CallEntryDecision::kFailoverFlow:
        break;
    }
    auto flow = lifeline::EmergencyCallFlow::Create(e.flow_config(), std::move(info), e.Now());
    if (!flow.ok()) return Fail(kFn, flow.status());  // the lease is released on return
    auto call = std::make_unique<lifeline_call_t>();
    call->owner = engine;
    call->flow.emplace(std::move(*flow));
    call->lease = std::move(entry.lease);
    lifeline_status s = Advance(kFn, call.get(), call->flow->OnAnswered(e.Now()), out_action);
    if (s != LIFELINE_OK) return s;
    *out_entry = LIFELINE_ENTRY_FAILOVER;
    *out_call = call.release();
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_call_event(lifeline_call_t* call, int event,
                                                 const char* digits, lifeline_action* out_action) {
  static constexpr const char* kFn = "lifeline_call_event";
  LIFELINE_REQUIRE_NOT_NULL(kFn, call);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_action);
  if (event < LIFELINE_EVENT_ANSWERED || event > LIFELINE_EVENT_HANGUP) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "event must be a lifeline_call_event_kind (0..4)");
  }
  if (event == LIFELINE_EVENT_DIGITS) {
    if (lifeline_status s = CheckString(kFn, "digits", digits); s != LIFELINE_OK) return s;
    for (const char* p = digits; *p; ++p) {
      if (std::strchr("0123456789*#", *p) == nullptr) {
        return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                    "digits: position " + std::to_string(p - digits) + ": not a DTMF key (0-9, *, #)");
      }
    }
  }
  return Guard(kFn, [&] {
    lifeline::UnixMillis now = call->owner->engine->Now();
    lifeline::EmergencyCallFlow& flow = *call->flow;
    switch (event) {
      case LIFELINE_EVENT_ANSWERED: return Advance(kFn, call, flow.OnAnswered(now), out_action);
      case LIFELINE_EVENT_PROMPT_FINISHED: return Advance(kFn, call, flow.OnPromptFinished(now), out_action);
      case LIFELINE_EVENT_DIGITS: return Advance(kFn, call, flow.OnDigits(digits, now), out_action);
      case LIFELINE_EVENT_TIMEOUT: return Advance(kFn, call, flow.OnTimeout(now), out_action);
      default: return Advance(kFn, call, flow.OnHangup(now), out_action);
    }
  });
}

LIFELINE_API lifeline_status lifeline_call_next_deadline(const lifeline_call_t* call,
                                                         int64_t* out_unix_ms, int* out_has) {
  static constexpr const char* kFn = "lifeline_call_next_deadline";
  LIFELINE_REQUIRE_NOT_NULL(kFn, call);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_unix_ms);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_has);
  const lifeline::UnixMillis deadline = call->flow->NextDeadline();
  *out_has = deadline != lifeline::EmergencyCallFlow::kNoDeadline && !call->outcome;
  if (*out_has) *out_unix_ms = deadline;
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_call_on_timer(lifeline_call_t* call, lifeline_action* out_action) {
  static constexpr const char* kFn = "lifeline_call_on_timer";
  LIFELINE_REQUIRE_NOT_NULL(kFn, call);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_action);
  return Guard(kFn, [&] {
    return Advance(kFn, call, call->flow->OnTimer(call->owner->engine->Now()), out_action);
  });
}

LIFELINE_API lifeline_status lifeline_call_outcome(const lifeline_call_t* call, int* out_outcome) {
  static constexpr const char* kFn = "lifeline_call_outcome";
  LIFELINE_REQUIRE_NOT_NULL(kFn, call);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_outcome);
  *out_outcome = call->outcome ? static_cast<int>(*call->outcome) : LIFELINE_OUTCOME_NONE;
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_call_request_id(const lifeline_call_t* call, char* out,
                                                      size_t cap) {
  static constexpr const char* kFn = "lifeline_call_request_id";
  LIFELINE_REQUIRE_NOT_NULL(kFn, call);
  if (call->request_id.empty()) return Fail(kFn, LIFELINE_E_NOT_FOUND, "no callback was recorded on this call");
  return CopyOut(kFn, call->request_id, out, cap);
}

LIFELINE_API void lifeline_call_end(lifeline_call_t* call) {
  if (call == nullptr) return;
  try {
    if (!call->outcome) {
      // Ending a call the flow had not finished: the caller went away.
      auto action = call->flow->OnHangup(call->owner->engine->Now());
      std::optional<lifeline::CallOutcome> outcome = call->flow->outcome();
      if (!outcome && action.ok()) outcome = action->final_outcome;
      call->owner->engine->CountOutcome(outcome ? *outcome : lifeline::CallOutcome::kHangup);
    }
  } catch (...) {
  }
  delete call;  // the lease, if still held, is released here
}

LIFELINE_API const char* lifeline_call_outcome_str(int outcome) {
  if (outcome < 0 || outcome >= lifeline::kCallOutcomeCount) return "none";
  return lifeline::CallOutcomeName(static_cast<lifeline::CallOutcome>(outcome));
}

LIFELINE_API lifeline_status lifeline_callback_submit(lifeline_engine_t* engine,
                                                      const char* request_json,
                                                      char* out_request_id, size_t cap) {
  static constexpr const char* kFn = "lifeline_callback_submit";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_request_id);
  if (lifeline_status s = CheckString(kFn, "request_json", request_json); s != LIFELINE_OK) return s;
  if (cap < LIFELINE_REQUEST_ID_BUFFER_SIZE) {
    return Fail(kFn, LIFELINE_E_BUFFER_TOO_SMALL, "cap must be >= LIFELINE_REQUEST_ID_BUFFER_SIZE (33)");
  }
  return Guard(kFn, [&] {
    auto submission = lifeline::ParseCallbackSubmission(request_json);
    if (!submission.ok()) return Fail(kFn, submission.status());
    auto result = engine->engine->Submit(*submission);
    if (!result.ok()) return Fail(kFn, result.status());
    CopyOut(kFn, result->request_id, out_request_id, cap);
    if (result->duplicate) {
      return Fail(kFn, LIFELINE_E_DUPLICATE,
                  "the same caller asked for the same queue within dedup.ttl_ms");
    }
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_callback_dead_letters(lifeline_engine_t* engine, char* out,
                                                            size_t cap, size_t* out_needed) {
  static constexpr const char* kFn = "lifeline_callback_dead_letters";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  return Guard(kFn, [&] {
    auto json = engine->engine->DeadLettersJson();
    if (!json.ok()) return Fail(kFn, json.status());
    return CopyOut(kFn, *json, out, cap, out_needed);
  });
}

LIFELINE_API lifeline_status lifeline_callback_redrive(lifeline_engine_t* engine,
                                                       const char* request_id) {
  static constexpr const char* kFn = "lifeline_callback_redrive";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  if (request_id != nullptr) {
    if (lifeline_status s = CheckString(kFn, "request_id", request_id); s != LIFELINE_OK) return s;
  }
  return Guard(kFn, [&] {
    std::optional<std::string> id;
    if (request_id != nullptr) id = request_id;
    return Fail(kFn, engine->engine->Redrive(id));
  });
}

LIFELINE_API lifeline_status lifeline_callback_status(lifeline_engine_t* engine,
                                                      const char* request_id, char* out,
                                                      size_t cap, size_t* out_needed) {
  static constexpr const char* kFn = "lifeline_callback_status";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  if (lifeline_status s = CheckString(kFn, "request_id", request_id); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    auto json = engine->engine->StatusJson(request_id);
    if (!json.ok()) return Fail(kFn, json.status());
    return CopyOut(kFn, *json, out, cap, out_needed);
  });
}

LIFELINE_API lifeline_status lifeline_metrics_json(lifeline_engine_t* engine, char* out,
                                                   size_t cap, size_t* out_needed) {
  static constexpr const char* kFn = "lifeline_metrics_json";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  return Guard(kFn, [&] {
    auto json = engine->engine->MetricsJson();
    if (!json.ok()) return Fail(kFn, json.status());
    return CopyOut(kFn, *json, out, cap, out_needed);
  });
}

LIFELINE_API lifeline_status lifeline_metrics_prometheus(lifeline_engine_t* engine, char* out,
                                                         size_t cap, size_t* out_needed) {
  static constexpr const char* kFn = "lifeline_metrics_prometheus";
  LIFELINE_REQUIRE_NOT_NULL(kFn, engine);
  return Guard(kFn, [&] {
    auto text = engine->engine->MetricsPrometheus();
    if (!text.ok()) return Fail(kFn, text.status());
    return CopyOut(kFn, *text, out, cap, out_needed);
  });
}

}  // extern "C"
