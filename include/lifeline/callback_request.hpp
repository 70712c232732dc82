// callback_request.hpp -- one caller's request to be called back.
//
// Overview: a `CallbackRequest` is what the emergency flow (or a host calling
// `lifeline_callback_submit`) captured about a caller, already normalised:
// the number in E.164, the requested time in UTC and inside business hours,
// and the request id that makes the submission idempotent. It is what the
// durable outbox stores and what every platform client renders into its own
// wire format.
//
// The JSON accepted from hosts uses the seed guide's names:
//
//   {"callerPhone": "+1 212 555 0100", "originalQueueId": "q-support",
//    "callbackTime": "2026-03-08T09:30:00-05:00",   // RFC 3339; absent = ASAP
//    "flowName": "Main_IVR", "callId": "c-42", "callerName": "...",
//    "contextData": {"account": "A-1"}}
//
// `callbackTime` may also be a local wall time ("2026-03-08T02:30") when
// `callbackTimeZone` names its IANA zone; it is then resolved with the
// engine's gap and overlap policies.
#ifndef LIFELINE_CALLBACK_REQUEST_HPP_
#define LIFELINE_CALLBACK_REQUEST_HPP_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// A request as the host sent it, validated for shape but not yet normalised.
struct CallbackSubmission {
  std::string caller_phone;        // raw ANI or keyed-in digits
  std::string original_queue_id;
  std::optional<std::string> callback_time;       // RFC 3339, or local with a zone
  std::optional<std::string> callback_time_zone;  // IANA name for a local time
  std::string flow_name;
  std::string call_id;
  std::string caller_name;
  std::vector<std::pair<std::string, std::string>> context;
};

// A normalised request, ready for the outbox.
struct CallbackRequest {
  std::string request_id;          // keyed hash, hex; travels to the platform
  std::string caller_e164;         // "+12125550100"
  std::string original_queue_id;
  std::string flow_name;
  std::string call_id;
  std::string caller_name;
  std::optional<UnixMillis> scheduled_at;  // UTC; nullopt = as soon as possible
  UnixMillis submitted_at = 0;
  std::vector<std::pair<std::string, std::string>> context;
};

// Parses the host's request JSON. Unknown keys, wrong types, a missing
// `callerPhone` or `originalQueueId`, or invalid UTF-8 are InvalidArgument,
// naming the key.
Result<CallbackSubmission> ParseCallbackSubmission(std::string_view json);

// The outbox payload form of a normalised request, and back.
std::string CallbackRequestToJson(const CallbackRequest& request);
Result<CallbackRequest> CallbackRequestFromJson(std::string_view json);

}  // namespace lifeline

#endif  // LIFELINE_CALLBACK_REQUEST_HPP_
