// Unit tests of the HTTP transport port (include/lifeline/http_transport.hpp):
// no network, no threads except where a completion is delivered from one.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lifeline/http_transport.hpp"
#include "lifeline/transport_error.hpp"

using lifeline::HttpRequest;
using lifeline::HttpResponse;
using lifeline::TransportError;
using lifeline::ValidateHttpRequest;

namespace {

HttpRequest Valid() {
  HttpRequest r;
  r.method = "POST";
  r.url = "https://api.example.com/v1/x?y=1";
  r.headers = {{"Content-Type", "application/json"}};
  r.body = "{}";
  return r;
}

// A transport that records what it is given and completes from a thread of
// its own, as the contract requires.
class RecordingTransport : public lifeline::HttpTransport {
 public:
  std::vector<HttpRequest> sent;
  void Send(HttpRequest request, lifeline::HttpCompletion on_done) override {
    sent.push_back(request);
    HttpResponse response;
    response.status = 200;
    response.body = "echo:" + request.body;
    response.request_id = request.id;
    std::thread([on_done, response]() mutable { on_done(std::move(response)); }).join();
  }
};

}  // namespace

TEST_CASE("HttpRequest and HttpResponse defaults") {
  HttpRequest request;
  CHECK(request.method == "GET");
  CHECK(request.timeout_ms == 5000);
  CHECK(request.connect_timeout_ms == 0);
  CHECK(request.id == 0);
  HttpResponse response;
  CHECK(response.status == 0);
  CHECK(response.error == TransportError::kNone);
  CHECK(response.ok());
  response.error = TransportError::kTimeout;
  CHECK_FALSE(response.ok());
}

TEST_CASE("TransportError values and names are stable") {
  CHECK(static_cast<int>(TransportError::kNone) == 0);
  CHECK(static_cast<int>(TransportError::kTimeout) == 1);
  CHECK(static_cast<int>(TransportError::kConnection) == 2);
  CHECK(static_cast<int>(TransportError::kTls) == 3);
  CHECK(static_cast<int>(TransportError::kOther) == 4);
  CHECK(std::string(lifeline::TransportErrorName(TransportError::kNone)) == "none");
  CHECK(std::string(lifeline::TransportErrorName(TransportError::kTimeout)) == "timeout");
  CHECK(std::string(lifeline::TransportErrorName(TransportError::kConnection)) == "connection");
  CHECK(std::string(lifeline::TransportErrorName(TransportError::kTls)) == "tls");
  CHECK(std::string(lifeline::TransportErrorName(TransportError::kOther)) == "other");
  CHECK(std::string(lifeline::TransportErrorName(static_cast<TransportError>(99))) == "unknown");
  static_assert(lifeline::TransportErrorName(TransportError::kTls)[0] == 't', "constexpr");
}

TEST_CASE("HttpResponse::Header looks names up case-insensitively, first match wins") {
  HttpResponse r;
  r.headers = {{"Retry-After", "7"}, {"X-Dup", "first"}, {"x-dup", "second"}, {"X-Empty", ""}};
  CHECK(r.Header("retry-after") == "7");
  CHECK(r.Header("RETRY-AFTER") == "7");
  CHECK(r.Header("X-DUP") == "first");
  REQUIRE(r.FindHeader("x-empty") != nullptr);
  CHECK(r.FindHeader("x-empty")->empty());
  CHECK(r.FindHeader("Retry-After-Ms") == nullptr);
  CHECK(r.FindHeader("Retry") == nullptr);
  CHECK(r.Header("absent").empty());
  CHECK(lifeline::EqualsIgnoreCaseAscii("Content-Type", "content-TYPE"));
  CHECK_FALSE(lifeline::EqualsIgnoreCaseAscii("Content-Type", "Content-Typ"));
  CHECK_FALSE(lifeline::EqualsIgnoreCaseAscii("a", "b"));
  CHECK(lifeline::EqualsIgnoreCaseAscii("", ""));
}

TEST_CASE("ValidateHttpRequest accepts well-formed requests") {
  CHECK(ValidateHttpRequest(Valid()).ok());
  HttpRequest r = Valid();
  r.url = "HTTP://127.0.0.1:8080";
  r.method = "PATCH";
  r.headers = {{"X-Empty", ""}, {"Authorization", "Bearer a.b.c"}};
  r.connect_timeout_ms = 1000;
  CHECK(ValidateHttpRequest(r).ok());
}

TEST_CASE("ValidateHttpRequest refuses, naming the field but not the value") {
  auto message = [](HttpRequest r) {
    lifeline::Status s = ValidateHttpRequest(r);
    CHECK(s.code() == lifeline::StatusCode::kInvalidArgument);
    return s.message();
  };
  HttpRequest r = Valid();
  r.method = "";
  CHECK(message(r) == "request.method is not an HTTP token");
  r.method = "GET /x";
  CHECK(message(r) == "request.method is not an HTTP token");
  r = Valid();
  r.url = "ftp://example.com/";
  CHECK(message(r) == "request.url must start with http:// or https://");
  r.url = "";
  CHECK(message(r) == "request.url must start with http:// or https://");
  r.url = "https://";
  CHECK(message(r) == "request.url has no host");
  r.url = "http:///path";
  CHECK(message(r) == "request.url has no host");
  r.url = "https://example.com/a b";
  CHECK(message(r) == "request.url contains whitespace or a control character");
  r.url = "https://example.com/\r\nX: y";
  CHECK(message(r) == "request.url contains whitespace or a control character");
  r = Valid();
  r.headers = {{"Good", "1"}, {"Bad Name", "2"}};
  CHECK(message(r) == "request.headers[1]: name is not an HTTP token");
  r.headers = {{"", "1"}};
  CHECK(message(r) == "request.headers[0]: name is not an HTTP token");
  r.headers = {{"X-Secret", "s3cr3t\nInjected: 1"}};
  std::string m = message(r);
  CHECK(m == "request.headers[0]: value contains CR, LF or NUL");
  CHECK(m.find("s3cr3t") == std::string::npos);
  r.headers = {{"X", std::string("a\0b", 3)}};
  CHECK(message(r) == "request.headers[0]: value contains CR, LF or NUL");
  r = Valid();
  r.timeout_ms = 0;
  CHECK(message(r) == "request.timeout_ms must be > 0");
  r.timeout_ms = -5;
  CHECK(message(r) == "request.timeout_ms must be > 0");
  r = Valid();
  r.connect_timeout_ms = -1;
  CHECK(message(r) == "request.connect_timeout_ms must be >= 0");
}

TEST_CASE("ForwardingHttpTransport forwards every call to its target") {
  RecordingTransport target;
  lifeline::ForwardingHttpTransport forwarding(&target);
  CHECK(forwarding.target() == &target);
  HttpRequest r = Valid();
  r.id = 9;
  HttpResponse response = lifeline::SendAndWait(forwarding, r);
  REQUIRE(target.sent.size() == 1);
  CHECK(target.sent[0].url == r.url);
  CHECK(target.sent[0].body == "{}");
  CHECK(target.sent[0].id == 9);
  CHECK(response.status == 200);
  CHECK(response.body == "echo:{}");
  CHECK(response.request_id == 9);
}

TEST_CASE("A ForwardingHttpTransport subclass can rewrite requests and responses") {
  class Rewriting : public lifeline::ForwardingHttpTransport {
   public:
    using ForwardingHttpTransport::ForwardingHttpTransport;
    void Send(HttpRequest request, lifeline::HttpCompletion on_done) override {
      request.body = "rewritten";
      ForwardingHttpTransport::Send(std::move(request), [on_done](HttpResponse r) {
        r.status = 503;
        on_done(std::move(r));
      });
    }
  };
  RecordingTransport target;
  Rewriting rewriting(&target);
  HttpResponse response = lifeline::SendAndWait(rewriting, Valid());
  REQUIRE(target.sent.size() == 1);
  CHECK(target.sent[0].body == "rewritten");
  CHECK(response.status == 503);
  CHECK(response.body == "echo:rewritten");
}
