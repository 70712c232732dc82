// cascade_inbound.hpp -- what providers and trigger sources send back.
//
// Overview: the pure parsing and authentication of inbound HTTP requests for
// the cascade; the runtime (lib/cascade/cascade_runtime.hpp) feeds the
// results to the engine.
//
//   - Twilio request signature: base64(HMAC-SHA1(auth token, full URL + each
//     POST parameter name and value, sorted by name)), compared in constant
//     time with X-Twilio-Signature.
//   - Twilio statuses: messages queued/accepted/scheduled/sending/sent stay
//     pending, delivered/read DELIVERED, undelivered/failed FAILED; calls
//     queued/initiated/ringing/in-progress pending, completed DELIVERED,
//     busy/no-answer/canceled FAILED, failed UNREACHABLE.
//   - SMS replies: "1" or "ACK <code>" (case-insensitive, trimmed)
//     acknowledge; anything else is not an acknowledgement.
//   - SendGrid Event Webhook: a JSON array; delivered DELIVERED, bounce and
//     dropped FAILED, processed/deferred pending (ignored); other (engagement)
//     events ignored. Each event is matched by custom_args
//     lifeline_message_id, else by sg_message_id up to its first '.' (the
//     X-Message-Id of the send).
//   - SendGrid Signed Event Webhook: SendGrid signs each POST with ECDSA
//     (P-256, SHA-256) over the X-Twilio-Email-Event-Webhook-Timestamp
//     header's value (Unix seconds, as sent) followed by the raw body bytes;
//     X-Twilio-Email-Event-Webhook-Signature is base64 of the DER signature;
//     the verification key is the base64 DER public key SendGrid shows in
//     its Event Webhook settings. Checked within a replay window (default
//     5 min) around now.
//   - Triggers over HTTP: "Authorization: Bearer <token>", or
//     "X-Lifeline-Timestamp: <unix seconds>" and "X-Lifeline-Signature:
//     v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>", within a replay
//     window (default 5 min) and never the same signature twice in it.
#ifndef LIFELINE_LIB_PROVIDERS_CASCADE_INBOUND_HPP_
#define LIFELINE_LIB_PROVIDERS_CASCADE_INBOUND_HPP_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/cascade_engine.hpp"
#include "lifeline/http_transport.hpp"
#include "lifeline/status.hpp"
#include "providers/provider_crypto.hpp"

namespace lifeline {

using FormParams = std::vector<std::pair<std::string, std::string>>;

std::string TwilioSignature(std::string_view auth_token, std::string_view url, const FormParams& params);
bool ValidTwilioSignature(std::string_view auth_token, std::string_view url, const FormParams& params,
                          std::string_view signature);

// nullopt for an unknown status. kSent means "still pending".
std::optional<AttemptStatus> MapTwilioMessageStatus(std::string_view status);
std::optional<AttemptStatus> MapTwilioCallStatus(std::string_view status);

struct SmsReply {
  bool acknowledges = false;
  std::string code;   // the <code> of "ACK <code>", "" for "1"
};
SmsReply ParseSmsReply(std::string_view body);

struct SendGridEvent {
  std::uint64_t message_id = 0;   // from custom_args, 0 when absent
  std::string provider_ref;       // sg_message_id up to the first '.'
  std::optional<AttemptStatus> status;  // nullopt: pending or not a delivery event
};
// InvalidArgument when the body is not a JSON array of objects.
Result<std::vector<SendGridEvent>> ParseSendGridEvents(std::string_view body);

inline constexpr char kSendGridSignatureHeader[] = "X-Twilio-Email-Event-Webhook-Signature";
inline constexpr char kSendGridTimestampHeader[] = "X-Twilio-Email-Event-Webhook-Timestamp";

struct SendGridWebhookOptions {
  // The verification key as SendGrid shows it: base64 of the DER
  // SubjectPublicKeyInfo of a P-256 key. A PEM block ("-----BEGIN PUBLIC
  // KEY-----" ...) and surrounding whitespace are accepted too.
  std::string public_key;
  // A request is accepted when its timestamp is within this much of now,
  // either way.
  DurationMillis replay_window_ms = 300'000;
};

// Checks SendGrid's Signed Event Webhook (see the file comment). Immutable
// after Create: Verify may run on several threads at once.
//
// There is no memory of signatures already seen: ECDSA signatures are
// malleable (the same request can carry several valid signatures), and a
// replayed batch within the window is harmless, since receipts only ever
// move an attempt forward.
class SendGridWebhookVerifier {
 public:
  // InvalidArgument when the key is not a base64 (or PEM) P-256 public key.
  static Result<SendGridWebhookVerifier> Create(SendGridWebhookOptions options);

  // OK, or kUnauthenticated "sendgrid event webhook: ..." naming the reason
  // (a header missing, a bad timestamp, a timestamp outside the replay
  // window, a signature that is not base64, one that does not verify) and
  // never the request's contents.
  Status Verify(const HttpHeaders& headers, std::string_view body, UnixMillis now) const;

 private:
  SendGridWebhookVerifier(EcdsaP256PublicKey key, DurationMillis window)
      : key_(std::move(key)), replay_window_ms_(window) {}
  EcdsaP256PublicKey key_;
  DurationMillis replay_window_ms_;
};

struct TriggerAuthOptions {
  std::string hmac_secret;    // "" disables signatures
  std::string bearer_token;   // "" disables bearer tokens
  DurationMillis replay_window_ms = 300'000;
};

class TriggerAuthenticator {
 public:
  explicit TriggerAuthenticator(TriggerAuthOptions options) : options_(std::move(options)) {}
  // OK, or kInvalidArgument ("trigger authentication failed: ...") without
  // ever saying which byte differed.
  Status Verify(const HttpHeaders& headers, std::string_view body, UnixMillis now);
  // What a sender puts in X-Lifeline-Signature (for clients and tests).
  static std::string Sign(std::string_view secret, std::string_view timestamp, std::string_view body);

 private:
  TriggerAuthOptions options_;
  std::mutex mu_;
  std::map<std::string, UnixMillis> seen_;   // signature -> expiry
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_PROVIDERS_CASCADE_INBOUND_HPP_
