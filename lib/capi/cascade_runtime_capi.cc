// C ABI over the cascade runtime (lib/cascade/cascade_service.hpp): the
// "Notification cascades" section of lifeline.h, lifeline_cascade_runtime_*,
// including the PBX voice originator (lifeline/outbound_call.hpp).
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <rapidjson/document.h>

#include "capi/audit_handle.hpp"
#include "capi/capi_support.hpp"
#include "capi/handles.hpp"
#include "cascade/cascade_service.hpp"
#include "lifeline/outbound_call.hpp"

using lifeline::capi::CheckString;
using lifeline::capi::CopyOut;
using lifeline::capi::Fail;
using lifeline::capi::Guard;

struct lifeline_cascade_runtime_t {
  std::unique_ptr<lifeline::CascadeService> service;
  // Events taken from the service but not yet copied out (buffer too small).
  std::mutex events_mu;
  std::optional<std::string> events_stash;
};

namespace {

lifeline_status Open(const char* kFn, const char* config_json, lifeline_clock_t* clock,
                     lifeline_cascade_runtime_t** out) {
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  if (lifeline_status s = CheckString(kFn, "config_json", config_json); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    std::shared_ptr<lifeline::Clock> shared_clock = clock ? clock->clock : nullptr;
    auto service = lifeline::CascadeService::Open(config_json, shared_clock);
    if (!service.ok()) {
      if (service.status().code() == lifeline::StatusCode::kInvalidArgument) {
        return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "config_json: " + service.status().message());
      }
      return Fail(kFn, service.status());
    }
    auto rt = std::make_unique<lifeline_cascade_runtime_t>();
    rt->service = std::move(*service);
    *out = rt.release();
    return LIFELINE_OK;
  });
}

// headers_json: NULL, "" or a JSON object of string values.
lifeline_status ParseHeaders(const char* kFn, const char* headers_json, lifeline::HttpHeaders* out) {
  if (headers_json == nullptr || headers_json[0] == '\0') return LIFELINE_OK;
  rapidjson::Document d;
  d.Parse(headers_json);
  if (d.HasParseError() || !d.IsObject()) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "headers_json: expected a JSON object of strings");
  }
  for (auto it = d.MemberBegin(); it != d.MemberEnd(); ++it) {
    if (!it->value.IsString()) {
      return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                  std::string("headers_json.") + it->name.GetString() + ": expected a string");
    }
    out->emplace_back(std::string(it->name.GetString(), it->name.GetStringLength()),
                      std::string(it->value.GetString(), it->value.GetStringLength()));
  }
  return LIFELINE_OK;
}

// Validates the inbound-request arguments shared by _trigger_http and
// _ingest_provider_callback.
lifeline_status CheckRequest(const char* kFn, const char* method, const char* url, const char* headers_json,
                             const char* body, lifeline::HttpHeaders* headers) {
  if (lifeline_status s = CheckString(kFn, "method", method); s != LIFELINE_OK) return s;
  if (lifeline_status s = CheckString(kFn, "url", url); s != LIFELINE_OK) return s;
  if (headers_json != nullptr) {
    if (lifeline_status s = CheckString(kFn, "headers_json", headers_json); s != LIFELINE_OK) return s;
  }
  if (lifeline_status s = CheckString(kFn, "body", body); s != LIFELINE_OK) return s;
  return ParseHeaders(kFn, headers_json, headers);
}

// The host's lifeline_voice_originator as a CallOriginator: the request
// becomes a lifeline_voice_call whose strings point into it (valid for the
// call), and the returned status becomes the OriginateAnswer.
class CVoiceOriginator final : public lifeline::CallOriginator {
 public:
  CVoiceOriginator(lifeline_voice_originator fn, void* user_data) : fn_(fn), user_data_(user_data) {}

  lifeline::OriginateAnswer Originate(const lifeline::OutboundCallRequest& r) override {
    lifeline_voice_call call{};
    call.version = LIFELINE_VOICE_CALL_VERSION;
    call.message_id = r.message_id;
    call.incident_id = r.incident_id.c_str();
    call.member_id = r.member_id.c_str();
    call.destination = r.destination.c_str();
    call.caller_id = r.caller_id.c_str();
    call.prompt_text = r.prompt_text.c_str();
    call.media_id = r.media_id.c_str();
    call.gather_prompt_text = r.gather_prompt_text.c_str();
    call.ack_digit = r.ack_digit;
    call.max_digits = r.max_digits;
    call.digit_timeout_ms = r.digit_timeout_ms;
    call.ring_timeout_ms = r.ring_timeout_ms;
    call.severity = static_cast<int32_t>(r.severity);
    call.escalation = r.escalation ? 1 : 0;
    int64_t retry_after_ms = 0;
    const int status = fn_(&call, &retry_after_ms, user_data_);
    lifeline::OriginateAnswer answer;
    switch (status) {
      case LIFELINE_OK:
        answer.kind = lifeline::OriginateAnswer::Kind::kOriginated;
        break;
      case LIFELINE_E_RATE_LIMITED:
        answer.kind = lifeline::OriginateAnswer::Kind::kTrunksBusy;
        answer.retry_after_ms = retry_after_ms;
        break;
      case LIFELINE_E_NOT_FOUND:
      case LIFELINE_E_INVALID_ARGUMENT:
        answer.kind = lifeline::OriginateAnswer::Kind::kUnroutable;
        break;
      default:
        answer.kind = lifeline::OriginateAnswer::Kind::kFailed;
    }
    return answer;
  }

 private:
  lifeline_voice_originator fn_;
  void* user_data_;
};

// Copies an optional JSON answer out: out may be NULL when cap is 0.
lifeline_status Answer(const char* kFn, const std::string& json, char* out, size_t cap, size_t* needed) {
  if (out == nullptr && cap == 0) {
    if (needed != nullptr) *needed = json.size() + 1;
    return LIFELINE_OK;
  }
  return CopyOut(kFn, json, out, cap, needed);
}

}  // namespace

extern "C" {

LIFELINE_API lifeline_status lifeline_cascade_runtime_open(const char* config_json,
                                                           lifeline_cascade_runtime_t** out) {
  return Open("lifeline_cascade_runtime_open", config_json, nullptr, out);
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_open_with_clock(const char* config_json,
                                                                      lifeline_clock_t* clock,
                                                                      lifeline_cascade_runtime_t** out) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_open_with_clock";
  LIFELINE_REQUIRE_NOT_NULL(kFn, clock);
  return Open(kFn, config_json, clock, out);
}

LIFELINE_API void lifeline_cascade_runtime_close(lifeline_cascade_runtime_t* rt) {
  try {
    delete rt;
  } catch (...) {
  }
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_settle(lifeline_cascade_runtime_t* rt,
                                                             int64_t timeout_ms) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_settle";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  if (timeout_ms < 0) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "timeout_ms must be >= 0");
  return Guard(kFn, [&] { return Fail(kFn, rt->service->Settle(timeout_ms)); });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_trigger(lifeline_cascade_runtime_t* rt,
                                                              const char* trigger_json,
                                                              char* out_cascade_json, size_t cap,
                                                              size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_trigger";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  if (lifeline_status s = CheckString(kFn, "trigger_json", trigger_json); s != LIFELINE_OK) return s;
  if (out_cascade_json == nullptr && cap != 0) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "out_cascade_json must not be NULL when cap > 0");
  }
  return Guard(kFn, [&] {
    auto state = rt->service->Trigger(trigger_json);
    if (!state.ok()) return Fail(kFn, state.status());
    return Answer(kFn, *state, out_cascade_json, cap, needed);
  });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_trigger_http(
    lifeline_cascade_runtime_t* rt, const char* method, const char* url, const char* headers_json,
    const char* body, char* out_cascade_json, size_t cap, size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_trigger_http";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  lifeline::HttpHeaders headers;
  if (lifeline_status s = CheckRequest(kFn, method, url, headers_json, body, &headers); s != LIFELINE_OK) {
    return s;
  }
  if (out_cascade_json == nullptr && cap != 0) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "out_cascade_json must not be NULL when cap > 0");
  }
  return Guard(kFn, [&] {
    auto state = rt->service->TriggerHttp(method, url, headers, body);
    if (!state.ok()) return Fail(kFn, state.status());
    return Answer(kFn, *state, out_cascade_json, cap, needed);
  });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_acknowledge(lifeline_cascade_runtime_t* rt,
                                                                  const char* incident_id,
                                                                  const char* member_id) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_acknowledge";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  if (lifeline_status s = CheckString(kFn, "incident_id", incident_id); s != LIFELINE_OK) return s;
  if (lifeline_status s = CheckString(kFn, "member_id", member_id); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] { return Fail(kFn, rt->service->Acknowledge(incident_id, member_id, "")); });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_close_incident(lifeline_cascade_runtime_t* rt,
                                                                     const char* incident_id) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_close_incident";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  if (lifeline_status s = CheckString(kFn, "incident_id", incident_id); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] { return Fail(kFn, rt->service->CloseIncident(incident_id)); });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_ingest_provider_callback(
    lifeline_cascade_runtime_t* rt, const char* provider, const char* method, const char* url,
    const char* headers_json, const char* body, char* out_json, size_t cap, size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_ingest_provider_callback";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  if (lifeline_status s = CheckString(kFn, "provider", provider); s != LIFELINE_OK) return s;
  lifeline::HttpHeaders headers;
  if (lifeline_status s = CheckRequest(kFn, method, url, headers_json, body, &headers); s != LIFELINE_OK) {
    return s;
  }
  if (out_json == nullptr && cap != 0) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "out_json must not be NULL when cap > 0");
  }
  return Guard(kFn, [&] {
    auto answer = rt->service->IngestProviderCallback(provider, method, url, headers, body);
    if (!answer.ok()) return Fail(kFn, answer.status());
    return Answer(kFn, *answer, out_json, cap, needed);
  });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_ack_link(lifeline_cascade_runtime_t* rt,
                                                               const char* token, char* out_json,
                                                               size_t cap, size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_ack_link";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  if (lifeline_status s = CheckString(kFn, "token", token); s != LIFELINE_OK) return s;
  if (out_json == nullptr && cap != 0) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "out_json must not be NULL when cap > 0");
  }
  return Guard(kFn, [&] {
    auto answer = rt->service->AckLink(token);
    if (!answer.ok()) return Fail(kFn, answer.status());
    return Answer(kFn, *answer, out_json, cap, needed);
  });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_state_json(lifeline_cascade_runtime_t* rt,
                                                                 const char* incident_id, char* out,
                                                                 size_t cap, size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_state_json";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  if (lifeline_status s = CheckString(kFn, "incident_id", incident_id); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    auto state = rt->service->StateJson(incident_id);
    if (!state.ok()) return Fail(kFn, state.status());
    return CopyOut(kFn, *state, out, cap, needed);
  });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_list_json(lifeline_cascade_runtime_t* rt, char* out,
                                                                size_t cap, size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_list_json";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  return Guard(kFn, [&] { return CopyOut(kFn, rt->service->ListJson(), out, cap, needed); });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_metrics_json(lifeline_cascade_runtime_t* rt,
                                                                   char* out, size_t cap,
                                                                   size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_metrics_json";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  return Guard(kFn, [&] { return CopyOut(kFn, rt->service->MetricsJson(), out, cap, needed); });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_metrics_prometheus(lifeline_cascade_runtime_t* rt,
                                                                         char* out, size_t cap,
                                                                         size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_metrics_prometheus";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  return Guard(kFn, [&] { return CopyOut(kFn, rt->service->MetricsPrometheus(), out, cap, needed); });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_set_audit(lifeline_cascade_runtime_t* rt,
                                                               lifeline_audit_t* audit) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_set_audit";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  return Guard(kFn, [&] {
    return Fail(kFn, rt->service->SetAudit(audit != nullptr ? audit->log.get() : nullptr));
  });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_take_events(lifeline_cascade_runtime_t* rt,
                                                                 char* out, size_t cap,
                                                                 size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_take_events";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  return Guard(kFn, [&] {
    std::lock_guard<std::mutex> lock(rt->events_mu);
    if (!rt->events_stash) rt->events_stash = rt->service->TakeEventsJson();
    lifeline_status s = CopyOut(kFn, *rt->events_stash, out, cap, needed);
    if (s == LIFELINE_OK) rt->events_stash.reset();
    return s;
  });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_set_voice_originator(
    lifeline_cascade_runtime_t* rt, lifeline_voice_originator originator, void* user_data) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_set_voice_originator";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  return Guard(kFn, [&] {
    std::shared_ptr<lifeline::CallOriginator> o;
    if (originator != nullptr) o = std::make_shared<CVoiceOriginator>(originator, user_data);
    return Fail(kFn, rt->service->SetVoiceOriginator(std::move(o)));
  });
}

LIFELINE_API lifeline_status lifeline_cascade_runtime_voice_result(lifeline_cascade_runtime_t* rt,
                                                                   uint64_t message_id, int result_kind,
                                                                   const char* digits) {
  static constexpr const char* kFn = "lifeline_cascade_runtime_voice_result";
  LIFELINE_REQUIRE_NOT_NULL(kFn, rt);
  if (result_kind < LIFELINE_VOICE_ANSWERED || result_kind > LIFELINE_VOICE_FAILED) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "result_kind must be 0 (LIFELINE_VOICE_ANSWERED) .. 4 (LIFELINE_VOICE_FAILED)");
  }
  if (digits != nullptr) {
    if (lifeline_status s = CheckString(kFn, "digits", digits); s != LIFELINE_OK) return s;
  }
  return Guard(kFn, [&] {
    lifeline::OutboundCallResult result;
    result.outcome = static_cast<lifeline::OutboundCallOutcome>(result_kind);
    if (digits != nullptr) result.digits = digits;
    return Fail(kFn, rt->service->VoiceResult(message_id, result));
  });
}

}  // extern "C"
