// channel_senders.hpp -- the cascade's channel adapters over HttpTransport.
//
// Overview: a `ChannelSender` turns one `OutboundMessage` from
// `CascadeEngine::TakeOutbound` into one provider request and reports the
// provider's synchronous answer as a `SendResult` (exactly once, on the
// transport's thread). Delivery receipts arrive later through the inbound
// helpers (providers/cascade_inbound.hpp).
//
//   TwilioSmsSender     POST {base}/2010-04-01/Accounts/{Sid}/Messages.json
//                       form: To, From, Body, StatusCallback; Basic auth
//   TwilioVoiceSender   POST {base}/2010-04-01/Accounts/{Sid}/Calls.json
//                       form: To, From, Twiml (<Gather numDigits="1"> + <Say>),
//                       StatusCallback; Basic auth
//   SendGridEmailSender POST {base}/v3/mail/send, Bearer key, JSON; 202 ->
//                       accepted with X-Message-Id; body carries a signed
//                       single-use acknowledgement link
//   FcmPushSender       POST {base}/v1/projects/{project}/messages:send,
//                       Bearer token from an AccessTokenProvider
//   WebhookSender       POST <member's webhook URL>, JSON; 2xx = delivered
//
// Answers, for every adapter: 2xx accepted (the provider's id becomes the
// attempt's provider reference); 429 (and Twilio error 20429) throttled with
// the Retry-After; Twilio 21211/21614/21610 and FCM UNREGISTERED/404
// unreachable; any other status or a transport error failed (the engine's
// retry rule applies). Base URLs are overridable (tests point them at
// loopback fakes). No address or message text is ever put in an error
// message or a log.
#ifndef LIFELINE_LIB_PROVIDERS_CHANNEL_SENDERS_HPP_
#define LIFELINE_LIB_PROVIDERS_CHANNEL_SENDERS_HPP_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>

#include "lifeline/cascade_engine.hpp"
#include "lifeline/clock.hpp"
#include "lifeline/http_transport.hpp"
#include "providers/sms_segments.hpp"

namespace lifeline {

using SendCallback = std::function<void(SendResult)>;

class ChannelSender {
 public:
  virtual ~ChannelSender() = default;
  // Starts the send; `done` runs exactly once, possibly on another thread.
  virtual void Send(const OutboundMessage& message, SendCallback done) = 0;
};

// The common mapping of an HTTP answer (see the file comment). `ref` is the
// provider's id, used for kAccepted.
SendResult MapProviderResponse(const HttpResponse& response, std::string ref, UnixMillis now);

struct TwilioOptions {
  std::string base_url = "https://api.twilio.com";
  std::string account_sid;
  std::string auth_token;
  std::string from;                  // E.164 sender (or a Messaging Service is not supported)
  std::string status_callback_url;   // receives MessageStatus / CallStatus
  std::string gather_action_url;     // voice: receives Digits ("?m=<message_id>" appended)
  SmsOverflow overflow = SmsOverflow::kTruncate;
  int max_segments = 3;
  DurationMillis timeout_ms = 10'000;
};

class TwilioSmsSender : public ChannelSender {
 public:
  TwilioSmsSender(TwilioOptions options, HttpTransport* transport, const Clock* clock)
      : options_(std::move(options)), transport_(transport), clock_(clock) {}
  void Send(const OutboundMessage& message, SendCallback done) override;

 private:
  TwilioOptions options_;
  HttpTransport* transport_;
  const Clock* clock_;
};

class TwilioVoiceSender : public ChannelSender {
 public:
  TwilioVoiceSender(TwilioOptions options, HttpTransport* transport, const Clock* clock)
      : options_(std::move(options)), transport_(transport), clock_(clock) {}
  void Send(const OutboundMessage& message, SendCallback done) override;
  // The TwiML for `message` (exposed for tests).
  std::string Twiml(const OutboundMessage& message) const;

 private:
  TwilioOptions options_;
  HttpTransport* transport_;
  const Clock* clock_;
};

// Signs and checks the single-use acknowledgement tokens carried by emails:
// base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload))),
// payload = incident "\n" member "\n" message_id "\n" expires_at_ms.
//
// Single use: `Redeem` remembers used tokens in memory (until their expiry),
// which is enough for one process. A host that restarts records redemptions
// durably instead: `Verify`, then its store (the cascade runtime uses
// `DurableCascade::AcknowledgeOnce`, keyed by `Claim::mac`).
class AckTokens {
 public:
  explicit AckTokens(std::string key, DurationMillis lifetime_ms = 24 * 3600 * 1000LL)
      : key_(std::move(key)), lifetime_ms_(lifetime_ms) {}
  std::string Sign(const OutboundMessage& message, UnixMillis now) const;
  struct Claim {
    std::string incident_id;
    std::string member_id;
    std::uint64_t message_id = 0;
    std::string mac;            // the token's MAC part: identifies the token
    UnixMillis expires_at = 0;  // after this the token is refused anyway
  };
  // Checks the signature and the expiry, nothing else: kInvalidArgument for
  // a malformed or forged token (compared in constant time), kTimeout when
  // expired. Thread-safe.
  Result<Claim> Verify(std::string_view token, UnixMillis now) const;
  // Verify, then single use in memory: kDuplicate when already used by this
  // object.
  Result<Claim> Redeem(std::string_view token, UnixMillis now);

 private:
  std::string key_;
  DurationMillis lifetime_ms_;
  std::mutex mu_;
  std::map<std::string, UnixMillis> used_;  // MAC -> expiry
};

struct SendGridOptions {
  std::string base_url = "https://api.sendgrid.com";
  std::string api_key;
  std::string from_email;
  std::string from_name = "Lifeline";
  std::string subject = "Incident notification: acknowledgement requested";
  std::string ack_url;   // e.g. https://host/lifeline/ack ; "?token=..." appended
  DurationMillis timeout_ms = 10'000;
};

class SendGridEmailSender : public ChannelSender {
 public:
  SendGridEmailSender(SendGridOptions options, HttpTransport* transport, const Clock* clock,
                      AckTokens* tokens)
      : options_(std::move(options)), transport_(transport), clock_(clock), tokens_(tokens) {}
  void Send(const OutboundMessage& message, SendCallback done) override;

 private:
  SendGridOptions options_;
  HttpTransport* transport_;
  const Clock* clock_;
  AckTokens* tokens_;
};

// The OAuth 2.0 access token for FCM (the service-account JWT exchange is
// the host's business).
class AccessTokenProvider {
 public:
  virtual ~AccessTokenProvider() = default;
  virtual Result<std::string> AccessToken() = 0;
};

class StaticAccessTokenProvider : public AccessTokenProvider {
 public:
  explicit StaticAccessTokenProvider(std::string token) : token_(std::move(token)) {}
  Result<std::string> AccessToken() override { return token_; }

 private:
  std::string token_;
};

struct FcmOptions {
  std::string base_url = "https://fcm.googleapis.com";
  std::string project_id;
  std::string title = "Incident notification";
  DurationMillis timeout_ms = 10'000;
};

class FcmPushSender : public ChannelSender {
 public:
  FcmPushSender(FcmOptions options, HttpTransport* transport, const Clock* clock,
                AccessTokenProvider* tokens)
      : options_(std::move(options)), transport_(transport), clock_(clock), tokens_(tokens) {}
  void Send(const OutboundMessage& message, SendCallback done) override;

 private:
  FcmOptions options_;
  HttpTransport* transport_;
  const Clock* clock_;
  AccessTokenProvider* tokens_;
};

struct WebhookOptions {
  HttpHeaders headers;   // added to every request (e.g. an Authorization)
  DurationMillis timeout_ms = 10'000;
};

class WebhookSender : public ChannelSender {
 public:
  WebhookSender(WebhookOptions options, HttpTransport* transport, const Clock* clock)
      : options_(std::move(options)), transport_(transport), clock_(clock) {}
  void Send(const OutboundMessage& message, SendCallback done) override;

 private:
  WebhookOptions options_;
  HttpTransport* transport_;
  const Clock* clock_;
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_PROVIDERS_CHANNEL_SENDERS_HPP_
