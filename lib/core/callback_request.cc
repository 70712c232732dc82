#include "lifeline/callback_request.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json_config.hpp"

namespace lifeline {

Result<CallbackSubmission> ParseCallbackSubmission(std::string_view json) {
  JsonConfig doc;
  Status parsed = doc.Parse(json);
  if (!parsed.ok()) {
    return InvalidArgument("request " + parsed.message().substr(parsed.message().find(' ') + 1));
  }
  ConfigObject root = doc.Root();
  CallbackSubmission s;
  root.String("callerPhone", &s.caller_phone);
  root.String("originalQueueId", &s.original_queue_id);
  std::string time, zone;
  if (root.Has("callbackTime")) {
    root.String("callbackTime", &time);
    s.callback_time = time;
  }
  if (root.Has("callbackTimeZone")) {
    root.String("callbackTimeZone", &zone);
    s.callback_time_zone = zone;
  }
  root.String("flowName", &s.flow_name);
  root.String("callId", &s.call_id);
  root.String("callerName", &s.caller_name);
  root.StringMap("contextData", &s.context);
  Status status = root.Finish();
  if (!status.ok()) return status;
  if (s.caller_phone.empty()) return InvalidArgument("callerPhone: required");
  if (s.original_queue_id.empty()) return InvalidArgument("originalQueueId: required");
  if (s.callback_time_zone && !s.callback_time) {
    return InvalidArgument("callbackTimeZone: given without callbackTime");
  }
  return s;
}

std::string CallbackRequestToJson(const CallbackRequest& r) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("requestId");
  w.String(r.request_id.c_str(), r.request_id.size());
  w.Key("callerPhone");
  w.String(r.caller_e164.c_str(), r.caller_e164.size());
  w.Key("originalQueueId");
  w.String(r.original_queue_id.c_str(), r.original_queue_id.size());
  w.Key("flowName");
  w.String(r.flow_name.c_str(), r.flow_name.size());
  w.Key("callId");
  w.String(r.call_id.c_str(), r.call_id.size());
  w.Key("callerName");
  w.String(r.caller_name.c_str(), r.caller_name.size());
  if (r.scheduled_at) {
    w.Key("scheduledAt");
    w.Int64(*r.scheduled_at);
  }
  w.Key("submittedAt");
  w.Int64(r.submitted_at);
  w.Key("contextData");
  w.StartObject();
  for (const auto& [key, value] : r.context) {
    w.Key(key.c_str(), key.size());
    w.String(value.c_str(), value.size());
  }
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<CallbackRequest> CallbackRequestFromJson(std::string_view json) {
  JsonConfig doc;
  Status parsed = doc.Parse(json);
  if (!parsed.ok()) return parsed;
  ConfigObject root = doc.Root();
  CallbackRequest r;
  root.String("requestId", &r.request_id);
  root.String("callerPhone", &r.caller_e164);
  root.String("originalQueueId", &r.original_queue_id);
  root.String("flowName", &r.flow_name);
  root.String("callId", &r.call_id);
  root.String("callerName", &r.caller_name);
  if (root.Has("scheduledAt")) {
    int64_t at = 0;
    root.Int("scheduledAt", &at, INT64_MIN, INT64_MAX);
    r.scheduled_at = at;
  }
  root.Int("submittedAt", &r.submitted_at, INT64_MIN, INT64_MAX);
  root.StringMap("contextData", &r.context);
  Status status = root.Finish();
  if (!status.ok()) return status;
  return r;
}

}  // namespace lifeline
