// The cascade runtime's inbound side through the C ABI
// (lifeline_cascade_runtime_*), against fake Twilio and SendGrid servers on
// loopback, on a manual clock, with a real store file under
// LIFELINE_TEST_TMP that each test closes and reopens:
//
//   - SMS replies ("1", "ACK <incident>") still acknowledge the right member
//     and incident after a reopen (matched through the store, not memory);
//   - an email ack link works once, and is still used after a reopen;
//   - SendGrid Signed Event Webhook batches apply when signed (ECDSA P-256
//     over timestamp + raw body), and unsigned, forged or stale ones answer
//     LIFELINE_E_UNAUTHENTICATED and are counted.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "http/form_encoding.hpp"
#include "lifeline/lifeline.h"
#include "providers/cascade_inbound.hpp"
#include "support/ecdsa_test_keys.hpp"
#include "support/fake_cascade_providers.hpp"
#include "support/store_test_files.hpp"

using lifeline::testing::EcdsaTestKey;
using lifeline::testing::FakeSendGrid;
using lifeline::testing::FakeTwilio;
using lifeline::testing::TempDbPath;

namespace {

constexpr int64_t kT0 = 1'716'215'520'000;  // 2024-05-20T14:32:00Z
const char* kInboundUrl = "https://host.example/lifeline/twilio/sms";
const char* kSendGridUrl = "https://host.example/lifeline/sendgrid";

const char* kDirectory = R"({
  "members": [
    {"id": "alice", "channels": ["sms", "email"],
     "addresses": {"sms": "+12125550101", "email": "alice@example.com"}},
    {"id": "bob", "channels": ["sms", "email"],
     "addresses": {"sms": "+12125550103", "email": "bob@example.com"}},
    {"id": "carol", "channels": ["sms"], "addresses": {"sms": "+12125550107"}},
    {"id": "erin", "channels": ["email"], "addresses": {"email": "erin@example.com"}},
    {"id": "mgr", "channels": ["sms"], "addresses": {"sms": "+12125550199"}}
  ],
  "groups": [{"id": "ops", "members": ["alice", "bob"], "onCallManager": "mgr"},
             {"id": "net", "members": ["alice", "carol"], "onCallManager": "mgr"},
             {"id": "mail", "members": ["erin"], "onCallManager": "mgr"}]})";

std::string Trigger(const std::string& incident, const std::string& group) {
  return R"({"incidentId":")" + incident + R"(","severity":"P1","stakeholderGroupId":")" + group +
         R"(","messageTemplate":"Outage at DC-East. Reply 1 to acknowledge.","timestamp":"2024-05-20T14:32:00Z"})";
}

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// One store file, one manual clock, fake providers; runtimes opened and
// closed over them.
class Harness {
 public:
  explicit Harness(std::string sendgrid_key_b64)
      : db_("cascade-inbound"), twilio_("AC123", "tw-token"), sendgrid_("SG.key"),
        sendgrid_key_(std::move(sendgrid_key_b64)) {
    REQUIRE(lifeline_clock_new_manual(kT0, &clock_) == LIFELINE_OK);
  }
  ~Harness() {
    Close();
    lifeline_clock_free(clock_);
  }

  std::string Config() const {
    std::string sendgrid = R"({"base_url":")" + sendgrid_.base_url() +
                           R"(","api_key":"SG.key","from_email":"bcp@corp.example",)"
                           R"("ack_url":"https://host.example/lifeline/ack","ack_key":"ack-key-0123456789abcdef")";
    if (!sendgrid_key_.empty()) sendgrid += R"(,"webhook_public_key":)" + Json(sendgrid_key_);
    sendgrid += "}";
    return std::string(R"({"directory":)") + kDirectory + R"(,"store":{"path":)" + Json(db_.path()) +
           R"(},"cascade":{"hold_ms":{"P1":90000}},"channels":{"twilio":{"base_url":")" + twilio_.base_url() +
           R"(","account_sid":"AC123","auth_token":"tw-token","from":"+15550000000","voice":false,)"
           R"("status_callback_url":"https://host.example/lifeline/twilio/status"},)"
           R"("sendgrid":)" + sendgrid + "}}";
  }

  void Open() {
    Close();
    std::string config = Config();
    INFO(lifeline_last_error());
    REQUIRE(lifeline_cascade_runtime_open_with_clock(config.c_str(), clock_, &rt_) == LIFELINE_OK);
  }
  void Close() {
    lifeline_cascade_runtime_close(rt_);
    rt_ = nullptr;
  }
  lifeline_cascade_runtime_t* rt() { return rt_; }

  void Settle() { REQUIRE(lifeline_cascade_runtime_settle(rt_, 30'000) == LIFELINE_OK); }
  void Advance(int64_t ms) {
    REQUIRE(lifeline_clock_advance(clock_, ms) == LIFELINE_OK);
    Settle();
  }
  void Start(const std::string& incident, const std::string& group) {
    std::string t = Trigger(incident, group);
    INFO(lifeline_last_error());
    REQUIRE(lifeline_cascade_runtime_trigger(rt_, t.c_str(), nullptr, 0, nullptr) == LIFELINE_OK);
    Settle();
  }

  // A signed inbound SMS; the status, and the answer in *answer.
  lifeline_status Reply(const std::string& from, const std::string& body, std::string* answer = nullptr) {
    lifeline::FormParams params = {{"MessageSid", "SMin" + std::to_string(++replies_)},
                                   {"AccountSid", "AC123"},
                                   {"From", from},
                                   {"To", "+15550000000"},
                                   {"Body", body}};
    auto form = lifeline::EncodeFormBody(params);
    REQUIRE(form.ok());
    std::string headers = R"({"X-Twilio-Signature":)" + Json(lifeline::TwilioSignature("tw-token", kInboundUrl, params)) +
                          R"(,"Content-Type":"application/x-www-form-urlencoded"})";
    char out[512] = {0};
    lifeline_status s = lifeline_cascade_runtime_ingest_provider_callback(rt_, "twilio", "POST", kInboundUrl,
                                                                          headers.c_str(), form->c_str(), out,
                                                                          sizeof out, nullptr);
    if (answer != nullptr) *answer = out;
    return s;
  }

  lifeline_status SendGridEvents(const std::string& headers_json, const std::string& body,
                                 std::string* answer = nullptr) {
    char out[512] = {0};
    lifeline_status s = lifeline_cascade_runtime_ingest_provider_callback(
        rt_, "sendgrid", "POST", kSendGridUrl, headers_json.c_str(), body.c_str(), out, sizeof out, nullptr);
    if (answer != nullptr) *answer = out;
    return s;
  }

  lifeline_status AckLink(const std::string& token, std::string* answer = nullptr) {
    char out[512] = {0};
    lifeline_status s = lifeline_cascade_runtime_ack_link(rt_, token.c_str(), out, sizeof out, nullptr);
    if (answer != nullptr) *answer = out;
    return s;
  }

  // The stakeholder's object in the incident's state JSON.
  rapidjson::Document State(const std::string& incident) {
    std::vector<char> buf(1 << 16);
    INFO(incident);
    REQUIRE(lifeline_cascade_runtime_state_json(rt_, incident.c_str(), buf.data(), buf.size(), nullptr) ==
            LIFELINE_OK);
    rapidjson::Document d;
    d.Parse(buf.data());
    REQUIRE(d.IsObject());
    return d;
  }
  std::string Status(const std::string& incident, const std::string& member) {
    rapidjson::Document d = State(incident);
    for (const auto& s : d["stakeholders"].GetArray()) {
      if (member == s["memberId"].GetString()) return s["status"].GetString();
    }
    FAIL("no stakeholder " << member << " in " << incident);
    return "";
  }
  int64_t Metric(const char* name) {
    std::vector<char> buf(1 << 16);
    REQUIRE(lifeline_cascade_runtime_metrics_json(rt_, buf.data(), buf.size(), nullptr) == LIFELINE_OK);
    rapidjson::Document d;
    d.Parse(buf.data());
    REQUIRE(d.HasMember(name));
    return d[name].GetInt64();
  }

  int64_t Now() {
    int64_t now = 0;
    REQUIRE(lifeline_clock_now(clock_, &now) == LIFELINE_OK);
    return now;
  }

  FakeTwilio& twilio() { return twilio_; }
  FakeSendGrid& sendgrid() { return sendgrid_; }
  const TempDbPath& db() const { return db_; }

 private:
  TempDbPath db_;
  FakeTwilio twilio_;
  FakeSendGrid sendgrid_;
  std::string sendgrid_key_;
  lifeline_clock_t* clock_ = nullptr;
  lifeline_cascade_runtime_t* rt_ = nullptr;
  int replies_ = 0;
};

std::string TokenOf(const lifeline::testing::FakeDelivery& mail) {
  std::size_t at = mail.body.find("?token=");
  REQUIRE(at != std::string::npos);
  return mail.body.substr(at + 7, mail.body.find('\n', at) - at - 7);
}

}  // namespace

TEST_CASE("SMS replies acknowledge the right member and incident after the runtime is reopened") {
  Harness h("");
  h.Open();
  h.Start("INC-A", "ops");   // alice, bob
  h.Advance(1'000);
  h.Start("INC-B", "net");   // alice again, carol
  REQUIRE(h.twilio().deliveries().size() == 4);
  h.Close();   // everything the runtime knew in memory is gone

  h.Open();
  h.Settle();
  CHECK(h.twilio().deliveries().size() == 4);   // the reopen sent nothing again
  std::string answer;
  // alice was notified about both: "ACK <incident>" picks one.
  CHECK(h.Reply("+12125550101", "ACK INC-A", &answer) == LIFELINE_OK);
  CHECK(answer == R"({"kind":"reply","acknowledged":true,"applied":1,"ignored":0})");
  CHECK(h.Status("INC-A", "alice") == "ACKNOWLEDGED");
  CHECK(h.Status("INC-B", "alice") == "ACTIVE");
  CHECK(h.Status("INC-A", "bob") == "ACTIVE");
  // bob's "1": his only incident.
  CHECK(h.Reply("+12125550103", " 1 ") == LIFELINE_OK);
  CHECK(h.Status("INC-A", "bob") == "ACKNOWLEDGED");
  // An unknown number, an unknown incident, a reply that is no ack.
  CHECK(h.Reply("+19175550000", "1") == LIFELINE_E_NOT_FOUND);
  std::string error = lifeline_last_error();
  CHECK(error.find("no cascade message was sent to this number") != std::string::npos);
  CHECK(error.find("9175550000") == std::string::npos);
  CHECK(h.Reply("+12125550101", "ACK INC-Z") == LIFELINE_E_NOT_FOUND);
  CHECK(std::string(lifeline_last_error()).find("2125550101") == std::string::npos);
  CHECK(h.Reply("+12125550101", "thanks", &answer) == LIFELINE_OK);
  CHECK(answer == R"({"kind":"reply","acknowledged":false,"applied":0,"ignored":1})");
  CHECK(h.Status("INC-B", "alice") == "ACTIVE");
  h.Close();

  // Once more after another reopen: alice's "1" is for her latest incident.
  h.Open();
  CHECK(h.Reply("+12125550101", "1") == LIFELINE_OK);
  CHECK(h.Status("INC-B", "alice") == "ACKNOWLEDGED");
  CHECK(h.Reply("+12125550107", "Ack INC-B") == LIFELINE_OK);
  CHECK(h.Status("INC-B", "carol") == "ACKNOWLEDGED");
  // Everyone acknowledged: nothing more goes out, even after the holds.
  h.Advance(200'000);
  CHECK(h.twilio().deliveries().size() == 4);
  CHECK(h.sendgrid().deliveries().empty());
  CHECK(h.Metric("sms_replies") == 2);   // counters are per process
  CHECK(h.twilio().rejected() == 0);
}

TEST_CASE("an email ack link works once, and stays used after a reopen") {
  Harness h("");
  h.Open();
  h.Start("INC-M", "mail");   // erin: email only
  auto mail = h.sendgrid().deliveries();
  REQUIRE(mail.size() == 1);
  CHECK(mail[0].to == "erin@example.com");
  std::string token = TokenOf(mail[0]);
  std::string answer;
  CHECK(h.AckLink(token, &answer) == LIFELINE_OK);
  CHECK(answer == R"({"incidentId":"INC-M","memberId":"erin"})");
  CHECK(h.AckLink(token) == LIFELINE_E_DUPLICATE);
  CHECK(h.Status("INC-M", "erin") == "ACKNOWLEDGED");
  h.Close();

  h.Open();
  CHECK(h.AckLink(token) == LIFELINE_E_DUPLICATE);
  std::string error = lifeline_last_error();
  CHECK(error.find("ack token: already used") != std::string::npos);
  CHECK(error.find(token.substr(0, 12)) == std::string::npos);
  CHECK(h.Metric("ack_links") == 0);
  // A forged token is still refused as such.
  CHECK(h.AckLink(token.substr(0, token.size() - 2) + "xx") == LIFELINE_E_UNAUTHENTICATED);
  h.Close();
  // And after a third open, past nothing but time (the token lives 24 h).
  h.Open();
  h.Advance(3'600'000);
  CHECK(h.AckLink(token) == LIFELINE_E_DUPLICATE);
}

TEST_CASE("SendGrid signed event batches apply, and unsigned, forged or stale ones are refused") {
  EcdsaTestKey key;
  Harness h(key.PublicKeyBase64());
  h.Open();
  h.Start("INC-M", "mail");
  auto mail = h.sendgrid().deliveries();
  REQUIRE(mail.size() == 1);
  const std::string body = R"([{"email":"erin@example.com","event":"delivered","sg_message_id":")" + mail[0].ref +
                           R"(.filter0001","timestamp":1716215521},{"event":"open","sg_message_id":")" +
                           mail[0].ref + R"(.filter0001"}])";
  const std::string ts = std::to_string(h.Now() / 1000);
  auto headers = [](const std::string& sig, const std::string& t) {
    return R"({"X-Twilio-Email-Event-Webhook-Signature":)" + Json(sig) +
           R"(,"X-Twilio-Email-Event-Webhook-Timestamp":)" + Json(t) + R"(,"Content-Type":"application/json"})";
  };
  const std::string good = headers(key.SignBase64(ts + body), ts);

  // Unsigned: refused, counted, and the error names no address.
  CHECK(h.SendGridEvents("{}", body) == LIFELINE_E_UNAUTHENTICATED);
  std::string error = lifeline_last_error();
  CHECK(error.find("sendgrid event webhook: the signature or timestamp header is missing") != std::string::npos);
  CHECK(error.find("erin") == std::string::npos);
  // Signed by someone else; one byte of the body changed; an hour old.
  EcdsaTestKey other;
  CHECK(h.SendGridEvents(headers(other.SignBase64(ts + body), ts), body) == LIFELINE_E_UNAUTHENTICATED);
  std::string changed = body;
  changed[changed.find("delivered")] = 'D';
  CHECK(h.SendGridEvents(good, changed) == LIFELINE_E_UNAUTHENTICATED);
  const std::string old = std::to_string(h.Now() / 1000 - 3600);
  CHECK(h.SendGridEvents(headers(key.SignBase64(old + body), old), body) == LIFELINE_E_UNAUTHENTICATED);
  CHECK(std::string(lifeline_last_error()).find("replay window") != std::string::npos);
  CHECK(h.SendGridEvents(headers("%%%", ts), body) == LIFELINE_E_UNAUTHENTICATED);
  CHECK(h.Metric("unauthenticated_requests") == 5);
  // Nothing was applied by any of them.
  rapidjson::Document before = h.State("INC-M");
  CHECK(std::string(before["stakeholders"][0]["attempts"][0]["status"].GetString()) == "PENDING");

  // Signed like SendGrid signs: applied.
  std::string answer;
  REQUIRE(h.SendGridEvents(good, body, &answer) == LIFELINE_OK);
  CHECK(answer == R"({"kind":"events","acknowledged":false,"applied":1,"ignored":1})");
  rapidjson::Document after = h.State("INC-M");
  CHECK(std::string(after["stakeholders"][0]["attempts"][0]["status"].GetString()) == "DELIVERED");
  CHECK(h.Metric("unauthenticated_requests") == 5);
  CHECK(h.Metric("unsigned_sendgrid_webhooks") == 0);
  // The replay window follows the clock: the same request 6 min later is stale.
  h.Advance(360'000);
  CHECK(h.SendGridEvents(good, body) == LIFELINE_E_UNAUTHENTICATED);
  h.Close();

  // A key that is not a P-256 public key is refused when opening.
  std::string bad = h.Config();
  std::string b64 = key.PublicKeyBase64();
  bad.replace(bad.find(b64), b64.size(), EcdsaTestKey("secp384r1").PublicKeyBase64());
  lifeline_cascade_runtime_t* rt = nullptr;
  lifeline_clock_t* clock = nullptr;
  REQUIRE(lifeline_clock_new_manual(kT0, &clock) == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_open_with_clock(bad.c_str(), clock, &rt) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(std::string(lifeline_last_error()).find("config_json: channels.sendgrid.webhook_public_key: ") !=
        std::string::npos);
  CHECK(rt == nullptr);
  lifeline_clock_free(clock);
}

TEST_CASE("without a webhook_public_key, SendGrid batches are accepted unsigned and counted") {
  Harness h("");
  h.Open();
  h.Start("INC-M", "mail");
  auto mail = h.sendgrid().deliveries();
  REQUIRE(mail.size() == 1);
  std::string body = R"([{"event":"delivered","sg_message_id":")" + mail[0].ref + R"(.f"}])";
  std::string answer;
  CHECK(h.SendGridEvents("{}", body, &answer) == LIFELINE_OK);
  CHECK(answer == R"({"kind":"events","acknowledged":false,"applied":1,"ignored":0})");
  CHECK(h.Metric("unsigned_sendgrid_webhooks") == 1);
  CHECK(h.Metric("unauthenticated_requests") == 0);
}
