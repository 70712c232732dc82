// cascade_json.hpp -- the JSON the C ABI returns for cascades.
//
// Shared by the sans-I/O engine's ABI (cascade_capi.cc) and the runtime's
// (cascade_runtime_capi.cc), so both describe a cascade the same way. Never
// includes an address or message text (PII).
#ifndef LIFELINE_LIB_CAPI_CASCADE_JSON_HPP_
#define LIFELINE_LIB_CAPI_CASCADE_JSON_HPP_

#include <optional>
#include <string>
#include <vector>

#include "lifeline/cascade_engine.hpp"
#include "lifeline/cascade_events.hpp"

namespace lifeline::capi {

// One incident's state: {"incidentId", "stakeholderGroupId", "severity",
// "status", "startedAt", "closedAt", "requiredAcks", "acknowledgedCount",
// "escalatedCount", "stakeholders": [the seed schema per stakeholder plus
// "status", "staleContactData", "consecutiveFailures", "attempts"]}. With
// `duplicate`, a leading "duplicate": bool (the trigger's answer).
std::string CascadeStateJson(const CascadeEngine& engine, const IncidentCascade& inc,
                             std::optional<bool> duplicate = std::nullopt);

// Every incident the engine knows, without the per-stakeholder detail:
// [{"incidentId", "stakeholderGroupId", "severity", "status", "startedAt",
// "closedAt", "stakeholderCount", "requiredAcks", "acknowledgedCount",
// "escalatedCount", "staleContactCount"}], sorted by incidentId.
std::string CascadeListJson(const CascadeEngine& engine);

// Events as a JSON array of {"type", "at", "incidentId", "groupId",
// "memberId", "channel" (null when none), "attemptId", "detail",
// "staleContactData"}, in the given order.
std::string CascadeEventsJson(const std::vector<CascadeEvent>& events);

}  // namespace lifeline::capi

#endif  // LIFELINE_LIB_CAPI_CASCADE_JSON_HPP_
