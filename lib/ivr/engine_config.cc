#include "ivr/engine_config.hpp"

#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json_config.hpp"

namespace lifeline {
namespace {

bool ParseHexKey(const std::string& hex, std::array<uint8_t, 32>* out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    unsigned value = 0;
    for (int j = 0; j < 2; ++j) {
      char c = hex[2 * i + j];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= c - '0';
      else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') value |= c - 'A' + 10;
      else return false;
    }
    (*out)[i] = static_cast<uint8_t>(value);
  }
  return true;
}

void ReadDigitChar(ConfigObject& o, const char* key, char* out, const char* allowed) {
  std::string text(1, *out);
  o.String(key, &text);
  if (text.size() != 1 || std::string(allowed).find(text[0]) == std::string::npos) {
    o.Error(key, std::string("expected one character of ") + allowed);
    return;
  }
  *out = text[0];
}

}  // namespace

Result<EngineConfig> ParseEngineConfig(std::string_view json) {
  JsonConfig doc;
  Status parsed = doc.Parse(json);
  if (!parsed.ok()) return parsed;
  ConfigObject root = doc.Root();
  EngineConfig c;
  constexpr int64_t kDay = 24LL * 3600 * 1000;

  int platform = static_cast<int>(c.platform);
  root.Enum("platform", &platform, {"genesys", "cxone", "webhook"});
  c.platform = static_cast<EngineConfig::Platform>(platform);
  root.Int("request_timeout_ms", &c.request_timeout_ms, 1, 600000);
  root.String("default_country", &c.default_country);
  int64_t max_in_flight = static_cast<int64_t>(c.max_in_flight);
  root.Int("max_in_flight", &max_in_flight, 1, 4096);
  c.max_in_flight = static_cast<size_t>(max_in_flight);
  root.Bool("tls_verify", &c.tls_verify);
  root.String("ca_file", &c.ca_file);
  std::string key_hex;
  root.String("hash_key_hex", &key_hex);
  if (!key_hex.empty()) {
    if (!ParseHexKey(key_hex, &c.hash_key)) root.Error("hash_key_hex", "expected 64 hex digits");
    c.hash_key_given = true;
  }

  if (ConfigObject* g = root.Object("genesys")) {
    g->String("region", &c.genesys.region);
    g->String("api_base_url", &c.genesys.api_base_url);
    g->String("login_base_url", &c.genesys.login_base_url);
    g->String("client_id", &c.genesys.client_id);
    g->String("client_secret", &c.genesys.client_secret);
    g->String("queue_id", &c.genesys.queue_id);
    g->StringList("skill_ids", &c.genesys.skill_ids);
    g->Bool("route_to_original_queue", &c.genesys.route_to_original_queue);
    g->String("script_id", &c.genesys.script_id);
    g->Int("token_refresh_margin_ms", &c.genesys.token_refresh_margin_ms, 0, kDay);
  }
  if (ConfigObject* x = root.Object("cxone")) {
    x->String("api_base_url", &c.cxone.api_base_url);
    x->String("auth_base_url", &c.cxone.auth_base_url);
    x->String("api_version", &c.cxone.api_version);
    x->String("client_id", &c.cxone.client_id);
    x->String("client_secret", &c.cxone.client_secret);
    x->String("access_key_id", &c.cxone.access_key_id);
    x->String("access_key_secret", &c.cxone.access_key_secret);
    x->String("skill", &c.cxone.skill);
    x->String("caller_id", &c.cxone.caller_id);
    x->Int("token_refresh_margin_ms", &c.cxone.token_refresh_margin_ms, 0, kDay);
  }
  if (ConfigObject* w = root.Object("webhook")) {
    w->String("url", &c.webhook.url);
    w->StringMap("headers", &c.webhook.headers);
    w->String("body_template", &c.webhook.body_template);
    w->String("signing_secret", &c.webhook.signing_secret);
  }
  if (ConfigObject* o = root.Object("outbox")) {
    o->String("path", &c.outbox_path);
    int sync = c.outbox_synchronous_full ? 1 : 0;
    o->Enum("synchronous", &sync, {"normal", "full"});
    c.outbox_synchronous_full = sync == 1;
    o->Int("delivered_retention_ms", &c.delivered_retention_ms, 0, 3650 * kDay);
  }
  if (ConfigObject* r = root.Object("rate_limit")) {
    r->Bool("enabled", &c.rate_limit_enabled);
    r->Int("requests", &c.rate_limit_requests, 1, 1000000);
    r->Int("period_ms", &c.rate_limit_period_ms, 1, kDay);
  }
  if (ConfigObject* d = root.Object("dedup")) {
    d->Int("ttl_ms", &c.dedup_ttl_ms, 1, kDay);
    int64_t capacity = static_cast<int64_t>(c.dedup_capacity);
    d->Int("capacity", &capacity, 1, 100000000);
    c.dedup_capacity = static_cast<size_t>(capacity);
  }
  // The pipeline's retry defaults (the policy's own defaults are the
  // cascade's 15 s x 2 up to 120 s).
  c.retry.initial_ms = 1000;
  c.retry.max_ms = 60000;
  c.retry.max_attempts = 6;
  c.retry.jitter = Jitter::kFull;
  if (ConfigObject* r = root.Object("retry")) {
    r->Int("max_attempts", &c.retry.max_attempts, 1, 1000);
    r->Int("initial_ms", &c.retry.initial_ms, 1, kDay);
    r->Double("multiplier", &c.retry.multiplier, 1.0, 100.0);
    r->Int("max_ms", &c.retry.max_ms, 1, kDay);
    int jitter = static_cast<int>(c.retry.jitter);
    r->Enum("jitter", &jitter, {"none", "full", "equal", "decorrelated"});
    c.retry.jitter = static_cast<Jitter>(jitter);
    r->Int("retry_after_cap_ms", &c.retry.retry_after_cap_ms, 0, kDay);
    int64_t seed = 0;
    r->Int("seed", &seed, 0, INT64_MAX);
    c.retry_seed = static_cast<uint64_t>(seed);
  }
  c.failover.max_channels = 200;
  if (ConfigObject* f = root.Object("failover")) {
    int mode = static_cast<int>(c.failover.initial_mode);
    f->Enum("initial_mode", &mode, {"NORMAL", "FAILOVER"});
    c.failover.initial_mode = static_cast<RoutingMode>(mode);
    f->Int("stale_after_ms", &c.failover.stale_after_ms, 1, kDay);
    int stale = static_cast<int>(c.failover.stale_policy);
    f->Enum("stale_policy", &stale, {"keep_last_known", "assume_failover", "assume_normal"});
    c.failover.stale_policy = static_cast<StalePolicy>(stale);
    f->Int("min_dwell_ms", &c.failover.min_dwell_ms, 0, kDay);
    int64_t reads = c.failover.recovery_reads;
    f->Int("recovery_reads", &reads, 1, 1000);
    c.failover.recovery_reads = static_cast<uint32_t>(reads);
    int64_t capacity = c.failover.max_channels;
    f->Int("media_channel_capacity", &capacity, 0, 1000000);
    c.failover.max_channels = static_cast<uint32_t>(capacity);
    if (ConfigObject* p = f->Object("poll")) {
      p->String("url", &c.poll_url);
      p->Int("interval_ms", &c.poll_interval_ms, 10, kDay);
      p->String("json_pointer", &c.poll_json_pointer);
    }
  }
  c.flow.default_country = c.default_country;
  if (ConfigObject* f = root.Object("flow")) {
    f->Int("playback_timeout_ms", &c.flow.playback_timeout_ms, 1, 600000);
    f->Int("max_digits", &c.flow.max_digits, 1, 32);
    f->Int("first_digit_timeout_ms", &c.flow.first_digit_timeout_ms, 1, 600000);
    f->Int("inter_digit_timeout_ms", &c.flow.inter_digit_timeout_ms, 1, 600000);
    f->Int("prompt_plays", &c.flow.prompt_plays, 1, 10);
    f->Bool("barge_in", &c.flow.barge_in);
    ReadDigitChar(*f, "consent_digit", &c.flow.consent_digit, "0123456789*#");
    int rule = static_cast<int>(c.flow.other_digit_rule);
    f->Enum("other_digit", &rule, {"replay_once", "goodbye"});
    c.flow.other_digit_rule = static_cast<OtherDigitRule>(rule);
    f->Bool("ani_entry", &c.flow.number_entry_enabled);
    f->Int("max_confirmation_wait_ms", &c.flow.max_confirmation_wait_ms, 1, 600000);
    f->Int("max_silence_ms", &c.flow.max_silence_ms, 1, 600000);
    if (ConfigObject* m = f->Object("media")) {
      m->String("emergency_message", &c.flow.emergency_message_media);
      m->String("callback_offer", &c.flow.callback_offer_media);
      m->String("ani_entry", &c.flow.number_entry_media);
      m->String("confirmation", &c.flow.confirmation_media);
      m->String("fallback", &c.flow.fallback_media);
      m->String("goodbye", &c.flow.goodbye_media);
    }
  }
  if (ConfigObject* t = root.Object("callback_time")) {
    int gap = static_cast<int>(c.gap_policy);
    t->Enum("gap_policy", &gap, {"reject", "shift_forward", "next_valid"});
    c.gap_policy = static_cast<GapPolicy>(gap);
    int overlap = static_cast<int>(c.overlap_policy);
    t->Enum("overlap_policy", &overlap, {"reject", "earliest", "latest"});
    c.overlap_policy = static_cast<OverlapPolicy>(overlap);
    if (const rapidjson::Value* bh = t->Raw("business_hours")) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      bh->Accept(writer);
      c.business_hours_json.assign(buffer.GetString(), buffer.GetSize());
    }
  }
  int clock = c.manual_clock ? 1 : 0;
  root.Enum("clock", &clock, {"system", "manual"});
  c.manual_clock = clock == 1;
  root.Int("clock_start_ms", &c.clock_start_ms, 0, INT64_MAX);

  Status status = root.Finish();
  if (!status.ok()) return status;

  // Cross-field requirements.
  if (c.max_in_flight == 0) return InvalidArgument("max_in_flight: must be >= 1");
  c.genesys.request_timeout_ms = c.cxone.request_timeout_ms = c.webhook.request_timeout_ms =
      c.request_timeout_ms;
  switch (c.platform) {
    case EngineConfig::Platform::kGenesys:
      if (c.genesys.client_id.empty()) return InvalidArgument("genesys.client_id: required");
      if (c.genesys.client_secret.empty()) return InvalidArgument("genesys.client_secret: required");
      if (c.genesys.queue_id.empty() && !c.genesys.route_to_original_queue) {
        return InvalidArgument("genesys.queue_id: required (the emergency callback queue)");
      }
      break;
    case EngineConfig::Platform::kCxone:
      if (c.cxone.client_id.empty()) return InvalidArgument("cxone.client_id: required");
      if (c.cxone.access_key_id.empty()) return InvalidArgument("cxone.access_key_id: required");
      if (c.cxone.skill.empty()) return InvalidArgument("cxone.skill: required");
      break;
    case EngineConfig::Platform::kWebhook:
      if (c.webhook.url.empty()) return InvalidArgument("webhook.url: required");
      break;
  }
  if (c.retry.max_ms < c.retry.initial_ms) return InvalidArgument("retry.max_ms: must be >= retry.initial_ms");
  Status failover = c.failover.Validate();
  if (!failover.ok()) return InvalidArgument("failover: " + failover.message());
  Status flow = c.flow.Validate();
  if (!flow.ok()) return InvalidArgument("flow: " + flow.message());
  return c;
}

}  // namespace lifeline
