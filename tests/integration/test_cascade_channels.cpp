// The cascade's channel adapters and runtime over real loopback HTTP, against
// fake Twilio, SendGrid and FCM servers that validate the request shapes.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "cascade/cascade_runtime.hpp"
#include "http/curl_transport.hpp"
#include "providers/cascade_inbound.hpp"
#include "providers/channel_senders.hpp"
#include "store/durable_cascade.hpp"
#include "support/fake_cascade_providers.hpp"
#include "support/store_test_files.hpp"

using namespace lifeline;
using lifeline::testing::FakeFcm;
using lifeline::testing::FakeSendGrid;
using lifeline::testing::FakeTwilio;

namespace {

constexpr UnixMillis kT0 = 1'716'215'520'000;

SendResult SendNow(ChannelSender& sender, const OutboundMessage& m) {
  auto p = std::make_shared<std::promise<SendResult>>();
  auto f = p->get_future();
  sender.Send(m, [p](SendResult r) { p->set_value(std::move(r)); });
  REQUIRE(f.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return f.get();
}

OutboundMessage Message(Channel c, const std::string& address, std::uint64_t id = 7) {
  OutboundMessage m;
  m.message_id = id;
  m.incident_id = "INC-1";
  m.member_id = "alice";
  m.channel = c;
  m.address = address;
  m.text = "Outage at DC-East & <lab>. Acknowledge.";
  return m;
}

std::unique_ptr<CurlTransport> Transport() {
  auto t = CurlTransport::Create();
  REQUIRE(t.ok());
  return std::move(*t);
}

TwilioOptions Twilio(const FakeTwilio& fake) {
  TwilioOptions o;
  o.base_url = fake.base_url();
  o.account_sid = "AC123";
  o.auth_token = "tw-token";
  o.from = "+15550000000";
  o.status_callback_url = "https://host.example/lifeline/twilio/status";
  o.gather_action_url = "https://host.example/lifeline/twilio/gather";
  return o;
}

}  // namespace

TEST_CASE("Twilio SMS: documented request, 201 accepted with the SID, 429/20429 and 5xx mapped") {
  FakeTwilio fake("AC123", "tw-token");
  ManualClock clock(kT0);  // outlives the transport, whose late completions read it
  auto transport = Transport();
  TwilioSmsSender sms(Twilio(fake), transport.get(), &clock);
  SendResult r = SendNow(sms, Message(Channel::kSms, "+15551230000"));
  CHECK(r.kind == SendResult::Kind::kAccepted);
  CHECK(r.provider_ref == "SM1");
  auto d = fake.deliveries();
  REQUIRE(d.size() == 1);
  CHECK(d[0].to == "+15551230000");
  CHECK(d[0].body == "Outage at DC-East & <lab>. Acknowledge.");
  auto req = fake.server().requests().back();
  CHECK(req.params.find("StatusCallback")->second == "https://host.example/lifeline/twilio/status");

  fake.ThrottleAfter(1, 1);
  r = SendNow(sms, Message(Channel::kSms, "+15551230000"));
  CHECK(r.kind == SendResult::Kind::kThrottled);
  CHECK(r.retry_after_ms == 1000);
  fake.server().RespondWithStatus(1, 503);
  CHECK(SendNow(sms, Message(Channel::kSms, "+15551230000")).kind == SendResult::Kind::kFailed);
  // Wrong credentials: 401, failed, counted by the fake.
  TwilioOptions bad = Twilio(fake);
  bad.auth_token = "nope";
  TwilioSmsSender wrong(bad, transport.get(), &clock);
  CHECK(SendNow(wrong, Message(Channel::kSms, "+15551230000")).kind == SendResult::Kind::kFailed);
  CHECK(fake.rejected() == 1);
}

TEST_CASE("Twilio SMS split mode posts one message per segment") {
  FakeTwilio fake("AC123", "tw-token");
  ManualClock clock(kT0);  // outlives the transport, whose late completions read it
  auto transport = Transport();
  TwilioOptions o = Twilio(fake);
  o.overflow = SmsOverflow::kSplit;
  TwilioSmsSender sms(o, transport.get(), &clock);
  OutboundMessage m = Message(Channel::kSms, "+15551230000");
  m.text = std::string(200, 'y');
  CHECK(SendNow(sms, m).provider_ref == "SM1");
  REQUIRE(fake.server().WaitForRequests(2, std::chrono::seconds(10)));
  // The handler records after it starts: wait (bounded) for the record.
  for (int i = 0; i < 5000 && fake.deliveries().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto d = fake.deliveries();
  REQUIRE(d.size() == 2);
  CHECK(d[0].body.size() + d[1].body.size() == 200);
}

TEST_CASE("Twilio Voice: TwiML with Say and Gather numDigits=1, escaped") {
  FakeTwilio fake("AC123", "tw-token");
  ManualClock clock(kT0);  // outlives the transport, whose late completions read it
  auto transport = Transport();
  TwilioVoiceSender voice(Twilio(fake), transport.get(), &clock);
  SendResult r = SendNow(voice, Message(Channel::kVoice, "+15551230000", 42));
  CHECK(r.kind == SendResult::Kind::kAccepted);
  CHECK(r.provider_ref == "CA1");
  auto d = fake.deliveries();
  REQUIRE(d.size() == 1);
  CHECK(d[0].body ==
        "<Response><Gather numDigits=\"1\" method=\"POST\" "
        "action=\"https://host.example/lifeline/twilio/gather?m=42\"><Say>Outage at DC-East &amp; "
        "&lt;lab&gt;. Acknowledge.</Say><Say>Press 1 to acknowledge.</Say></Gather><Say>No input "
        "received. Goodbye.</Say></Response>");
  CHECK(fake.rejected() == 0);
}

TEST_CASE("SendGrid: 202 keeps X-Message-Id, the email carries a single-use ack link") {
  FakeSendGrid fake("SG.key");
  ManualClock clock(kT0);  // outlives the transport, whose late completions read it
  auto transport = Transport();
  AckTokens tokens("ack-key");
  SendGridOptions o;
  o.base_url = fake.base_url();
  o.api_key = "SG.key";
  o.from_email = "noreply@example.com";
  o.ack_url = "https://host.example/lifeline/ack";
  SendGridEmailSender email(o, transport.get(), &clock, &tokens);
  SendResult r = SendNow(email, Message(Channel::kEmail, "alice@example.com", 9));
  CHECK(r.kind == SendResult::Kind::kAccepted);
  CHECK(r.provider_ref == "sgmsg1");
  auto d = fake.deliveries();
  REQUIRE(d.size() == 1);
  CHECK(d[0].to == "alice@example.com");
  auto at = d[0].body.find("https://host.example/lifeline/ack?token=");
  REQUIRE(at != std::string::npos);
  std::string token = d[0].body.substr(at + 40);
  token = token.substr(0, token.find('\n'));
  auto claim = tokens.Redeem(token, kT0 + 1000);
  REQUIRE(claim.ok());
  CHECK(claim->message_id == 9);
  CHECK(claim->member_id == "alice");
  CHECK(tokens.Redeem(token, kT0 + 2000).status().code() == StatusCode::kDuplicate);
  o.api_key = "wrong";
  SendGridEmailSender bad(o, transport.get(), &clock, &tokens);
  CHECK(SendNow(bad, Message(Channel::kEmail, "alice@example.com")).kind == SendResult::Kind::kFailed);
}

TEST_CASE("FCM v1 with a bearer token from the provider, webhook 2xx is delivered") {
  FakeFcm fake("proj-1", "ya29.token");
  ManualClock clock(kT0);  // outlives the transport, whose late completions read it
  auto transport = Transport();
  StaticAccessTokenProvider tokens("ya29.token");
  FcmOptions o;
  o.base_url = fake.base_url();
  o.project_id = "proj-1";
  FcmPushSender push(o, transport.get(), &clock, &tokens);
  SendResult r = SendNow(push, Message(Channel::kPush, "device-token-1"));
  CHECK(r.kind == SendResult::Kind::kAccepted);
  CHECK(r.provider_ref == "projects/proj-1/messages/1");
  CHECK(fake.deliveries().at(0).to == "device-token-1");
  fake.server().RespondWithStatus(1, 404);
  CHECK(SendNow(push, Message(Channel::kPush, "gone")).kind == SendResult::Kind::kUnreachable);

  lifeline::testing::FakeHttpServer hook;
  hook.Post("/hook", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  WebhookSender web({{{"Authorization", "Bearer w"}}, 5000}, transport.get(), &clock);
  r = SendNow(web, Message(Channel::kWebhook, hook.base_url() + "/hook"));
  CHECK(r.kind == SendResult::Kind::kDelivered);
  auto req = hook.requests().at(0);
  CHECK(req.Header("authorization") == "Bearer w");
  CHECK(req.body.find("\"messageId\":\"7\"") != std::string::npos);
}

TEST_CASE("mass activation over HTTP: 500 stakeholders, P1, the carrier throttles after 150 SMS") {
  FakeTwilio twilio("AC123", "tw-token");
  FakeSendGrid sendgrid("SG.key");
  ManualClock clock(kT0);
  twilio.set_clock([&clock] { return clock.Now(); });
  sendgrid.set_clock([&clock] { return clock.Now(); });
  twilio.ThrottleAfter(150, 60);
  auto transport = Transport();
  TwilioSmsSender sms(Twilio(twilio), transport.get(), &clock);
  TwilioVoiceSender voice(Twilio(twilio), transport.get(), &clock);
  SendGridOptions so;
  so.base_url = sendgrid.base_url();
  so.api_key = "SG.key";
  so.from_email = "noreply@example.com";
  SendGridEmailSender email(so, transport.get(), &clock, nullptr);

  const int kMembers = 500;
  std::string json = "{\"members\":[";
  for (int i = 0; i < kMembers; ++i) {
    json += "{\"id\":\"m" + std::to_string(i) + "\",\"channels\":[\"sms\",\"email\"],\"addresses\":{\"sms\":\"+1555" +
            std::to_string(1000000 + i) + "\",\"email\":\"m" + std::to_string(i) + "@example.com\"}},";
  }
  json += "{\"id\":\"mgr\",\"channels\":[\"voice\"],\"addresses\":{\"voice\":\"+15550009999\"}}],";
  json += "\"groups\":[{\"id\":\"all\",\"onCallManager\":\"mgr\",\"members\":[";
  for (int i = 0; i < kMembers; ++i) json += (i ? ",\"m" : "\"m") + std::to_string(i) + "\"";
  json += "]}]}";
  auto directory = StakeholderDirectory::FromJson(json);
  REQUIRE(directory.ok());
  lifeline::testing::TempDbPath db("cascade-mass");
  DurableCascadeOptions options;
  options.database.path = db.path();
  options.database.synchronous = SqliteSynchronous::kNormal;
  auto cascade = DurableCascade::Open(options, &*directory, nullptr, nullptr, clock.Now());
  REQUIRE(cascade.ok());
  CascadeRuntime runtime(std::move(*cascade),
                         {{Channel::kSms, &sms}, {Channel::kVoice, &voice}, {Channel::kEmail, &email}},
                         &clock);
  runtime.Start();
  CascadeTrigger t;
  t.incident_id = "INC-MASS";
  t.severity = Severity::kP1;
  t.stakeholder_group_id = "all";
  t.message_template = "Data center outage. Reply 1 to acknowledge.";
  t.timestamp = kT0;
  REQUIRE(runtime.Trigger(t).ok());

  // A barrier: two round trips through the loop, then wait for the HTTP
  // answers (real I/O, bounded), then two more round trips.
  auto settle = [&] {
    for (int round = 0; round < 3; ++round) {
      runtime.Inspect([](const CascadeEngine&) {});
      runtime.Inspect([](const CascadeEngine&) {});
      for (int i = 0; i < 20000 && runtime.Metrics().in_flight > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  };
  // The fake phones: every SMS is delivered; even members reply "1".
  std::size_t seen_sms = 0, seen_mail = 0;
  bool all_final = false;
  UnixMillis finished_at = 0;
  for (int step = 0; step < 2000 && !all_final; ++step) {
    settle();
    auto sms_out = twilio.deliveries();
    for (; seen_sms < sms_out.size(); ++seen_sms) {
      const auto& d = sms_out[seen_sms];
      REQUIRE(runtime.OnProviderReceipt(d.ref, AttemptStatus::kDelivered).ok());
      if (d.voice) continue;
      int i = std::stoi(d.to.substr(5)) - 1000000;
      if (i % 2 == 0) {
        SmsReply reply = ParseSmsReply("1");
        REQUIRE(reply.acknowledges);
        REQUIRE(runtime.Acknowledge("INC-MASS", "m" + std::to_string(i), Channel::kSms).ok());
      }
    }
    auto mail = sendgrid.deliveries();
    for (; seen_mail < mail.size(); ++seen_mail) {
      REQUIRE(runtime.OnProviderReceipt(mail[seen_mail].ref, AttemptStatus::kDelivered).ok());
    }
    runtime.Inspect([&](const CascadeEngine& e) {
      int open = 0;
      for (int i = 0; i < kMembers; ++i) {
        auto s = e.FindStakeholder("INC-MASS", "m" + std::to_string(i))->status;
        if (s != StakeholderStatus::kAcknowledged && s != StakeholderStatus::kEscalated) ++open;
      }
      all_final = open == 0 && e.QueuedCount("voice.priority") == 0;
    });
    finished_at = clock.Now();
    if (!all_final) clock.Advance(1000);
  }
  settle();
  runtime.Stop();
  REQUIRE(all_final);

  int acked = 0, escalated = 0;
  runtime.Inspect([&](const CascadeEngine& e) {
    for (int i = 0; i < kMembers; ++i) {
      const StakeholderCascade* s = e.FindStakeholder("INC-MASS", "m" + std::to_string(i));
      if (s->status == StakeholderStatus::kAcknowledged) ++acked;
      if (s->status == StakeholderStatus::kEscalated) ++escalated;
      if (i % 2 == 0) CHECK(s->status == StakeholderStatus::kAcknowledged);
    }
  });
  // Nobody lost.
  CHECK(acked == kMembers / 2);
  CHECK(escalated == kMembers / 2);
  CHECK(twilio.rejected() == 0);
  CHECK(sendgrid.rejected() == 0);
  CHECK(twilio.throttled() == 60);
  // Every member's number leads back to them through the store (an inbound
  // "1" would find them), the 60 messages re-taken after a 429 included.
  for (int i = 0; i < kMembers; ++i) {
    auto r = runtime.RecipientOf("+1555" + std::to_string(1000000 + i));
    REQUIRE(r.ok());
    CHECK(r->last_incident_id == "INC-MASS");
    CHECK(r->member_by_incident == std::map<std::string, std::string>{{"INC-MASS", "m" + std::to_string(i)}});
  }
  // Every member got exactly one SMS (the 429s were re-queued, not dropped
  // and not duplicated); the unanswered half one email each; the manager one
  // call per escalated member.
  std::map<std::string, int> per_phone;
  int calls = 0;
  for (const auto& d : twilio.deliveries()) {
    if (d.voice) ++calls; else ++per_phone[d.to];
  }
  CHECK(per_phone.size() == static_cast<std::size_t>(kMembers));
  for (const auto& [phone, n] : per_phone) CHECK(n == 1);
  CHECK(calls == kMembers / 2);
  CHECK(sendgrid.deliveries().size() == static_cast<std::size_t>(kMembers / 2));
  // No endpoint throttle exceeded: at most 50 SMS per 1000 ms of the clock.
  std::map<std::int64_t, int> per_instant;
  for (const auto& d : twilio.deliveries()) if (!d.voice) ++per_instant[d.at];
  std::vector<std::pair<std::int64_t, int>> v(per_instant.begin(), per_instant.end());
  for (std::size_t i = 0; i < v.size(); ++i) {
    int sum = 0;
    for (std::size_t j = i; j < v.size() && v[j].first < v[i].first + 1000; ++j) sum += v[j].second;
    CHECK(sum <= 50);
  }
  // Within the bound the config implies: 500 SMS at 50/s (10 s) plus the
  // 429 pause, 90 s hold, email delivered then 90 s hold, then escalation.
  CHECK(finished_at - kT0 <= 15'000 + 90'000 + 90'000 + 15'000);
  auto metrics = runtime.MetricsJson();
  CHECK(metrics.find("\"sms\":{\"sent\":560,\"accepted\":500,\"throttled\":60,\"failed\":0}") != std::string::npos);
  CHECK(runtime.MetricsPrometheus().find("lifeline_cascade_messages_throttled_total{channel=\"sms\"} 60") !=
        std::string::npos);
}
