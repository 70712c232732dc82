// cascade_inbound.cc -- see cascade_inbound.hpp.
#include "providers/cascade_inbound.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "providers/provider_crypto.hpp"

namespace lifeline {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

const std::string* Header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (EqualsIgnoreCaseAscii(h.first, name)) return &h.second;
  }
  return nullptr;
}

}  // namespace

std::string TwilioSignature(std::string_view auth_token, std::string_view url, const FormParams& params) {
  FormParams sorted = params;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string data(url);
  for (const auto& p : sorted) {
    data += p.first;
    data += p.second;
  }
  return Base64(HmacSha1(auth_token, data));
}

bool ValidTwilioSignature(std::string_view auth_token, std::string_view url, const FormParams& params,
                          std::string_view signature) {
  if (signature.empty()) return false;
  return ConstantTimeEquals(TwilioSignature(auth_token, url, params), signature);
}

std::optional<AttemptStatus> MapTwilioMessageStatus(std::string_view s) {
  if (s == "queued" || s == "accepted" || s == "scheduled" || s == "sending" || s == "sent") {
    return AttemptStatus::kSent;
  }
  if (s == "delivered" || s == "read") return AttemptStatus::kDelivered;
  if (s == "undelivered" || s == "failed") return AttemptStatus::kFailed;
  return std::nullopt;
}

std::optional<AttemptStatus> MapTwilioCallStatus(std::string_view s) {
  if (s == "queued" || s == "initiated" || s == "ringing" || s == "in-progress") return AttemptStatus::kSent;
  if (s == "completed") return AttemptStatus::kDelivered;
  if (s == "busy" || s == "no-answer" || s == "canceled") return AttemptStatus::kFailed;
  if (s == "failed") return AttemptStatus::kUnreachable;
  return std::nullopt;
}

SmsReply ParseSmsReply(std::string_view body) {
  SmsReply r;
  std::string_view t = Trim(body);
  if (t == "1") {
    r.acknowledges = true;
    return r;
  }
  std::string lower = Lower(t);
  if (lower.rfind("ack", 0) == 0) {
    std::string_view rest = t.substr(3);
    if (rest.empty()) {
      r.acknowledges = true;
      return r;
    }
    if (!std::isspace(static_cast<unsigned char>(rest.front()))) return r;
    rest = Trim(rest);
    if (rest.find_first_of(" \t\r\n") != std::string_view::npos) return r;
    r.acknowledges = true;
    r.code = std::string(rest);
  }
  return r;
}

Result<std::vector<SendGridEvent>> ParseSendGridEvents(std::string_view body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsArray()) return InvalidArgument("sendgrid events: expected a JSON array");
  std::vector<SendGridEvent> out;
  for (rapidjson::SizeType i = 0; i < d.Size(); ++i) {
    const auto& e = d[i];
    if (!e.IsObject()) {
      return InvalidArgument("sendgrid events[" + std::to_string(i) + "]: expected an object");
    }
    SendGridEvent ev;
    if (e.HasMember("sg_message_id") && e["sg_message_id"].IsString()) {
      std::string id = e["sg_message_id"].GetString();
      ev.provider_ref = id.substr(0, id.find('.'));
    }
    if (e.HasMember("lifeline_message_id") && e["lifeline_message_id"].IsString()) {
      // custom_args are flattened into the event object.
      ev.message_id = std::strtoull(e["lifeline_message_id"].GetString(), nullptr, 10);
    }
    std::string type = e.HasMember("event") && e["event"].IsString() ? e["event"].GetString() : "";
    if (type == "delivered") ev.status = AttemptStatus::kDelivered;
    else if (type == "bounce" || type == "dropped") ev.status = AttemptStatus::kFailed;
    out.push_back(std::move(ev));
  }
  return out;
}

Result<SendGridWebhookVerifier> SendGridWebhookVerifier::Create(SendGridWebhookOptions options) {
  std::string_view text = Trim(options.public_key);
  static constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----";
  static constexpr std::string_view kEnd = "-----END PUBLIC KEY-----";
  std::string base64;
  if (text.substr(0, kBegin.size()) == kBegin) {
    std::size_t end = text.find(kEnd);
    if (end == std::string_view::npos) return InvalidArgument("a PEM public key without its END line");
    for (char c : text.substr(kBegin.size(), end - kBegin.size())) {
      if (!std::isspace(static_cast<unsigned char>(c))) base64 += c;
    }
  } else {
    base64 = std::string(text);
  }
  auto der = DecodeBase64(base64);
  if (!der.ok()) return InvalidArgument("not base64 (expected the verification key SendGrid shows)");
  auto key = EcdsaP256PublicKey::FromDer(*der);
  if (!key.ok()) return key.status();
  if (options.replay_window_ms <= 0) return InvalidArgument("replay_window_ms must be positive");
  return SendGridWebhookVerifier(std::move(*key), options.replay_window_ms);
}

Status SendGridWebhookVerifier::Verify(const HttpHeaders& headers, std::string_view body,
                                       UnixMillis now) const {
  auto refused = [](const char* why) {
    return Status(StatusCode::kUnauthenticated, std::string("sendgrid event webhook: ") + why);
  };
  const std::string* sig = Header(headers, kSendGridSignatureHeader);
  const std::string* ts = Header(headers, kSendGridTimestampHeader);
  if (sig == nullptr || ts == nullptr || sig->empty() || ts->empty()) {
    return refused("the signature or timestamp header is missing");
  }
  // Unix seconds, digits only (the signed bytes are the header as sent).
  if (ts->size() > 12 || ts->find_first_not_of("0123456789") != std::string::npos) {
    return refused("bad timestamp");
  }
  const UnixMillis at = std::strtoll(ts->c_str(), nullptr, 10) * 1000;
  if (at < now - replay_window_ms_ || at > now + replay_window_ms_) {
    return refused("timestamp outside the replay window");
  }
  auto der = DecodeBase64(Trim(*sig));
  if (!der.ok()) return refused("the signature is not base64");
  std::string signed_bytes = *ts;
  signed_bytes.append(body.data(), body.size());
  if (!key_.VerifySha256(signed_bytes, *der)) return refused("the signature does not verify");
  return Status::Ok();
}

std::string TriggerAuthenticator::Sign(std::string_view secret, std::string_view timestamp,
                                       std::string_view body) {
  std::string data(timestamp);
  data += '.';
  data += body;
  return "v1=" + Hex(HmacSha256(secret, data));
}

Status TriggerAuthenticator::Verify(const HttpHeaders& headers, std::string_view body, UnixMillis now) {
  const Status refused = InvalidArgument("trigger authentication failed");
  if (const std::string* auth = Header(headers, "authorization")) {
    if (options_.bearer_token.empty()) return refused;
    std::string_view v = *auth;
    if (v.size() < 7 || Lower(v.substr(0, 7)) != "bearer ") return refused;
    return ConstantTimeEquals(Trim(v.substr(7)), options_.bearer_token) ? Status::Ok() : refused;
  }
  const std::string* ts = Header(headers, "x-lifeline-timestamp");
  const std::string* sig = Header(headers, "x-lifeline-signature");
  if (options_.hmac_secret.empty() || ts == nullptr || sig == nullptr) return refused;
  char* end = nullptr;
  long long seconds = std::strtoll(ts->c_str(), &end, 10);
  if (ts->empty() || end == nullptr || *end != '\0') {
    return InvalidArgument("trigger authentication failed: bad timestamp");
  }
  UnixMillis at = seconds * 1000;
  if (at < now - options_.replay_window_ms || at > now + options_.replay_window_ms) {
    return InvalidArgument("trigger authentication failed: timestamp outside the replay window");
  }
  if (!ConstantTimeEquals(Sign(options_.hmac_secret, *ts, body), *sig)) return refused;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = seen_.begin(); it != seen_.end();) {
    if (it->second < now) it = seen_.erase(it); else ++it;
  }
  if (!seen_.emplace(*sig, at + options_.replay_window_ms).second) {
    return InvalidArgument("trigger authentication failed: replayed request");
  }
  return Status::Ok();
}

}  // namespace lifeline
