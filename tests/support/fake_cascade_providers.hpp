// fake_cascade_providers.hpp -- fake Twilio, SendGrid and FCM on loopback.
//
// Each fake is a FakeHttpServer (real HTTP, fault plan: 429/5xx/delays/
// drops) with handlers that validate the documented request shape and the
// authentication, answer like the real API, and record what each fake phone,
// inbox or device received. A request that fails validation gets 400 and is
// counted in `rejected()`.
//
//   FakeTwilio    POST /2010-04-01/Accounts/{Sid}/Messages.json  (Basic auth;
//                 To, From, Body, StatusCallback) -> 201 {"sid":"SM..","status":"queued"}
//                 POST .../Calls.json (To, From, Twiml with <Gather numDigits="1">)
//                 -> 201 {"sid":"CA.."}; `ThrottleAfter(n, k)`: the (n+1)th to
//                 (n+k)th messages get 429 {"code":20429} with Retry-After: 1
//   FakeSendGrid  POST /v3/mail/send (Bearer; personalizations/from/subject/
//                 content) -> 202 with X-Message-Id
//   FakeFcm       POST /v1/projects/{p}/messages:send (Bearer; message.token)
//                 -> 200 {"name":"projects/p/messages/N"}
#ifndef LIFELINE_TESTS_SUPPORT_FAKE_CASCADE_PROVIDERS_HPP_
#define LIFELINE_TESTS_SUPPORT_FAKE_CASCADE_PROVIDERS_HPP_

#include <rapidjson/document.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "http/basic_auth.hpp"
#include "support/fake_http_server.hpp"

namespace lifeline {
namespace testing {

struct FakeDelivery {
  std::string to;       // phone, email or device token
  std::string body;     // SMS body, TwiML, email text or push body
  std::string ref;      // the id the fake answered (SID, X-Message-Id, name)
  std::int64_t at = 0;  // the test's clock when it arrived (see set_clock)
  bool voice = false;
};

class FakeProviderBase {
 public:
  FakeHttpServer& server() { return server_; }
  std::string base_url() const { return server_.base_url(); }
  int rejected() const { return rejected_.load(); }
  std::vector<FakeDelivery> deliveries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_;
  }
  // Stamps each delivery with `clock()` (e.g. a ManualClock's Now).
  void set_clock(std::function<std::int64_t()> clock) {
    std::lock_guard<std::mutex> lock(mu_);
    clock_ = std::move(clock);
  }

 protected:
  void Reject(httplib::Response& res, const char* why) {
    ++rejected_;
    res.status = 400;
    res.set_content(std::string("{\"message\":\"") + why + "\"}", "application/json");
  }
  std::string Record(FakeDelivery d, const char* prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    d.ref = prefix + std::to_string(deliveries_.size() + 1);
    d.at = clock_ ? clock_() : 0;
    deliveries_.push_back(d);
    return d.ref;
  }
  FakeHttpServer server_;
  mutable std::mutex mu_;
  std::vector<FakeDelivery> deliveries_;
  std::function<std::int64_t()> clock_;
  std::atomic<int> rejected_{0};
};

class FakeTwilio : public FakeProviderBase {
 public:
  FakeTwilio(std::string sid, std::string token) : sid_(std::move(sid)), token_(std::move(token)) {
    auto expected = BasicAuthorization(sid_, token_);
    auth_ = *expected;
    server_.Post("/2010-04-01/Accounts/([^/]+)/Messages.json",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   if (!Check(req, res)) return;
                   if (!req.has_param("To") || !req.has_param("From") || !req.has_param("Body") ||
                       !req.has_param("StatusCallback")) {
                     return Reject(res, "missing To, From, Body or StatusCallback");
                   }
                   int n = ++messages_;
                   if (n > throttle_after_ && n <= throttle_after_ + throttle_count_) {
                     ++throttled_;
                     res.status = 429;
                     res.set_header("Retry-After", "1");
                     res.set_content(R"({"code":20429,"message":"Too Many Requests","status":429})",
                                     "application/json");
                     return;
                   }
                   std::string sid = Record({req.get_param_value("To"), req.get_param_value("Body"), "", 0, false}, "SM");
                   res.status = 201;
                   res.set_content("{\"sid\":\"" + sid + "\",\"status\":\"queued\"}", "application/json");
                 });
    server_.Post("/2010-04-01/Accounts/([^/]+)/Calls.json",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   if (!Check(req, res)) return;
                   std::string twiml = req.get_param_value("Twiml");
                   if (!req.has_param("To") || !req.has_param("From") ||
                       twiml.find("<Gather numDigits=\"1\"") == std::string::npos ||
                       twiml.find("<Say>") == std::string::npos) {
                     return Reject(res, "missing To, From or a Twiml with <Gather numDigits=\"1\"> and <Say>");
                   }
                   std::string sid = Record({req.get_param_value("To"), twiml, "", 0, true}, "CA");
                   res.status = 201;
                   res.set_content("{\"sid\":\"" + sid + "\",\"status\":\"queued\"}", "application/json");
                 });
  }
  void ThrottleAfter(int n, int count) {
    throttle_after_ = n;
    throttle_count_ = count;
  }
  int throttled() const { return throttled_.load(); }

 private:
  bool Check(const httplib::Request& req, httplib::Response& res) {
    if (req.matches.size() < 2 || req.matches[1] != sid_) {
      Reject(res, "unknown account");
      return false;
    }
    if (req.get_header_value("Authorization") != auth_) {
      ++rejected_;
      res.status = 401;
      res.set_content(R"({"code":20003,"message":"Authenticate"})", "application/json");
      return false;
    }
    if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) != 0) {
      Reject(res, "not form-encoded");
      return false;
    }
    return true;
  }
  std::string sid_, token_, auth_;
  std::atomic<int> messages_{0};
  std::atomic<int> throttle_after_{1 << 30};
  std::atomic<int> throttle_count_{0};
  std::atomic<int> throttled_{0};
};

class FakeSendGrid : public FakeProviderBase {
 public:
  explicit FakeSendGrid(std::string api_key) : key_(std::move(api_key)) {
    server_.Post("/v3/mail/send", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != "Bearer " + key_) {
        ++rejected_;
        res.status = 401;
        return;
      }
      rapidjson::Document d;
      d.Parse(req.body.c_str(), req.body.size());
      if (d.HasParseError() || !d.IsObject() || !d.HasMember("personalizations") ||
          !d["personalizations"].IsArray() || d["personalizations"].Empty() ||
          !d["personalizations"][0].HasMember("to") || !d.HasMember("from") ||
          !d["from"].HasMember("email") || !d.HasMember("subject") || !d.HasMember("content") ||
          !d["content"].IsArray() || d["content"].Empty()) {
        return Reject(res, "bad mail/send body");
      }
      std::string id = Record({d["personalizations"][0]["to"][0]["email"].GetString(),
                               d["content"][0]["value"].GetString(), "", 0, false},
                              "sgmsg");
      res.status = 202;
      res.set_header("X-Message-Id", id);
    });
  }

 private:
  std::string key_;
};

class FakeFcm : public FakeProviderBase {
 public:
  FakeFcm(std::string project, std::string bearer) : project_(std::move(project)), bearer_(std::move(bearer)) {
    server_.Post("/v1/projects/([^/]+)/messages:send",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   if (req.matches[1] != project_) return Reject(res, "unknown project");
                   if (req.get_header_value("Authorization") != "Bearer " + bearer_) {
                     ++rejected_;
                     res.status = 401;
                     return;
                   }
                   rapidjson::Document d;
                   d.Parse(req.body.c_str(), req.body.size());
                   if (d.HasParseError() || !d.HasMember("message") || !d["message"].HasMember("token") ||
                       !d["message"].HasMember("notification")) {
                     return Reject(res, "bad message");
                   }
                   std::string name = Record({d["message"]["token"].GetString(),
                                              d["message"]["notification"]["body"].GetString(), "", 0, false},
                                             "");
                   res.status = 200;
                   res.set_content("{\"name\":\"projects/" + project_ + "/messages/" + name + "\"}",
                                   "application/json");
                 });
  }

 private:
  std::string project_, bearer_;
};

}  // namespace testing
}  // namespace lifeline

#endif  // LIFELINE_TESTS_SUPPORT_FAKE_CASCADE_PROVIDERS_HPP_
