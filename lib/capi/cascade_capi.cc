// C ABI over lifeline::CascadeEngine (see the "Notification cascades"
// section of lifeline.h).
#include <memory>
#include <string>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "capi/capi_support.hpp"
#include "capi/cascade_handle.hpp"
#include "capi/cascade_json.hpp"
#include "lifeline/cascade_engine.hpp"

using lifeline::AttemptStatus;
using lifeline::CascadeConfig;
using lifeline::CascadeEngine;
using lifeline::ChannelName;
using lifeline::SendResult;
using lifeline::StakeholderDirectory;
using lifeline::capi::CheckString;
using lifeline::capi::CopyOut;
using lifeline::capi::Fail;
using lifeline::capi::Guard;

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string OutboundJson(const std::vector<lifeline::OutboundMessage>& messages) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const auto& m : messages) {
    w.StartObject();
    w.Key("messageId");
    w.Uint64(m.message_id);
    Str(w, "incidentId", m.incident_id);
    Str(w, "memberId", m.member_id);
    Str(w, "channel", ChannelName(m.channel));
    Str(w, "endpoint", m.endpoint);
    Str(w, "address", m.address);
    Str(w, "text", m.text);
    Str(w, "severity", lifeline::SeverityName(m.severity));
    w.Key("escalation");
    w.Bool(m.escalation);
    w.EndObject();
  }
  w.EndArray();
  return buffer.GetString();
}

bool ReceiptStatusOk(int s) {
  return s == LIFELINE_ATTEMPT_PENDING || s == LIFELINE_ATTEMPT_DELIVERED ||
         s == LIFELINE_ATTEMPT_ACKNOWLEDGED || s == LIFELINE_ATTEMPT_FAILED ||
         s == LIFELINE_ATTEMPT_UNREACHABLE;
}

// Copies the stash out; clears it on success.
lifeline_status Drain(const char* fn, std::optional<std::string>* stash, char* out, size_t cap,
                      size_t* needed) {
  lifeline_status s = CopyOut(fn, **stash, out, cap, needed);
  if (s == LIFELINE_OK) stash->reset();
  return s;
}

}  // namespace

static_assert(static_cast<int>(AttemptStatus::kSent) == LIFELINE_ATTEMPT_PENDING);
static_assert(static_cast<int>(AttemptStatus::kCancelled) == LIFELINE_ATTEMPT_CANCELLED);
static_assert(static_cast<int>(AttemptStatus::kUnreachable) == LIFELINE_ATTEMPT_UNREACHABLE);

extern "C" {

LIFELINE_API lifeline_status lifeline_cascade_new(const char* directory_json, const char* config_json,
                                                  int64_t now_ms, lifeline_cascade_t** out) {
  static constexpr const char* kFn = "lifeline_cascade_new";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  if (lifeline_status s = CheckString(kFn, "directory_json", directory_json); s != LIFELINE_OK) return s;
  if (config_json != nullptr) {
    if (lifeline_status s = CheckString(kFn, "config_json", config_json); s != LIFELINE_OK) return s;
  }
  if (now_ms < 0) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "now_ms must be >= 0");
  return Guard(kFn, [&] {
    auto dir = StakeholderDirectory::FromJson(directory_json);
    if (!dir.ok()) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "directory_json: " + dir.status().message());
    auto config = CascadeConfig::FromJson(config_json == nullptr ? "" : config_json);
    if (!config.ok()) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "config_json: " + config.status().message());
    auto handle = std::make_unique<lifeline_cascade_t>();
    handle->directory = std::move(dir).value();
    handle->engine = std::make_unique<CascadeEngine>(std::move(config).value(), &handle->directory,
                                                     nullptr, &handle->sink, now_ms);
    *out = handle.release();
    return LIFELINE_OK;
  });
}

LIFELINE_API void lifeline_cascade_free(lifeline_cascade_t* cascade) { delete cascade; }

LIFELINE_API lifeline_status lifeline_cascade_trigger(lifeline_cascade_t* cascade, const char* trigger_json,
                                                      int64_t now_ms, int* out_duplicate) {
  static constexpr const char* kFn = "lifeline_cascade_trigger";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_duplicate);
  if (lifeline_status s = CheckString(kFn, "trigger_json", trigger_json); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    auto trigger = lifeline::ParseCascadeTrigger(trigger_json);
    if (!trigger.ok()) return Fail(kFn, trigger.status());
    auto result = cascade->engine->Trigger(*trigger, now_ms);
    if (!result.ok()) return Fail(kFn, result.status());
    *out_duplicate = result->duplicate ? 1 : 0;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_cascade_take_outbound(lifeline_cascade_t* cascade, int64_t now_ms,
                                                            char* out, size_t cap, size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_take_outbound";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    if (!cascade->outbound_stash) {
      cascade->outbound_stash = OutboundJson(cascade->engine->TakeOutbound(now_ms));
    }
    return Drain(kFn, &cascade->outbound_stash, out, cap, needed);
  });
}

LIFELINE_API lifeline_status lifeline_cascade_on_send_result(lifeline_cascade_t* cascade, uint64_t message_id,
                                                             int result, /* a lifeline_send_result */
                                                             const char* provider_ref,
                                                             int64_t retry_after_ms, int64_t now_ms) {
  static constexpr const char* kFn = "lifeline_cascade_on_send_result";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  if (provider_ref != nullptr) {
    if (lifeline_status s = CheckString(kFn, "provider_ref", provider_ref); s != LIFELINE_OK) return s;
  }
  if (static_cast<int>(result) < LIFELINE_SEND_ACCEPTED || static_cast<int>(result) > LIFELINE_SEND_THROTTLED) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "result must be a lifeline_send_result value");
  }
  if (retry_after_ms < 0) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "retry_after_ms must be >= 0");
  return Guard(kFn, [&] {
    SendResult r;
    r.kind = static_cast<SendResult::Kind>(static_cast<int>(result));
    if (provider_ref != nullptr) r.provider_ref = provider_ref;
    r.retry_after_ms = retry_after_ms;
    return Fail(kFn, cascade->engine->OnSendResult(message_id, r, now_ms));
  });
}

LIFELINE_API lifeline_status lifeline_cascade_on_receipt(lifeline_cascade_t* cascade, uint64_t message_id,
                                                         int status, /* a lifeline_attempt_status */ int64_t now_ms) {
  static constexpr const char* kFn = "lifeline_cascade_on_receipt";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  if (!ReceiptStatusOk(status)) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "status must be PENDING, DELIVERED, ACKNOWLEDGED, FAILED or UNREACHABLE");
  }
  return Guard(kFn, [&] {
    return Fail(kFn, cascade->engine->OnReceipt(message_id, static_cast<AttemptStatus>(status), now_ms));
  });
}

LIFELINE_API lifeline_status lifeline_cascade_on_provider_receipt(lifeline_cascade_t* cascade,
                                                                  const char* provider_ref,
                                                                  int status, /* a lifeline_attempt_status */
                                                                  int64_t now_ms) {
  static constexpr const char* kFn = "lifeline_cascade_on_provider_receipt";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  if (lifeline_status s = CheckString(kFn, "provider_ref", provider_ref); s != LIFELINE_OK) return s;
  if (!ReceiptStatusOk(status)) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "status must be PENDING, DELIVERED, ACKNOWLEDGED, FAILED or UNREACHABLE");
  }
  return Guard(kFn, [&] {
    return Fail(kFn, cascade->engine->OnProviderReceipt(provider_ref, static_cast<AttemptStatus>(status), now_ms));
  });
}

LIFELINE_API lifeline_status lifeline_cascade_acknowledge(lifeline_cascade_t* cascade, const char* incident_id,
                                                          const char* member_id, int64_t now_ms) {
  static constexpr const char* kFn = "lifeline_cascade_acknowledge";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  if (lifeline_status s = CheckString(kFn, "incident_id", incident_id); s != LIFELINE_OK) return s;
  if (lifeline_status s = CheckString(kFn, "member_id", member_id); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    return Fail(kFn, cascade->engine->Acknowledge(incident_id, member_id, std::nullopt, now_ms));
  });
}

LIFELINE_API lifeline_status lifeline_cascade_close(lifeline_cascade_t* cascade, const char* incident_id,
                                                    int64_t now_ms) {
  static constexpr const char* kFn = "lifeline_cascade_close";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  if (lifeline_status s = CheckString(kFn, "incident_id", incident_id); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] { return Fail(kFn, cascade->engine->CloseIncident(incident_id, now_ms)); });
}

LIFELINE_API lifeline_status lifeline_cascade_on_timer(lifeline_cascade_t* cascade, int64_t now_ms) {
  static constexpr const char* kFn = "lifeline_cascade_on_timer";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  return Guard(kFn, [&] {
    cascade->engine->OnTimer(now_ms);
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_cascade_next_deadline(const lifeline_cascade_t* cascade,
                                                            int64_t* out_unix_ms, int* out_has) {
  static constexpr const char* kFn = "lifeline_cascade_next_deadline";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_unix_ms);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_has);
  return Guard(kFn, [&] {
    auto next = cascade->engine->NextDeadline();
    *out_has = next ? 1 : 0;
    if (next) *out_unix_ms = *next;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_cascade_state_json(const lifeline_cascade_t* cascade,
                                                         const char* incident_id, char* out, size_t cap,
                                                         size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_state_json";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  if (lifeline_status s = CheckString(kFn, "incident_id", incident_id); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    const lifeline::IncidentCascade* inc = cascade->engine->FindIncident(incident_id);
    if (inc == nullptr) return Fail(kFn, LIFELINE_E_NOT_FOUND, "incident_id: unknown incident");
    return CopyOut(kFn, lifeline::capi::CascadeStateJson(*cascade->engine, *inc), out, cap, needed);
  });
}

LIFELINE_API lifeline_status lifeline_cascade_take_events(lifeline_cascade_t* cascade, char* out, size_t cap,
                                                          size_t* needed) {
  static constexpr const char* kFn = "lifeline_cascade_take_events";
  LIFELINE_REQUIRE_NOT_NULL(kFn, cascade);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    if (!cascade->events_stash) {
      cascade->events_stash = lifeline::capi::CascadeEventsJson(
          {cascade->sink.events.begin(), cascade->sink.events.end()});
      cascade->sink.events.clear();
    }
    return Drain(kFn, &cascade->events_stash, out, cap, needed);
  });
}

}  // extern "C"
