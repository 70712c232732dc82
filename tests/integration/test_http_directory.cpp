// The live stakeholder lookup over HTTP against a fake HRIS on loopback.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "http/curl_transport.hpp"
#include "providers/http_directory.hpp"
#include "support/fake_http_server.hpp"

using namespace lifeline;

TEST_CASE("HttpDirectoryProvider: 200 with a member, and every failure mode") {
  testing::FakeHttpServer hris;
  hris.Get("/api/contacts/(.+)", [](const httplib::Request& req, httplib::Response& res) {
    std::string id = req.matches[1];
    if (id == "alice") {
      res.set_content(R"({"id":"alice","channels":["sms"],"addresses":{"sms":"+12125550101"},"tier":2})",
                      "application/json");
    } else if (id == "bob") {
      res.set_content(R"({"id":"carol","channels":["sms"],"addresses":{"sms":"+12125550102"}})", "application/json");
    } else if (id == "dave") {
      res.set_content(R"({"id":"dave","channels":["sms"],"addresses":{}})", "application/json");
    } else if (id == "erin") {
      res.set_content(R"([{"id":"erin"}])", "application/json");
    } else if (id == "slow") {
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      res.status = 503;
    } else if (id == "a b/c") {
      res.set_content(R"({"id":"a b/c","channels":["email"],"addresses":{"email":"x@example.com"}})",
                      "application/json");
    } else if (id == "down") {
      res.status = 503;
    } else {
      res.status = 404;
    }
  });
  auto transport = CurlTransport::Create();
  REQUIRE(transport.ok());
  HttpDirectoryProvider provider({hris.base_url() + "/api/contacts/", {{"Authorization", "Bearer hris"}}},
                                 transport->get());

  auto alice = provider.Lookup("alice", 2000);
  REQUIRE(alice.ok());
  CHECK(alice->tier == 2);
  CHECK(alice->Address(Channel::kSms) == "+12125550101");
  CHECK(hris.requests().at(0).Header("authorization") == "Bearer hris");
  CHECK(hris.requests().at(0).target == "/api/contacts/alice");

  auto spaced = provider.Lookup("a b/c", 2000);   // the id is URL-encoded
  REQUIRE(spaced.ok());
  CHECK(spaced->id == "a b/c");

  CHECK(provider.Lookup("bob", 2000).status().message() == "directory lookup: the answer is for another member");
  auto dave = provider.Lookup("dave", 2000);
  CHECK(dave.status().code() == StatusCode::kInvalidArgument);
  CHECK(dave.status().message().find("+1212") == std::string::npos);   // never the contact data
  CHECK(provider.Lookup("erin", 2000).status().message() == "directory lookup: the answer is not a JSON object");
  CHECK(provider.Lookup("nobody", 2000).status().code() == StatusCode::kNotFound);
  auto down = provider.Lookup("down", 2000);
  CHECK(down.status().code() == StatusCode::kUnavailable);
  CHECK(down.status().message() == "directory lookup: HTTP 503");
  CHECK(provider.Lookup("slow", 200).status().code() == StatusCode::kTimeout);
  CHECK(provider.successes() == 2);
  CHECK(provider.failures() == 6);

  HttpDirectoryProvider refused({"http://127.0.0.1:9/contacts", {}}, transport->get());
  CHECK(refused.Lookup("alice", 1000).status().code() == StatusCode::kUnavailable);
}
