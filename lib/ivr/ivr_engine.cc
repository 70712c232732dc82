#include "ivr/ivr_engine.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "http/curl_transport.hpp"
#include "lifeline/phone_number.hpp"
#include "lifeline/rfc3339.hpp"
#include "lifeline/time_zone.hpp"
#include "store/sqlite_outbox_store.hpp"

namespace lifeline {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
constexpr uint64_t kPollTagBase = 1ull << 62;

std::string ToString(const rapidjson::StringBuffer& b) { return std::string(b.GetString(), b.GetSize()); }

bool LooksLocal(const std::string& text) {
  // "YYYY-MM-DDTHH:MM" or "...:SS": no zone designator after the time.
  if (text.size() < 16) return false;
  char last = text.back();
  return last != 'Z' && last != 'z' && text.find('+', 10) == std::string::npos &&
         text.find('-', 10) == std::string::npos;
}

}  // namespace

Result<std::unique_ptr<IvrEngine>> IvrEngine::Open(std::string_view config_json,
                                                   std::shared_ptr<Clock> clock) {
  std::unique_ptr<IvrEngine> engine(new IvrEngine());
  Status started = engine->Start(config_json, std::move(clock));
  if (!started.ok()) return started;
  return engine;
}

Status IvrEngine::Start(std::string_view config_json, std::shared_ptr<Clock> clock) {
  Result<EngineConfig> config = ParseEngineConfig(config_json);
  if (!config.ok()) return config.status();
  config_ = std::move(*config);
  if (!clock) {
    if (config_.manual_clock) {
      clock = std::make_shared<ManualClock>(config_.clock_start_ms);
    } else {
      clock = std::make_shared<SystemClock>();
    }
  }
  clock_ = std::move(clock);
  UnixMillis now = clock_->Now();

  Result<std::unique_ptr<FailoverSwitch>> sw = FailoverSwitch::Create(config_.failover, this, now);
  if (!sw.ok()) return sw.status();
  switch_ = std::move(*sw);

  DedupCache::Options dedup_options;
  dedup_options.ttl_ms = config_.dedup_ttl_ms;
  dedup_options.capacity = config_.dedup_capacity;
  if (config_.hash_key_given) dedup_options.key = config_.hash_key;
  Result<std::unique_ptr<DedupCache>> dedup = DedupCache::Create(dedup_options);
  if (!dedup.ok()) return dedup.status();
  dedup_ = std::move(*dedup);

  SqliteOutboxOptions outbox_options;
  outbox_options.database.path = config_.outbox_path;
  outbox_options.database.synchronous =
      config_.outbox_synchronous_full ? SqliteSynchronous::kFull : SqliteSynchronous::kNormal;
  Result<std::unique_ptr<SqliteOutboxStore>> outbox = SqliteOutboxStore::Open(outbox_options);
  if (!outbox.ok()) return outbox.status();
  outbox_ = std::move(*outbox);
  Result<size_t> recovered = outbox_->Recover(now);
  if (!recovered.ok()) return recovered.status();
  resends_at_open_ = *recovered;

  switch (config_.platform) {
    case EngineConfig::Platform::kGenesys: platform_ = MakeGenesysPlatform(config_.genesys); break;
    case EngineConfig::Platform::kCxone: platform_ = MakeCxonePlatform(config_.cxone); break;
    case EngineConfig::Platform::kWebhook: platform_ = MakeWebhookPlatform(config_.webhook); break;
  }

  CallbackDispatcherOptions dispatch;
  dispatch.retry = config_.retry;
  dispatch.rate_limit_enabled = config_.rate_limit_enabled;
  dispatch.rate_limit_requests = config_.rate_limit_requests;
  dispatch.rate_limit_period_ms = config_.rate_limit_period_ms;
  dispatch.max_in_flight = config_.max_in_flight;
  dispatch.seed = config_.retry_seed;
  dispatcher_ = std::make_unique<CallbackDispatcher>(outbox_.get(), platform_.get(), dispatch);

  CurlTransportOptions transport_options;
  transport_options.verify_tls = config_.tls_verify;
  transport_options.ca_file = config_.ca_file;
  transport_options.max_total_connections = static_cast<long>(config_.max_in_flight) + 4;
  transport_options.max_host_connections = static_cast<long>(config_.max_in_flight) + 2;
  Result<std::unique_ptr<CurlTransport>> transport = CurlTransport::Create(transport_options);
  if (!transport.ok()) return transport.status();
  transport_ = std::move(*transport);

  if (!config_.business_hours_json.empty()) {
    Result<BusinessHours> hours = BusinessHours::FromJson(config_.business_hours_json);
    if (!hours.ok()) {
      return InvalidArgument("callback_time.business_hours: " + hours.status().message());
    }
    business_hours_ = std::move(*hours);
  }
  auto flow = std::make_shared<FlowConfig>(config_.flow);
  flow_config_ = flow;
  next_poll_at_ = config_.poll_url.empty() ? 0 : now;
  worker_ = std::thread([this] { Run(); });
  return Status::Ok();
}

IvrEngine::~IvrEngine() {
  if (worker_.joinable()) {
    // Let requests already on the wire finish, so they are not left
    // IN_FLIGHT (which the next open would count as possible re-sends).
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(config_.request_timeout_ms + 1000);
    {
      std::unique_lock<std::mutex> lock(mu_);
      stop_ = true;
      wake_.notify_all();
    }
    worker_.join();
    while (dispatcher_ && dispatcher_->in_flight() > 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::unique_lock<std::mutex> lock(mu_);
      idle_cv_.wait_for(lock, std::chrono::milliseconds(5));
      while (!completions_.empty()) {
        Completion c = std::move(completions_.front());
        completions_.pop_front();
        if (!c.is_poll) dispatcher_->OnResponse(c.tag, c.response, clock_->Now());
      }
    }
    if (dispatcher_) dispatcher_->FlushOutcomes();
  }
  if (transport_) transport_->Shutdown();
}

void IvrEngine::Poke() {
  std::lock_guard<std::mutex> lock(mu_);
  poked_ = true;
  wake_.notify_all();
}

void IvrEngine::Run() {
  // mu_ guards only the hand-over state (completions, flags, idleness). The
  // dispatcher, the switch's timers and the outbox calls run without it, so
  // call threads (Submit, Poke) and the transport never wait behind SQLite.
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    ++loops_started_;
    poked_ = false;
    if (audit_changed_) {
      dispatcher_->SetAuditSink(pending_audit_);
      audit_changed_ = false;
    }
    std::deque<Completion> completions;
    completions.swap(completions_);
    lock.unlock();

    UnixMillis now = clock_->Now();
    for (Completion& c : completions) {
      if (c.is_poll) {
        --poll_in_flight_;
        HandlePollResponse(c.response, now);
      } else {
        dispatcher_->OnResponse(c.tag, c.response, now);
      }
    }
    if (switch_->NextDeadline() <= now) switch_->OnTimer(now);

    std::vector<CallbackDispatcher::Outgoing> outgoing = dispatcher_->Poll(now);
    bool poll_now = !config_.poll_url.empty() && poll_in_flight_ == 0 && now >= next_poll_at_;
    if (poll_now) {
      ++poll_in_flight_;
      next_poll_at_ = now + config_.poll_interval_ms;
    }
    if (now >= next_purge_at_) {
      outbox_->PurgeDelivered(now, config_.delivered_retention_ms);
      next_purge_at_ = now + 60000;
    }
    for (auto& out : outgoing) {
      uint64_t tag = out.tag;
      transport_->Send(std::move(out.request), [this, tag](HttpResponse response) {
        std::lock_guard<std::mutex> guard(mu_);
        completions_.push_back({tag, false, std::move(response)});
        wake_.notify_all();
      });
    }
    if (poll_now) {
      HttpRequest request;
      request.method = "GET";
      request.url = config_.poll_url;
      request.headers = {{"Accept", "application/json"}};
      request.timeout_ms = std::min(config_.request_timeout_ms, config_.poll_interval_ms);
      transport_->Send(std::move(request), [this](HttpResponse response) {
        std::lock_guard<std::mutex> guard(mu_);
        completions_.push_back({kPollTagBase, true, std::move(response)});
        wake_.notify_all();
      });
    }

    // When is there work again? (kNever: nothing scheduled.)
    constexpr UnixMillis kNever = std::numeric_limits<UnixMillis>::max();
    now = clock_->Now();
    size_t in_flight = dispatcher_->in_flight();
    UnixMillis deadline = dispatcher_->NextDeadline().value_or(kNever);
    if (in_flight >= config_.max_in_flight) deadline = kNever;  // wait for answers
    deadline = std::min(deadline, switch_->NextDeadline());
    if (!config_.poll_url.empty() && poll_in_flight_ == 0) deadline = std::min(deadline, next_poll_at_);
    bool due = deadline <= now;
    {
      std::lock_guard<std::mutex> guard(counters_mu_);
      counters_ = dispatcher_->counters();
    }

    lock.lock();
    ++loop_generation_;
    idle_ = completions_.empty() && in_flight == 0 && poll_in_flight_ == 0 && !due &&
            outgoing.empty();
    if (idle_) idle_cv_.notify_all();
    if (!completions_.empty() || poked_ || stop_ || (due && !outgoing.empty())) continue;
    // A manual clock moves without telling us: look again soon. A real
    // clock: sleep until the deadline (bounded, to notice clock steps).
    auto wait = std::chrono::milliseconds(200);
    if (dynamic_cast<ManualClock*>(clock_.get()) != nullptr) {
      wait = std::chrono::milliseconds(2);
    } else if (deadline != kNever) {
      wait = std::chrono::milliseconds(std::clamp<int64_t>(deadline - now, 1, 200));
    }
    wake_.wait_for(lock, wait);
  }
}

void IvrEngine::HandlePollResponse(const HttpResponse& response, UnixMillis now) {
  auto fail = [&] {
    metrics_.poll_failures.fetch_add(1);
    switch_->ObserveReadFailure(now);
  };
  if (!response.ok() || response.status < 200 || response.status >= 300) return fail();
  rapidjson::Document doc;
  doc.Parse(response.body.c_str(), response.body.size());
  if (doc.HasParseError()) return fail();
  rapidjson::Pointer pointer(config_.poll_json_pointer.c_str());
  const rapidjson::Value* value = pointer.IsValid() ? pointer.Get(doc) : nullptr;
  if (value == nullptr || !value->IsString()) return fail();
  Result<RoutingMode> mode = ParseRoutingMode(value->GetString());
  if (!mode.ok()) return fail();
  switch_->ObserveRead(*mode, now);
}

Status IvrEngine::Settle(DurationMillis timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(mu_);
  poked_ = true;
  wake_.notify_all();
  // Done once a loop that started after this call has found nothing to do.
  uint64_t start = loops_started_;
  while (!(idle_ && loop_generation_ > start)) {
    if (idle_cv_.wait_until(lock, deadline) == std::cv_status::timeout &&
        !(idle_ && loop_generation_ > start)) {
      return Status(StatusCode::kTimeout, "the engine did not settle within timeout_ms");
    }
    if (!(idle_ && loop_generation_ > start)) {
      poked_ = true;
      wake_.notify_all();
    }
  }
  return Status::Ok();
}

Status IvrEngine::Drain(DurationMillis timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    Result<OutboxStats> stats = outbox_->Stats();
    if (!stats.ok()) return stats.status();
    if (stats->pending == 0 && stats->in_flight == 0) {
      // Empty; let the runtime finish the loop that emptied it, so what the
      // host reads next (metrics, events) already reflects every delivery.
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      return Settle(std::max<int64_t>(left.count(), 1000));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(StatusCode::kTimeout,
                    std::to_string(stats->pending + stats->in_flight) +
                        " requests still pending after timeout_ms");
    }
    Poke();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Result<std::optional<UnixMillis>> IvrEngine::ResolveCallbackTime(const CallbackSubmission& s,
                                                                 UnixMillis now) const {
  std::optional<UnixMillis> at;
  if (s.callback_time) {
    if (s.callback_time_zone) {
      Result<const TimeZone*> zone = FindTimeZone(*s.callback_time_zone);
      if (!zone.ok()) return Status(zone.status().code(), "callbackTimeZone: " + zone.status().message());
      Result<LocalDateTime> local = ParseLocalDateTime(*s.callback_time);
      if (!local.ok()) return InvalidArgument("callbackTime: " + local.status().message());
      Result<LocalResolution> resolved =
          LocalToUtc(**zone, *local, config_.gap_policy, config_.overlap_policy);
      if (!resolved.ok()) return Status(resolved.status().code(), "callbackTime: " + resolved.status().message());
      at = resolved->unix_ms;
    } else {
      if (LooksLocal(*s.callback_time)) {
        return InvalidArgument("callbackTime: a local time needs callbackTimeZone");
      }
      Result<UnixMillis> parsed = ParseRfc3339(*s.callback_time);
      if (!parsed.ok()) return InvalidArgument("callbackTime: " + parsed.status().message());
      at = *parsed;
    }
    if (*at < now) at = now;  // a slot in the past means as soon as possible
  }
  if (business_hours_) {
    UnixMillis wanted = at ? *at : now;
    if (!business_hours_->IsOpen(wanted)) {
      Result<UnixMillis> next = business_hours_->NextOpen(wanted);
      if (!next.ok()) return Status(StatusCode::kNotFound, "business hours are never open");
      at = *next;
    }
  }
  if (at && *at <= now) at.reset();
  return at;
}

Result<SubmitResult> IvrEngine::Submit(const CallbackSubmission& s) {
  UnixMillis now = clock_->Now();
  Result<std::string> e164 = NormalizeE164(s.caller_phone, config_.default_country);
  if (!e164.ok()) {
    return InvalidArgument("callerPhone: " + e164.status().message());
  }
  Result<std::optional<UnixMillis>> at = ResolveCallbackTime(s, now);
  if (!at.ok()) return at.status();

  // The dedup key is caller + queue; the request id adds the time bucket, so
  // two requests a full TTL apart never share an id.
  std::string key = *e164 + '\x1f' + s.original_queue_id;
  int64_t bucket = now / config_.dedup_ttl_ms;
  DedupCache::Digest id_digest = dedup_->DigestOf(key + '\x1f' + std::to_string(bucket));
  SubmitResult result;
  result.request_id = id_digest.Hex();

  DedupCache::Digest dedup_digest = dedup_->DigestOf(key);
  DedupResult verdict = dedup_->CheckDigest(dedup_digest, now);
  if (verdict == DedupResult::kFull) {
    metrics_.submit_failures.fetch_add(1);
    return Status(StatusCode::kFull, "the dedup cache is full (dedup.capacity)");
  }
  std::string dedup_hex = dedup_digest.Hex();
  if (verdict == DedupResult::kDuplicate) {
    bool trusted;
    {
      std::lock_guard<std::mutex> lock(unrecorded_mu_);
      trusted = unrecorded_.count(dedup_hex) == 0;
    }
    if (trusted) {
      metrics_.deduplicated.fetch_add(1);
      result.duplicate = true;
      // The first request of this caller for this queue is at most one TTL
      // old, so its id was made with this time bucket or the one before.
      std::string previous = dedup_->DigestOf(key + '\x1f' + std::to_string(bucket - 1)).Hex();
      if (!outbox_->Get(result.request_id).ok() && outbox_->Get(previous).ok()) {
        result.request_id = previous;
      }
      return result;
    }
  }

  CallbackRequest request;
  request.request_id = result.request_id;
  request.caller_e164 = *e164;
  request.original_queue_id = s.original_queue_id;
  request.flow_name = s.flow_name;
  request.call_id = s.call_id;
  request.caller_name = s.caller_name;
  request.scheduled_at = *at;
  request.submitted_at = now;
  request.context = s.context;

  if (AuditSink* audit = audit_.load()) {
    AuditEvent event;
    event.source = AuditSource::kIvr;
    event.time = now;
    event.call_id = s.call_id;
    event.subject = "caller";
    event.event = "CALLBACK_CAPTURED";
    event.status = "RECORDED";
    event.provider_id = platform_->name();
    event.detail = "requestId=" + request.request_id + " originalQueueId=" + s.original_queue_id +
                   (request.scheduled_at ? " scheduled" : " asap");
    event.pii.push_back({"phone", request.caller_e164});
    Status audited = audit->Append(event);
    if (!audited.ok()) {
      // Not recorded in the audit trail: not recorded at all.
      metrics_.submit_failures.fetch_add(1);
      std::lock_guard<std::mutex> lock(unrecorded_mu_);
      unrecorded_.insert(dedup_hex);
      return Status(StatusCode::kIo, "the audit trail refused the capture: " + audited.message());
    }
  }

  OutboxRecord record;
  record.request_id = request.request_id;
  record.payload_json = CallbackRequestToJson(request);
  record.created_at = now;
  // Scheduled callbacks are handed to the platform at once: the platform
  // holds the schedule (callbackScheduledTime / promise).
  record.next_attempt_at = now;
  Status enqueued = outbox_->Enqueue(record);
  if (enqueued.code() == StatusCode::kDuplicate) {
    metrics_.deduplicated.fetch_add(1);
    result.duplicate = true;
    return result;
  }
  if (!enqueued.ok()) {
    metrics_.submit_failures.fetch_add(1);
    std::lock_guard<std::mutex> lock(unrecorded_mu_);
    unrecorded_.insert(dedup_hex);
    return enqueued;
  }
  {
    std::lock_guard<std::mutex> lock(unrecorded_mu_);
    unrecorded_.erase(dedup_hex);
  }
  metrics_.submitted.fetch_add(1);
  Poke();
  return result;
}

Status IvrEngine::PushMode(RoutingMode mode, std::string_view reason, UnixMillis expires_at) {
  Status s = switch_->Push(mode, reason, expires_at, clock_->Now());
  Poke();
  return s;
}

Status IvrEngine::ObserveMode(RoutingMode mode) { return switch_->ObserveRead(mode, clock_->Now()); }
Status IvrEngine::ObserveModeFailure() { return switch_->ObserveReadFailure(clock_->Now()); }

void IvrEngine::CountOutcome(CallOutcome outcome) {
  metrics_.outcomes[static_cast<int>(outcome)].fetch_add(1);
}

void IvrEngine::SetAuditSink(AuditSink* audit) {
  std::lock_guard<std::mutex> lock(mu_);
  audit_.store(audit);
  // The dispatcher is the worker's; it reads the pointer on its thread.
  pending_audit_ = audit;
  audit_changed_ = true;
  wake_.notify_all();
}

void IvrEngine::SetEventCallback(EventCallback callback) {
  std::lock_guard<std::mutex> lock(event_mu_);
  event_callback_ = std::move(callback);
}

void IvrEngine::Emit(const std::string& event_json) {
  std::lock_guard<std::mutex> lock(event_mu_);
  if (event_callback_) event_callback_(event_json);
}

void IvrEngine::OnTransition(const FailoverTransition& e) {
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartObject();
  w.Key("type");
  w.String("failover");
  w.Key("event");
  w.String(FailoverEventKindName(e.kind));
  w.Key("cause");
  w.String(FailoverCauseName(e.cause));
  w.Key("from");
  w.String(RoutingModeName(e.from));
  w.Key("to");
  w.String(RoutingModeName(e.to));
  w.Key("at");
  w.Int64(e.at);
  w.Key("sequence");
  w.Uint64(e.sequence);
  w.Key("reason");
  w.String(e.reason.data(), static_cast<rapidjson::SizeType>(e.reason.size()));
  if (e.expires_at != 0) {
    w.Key("expiresAt");
    w.Int64(e.expires_at);
  }
  w.EndObject();
  Emit(ToString(b));
  if (AuditSink* audit = audit_.load()) {
    AuditEvent event;
    event.source = AuditSource::kFailover;
    event.time = e.at;
    event.event = std::string("FAILOVER_") + FailoverEventKindName(e.kind);
    event.status = RoutingModeName(e.to);
    event.detail = std::string("from=") + RoutingModeName(e.from) + " cause=" +
                   FailoverCauseName(e.cause) + " reason=" + std::string(e.reason);
    audit->Append(event);  // a transition already happened; a refusal is counted below
  }
}

Result<std::string> IvrEngine::DeadLettersJson() {
  Result<std::vector<OutboxRecord>> dead = outbox_->ListDead(100000, 0);
  if (!dead.ok()) return dead.status();
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartArray();
  for (const OutboxRecord& r : *dead) {
    w.StartObject();
    w.Key("requestId");
    w.String(r.request_id.c_str());
    w.Key("attempts");
    w.Int(r.attempts);
    w.Key("lastError");
    w.String(r.last_error.c_str());
    w.Key("createdAt");
    w.Int64(r.created_at);
    w.Key("settledAt");
    w.Int64(r.settled_at);
    w.EndObject();
  }
  w.EndArray();
  return ToString(b);
}

Status IvrEngine::Redrive(std::optional<std::string> request_id) {
  UnixMillis now = clock_->Now();
  Status s;
  if (request_id) {
    s = outbox_->Redrive(*request_id, now);
  } else {
    Result<size_t> n = outbox_->RedriveAll(now);
    if (!n.ok()) s = n.status();
  }
  Poke();
  return s;
}

Result<std::string> IvrEngine::StatusJson(std::string_view request_id) {
  Result<OutboxRecord> r = outbox_->Get(request_id);
  if (!r.ok()) return r.status();
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartObject();
  w.Key("requestId");
  w.String(r->request_id.c_str());
  w.Key("state");
  w.String(OutboxStateName(r->state));
  w.Key("attempts");
  w.Int(r->attempts);
  w.Key("lastError");
  w.String(r->last_error.c_str());
  w.Key("resends");
  w.Int(r->resends);
  w.Key("providerReference");
  w.String(r->provider_reference.c_str());
  w.EndObject();
  return ToString(b);
}

namespace {
struct MetricValue {
  const char* name;
  const char* help;
  const char* type;  // "counter" or "gauge"
  double value;
  const char* label = nullptr;  // outcome label, for lifeline_calls_total
};

// The Prometheus families, in exposition order.
std::vector<MetricValue> PrometheusValues(const CallbackDispatcherCounters& d, const OutboxStats& o,
                                          const FailoverStats& f,
                                          const std::array<uint64_t, kCallOutcomeCount>& outcomes,
                                          uint64_t submitted, uint64_t deduplicated,
                                          uint64_t submit_failures, UnixMillis now) {
  std::vector<MetricValue> v;
  for (int i = 0; i < kCallOutcomeCount; ++i) {
    v.push_back({"lifeline_calls_total", "Emergency calls by outcome.", "counter",
                 static_cast<double>(outcomes[i]), CallOutcomeName(static_cast<CallOutcome>(i))});
  }
  v.push_back({"lifeline_callbacks_submitted_total", "Callbacks committed to the outbox.", "counter", double(submitted)});
  v.push_back({"lifeline_callbacks_deduplicated_total", "Duplicate callback requests rejected.", "counter", double(deduplicated)});
  v.push_back({"lifeline_callbacks_submit_failures_total", "Callbacks that could not be recorded.", "counter", double(submit_failures)});
  v.push_back({"lifeline_callbacks_delivered_total", "Callbacks accepted by the platform.", "counter", double(d.delivered)});
  v.push_back({"lifeline_callbacks_sent_total", "Platform requests sent.", "counter", double(d.sent)});
  v.push_back({"lifeline_callbacks_retried_total", "Callback attempts scheduled again.", "counter", double(d.retried)});
  v.push_back({"lifeline_callbacks_resent_total", "Requests re-sent after a crash left their outcome unknown.", "counter", double(o.total_resends)});
  v.push_back({"lifeline_callbacks_dead_lettered_total", "Callbacks given up and kept as dead letters.", "counter", double(d.dead_lettered)});
  v.push_back({"lifeline_platform_429_total", "429 Too Many Requests answers.", "counter", double(d.rate_limited)});
  v.push_back({"lifeline_outbox_depth", "Callbacks pending or in flight.", "gauge", double(o.pending + o.in_flight)});
  v.push_back({"lifeline_outbox_dead", "Dead letters kept.", "gauge", double(o.dead)});
  v.push_back({"lifeline_outbox_oldest_pending_age_ms", "Age of the oldest undelivered callback.", "gauge",
               o.oldest_pending_created_at ? double(now - *o.oldest_pending_created_at) : 0.0});
  v.push_back({"lifeline_failover_mode", "1 when in FAILOVER.", "gauge", f.mode == RoutingMode::kFailover ? 1.0 : 0.0});
  v.push_back({"lifeline_failover_transitions_total", "Routing mode changes.", "counter", double(f.transitions)});
  v.push_back({"lifeline_media_channels_active", "Emergency media channels in use.", "gauge", double(f.active_channels)});
  v.push_back({"lifeline_media_channels_peak", "Most emergency media channels in use at once.", "gauge", double(f.peak_channels)});
  v.push_back({"lifeline_calls_rejected_busy_total", "Calls refused at entry: channels full.", "counter", double(f.rejected_busy)});
  return v;
}

}  // namespace

Result<IvrEngine::MetricsSnapshot> IvrEngine::TakeMetricsSnapshot() {
  MetricsSnapshot m;
  Result<OutboxStats> o = outbox_->Stats();
  if (!o.ok()) return o.status();
  m.outbox = *o;
  {
    std::lock_guard<std::mutex> lock(counters_mu_);
    m.dispatcher = counters_;
  }
  for (int i = 0; i < kCallOutcomeCount; ++i) m.outcomes[i] = metrics_.outcomes[i].load();
  m.failover = switch_->Stats();
  m.submitted = metrics_.submitted.load();
  m.deduplicated = metrics_.deduplicated.load();
  m.submit_failures = metrics_.submit_failures.load();
  m.poll_failures = metrics_.poll_failures.load();
  m.now = clock_->Now();
  return m;
}

Result<std::string> IvrEngine::MetricsJson() {
  Result<MetricsSnapshot> snapshot = TakeMetricsSnapshot();
  if (!snapshot.ok()) return snapshot.status();
  const MetricsSnapshot& m = *snapshot;
  const OutboxStats& o = m.outbox;
  const CallbackDispatcherCounters& d = m.dispatcher;
  const FailoverStats& f = m.failover;
  rapidjson::StringBuffer b;
  JsonWriter w(b);
  w.StartObject();
  w.Key("calls");
  w.StartObject();
  for (int i = 0; i < kCallOutcomeCount; ++i) {
    w.Key(CallOutcomeName(static_cast<CallOutcome>(i)));
    w.Uint64(m.outcomes[i]);
  }
  w.EndObject();
  auto field = [&](const char* k, uint64_t v) { w.Key(k); w.Uint64(v); };
  field("callbacks_submitted", m.submitted);
  field("callbacks_deduplicated", m.deduplicated);
  field("callbacks_submit_failures", m.submit_failures);
  field("callbacks_sent", d.sent);
  field("callbacks_delivered", d.delivered);
  field("callbacks_retried", d.retried);
  field("callbacks_resent", o.total_resends);
  field("callbacks_dead_lettered", d.dead_lettered);
  field("platform_429", d.rate_limited);
  field("token_requests", d.token_requests);
  field("token_failures", d.token_failures);
  field("outbox_pending", o.pending);
  field("outbox_in_flight", o.in_flight);
  field("outbox_dead", o.dead);
  field("outbox_depth", o.pending + o.in_flight);
  w.Key("outbox_oldest_pending_age_ms");
  w.Int64(o.oldest_pending_created_at ? m.now - *o.oldest_pending_created_at : 0);
  w.Key("failover_mode");
  w.String(RoutingModeName(f.mode));
  field("failover_transitions", f.transitions);
  field("media_channels_active", f.active_channels);
  field("media_channels_peak", f.peak_channels);
  field("calls_rejected_busy", f.rejected_busy);
  field("state_poll_failures", m.poll_failures);
  field("audit_failures", d.audit_failures);
  w.EndObject();
  return ToString(b);
}

Result<std::string> IvrEngine::MetricsPrometheus() {
  Result<MetricsSnapshot> snapshot = TakeMetricsSnapshot();
  if (!snapshot.ok()) return snapshot.status();
  const MetricsSnapshot& m = *snapshot;
  std::vector<MetricValue> values =
      PrometheusValues(m.dispatcher, m.outbox, m.failover, m.outcomes, m.submitted, m.deduplicated,
                       m.submit_failures, m.now);
  std::string out;
  const char* last = "";
  char number[64];
  for (const MetricValue& v : values) {
    if (std::string(last) != v.name) {
      out += std::string("# HELP ") + v.name + " " + v.help + "\n# TYPE " + v.name + " " + v.type + "\n";
      last = v.name;
    }
    std::snprintf(number, sizeof number, "%.17g", v.value);
    out += v.name;
    if (v.label) out += std::string("{outcome=\"") + v.label + "\"}";
    out += std::string(" ") + number + "\n";
  }
  return out;
}

}  // namespace lifeline
