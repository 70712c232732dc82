// fake_platforms.hpp -- Genesys Cloud, NICE CXone and webhook fakes on loopback.
//
// Built on FakeHttpServer. Each fake checks the documented request shapes
// and credentials, answers like the real platform, and counts deliveries by
// Lifeline request id, so tests assert exactly-once on what a platform
// received. A request that breaks the documented shape is answered 400 and
// recorded in violations().
#ifndef LIFELINE_TESTS_SUPPORT_FAKE_PLATFORMS_HPP_
#define LIFELINE_TESTS_SUPPORT_FAKE_PLATFORMS_HPP_

#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "support/fake_http_server.hpp"

namespace lifeline {
namespace testing {

class FakePlatform {
 public:
  FakeHttpServer& server() { return server_; }
  std::string base_url() const { return server_.base_url(); }

  // Deliveries accepted, by request id.
  std::map<std::string, int> deliveries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_;
  }
  size_t delivered_total() const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& d : deliveries_) n += d.second;
    return n;
  }
  std::vector<std::string> violations() const {
    std::lock_guard<std::mutex> lock(mu_);
    return violations_;
  }
  int token_requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return token_requests_;
  }
  // Makes the current token invalid: the next callback gets a 401.
  void RevokeToken() {
    std::lock_guard<std::mutex> lock(mu_);
    ++token_generation_;
  }
  // The bodies of accepted callbacks, in arrival order.
  std::vector<std::string> accepted_bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 protected:
  void Violation(httplib::Response& res, const std::string& what) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      violations_.push_back(what);
    }
    res.status = 400;
    res.set_content(R"({"message":"bad request shape"})", "application/json");
  }
  std::string IssueToken() {
    std::lock_guard<std::mutex> lock(mu_);
    ++token_requests_;
    return "tok-" + std::to_string(token_generation_);
  }
  bool BearerValid(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    return req.get_header_value("Authorization") ==
           "Bearer tok-" + std::to_string(token_generation_);
  }
  int Deliver(const std::string& request_id, const std::string& body) {
    std::lock_guard<std::mutex> lock(mu_);
    bodies_.push_back(body);
    return ++deliveries_[request_id];
  }

  FakeHttpServer server_;
  mutable std::mutex mu_;
  std::map<std::string, int> deliveries_;
  std::vector<std::string> violations_;
  std::vector<std::string> bodies_;
  int token_requests_ = 0;
  int token_generation_ = 0;
};

inline bool IsE164(const std::string& s) { return std::regex_match(s, std::regex(R"(\+[1-9]\d{6,14})")); }
inline bool IsGenesysTime(const std::string& s) {
  return std::regex_match(s, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"));
}

// Genesys Cloud: POST /oauth/token (client credentials, Basic auth) and
// POST /api/v2/conversations/callbacks (CreateCallbackCommand).
class FakeGenesys : public FakePlatform {
 public:
  // `expected_basic` is the whole Authorization value the token request must
  // carry, e.g. "Basic Y2lkOnNlYw==" for client "cid" and secret "sec".
  FakeGenesys(std::string expected_basic, std::string queue_id)
      : expected_basic_(std::move(expected_basic)), queue_(std::move(queue_id)) {
    server_.Post("/oauth/token", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != ExpectedBasic()) return Violation(res, "token: bad Basic auth");
      if (req.body != "grant_type=client_credentials") return Violation(res, "token: grant_type");
      res.set_content(R"({"access_token":")" + IssueToken() +
                          R"(","token_type":"bearer","expires_in":86400})",
                      "application/json");
    });
    server_.Post("/api/v2/conversations/callbacks",
                 [this](const httplib::Request& req, httplib::Response& res) {
      if (!BearerValid(req)) {
        res.status = 401;
        res.set_content(R"({"message":"token expired"})", "application/json");
        return;
      }
      rapidjson::Document d;
      d.Parse(req.body.c_str());
      if (d.HasParseError() || !d.IsObject()) return Violation(res, "callbacks: not JSON");
      std::string queue;
      if (d.HasMember("queueId") && d["queueId"].IsString()) queue = d["queueId"].GetString();
      if (d.HasMember("routingData") && d["routingData"].IsObject() &&
          d["routingData"].HasMember("queueId")) {
        queue = d["routingData"]["queueId"].GetString();
      }
      if (queue != queue_) return Violation(res, "callbacks: not the emergency queue");
      if (!d.HasMember("callbackNumbers") || !d["callbackNumbers"].IsArray() ||
          d["callbackNumbers"].Size() != 1 || !d["callbackNumbers"][0].IsString() ||
          !IsE164(d["callbackNumbers"][0].GetString())) {
        return Violation(res, "callbacks: callbackNumbers must be one E.164 number");
      }
      if (d.HasMember("callbackScheduledTime") &&
          (!d["callbackScheduledTime"].IsString() ||
           !IsGenesysTime(d["callbackScheduledTime"].GetString()))) {
        return Violation(res, "callbacks: callbackScheduledTime format");
      }
      if (!d.HasMember("data") || !d["data"].IsObject()) return Violation(res, "callbacks: data");
      for (auto it = d["data"].MemberBegin(); it != d["data"].MemberEnd(); ++it) {
        if (!it->value.IsString()) return Violation(res, "callbacks: data values must be strings");
      }
      if (!d["data"].HasMember("lifelineRequestId")) return Violation(res, "callbacks: request id");
      int n = Deliver(d["data"]["lifelineRequestId"].GetString(), req.body);
      res.set_content(R"({"conversation":{"id":"conv-)" + std::to_string(n) + R"("}})",
                      "application/json");
    });
  }

 private:
  std::string ExpectedBasic() const { return expected_basic_; }
  std::string expected_basic_, queue_;
};

// NICE CXone: POST /auth/token and POST .../queuecallback | .../promise.
class FakeCxone : public FakePlatform {
 public:
  FakeCxone() {
    server_.Post("/auth/token", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.body.find("grant_type=password") == std::string::npos) return Violation(res, "token: grant_type");
      res.set_content(R"({"access_token":")" + IssueToken() + R"(","expires_in":3600})",
                      "application/json");
    });
    server_.Post(R"(/incontactapi/services/v\d+\.0/(queuecallback|promise))",
                 [this](const httplib::Request& req, httplib::Response& res) {
      if (!BearerValid(req)) {
        res.status = 401;
        return;
      }
      rapidjson::Document d;
      d.Parse(req.body.c_str());
      if (d.HasParseError() || !d.IsObject() || !d.HasMember("phoneNumber") ||
          !d.HasMember("skill") || !d.HasMember("notes")) {
        return Violation(res, "cxone: phoneNumber, skill and notes required");
      }
      bool promise = req.path.find("/promise") != std::string::npos;
      if (promise != d.HasMember("scheduleDate")) return Violation(res, "cxone: scheduleDate only on promise");
      std::smatch m;
      std::string notes = d["notes"].GetString();
      if (!std::regex_search(notes, m, std::regex("lifelineRequestId=([0-9a-f]+)"))) {
        return Violation(res, "cxone: request id in notes");
      }
      Deliver(m[1], req.body);
      res.status = 202;
      res.set_content(R"({"contactId":12345})", "application/json");
    });
  }
};

// A webhook receiver: any POST to /callbacks with a JSON body carrying requestId.
class FakeWebhook : public FakePlatform {
 public:
  FakeWebhook() {
    server_.Post("/callbacks", [this](const httplib::Request& req, httplib::Response& res) {
      rapidjson::Document d;
      d.Parse(req.body.c_str());
      if (d.HasParseError() || !d.IsObject() || !d.HasMember("requestId") || !d["requestId"].IsString()) {
        return Violation(res, "webhook: requestId");
      }
      Deliver(d["requestId"].GetString(), req.body);
      res.status = 204;
    });
  }
};

}  // namespace testing
}  // namespace lifeline

#endif  // LIFELINE_TESTS_SUPPORT_FAKE_PLATFORMS_HPP_
