// retry_classifier.hpp -- which failures are worth another attempt.
//
// Overview: one rule, shared by every adapter, decides whether the outcome
// of an HTTP exchange may be retried. Retrying the wrong failures wastes the
// attempt budget, delays the failover path and adds load to a provider that
// is already in trouble; not retrying the right ones loses callbacks.
//
// When a response arrived (`TransportError::kNone`), its status decides:
//
//   408 Request Timeout     retry: the server gave up waiting for us
//   425 Too Early           retry: RFC 8470 asks the client to retry
//   429 Too Many Requests   retry: after Retry-After (retry_after.hpp)
//   500-599                 retry: server-side, usually transient
//   other 4xx               no: the request itself is wrong (400, 401, 403,
//                           404, 409, 422, ...); sending it again gives the
//                           same answer
//   1xx, 2xx, 3xx           no: not a failure (success, or a redirect the
//                           transport follows or reports)
//   anything else           no: not an HTTP status
//
// When no response arrived, the transport error decides and the status is
// ignored:
//
//   kTimeout      retry: the deadline passed (the far side may have acted on
//                 the request: pair retries with an idempotency key, as the
//                 callback pipeline's request id is)
//   kConnection   retry: DNS failure, refused, reset, empty reply
//   kTls          no: a failed TLS handshake or certificate verification is
//                 a configuration or security fault (expired or wrong
//                 certificate, unknown CA, an interception proxy), not a
//                 transient one. The same handshake fails the same way
//                 again, so retrying only delays the failover and multiplies
//                 handshakes; it needs an operator. A transport that can tell
//                 a reset in the middle of a handshake should report it as
//                 kConnection.
//   kOther        no: an invalid request, a response too large, a transport
//                 shut down: nothing a later attempt would fix
//
// Example:
//
//   if (lifeline::IsRetryable(response.status, response.error)) {
//     budget->RecordFailure();
//     ...
//   }
//
// Thread-safety: pure functions.
#ifndef LIFELINE_RETRY_CLASSIFIER_HPP_
#define LIFELINE_RETRY_CLASSIFIER_HPP_

#include "lifeline/transport_error.hpp"

namespace lifeline {

// True when an HTTP status alone (a response arrived) calls for a retry:
// 408, 425, 429 and 500-599.
constexpr bool IsRetryableHttpStatus(int http_status) {
  return http_status == 408 || http_status == 425 || http_status == 429 ||
         (http_status >= 500 && http_status <= 599);
}

// True when the outcome of an exchange calls for a retry (rules above).
// `http_status` is only read when `error` is kNone.
constexpr bool IsRetryable(int http_status, TransportError error) {
  switch (error) {
    case TransportError::kNone: return IsRetryableHttpStatus(http_status);
    case TransportError::kTimeout: return true;
    case TransportError::kConnection: return true;
    case TransportError::kTls: return false;
    case TransportError::kOther: return false;
  }
  return false;
}

}  // namespace lifeline

#endif  // LIFELINE_RETRY_CLASSIFIER_HPP_
