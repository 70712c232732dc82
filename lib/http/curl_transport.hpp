// curl_transport.hpp -- the HttpTransport over libcurl.
//
// Overview: one background thread drives a curl multi handle. `Send` moves
// the request onto a queue under a mutex and wakes the thread with
// `curl_multi_wakeup`; the thread adds it to the multi handle, runs every
// transfer concurrently, and calls each completion on itself. Nothing a
// caller does ever waits on the network.
//
//  - Keep-alive: connections live in the multi handle's connection cache
//    and are reused across requests to the same host and port; easy handles
//    are pooled too. At most `max_total_connections` are open at once (and
//    `max_host_connections` per host:port); further requests queue inside
//    libcurl, their `timeout_ms` running.
//  - TLS: peer and host verification are on by default (system CA bundle,
//    or `ca_file`). Turning them off is for loopback tests only.
//  - Timeouts: per request, `timeout_ms` for the whole exchange and
//    `connect_timeout_ms` per connection attempt.
//  - Signals: CURLOPT_NOSIGNAL is set on every transfer, and the I/O thread
//    blocks SIGPIPE, so the host's signal handling is never disturbed
//    (libcurl's threaded resolver keeps DNS timeouts working without
//    SIGALRM).
//  - HTTP/1.1 only, http:// and https:// only, redirects never followed.
//
// Error mapping (CURLcode -> TransportError):
//   CURLE_OPERATION_TIMEDOUT                                  -> kTimeout
//   COULDNT_RESOLVE_HOST/PROXY, COULDNT_CONNECT, SEND_ERROR,
//   RECV_ERROR, GOT_NOTHING                                   -> kConnection
//   SSL_CONNECT_ERROR, PEER_FAILED_VERIFICATION, SSL_* (all
//   certificate, cipher, engine, CRL, pinning errors),
//   USE_SSL_FAILED                                            -> kTls
//   anything else                                             -> kOther
//
// Note on re-sends: when a reused keep-alive connection turns out to be
// closed before any byte of the response arrived, libcurl itself retries
// the request once more on another connection (any method, POST included).
// The far side can therefore see a request twice even though the caller got
// one response. Requests that must not be applied twice carry an idempotency
// key (the request id) for the far side to deduplicate.
//
// Example:
//
//   auto transport = lifeline::CurlTransport::Create();
//   if (!transport.ok()) return transport.status();
//   lifeline::HttpRequest request;
//   request.url = "https://status.example.com/routing";
//   (*transport)->Send(std::move(request), [](lifeline::HttpResponse r) {
//     // runs on the transport's thread
//   });
//   ...
//   (*transport)->Shutdown();  // or let the destructor do it
#ifndef LIFELINE_LIB_HTTP_CURL_TRANSPORT_HPP_
#define LIFELINE_LIB_HTTP_CURL_TRANSPORT_HPP_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "lifeline/http_transport.hpp"
#include "lifeline/lifeline.h"
#include "lifeline/status.hpp"
#include "lifeline/transport_error.hpp"

namespace lifeline {

struct CurlTransportOptions {
  // Open connections at most, all hosts together
  // (CURLMOPT_MAX_TOTAL_CONNECTIONS); also the size of the idle-connection
  // cache (CURLMOPT_MAXCONNECTS). Must be > 0.
  long max_total_connections = 64;
  // Open connections at most to one host:port
  // (CURLMOPT_MAX_HOST_CONNECTIONS). Must be > 0.
  long max_host_connections = 32;
  // Sent as User-Agent unless a request sets its own. No CR or LF.
  std::string user_agent = "lifeline/" LIFELINE_VERSION_STRING;
  // Verify the server's certificate chain and host name (CURLOPT_SSL_VERIFY
  // PEER=1, VERIFYHOST=2). Never turn off outside tests.
  bool verify_tls = true;
  // A PEM file of trusted CA certificates (CURLOPT_CAINFO); empty means the
  // system bundle libcurl was built with. Must be readable when set.
  std::string ca_file;
  // A response body larger than this fails the request with kOther.
  std::size_t max_response_body_bytes = 16u * 1024u * 1024u;
  // Idle easy handles kept for reuse; more are freed after use.
  std::size_t easy_handle_pool_size = 64;
};

// Counters since creation. Read with CurlTransport::metrics(); each field
// is exact on its own, the set is not one atomic snapshot.
struct CurlTransportMetrics {
  std::uint64_t requests_accepted = 0;   // Send calls
  std::uint64_t requests_sent = 0;       // handed to libcurl (valid, started)
  std::uint64_t requests_completed = 0;  // completions called
  std::uint64_t in_flight = 0;           // accepted and not yet completed
  std::uint64_t responses = 0;           // completed with an HTTP response
  std::uint64_t timeouts = 0;            // completed with kTimeout
  std::uint64_t connection_errors = 0;   // ... kConnection
  std::uint64_t tls_errors = 0;          // ... kTls
  std::uint64_t other_errors = 0;        // ... kOther (shutdown included)
  std::uint64_t connections_opened = 0;  // sum of CURLINFO_NUM_CONNECTS
  std::uint64_t connections_reused = 0;  // responses over an existing connection
};

class CurlTransport final : public HttpTransport {
 public:
  // Validates `options`, initialises libcurl once per process, and starts
  // the I/O thread. Fails with kInvalidArgument naming the option, or
  // kInternal when libcurl or the thread cannot be set up.
  static Result<std::unique_ptr<CurlTransport>> Create(CurlTransportOptions options = {});

  // Shutdown(). Must not run on the transport's own thread (that is, not
  // from inside a completion).
  ~CurlTransport() override;

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // See HttpTransport. An invalid request (ValidateHttpRequest) completes
  // with kOther and the validation message, on the I/O thread. After
  // Shutdown(), completes at once, on the calling thread, with kOther
  // "transport shut down".
  void Send(HttpRequest request, HttpCompletion on_done) override;

  // Stops the I/O thread and waits for it. Requests still queued or in
  // flight are aborted and complete with kOther "transport shut down"
  // before this returns, so no caller waits forever. Idempotent and
  // thread-safe. Called from inside a completion it only requests the stop
  // (the thread cannot wait for itself); the destructor then waits.
  void Shutdown();

  CurlTransportMetrics metrics() const;

  const CurlTransportOptions& options() const;

 private:
  struct Impl;
  explicit CurlTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The TransportError for a libcurl CURLcode (see the table above). Exposed
// for tests and for other libcurl-based adapters.
TransportError TransportErrorFromCurlCode(int curl_code);

}  // namespace lifeline

#endif  // LIFELINE_LIB_HTTP_CURL_TRANSPORT_HPP_
