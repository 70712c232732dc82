// cascade_service.hpp -- a notification cascade runtime assembled from JSON.
//
// Overview: the object behind the C ABI's lifeline_cascade_runtime_t. From
// one JSON configuration (every key in docs/cascade.md, "Runtime
// configuration") it builds the stakeholder directory, the optional live
// directory lookup over HTTP, the SQLite store (DurableCascade), the libcurl
// transport, the channel adapters (Twilio SMS and Voice, or voice through
// the host's PBX; SendGrid, FCM, webhook), the email acknowledgement tokens,
// the trigger authenticator and the CascadeRuntime with its one background
// thread, and it adds the inbound side a host's web server needs:
//
//   TriggerHttp            an authenticated trigger (HMAC-SHA256 or bearer)
//   IngestProviderCallback Twilio status callbacks, inbound SMS replies and
//                          <Gather> digits (signature checked), SendGrid
//                          Event Webhook batches (ECDSA signature checked
//                          when channels.sendgrid.webhook_public_key is set)
//   AckLink                the single-use token of an email's link (single
//                          use across restarts: redemptions are stored)
//   VoiceResult            how a PBX call ended (with "channels.voice.via":
//                          "pbx"; calls go out through the originator set
//                          by SetVoiceOriginator)
//
// Example:
//
//   auto service = lifeline::CascadeService::Open(config_json, clock);
//   if (!service.ok()) return service.status();
//   auto state = (*service)->Trigger(trigger_json);        // JSON with "duplicate"
//   (*service)->IngestProviderCallback("twilio", "POST", url, headers, body);
//
// Thread-safety: every method may be called from any thread; destruction
// must not race with other calls.
#ifndef LIFELINE_LIB_CASCADE_CASCADE_SERVICE_HPP_
#define LIFELINE_LIB_CASCADE_CASCADE_SERVICE_HPP_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lifeline/audit_sink.hpp"
#include "lifeline/clock.hpp"
#include "lifeline/http_transport.hpp"
#include "lifeline/outbound_call.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

class CascadeService {
 public:
  // Parses the configuration, opens (and replays) the store, starts the
  // thread. `clock` null: the system clock.
  static Result<std::unique_ptr<CascadeService>> Open(std::string_view config_json,
                                                      std::shared_ptr<Clock> clock);
  ~CascadeService();   // stops the thread after the sends in flight
  CascadeService(const CascadeService&) = delete;
  CascadeService& operator=(const CascadeService&) = delete;

  // See CascadeRuntime::Settle.
  Status Settle(DurationMillis timeout_ms);

  // Starts (or, idempotently, returns) a cascade; the answer is the state
  // JSON with a leading "duplicate". InvalidArgument for a malformed trigger,
  // NotFound for an unknown group.
  Result<std::string> Trigger(std::string_view trigger_json);
  // The same after authenticating the request: kUnauthenticated when the
  // bearer token or the signature is missing, wrong, outside the replay
  // window or replayed; InvalidArgument for a method other than POST.
  Result<std::string> TriggerHttp(std::string_view method, std::string_view url,
                                  const HttpHeaders& headers, std::string_view body);

  // channel: "" (the API) or a channel name recorded with the ack.
  Status Acknowledge(const std::string& incident_id, const std::string& member_id,
                     const std::string& channel);
  Status CloseIncident(const std::string& incident_id);

  // provider "twilio" (form POST, X-Twilio-Signature checked against the
  // full `url`) or "sendgrid" (a JSON array of events; with a
  // webhook_public_key, the Signed Event Webhook headers are checked against
  // the raw `body`: kUnauthenticated when missing, stale or wrong; without
  // one, accepted unsigned and counted in unsigned_sendgrid_webhooks). An
  // SMS reply is matched to its member through the store, so replies to
  // messages sent before a restart still acknowledge. The answer is JSON
  // describing what was applied: {"kind": "status" | "reply" | "gather" |
  // "events", "acknowledged": bool, "applied": n, "ignored": n}.
  Result<std::string> IngestProviderCallback(std::string_view provider, std::string_view method,
                                             std::string_view url, const HttpHeaders& headers,
                                             std::string_view body);

  // Redeems an email link's token: the stakeholder acknowledges. The answer
  // is {"incidentId", "memberId"}. kUnauthenticated for a forged or
  // malformed token, kTimeout when expired, kDuplicate when already used
  // (also by an earlier process on the same store file). A token whose
  // acknowledgement is refused (NotFound: the incident was forgotten) is not
  // used up.
  Result<std::string> AckLink(std::string_view token);

  // Records every cascade event in `audit` (not owned; keep it open until
  // the service is closed or another sink is set; nullptr detaches). Until
  // an event is recorded, no message goes out (see CascadeEventRelay).
  Status SetAudit(AuditSink* audit);

  // The events since the last call, as the JSON array of
  // lifeline_cascade_take_events.
  std::string TakeEventsJson();

  // The host's PBX (see lifeline/outbound_call.hpp and
  // telephony/pbx_voice_sender.hpp); null removes it, and voice calls fail
  // (the retry rule applies) until one is set. It is called on the
  // runtime's thread; once this returns the previous one is not called
  // again. kState unless "channels.voice.via" is "pbx".
  Status SetVoiceOriginator(std::shared_ptr<CallOriginator> originator);

  // How a PBX call ended, reported by the message id of its request: the
  // receipt AttemptStatusOf(result, ack_digit). kState unless voice goes to
  // the PBX, InvalidArgument for a bad result (ValidateOutboundCallResult),
  // NotFound for an unknown message id or one that is not a voice call.
  // Late and duplicate results are OK and change nothing.
  Status VoiceResult(std::uint64_t message_id, const OutboundCallResult& result);

  Result<std::string> StateJson(const std::string& incident_id);
  std::string ListJson();
  std::string MetricsJson();
  std::string MetricsPrometheus();

 private:
  struct Impl;
  explicit CascadeService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_CASCADE_CASCADE_SERVICE_HPP_
