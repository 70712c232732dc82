// callback_platform.hpp -- the contact-center platform a callback goes to.
//
// Overview: a `CallbackPlatform` turns a `CallbackRequest` into the platform's
// HTTP request and reads the platform's answer back into a
// `DeliveryOutcome`. It is sans-I/O: the dispatcher sends what it builds over
// an `HttpTransport` and feeds the responses back. Platforms that need an
// OAuth token say so through `TokenRequest`; the dispatcher sends that first
// (one at a time) and holds callbacks until a token is in hand.
//
// Implementations (lib/providers/): Genesys Cloud (`POST
// /api/v2/conversations/callbacks`), NICE CXone (`queuecallback` and
// `promise`), and a generic webhook.
#ifndef LIFELINE_CALLBACK_PLATFORM_HPP_
#define LIFELINE_CALLBACK_PLATFORM_HPP_

#include <optional>
#include <string>

#include "lifeline/callback_request.hpp"
#include "lifeline/clock.hpp"
#include "lifeline/http_transport.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// What one delivery attempt came to.
struct DeliveryOutcome {
  enum class Kind {
    kDelivered,     // the platform accepted the callback
    kRetry,         // transient: 408/425/429/5xx, timeouts, connection failures
    kAuthExpired,   // 401: refresh the token once and send again
    kPermanent,     // the platform refused it for good (other 4xx)
  };
  Kind kind = Kind::kRetry;
  int http_status = 0;
  bool rate_limited = false;                  // a 429
  std::optional<DurationMillis> retry_after;  // from Retry-After, when given
  std::string provider_reference;             // e.g. the conversation id
  std::string error;                          // for the dead-letter record; no PII
};

class CallbackPlatform {
 public:
  virtual ~CallbackPlatform() = default;

  // "genesys", "cxone" or "webhook".
  virtual const char* name() const = 0;

  // The token request to send now, or nullopt when a valid token is in hand
  // (valid for at least the refresh margin) or no token is needed.
  virtual std::optional<HttpRequest> TokenRequest(UnixMillis now) = 0;

  // Reads the token response. Not OK when the platform refused the
  // credentials or the response is malformed (the message names which).
  virtual Status OnTokenResponse(const HttpResponse& response, UnixMillis now) = 0;

  // True when callbacks may be sent now (a valid token, or none needed).
  virtual bool Ready(UnixMillis now) const = 0;

  // Forgets the token (after a 401).
  virtual void InvalidateToken() = 0;

  // The platform request that delivers `request`.
  virtual HttpRequest BuildCallbackRequest(const CallbackRequest& request) const = 0;

  // What the platform's answer means.
  virtual DeliveryOutcome InterpretCallbackResponse(const HttpResponse& response,
                                                    UnixMillis now) const = 0;
};

}  // namespace lifeline

#endif  // LIFELINE_CALLBACK_PLATFORM_HPP_
