// channel_senders.cc -- see channel_senders.hpp.
#include "providers/channel_senders.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "http/basic_auth.hpp"
#include "http/form_encoding.hpp"
#include "lifeline/retry_after.hpp"
#include "providers/provider_crypto.hpp"

namespace lifeline {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// A JSON body's top-level field, as text ("" when absent).
std::string JsonField(const std::string& body, const char* key) {
  rapidjson::Document d;
  d.Parse(body.c_str(), body.size());
  if (d.HasParseError() || !d.IsObject()) return "";
  auto it = d.FindMember(key);
  if (it == d.MemberEnd()) return "";
  if (it->value.IsString()) return it->value.GetString();
  if (it->value.IsInt64()) return std::to_string(it->value.GetInt64());
  return "";
}

SendResult Failed() { return SendResult{SendResult::Kind::kFailed, "", 0}; }

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// Twilio's answer: the shared mapping plus its error codes.
SendResult MapTwilio(const HttpResponse& r, UnixMillis now) {
  if (r.ok() && r.status >= 400) {
    std::string code = JsonField(r.body, "code");
    if (code == "20429") {
      SendResult t = MapProviderResponse(r, "", now);
      t.kind = SendResult::Kind::kThrottled;
      return t;
    }
    if (code == "21211" || code == "21614" || code == "21610") {
      return SendResult{SendResult::Kind::kUnreachable, "", 0};
    }
  }
  return MapProviderResponse(r, JsonField(r.body, "sid"), now);
}

void PostTwilio(const TwilioOptions& o, HttpTransport* transport, const Clock* clock,
                const char* resource, std::vector<std::pair<std::string, std::string>> form,
                std::uint64_t id, SendCallback done) {
  auto auth = BasicAuthorization(o.account_sid, o.auth_token);
  auto body = EncodeFormBody(form);
  if (!auth.ok() || !body.ok()) {
    done(Failed());
    return;
  }
  HttpRequest req;
  req.method = "POST";
  req.url = TrimSlash(o.base_url) + "/2010-04-01/Accounts/" + o.account_sid + "/" + resource;
  req.headers = {{"Authorization", *auth},
                 {"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = std::move(*body);
  req.timeout_ms = o.timeout_ms;
  req.id = id;
  transport->Send(std::move(req), [clock, done = std::move(done)](HttpResponse r) {
    done(MapTwilio(r, clock->Now()));
  });
}

}  // namespace

SendResult MapProviderResponse(const HttpResponse& r, std::string ref, UnixMillis now) {
  SendResult out;
  if (!r.ok()) return Failed();
  if (r.status >= 200 && r.status < 300) {
    out.kind = SendResult::Kind::kAccepted;
    out.provider_ref = std::move(ref);
    return out;
  }
  if (r.status == 429) {
    out.kind = SendResult::Kind::kThrottled;
    if (const std::string* ra = r.FindHeader("retry-after")) {
      auto d = ParseRetryAfter(*ra, now);
      if (d.ok()) out.retry_after_ms = *d;
    }
    return out;
  }
  if (r.status == 404 || r.status == 410) {
    // FCM: UNREGISTERED token; a gone webhook.
    out.kind = SendResult::Kind::kUnreachable;
    return out;
  }
  return Failed();
}

void TwilioSmsSender::Send(const OutboundMessage& m, SendCallback done) {
  std::vector<std::string> parts = FitSms(m.text, options_.overflow, options_.max_segments);
  auto form = [&](const std::string& body) {
    std::vector<std::pair<std::string, std::string>> f = {
        {"To", m.address}, {"From", options_.from}, {"Body", body}};
    if (!options_.status_callback_url.empty()) f.emplace_back("StatusCallback", options_.status_callback_url);
    return f;
  };
  if (parts.size() <= 1) {
    PostTwilio(options_, transport_, clock_, "Messages.json", form(parts.empty() ? "" : parts[0]),
               m.message_id, std::move(done));
    return;
  }
  // Split: the first part decides the attempt's result and reference; the
  // others follow once it was accepted (their answers are not tracked).
  auto rest = std::make_shared<std::vector<std::vector<std::pair<std::string, std::string>>>>();
  for (std::size_t i = 1; i < parts.size(); ++i) rest->push_back(form(parts[i]));
  TwilioOptions o = options_;
  HttpTransport* t = transport_;
  const Clock* c = clock_;
  std::uint64_t id = m.message_id;
  PostTwilio(options_, transport_, clock_, "Messages.json", form(parts[0]), id,
             [o, t, c, id, rest, done = std::move(done)](SendResult r) {
               if (r.kind == SendResult::Kind::kAccepted) {
                 for (auto& f : *rest) PostTwilio(o, t, c, "Messages.json", f, id, [](SendResult) {});
               }
               done(std::move(r));
             });
}

std::string TwilioVoiceSender::Twiml(const OutboundMessage& m) const {
  std::string action = options_.gather_action_url;
  action += (action.find('?') == std::string::npos ? "?m=" : "&m=") + std::to_string(m.message_id);
  return "<Response><Gather numDigits=\"1\" method=\"POST\" action=\"" + XmlEscape(action) +
         "\"><Say>" + XmlEscape(m.text) +
         "</Say><Say>Press 1 to acknowledge.</Say></Gather><Say>No input received. Goodbye.</Say>"
         "</Response>";
}

void TwilioVoiceSender::Send(const OutboundMessage& m, SendCallback done) {
  std::vector<std::pair<std::string, std::string>> f = {
      {"To", m.address}, {"From", options_.from}, {"Twiml", Twiml(m)}};
  if (!options_.status_callback_url.empty()) {
    f.emplace_back("StatusCallback", options_.status_callback_url);
    f.emplace_back("StatusCallbackEvent", "completed");
  }
  PostTwilio(options_, transport_, clock_, "Calls.json", std::move(f), m.message_id, std::move(done));
}

std::string AckTokens::Sign(const OutboundMessage& m, UnixMillis now) const {
  std::string payload = m.incident_id + "\n" + m.member_id + "\n" + std::to_string(m.message_id) +
                        "\n" + std::to_string(now + lifetime_ms_);
  std::string p = Base64Url(payload);
  return p + "." + Base64Url(HmacSha256(key_, p));
}

Result<AckTokens::Claim> AckTokens::Verify(std::string_view token, UnixMillis now) const {
  std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return InvalidArgument("ack token: malformed");
  std::string_view p = token.substr(0, dot);
  std::string_view mac = token.substr(dot + 1);
  if (!ConstantTimeEquals(Base64Url(HmacSha256(key_, p)), mac)) {
    return InvalidArgument("ack token: bad signature");
  }
  auto payload = DecodeBase64Url(p);
  if (!payload.ok()) return InvalidArgument("ack token: malformed");
  std::vector<std::string> f;
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = payload->find('\n', start);
    f.push_back(payload->substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  if (f.size() != 4) return InvalidArgument("ack token: malformed");
  UnixMillis expires = std::strtoll(f[3].c_str(), nullptr, 10);
  if (now > expires) return Status(StatusCode::kTimeout, "ack token: expired");
  Claim c;
  c.incident_id = f[0];
  c.member_id = f[1];
  c.message_id = std::strtoull(f[2].c_str(), nullptr, 10);
  c.mac = std::string(mac);
  c.expires_at = expires;
  return c;
}

Result<AckTokens::Claim> AckTokens::Redeem(std::string_view token, UnixMillis now) {
  Result<Claim> c = Verify(token, now);
  if (!c.ok()) return c;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = used_.begin(); it != used_.end();) {
    if (it->second < now) it = used_.erase(it); else ++it;
  }
  if (!used_.emplace(c->mac, c->expires_at).second) {
    return Status(StatusCode::kDuplicate, "ack token: already used");
  }
  return c;
}

void SendGridEmailSender::Send(const OutboundMessage& m, SendCallback done) {
  std::string text = m.text;
  if (tokens_ != nullptr && !options_.ack_url.empty()) {
    std::string url = options_.ack_url;
    url += (url.find('?') == std::string::npos ? "?token=" : "&token=") + tokens_->Sign(m, clock_->Now());
    text += "\n\nAcknowledge: " + url + "\n";
  }
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("personalizations");
  w.StartArray();
  w.StartObject();
  w.Key("to");
  w.StartArray();
  w.StartObject();
  Str(w, "email", m.address);
  w.EndObject();
  w.EndArray();
  w.Key("custom_args");
  w.StartObject();
  Str(w, "lifeline_message_id", std::to_string(m.message_id));
  w.EndObject();
  w.EndObject();
  w.EndArray();
  w.Key("from");
  w.StartObject();
  Str(w, "email", options_.from_email);
  Str(w, "name", options_.from_name);
  w.EndObject();
  Str(w, "subject", options_.subject);
  w.Key("content");
  w.StartArray();
  w.StartObject();
  Str(w, "type", "text/plain");
  Str(w, "value", text);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  HttpRequest req;
  req.method = "POST";
  req.url = TrimSlash(options_.base_url) + "/v3/mail/send";
  req.headers = {{"Authorization", "Bearer " + options_.api_key},
                 {"Content-Type", "application/json"}};
  req.body.assign(b.GetString(), b.GetSize());
  req.timeout_ms = options_.timeout_ms;
  req.id = m.message_id;
  const Clock* clock = clock_;
  transport_->Send(std::move(req), [clock, done = std::move(done)](HttpResponse r) {
    done(MapProviderResponse(r, r.Header("x-message-id"), clock->Now()));
  });
}

void FcmPushSender::Send(const OutboundMessage& m, SendCallback done) {
  auto token = tokens_ != nullptr ? tokens_->AccessToken() : Result<std::string>(Unavailable("no token provider"));
  if (!token.ok()) {
    done(Failed());
    return;
  }
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("message");
  w.StartObject();
  Str(w, "token", m.address);
  w.Key("notification");
  w.StartObject();
  Str(w, "title", options_.title);
  Str(w, "body", m.text);
  w.EndObject();
  w.Key("data");
  w.StartObject();
  Str(w, "lifeline_message_id", std::to_string(m.message_id));
  Str(w, "incident_id", m.incident_id);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  HttpRequest req;
  req.method = "POST";
  req.url = TrimSlash(options_.base_url) + "/v1/projects/" + options_.project_id + "/messages:send";
  req.headers = {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}};
  req.body.assign(b.GetString(), b.GetSize());
  req.timeout_ms = options_.timeout_ms;
  req.id = m.message_id;
  const Clock* clock = clock_;
  transport_->Send(std::move(req), [clock, done = std::move(done)](HttpResponse r) {
    done(MapProviderResponse(r, JsonField(r.body, "name"), clock->Now()));
  });
}

void WebhookSender::Send(const OutboundMessage& m, SendCallback done) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  Str(w, "messageId", std::to_string(m.message_id));
  Str(w, "incidentId", m.incident_id);
  Str(w, "memberId", m.member_id);
  Str(w, "severity", SeverityName(m.severity));
  Str(w, "text", m.text);
  w.Key("escalation");
  w.Bool(m.escalation);
  w.EndObject();
  HttpRequest req;
  req.method = "POST";
  req.url = m.address;
  req.headers = options_.headers;
  req.headers.emplace_back("Content-Type", "application/json");
  req.body.assign(b.GetString(), b.GetSize());
  req.timeout_ms = options_.timeout_ms;
  req.id = m.message_id;
  const Clock* clock = clock_;
  std::string ref = "webhook-" + std::to_string(m.message_id);
  transport_->Send(std::move(req), [clock, ref, done = std::move(done)](HttpResponse r) {
    SendResult s = MapProviderResponse(r, ref, clock->Now());
    // A webhook has no receipts: its 2xx is the delivery.
    if (s.kind == SendResult::Kind::kAccepted) s.kind = SendResult::Kind::kDelivered;
    done(std::move(s));
  });
}

}  // namespace lifeline
