// cascade_service.cc -- see cascade_service.hpp.
#include "cascade/cascade_service.hpp"

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "capi/cascade_json.hpp"
#include "cascade/cascade_runtime.hpp"
#include "core/json_config.hpp"
#include "http/curl_transport.hpp"
#include "lifeline/stakeholder_directory.hpp"
#include "providers/cascade_inbound.hpp"
#include "providers/channel_senders.hpp"
#include "providers/http_directory.hpp"
#include "providers/provider_crypto.hpp"
#include "store/durable_cascade.hpp"
#include "telephony/pbx_voice_sender.hpp"

namespace lifeline {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  Writer w(b);
  v.Accept(w);
  return std::string(b.GetString(), b.GetSize());
}

// Everything the JSON configuration holds (docs/cascade.md lists each key).
struct ServiceConfig {
  std::string directory_json;
  std::string cascade_json;
  std::string lookup_url;
  HttpHeaders lookup_headers;
  std::string store_path = ":memory:";
  bool store_synchronous_full = false;
  std::string store_address_key;
  bool twilio = false;
  TwilioOptions twilio_options;
  bool twilio_voice = true;
  bool validate_twilio_signatures = true;
  bool pbx_voice = false;              // channels.voice.via == "pbx"
  OutboundCallOptions pbx_options;
  bool sendgrid = false;
  SendGridOptions sendgrid_options;
  bool fcm = false;
  FcmOptions fcm_options;
  std::string fcm_access_token;
  bool webhook = true;
  WebhookOptions webhook_options;
  std::string ack_key;
  DurationMillis ack_lifetime_ms = 24LL * 3600 * 1000;
  SendGridWebhookOptions sendgrid_webhook;   // public_key "": unsigned events accepted
  TriggerAuthOptions trigger_auth;
  bool tls_verify = true;
  std::string ca_file;
  std::int64_t max_connections = 64;
  bool audit_required = false;
  std::int64_t event_queue_limit = 10'000;
};

Result<ServiceConfig> ParseServiceConfig(std::string_view json) {
  JsonConfig doc;
  Status parsed = doc.Parse(json);
  if (!parsed.ok()) return parsed;
  ConfigObject root = doc.Root();
  ServiceConfig c;
  const std::int64_t kDay = 86'400'000;
  if (const rapidjson::Value* d = root.Raw("directory")) {
    if (!d->IsObject()) root.Error("directory", "expected an object (the stakeholder directory)");
    else c.directory_json = Serialize(*d);
  } else {
    root.Error("directory", "required: the stakeholder directory {\"members\", \"groups\"}");
  }
  if (const rapidjson::Value* v = root.Raw("cascade")) {
    if (!v->IsObject()) root.Error("cascade", "expected an object (the cascade engine's settings)");
    else c.cascade_json = Serialize(*v);
  }
  if (ConfigObject* l = root.Object("directory_lookup")) {
    l->String("url", &c.lookup_url);
    l->StringMap("headers", &c.lookup_headers);
    if (c.lookup_url.empty()) l->Error("url", "required, an http:// or https:// URL");
  }
  if (ConfigObject* s = root.Object("store")) {
    s->String("path", &c.store_path);
    int sync = c.store_synchronous_full ? 1 : 0;
    s->Enum("synchronous", &sync, {"normal", "full"});
    c.store_synchronous_full = sync == 1;
    s->String("address_key", &c.store_address_key);
    if (c.store_path.empty()) s->Error("path", "must not be empty (\":memory:\" for no file)");
  }
  if (ConfigObject* ch = root.Object("channels")) {
    bool twilio_voice_given = false;
    if (ConfigObject* t = ch->Object("twilio")) {
      c.twilio = true;
      TwilioOptions& o = c.twilio_options;
      t->String("base_url", &o.base_url);
      t->String("account_sid", &o.account_sid);
      t->String("auth_token", &o.auth_token);
      t->String("from", &o.from);
      t->String("status_callback_url", &o.status_callback_url);
      t->String("gather_action_url", &o.gather_action_url);
      int overflow = static_cast<int>(o.overflow);
      t->Enum("sms_overflow", &overflow, {"truncate", "split"});
      o.overflow = static_cast<SmsOverflow>(overflow);
      t->Int("max_segments", &o.max_segments, 1, 10);
      t->Int("timeout_ms", &o.timeout_ms, 1, 600'000);
      t->Bool("voice", &c.twilio_voice);
      twilio_voice_given = t->Has("voice");
      t->Bool("validate_signatures", &c.validate_twilio_signatures);
      if (o.account_sid.empty()) t->Error("account_sid", "required");
      if (o.auth_token.empty()) t->Error("auth_token", "required");
      if (o.from.empty()) t->Error("from", "required, the E.164 sender");
    }
    if (ConfigObject* v = ch->Object("voice")) {
      int via = 0;
      v->Enum("via", &via, {"twilio", "pbx"});
      c.pbx_voice = via == 1;
      OutboundCallOptions& o = c.pbx_options;
      const char* kPbxOnly[] = {"caller_id", "media_id", "ack_digit", "gather_prompt", "digit_timeout_ms",
                                "ring_timeout_ms"};
      if (!c.pbx_voice) {
        if (!c.twilio) v->Error("via", "\"twilio\" needs channels.twilio");
        else if (!c.twilio_voice) v->Error("via", "\"twilio\" contradicts channels.twilio.voice: false");
        for (const char* key : kPbxOnly) {
          if (v->Has(key)) v->Error(key, "only for \"via\": \"pbx\"");
        }
      } else if (twilio_voice_given && c.twilio_voice) {
        v->Error("via", "\"pbx\" contradicts channels.twilio.voice: true");
      }
      v->String("caller_id", &o.caller_id);
      v->String("media_id", &o.media_id);
      std::string digit(1, o.ack_digit);
      v->String("ack_digit", &digit);
      v->String("gather_prompt", &o.gather_prompt_text);
      v->Int("digit_timeout_ms", &o.digit_timeout_ms, 1, 600'000);
      v->Int("ring_timeout_ms", &o.ring_timeout_ms, 1, 600'000);
      if (digit.size() != 1) {
        v->Error("ack_digit", "expected one of 0-9, * or #");
      } else {
        o.ack_digit = digit[0];
        Status valid = o.Validate();
        if (!valid.ok()) v->Error("ack_digit", "expected one of 0-9, * or #");
      }
    }
    if (ConfigObject* g = ch->Object("sendgrid")) {
      c.sendgrid = true;
      SendGridOptions& o = c.sendgrid_options;
      g->String("base_url", &o.base_url);
      g->String("api_key", &o.api_key);
      g->String("from_email", &o.from_email);
      g->String("from_name", &o.from_name);
      g->String("subject", &o.subject);
      g->String("ack_url", &o.ack_url);
      g->String("ack_key", &c.ack_key);
      g->Int("ack_lifetime_ms", &c.ack_lifetime_ms, 1000, 30 * kDay);
      g->Int("timeout_ms", &o.timeout_ms, 1, 600'000);
      g->String("webhook_public_key", &c.sendgrid_webhook.public_key);
      g->Int("webhook_replay_window_ms", &c.sendgrid_webhook.replay_window_ms, 1000, kDay);
      if (!c.sendgrid_webhook.public_key.empty()) {
        auto verifier = SendGridWebhookVerifier::Create(c.sendgrid_webhook);
        if (!verifier.ok()) {
          g->Error("webhook_public_key",
                   "expected the base64 P-256 verification key SendGrid shows (" + verifier.status().message() +
                       ")");
        }
      }
      if (o.api_key.empty()) g->Error("api_key", "required");
      if (o.from_email.empty()) g->Error("from_email", "required");
      if (!o.ack_url.empty() && c.ack_key.empty()) g->Error("ack_key", "required when ack_url is set");
    }
    if (ConfigObject* f = ch->Object("fcm")) {
      c.fcm = true;
      f->String("base_url", &c.fcm_options.base_url);
      f->String("project_id", &c.fcm_options.project_id);
      f->String("access_token", &c.fcm_access_token);
      f->String("title", &c.fcm_options.title);
      f->Int("timeout_ms", &c.fcm_options.timeout_ms, 1, 600'000);
      if (c.fcm_options.project_id.empty()) f->Error("project_id", "required");
      if (c.fcm_access_token.empty()) f->Error("access_token", "required");
    }
    if (ConfigObject* w = ch->Object("webhook")) {
      w->Bool("enabled", &c.webhook);
      w->StringMap("headers", &c.webhook_options.headers);
      w->Int("timeout_ms", &c.webhook_options.timeout_ms, 1, 600'000);
    }
  }
  if (ConfigObject* i = root.Object("inbound")) {
    i->String("hmac_secret", &c.trigger_auth.hmac_secret);
    i->String("bearer_token", &c.trigger_auth.bearer_token);
    i->Int("replay_window_ms", &c.trigger_auth.replay_window_ms, 1000, kDay);
  }
  if (ConfigObject* a = root.Object("audit")) {
    a->Bool("required", &c.audit_required);
  }
  if (ConfigObject* e = root.Object("events")) {
    e->Int("queue_limit", &c.event_queue_limit, 0, 10'000'000);
  }
  if (ConfigObject* h = root.Object("http")) {
    h->Bool("tls_verify", &c.tls_verify);
    h->String("ca_file", &c.ca_file);
    h->Int("max_connections", &c.max_connections, 1, 4096);
  }
  Status s = root.Finish();
  if (!s.ok()) return s;
  return c;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

const std::string* Param(const FormParams& params, std::string_view name) {
  for (const auto& p : params) {
    if (p.first == name) return &p.second;
  }
  return nullptr;
}

const std::string* Header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (EqualsIgnoreCaseAscii(h.first, name)) return &h.second;
  }
  return nullptr;
}

// The value of `name` in the URL's query string, percent-decoded.
std::optional<std::string> QueryParam(std::string_view url, std::string_view name) {
  std::size_t q = url.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = url.substr(q + 1);
  std::size_t hash = query.find('#');
  if (hash != std::string_view::npos) query = query.substr(0, hash);
  auto params = DecodeForm(query);
  if (!params.ok()) return std::nullopt;
  if (const std::string* v = Param(*params, name)) return *v;
  return std::nullopt;
}

std::string IngestAnswer(const char* kind, bool acknowledged, int applied, int ignored) {
  return std::string("{\"kind\":\"") + kind + "\",\"acknowledged\":" + (acknowledged ? "true" : "false") +
         ",\"applied\":" + std::to_string(applied) + ",\"ignored\":" + std::to_string(ignored) + "}";
}

}  // namespace

struct CascadeService::Impl {
  ServiceConfig config;
  std::shared_ptr<Clock> clock;
  StakeholderDirectory directory;
  std::unique_ptr<CurlTransport> transport;
  std::unique_ptr<HttpDirectoryProvider> lookup;
  std::unique_ptr<AckTokens> ack_tokens;
  std::unique_ptr<StaticAccessTokenProvider> fcm_tokens;
  std::unique_ptr<TriggerAuthenticator> trigger_auth;
  std::optional<SendGridWebhookVerifier> sendgrid_verifier;   // nullopt: unsigned accepted
  std::vector<std::unique_ptr<ChannelSender>> senders;
  std::unique_ptr<CascadeEventRelay> relay;  // outlives the runtime
  PbxVoiceSender* pbx_voice = nullptr;       // in `senders`, when voice goes to the PBX
  std::unique_ptr<CascadeRuntime> runtime;   // last: stopped first

  std::atomic<std::int64_t> triggers{0};
  std::atomic<std::int64_t> duplicate_triggers{0};
  std::atomic<std::int64_t> refused_triggers{0};
  std::atomic<std::int64_t> unauthenticated{0};
  std::atomic<std::int64_t> provider_callbacks{0};
  std::atomic<std::int64_t> sms_replies{0};
  std::atomic<std::int64_t> gather_digits{0};
  std::atomic<std::int64_t> ack_links{0};
  std::atomic<std::int64_t> unsigned_sendgrid_webhooks{0};
  std::atomic<std::int64_t> voice_results{0};

  ~Impl() {
    // Stop() waits for the sends in flight; the transport's thread is shut
    // down before the runtime goes, so that no completion can reach a
    // destroyed runtime whatever a sender does.
    if (runtime) runtime->Stop();
    if (transport) transport->Shutdown();
    runtime.reset();
  }
};

CascadeService::CascadeService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CascadeService::~CascadeService() = default;

Result<std::unique_ptr<CascadeService>> CascadeService::Open(std::string_view config_json,
                                                             std::shared_ptr<Clock> clock) {
  auto config = ParseServiceConfig(config_json);
  if (!config.ok()) return config.status();
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(*config);
  const ServiceConfig& c = impl->config;
  impl->clock = clock ? std::move(clock) : std::make_shared<SystemClock>();
  auto directory = StakeholderDirectory::FromJson(c.directory_json);
  if (!directory.ok()) return InvalidArgument("directory." + directory.status().message());
  impl->directory = std::move(*directory);
  auto cascade_config = CascadeConfig::FromJson(c.cascade_json);
  if (!cascade_config.ok()) return InvalidArgument("cascade." + cascade_config.status().message());

  CurlTransportOptions transport_options;
  transport_options.verify_tls = c.tls_verify;
  transport_options.ca_file = c.ca_file;
  transport_options.max_total_connections = static_cast<long>(c.max_connections);
  transport_options.max_host_connections = static_cast<long>(c.max_connections);
  auto transport = CurlTransport::Create(transport_options);
  if (!transport.ok()) return transport.status();
  impl->transport = std::move(*transport);
  HttpTransport* t = impl->transport.get();
  const Clock* k = impl->clock.get();

  if (!c.lookup_url.empty()) {
    impl->lookup = std::make_unique<HttpDirectoryProvider>(
        HttpDirectoryOptions{c.lookup_url, c.lookup_headers}, t);
  }
  std::map<Channel, ChannelSender*> senders;
  auto add = [&](Channel channel, std::unique_ptr<ChannelSender> sender) {
    senders[channel] = sender.get();
    impl->senders.push_back(std::move(sender));
  };
  if (c.twilio) {
    add(Channel::kSms, std::make_unique<TwilioSmsSender>(c.twilio_options, t, k));
    if (c.twilio_voice && !c.pbx_voice) {
      add(Channel::kVoice, std::make_unique<TwilioVoiceSender>(c.twilio_options, t, k));
    }
  }
  if (c.pbx_voice) {
    auto pbx = std::make_unique<PbxVoiceSender>(c.pbx_options);
    impl->pbx_voice = pbx.get();
    add(Channel::kVoice, std::move(pbx));
  }
  if (!c.ack_key.empty()) impl->ack_tokens = std::make_unique<AckTokens>(c.ack_key, c.ack_lifetime_ms);
  if (c.sendgrid) {
    add(Channel::kEmail,
        std::make_unique<SendGridEmailSender>(c.sendgrid_options, t, k, impl->ack_tokens.get()));
  }
  if (c.fcm) {
    impl->fcm_tokens = std::make_unique<StaticAccessTokenProvider>(c.fcm_access_token);
    add(Channel::kPush, std::make_unique<FcmPushSender>(c.fcm_options, t, k, impl->fcm_tokens.get()));
  }
  if (c.webhook) add(Channel::kWebhook, std::make_unique<WebhookSender>(c.webhook_options, t, k));
  impl->trigger_auth = std::make_unique<TriggerAuthenticator>(c.trigger_auth);
  if (!c.sendgrid_webhook.public_key.empty()) {
    auto verifier = SendGridWebhookVerifier::Create(c.sendgrid_webhook);
    if (!verifier.ok()) return verifier.status();   // refused by ParseServiceConfig already
    impl->sendgrid_verifier.emplace(std::move(*verifier));
  }

  DurableCascadeOptions store;
  store.database.path = c.store_path;
  store.database.synchronous = c.store_synchronous_full ? SqliteSynchronous::kFull : SqliteSynchronous::kNormal;
  store.config = std::move(*cascade_config);
  store.address_key = c.store_address_key;
  impl->relay = std::make_unique<CascadeEventRelay>(c.audit_required,
                                                    static_cast<std::size_t>(c.event_queue_limit));
  auto durable = DurableCascade::Open(std::move(store), &impl->directory, impl->lookup.get(),
                                      impl->relay.get(), impl->clock->Now());
  if (!durable.ok()) return durable.status();
  impl->runtime = std::make_unique<CascadeRuntime>(std::move(*durable), std::move(senders), k,
                                                   impl->relay.get());
  impl->runtime->Start();
  return std::unique_ptr<CascadeService>(new CascadeService(std::move(impl)));
}

Status CascadeService::Settle(DurationMillis timeout_ms) { return impl_->runtime->Settle(timeout_ms); }

Result<std::string> CascadeService::Trigger(std::string_view trigger_json) {
  auto trigger = ParseCascadeTrigger(trigger_json);
  if (!trigger.ok()) {
    ++impl_->refused_triggers;
    return trigger.status();
  }
  auto result = impl_->runtime->Trigger(*trigger);
  if (!result.ok()) {
    ++impl_->refused_triggers;
    return result.status();
  }
  ++impl_->triggers;
  if (result->duplicate) ++impl_->duplicate_triggers;
  std::string out;
  bool duplicate = result->duplicate;
  impl_->runtime->Inspect([&](const CascadeEngine& e) {
    if (const IncidentCascade* inc = e.FindIncident(result->incident_id)) {
      out = capi::CascadeStateJson(e, *inc, duplicate);
    }
  });
  if (out.empty()) return InternalError("the triggered incident is not in the engine");
  return out;
}

Result<std::string> CascadeService::TriggerHttp(std::string_view method, std::string_view url,
                                                const HttpHeaders& headers, std::string_view body) {
  (void)url;
  if (method != "POST") return InvalidArgument("method: a trigger must be POSTed");
  Status auth = impl_->trigger_auth->Verify(headers, body, impl_->clock->Now());
  if (!auth.ok()) {
    ++impl_->unauthenticated;
    return Status(StatusCode::kUnauthenticated, auth.message());
  }
  return Trigger(body);
}

Status CascadeService::Acknowledge(const std::string& incident_id, const std::string& member_id,
                                   const std::string& channel) {
  std::optional<Channel> c;
  if (!channel.empty()) {
    c = ParseChannel(channel);
    if (!c) return InvalidArgument("channel: expected voice, sms, email, push or webhook");
  }
  return impl_->runtime->Acknowledge(incident_id, member_id, c);
}

Status CascadeService::CloseIncident(const std::string& incident_id) {
  return impl_->runtime->CloseIncident(incident_id);
}

Result<std::string> CascadeService::IngestProviderCallback(std::string_view provider, std::string_view method,
                                                           std::string_view url, const HttpHeaders& headers,
                                                           std::string_view body) {
  if (method != "POST") return InvalidArgument("method: provider callbacks are POSTed");
  ++impl_->provider_callbacks;
  CascadeRuntime& rt = *impl_->runtime;
  if (provider == "sendgrid") {
    if (impl_->sendgrid_verifier) {
      Status auth = impl_->sendgrid_verifier->Verify(headers, body, impl_->clock->Now());
      if (!auth.ok()) {
        ++impl_->unauthenticated;
        return auth;
      }
    } else {
      ++impl_->unsigned_sendgrid_webhooks;   // channels.sendgrid.webhook_public_key is not set
    }
    auto events = ParseSendGridEvents(body);
    if (!events.ok()) return events.status();
    int applied = 0, ignored = 0;
    for (const SendGridEvent& e : *events) {
      if (!e.status) {
        ++ignored;
        continue;
      }
      Status s = e.message_id != 0 ? rt.OnReceipt(e.message_id, *e.status)
                                   : rt.OnProviderReceipt(e.provider_ref, *e.status);
      if (s.ok()) ++applied;
      else if (s.code() == StatusCode::kNotFound) ++ignored;
      else return s;
    }
    return IngestAnswer("events", false, applied, ignored);
  }
  if (provider != "twilio") return InvalidArgument("provider: expected \"twilio\" or \"sendgrid\"");
  if (!impl_->config.twilio) return StateError("provider: no twilio channel is configured");
  auto params = DecodeForm(body);
  if (!params.ok()) return InvalidArgument("body: not a form-encoded Twilio request");
  if (impl_->config.validate_twilio_signatures) {
    const std::string* sig = Header(headers, "x-twilio-signature");
    if (sig == nullptr ||
        !ValidTwilioSignature(impl_->config.twilio_options.auth_token, url, *params, *sig)) {
      ++impl_->unauthenticated;
      return Status(StatusCode::kUnauthenticated, "twilio request signature is missing or wrong");
    }
  }
  if (const std::string* digits = Param(*params, "Digits")) {
    ++impl_->gather_digits;
    auto m = QueryParam(url, "m");
    if (!m || m->empty() || m->find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgument("url: a <Gather> action needs its m=<message id> parameter");
    }
    if (*digits != "1") return IngestAnswer("gather", false, 0, 1);
    Status s = rt.OnReceipt(std::stoull(*m), AttemptStatus::kAcknowledged);
    if (!s.ok()) return s;
    return IngestAnswer("gather", true, 1, 0);
  }
  const std::string* message_status = Param(*params, "MessageStatus");
  const std::string* call_status = Param(*params, "CallStatus");
  if (message_status != nullptr || call_status != nullptr) {
    const std::string* sid = Param(*params, message_status != nullptr ? "MessageSid" : "CallSid");
    if (sid == nullptr || sid->empty()) return InvalidArgument("body: the status callback has no Sid");
    auto status = message_status != nullptr ? MapTwilioMessageStatus(Lower(*message_status))
                                            : MapTwilioCallStatus(Lower(*call_status));
    if (!status) return IngestAnswer("status", false, 0, 1);
    Status s = rt.OnProviderReceipt(*sid, *status);
    if (!s.ok()) return s;
    return IngestAnswer("status", false, 1, 0);
  }
  const std::string* from = Param(*params, "From");
  const std::string* text = Param(*params, "Body");
  if (from == nullptr || text == nullptr) {
    return InvalidArgument("body: neither a status callback, a reply nor a <Gather> result");
  }
  ++impl_->sms_replies;
  SmsReply reply = ParseSmsReply(*text);
  if (!reply.acknowledges) return IngestAnswer("reply", false, 0, 1);
  auto recipient = rt.RecipientOf(*from);
  if (!recipient.ok()) {
    if (recipient.status().code() != StatusCode::kNotFound) return recipient.status();
    return NotFound("From: no cascade message was sent to this number");
  }
  std::string incident = recipient->last_incident_id;
  if (!reply.code.empty()) {
    if (recipient->member_by_incident.count(reply.code) == 0) {
      return NotFound("Body: the ACK code names no incident this number was notified about");
    }
    incident = reply.code;
  }
  Status s = rt.Acknowledge(incident, recipient->member_by_incident.at(incident), Channel::kSms);
  if (!s.ok()) return s;
  return IngestAnswer("reply", true, 1, 0);
}

Status CascadeService::SetVoiceOriginator(std::shared_ptr<CallOriginator> originator) {
  if (impl_->pbx_voice == nullptr) {
    return StateError("no PBX voice channel is configured (channels.voice.via is not \"pbx\")");
  }
  // On the loop's thread, between two sends: once this returns, the old
  // originator is not called again.
  PbxVoiceSender* pbx = impl_->pbx_voice;
  impl_->runtime->Inspect([&](const CascadeEngine&) { pbx->SetOriginator(std::move(originator)); });
  return Status::Ok();
}

Status CascadeService::VoiceResult(std::uint64_t message_id, const OutboundCallResult& result) {
  if (impl_->pbx_voice == nullptr) {
    return StateError("no PBX voice channel is configured (channels.voice.via is not \"pbx\")");
  }
  Status valid = ValidateOutboundCallResult(result);
  if (!valid.ok()) return valid;
  bool known = false;
  bool voice = false;
  impl_->runtime->Inspect([&](const CascadeEngine& e) {
    const CascadeAttempt* a = e.FindAttempt(message_id);
    known = a != nullptr;
    voice = known && a->channel == Channel::kVoice;
  });
  if (!known) return NotFound("message_id: unknown message");
  if (!voice) return NotFound("message_id: not a voice call");
  ++impl_->voice_results;
  return impl_->runtime->OnReceipt(message_id, AttemptStatusOf(result, impl_->pbx_voice->options().ack_digit));
}

Result<std::string> CascadeService::AckLink(std::string_view token) {
  if (!impl_->ack_tokens) return StateError("no sendgrid ack_key is configured");
  auto claim = impl_->ack_tokens->Verify(token, impl_->clock->Now());
  if (!claim.ok()) {
    if (claim.status().code() == StatusCode::kInvalidArgument) {
      ++impl_->unauthenticated;
      return Status(StatusCode::kUnauthenticated, claim.status().message());
    }
    return claim.status();
  }
  // Single use across restarts: the redemption is stored with the ack.
  Status s = impl_->runtime->AcknowledgeOnce(claim->mac, claim->expires_at, claim->incident_id,
                                             claim->member_id, Channel::kEmail);
  if (!s.ok()) return s;
  ++impl_->ack_links;
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("incidentId");
  w.String(claim->incident_id.c_str(), static_cast<rapidjson::SizeType>(claim->incident_id.size()));
  w.Key("memberId");
  w.String(claim->member_id.c_str(), static_cast<rapidjson::SizeType>(claim->member_id.size()));
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

Status CascadeService::SetAudit(AuditSink* audit) { return impl_->runtime->SetAudit(audit); }

std::string CascadeService::TakeEventsJson() {
  return capi::CascadeEventsJson(impl_->runtime->TakeEvents());
}

Result<std::string> CascadeService::StateJson(const std::string& incident_id) {
  std::string out;
  impl_->runtime->Inspect([&](const CascadeEngine& e) {
    if (const IncidentCascade* inc = e.FindIncident(incident_id)) out = capi::CascadeStateJson(e, *inc);
  });
  if (out.empty()) return NotFound("incident_id: unknown incident");
  return out;
}

std::string CascadeService::ListJson() {
  std::string out;
  impl_->runtime->Inspect([&](const CascadeEngine& e) { out = capi::CascadeListJson(e); });
  return out;
}

std::string CascadeService::MetricsJson() {
  std::string runtime = impl_->runtime->MetricsJson();
  rapidjson::Document d;
  d.Parse(runtime.c_str(), runtime.size());
  auto& a = d.GetAllocator();
  auto put = [&](const char* key, std::int64_t v) {
    d.AddMember(rapidjson::Value(key, a), rapidjson::Value(static_cast<int64_t>(v)), a);
  };
  put("triggers", impl_->triggers.load());
  put("duplicate_triggers", impl_->duplicate_triggers.load());
  put("refused_triggers", impl_->refused_triggers.load());
  put("unauthenticated_requests", impl_->unauthenticated.load());
  put("provider_callbacks", impl_->provider_callbacks.load());
  put("sms_replies", impl_->sms_replies.load());
  put("gather_digits", impl_->gather_digits.load());
  put("ack_links", impl_->ack_links.load());
  put("unsigned_sendgrid_webhooks", impl_->unsigned_sendgrid_webhooks.load());
  put("voice_results", impl_->voice_results.load());
  put("directory_lookups_ok", impl_->lookup ? impl_->lookup->successes() : 0);
  put("directory_lookups_failed", impl_->lookup ? impl_->lookup->failures() : 0);
  return Serialize(d);
}

std::string CascadeService::MetricsPrometheus() {
  std::string out = impl_->runtime->MetricsPrometheus();
  auto counter = [&](const char* name, const char* help, std::int64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
           std::to_string(v) + "\n";
  };
  counter("lifeline_cascade_triggers_total", "Triggers accepted (duplicates included).", impl_->triggers.load());
  counter("lifeline_cascade_duplicate_triggers_total", "Triggers answered with an existing cascade.",
          impl_->duplicate_triggers.load());
  counter("lifeline_cascade_refused_triggers_total", "Malformed triggers or unknown groups.",
          impl_->refused_triggers.load());
  counter("lifeline_cascade_unauthenticated_requests_total",
          "Inbound requests refused for a bad signature, token or ack link.", impl_->unauthenticated.load());
  counter("lifeline_cascade_provider_callbacks_total", "Provider callbacks ingested.",
          impl_->provider_callbacks.load());
  counter("lifeline_cascade_unsigned_sendgrid_webhooks_total",
          "SendGrid Event Webhook batches accepted unsigned (no webhook_public_key configured).",
          impl_->unsigned_sendgrid_webhooks.load());
  counter("lifeline_cascade_voice_results_total", "PBX call results ingested.", impl_->voice_results.load());
  counter("lifeline_cascade_directory_lookups_failed_total",
          "Live directory lookups that failed (records flagged stale).",
          impl_->lookup ? impl_->lookup->failures() : 0);
  return out;
}

}  // namespace lifeline
