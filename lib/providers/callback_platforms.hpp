// callback_platforms.hpp -- the three CallbackPlatform implementations.
//
// Each is configured from its section of the engine configuration
// (docs/config.md). Every base URL can be overridden, so tests and staging
// environments can point them at loopback.
#ifndef LIFELINE_LIB_PROVIDERS_CALLBACK_PLATFORMS_HPP_
#define LIFELINE_LIB_PROVIDERS_CALLBACK_PLATFORMS_HPP_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lifeline/callback_platform.hpp"

namespace lifeline {

// OAuth bearer-token bookkeeping shared by Genesys and CXone.
class BearerToken {
 public:
  explicit BearerToken(DurationMillis refresh_margin_ms) : margin_(refresh_margin_ms) {}
  bool Valid(UnixMillis now) const { return !token_.empty() && now + margin_ < expires_at_; }
  // True when a token request should go out now (none valid, none in flight).
  bool NeedsRequest(UnixMillis now) const { return !Valid(now) && !in_flight_; }
  void MarkRequested() { in_flight_ = true; }
  // Reads {"access_token": ..., "expires_in": seconds}.
  Status Accept(const HttpResponse& response, UnixMillis now);
  void Invalidate() { token_.clear(); }
  const std::string& value() const { return token_; }

 private:
  DurationMillis margin_;
  std::string token_;
  UnixMillis expires_at_ = 0;
  bool in_flight_ = false;
};

struct GenesysConfig {
  std::string region = "mypurecloud.com";
  std::string api_base_url;    // default https://api.<region>
  std::string login_base_url;  // default https://login.<region>
  std::string client_id;
  std::string client_secret;
  std::string queue_id;                  // the dedicated emergency callback queue
  std::vector<std::string> skill_ids;    // e.g. the failover_callback skill's id
  bool route_to_original_queue = false;  // isolation is the default
  std::string script_id;
  DurationMillis token_refresh_margin_ms = 60000;
  DurationMillis request_timeout_ms = 5000;
};

struct CxoneConfig {
  std::string api_base_url = "https://api-na1.niceincontact.com";
  std::string auth_base_url = "https://cxone.niceincontact.com";
  std::string api_version = "v33.0";
  std::string client_id;
  std::string client_secret;
  std::string access_key_id;
  std::string access_key_secret;
  std::string skill;  // the failover_callback skill's id
  std::string caller_id;
  DurationMillis token_refresh_margin_ms = 60000;
  DurationMillis request_timeout_ms = 5000;
};

struct WebhookConfig {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  // A JSON body with {{placeholders}}: requestId, callerPhone, originalQueueId,
  // flowName, callId, callerName, callbackTime (RFC 3339 UTC or ""), and
  // contextData (a JSON object, used unquoted). Empty: a default body.
  std::string body_template;
  // When set, each request carries X-Lifeline-Timestamp and
  // X-Lifeline-Signature: hex HMAC-SHA256(secret, timestamp + "." + body).
  std::string signing_secret;
  DurationMillis request_timeout_ms = 5000;
};

std::unique_ptr<CallbackPlatform> MakeGenesysPlatform(GenesysConfig config);
std::unique_ptr<CallbackPlatform> MakeCxonePlatform(CxoneConfig config);
std::unique_ptr<CallbackPlatform> MakeWebhookPlatform(WebhookConfig config);

// Renders a webhook body template (exposed for tests).
std::string RenderWebhookBody(const std::string& body_template, const CallbackRequest& request);

// The common reading of a platform's answer: 2xx delivered, 401 auth expired,
// retryable statuses and transport failures retry (429 flagged, Retry-After
// parsed), anything else permanent.
DeliveryOutcome InterpretStandardResponse(const HttpResponse& response, UnixMillis now);

}  // namespace lifeline

#endif  // LIFELINE_LIB_PROVIDERS_CALLBACK_PLATFORMS_HPP_
