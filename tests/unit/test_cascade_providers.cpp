// The pure parts of the cascade's channel adapters: signatures, status
// mappings, SMS segments, ack tokens, trigger authentication.
#include <catch2/catch.hpp>

#include "providers/cascade_inbound.hpp"
#include "providers/channel_senders.hpp"
#include "providers/provider_crypto.hpp"
#include "providers/sms_segments.hpp"

using namespace lifeline;

TEST_CASE("Twilio signature matches the documented example") {
  // The example from Twilio's security docs (as reproduced by their libraries).
  FormParams params = {{"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"},
                       {"Digits", "1234"}, {"From", "+12349013030"}, {"To", "+18005551212"}};
  std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  CHECK(TwilioSignature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  // Order of the parameters as received does not matter: they are sorted.
  FormParams shuffled = {params[4], params[0], params[3], params[2], params[1]};
  CHECK(ValidTwilioSignature("12345", url, shuffled, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  CHECK_FALSE(ValidTwilioSignature("12345", url, shuffled, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
  CHECK_FALSE(ValidTwilioSignature("12346", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  CHECK_FALSE(ValidTwilioSignature("12345", url + "&x=1", params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
  CHECK_FALSE(ValidTwilioSignature("12345", url, params, ""));
}

TEST_CASE("Twilio statuses map to attempt statuses") {
  for (const char* s : {"queued", "accepted", "scheduled", "sending", "sent"}) {
    CHECK(MapTwilioMessageStatus(s) == AttemptStatus::kSent);
  }
  CHECK(MapTwilioMessageStatus("delivered") == AttemptStatus::kDelivered);
  CHECK(MapTwilioMessageStatus("undelivered") == AttemptStatus::kFailed);
  CHECK(MapTwilioMessageStatus("failed") == AttemptStatus::kFailed);
  CHECK_FALSE(MapTwilioMessageStatus("Delivered").has_value());
  CHECK(MapTwilioCallStatus("ringing") == AttemptStatus::kSent);
  CHECK(MapTwilioCallStatus("completed") == AttemptStatus::kDelivered);
  CHECK(MapTwilioCallStatus("no-answer") == AttemptStatus::kFailed);
  CHECK(MapTwilioCallStatus("failed") == AttemptStatus::kUnreachable);
}

TEST_CASE("SMS replies: 1 or ACK <code>") {
  CHECK(ParseSmsReply("1").acknowledges);
  CHECK(ParseSmsReply("  1\n").acknowledges);
  CHECK(ParseSmsReply("ack").acknowledges);
  SmsReply r = ParseSmsReply("ACK 7f3k");
  CHECK(r.acknowledges);
  CHECK(r.code == "7f3k");
  CHECK(ParseSmsReply("Ack   42 ").code == "42");
  CHECK_FALSE(ParseSmsReply("11").acknowledges);
  CHECK_FALSE(ParseSmsReply("ACKNOWLEDGED").acknowledges);
  CHECK_FALSE(ParseSmsReply("ACK 1 2").acknowledges);
  CHECK_FALSE(ParseSmsReply("no").acknowledges);
  CHECK_FALSE(ParseSmsReply("").acknowledges);
}

TEST_CASE("SMS segments: GSM-7 160/153, UCS-2 70/67, extension characters count twice") {
  CHECK(AnalyzeSms("").segments == 0);
  std::string a160(160, 'a');
  CHECK(AnalyzeSms(a160).encoding == SmsEncoding::kGsm7);
  CHECK(AnalyzeSms(a160).segments == 1);
  CHECK(AnalyzeSms(a160 + "a").segments == 2);
  CHECK(AnalyzeSms(std::string(306, 'a')).segments == 2);
  CHECK(AnalyzeSms(std::string(307, 'a')).segments == 3);
  // '{' is an extension character: 80 of them are 160 septets.
  CHECK(AnalyzeSms(std::string(80, '{')).units == 160);
  CHECK(AnalyzeSms(std::string(80, '{')).segments == 1);
  CHECK(AnalyzeSms(std::string(81, '{')).segments == 2);
  // "é" and "€" are GSM-7 (basic, extension); "ł" is not.
  CHECK(AnalyzeSms("caf\xC3\xA9 \xE2\x82\xAC").encoding == SmsEncoding::kGsm7);
  CHECK(AnalyzeSms("caf\xC3\xA9 \xE2\x82\xAC").units == 7);
  std::string pl = "\xC5\x82";  // ł
  std::string u70;
  for (int i = 0; i < 70; ++i) u70 += pl;
  CHECK(AnalyzeSms(u70).encoding == SmsEncoding::kUcs2);
  CHECK(AnalyzeSms(u70).segments == 1);
  CHECK(AnalyzeSms(u70 + pl).segments == 2);
  // An emoji is a surrogate pair: 2 UTF-16 units.
  CHECK(AnalyzeSms("\xF0\x9F\x9A\xA8").units == 2);
}

TEST_CASE("SMS overflow: truncate to N segments or split into single-segment parts") {
  std::string long_text(400, 'x');
  auto t = FitSms(long_text, SmsOverflow::kTruncate, 2);
  REQUIRE(t.size() == 1);
  CHECK(t[0].size() == 306);
  CHECK(FitSms(long_text, SmsOverflow::kTruncate, 1)[0].size() == 160);
  CHECK(FitSms(long_text, SmsOverflow::kTruncate, 3)[0].size() == 400);
  auto s = FitSms(long_text, SmsOverflow::kSplit, 5);
  REQUIRE(s.size() == 3);
  CHECK(s[0].size() == 160);
  CHECK(s[1].size() == 160);
  CHECK(s[2].size() == 80);
  CHECK(FitSms(long_text, SmsOverflow::kSplit, 2).size() == 2);
  // Never cuts inside a character.
  std::string emoji;
  for (int i = 0; i < 40; ++i) emoji += "\xF0\x9F\x9A\xA8";  // 80 units
  auto e = FitSms(emoji, SmsOverflow::kTruncate, 1);
  CHECK(e[0].size() == 35 * 4);
}

TEST_CASE("ack tokens: signed, single use, expiring, forged ones refused") {
  AckTokens tokens("k3y", 60'000);
  OutboundMessage m;
  m.incident_id = "INC-1";
  m.member_id = "alice";
  m.message_id = 42;
  std::string t = tokens.Sign(m, 1000);
  auto c = tokens.Redeem(t, 2000);
  REQUIRE(c.ok());
  CHECK(c->incident_id == "INC-1");
  CHECK(c->member_id == "alice");
  CHECK(c->message_id == 42);
  CHECK(tokens.Redeem(t, 3000).status().code() == StatusCode::kDuplicate);
  std::string t2 = tokens.Sign(m, 5000);
  CHECK(tokens.Redeem(t2, 5000 + 60'001).status().code() == StatusCode::kTimeout);
  std::string forged = t2;
  forged[2] = forged[2] == 'A' ? 'B' : 'A';
  CHECK(tokens.Redeem(forged, 6000).status().code() == StatusCode::kInvalidArgument);
  AckTokens other("other-key");
  CHECK(other.Redeem(tokens.Sign(m, 1000), 1000).status().code() == StatusCode::kInvalidArgument);
  CHECK(tokens.Redeem("no-dot", 1000).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("trigger authentication: HMAC with replay window, or bearer token") {
  TriggerAuthOptions o;
  o.hmac_secret = "s3cret";
  o.bearer_token = "tok-123";
  o.replay_window_ms = 300'000;
  TriggerAuthenticator auth(o);
  const UnixMillis now = 1'716'215'520'000;
  std::string body = R"({"incidentId":"INC-1"})";
  std::string ts = std::to_string(now / 1000);
  std::string sig = TriggerAuthenticator::Sign("s3cret", ts, body);
  CHECK(sig.rfind("v1=", 0) == 0);
  CHECK(sig.size() == 3 + 64);
  HttpHeaders h = {{"X-Lifeline-Timestamp", ts}, {"X-Lifeline-Signature", sig}};
  CHECK(auth.Verify(h, body, now).ok());
  // The same request again is a replay.
  CHECK(auth.Verify(h, body, now + 1000).message() ==
        "trigger authentication failed: replayed request");
  // A changed body, an old timestamp, a wrong secret.
  std::string ts2 = std::to_string(now / 1000 + 1);
  HttpHeaders h2 = {{"X-Lifeline-Timestamp", ts2},
                    {"X-Lifeline-Signature", TriggerAuthenticator::Sign("s3cret", ts2, body)}};
  CHECK_FALSE(auth.Verify(h2, body + " ", now).ok());
  std::string old = std::to_string(now / 1000 - 301);
  HttpHeaders h3 = {{"X-Lifeline-Timestamp", old},
                    {"X-Lifeline-Signature", TriggerAuthenticator::Sign("s3cret", old, body)}};
  CHECK(auth.Verify(h3, body, now).message() ==
        "trigger authentication failed: timestamp outside the replay window");
  HttpHeaders h4 = {{"X-Lifeline-Timestamp", ts2},
                    {"X-Lifeline-Signature", TriggerAuthenticator::Sign("wrong", ts2, body)}};
  CHECK(auth.Verify(h4, body, now).message() == "trigger authentication failed");
  CHECK(auth.Verify(h2, body, now).ok());
  // Bearer.
  CHECK(auth.Verify({{"Authorization", "Bearer tok-123"}}, body, now).ok());
  CHECK_FALSE(auth.Verify({{"Authorization", "Bearer tok-124"}}, body, now).ok());
  CHECK_FALSE(auth.Verify({{"Authorization", "Basic dG9rLTEyMw=="}}, body, now).ok());
  CHECK_FALSE(auth.Verify({}, body, now).ok());
}

TEST_CASE("SendGrid events: delivered, bounce, dropped, deferred stays pending") {
  auto e = ParseSendGridEvents(R"([
    {"event":"processed","sg_message_id":"abc.filter1"},
    {"event":"deferred","sg_message_id":"abc.filter1"},
    {"event":"delivered","sg_message_id":"abc.filter1","lifeline_message_id":"17"},
    {"event":"bounce","sg_message_id":"def.filter2"},
    {"event":"dropped","sg_message_id":"ghi.f"},
    {"event":"open","sg_message_id":"abc.filter1"}])");
  REQUIRE(e.ok());
  REQUIRE(e->size() == 6);
  CHECK_FALSE((*e)[0].status.has_value());
  CHECK_FALSE((*e)[1].status.has_value());
  CHECK((*e)[2].status == AttemptStatus::kDelivered);
  CHECK((*e)[2].message_id == 17);
  CHECK((*e)[2].provider_ref == "abc");
  CHECK((*e)[3].status == AttemptStatus::kFailed);
  CHECK((*e)[4].status == AttemptStatus::kFailed);
  CHECK_FALSE((*e)[5].status.has_value());
  CHECK(ParseSendGridEvents("{}").status().message() == "sendgrid events: expected a JSON array");
  CHECK(ParseSendGridEvents("[1]").status().message() == "sendgrid events[0]: expected an object");
}

TEST_CASE("form decoding and provider answer mapping") {
  auto f = DecodeForm("To=%2B1555&Body=Hello+world%21&Empty=&Flag");
  REQUIRE(f.ok());
  REQUIRE(f->size() == 4);
  CHECK((*f)[0] == std::make_pair(std::string("To"), std::string("+1555")));
  CHECK((*f)[1].second == "Hello world!");
  CHECK((*f)[2].second.empty());
  CHECK((*f)[3].first == "Flag");
  CHECK_FALSE(DecodeForm("a=%zz").ok());
  HttpResponse r;
  r.status = 429;
  r.headers = {{"Retry-After", "3"}};
  SendResult s = MapProviderResponse(r, "x", 0);
  CHECK(s.kind == SendResult::Kind::kThrottled);
  CHECK(s.retry_after_ms == 3000);
  r.status = 503;
  CHECK(MapProviderResponse(r, "x", 0).kind == SendResult::Kind::kFailed);
  r.status = 201;
  CHECK(MapProviderResponse(r, "SM1", 0).provider_ref == "SM1");
  r.error = TransportError::kTimeout;
  CHECK(MapProviderResponse(r, "SM1", 0).kind == SendResult::Kind::kFailed);
}
