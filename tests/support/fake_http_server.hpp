// fake_http_server.hpp -- a real HTTP server on loopback for tests.
//
// Overview: `FakeHttpServer` binds 127.0.0.1 on an ephemeral port, serves
// on its own threads (cpp-httplib), and stops in its destructor. A test (or
// a provider fake built on it: Genesys, CXone, Twilio, SendGrid, FCM)
// registers route handlers, then points the code under test at
// `base_url()`. Every request is recorded (method, path, query, headers,
// body, arrival time on the steady clock, the client connection's port, what
// was done to it), and a fault plan is applied before the handlers:
//
//   - respond with a status (429 with Retry-After, 5xx, anything) for the
//     next N requests, or for a time window;
//   - delay the next N requests by D ms (a slow server);
//   - drop the connection of the next N requests: the socket is shut down
//     and closed without a single byte of response, which libcurl reports as
//     CURLE_GOT_NOTHING ("Empty reply from server"), i.e. kConnection.
//
// Faults can be limited to a method and a path regex, so a provider fake
// can throttle its callbacks endpoint while its token endpoint stays up.
//
// Example:
//
//   lifeline::testing::FakeHttpServer server;
//   server.Post("/api/v2/conversations/callbacks",
//               [](const httplib::Request& req, httplib::Response& res) {
//                 res.status = 200;
//                 res.set_content(R"({"conversation":{"id":"c1"}})", "application/json");
//               });
//   server.RespondWithStatus(2, 429, /*retry_after_seconds=*/1);  // next 2 requests
//   ... drive the code under test against server.base_url() ...
//   REQUIRE(server.WaitForRequests(3, std::chrono::seconds(10)));
//   auto requests = server.requests();
//   CHECK(requests[2].Header("authorization") == "Bearer t0k3n");
//
// Build: Debian's cpp-httplib is a compiled library (libcpp-httplib.so),
// not header-only; see tests/support/cpp_httplib.cmake for how tests link it.
// The macros below must match the ones it was built with (its pkg-config
// Cflags), because they change the layout of httplib::Request.
//
// Linux only: dropping a connection finds the handler's socket through
// /proc/self/fd, because cpp-httplib does not hand sockets to handlers.
#ifndef LIFELINE_TESTS_SUPPORT_FAKE_HTTP_SERVER_HPP_
#define LIFELINE_TESTS_SUPPORT_FAKE_HTTP_SERVER_HPP_

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "lifeline/http_transport.hpp"

namespace lifeline {
namespace testing {

// What a fault does to a request it matches.
enum class FaultAction {
  kRespond,  // answer with `status` (and Retry-After) instead of the handler
  kDelay,    // wait `delay`, then carry on (other faults, then the handler)
  kDrop,     // close the connection without any response
};

// One entry of the fault plan. It applies to a request when it is active
// (`count` not used up, and within `window` of being added when a window is
// set) and the request matches `method` and `path_regex`.
struct Fault {
  FaultAction action = FaultAction::kRespond;
  // kRespond: the status, an optional "Retry-After: <seconds>" (when >= 0)
  // and a JSON body.
  int status = 503;
  int retry_after_seconds = -1;
  std::string body = R"({"error":"injected by FakeHttpServer"})";
  // kDelay: how long to hold the request before handling it.
  std::chrono::milliseconds delay{0};
  // How many requests it applies to; -1 means no limit (use with `window`).
  int count = 1;
  // When > 0, it applies only until this long after it was added.
  std::chrono::milliseconds window{0};
  // Restrictions: empty means any method / any path. The regex must match
  // the whole path (no query string).
  std::string method;
  std::string path_regex;
};

// One request as the server received it.
struct RecordedRequest {
  std::uint64_t sequence = 0;  // 0-based arrival order
  std::string method;
  std::string path;    // decoded, without the query string
  std::string target;  // as on the request line: path and query
  httplib::Params params;  // query (and form) parameters
  HttpHeaders headers;     // in httplib's order (sorted by name)
  std::string body;
  std::chrono::steady_clock::time_point arrival;  // when the handler started
  int remote_port = -1;  // client's port: identifies the connection
  // What the server did: the status it answered (0 when dropped), whether
  // a delay fault held it, whether it was dropped, and whether the status
  // came from the fault plan rather than a handler.
  int response_status = 0;
  bool delayed = false;
  bool dropped = false;
  bool injected = false;

  // The first header named `name`, case-insensitively; "" when absent.
  std::string Header(std::string_view name) const {
    for (const auto& field : headers) {
      if (EqualsIgnoreCaseAscii(field.first, name)) return field.second;
    }
    return std::string();
  }
  bool HasHeader(std::string_view name) const {
    for (const auto& field : headers) {
      if (EqualsIgnoreCaseAscii(field.first, name)) return true;
    }
    return false;
  }
};

class FakeHttpServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  struct Options {
    // Worker threads. cpp-httplib holds one per open keep-alive connection,
    // so this bounds the connections served at once; more wait for a free
    // thread. Keep it >= the client's connection limit.
    std::size_t threads = 64;
    // Requests per connection before the server closes it, and idle time
    // before it does (cpp-httplib's defaults are 5 and 5 s).
    std::size_t keep_alive_max_count = 1000000;
    time_t keep_alive_timeout_sec = 5;
    // Listen backlog (cpp-httplib's compiled-in default is 5, too small
    // for bursts of new connections).
    int listen_backlog = 1024;
    // Record every request (turn off for benchmarks).
    bool record_requests = true;
    // When both are set, serve HTTPS with this PEM certificate and key.
    std::string tls_cert_file;
    std::string tls_key_file;
  };

  FakeHttpServer() : FakeHttpServer(Options()) {}

  explicit FakeHttpServer(Options options) : options_(std::move(options)) {
    if (!options_.tls_cert_file.empty() && !options_.tls_key_file.empty()) {
      auto server = std::make_unique<Exposed<httplib::SSLServer>>(
          options_.tls_cert_file.c_str(), options_.tls_key_file.c_str());
      server_ = std::move(server);
      tls_ = true;
    } else {
      server_ = std::make_unique<Exposed<httplib::Server>>();
    }
    if (!server_->is_valid()) throw std::runtime_error("FakeHttpServer: invalid server setup");
    server_->set_keep_alive_max_count(options_.keep_alive_max_count);
    server_->set_keep_alive_timeout(options_.keep_alive_timeout_sec);
    // cpp-httplib writes headers and body separately; with Nagle on, the
    // body waits for the client's delayed ACK (~40 ms per response).
    server_->set_tcp_nodelay(true);
    std::size_t threads = options_.threads == 0 ? 1 : options_.threads;
    std::atomic<std::uint64_t>* counter = &connections_;
    server_->new_task_queue = [threads, counter] {
      return new CountingThreadPool(threads, counter);
    };
    Handler dispatch = [this](const httplib::Request& req, httplib::Response& res) {
      Dispatch(req, res);
    };
    server_->Get(".*", dispatch);
    server_->Post(".*", dispatch);
    server_->Put(".*", dispatch);
    server_->Patch(".*", dispatch);
    server_->Delete(".*", dispatch);
    server_->Options(".*", dispatch);

    port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("FakeHttpServer: cannot bind 127.0.0.1");
    // Linux updates the backlog of a socket that is already listening.
    ::listen(static_cast<int>(ListenSocket()), options_.listen_backlog);

    listener_ = std::thread([this] {
      // Worker threads are created from this one and inherit its mask: a
      // write to a dropped connection gives EPIPE, never SIGPIPE.
      sigset_t block;
      sigemptyset(&block);
      sigaddset(&block, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &block, nullptr);
      server_->listen_after_bind();
    });
    // httplib ignores a stop() that comes before its listen loop has
    // started, and Stop() would then wait for ever: return only once it
    // runs (bounded, in case the loop cannot start).
    for (int i = 0; i < 10000 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  ~FakeHttpServer() { Stop(); }

  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>" (https:// when serving TLS), no trailing slash.
  std::string base_url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }

  // --- Routes ------------------------------------------------------------

  // Registers `handler` for `method` and a regex matching the whole path.
  // Routes are tried in registration order; unmatched requests get 404.
  // `req.matches` holds the regex captures. Handlers run on server threads,
  // concurrently: guard any state they share.
  void Route(std::string method, const std::string& path_regex, Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_.push_back(RouteEntry{std::move(method), std::regex(path_regex), std::move(handler)});
  }
  void Get(const std::string& path_regex, Handler h) { Route("GET", path_regex, std::move(h)); }
  void Post(const std::string& path_regex, Handler h) { Route("POST", path_regex, std::move(h)); }
  void Put(const std::string& path_regex, Handler h) { Route("PUT", path_regex, std::move(h)); }
  void Patch(const std::string& path_regex, Handler h) {
    Route("PATCH", path_regex, std::move(h));
  }
  void Delete(const std::string& path_regex, Handler h) {
    Route("DELETE", path_regex, std::move(h));
  }

  // --- Fault plan ----------------------------------------------------------

  // Adds `fault` at the end of the plan. For each request, every active
  // matching kDelay fault is applied (and counted), then the first active
  // matching kRespond or kDrop fault, in the order they were added.
  void AddFault(Fault fault) {
    std::lock_guard<std::mutex> lock(mu_);
    ActiveFault active;
    active.fault = std::move(fault);
    if (!active.fault.path_regex.empty()) active.path = std::regex(active.fault.path_regex);
    active.until = active.fault.window.count() > 0
                       ? std::chrono::steady_clock::now() + active.fault.window
                       : std::chrono::steady_clock::time_point::max();
    faults_.push_back(std::move(active));
  }

  // The next `count` requests get `status`, with "Retry-After: <seconds>"
  // when retry_after_seconds >= 0.
  void RespondWithStatus(int count, int status, int retry_after_seconds = -1) {
    Fault f;
    f.action = FaultAction::kRespond;
    f.count = count;
    f.status = status;
    f.retry_after_seconds = retry_after_seconds;
    AddFault(std::move(f));
  }

  // Every request in the next `window` gets `status` (e.g. 429 with a
  // Retry-After), however many there are.
  void RespondWithStatusFor(std::chrono::milliseconds window, int status,
                            int retry_after_seconds = -1) {
    Fault f;
    f.action = FaultAction::kRespond;
    f.count = -1;
    f.window = window;
    f.status = status;
    f.retry_after_seconds = retry_after_seconds;
    AddFault(std::move(f));
  }

  // The next `count` requests are held for `delay` before being handled.
  void DelayRequests(int count, std::chrono::milliseconds delay) {
    Fault f;
    f.action = FaultAction::kDelay;
    f.count = count;
    f.delay = delay;
    AddFault(std::move(f));
  }

  // The next `count` requests lose their connection without a response.
  void DropConnections(int count) {
    Fault f;
    f.action = FaultAction::kDrop;
    f.count = count;
    AddFault(std::move(f));
  }

  void ClearFaults() {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.clear();
  }

  // --- What was received ---------------------------------------------------

  // A copy of every recorded request, in arrival order.
  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }
  // Requests received (recorded or not).
  std::size_t request_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<std::size_t>(received_);
  }
  // TCP connections accepted so far.
  std::size_t connections_accepted() const {
    return static_cast<std::size_t>(connections_.load(std::memory_order_acquire));
  }
  // Waits until at least `n` requests have arrived (their handlers started)
  // or `timeout` passed; returns whether they did. The timeout is a safety
  // net for a broken test, not a measurement.
  bool WaitForRequests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return arrived_.wait_for(lock, timeout, [&] { return received_ >= n; });
  }
  void ClearRecords() {
    std::lock_guard<std::mutex> lock(mu_);
    records_.clear();
  }

  // Stops accepting, wakes delayed requests, closes open connections and
  // joins every server thread. Idempotent; the destructor calls it.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    arrived_.notify_all();
    server_->stop();
    // Idle keep-alive connections would hold their threads until the
    // keep-alive timeout: end them now.
    ForEachSocket([this](int fd, int local_port, int /*peer_port*/) {
      if (local_port == port_) ::shutdown(fd, SHUT_RDWR);
      return false;
    });
    if (listener_.joinable()) listener_.join();
  }

 private:
  template <typename Base>
  class Exposed : public Base {
   public:
    using Base::Base;
    socket_t listen_socket() const { return this->svr_sock_; }
  };

  // cpp-httplib hands each accepted connection to the task queue once.
  class CountingThreadPool : public httplib::ThreadPool {
   public:
    CountingThreadPool(std::size_t n, std::atomic<std::uint64_t>* accepted)
        : httplib::ThreadPool(n), accepted_(accepted) {}
    void enqueue(std::function<void()> fn) override {
      accepted_->fetch_add(1, std::memory_order_acq_rel);
      httplib::ThreadPool::enqueue(std::move(fn));
    }

   private:
    std::atomic<std::uint64_t>* accepted_;
  };

  struct RouteEntry {
    std::string method;
    std::regex path;
    Handler handler;
  };

  struct ActiveFault {
    Fault fault;
    std::regex path;
    std::chrono::steady_clock::time_point until;
  };

  socket_t ListenSocket() const {
    if (tls_) return static_cast<Exposed<httplib::SSLServer>*>(server_.get())->listen_socket();
    return static_cast<Exposed<httplib::Server>*>(server_.get())->listen_socket();
  }

  // Calls fn(fd, local_port, peer_port) for every connected TCP socket of
  // this process until fn returns true; returns whether it did.
  template <typename Fn>
  static bool ForEachSocket(Fn fn) {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return false;
    bool stopped = false;
    while (dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      int fd = std::atoi(entry->d_name);
      sockaddr_storage local{}, peer{};
      socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
      if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
      int local_port = PortOf(local), peer_port = PortOf(peer);
      if (local_port < 0 || peer_port < 0) continue;
      if (fn(fd, local_port, peer_port)) {
        stopped = true;
        break;
      }
    }
    ::closedir(dir);
    return stopped;
  }

  static int PortOf(const sockaddr_storage& address) {
    if (address.ss_family == AF_INET) {
      return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
    }
    if (address.ss_family == AF_INET6) {
      return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
    }
    return -1;
  }

  // Closes the connection `req` arrived on without a response: shutdown now
  // (the client reads EOF), and a reset when cpp-httplib closes it.
  bool DropConnectionOf(const httplib::Request& req) {
    int server_port = req.local_port;
    int client_port = req.remote_port;
    return ForEachSocket([&](int fd, int local_port, int peer_port) {
      if (local_port != server_port || peer_port != client_port) return false;
      linger hard{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
      ::shutdown(fd, SHUT_RDWR);
      return true;
    });
  }

  static bool Matches(const Fault& f, const std::regex& path, const httplib::Request& req) {
    if (!f.method.empty() && f.method != req.method) return false;
    if (!f.path_regex.empty() && !std::regex_match(req.path, path)) return false;
    return true;
  }

  void Dispatch(const httplib::Request& req, httplib::Response& res) {
    auto arrival = std::chrono::steady_clock::now();
    std::chrono::milliseconds delay{0};
    const Fault* terminal = nullptr;
    Fault terminal_copy;
    std::size_t record_index = SIZE_MAX;
    std::uint64_t sequence = 0;
    Handler handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sequence = received_++;
      for (auto& active : faults_) {
        if (active.fault.count == 0 || arrival >= active.until) continue;
        if (!Matches(active.fault, active.path, req)) continue;
        if (active.fault.action == FaultAction::kDelay) {
          delay += active.fault.delay;
        } else if (terminal == nullptr) {
          terminal_copy = active.fault;
          terminal = &terminal_copy;
        } else {
          continue;
        }
        if (active.fault.count > 0) --active.fault.count;
      }
      if (terminal == nullptr) {
        for (const auto& route : routes_) {
          if (route.method != req.method) continue;
          httplib::Match captures;
          if (!std::regex_match(req.path, captures, route.path)) continue;
          // The Request object is not const inside cpp-httplib; handlers
          // read their captures from req.matches as with plain routes.
          const_cast<httplib::Request&>(req).matches = std::move(captures);
          handler = route.handler;
          break;
        }
      }
      if (options_.record_requests) {
        RecordedRequest record;
        record.sequence = sequence;
        record.method = req.method;
        record.path = req.path;
        record.target = req.target;
        record.params = req.params;
        record.headers.assign(req.headers.begin(), req.headers.end());
        record.body = req.body;
        record.arrival = arrival;
        record.remote_port = req.remote_port;
        record.delayed = delay.count() > 0;
        record_index = records_.size();
        records_.push_back(std::move(record));
      }
    }
    arrived_.notify_all();

    if (delay.count() > 0) {
      std::unique_lock<std::mutex> lock(mu_);
      arrived_.wait_for(lock, delay, [&] { return stopped_; });
    }

    // Records are completed before the client can see the outcome: a drop
    // is visible as soon as the socket is shut down, a response as soon as
    // this function returns.
    if (terminal != nullptr && terminal->action == FaultAction::kDrop) {
      UpdateRecord(record_index, sequence, [](RecordedRequest& r) {
        r.dropped = true;
        r.response_status = 0;
      });
      if (DropConnectionOf(req)) return;
      // The socket was not found (cannot happen on Linux): answer 500.
      res.status = 500;
      UpdateRecord(record_index, sequence, [](RecordedRequest& r) {
        r.dropped = false;
        r.injected = true;
        r.response_status = 500;
      });
      return;
    }
    bool injected = false;
    if (terminal != nullptr) {
      injected = true;
      res.status = terminal->status;
      if (terminal->retry_after_seconds >= 0) {
        res.set_header("Retry-After", std::to_string(terminal->retry_after_seconds));
      }
      res.set_content(terminal->body, "application/json");
    } else if (handler) {
      handler(req, res);
    } else {
      res.status = 404;
      res.set_content(R"({"error":"no route"})", "application/json");
    }
    int status = res.status < 0 ? 200 : res.status;  // cpp-httplib's default
    UpdateRecord(record_index, sequence, [&](RecordedRequest& r) {
      r.injected = injected;
      r.response_status = status;
    });
  }

  template <typename Fn>
  void UpdateRecord(std::size_t index, std::uint64_t sequence, Fn fn) {
    if (index == SIZE_MAX) return;
    std::lock_guard<std::mutex> lock(mu_);
    // ClearRecords() may have run meanwhile.
    if (index >= records_.size() || records_[index].sequence != sequence) return;
    fn(records_[index]);
  }

  Options options_;
  std::unique_ptr<httplib::Server> server_;
  bool tls_ = false;
  int port_ = -1;
  std::thread listener_;
  std::atomic<std::uint64_t> connections_{0};

  mutable std::mutex mu_;
  mutable std::condition_variable arrived_;
  std::vector<RouteEntry> routes_;
  std::vector<ActiveFault> faults_;
  std::vector<RecordedRequest> records_;
  std::uint64_t received_ = 0;
  bool stopped_ = false;
};

}  // namespace testing
}  // namespace lifeline

#endif  // LIFELINE_TESTS_SUPPORT_FAKE_HTTP_SERVER_HPP_
