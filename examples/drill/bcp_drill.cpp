// The BCP activation drill: a P1 stakeholder notification cascade, replayed
// in simulated time through the C ABI (lifeline_cascade_runtime_*).
//
// On loopback: a fake Twilio (Messages.json and Calls.json, Basic auth) that
// answers 429 Too Many Requests for a while once 150 messages went through,
// a fake SendGrid (/v3/mail/send, 202 + X-Message-Id), and a fake HRIS whose
// live contact lookups fail part-way through the activation (the cached
// records are used and flagged stale_contact_data). The drill plays every
// phone and inbox: signed Twilio status callbacks, SMS replies "1", a
// pressed 1 on a call, email acknowledgement links, SendGrid events -- and a
// share of stakeholders who never answer, whose cascades must escalate to
// the on-call manager. Then it checks the promises.
#include "bcp_drill.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "http/basic_auth.hpp"
#include "http/form_encoding.hpp"
#include "lifeline/lifeline.h"
#include "providers/cascade_inbound.hpp"
#include "support/fake_cascade_providers.hpp"

namespace {

constexpr int64_t kSecond = 1000;
// 2026-03-09 14:00 UTC, the Monday after New York springs forward.
constexpr int64_t kStart = 1773064800000;
constexpr int kStakeholders = 300;
constexpr int kFreshLookups = 120;         // the HRIS answers these, then fails
constexpr int kCarrierBudget = 150;        // SMS accepted before the carrier throttles
constexpr int64_t kCarrierThrottleMs = 8 * kSecond;
constexpr int kThrottleLimit = 50;         // per endpoint, per second (the config)
constexpr int64_t kHoldMs = 90 * kSecond;  // P1 hold time (the config)
constexpr const char* kSid = "ACdrill";
constexpr const char* kToken = "drill-auth-token";
constexpr const char* kStatusUrl = "https://drill.example/lifeline/twilio/status";
constexpr const char* kGatherUrl = "https://drill.example/lifeline/twilio/gather";
constexpr const char* kInboundUrl = "https://drill.example/lifeline/twilio/sms";
constexpr const char* kManagerPhone = "+12125559999";

enum class Behaviour { kSmsReply, kPressOne, kEmailLink, kSilent };

struct Stakeholder {
  std::string id;
  std::string phone;
  std::string email;
  Behaviour behaviour = Behaviour::kSilent;
  int64_t acked_at = -1;   // simulated ms offset of the ack we sent
};

// One request that reached the fake carrier or mailer, at simulated time.
struct Hit {
  int64_t at = 0;
  std::string endpoint;   // "sms", "sms.priority", "voice", "email"
  bool throttled = false;
  std::string to;
  std::string ref;        // SID / X-Message-Id when accepted
  std::string body;       // SMS text, TwiML or email text
};

// A fake Twilio that stamps every request (429s included) with the drill's
// clock, validates the documented shapes and Basic auth, and throttles.
class DrillCarrier {
 public:
  explicit DrillCarrier(std::function<int64_t()> now) : now_(std::move(now)) {
    auth_ = *lifeline::BasicAuthorization(kSid, kToken);
    server_.Post("/2010-04-01/Accounts/([^/]+)/(Messages|Calls).json",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
  }
  std::string base_url() const { return server_.base_url(); }
  std::vector<Hit> hits() const {
    std::lock_guard<std::mutex> lock(mu_);
    return hits_;
  }
  int rejected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_;
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    bool call = req.matches[2] == "Calls";
    if (req.matches[1] != kSid || req.get_header_value("Authorization") != auth_ ||
        req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) != 0 ||
        !req.has_param("To") || !req.has_param("From") || !req.has_param("StatusCallback") ||
        !req.has_param(call ? "Twiml" : "Body")) {
      ++rejected_;
      res.status = 400;
      return;
    }
    Hit h;
    h.at = now_();
    h.to = req.get_param_value("To");
    h.endpoint = call ? "voice" : h.to == kManagerPhone ? "sms.priority" : "sms";
    h.body = req.get_param_value(call ? "Twiml" : "Body");
    if (!call) {
      if (accepted_sms_ >= kCarrierBudget && throttle_until_ == 0) throttle_until_ = h.at + kCarrierThrottleMs;
      if (h.at < throttle_until_) {
        h.throttled = true;
        hits_.push_back(h);
        res.status = 429;
        res.set_header("Retry-After", "2");
        res.set_content(R"({"code":20429,"message":"Too Many Requests","status":429})", "application/json");
        return;
      }
      ++accepted_sms_;
    }
    h.ref = (call ? "CA" : "SM") + std::to_string(hits_.size() + 1);
    hits_.push_back(h);
    res.status = 201;
    res.set_content("{\"sid\":\"" + h.ref + "\",\"status\":\"queued\"}", "application/json");
  }

  std::function<int64_t()> now_;
  std::string auth_;
  lifeline::testing::FakeHttpServer server_;
  mutable std::mutex mu_;
  std::vector<Hit> hits_;
  int accepted_sms_ = 0;
  int64_t throttle_until_ = 0;
  int rejected_ = 0;
};

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// The largest number of requests in any 1000 ms window.
int MaxPerSecond(std::vector<int64_t> at) {
  std::sort(at.begin(), at.end());
  int best = 0;
  std::size_t lo = 0;
  for (std::size_t hi = 0; hi < at.size(); ++hi) {
    while (at[hi] - at[lo] >= kSecond) ++lo;
    best = std::max(best, static_cast<int>(hi - lo + 1));
  }
  return best;
}

struct Series {
  const char* name;
  const char* color;
  std::vector<int> per_bucket;
};

bool WriteHtml(const char* path, const std::vector<Series>& series, const std::vector<int>& acks_cumulative,
               int bucket_s, const std::string& table_html, bool passed) {
  std::FILE* f = std::fopen(path, "w");
  if (f == nullptr) return false;
  const int w = 900, h = 260, left = 50, bottom = 30, top = 20;
  std::size_t buckets = acks_cumulative.size();
  int max_y = 1;
  for (const Series& s : series) {
    for (int v : s.per_bucket) max_y = std::max(max_y, v);
  }
  int max_acks = std::max(1, acks_cumulative.empty() ? 1 : acks_cumulative.back());
  auto x_of = [&](std::size_t i) {
    return left + static_cast<double>(i) * (w - left - 10) / static_cast<double>(std::max<std::size_t>(1, buckets - 1));
  };
  auto chart = [&](const std::string& title, const std::function<void(std::string&)>& draw, int ymax,
                   const char* unit) {
    std::string svg = "<h2>" + title + "</h2><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                      std::to_string(w) + "\" height=\"" + std::to_string(h) + "\" role=\"img\">";
    svg += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(h - bottom) + "\" x2=\"" +
           std::to_string(w - 10) + "\" y2=\"" + std::to_string(h - bottom) + "\" stroke=\"#444\"/>";
    svg += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(top) + "\" x2=\"" +
           std::to_string(left) + "\" y2=\"" + std::to_string(h - bottom) + "\" stroke=\"#444\"/>";
    svg += "<text x=\"4\" y=\"" + std::to_string(top + 10) + "\" font-size=\"11\">" + std::to_string(ymax) +
           "</text><text x=\"4\" y=\"" + std::to_string(h - bottom) + "\" font-size=\"11\">0</text>";
    svg += "<text x=\"4\" y=\"" + std::to_string(h / 2) + "\" font-size=\"11\">" + unit + "</text>";
    for (std::size_t i = 0; i < buckets; i += std::max<std::size_t>(1, buckets / 10)) {
      svg += "<text x=\"" + std::to_string(static_cast<int>(x_of(i))) + "\" y=\"" + std::to_string(h - 10) +
             "\" font-size=\"11\">" + std::to_string(i * static_cast<std::size_t>(bucket_s)) + " s</text>";
    }
    draw(svg);
    return svg + "</svg>";
  };
  auto polyline = [&](const std::vector<int>& v, int ymax, const char* color) {
    std::string p = "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + std::string(color) + "\" points=\"";
    for (std::size_t i = 0; i < v.size(); ++i) {
      double y = (h - bottom) - static_cast<double>(v[i]) * (h - bottom - top) / ymax;
      char point[64];
      std::snprintf(point, sizeof point, "%.1f,%.1f ", x_of(i), y);
      p += point;
    }
    return p + "\"/>";
  };
  std::string sends = chart("Notifications per channel (per " + std::to_string(bucket_s) + " s of simulated time)",
                            [&](std::string& svg) {
                              int row = 0;
                              for (const Series& s : series) {
                                svg += polyline(s.per_bucket, max_y, s.color);
                                svg += "<text x=\"" + std::to_string(w - 170) + "\" y=\"" +
                                       std::to_string(top + 14 * ++row) + "\" font-size=\"12\" fill=\"" +
                                       s.color + "\">" + s.name + "</text>";
                              }
                            },
                            max_y, "msgs");
  std::string acks = chart("Acknowledgements over time (cumulative)",
                           [&](std::string& svg) { svg += polyline(acks_cumulative, max_acks, "#2a7"); },
                           max_acks, "acks");
  std::fprintf(f,
               "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Lifeline BCP drill</title>"
               "<style>body{font-family:sans-serif;margin:2em;max-width:960px}table{border-collapse:collapse}"
               "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
               "<h1>Lifeline BCP activation drill: %s</h1>%s%s%s</body></html>\n",
               passed ? "PASSED" : "FAILED", table_html.c_str(), sends.c_str(), acks.c_str());
  return std::fclose(f) == 0;
}

class Drill {
 public:
  Drill(bool quiet, uint64_t seed, lifeline_audit_t* audit, std::set<std::string>* pii_used)
      : quiet_(quiet), random_(seed), audit_(audit), pii_used_(pii_used) {}

  int Run(const char* html_path);

 private:
  void Say(const std::string& line) {
    if (!quiet_) std::printf("%s\n", line.c_str());
  }
  bool Check(lifeline_status s, const char* what) {
    if (s == LIFELINE_OK) return true;
    std::fprintf(stderr, "bcp drill: %s: %s (%s)\n", what, lifeline_status_str(s), lifeline_last_error());
    ok_ = false;
    return false;
  }
  void Twilio(const std::string& url, const lifeline::FormParams& params, const char* what) {
    std::string signature = lifeline::TwilioSignature(kToken, url, params);
    std::string headers = "{\"X-Twilio-Signature\":" + Json(signature) + "}";
    std::string body = *lifeline::EncodeFormBody(params);
    lifeline_status s = lifeline_cascade_runtime_ingest_provider_callback(rt_, "twilio", "POST", url.c_str(),
                                                                          headers.c_str(), body.c_str(), nullptr, 0,
                                                                          nullptr);
    // A status for an attempt of a stakeholder already done is fine; a
    // refused signature is not.
    if (s != LIFELINE_OK && s != LIFELINE_E_NOT_FOUND) Check(s, what);
  }
  void At(int64_t t, std::function<void()> action) { schedule_.emplace(t, std::move(action)); }

  bool quiet_;
  std::mt19937_64 random_;
  lifeline_audit_t* audit_;
  std::set<std::string>* pii_used_;
  bool ok_ = true;
  lifeline_cascade_runtime_t* rt_ = nullptr;
  std::multimap<int64_t, std::function<void()>> schedule_;
};

int Drill::Run(const char* html_path) {
  lifeline_clock_t* clock = nullptr;
  if (lifeline_clock_new_manual(kStart, &clock) != LIFELINE_OK) return 1;
  auto now = [clock] {
    int64_t t = 0;
    lifeline_clock_now(clock, &t);
    return t;
  };
  DrillCarrier carrier(now);
  lifeline::testing::FakeSendGrid mailer("SG.drill");
  mailer.set_clock(now);

  // The stakeholders: who answers how is the seed's choice.
  std::vector<Stakeholder> people;
  std::map<std::string, std::size_t> by_phone, by_email;
  for (int i = 0; i < kStakeholders; ++i) {
    Stakeholder p;
    char id[32], phone[32];
    std::snprintf(id, sizeof id, "s%03d", i);
    std::snprintf(phone, sizeof phone, "+1212555%04d", 1000 + i);
    p.id = id;
    p.phone = phone;
    p.email = p.id + "@corp.example";
    int r = static_cast<int>(random_() % 100);
    p.behaviour = r < 55 ? Behaviour::kSmsReply : r < 70 ? Behaviour::kPressOne
                : r < 82 ? Behaviour::kEmailLink : Behaviour::kSilent;
    by_phone[p.phone] = people.size();
    by_email[p.email] = people.size();
    if (pii_used_ != nullptr) pii_used_->insert({p.phone, p.email});
    people.push_back(p);
  }
  std::string members, ids;
  for (const Stakeholder& p : people) {
    members += "{\"id\":\"" + p.id + "\",\"channels\":[\"sms\",\"voice\",\"email\"],\"addresses\":{\"sms\":\"" +
               p.phone + "\",\"voice\":\"" + p.phone + "\",\"email\":\"" + p.email + "\"}},";
    ids += (ids.empty() ? "\"" : ",\"") + p.id + "\"";
  }
  std::string directory = "{\"members\":[" + members + "{\"id\":\"oncall\",\"channels\":[\"sms\"],\"addresses\":{\"sms\":\"" +
                          kManagerPhone + "\"}}],\"groups\":[{\"id\":\"bcp-all\",\"members\":[" + ids +
                          "],\"onCallManager\":\"oncall\"}]}";

  // The HRIS: the first lookups answer with the live record, then it is down.
  lifeline::testing::FakeHttpServer hris;
  std::mutex hris_mu;
  int lookups = 0;
  hris.Get("/contacts/(.+)", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(hris_mu);
    if (++lookups > kFreshLookups) {
      res.status = 503;
      return;
    }
    auto it = std::find_if(people.begin(), people.end(), [&](const Stakeholder& p) { return p.id == req.matches[1]; });
    if (it == people.end()) {
      res.status = 404;
      return;
    }
    res.set_content("{\"id\":\"" + it->id + "\",\"channels\":[\"sms\",\"voice\",\"email\"],\"addresses\":{\"sms\":\"" +
                        it->phone + "\",\"voice\":\"" + it->phone + "\",\"email\":\"" + it->email + "\"}}",
                    "application/json");
  });

  // directory_timeout_ms is wall time: the HRIS answers at once (or 503s at
  // once), so the limit only matters on a loaded machine. Under
  // ThreadSanitizer next to another test, 1 s was not enough for the first
  // lookup, and the drill's stale-flag count (which it checks) changed.
  std::string config = "{\"directory\":" + directory +
                       ",\"directory_lookup\":{\"url\":\"" + hris.base_url() + "/contacts\"}" +
                       ",\"cascade\":{\"hold_ms\":{\"P1\":" + std::to_string(kHoldMs) +
                       "},\"throttle\":{\"limit\":" + std::to_string(kThrottleLimit) +
                       ",\"window_ms\":1000},\"directory_timeout_ms\":10000}" +
                       ",\"channels\":{\"twilio\":{\"base_url\":\"" + carrier.base_url() + "\",\"account_sid\":\"" +
                       kSid + "\",\"auth_token\":\"" + kToken + "\",\"from\":\"+12125550000\",\"status_callback_url\":\"" +
                       kStatusUrl + "\",\"gather_action_url\":\"" + kGatherUrl + "\"}," +
                       "\"sendgrid\":{\"base_url\":\"" + mailer.base_url() +
                       "\",\"api_key\":\"SG.drill\",\"from_email\":\"bcp@corp.example\",\"ack_url\":"
                       "\"https://drill.example/lifeline/ack\",\"ack_key\":\"drill-ack-signing-key-0123456789\"}}}";
  if (!Check(lifeline_cascade_runtime_open_with_clock(config.c_str(), clock, &rt_), "open")) {
    lifeline_clock_free(clock);
    return 1;
  }
  if (audit_ != nullptr) Check(lifeline_cascade_runtime_set_audit(rt_, audit_), "set_audit");

  Say("");
  Say("5. BCP activation: a P1 to " + std::to_string(kStakeholders) +
      " stakeholders, simulated on a manual clock (C ABI: lifeline_cascade_runtime_*)");
  Say("   the SMS carrier answers 429 for " + std::to_string(kCarrierThrottleMs / 1000) + " s once " +
      std::to_string(kCarrierBudget) + " messages went through; the HR directory fails after " +
      std::to_string(kFreshLookups) + " lookups");
  std::string trigger = R"({"incidentId":"BCP-2026-03-09","severity":"P1","stakeholderGroupId":"bcp-all",)"
                        R"("messageTemplate":"P1: {{site}} is down. Reply 1 or press 1 to acknowledge.",)"
                        R"("timestamp":"2026-03-09T14:00:00Z","variables":{"site":"DC-East"}})";
  Check(lifeline_cascade_runtime_trigger(rt_, trigger.c_str(), nullptr, 0, nullptr), "trigger");
  // A retried trigger (the monitoring system's webhook fired twice) starts nothing.
  std::vector<char> dup(1 << 20);
  Check(lifeline_cascade_runtime_trigger(rt_, trigger.c_str(), dup.data(), dup.size(), nullptr), "trigger again");
  bool duplicate_ok = std::strncmp(dup.data(), "{\"duplicate\":true", 17) == 0;

  // The bound the configuration implies: the first SMS to everyone through
  // the throttle and the carrier's 429 window, then per channel its hold
  // time plus the voice retries (15 + 30 + 60 s), plus the escalation.
  const int64_t bound = (kStakeholders / kThrottleLimit + 1) * kSecond + kCarrierThrottleMs + 2 * kSecond +
                        3 * kHoldMs + (15 + 30 + 60) * kSecond + 60 * kSecond;
  std::size_t seen = 0, seen_mail = 0;
  int64_t finished_at = -1;
  std::vector<int64_t> ack_times;
  const int64_t horizon = bound + 120 * kSecond;
  for (int64_t t = 0; t <= horizon; t += kSecond) {
    lifeline_clock_set(clock, kStart + t);
    for (auto it = schedule_.begin(); it != schedule_.end() && it->first <= t;) {
      it->second();
      it = schedule_.erase(it);
    }
    if (lifeline_cascade_runtime_settle(rt_, 60000) != LIFELINE_OK) Check(LIFELINE_E_TIMEOUT, "settle");
    // The phones react to what reached them.
    std::vector<Hit> hits = carrier.hits();
    for (; seen < hits.size(); ++seen) {
      const Hit h = hits[seen];
      if (h.throttled) continue;
      auto who = by_phone.find(h.to);
      Stakeholder* p = who == by_phone.end() ? nullptr : &people[who->second];
      if (h.endpoint == "voice") {
        std::size_t m = h.body.find("?m=");
        std::string message = h.body.substr(m + 3, h.body.find('"', m) - m - 3);
        bool presses = p != nullptr && p->behaviour == Behaviour::kPressOne;
        if (presses) {
          At(t + 8 * kSecond, [this, message, p, t] {
            Twilio(std::string(kGatherUrl) + "?m=" + message, {{"CallSid", "x"}, {"Digits", "1"}}, "gather");
            if (p->acked_at < 0) p->acked_at = t + 8 * kSecond;
          });
        }
        std::string status = presses || (p != nullptr && p->behaviour != Behaviour::kSilent) ? "completed" : "no-answer";
        At(t + 10 * kSecond, [this, h, status] {
          Twilio(kStatusUrl, {{"CallSid", h.ref}, {"CallStatus", status}}, "call status");
        });
        continue;
      }
      At(t + 2 * kSecond, [this, h] {
        Twilio(kStatusUrl, {{"MessageSid", h.ref}, {"MessageStatus", "delivered"}}, "sms status");
      });
      if (p != nullptr && p->behaviour == Behaviour::kSmsReply) {
        int64_t delay = static_cast<int64_t>(5 + random_() % 40) * kSecond;
        At(t + delay, [this, p, t, delay] {
          Twilio(kInboundUrl, {{"From", p->phone}, {"To", "+12125550000"}, {"Body", "1"}}, "sms reply");
          if (p->acked_at < 0) p->acked_at = t + delay;
        });
      }
    }
    std::vector<lifeline::testing::FakeDelivery> mail = mailer.deliveries();
    for (; seen_mail < mail.size(); ++seen_mail) {
      const lifeline::testing::FakeDelivery d = mail[seen_mail];
      At(t + 2 * kSecond, [this, d] {
        std::string events = "[{\"event\":\"delivered\",\"sg_message_id\":" + Json(d.ref + ".filter0001") + "}]";
        Check(lifeline_cascade_runtime_ingest_provider_callback(rt_, "sendgrid", "POST",
                                                                "https://drill.example/lifeline/sendgrid", nullptr,
                                                                events.c_str(), nullptr, 0, nullptr),
              "sendgrid events");
      });
      auto who = by_email.find(d.to);
      if (who != by_email.end() && people[who->second].behaviour == Behaviour::kEmailLink) {
        Stakeholder* p = &people[who->second];
        std::size_t at = d.body.find("?token=");
        std::string token = d.body.substr(at + 7, d.body.find('\n', at) - at - 7);
        At(t + 30 * kSecond, [this, p, token, t] {
          Check(lifeline_cascade_runtime_ack_link(rt_, token.c_str(), nullptr, 0, nullptr), "ack link");
          if (p->acked_at < 0) p->acked_at = t + 30 * kSecond;
        });
      }
    }
    if (finished_at < 0) {
      std::vector<char> list(4096);
      Check(lifeline_cascade_runtime_list_json(rt_, list.data(), list.size(), nullptr), "list");
      rapidjson::Document d;
      d.Parse(list.data());
      if (!d.HasParseError() && d.IsArray() && d.Size() == 1 &&
          d[0]["acknowledgedCount"].GetInt() + d[0]["escalatedCount"].GetInt() == kStakeholders) {
        finished_at = t;
        // Two more minutes: nothing more may be sent to anyone.
        if (t + 120 * kSecond < horizon) {
          for (int64_t extra = t + kSecond; extra <= t + 120 * kSecond; extra += kSecond) {
            lifeline_clock_set(clock, kStart + extra);
            for (auto it = schedule_.begin(); it != schedule_.end() && it->first <= extra;) {
              it->second();
              it = schedule_.erase(it);
            }
            if (lifeline_cascade_runtime_settle(rt_, 60000) != LIFELINE_OK) Check(LIFELINE_E_TIMEOUT, "settle");
          }
        }
        break;
      }
    }
  }

  // The outcome.
  std::vector<char> state(8 << 20);
  size_t needed = 0;
  Check(lifeline_cascade_runtime_state_json(rt_, "BCP-2026-03-09", state.data(), state.size(), &needed), "state");
  std::vector<char> metrics(1 << 16);
  Check(lifeline_cascade_runtime_metrics_json(rt_, metrics.data(), metrics.size(), nullptr), "metrics");
  rapidjson::Document doc;
  doc.Parse(state.data());
  int acked = 0, escalated = 0, other = 0, stale = 0, escalated_silent = 0;
  std::map<std::string, std::string> status_of;
  std::map<std::string, int64_t> final_at;
  if (!doc.HasParseError() && doc.HasMember("stakeholders")) {
    for (const auto& s : doc["stakeholders"].GetArray()) {
      std::string id = s["memberId"].GetString();
      std::string st = s["status"].GetString();
      status_of[id] = st;
      if (st == "ACKNOWLEDGED") ++acked;
      else if (st == "ESCALATED") ++escalated;
      else ++other;
      if (s["staleContactData"].GetBool()) ++stale;
      int64_t last = 0;
      for (const auto& a : s["attempts"].GetArray()) {
        if (a["escalation"].GetBool()) last = std::max(last, a["queuedAt"].GetInt64());
      }
      if (st == "ESCALATED") final_at[id] = last - kStart;
    }
  } else {
    ok_ = false;
  }
  for (Stakeholder& p : people) {
    if (p.behaviour == Behaviour::kSilent && status_of[p.id] == "ESCALATED") ++escalated_silent;
    if (p.acked_at >= 0) final_at[p.id] = p.acked_at;
    if (p.acked_at >= 0) ack_times.push_back(p.acked_at);
  }
  int silent = static_cast<int>(std::count_if(people.begin(), people.end(),
                                              [](const Stakeholder& p) { return p.behaviour == Behaviour::kSilent; }));
  // Sends per channel, 429s, the busiest second per endpoint.
  std::vector<Hit> hits = carrier.hits();
  std::map<std::string, std::vector<int64_t>> per_endpoint;
  std::map<std::string, int> accepted;
  int throttled = 0;
  std::map<std::string, int> sms_per_phone;
  int after_ack = 0;
  for (const Hit& h : hits) {
    per_endpoint[h.endpoint].push_back(h.at);
    if (h.throttled) {
      ++throttled;
      continue;
    }
    ++accepted[h.endpoint];
    if (h.endpoint == "sms") ++sms_per_phone[h.to];
    auto who = by_phone.find(h.to);
    if (who != by_phone.end() && people[who->second].acked_at >= 0 &&
        h.at - kStart > people[who->second].acked_at) {
      ++after_ack;
    }
  }
  for (const auto& d : mailer.deliveries()) {
    per_endpoint["email"].push_back(d.at);
    ++accepted["email"];
    auto who = by_email.find(d.to);
    if (who != by_email.end() && people[who->second].acked_at >= 0 && d.at - kStart > people[who->second].acked_at) {
      ++after_ack;
    }
  }
  int max_rate = 0;
  std::map<std::string, int> rate;
  for (auto& [endpoint, at] : per_endpoint) {
    rate[endpoint] = MaxPerSecond(at);
    max_rate = std::max(max_rate, rate[endpoint]);
  }
  int64_t slowest = 0;
  for (const auto& [id, at] : final_at) slowest = std::max(slowest, at);
  int twice = 0;
  for (const auto& [phone, n] : sms_per_phone) {
    if (n != 1) ++twice;
  }

  bool nobody_lost = other == 0 && acked + escalated == kStakeholders &&
                     static_cast<int>(sms_per_phone.size()) == kStakeholders && twice == 0;
  bool within_throttle = max_rate <= kThrottleLimit;
  bool within_bound = finished_at >= 0 && slowest <= bound && static_cast<int>(final_at.size()) == kStakeholders;
  bool promises = nobody_lost && within_throttle && within_bound && after_ack == 0 && duplicate_ok &&
                  escalated_silent == silent && stale == kStakeholders - kFreshLookups &&
                  accepted["sms.priority"] == escalated && carrier.rejected() == 0 && mailer.rejected() == 0;
  ok_ = ok_ && promises;

  std::vector<std::pair<std::string, std::string>> table = {
      {"stakeholders notified", std::to_string(kStakeholders) + " (one P1, trigger retried once: " +
                                    (duplicate_ok ? "recognised as a duplicate" : "NOT recognised as a duplicate") + ")"},
      {"acknowledged", std::to_string(acked)},
      {"escalated to the on-call manager", std::to_string(escalated) + " (" + std::to_string(silent) +
                                               " never answered; " + std::to_string(accepted["sms.priority"]) +
                                               " priority SMS to the manager)"},
      {"neither (lost)", std::to_string(other)},
      {"flagged stale_contact_data", std::to_string(stale) + " (directory down after " +
                                         std::to_string(kFreshLookups) + " live lookups; cached records used)"},
      {"SMS sent", std::to_string(accepted["sms"]) + " accepted, " + std::to_string(throttled) +
                       " answered 429 and re-queued (none dropped, none sent twice: " + std::to_string(twice) + ")"},
      {"voice calls placed", std::to_string(accepted["voice"])},
      {"emails sent", std::to_string(accepted["email"])},
      {"messages after an acknowledgement", std::to_string(after_ack)},
      {"busiest second per endpoint", "sms " + std::to_string(rate["sms"]) + ", sms.priority " +
                                          std::to_string(rate["sms.priority"]) + ", voice " +
                                          std::to_string(rate["voice"]) + ", email " + std::to_string(rate["email"]) +
                                          " (limit " + std::to_string(kThrottleLimit) + " each)"},
      {"everyone done after", std::to_string(slowest / 1000) + " s of simulated time (bound " +
                                  std::to_string(bound / 1000) + " s)"},
  };
  Say("   outcome:");
  std::string table_html = "<table>";
  for (const auto& [k, v] : table) {
    char line[512];
    std::snprintf(line, sizeof line, "     %-36s %s", k.c_str(), v.c_str());
    Say(line);
    table_html += "<tr><th>" + HtmlEscape(k) + "</th><td>" + HtmlEscape(v) + "</td></tr>";
  }
  table_html += "</table>";
  Say(std::string("   metrics: ") + metrics.data());

  if (html_path != nullptr) {
    const int bucket_s = 5;
    std::size_t buckets = static_cast<std::size_t>((std::max<int64_t>(finished_at, slowest / kSecond * kSecond) +
                                                    130 * kSecond) / (bucket_s * kSecond)) + 1;
    std::vector<Series> series = {{"SMS", "#1f77b4", {}}, {"SMS 429", "#d62728", {}}, {"voice", "#ff7f0e", {}},
                                  {"email", "#9467bd", {}}, {"manager (priority)", "#8c564b", {}}};
    for (Series& s : series) s.per_bucket.assign(buckets, 0);
    auto bucket = [&](int64_t at) {
      return std::min<std::size_t>(buckets - 1, static_cast<std::size_t>((at - kStart) / (bucket_s * kSecond)));
    };
    for (const Hit& h : hits) {
      int i = h.throttled ? 1 : h.endpoint == "sms" ? 0 : h.endpoint == "voice" ? 2 : 4;
      ++series[static_cast<std::size_t>(i)].per_bucket[bucket(h.at)];
    }
    for (const auto& d : mailer.deliveries()) ++series[3].per_bucket[bucket(d.at)];
    std::vector<int> acks(buckets, 0);
    for (int64_t at : ack_times) ++acks[bucket(kStart + at)];
    for (std::size_t i = 1; i < buckets; ++i) acks[i] += acks[i - 1];
    if (WriteHtml(html_path, series, acks, bucket_s, table_html, ok_)) {
      Say(std::string("   HTML report written to ") + html_path);
    } else {
      std::fprintf(stderr, "bcp drill: cannot write %s\n", html_path);
      ok_ = false;
    }
  }
  lifeline_cascade_runtime_close(rt_);
  lifeline_clock_free(clock);
  std::printf("BCP drill %s: %d acknowledged, %d escalated, %d lost, %d stale flags, busiest endpoint %d/s (limit %d), "
              "done in %" PRId64 " s (bound %" PRId64 " s).\n",
              ok_ ? "PASSED" : "FAILED", acked, escalated, other, stale, max_rate, kThrottleLimit, slowest / 1000,
              bound / 1000);
  return ok_ ? 0 : 1;
}

}  // namespace

int RunBcpDrill(bool quiet, uint64_t seed, const char* html_report_path, lifeline_audit_t* audit,
                std::set<std::string>* pii_used) {
  try {
    if (pii_used != nullptr) pii_used->insert({kManagerPhone, "+12125550000"});
    Drill drill(quiet, seed, audit, pii_used);
    return drill.Run(html_report_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bcp drill: %s\n", e.what());
    return 1;
  }
}
