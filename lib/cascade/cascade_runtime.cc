// cascade_runtime.cc -- see cascade_runtime.hpp.
#include "cascade/cascade_runtime.hpp"

#include <chrono>
#include <future>

namespace lifeline {

CascadeRuntime::CascadeRuntime(std::unique_ptr<DurableCascade> cascade,
                               std::map<Channel, ChannelSender*> senders, const Clock* clock,
                               CascadeEventRelay* relay)
    : cascade_(std::move(cascade)),
      senders_(std::move(senders)),
      clock_(clock),
      manual_clock_(dynamic_cast<const ManualClock*>(clock) != nullptr),
      relay_(relay) {
  metrics_.recovered_events = cascade_->stats().recovered_events;
}

CascadeRuntime::~CascadeRuntime() { Stop(); }

void CascadeRuntime::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void CascadeRuntime::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

void CascadeRuntime::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(fn));
  }
  cv_.notify_all();
}

template <typename T>
T CascadeRuntime::Call(std::function<T()> fn) {
  bool running;
  bool on_loop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    running = running_ && !stop_;
    on_loop = running_ && std::this_thread::get_id() == thread_.get_id();
  }
  // Not started: the caller's thread owns the engine. From the loop's own
  // thread (a channel adapter's callback calling back in, e.g. a PBX that
  // reports a call result from inside its originate callback): the engine
  // is between two calls there, so run it now rather than wait for ourselves.
  if (!running || on_loop) return fn();
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> f = promise->get_future();
  Post([promise, fn = std::move(fn)] { promise->set_value(fn()); });
  return f.get();
}

Result<TriggerResult> CascadeRuntime::Trigger(const CascadeTrigger& trigger) {
  return Call<Result<TriggerResult>>([this, trigger] { return cascade_->Trigger(trigger, clock_->Now()); });
}

Status CascadeRuntime::OnProviderReceipt(const std::string& ref, AttemptStatus status) {
  return Call<Status>([this, ref, status] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++metrics_.receipts;
    }
    return cascade_->OnProviderReceipt(ref, status, clock_->Now());
  });
}

Status CascadeRuntime::OnReceipt(std::uint64_t id, AttemptStatus status) {
  return Call<Status>([this, id, status] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++metrics_.receipts;
    }
    return cascade_->OnReceipt(id, status, clock_->Now());
  });
}

Status CascadeRuntime::Acknowledge(const std::string& incident, const std::string& member,
                                   std::optional<Channel> channel) {
  return Call<Status>([this, incident, member, channel] {
    Status s = cascade_->Acknowledge(incident, member, channel, clock_->Now());
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++metrics_.acknowledgements;
    }
    return s;
  });
}

Status CascadeRuntime::CloseIncident(const std::string& incident) {
  return Call<Status>([this, incident] { return cascade_->CloseIncident(incident, clock_->Now()); });
}

Status CascadeRuntime::SetAudit(AuditSink* audit) {
  if (relay_ == nullptr) return StateError("this runtime has no event relay");
  Status s = Call<Status>([this, audit] {
    relay_->SetAudit(audit);
    return Status::Ok();
  });
  cv_.notify_all();  // held messages may go now
  return s;
}

std::vector<CascadeEvent> CascadeRuntime::TakeEvents() {
  if (relay_ == nullptr) return {};
  return relay_->TakeHostEvents();
}

void CascadeRuntime::Inspect(const std::function<void(const CascadeEngine&)>& fn) {
  Call<int>([this, &fn] {
    fn(cascade_->engine());
    return 0;
  });
}

Status CascadeRuntime::Settle(DurationMillis timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(mu_);
  if (!running_ || stop_) return StateError("the runtime is not running");
  if (std::this_thread::get_id() == thread_.get_id()) {
    return StateError("Settle was called from the runtime's own thread (inside a callback)");
  }
  // Done once a loop that started after this call found nothing to do.
  std::uint64_t start = loops_started_;
  auto settled = [&] { return idle_ && loops_done_ > start; };
  while (!settled()) {
    poked_ = true;
    cv_.notify_all();
    if (idle_cv_.wait_until(lock, deadline) == std::cv_status::timeout && !settled()) {
      return Status(StatusCode::kTimeout, "the runtime did not settle within timeout_ms");
    }
  }
  return Status::Ok();
}

Result<CascadeRuntime::Recipient> CascadeRuntime::RecipientOf(const std::string& address) {
  return Call<Result<Recipient>>([this, address] { return cascade_->RecipientsOf(address); });
}

Status CascadeRuntime::AcknowledgeOnce(const std::string& token_id, UnixMillis expires_at,
                                       const std::string& incident, const std::string& member,
                                       std::optional<Channel> channel) {
  return Call<Status>([this, token_id, expires_at, incident, member, channel] {
    Status s = cascade_->AcknowledgeOnce(token_id, expires_at, incident, member, channel, clock_->Now());
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++metrics_.acknowledgements;
    }
    return s;
  });
}

void CascadeRuntime::Dispatch(const ClaimedMessage& cm, UnixMillis now) {
  (void)now;
  const OutboundMessage& m = cm.message;
  int ch = static_cast<int>(m.channel);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++metrics_.sent[static_cast<std::size_t>(ch)];
    ++metrics_.in_flight;
    if (cm.resend) ++metrics_.resends;
  }
  auto it = senders_.find(m.channel);
  auto done = [this, m](SendResult r) {
    // Notified under the lock: once the loop has taken this result, the
    // transport's thread touches nothing of the runtime any more, so the
    // runtime may be destroyed as soon as nothing is in flight.
    std::lock_guard<std::mutex> lock(mu_);
    results_.emplace_back(m, std::move(r));
    cv_.notify_all();
  };
  if (it == senders_.end() || it->second == nullptr) {
    done(SendResult{SendResult::Kind::kFailed, "", 0});
    return;
  }
  it->second->Send(m, done);
}

bool CascadeRuntime::FlushAuditThenSend(UnixMillis now) {
  const bool recorded = relay_ == nullptr || relay_->FlushAudit().ok();
  // Every event emitted so far came from a committed journal entry (the
  // store commits inside each call) and is now recorded: move the watermark,
  // so a reopen does not emit them again. If this fails, a reopen re-emits
  // them (recovered=1), which is the safe side.
  const bool watermark_failed = recorded && !cascade_->MarkAudited(cascade_->journal_seq()).ok();
  if (recorded) {
    for (; !held_.empty(); held_.pop_front()) Dispatch(held_.front(), now);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (watermark_failed) ++metrics_.store_errors;
  if (relay_ != nullptr) {
    metrics_.audit_recorded = static_cast<std::int64_t>(relay_->audit_recorded());
    metrics_.audit_backlog = static_cast<std::int64_t>(relay_->audit_backlog());
    metrics_.audit_refusals = static_cast<std::int64_t>(relay_->audit_refusals());
  }
  metrics_.held_messages = static_cast<std::int64_t>(held_.size());
  return recorded;
}

void CascadeRuntime::Loop() {
  {
    auto again = cascade_->TakeUnknownOutcomes(clock_->Now());
    if (again.ok()) held_.insert(held_.end(), again->begin(), again->end());
    FlushAuditThenSend(clock_->Now());
  }
  for (;;) {
    std::deque<std::function<void()>> calls;
    std::deque<std::pair<OutboundMessage, SendResult>> results;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stop_ && metrics_.in_flight == 0 && calls_.empty() && results_.empty()) break;
      calls.swap(calls_);
      results.swap(results_);
      ++metrics_.loop_iterations;
      ++loops_started_;
      poked_ = false;
    }
    std::size_t dispatched = 0;
    UnixMillis now = clock_->Now();
    for (auto& fn : calls) fn();
    for (auto& [m, r] : results) {
      std::size_t ch = static_cast<std::size_t>(m.channel);
      {
        std::lock_guard<std::mutex> lock(mu_);
        --metrics_.in_flight;
        switch (r.kind) {
          case SendResult::Kind::kAccepted:
          case SendResult::Kind::kDelivered: ++metrics_.accepted[ch]; break;
          case SendResult::Kind::kThrottled: ++metrics_.throttled[ch]; break;
          default: ++metrics_.failed[ch];
        }
      }
      Status s = cascade_->OnSendResult(m.message_id, r, now);
      if (!s.ok() && s.code() != StatusCode::kNotFound) {
        std::lock_guard<std::mutex> lock(mu_);
        ++metrics_.store_errors;
      }
    }
    Status s = cascade_->OnTimer(now);
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = stop_;
      if (!s.ok()) ++metrics_.store_errors;
    }
    if (!stopping) {
      auto out = cascade_->TakeOutbound(now);
      if (out.ok()) {
        held_.insert(held_.end(), out->begin(), out->end());
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        ++metrics_.store_errors;
      }
    }
    // Nothing leaves before its events are in the audit trail. When the
    // audit sink refuses, the loop is idle (it cannot progress) and retries
    // every 200 ms.
    const std::size_t ready = held_.size();
    const bool audit_blocked = !FlushAuditThenSend(now);
    if (!audit_blocked) dispatched = ready;
    std::optional<UnixMillis> next = cascade_->NextDeadline();
    std::unique_lock<std::mutex> lock(mu_);
    metrics_.journal_entries = cascade_->stats().journal_entries;
    if (relay_ != nullptr) metrics_.events_dropped = static_cast<std::int64_t>(relay_->host_events_dropped());
    ++loops_done_;
    idle_ = calls_.empty() && results_.empty() && metrics_.in_flight == 0 && dispatched == 0 &&
            (audit_blocked || !(next.has_value() && *next <= now));
    if (idle_) idle_cv_.notify_all();
    if (!calls_.empty() || !results_.empty() || poked_) continue;
    if (stop_) {
      if (metrics_.in_flight == 0) break;
      cv_.wait_for(lock, std::chrono::milliseconds(10));
      continue;
    }
    if (manual_clock_) {
      cv_.wait_for(lock, std::chrono::milliseconds(2));
    } else if (audit_blocked) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
    } else if (next.has_value()) {
      DurationMillis wait = *next - clock_->Now();
      if (wait > 0) cv_.wait_for(lock, std::chrono::milliseconds(wait < 1000 ? wait : 1000));
    } else {
      cv_.wait_for(lock, std::chrono::milliseconds(1000));
    }
  }
}

CascadeRuntimeMetrics CascadeRuntime::Metrics() {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_;
}

std::string CascadeRuntime::MetricsJson() {
  CascadeRuntimeMetrics m = Metrics();
  std::string out = "{\"channels\":{";
  for (int i = 0; i < kChannelCount; ++i) {
    auto k = static_cast<std::size_t>(i);
    if (i) out += ",";
    out += "\"" + std::string(ChannelName(static_cast<Channel>(i))) + "\":{\"sent\":" +
           std::to_string(m.sent[k]) + ",\"accepted\":" + std::to_string(m.accepted[k]) +
           ",\"throttled\":" + std::to_string(m.throttled[k]) + ",\"failed\":" +
           std::to_string(m.failed[k]) + "}";
  }
  out += "},\"receipts\":" + std::to_string(m.receipts) +
         ",\"acknowledgements\":" + std::to_string(m.acknowledgements) +
         ",\"resends\":" + std::to_string(m.resends) + ",\"in_flight\":" + std::to_string(m.in_flight) +
         ",\"journal_entries\":" + std::to_string(m.journal_entries) +
         ",\"store_errors\":" + std::to_string(m.store_errors) +
         ",\"audit_recorded\":" + std::to_string(m.audit_recorded) +
         ",\"audit_backlog\":" + std::to_string(m.audit_backlog) +
         ",\"audit_refusals\":" + std::to_string(m.audit_refusals) +
         ",\"held_messages\":" + std::to_string(m.held_messages) +
         ",\"events_dropped\":" + std::to_string(m.events_dropped) +
         ",\"recovered_events\":" + std::to_string(m.recovered_events) +
         ",\"loop_iterations\":" + std::to_string(m.loop_iterations) + "}";
  return out;
}

std::string CascadeRuntime::MetricsPrometheus() {
  CascadeRuntimeMetrics m = Metrics();
  std::string out;
  auto family = [&](const char* name, const char* help,
                    const std::array<std::int64_t, kChannelCount>& v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (int i = 0; i < kChannelCount; ++i) {
      out += std::string(name) + "{channel=\"" + ChannelName(static_cast<Channel>(i)) + "\"} " +
             std::to_string(v[static_cast<std::size_t>(i)]) + "\n";
    }
  };
  family("lifeline_cascade_messages_sent_total", "Messages handed to a channel adapter.", m.sent);
  family("lifeline_cascade_messages_accepted_total", "Sends the provider accepted.", m.accepted);
  family("lifeline_cascade_messages_throttled_total", "Sends answered 429.", m.throttled);
  family("lifeline_cascade_messages_failed_total", "Sends that failed.", m.failed);
  auto single = [&](const char* name, const char* type, const char* help, std::int64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name +
           " " + std::to_string(v) + "\n";
  };
  single("lifeline_cascade_receipts_total", "counter", "Delivery receipts ingested.", m.receipts);
  single("lifeline_cascade_acknowledgements_total", "counter", "Acknowledgements ingested.", m.acknowledgements);
  single("lifeline_cascade_resends_total", "counter", "Re-sends after an unknown outcome.", m.resends);
  single("lifeline_cascade_in_flight", "gauge", "Sends awaiting the provider's answer.", m.in_flight);
  single("lifeline_cascade_journal_entries", "gauge", "Rows in the cascade journal.", m.journal_entries);
  single("lifeline_cascade_store_errors_total", "counter", "Store failures.", m.store_errors);
  single("lifeline_cascade_audit_recorded_total", "counter", "Events recorded in the audit trail.",
         m.audit_recorded);
  single("lifeline_cascade_audit_backlog", "gauge", "Events waiting for the audit trail.", m.audit_backlog);
  single("lifeline_cascade_audit_refusals_total", "counter", "Audit appends refused.", m.audit_refusals);
  single("lifeline_cascade_held_messages", "gauge", "Messages held until their events are audited.",
         m.held_messages);
  single("lifeline_cascade_events_dropped_total", "counter", "Host events dropped (queue full).",
         m.events_dropped);
  single("lifeline_cascade_recovered_events", "gauge",
         "Events re-emitted when the store was opened (not audited before the last stop).",
         m.recovered_events);
  return out;
}

}  // namespace lifeline
