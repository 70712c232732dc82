// Integration tests of CurlTransport against FakeHttpServer on loopback:
// real sockets, real HTTP, real TLS; no mocked transport.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/curl_transport.hpp"
#include "lifeline/http_transport.hpp"
#include "support/fake_http_server.hpp"
#include "support/self_signed_cert.hpp"

using lifeline::CurlTransport;
using lifeline::CurlTransportOptions;
using lifeline::HttpRequest;
using lifeline::HttpResponse;
using lifeline::TransportError;
using lifeline::testing::FakeHttpServer;

namespace {

// A generous safety net for waits; tests never assert on durations.
constexpr std::chrono::seconds kWait(60);

std::unique_ptr<CurlTransport> MakeTransport(CurlTransportOptions options = {}) {
  auto created = CurlTransport::Create(std::move(options));
  REQUIRE(created.ok());
  return std::move(created).value();
}

HttpRequest Get(const std::string& url, std::uint64_t id = 0) {
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.id = id;
  return request;
}

HttpRequest Post(const std::string& url, std::string body, std::uint64_t id = 0) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = {{"Content-Type", "text/plain"}};
  request.body = std::move(body);
  request.id = id;
  return request;
}

// Collects completions from the transport's thread.
class Completions {
 public:
  lifeline::HttpCompletion Callback() {
    return [this](HttpResponse response) {
      std::lock_guard<std::mutex> lock(mu_);
      by_id_[response.request_id].push_back(std::move(response));
      ++count_;
      cv_.notify_all();
    };
  }
  bool WaitFor(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return count_ >= n; });
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  std::map<std::uint64_t, std::vector<HttpResponse>> by_id() {
    std::lock_guard<std::mutex> lock(mu_);
    return by_id_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, std::vector<HttpResponse>> by_id_;
  std::size_t count_ = 0;
};

// A loopback port on which nothing listens: bound (so nobody else takes it)
// but not listening, so a connect is refused.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    socklen_t len = sizeof(address);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &len) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string TempDir() {
  const char* dir = std::getenv("LIFELINE_TEST_TMP");
  return dir != nullptr ? dir : "/tmp";
}

}  // namespace

TEST_CASE("GET and POST carry method, headers and body, response headers are case-insensitive") {
  FakeHttpServer server;
  server.Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Custom-Header", "v1");
    res.set_header("X-Echo", req.get_header_value("X-Test"));
    res.set_content("hello", "text/plain");
  });
  server.Post("/items/([0-9]+)", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_content("created " + req.matches[1].str() + ": " + req.body, "text/plain");
  });
  auto transport = MakeTransport();

  HttpRequest get = Get(server.base_url() + "/hello?x=1&y=two", 41);
  get.headers = {{"X-Test", "abc"}, {"Accept", "text/plain"}};
  HttpResponse got = lifeline::SendAndWait(*transport, get);
  REQUIRE(got.ok());
  CHECK(got.status == 200);
  CHECK(got.body == "hello");
  CHECK(got.request_id == 41);
  CHECK(got.error_message.empty());
  CHECK(got.Header("x-custom-header") == "v1");
  CHECK(got.Header("X-CUSTOM-HEADER") == "v1");
  CHECK(got.Header("x-echo") == "abc");
  REQUIRE(got.FindHeader("Content-Length") != nullptr);
  CHECK(*got.FindHeader("content-length") == "5");
  CHECK(got.FindHeader("X-Absent") == nullptr);
  CHECK(got.Header("X-Absent").empty());

  HttpRequest post;
  post.method = "POST";
  post.url = server.base_url() + "/items/17";
  post.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", "req-1"}};
  post.body = R"({"a":1})";
  post.id = 42;
  HttpResponse posted = lifeline::SendAndWait(*transport, post);
  REQUIRE(posted.ok());
  CHECK(posted.status == 201);
  CHECK(posted.body == R"(created 17: {"a":1})");
  CHECK(posted.request_id == 42);

  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].method == "GET");
  CHECK(requests[0].path == "/hello");
  CHECK(requests[0].target == "/hello?x=1&y=two");
  CHECK(requests[0].params.find("y")->second == "two");
  CHECK(requests[0].Header("x-test") == "abc");
  CHECK(requests[0].Header("User-Agent") == "lifeline/" LIFELINE_VERSION_STRING);
  CHECK(requests[0].body.empty());
  CHECK(requests[1].method == "POST");
  CHECK(requests[1].path == "/items/17");
  CHECK(requests[1].body == R"({"a":1})");
  CHECK(requests[1].Header("Content-Type") == "application/json");
  CHECK(requests[1].Header("Content-Length") == "7");
  CHECK(requests[1].Header("Idempotency-Key") == "req-1");
  CHECK_FALSE(requests[1].HasHeader("Expect"));
  CHECK(requests[1].response_status == 201);
}

TEST_CASE("The transport adds no Content-Type or Expect of its own, and other methods work") {
  FakeHttpServer server;
  for (const char* method : {"PUT", "DELETE"}) {
    server.Route(method, "/r", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.method + ":" + req.body, "text/plain");
    });
  }
  server.Post("/r", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  auto transport = MakeTransport();

  HttpRequest bare;
  bare.method = "POST";
  bare.url = server.base_url() + "/r";
  bare.body = std::string(2 * 1024 * 1024, 'x');  // large enough for curl's Expect threshold
  HttpResponse r1 = lifeline::SendAndWait(*transport, bare);
  REQUIRE(r1.ok());
  CHECK(r1.status == 204);

  HttpRequest empty_post;
  empty_post.method = "POST";
  empty_post.url = server.base_url() + "/r";
  HttpResponse r2 = lifeline::SendAndWait(*transport, empty_post);
  REQUIRE(r2.ok());

  HttpRequest put;
  put.method = "PUT";
  put.url = server.base_url() + "/r";
  put.headers = {{"Content-Type", "text/plain"}, {"X-Empty", ""}};
  put.body = "v";
  HttpResponse r3 = lifeline::SendAndWait(*transport, put);
  REQUIRE(r3.ok());
  CHECK(r3.body == "PUT:v");

  HttpRequest del;
  del.method = "DELETE";
  del.url = server.base_url() + "/r";
  HttpResponse r4 = lifeline::SendAndWait(*transport, del);
  REQUIRE(r4.ok());
  CHECK(r4.body == "DELETE:");

  HttpResponse r5 = lifeline::SendAndWait(*transport, Get(server.base_url() + "/nowhere"));
  REQUIRE(r5.ok());
  CHECK(r5.status == 404);

  auto requests = server.requests();
  REQUIRE(requests.size() == 5);
  CHECK(requests[0].body.size() == 2 * 1024 * 1024);
  CHECK_FALSE(requests[0].HasHeader("Content-Type"));
  CHECK_FALSE(requests[0].HasHeader("Expect"));
  CHECK(requests[1].Header("Content-Length") == "0");
  CHECK(requests[1].body.empty());
  // (cpp-httplib drops empty header fields; see the raw-bytes test below.)
  CHECK(requests[3].method == "DELETE");
  CHECK(requests[4].response_status == 404);
}

TEST_CASE("Header fields go on the wire as given, an empty value included") {
  // cpp-httplib drops empty fields, so this reads the raw request bytes.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t len = sizeof(address);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &len) == 0);
  std::string raw;
  std::thread server([&] {
    int connection = ::accept(listener, nullptr, nullptr);
    if (connection < 0) return;
    char buffer[4096];
    while (raw.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(connection, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      raw.append(buffer, static_cast<std::size_t>(n));
    }
    const char reply[] = "HTTP/1.1 204 No Content\r\nX-Reply: yes\r\n\r\n";
    ::send(connection, reply, sizeof(reply) - 1, MSG_NOSIGNAL);
    ::close(connection);
  });
  auto transport = MakeTransport();
  HttpRequest request = Get("http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/raw");
  request.headers = {{"X-Empty", ""}, {"X-Two", "a"}, {"X-Two", "b"}, {"User-Agent", "custom/1"}};
  HttpResponse r = lifeline::SendAndWait(*transport, request);
  server.join();
  ::close(listener);
  REQUIRE(r.ok());
  CHECK(r.status == 204);
  CHECK(r.Header("x-reply") == "yes");
  CHECK(raw.rfind("GET /raw HTTP/1.1\r\n", 0) == 0);
  CHECK(raw.find("\r\nX-Empty:\r\n") != std::string::npos);
  CHECK(raw.find("\r\nX-Two: a\r\nX-Two: b\r\n") != std::string::npos);
  CHECK(raw.find("\r\nUser-Agent: custom/1\r\n") != std::string::npos);
  CHECK(raw.find("lifeline/") == std::string::npos);  // the caller's User-Agent replaced ours
}

TEST_CASE("2000 concurrent requests each complete exactly once, over reused connections") {
  FakeHttpServer server;
  server.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.body, "text/plain");
  });
  CurlTransportOptions options;
  REQUIRE(options.max_total_connections == 64);
  auto transport = MakeTransport(options);
  Completions done;

  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  constexpr std::size_t kTotal = kThreads * kPerThread;
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::uint64_t id = static_cast<std::uint64_t>(t * kPerThread + i + 1);
        HttpRequest request = Post(server.base_url() + "/echo", "payload-" + std::to_string(id), id);
        request.timeout_ms = 60000;
        transport->Send(std::move(request), done.Callback());
      }
    });
  }
  for (auto& s : senders) s.join();
  REQUIRE(done.WaitFor(kTotal));

  auto by_id = done.by_id();
  REQUIRE(by_id.size() == kTotal);
  std::size_t wrong = 0;
  for (std::uint64_t id = 1; id <= kTotal; ++id) {
    const auto& responses = by_id[id];
    if (responses.size() != 1 || responses[0].status != 200 ||
        responses[0].body != "payload-" + std::to_string(id)) {
      ++wrong;
    }
  }
  CHECK(wrong == 0);
  CHECK(done.count() == kTotal);  // nothing completed twice

  auto m = transport->metrics();
  CHECK(m.requests_accepted == kTotal);
  CHECK(m.requests_sent == kTotal);
  CHECK(m.requests_completed == kTotal);
  CHECK(m.in_flight == 0);
  CHECK(m.responses == kTotal);
  CHECK(server.request_count() == kTotal);
  // Keep-alive: the client opened exactly the connections the server
  // accepted, never more than its limit, and every other request reused one.
  CHECK(m.connections_opened == server.connections_accepted());
  // One host: bounded by max_host_connections (32), not the total of 64.
  REQUIRE(options.max_host_connections == 32);
  CHECK(server.connections_accepted() <= 32);
  CHECK(m.connections_reused + m.connections_opened == kTotal);
  CHECK(m.connections_reused >= kTotal - 32);
}

TEST_CASE("Sequential requests to one host reuse a single connection") {
  FakeHttpServer server;
  server.Get("/ping", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("pong", "text/plain");
  });
  auto transport = MakeTransport();
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = lifeline::SendAndWait(*transport, Get(server.base_url() + "/ping"));
    REQUIRE(r.status == 200);
  }
  CHECK(server.connections_accepted() == 1);
  auto m = transport->metrics();
  CHECK(m.connections_opened == 1);
  CHECK(m.connections_reused == 19);
  std::set<int> client_ports;
  for (const auto& r : server.requests()) client_ports.insert(r.remote_port);
  CHECK(client_ports.size() == 1);
}

TEST_CASE("A response slower than timeout_ms completes with kTimeout") {
  FakeHttpServer server;
  server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("late", "text/plain");
  });
  server.DelayRequests(1, std::chrono::milliseconds(30000));
  auto transport = MakeTransport();
  HttpRequest request = Get(server.base_url() + "/slow", 7);
  request.timeout_ms = 200;
  HttpResponse r = lifeline::SendAndWait(*transport, request);
  CHECK(r.error == TransportError::kTimeout);
  CHECK_FALSE(r.ok());
  CHECK(r.status == 0);
  CHECK(r.request_id == 7);
  CHECK(r.error_message.rfind("curl error 28 (", 0) == 0);
  CHECK(transport->metrics().timeouts == 1);
  REQUIRE(server.WaitForRequests(1, kWait));
  CHECK(server.requests()[0].delayed);
}

TEST_CASE("A refused connection completes with kConnection") {
  RefusingPort closed;
  auto transport = MakeTransport();
  HttpResponse r = lifeline::SendAndWait(
      *transport, Get("http://127.0.0.1:" + std::to_string(closed.port()) + "/x"));
  CHECK(r.error == TransportError::kConnection);
  CHECK(r.status == 0);
  CHECK(r.error_message.rfind("curl error 7 (", 0) == 0);
  CHECK(transport->metrics().connection_errors == 1);
}

TEST_CASE("A dropped connection completes with kConnection") {
  FakeHttpServer server;
  server.Post("/cb", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  server.DropConnections(1);
  auto transport = MakeTransport();  // fresh: no connection to reuse
  HttpResponse r = lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "x"));
  CHECK(r.error == TransportError::kConnection);
  CHECK(r.error_message.rfind("curl error 52 (", 0) == 0);  // CURLE_GOT_NOTHING
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].dropped);
  CHECK(requests[0].response_status == 0);
  CHECK(requests[0].body == "x");  // the server did receive it
}

TEST_CASE("libcurl re-sends once when a reused connection is dropped before any response") {
  // Pins the behaviour documented in curl_transport.hpp: the caller gets one
  // response, the far side saw the request twice.
  FakeHttpServer server;
  server.Post("/cb", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  auto transport = MakeTransport();
  REQUIRE(lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "warm-up")).status ==
          200);
  server.DropConnections(1);
  HttpResponse r = lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "once"));
  REQUIRE(r.ok());
  CHECK(r.status == 200);
  auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].body == "once");
  CHECK(requests[1].dropped);
  CHECK(requests[2].body == "once");
  CHECK_FALSE(requests[2].dropped);
  CHECK(requests[2].remote_port != requests[1].remote_port);
}

TEST_CASE("A 429 passes through as a response with a readable Retry-After") {
  FakeHttpServer server;
  server.Post("/cb", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  server.RespondWithStatus(1, 429, 7);
  auto transport = MakeTransport();
  HttpResponse throttled = lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "a"));
  REQUIRE(throttled.ok());
  CHECK(throttled.status == 429);
  CHECK(throttled.Header("retry-after") == "7");
  HttpResponse next = lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "b"));
  CHECK(next.status == 200);
  CHECK(next.FindHeader("Retry-After") == nullptr);

  SECTION("for a time window, on one path only") {
    lifeline::testing::Fault window;
    window.status = 429;
    window.retry_after_seconds = 2;
    window.count = -1;
    window.window = std::chrono::hours(1);
    window.path_regex = "/cb";
    server.AddFault(window);
    for (int i = 0; i < 3; ++i) {
      HttpResponse r = lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "c"));
      CHECK(r.status == 429);
      CHECK(r.Header("Retry-After") == "2");
    }
    CHECK(lifeline::SendAndWait(*transport, Get(server.base_url() + "/other")).status == 404);
    server.ClearFaults();
    CHECK(lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "d")).status == 200);
  }
  SECTION("5xx for the next N") {
    server.RespondWithStatus(2, 503);
    CHECK(lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "e")).status == 503);
    CHECK(lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "f")).status == 503);
    CHECK(lifeline::SendAndWait(*transport, Post(server.base_url() + "/cb", "g")).status == 200);
    auto requests = server.requests();
    CHECK(requests[requests.size() - 2].injected);
    CHECK_FALSE(requests.back().injected);
  }
}

TEST_CASE("TLS verification is on by default") {
  CurlTransportOptions defaults;
  CHECK(defaults.verify_tls);
  CHECK(defaults.ca_file.empty());

  SECTION("HTTPS to a plain-HTTP port never succeeds") {
    FakeHttpServer plain;
    plain.Get("/", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
    auto transport = MakeTransport();
    HttpResponse r = lifeline::SendAndWait(
        *transport, Get("https://127.0.0.1:" + std::to_string(plain.port()) + "/"));
    CHECK_FALSE(r.ok());
    CHECK((r.error == TransportError::kTls || r.error == TransportError::kConnection));
  }

  SECTION("a self-signed certificate is refused unless trusted through ca_file") {
    std::string cert = TempDir() + "/curl_transport_cert.pem";
    std::string key = TempDir() + "/curl_transport_key.pem";
    std::string error;
    REQUIRE(lifeline::testing::WriteSelfSignedCertificate(cert, key, &error));
    FakeHttpServer::Options server_options;
    server_options.tls_cert_file = cert;
    server_options.tls_key_file = key;
    FakeHttpServer secure(server_options);
    secure.Get("/s", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("secret", "text/plain");
    });
    REQUIRE(secure.base_url().rfind("https://", 0) == 0);

    auto verifying = MakeTransport();
    HttpResponse refused = lifeline::SendAndWait(*verifying, Get(secure.base_url() + "/s"));
    CHECK(refused.error == TransportError::kTls);
    CHECK(refused.error_message.rfind("curl error 60 (", 0) == 0);  // PEER_FAILED_VERIFICATION
    CHECK(verifying->metrics().tls_errors == 1);

    CurlTransportOptions trusting;
    trusting.ca_file = cert;
    auto trusted = MakeTransport(trusting);
    HttpResponse ok = lifeline::SendAndWait(*trusted, Get(secure.base_url() + "/s"));
    REQUIRE(ok.ok());
    CHECK(ok.status == 200);
    CHECK(ok.body == "secret");
    // The certificate names localhost too.
    HttpResponse by_name = lifeline::SendAndWait(
        *trusted, Get("https://localhost:" + std::to_string(secure.port()) + "/s"));
    CHECK(by_name.status == 200);

    CurlTransportOptions insecure;
    insecure.verify_tls = false;
    auto unverified = MakeTransport(insecure);
    CHECK(lifeline::SendAndWait(*unverified, Get(secure.base_url() + "/s")).status == 200);
  }
}

TEST_CASE("Shutdown completes queued and in-flight requests with an error, exactly once") {
  FakeHttpServer server;
  server.Post("/hold", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  server.DelayRequests(100, std::chrono::milliseconds(60000));
  CurlTransportOptions options;
  options.max_host_connections = 4;  // 4 in flight at the server, the rest queued in libcurl
  auto transport = MakeTransport(options);
  Completions done;
  for (std::uint64_t id = 1; id <= 10; ++id) {
    HttpRequest request = Post(server.base_url() + "/hold", "x", id);
    request.timeout_ms = 120000;
    transport->Send(std::move(request), done.Callback());
  }
  REQUIRE(server.WaitForRequests(4, kWait));
  CHECK(done.count() == 0);
  CHECK(transport->metrics().in_flight == 10);

  transport->Shutdown();
  CHECK(done.count() == 10);  // all completed before Shutdown returned
  auto by_id = done.by_id();
  REQUIRE(by_id.size() == 10);
  for (auto& [id, responses] : by_id) {
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].error == TransportError::kOther);
    CHECK(responses[0].error_message == "transport shut down");
  }
  CHECK(transport->metrics().in_flight == 0);
  CHECK(transport->metrics().other_errors == 10);

  // After shutdown, Send completes at once on the calling thread.
  bool completed_inline = false;
  std::thread::id completion_thread;
  transport->Send(Post(server.base_url() + "/hold", "late", 99), [&](HttpResponse r) {
    completed_inline = true;
    completion_thread = std::this_thread::get_id();
    CHECK(r.error == TransportError::kOther);
    CHECK(r.error_message == "transport shut down");
    CHECK(r.request_id == 99);
  });
  CHECK(completed_inline);
  CHECK(completion_thread == std::this_thread::get_id());
  transport->Shutdown();  // idempotent
  CHECK(server.request_count() == 4);
}

TEST_CASE("Completions run on the transport thread, never inside Send, and may send again") {
  FakeHttpServer server;
  server.Get("/n", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  auto transport = MakeTransport();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::thread::id> threads;
  int remaining = 5;
  std::function<void(HttpResponse)> chain;
  std::atomic<bool> inside_send{false};
  chain = [&](HttpResponse r) {
    CHECK_FALSE(inside_send.load());
    CHECK(r.status == 200);
    std::lock_guard<std::mutex> lock(mu);
    threads.push_back(std::this_thread::get_id());
    if (--remaining > 0) {
      transport->Send(Get(server.base_url() + "/n"), chain);  // re-entrant Send
    }
    cv.notify_all();
  };
  inside_send = true;
  transport->Send(Get(server.base_url() + "/n"), chain);
  inside_send = false;
  std::unique_lock<std::mutex> lock(mu);
  REQUIRE(cv.wait_for(lock, kWait, [&] { return remaining == 0; }));
  REQUIRE(threads.size() == 5);
  for (auto id : threads) {
    CHECK(id == threads[0]);
    CHECK(id != std::this_thread::get_id());
  }
}

TEST_CASE("A completion that throws does not stop the transport") {
  FakeHttpServer server;
  server.Get("/n", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  auto transport = MakeTransport();
  Completions done;
  transport->Send(Get(server.base_url() + "/n", 1), [&](HttpResponse r) {
    done.Callback()(std::move(r));
    throw std::runtime_error("bad completion");
  });
  REQUIRE(done.WaitFor(1));
  HttpResponse after = lifeline::SendAndWait(*transport, Get(server.base_url() + "/n"));
  CHECK(after.status == 200);
}

TEST_CASE("Invalid requests complete with kOther without touching the network") {
  FakeHttpServer server;
  auto transport = MakeTransport();

  HttpRequest injection = Get(server.base_url() + "/x");
  injection.headers = {{"X-Ok", "1"}, {"X-Bad", "a\r\nInjected: yes"}};
  HttpResponse r1 = lifeline::SendAndWait(*transport, injection);
  CHECK(r1.error == TransportError::kOther);
  CHECK(r1.error_message == "request.headers[1]: value contains CR, LF or NUL");

  HttpRequest bad_method = Get(server.base_url() + "/x");
  bad_method.method = "GET /evil";
  CHECK(lifeline::SendAndWait(*transport, bad_method).error_message ==
        "request.method is not an HTTP token");

  HttpRequest file_url = Get("file:///etc/passwd");
  CHECK(lifeline::SendAndWait(*transport, file_url).error_message ==
        "request.url must start with http:// or https://");

  HttpRequest no_timeout = Get(server.base_url() + "/x");
  no_timeout.timeout_ms = 0;
  CHECK(lifeline::SendAndWait(*transport, no_timeout).error_message ==
        "request.timeout_ms must be > 0");

  CHECK(server.request_count() == 0);
  CHECK(transport->metrics().requests_sent == 0);
  CHECK(transport->metrics().other_errors == 4);
}

TEST_CASE("A response body over the limit fails the request with kOther") {
  FakeHttpServer server;
  server.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(4096, 'b'), "text/plain");
  });
  CurlTransportOptions options;
  options.max_response_body_bytes = 1024;
  auto transport = MakeTransport(options);
  HttpResponse r = lifeline::SendAndWait(*transport, Get(server.base_url() + "/big"));
  CHECK(r.error == TransportError::kOther);
  CHECK(r.error_message == "response body exceeds max_response_body_bytes (1024)");
  CHECK(r.body.empty());
}

TEST_CASE("CurlTransport::Create refuses invalid options, naming them") {
  CurlTransportOptions zero;
  zero.max_total_connections = 0;
  auto a = CurlTransport::Create(zero);
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().code() == lifeline::StatusCode::kInvalidArgument);
  CHECK(a.status().message() == "options.max_total_connections must be > 0");

  CurlTransportOptions per_host;
  per_host.max_host_connections = -1;
  CHECK(CurlTransport::Create(per_host).status().message() ==
        "options.max_host_connections must be > 0");

  CurlTransportOptions missing_ca;
  missing_ca.ca_file = TempDir() + "/no-such-ca.pem";
  CHECK(CurlTransport::Create(missing_ca).status().message() ==
        "options.ca_file is not a readable file");

  CurlTransportOptions agent;
  agent.user_agent = "x\r\nInjected: 1";
  CHECK(CurlTransport::Create(agent).status().message() ==
        "options.user_agent contains CR, LF or NUL");
}

namespace {

// Fault injection through the port: the exchange really happens, then the
// response is "lost" on the way back, as when a network path dies after the
// platform acted. The caller sees kTimeout; the server saw the request.
class LosingTransport : public lifeline::ForwardingHttpTransport {
 public:
  using ForwardingHttpTransport::ForwardingHttpTransport;
  std::atomic<int> lost{0};

  void Send(HttpRequest request, lifeline::HttpCompletion on_done) override {
    bool lose = request.url.find("/lose") != std::string::npos;
    if (!lose) {
      ForwardingHttpTransport::Send(std::move(request), std::move(on_done));
      return;
    }
    ForwardingHttpTransport::Send(std::move(request), [this, on_done](HttpResponse real) {
      ++lost;
      HttpResponse timeout;
      timeout.error = TransportError::kTimeout;
      timeout.error_message = "injected: response lost";
      timeout.request_id = real.request_id;
      on_done(std::move(timeout));
    });
  }
};

}  // namespace

TEST_CASE("ForwardingHttpTransport injects a fault while forwarding the rest") {
  FakeHttpServer server;
  server.Post("/(lose|keep)", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("applied", "text/plain");
  });
  auto curl = MakeTransport();
  LosingTransport faulty(curl.get());
  CHECK(faulty.target() == curl.get());

  HttpResponse kept = lifeline::SendAndWait(faulty, Post(server.base_url() + "/keep", "k", 1));
  CHECK(kept.status == 200);
  CHECK(kept.body == "applied");
  HttpResponse lost = lifeline::SendAndWait(faulty, Post(server.base_url() + "/lose", "l", 2));
  CHECK(lost.error == TransportError::kTimeout);
  CHECK(lost.error_message == "injected: response lost");
  CHECK(lost.request_id == 2);
  CHECK(faulty.lost == 1);

  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1].path == "/lose");
  CHECK(requests[1].response_status == 200);  // the platform did act on it
}
