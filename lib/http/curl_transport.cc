// curl_transport.cc -- see curl_transport.hpp.
//
// Threading: `Impl::mu` guards `incoming` and `stopping`; everything else
// that is not atomic (`active`, `idle_easy`, the multi handle's transfers)
// is touched only by the I/O thread. The multi handle is created before the
// thread starts and cleaned up by the thread as it exits; `Send` calls
// `curl_multi_wakeup` only while holding `mu` and only while `stopping` is
// false, which is before the thread can reach that cleanup.
#include "http/curl_transport.hpp"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/curl_global.hpp"

namespace lifeline {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kShutDownMessage = "transport shut down";

// How long the I/O thread sleeps in curl_multi_poll when libcurl has no
// earlier timer of its own. Wakeups (new requests, shutdown) cut it short.
constexpr int kIdlePollMs = 1000;

long ClampToLong(DurationMillis ms) {
  if (ms <= 0) return 0;
  if (ms > static_cast<DurationMillis>(LONG_MAX)) return LONG_MAX;
  return static_cast<long>(ms);
}

bool HasHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& field : headers) {
    if (EqualsIgnoreCaseAscii(field.first, name)) return true;
  }
  return false;
}

DurationMillis MillisSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start)
      .count();
}

}  // namespace

TransportError TransportErrorFromCurlCode(int curl_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK:
      return TransportError::kNone;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportError::kTimeout;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      return TransportError::kConnection;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return TransportError::kTls;
    default:
      return TransportError::kOther;
  }
}

// One request waiting to be handed to libcurl.
struct PendingRequest {
  HttpRequest request;
  HttpCompletion on_done;
  SteadyClock::time_point accepted_at;
};

// One request inside libcurl. Owned by Impl::active; the easy handle points
// into it (body, error buffer, header list) until it is removed.
struct Transfer {
  HttpRequest request;
  HttpCompletion on_done;
  SteadyClock::time_point accepted_at;
  curl_slist* header_list = nullptr;
  std::string response_body;
  std::size_t max_body = 0;
  bool body_too_large = false;
  char error_buffer[CURL_ERROR_SIZE] = {};

  ~Transfer() { curl_slist_free_all(header_list); }

  static size_t OnBody(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Transfer*>(user);
    size_t n = size * count;
    if (self->response_body.size() + n > self->max_body) {
      self->body_too_large = true;
      return 0;  // CURLE_WRITE_ERROR
    }
    self->response_body.append(data, n);
    return n;
  }
};

struct CurlTransport::Impl {
  explicit Impl(CurlTransportOptions o) : options(std::move(o)) {}

  CurlTransportOptions options;
  CURLM* multi = nullptr;
  std::thread thread;
  std::mutex join_mu;  // serialises joins of `thread`

  std::mutex mu;
  std::vector<PendingRequest> incoming;  // guarded by mu
  bool stopping = false;                 // guarded by mu

  // I/O thread only.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active;
  std::vector<CURL*> idle_easy;

  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> responses{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> connection_errors{0};
  std::atomic<std::uint64_t> tls_errors{0};
  std::atomic<std::uint64_t> other_errors{0};
  std::atomic<std::uint64_t> connections_opened{0};
  std::atomic<std::uint64_t> connections_reused{0};

  void Run();
  void Start(PendingRequest pending);
  CURLcode Configure(CURL* easy, Transfer& t);
  void Harvest();
  void AbortEverything(std::vector<PendingRequest>& still_queued);

  CURL* AcquireEasy();
  void ReleaseEasy(CURL* easy);

  void Complete(HttpCompletion& on_done, HttpResponse response);
  HttpResponse ErrorResponse(TransportError error, std::string message, std::uint64_t id,
                             SteadyClock::time_point accepted_at) const;
};

HttpResponse CurlTransport::Impl::ErrorResponse(TransportError error, std::string message,
                                                std::uint64_t id,
                                                SteadyClock::time_point accepted_at) const {
  HttpResponse response;
  response.error = error;
  response.error_message = std::move(message);
  response.request_id = id;
  response.elapsed_ms = MillisSince(accepted_at);
  return response;
}

void CurlTransport::Impl::Complete(HttpCompletion& on_done, HttpResponse response) {
  switch (response.error) {
    case TransportError::kNone: responses.fetch_add(1, std::memory_order_relaxed); break;
    case TransportError::kTimeout: timeouts.fetch_add(1, std::memory_order_relaxed); break;
    case TransportError::kConnection:
      connection_errors.fetch_add(1, std::memory_order_relaxed);
      break;
    case TransportError::kTls: tls_errors.fetch_add(1, std::memory_order_relaxed); break;
    case TransportError::kOther: other_errors.fetch_add(1, std::memory_order_relaxed); break;
  }
  completed.fetch_add(1, std::memory_order_acq_rel);
  if (!on_done) return;
  try {
    on_done(std::move(response));
  } catch (...) {
    // A completion must not throw (see HttpTransport); the I/O thread lives on.
  }
}

CURL* CurlTransport::Impl::AcquireEasy() {
  if (!idle_easy.empty()) {
    CURL* easy = idle_easy.back();
    idle_easy.pop_back();
    return easy;
  }
  return curl_easy_init();
}

void CurlTransport::Impl::ReleaseEasy(CURL* easy) {
  if (idle_easy.size() < options.easy_handle_pool_size) {
    curl_easy_reset(easy);
    idle_easy.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
}

CURLcode CurlTransport::Impl::Configure(CURL* easy, Transfer& t) {
  const HttpRequest& r = t.request;
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
  };

  set(CURLOPT_URL, r.url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_ERRORBUFFER, t.error_buffer);
  set(CURLOPT_TIMEOUT_MS, ClampToLong(r.timeout_ms));
  DurationMillis connect_ms = r.connect_timeout_ms > 0 && r.connect_timeout_ms < r.timeout_ms
                                  ? r.connect_timeout_ms
                                  : r.timeout_ms;
  set(CURLOPT_CONNECTTIMEOUT_MS, ClampToLong(connect_ms));
  set(CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  if (!options.ca_file.empty()) set(CURLOPT_CAINFO, options.ca_file.c_str());
  set(CURLOPT_USERAGENT, options.user_agent.c_str());
  set(CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));

  // Method and body.
  const bool is_post = r.method == "POST";
  const bool has_body = is_post || !r.body.empty();
  if (r.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    set(CURLOPT_POSTFIELDS, r.body.data());
    if (!is_post) set(CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else {
    set(CURLOPT_HTTPGET, 1L);
    if (r.method != "GET") set(CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }

  // Headers: the caller's, plus two suppressions of libcurl defaults for
  // bodies: no "Expect: 100-continue" round trip, and no invented
  // "Content-Type: application/x-www-form-urlencoded".
  for (const auto& field : r.headers) {
    std::string line = field.first;
    line += field.second.empty() ? ";" : ": " + field.second;  // "Name;" sends "Name:"
    curl_slist* next = curl_slist_append(t.header_list, line.c_str());
    if (next == nullptr) return CURLE_OUT_OF_MEMORY;
    t.header_list = next;
  }
  if (has_body) {
    for (const char* suppress : {"Expect:", "Content-Type:"}) {
      std::string_view name(suppress, std::strlen(suppress) - 1);
      if (HasHeader(r.headers, name)) continue;
      curl_slist* next = curl_slist_append(t.header_list, suppress);
      if (next == nullptr) return CURLE_OUT_OF_MEMORY;
      t.header_list = next;
    }
  }
  if (t.header_list != nullptr) set(CURLOPT_HTTPHEADER, t.header_list);
  return rc;
}

void CurlTransport::Impl::Start(PendingRequest pending) {
  Status valid = ValidateHttpRequest(pending.request);
  if (!valid.ok()) {
    Complete(pending.on_done, ErrorResponse(TransportError::kOther, valid.message(),
                                            pending.request.id, pending.accepted_at));
    return;
  }
  CURL* easy = AcquireEasy();
  if (easy == nullptr) {
    Complete(pending.on_done, ErrorResponse(TransportError::kOther, "curl_easy_init failed",
                                            pending.request.id, pending.accepted_at));
    return;
  }
  auto t = std::make_unique<Transfer>();
  t->request = std::move(pending.request);
  t->on_done = std::move(pending.on_done);
  t->accepted_at = pending.accepted_at;
  t->max_body = options.max_response_body_bytes;

  CURLcode rc = Configure(easy, *t);
  if (rc != CURLE_OK) {
    ReleaseEasy(easy);
    Complete(t->on_done, ErrorResponse(TransportError::kOther,
                                       std::string("cannot configure request: ") +
                                           curl_easy_strerror(rc),
                                       t->request.id, t->accepted_at));
    return;
  }
  CURLMcode mc = curl_multi_add_handle(multi, easy);
  if (mc != CURLM_OK) {
    ReleaseEasy(easy);
    Complete(t->on_done, ErrorResponse(TransportError::kOther,
                                       std::string("curl_multi_add_handle failed: ") +
                                           curl_multi_strerror(mc),
                                       t->request.id, t->accepted_at));
    return;
  }
  sent.fetch_add(1, std::memory_order_relaxed);
  active.emplace(easy, std::move(t));
}

void CurlTransport::Impl::Harvest() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    // `msg` dies with curl_multi_remove_handle: copy what is needed first.
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    auto it = active.find(easy);
    if (it == active.end()) continue;  // not ours; cannot happen
    std::unique_ptr<Transfer> t = std::move(it->second);
    active.erase(it);

    HttpResponse response;
    response.request_id = t->request.id;
    long connects = 0;
    if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
      connections_opened.fetch_add(static_cast<std::uint64_t>(connects),
                                   std::memory_order_relaxed);
    }
    if (result == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      response.status = static_cast<int>(status);
      curl_header* prev = nullptr;
      while (curl_header* h = curl_easy_nextheader(easy, CURLH_HEADER, -1, prev)) {
        response.headers.emplace_back(h->name, h->value);
        prev = h;
      }
      response.body = std::move(t->response_body);
      if (connects == 0) connections_reused.fetch_add(1, std::memory_order_relaxed);
    } else if (result == CURLE_WRITE_ERROR && t->body_too_large) {
      response.error = TransportError::kOther;
      response.error_message = "response body exceeds max_response_body_bytes (" +
                               std::to_string(options.max_response_body_bytes) + ")";
    } else {
      response.error = TransportErrorFromCurlCode(result);
      response.error_message = "curl error " + std::to_string(static_cast<int>(result)) + " (" +
                               curl_easy_strerror(result) + ")";
      if (t->error_buffer[0] != '\0') {
        response.error_message += ": ";
        response.error_message += t->error_buffer;
      }
    }
    curl_multi_remove_handle(multi, easy);
    ReleaseEasy(easy);
    response.elapsed_ms = MillisSince(t->accepted_at);
    Complete(t->on_done, std::move(response));
  }
}

void CurlTransport::Impl::AbortEverything(std::vector<PendingRequest>& still_queued) {
  for (auto& entry : active) {
    curl_multi_remove_handle(multi, entry.first);
    curl_easy_cleanup(entry.first);
  }
  std::vector<std::unique_ptr<Transfer>> aborted;
  aborted.reserve(active.size());
  for (auto& entry : active) aborted.push_back(std::move(entry.second));
  active.clear();
  for (auto& t : aborted) {
    Complete(t->on_done, ErrorResponse(TransportError::kOther, kShutDownMessage, t->request.id,
                                       t->accepted_at));
  }
  for (auto& pending : still_queued) {
    Complete(pending.on_done, ErrorResponse(TransportError::kOther, kShutDownMessage,
                                            pending.request.id, pending.accepted_at));
  }
  still_queued.clear();
  for (CURL* easy : idle_easy) curl_easy_cleanup(easy);
  idle_easy.clear();
}

void CurlTransport::Impl::Run() {
  // A peer closing a connection must never raise SIGPIPE in the host.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);

  std::vector<PendingRequest> batch;
  for (;;) {
    bool stop;
    {
      std::lock_guard<std::mutex> lock(mu);
      batch.swap(incoming);
      stop = stopping;
    }
    if (stop) {
      AbortEverything(batch);
      break;
    }
    for (auto& pending : batch) Start(std::move(pending));
    batch.clear();

    int running = 0;
    curl_multi_perform(multi, &running);
    Harvest();
    curl_multi_poll(multi, nullptr, 0, kIdlePollMs, nullptr);
  }
  // Requests that arrived between the last swap and `stopping` were swapped
  // in above; later ones complete synchronously in Send. Only now is it safe
  // to destroy the multi handle (see the file comment).
  curl_multi_cleanup(multi);
  multi = nullptr;
}

// ---------------------------------------------------------------------------

CurlTransport::CurlTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<CurlTransport>> CurlTransport::Create(CurlTransportOptions options) {
  if (options.max_total_connections <= 0) {
    return InvalidArgument("options.max_total_connections must be > 0");
  }
  if (options.max_host_connections <= 0) {
    return InvalidArgument("options.max_host_connections must be > 0");
  }
  if (options.max_response_body_bytes == 0) {
    return InvalidArgument("options.max_response_body_bytes must be > 0");
  }
  if (options.user_agent.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    return InvalidArgument("options.user_agent contains CR, LF or NUL");
  }
  if (!options.ca_file.empty() && ::access(options.ca_file.c_str(), R_OK) != 0) {
    return InvalidArgument("options.ca_file is not a readable file");
  }
  Status init = EnsureCurlGlobalInit();
  if (!init.ok()) return init;

  auto impl = std::make_unique<Impl>(std::move(options));
  impl->multi = curl_multi_init();
  if (impl->multi == nullptr) return InternalError("curl_multi_init failed");
  curl_multi_setopt(impl->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    impl->options.max_total_connections);
  curl_multi_setopt(impl->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    impl->options.max_host_connections);
  curl_multi_setopt(impl->multi, CURLMOPT_MAXCONNECTS, impl->options.max_total_connections);

  Impl* raw = impl.get();
  try {
    impl->thread = std::thread([raw] { raw->Run(); });
  } catch (const std::system_error&) {
    curl_multi_cleanup(impl->multi);
    return InternalError("cannot start the HTTP transport thread");
  }
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(impl)));
}

CurlTransport::~CurlTransport() { Shutdown(); }

void CurlTransport::Send(HttpRequest request, HttpCompletion on_done) {
  Impl& impl = *impl_;
  impl.accepted.fetch_add(1, std::memory_order_relaxed);
  auto accepted_at = SteadyClock::now();
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    if (!impl.stopping) {
      bool was_empty = impl.incoming.empty();
      impl.incoming.push_back(PendingRequest{std::move(request), std::move(on_done), accepted_at});
      // A non-empty queue means a wakeup is already pending.
      if (was_empty) curl_multi_wakeup(impl.multi);
      return;
    }
  }
  impl.Complete(on_done, impl.ErrorResponse(TransportError::kOther, kShutDownMessage,
                                            request.id, accepted_at));
}

void CurlTransport::Shutdown() {
  Impl& impl = *impl_;
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    if (!impl.stopping) {
      impl.stopping = true;
      curl_multi_wakeup(impl.multi);
    }
  }
  std::lock_guard<std::mutex> lock(impl.join_mu);
  if (!impl.thread.joinable()) return;
  if (impl.thread.get_id() == std::this_thread::get_id()) return;  // from a completion
  impl.thread.join();
}

CurlTransportMetrics CurlTransport::metrics() const {
  const Impl& impl = *impl_;
  CurlTransportMetrics m;
  m.requests_completed = impl.completed.load(std::memory_order_acquire);
  m.requests_accepted = impl.accepted.load(std::memory_order_acquire);
  m.requests_sent = impl.sent.load(std::memory_order_relaxed);
  m.in_flight = m.requests_accepted > m.requests_completed
                    ? m.requests_accepted - m.requests_completed
                    : 0;
  m.responses = impl.responses.load(std::memory_order_relaxed);
  m.timeouts = impl.timeouts.load(std::memory_order_relaxed);
  m.connection_errors = impl.connection_errors.load(std::memory_order_relaxed);
  m.tls_errors = impl.tls_errors.load(std::memory_order_relaxed);
  m.other_errors = impl.other_errors.load(std::memory_order_relaxed);
  m.connections_opened = impl.connections_opened.load(std::memory_order_relaxed);
  m.connections_reused = impl.connections_reused.load(std::memory_order_relaxed);
  return m;
}

const CurlTransportOptions& CurlTransport::options() const { return impl_->options; }

}  // namespace lifeline
