// http_transport.hpp -- the port through which Lifeline speaks HTTP.
//
// Overview: the platform adapters (Genesys Cloud, NICE CXone, webhooks) and
// the notification channels (Twilio, SendGrid, FCM) build `HttpRequest`s and
// hand them to an `HttpTransport`. The transport performs the exchange
// asynchronously and calls the completion with an `HttpResponse`: either an
// HTTP response (any status) or a `TransportError` saying why none arrived.
// Nothing in the core performs I/O; the libcurl implementation lives in
// lib/http/curl_transport.hpp, and a host can plug in its own (an existing
// event loop, a corporate proxy stack, a recording fake).
//
// Contract of every HttpTransport (implementations must keep it, callers may
// rely on it):
//
//  - `Send` is thread-safe and never blocks on the network. It may take a
//    short internal lock.
//  - `on_done` is called exactly once per `Send`, whatever happens: success,
//    timeout, refused connection, invalid request, shutdown.
//  - `on_done` is never called from within `Send` while the transport is
//    running; it runs later on a thread the transport owns (for CurlTransport,
//    its single I/O thread). A transport that has been shut down completes
//    new requests at once, on the caller's thread, with kOther; so do not
//    hold a lock across `Send` that `on_done` also takes, unless the
//    transport is known to outlive the caller.
//  - `on_done` must be quick and must not block: it runs on the I/O thread.
//    It may call `Send` again (that only queues). It must not throw; an
//    exception escaping it is caught and discarded by the transport.
//  - Redirects are not followed: a 3xx is returned as a response.
//  - `timeout_ms` bounds the whole exchange, waiting for a free connection
//    included. A request whose deadline passes completes with kTimeout; the
//    far side may still have acted on it.
//
// Example:
//
//   lifeline::HttpRequest request;
//   request.method = "POST";
//   request.url = "https://api.example.com/v1/things";
//   request.headers = {{"Content-Type", "application/json"}};
//   request.body = R"({"name":"x"})";
//   request.timeout_ms = 5000;
//   transport.Send(std::move(request), [](lifeline::HttpResponse response) {
//     if (!response.ok()) { /* response.error, response.error_message */ }
//     else if (response.status == 429) {
//       std::string retry_after = response.Header("retry-after");
//     }
//   });
//
// Fault injection: derive from `ForwardingHttpTransport`, override `Send`,
// and fail or delay the requests you choose while forwarding the rest.
#ifndef LIFELINE_HTTP_TRANSPORT_HPP_
#define LIFELINE_HTTP_TRANSPORT_HPP_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"
#include "lifeline/transport_error.hpp"

namespace lifeline {

// Header fields in order, names as given (HTTP names are case-insensitive;
// use `HttpResponse::Header` or `EqualsIgnoreCaseAscii` to look one up).
// A name may appear more than once.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// True when `a` and `b` are equal ignoring ASCII case (HTTP field names).
inline bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// One HTTP exchange to perform.
struct HttpRequest {
  // An HTTP token, e.g. "GET", "POST", "PUT", "PATCH", "DELETE".
  std::string method = "GET";
  // An absolute http:// or https:// URL. Query strings must already be
  // encoded (see lib/http/form_encoding.hpp).
  std::string url;
  // Sent as given, in order. The transport adds Host and Content-Length and,
  // unless given here, User-Agent. It never invents a Content-Type: set one
  // whenever there is a body.
  HttpHeaders headers;
  // Sent as-is when non-empty, and for POST even when empty
  // ("Content-Length: 0").
  std::string body;
  // Deadline for the whole exchange, from `Send` to the last response byte,
  // including any wait for a free connection. Must be > 0.
  DurationMillis timeout_ms = 5000;
  // Deadline for establishing one connection (TCP and TLS). 0 means
  // "bounded by timeout_ms only". Must be >= 0.
  DurationMillis connect_timeout_ms = 0;
  // Caller's correlation id, copied to `HttpResponse::request_id`. Never
  // sent on the wire.
  std::uint64_t id = 0;
};

// The outcome of one HttpRequest.
struct HttpResponse {
  // The HTTP status code; 0 when `error != kNone`.
  int status = 0;
  // The final response's header fields, in the order received. Interim
  // (1xx) responses are not included.
  HttpHeaders headers;
  std::string body;
  // kNone when an HTTP response arrived, whatever its status.
  TransportError error = TransportError::kNone;
  // Human-readable detail when `error != kNone`; empty otherwise. Names
  // hosts and ports at most, never paths, headers or bodies.
  std::string error_message;
  // Time from `Send` to completion, as measured by the transport.
  DurationMillis elapsed_ms = 0;
  // `HttpRequest::id` of the request this answers.
  std::uint64_t request_id = 0;

  // True when an HTTP response arrived (any status).
  bool ok() const { return error == TransportError::kNone; }

  // The value of the first header named `name` (ASCII case-insensitive), or
  // nullptr when there is none. Valid until `headers` changes.
  const std::string* FindHeader(std::string_view name) const {
    for (const auto& field : headers) {
      if (EqualsIgnoreCaseAscii(field.first, name)) return &field.second;
    }
    return nullptr;
  }

  // The value of the first header named `name` (case-insensitive), or ""
  // when there is none. Use FindHeader to tell absent from empty.
  std::string Header(std::string_view name) const {
    const std::string* value = FindHeader(name);
    return value == nullptr ? std::string() : *value;
  }
};

// Called exactly once with the outcome of a request.
using HttpCompletion = std::function<void(HttpResponse)>;

// The port. See the file comment for the full contract.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Starts `request` and returns without waiting for the network. `on_done`
  // receives the outcome exactly once, later, on the transport's thread.
  virtual void Send(HttpRequest request, HttpCompletion on_done) = 0;
};

// Forwards every call to a target transport, like LevelDB's EnvWrapper.
// Subclass it in tests and override `Send` to inject faults (fail, delay or
// rewrite chosen requests) while the rest go through untouched.
class ForwardingHttpTransport : public HttpTransport {
 public:
  // `target` is not owned and must outlive this object.
  explicit ForwardingHttpTransport(HttpTransport* target) : target_(target) {}

  HttpTransport* target() const { return target_; }

  void Send(HttpRequest request, HttpCompletion on_done) override {
    target_->Send(std::move(request), std::move(on_done));
  }

 private:
  HttpTransport* target_;
};

namespace http_internal {

// RFC 9110 tchar.
inline bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

inline bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

inline bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCaseAscii(s.substr(0, prefix.size()), prefix);
}

}  // namespace http_internal

// Checks what every transport requires of a request, so that all of them
// refuse the same things the same way:
//  - `method` is an HTTP token;
//  - `url` starts with http:// or https:// and has a host, and contains no
//    whitespace or control characters;
//  - each header name is an HTTP token and each value has no CR, LF or NUL
//    (no header injection);
//  - `timeout_ms` > 0 and `connect_timeout_ms` >= 0.
// Returns OK or kInvalidArgument naming the field (and header index), never
// echoing values, which may carry secrets.
inline Status ValidateHttpRequest(const HttpRequest& request) {
  using http_internal::IsToken;
  if (!IsToken(request.method)) return InvalidArgument("request.method is not an HTTP token");
  std::string_view url = request.url;
  std::size_t scheme_length = 0;
  if (http_internal::StartsWithIgnoreCase(url, "http://")) {
    scheme_length = 7;
  } else if (http_internal::StartsWithIgnoreCase(url, "https://")) {
    scheme_length = 8;
  } else {
    return InvalidArgument("request.url must start with http:// or https://");
  }
  if (url.size() == scheme_length || url[scheme_length] == '/') {
    return InvalidArgument("request.url has no host");
  }
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return InvalidArgument("request.url contains whitespace or a control character");
    }
  }
  for (std::size_t i = 0; i < request.headers.size(); ++i) {
    const auto& field = request.headers[i];
    if (!IsToken(field.first)) {
      return InvalidArgument("request.headers[" + std::to_string(i) +
                             "]: name is not an HTTP token");
    }
    if (field.second.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgument("request.headers[" + std::to_string(i) +
                             "]: value contains CR, LF or NUL");
    }
  }
  if (request.timeout_ms <= 0) return InvalidArgument("request.timeout_ms must be > 0");
  if (request.connect_timeout_ms < 0) {
    return InvalidArgument("request.connect_timeout_ms must be >= 0");
  }
  return Status::Ok();
}

// Sends `request` and blocks the calling thread until it completes. For
// command-line tools and tests only: never on a call-handling thread, and
// never from inside a completion of the same transport (that would wait on
// itself forever).
inline HttpResponse SendAndWait(HttpTransport& transport, HttpRequest request) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    HttpResponse response;
  } waiter;
  // The completion touches `waiter` only while holding its mutex, and this
  // function cannot return before it has released it.
  Waiter* w = &waiter;
  transport.Send(std::move(request), [w](HttpResponse response) {
    std::lock_guard<std::mutex> lock(w->mu);
    w->response = std::move(response);
    w->done = true;
    w->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(waiter.mu);
  waiter.cv.wait(lock, [&] { return waiter.done; });
  return std::move(waiter.response);
}

}  // namespace lifeline

#endif  // LIFELINE_HTTP_TRANSPORT_HPP_
