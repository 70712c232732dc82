// cascade_json.cc -- see cascade_json.hpp.
#include "capi/cascade_json.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace lifeline::capi {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

void IncidentHeader(Writer& w, const IncidentCascade& inc) {
  Str(w, "incidentId", inc.trigger.incident_id);
  Str(w, "stakeholderGroupId", inc.trigger.stakeholder_group_id);
  Str(w, "severity", SeverityName(inc.trigger.severity));
  Str(w, "status", IncidentStatusName(inc.status));
  w.Key("startedAt");
  w.Int64(inc.started_at);
  w.Key("closedAt");
  if (inc.closed_at != 0) w.Int64(inc.closed_at);
  else w.Null();
}

}  // namespace

std::string CascadeStateJson(const CascadeEngine& engine, const IncidentCascade& inc,
                             std::optional<bool> duplicate) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  if (duplicate) {
    w.Key("duplicate");
    w.Bool(*duplicate);
  }
  IncidentHeader(w, inc);
  w.Key("requiredAcks");
  w.Int(inc.required_acks);
  w.Key("acknowledgedCount");
  w.Int(inc.acknowledged);
  w.Key("escalatedCount");
  w.Int(inc.escalated);
  w.Key("stakeholders");
  w.StartArray();
  for (const std::string& member : inc.member_ids) {
    const StakeholderCascade* s = engine.FindStakeholder(inc.trigger.incident_id, member);
    if (s == nullptr) continue;
    w.StartObject();
    Str(w, "incidentId", s->incident_id);
    Str(w, "stakeholderGroupId", s->stakeholder_group_id);
    Str(w, "memberId", s->member_id);
    w.Key("currentStep");
    w.Int(s->current_step);
    w.Key("lastAttemptedChannel");
    if (s->last_attempted_channel) w.String(ChannelName(*s->last_attempted_channel));
    else w.Null();
    w.Key("retryCount");
    w.Int(s->retry_count);
    w.Key("acknowledged");
    w.Bool(s->acknowledged);
    w.Key("nextEscalationTimestamp");
    if (s->next_escalation_at) w.Int64(*s->next_escalation_at);
    else w.Null();
    Str(w, "status", StakeholderStatusName(s->status));
    w.Key("staleContactData");
    w.Bool(s->stale_contact_data);
    w.Key("consecutiveFailures");
    w.Int(s->consecutive_failures);
    w.Key("attempts");
    w.StartArray();
    for (const auto& a : s->attempts) {
      w.StartObject();
      w.Key("id");
      w.Uint64(a.id);
      Str(w, "channel", ChannelName(a.channel));
      Str(w, "status", AttemptStatusName(a.status));
      w.Key("step");
      w.Int(a.step);
      w.Key("retry");
      w.Int(a.retry);
      w.Key("parallel");
      w.Bool(a.parallel);
      w.Key("escalation");
      w.Bool(a.escalation);
      w.Key("queuedAt");
      w.Int64(a.queued_at);
      w.Key("sentAt");
      if (a.sent_at != 0) w.Int64(a.sent_at);
      else w.Null();
      w.Key("settledAt");
      if (a.settled_at != 0) w.Int64(a.settled_at);
      else w.Null();
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string CascadeListJson(const CascadeEngine& engine) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const std::string& id : engine.IncidentIds()) {
    const IncidentCascade* inc = engine.FindIncident(id);
    if (inc == nullptr) continue;
    int stale = 0;
    for (const std::string& member : inc->member_ids) {
      const StakeholderCascade* s = engine.FindStakeholder(id, member);
      if (s != nullptr && s->stale_contact_data) ++stale;
    }
    w.StartObject();
    IncidentHeader(w, *inc);
    w.Key("stakeholderCount");
    w.Uint64(inc->member_ids.size());
    w.Key("requiredAcks");
    w.Int(inc->required_acks);
    w.Key("acknowledgedCount");
    w.Int(inc->acknowledged);
    w.Key("escalatedCount");
    w.Int(inc->escalated);
    w.Key("staleContactCount");
    w.Int(stale);
    w.EndObject();
  }
  w.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string CascadeEventsJson(const std::vector<CascadeEvent>& events) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const CascadeEvent& e : events) {
    w.StartObject();
    Str(w, "type", CascadeEventName(e.type));
    w.Key("at");
    w.Int64(e.at);
    Str(w, "incidentId", e.incident_id);
    Str(w, "groupId", e.group_id);
    Str(w, "memberId", e.member_id);
    w.Key("channel");
    if (e.channel) w.String(ChannelName(*e.channel));
    else w.Null();
    w.Key("attemptId");
    w.Uint64(e.attempt_id);
    Str(w, "detail", e.detail);
    w.Key("staleContactData");
    w.Bool(e.stale_contact_data);
    w.Key("recovered");
    w.Bool(e.recovered);
    w.EndObject();
  }
  w.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace lifeline::capi
