#include "providers/callback_platforms.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "http/basic_auth.hpp"
#include "http/form_encoding.hpp"
#include "lifeline/retry_after.hpp"
#include "lifeline/retry_classifier.hpp"
#include "lifeline/rfc3339.hpp"

namespace lifeline {
namespace {

// Basic credentials, or "" when they cannot be encoded (the platform then
// answers 401 and the dispatcher reports it).
std::string Basic(const std::string& id, const std::string& secret) {
  Result<std::string> header = BasicAuthorization(id, secret);
  return header.ok() ? *header : std::string();
}

std::string HmacSha256Hex(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string Finish(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

// A string value from a JSON body, or "" (platform references are optional).
std::string JsonField(const std::string& body, const char* outer, const char* inner) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(outer)) return "";
  const rapidjson::Value* v = &doc[outer];
  if (inner != nullptr) {
    if (!v->IsObject() || !v->HasMember(inner)) return "";
    v = &(*v)[inner];
  }
  if (v->IsString()) return v->GetString();
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  return "";
}

HttpRequest JsonPost(std::string url, std::string body, const std::string& bearer,
                     DurationMillis timeout_ms) {
  HttpRequest request;
  request.method = "POST";
  request.url = std::move(url);
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (!bearer.empty()) request.headers.emplace_back("Authorization", "Bearer " + bearer);
  request.body = std::move(body);
  request.timeout_ms = timeout_ms;
  return request;
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The context the far side needs to recognise a re-send and to route.
void WriteContextMap(JsonWriter& w, const CallbackRequest& r) {
  w.StartObject();
  WriteString(w, "lifelineRequestId", r.request_id);
  WriteString(w, "originalQueueId", r.original_queue_id);
  if (!r.flow_name.empty()) WriteString(w, "flowName", r.flow_name);
  if (!r.call_id.empty()) WriteString(w, "callId", r.call_id);
  for (const auto& [key, value] : r.context) WriteString(w, key.c_str(), value);
  w.EndObject();
}

// A platform that needs an OAuth bearer token: the token bookkeeping shared
// by Genesys and CXone; subclasses say how to ask for one.
class OAuthPlatform : public CallbackPlatform {
 public:
  explicit OAuthPlatform(DurationMillis refresh_margin_ms) : token_(refresh_margin_ms) {}

  std::optional<HttpRequest> TokenRequest(UnixMillis now) final {
    if (!token_.NeedsRequest(now)) return std::nullopt;
    token_.MarkRequested();
    return BuildTokenRequest();
  }
  Status OnTokenResponse(const HttpResponse& response, UnixMillis now) final {
    return token_.Accept(response, now);
  }
  bool Ready(UnixMillis now) const final { return token_.Valid(now); }
  void InvalidateToken() final { token_.Invalidate(); }

 protected:
  // A form-encoded POST with Basic client credentials.
  static HttpRequest TokenPost(std::string url, const std::string& client_id,
                               const std::string& client_secret, std::string form_body,
                               DurationMillis timeout_ms) {
    HttpRequest request;
    request.method = "POST";
    request.url = std::move(url);
    request.headers = {{"Authorization", Basic(client_id, client_secret)},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
    request.body = std::move(form_body);
    request.timeout_ms = timeout_ms;
    return request;
  }
  virtual HttpRequest BuildTokenRequest() const = 0;
  const std::string& bearer() const { return token_.value(); }

 private:
  BearerToken token_;
};

// ---------------------------------------------------------------------------
class GenesysPlatform final : public OAuthPlatform {
 public:
  explicit GenesysPlatform(GenesysConfig c)
      : OAuthPlatform(c.token_refresh_margin_ms), config_(std::move(c)) {
    if (config_.api_base_url.empty()) config_.api_base_url = "https://api." + config_.region;
    if (config_.login_base_url.empty()) config_.login_base_url = "https://login." + config_.region;
    config_.api_base_url = TrimSlash(config_.api_base_url);
    config_.login_base_url = TrimSlash(config_.login_base_url);
  }

  const char* name() const override { return "genesys"; }

  HttpRequest BuildTokenRequest() const override {
    return TokenPost(config_.login_base_url + "/oauth/token", config_.client_id,
                     config_.client_secret, "grant_type=client_credentials",
                     config_.request_timeout_ms);
  }

  HttpRequest BuildCallbackRequest(const CallbackRequest& r) const override {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    const std::string& queue =
        config_.route_to_original_queue ? r.original_queue_id : config_.queue_id;
    if (!config_.skill_ids.empty()) {
      w.Key("routingData");
      w.StartObject();
      WriteString(w, "queueId", queue);
      w.Key("skillIds");
      w.StartArray();
      for (const auto& skill : config_.skill_ids) w.String(skill.c_str());
      w.EndArray();
      w.EndObject();
    } else {
      WriteString(w, "queueId", queue);
    }
    if (!config_.script_id.empty()) WriteString(w, "scriptId", config_.script_id);
    w.Key("callbackNumbers");
    w.StartArray();
    w.String(r.caller_e164.c_str());
    w.EndArray();
    WriteString(w, "callbackUserName",
                r.caller_name.empty() ? std::string("Emergency callback") : r.caller_name);
    if (r.scheduled_at) WriteString(w, "callbackScheduledTime", FormatRfc3339(*r.scheduled_at).value());
    w.Key("data");
    WriteContextMap(w, r);
    w.EndObject();
    return JsonPost(config_.api_base_url + "/api/v2/conversations/callbacks", Finish(buffer),
                    bearer(), config_.request_timeout_ms);
  }

  DeliveryOutcome InterpretCallbackResponse(const HttpResponse& response,
                                            UnixMillis now) const override {
    DeliveryOutcome outcome = InterpretStandardResponse(response, now);
    if (outcome.kind == DeliveryOutcome::Kind::kDelivered) {
      outcome.provider_reference = JsonField(response.body, "conversation", "id");
    }
    return outcome;
  }

 private:
  GenesysConfig config_;
};

// ---------------------------------------------------------------------------
class CxonePlatform final : public OAuthPlatform {
 public:
  explicit CxonePlatform(CxoneConfig c)
      : OAuthPlatform(c.token_refresh_margin_ms), config_(std::move(c)) {
    config_.api_base_url = TrimSlash(config_.api_base_url);
    config_.auth_base_url = TrimSlash(config_.auth_base_url);
  }

  const char* name() const override { return "cxone"; }

  HttpRequest BuildTokenRequest() const override {
    Result<std::string> form = EncodeFormBody({{"grant_type", "password"},
                                               {"username", config_.access_key_id},
                                               {"password", config_.access_key_secret}});
    return TokenPost(config_.auth_base_url + "/auth/token", config_.client_id,
                     config_.client_secret, form.ok() ? *form : std::string(),
                     config_.request_timeout_ms);
  }

  HttpRequest BuildCallbackRequest(const CallbackRequest& r) const override {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    // CXone dials national numbers without the '+'.
    WriteString(w, "phoneNumber", r.caller_e164.substr(r.caller_e164[0] == '+' ? 1 : 0));
    WriteString(w, "skill", config_.skill);
    if (!config_.caller_id.empty()) WriteString(w, "callerID", config_.caller_id);
    std::string notes = "Emergency failover callback. lifelineRequestId=" + r.request_id +
                        " originalQueueId=" + r.original_queue_id;
    if (!r.flow_name.empty()) notes += " flowName=" + r.flow_name;
    for (const auto& [key, value] : r.context) notes += " " + key + "=" + value;
    WriteString(w, "notes", notes);
    std::string path = "/queuecallback";
    if (r.scheduled_at) {
      path = "/promise";
      WriteString(w, "scheduleDate", FormatRfc3339(*r.scheduled_at).value());
      WriteString(w, "timeZone", "UTC");
      WriteString(w, "firstName", r.caller_name.empty() ? std::string("Emergency") : r.caller_name);
      WriteString(w, "lastName", "Callback");
    }
    w.EndObject();
    return JsonPost(config_.api_base_url + "/incontactapi/services/" + config_.api_version + path,
                    Finish(buffer), bearer(), config_.request_timeout_ms);
  }

  DeliveryOutcome InterpretCallbackResponse(const HttpResponse& response,
                                            UnixMillis now) const override {
    DeliveryOutcome outcome = InterpretStandardResponse(response, now);
    if (outcome.kind == DeliveryOutcome::Kind::kDelivered) {
      outcome.provider_reference = JsonField(response.body, "contactId", nullptr);
      if (outcome.provider_reference.empty()) {
        outcome.provider_reference = JsonField(response.body, "promiseId", nullptr);
      }
    }
    return outcome;
  }

 private:
  CxoneConfig config_;
};

// ---------------------------------------------------------------------------
class WebhookPlatform final : public CallbackPlatform {
 public:
  explicit WebhookPlatform(WebhookConfig c) : config_(std::move(c)) {}

  const char* name() const override { return "webhook"; }
  std::optional<HttpRequest> TokenRequest(UnixMillis) override { return std::nullopt; }
  Status OnTokenResponse(const HttpResponse&, UnixMillis) override { return Status::Ok(); }
  bool Ready(UnixMillis) const override { return true; }
  void InvalidateToken() override {}

  HttpRequest BuildCallbackRequest(const CallbackRequest& r) const override {
    HttpRequest request = JsonPost(config_.url, RenderWebhookBody(config_.body_template, r), "",
                                   config_.request_timeout_ms);
    for (const auto& header : config_.headers) request.headers.push_back(header);
    if (!config_.signing_secret.empty()) {
      std::string timestamp = std::to_string(r.submitted_at);
      request.headers.emplace_back("X-Lifeline-Timestamp", timestamp);
      request.headers.emplace_back(
          "X-Lifeline-Signature",
          "v1=" + HmacSha256Hex(config_.signing_secret, timestamp + "." + request.body));
    }
    return request;
  }

  DeliveryOutcome InterpretCallbackResponse(const HttpResponse& response,
                                            UnixMillis now) const override {
    DeliveryOutcome outcome = InterpretStandardResponse(response, now);
    // A webhook has no token to refresh: a 401 is a configuration error.
    if (outcome.kind == DeliveryOutcome::Kind::kAuthExpired) {
      outcome.kind = DeliveryOutcome::Kind::kPermanent;
    }
    return outcome;
  }

 private:
  WebhookConfig config_;
};

std::string JsonEscaped(const std::string& value) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  std::string quoted = Finish(buffer);
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace

Status BearerToken::Accept(const HttpResponse& response, UnixMillis now) {
  in_flight_ = false;
  if (response.error != TransportError::kNone) {
    return Unavailable("token request failed: " + response.error_message);
  }
  if (response.status < 200 || response.status >= 300) {
    return Unavailable("token request answered HTTP " + std::to_string(response.status));
  }
  rapidjson::Document doc;
  doc.Parse(response.body.c_str(), response.body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("access_token") ||
      !doc["access_token"].IsString()) {
    return Unavailable("token response has no access_token");
  }
  int64_t expires_in = 3600;
  if (doc.HasMember("expires_in") && doc["expires_in"].IsInt64()) {
    expires_in = doc["expires_in"].GetInt64();
  }
  token_ = doc["access_token"].GetString();
  expires_at_ = now + expires_in * 1000;
  return Status::Ok();
}

DeliveryOutcome InterpretStandardResponse(const HttpResponse& response, UnixMillis now) {
  DeliveryOutcome outcome;
  outcome.http_status = response.status;
  if (response.error != TransportError::kNone) {
    outcome.kind = IsRetryable(0, response.error) ? DeliveryOutcome::Kind::kRetry
                                                   : DeliveryOutcome::Kind::kPermanent;
    outcome.error = "transport: " + response.error_message;
    return outcome;
  }
  if (response.status >= 200 && response.status < 300) {
    outcome.kind = DeliveryOutcome::Kind::kDelivered;
    return outcome;
  }
  outcome.error = "HTTP " + std::to_string(response.status);
  if (response.status == 401) {
    outcome.kind = DeliveryOutcome::Kind::kAuthExpired;
    return outcome;
  }
  outcome.rate_limited = response.status == 429;
  if (const std::string* value = response.FindHeader("Retry-After")) {
    Result<DurationMillis> delay = ParseRetryAfter(*value, now);
    if (delay.ok()) outcome.retry_after = *delay;
  }
  outcome.kind = IsRetryable(response.status, TransportError::kNone)
                     ? DeliveryOutcome::Kind::kRetry
                     : DeliveryOutcome::Kind::kPermanent;
  return outcome;
}

std::string RenderWebhookBody(const std::string& body_template, const CallbackRequest& r) {
  if (body_template.empty()) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    WriteString(w, "requestId", r.request_id);
    WriteString(w, "callerPhone", r.caller_e164);
    WriteString(w, "originalQueueId", r.original_queue_id);
    WriteString(w, "flowName", r.flow_name);
    WriteString(w, "callId", r.call_id);
    WriteString(w, "callbackTime", r.scheduled_at ? FormatRfc3339(*r.scheduled_at).value() : "");
    w.Key("contextData");
    WriteContextMap(w, r);
    w.EndObject();
    return Finish(buffer);
  }
  rapidjson::StringBuffer context_buffer;
  JsonWriter context_writer(context_buffer);
  WriteContextMap(context_writer, r);
  const std::pair<const char*, std::string> values[] = {
      {"requestId", JsonEscaped(r.request_id)},
      {"callerPhone", JsonEscaped(r.caller_e164)},
      {"originalQueueId", JsonEscaped(r.original_queue_id)},
      {"flowName", JsonEscaped(r.flow_name)},
      {"callId", JsonEscaped(r.call_id)},
      {"callerName", JsonEscaped(r.caller_name)},
      {"callbackTime", r.scheduled_at ? FormatRfc3339(*r.scheduled_at).value() : std::string()},
      {"contextData", Finish(context_buffer)},
  };
  std::string out;
  size_t pos = 0;
  while (pos < body_template.size()) {
    size_t open = body_template.find("{{", pos);
    if (open == std::string::npos) break;
    size_t close = body_template.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(body_template, pos, open - pos);
    std::string name = body_template.substr(open + 2, close - open - 2);
    bool known = false;
    for (const auto& [key, value] : values) {
      if (name == key) {
        out += value;
        known = true;
        break;
      }
    }
    if (!known) out.append(body_template, open, close + 2 - open);  // left as written
    pos = close + 2;
  }
  out.append(body_template, pos, std::string::npos);
  return out;
}

std::unique_ptr<CallbackPlatform> MakeGenesysPlatform(GenesysConfig config) {
  return std::make_unique<GenesysPlatform>(std::move(config));
}
std::unique_ptr<CallbackPlatform> MakeCxonePlatform(CxoneConfig config) {
  return std::make_unique<CxonePlatform>(std::move(config));
}
std::unique_ptr<CallbackPlatform> MakeWebhookPlatform(WebhookConfig config) {
  return std::make_unique<WebhookPlatform>(std::move(config));
}

}  // namespace lifeline
