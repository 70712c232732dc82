// transport_error.hpp -- why an HTTP exchange produced no HTTP response.
//
// Overview: a transport either delivers a response (any status, 200 or 503
// alike: that is the far side's answer) or fails before one arrives. The
// failure kinds below are the only ones the rest of Lifeline reasons about:
// the retry classifier decides from them whether to try again, and metrics
// count them. The values are stable; they only ever get appended.
//
// Example:
//
//   if (response.error == lifeline::TransportError::kTimeout) {
//     // The request may or may not have reached the platform.
//   }
//
// Note: the retry classifier may define this same enum; there must be only
// one definition once the branches are merged (this header is its home).
#ifndef LIFELINE_TRANSPORT_ERROR_HPP_
#define LIFELINE_TRANSPORT_ERROR_HPP_

namespace lifeline {

enum class TransportError : int {
  // A response arrived (its status may still be an HTTP error).
  kNone = 0,
  // The per-request deadline passed: while waiting for a free connection,
  // connecting, sending or receiving. The far side may have acted on it.
  kTimeout = 1,
  // No usable connection: DNS failure, refused, reset, or closed before a
  // complete response ("empty reply").
  kConnection = 2,
  // The TLS handshake failed, including certificate verification.
  kTls = 3,
  // Anything else: an invalid request, a response too large, a shut-down
  // transport, an internal error.
  kOther = 4,
};

// A static, lower-case name for `error`: "none", "timeout", "connection",
// "tls", "other"; "unknown" for a value outside the enum.
constexpr const char* TransportErrorName(TransportError error) {
  switch (error) {
    case TransportError::kNone: return "none";
    case TransportError::kTimeout: return "timeout";
    case TransportError::kConnection: return "connection";
    case TransportError::kTls: return "tls";
    case TransportError::kOther: return "other";
  }
  return "unknown";
}

}  // namespace lifeline

#endif  // LIFELINE_TRANSPORT_ERROR_HPP_
