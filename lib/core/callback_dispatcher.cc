#include "lifeline/callback_dispatcher.hpp"

#include <algorithm>
#include <functional>

namespace lifeline {

CallbackDispatcher::CallbackDispatcher(OutboxStore* store, CallbackPlatform* platform,
                                       CallbackDispatcherOptions options)
    : store_(store),
      platform_(platform),
      options_(options),
      limiter_(RateLimiter::Create(options.rate_limit_requests, options.rate_limit_period_ms)
                   .value()) {}

DurationMillis CallbackDispatcher::BackoffDelay(const std::string& request_id, int attempt,
                                                std::optional<DurationMillis> retry_after) const {
  // A fresh Backoff seeded per request replays the same delays after a
  // restart, and spreads different requests apart.
  Result<Backoff> created =
      Backoff::Create(options_.retry, options_.seed ^ std::hash<std::string>{}(request_id));
  if (!created.ok()) return options_.retry.max_ms;
  Backoff& backoff = *created;
  std::optional<DurationMillis> delay;
  for (int i = 0; i < std::max(attempt, 1); ++i) {
    std::optional<DurationMillis> next =
        backoff.NextDelay(i + 1 == std::max(attempt, 1) ? retry_after : std::nullopt);
    if (!next) break;
    delay = next;
  }
  if (!delay) delay = retry_after ? *retry_after : options_.retry.max_ms;
  return *delay;
}

void CallbackDispatcher::Audit(const OutboxRecord& record, const char* status,
                               const DeliveryOutcome& outcome, UnixMillis now) {
  if (options_.audit == nullptr) return;
  AuditEvent event;
  event.source = AuditSource::kIvr;
  event.time = now;
  event.event = "CALLBACK_SUBMISSION";
  event.status = status;
  event.provider_id = platform_->name();
  event.detail = "requestId=" + record.request_id + " attempt=" + std::to_string(record.attempts) +
                 (outcome.http_status ? " http=" + std::to_string(outcome.http_status) : "") +
                 (outcome.error.empty() ? "" : " error=" + outcome.error) +
                 (record.resend ? " resend=1" : "");
  audit_backlog_.Add(std::move(event));
  if (now < audit_retry_at_) return;  // refused recently: Poll retries
  if (!audit_backlog_.Flush(options_.audit).ok()) {
    ++counters_.audit_failures;
    audit_retry_at_ = now + options_.audit_retry_ms;
  }
}

void CallbackDispatcher::FlushOutcomes() {
  if (pending_outcomes_.empty()) return;
  Result<std::vector<Status>> written = store_->RecordOutcomes(pending_outcomes_);
  if (!written.ok()) {
    // Nothing was written; keep them and try again on the next Poll. The
    // records stay IN_FLIGHT meanwhile, which is what a crash would leave.
    last_store_error_ = written.status();
    return;
  }
  pending_outcomes_.clear();
}

std::vector<CallbackDispatcher::Outgoing> CallbackDispatcher::Poll(UnixMillis now) {
  std::vector<Outgoing> out;
  // The audit trail refuses: the outbox does not advance past an outcome it
  // has not recorded, and nothing new is sent. The outcomes stay in memory
  // and their records IN_FLIGHT in the store; a crash now is a crash during
  // those sends (re-sent once at recovery, resend=1), never a delivery the
  // store calls done while the trail does not have it.
  if (!audit_backlog_.empty()) {
    if (now < audit_retry_at_) return out;
    if (!audit_backlog_.Flush(options_.audit).ok()) {
      ++counters_.audit_failures;
      audit_retry_at_ = now + options_.audit_retry_ms;
      return out;
    }
  }
  FlushOutcomes();
  if (!pending_outcomes_.empty()) return out;  // the store is failing: send nothing new

  if (!token_in_flight_ && now >= token_retry_at_) {
    token_retry_at_ = 0;
    if (std::optional<HttpRequest> token = platform_->TokenRequest(now)) {
      token_in_flight_ = true;
      token_tag_ = next_tag_++;
      ++counters_.token_requests;
      out.push_back({token_tag_, std::move(*token)});
    }
  }
  if (!platform_->Ready(now) || now < paused_until_) return out;

  while (in_flight_.size() < options_.max_in_flight) {
    size_t want = options_.max_in_flight - in_flight_.size();
    if (options_.rate_limit_enabled) {
      // Spend a permit only on a record that is due now, one at a time, so
      // no permit is ever taken for a request that is not sent.
      Result<std::optional<UnixMillis>> due = store_->NextDueAt();
      if (!due.ok()) {
        last_store_error_ = due.status();
        break;
      }
      if (!due->has_value() || **due > now) break;
      RateLimiter::Decision d = limiter_->TryAcquire(now);
      if (!d.allowed) {
        limiter_retry_at_ = now + d.retry_in;
        break;
      }
      want = 1;
    }
    Result<std::vector<OutboxRecord>> claimed = store_->ClaimDue(now, want);
    if (!claimed.ok()) {
      last_store_error_ = claimed.status();
      break;
    }
    for (OutboxRecord& record : *claimed) {
      Result<CallbackRequest> request = CallbackRequestFromJson(record.payload_json);
      if (!request.ok()) {
        pending_outcomes_.push_back(OutboxOutcome::Dead(
            record.request_id, "unreadable payload: " + request.status().message(), now));
        ++counters_.dead_lettered;
        continue;
      }
      uint64_t tag = next_tag_++;
      HttpRequest http = platform_->BuildCallbackRequest(*request);
      http.id = tag;
      ++counters_.sent;
      in_flight_.emplace(tag, std::move(record));
      out.push_back({tag, std::move(http)});
    }
    if (claimed->size() < want) break;  // nothing more is due
  }
  return out;
}

void CallbackDispatcher::OnResponse(uint64_t tag, const HttpResponse& response, UnixMillis now) {
  if (token_in_flight_ && tag == token_tag_) {
    token_in_flight_ = false;
    Status accepted = platform_->OnTokenResponse(response, now);
    if (!accepted.ok()) {
      ++counters_.token_failures;
      token_retry_at_ = now + options_.token_retry_ms;
    }
    return;
  }
  auto it = in_flight_.find(tag);
  if (it == in_flight_.end()) return;
  OutboxRecord record = std::move(it->second);
  in_flight_.erase(it);
  const std::string& id = record.request_id;

  DeliveryOutcome outcome = platform_->InterpretCallbackResponse(response, now);
  switch (outcome.kind) {
    case DeliveryOutcome::Kind::kDelivered:
      ++counters_.delivered;
      Audit(record, "DELIVERED", outcome, now);
      auth_retries_.erase(id);
      rate_limited_attempts_.erase(id);
      pending_outcomes_.push_back(
          OutboxOutcome::Delivered(id, now, outcome.provider_reference));
      return;
    case DeliveryOutcome::Kind::kAuthExpired:
      platform_->InvalidateToken();
      if (auth_retries_[id]++ == 0) {
        ++counters_.auth_retries;
        pending_outcomes_.push_back(OutboxOutcome::Retry(id, now, outcome.error));
        return;
      }
      break;  // a second 401 counts as an ordinary failure
    case DeliveryOutcome::Kind::kPermanent:
      ++counters_.dead_lettered;
      Audit(record, "DEAD_LETTERED", outcome, now);
      pending_outcomes_.push_back(OutboxOutcome::Dead(id, outcome.error, now));
      return;
    case DeliveryOutcome::Kind::kRetry:
      break;
  }

  if (outcome.rate_limited) {
    // The endpoint is overloaded: pause all of it, and do not hold the 429
    // against this request.
    ++counters_.rate_limited;
    ++rate_limited_attempts_[id];
    Audit(record, "RATE_LIMITED", outcome, now);
    DurationMillis wait = outcome.retry_after
                              ? std::min(*outcome.retry_after, options_.retry.retry_after_cap_ms)
                              : BackoffDelay(id, record.attempts, std::nullopt);
    paused_until_ = std::max(paused_until_, now + wait);
    limiter_->PauseUntil(paused_until_);
    ++counters_.retried;
    pending_outcomes_.push_back(OutboxOutcome::Retry(id, paused_until_, outcome.error));
    return;
  }
  int counted_attempts = record.attempts - rate_limited_attempts_[id];
  if (counted_attempts >= options_.retry.max_attempts) {
    ++counters_.dead_lettered;
    Audit(record, "DEAD_LETTERED", outcome, now);
    auth_retries_.erase(id);
    rate_limited_attempts_.erase(id);
    pending_outcomes_.push_back(OutboxOutcome::Dead(
        id, outcome.error + " after " + std::to_string(counted_attempts) + " attempts", now));
    return;
  }
  ++counters_.retried;
  Audit(record, "RETRY", outcome, now);
  DurationMillis delay = BackoffDelay(id, counted_attempts, outcome.retry_after);
  pending_outcomes_.push_back(OutboxOutcome::Retry(id, now + delay, outcome.error));
}

std::optional<UnixMillis> CallbackDispatcher::NextDeadline() const {
  // While the audit trail refuses, nothing else can move (not even the
  // outcomes waiting for the store): wake for the retry.
  if (!audit_backlog_.empty()) return audit_retry_at_;
  std::optional<UnixMillis> deadline;
  auto consider = [&](UnixMillis t) { deadline = deadline ? std::min(*deadline, t) : t; };
  if (!pending_outcomes_.empty()) consider(0);
  Result<std::optional<UnixMillis>> due = store_->NextDueAt();
  if (due.ok() && due->has_value()) {
    UnixMillis t = std::max(**due, paused_until_);
    if (options_.rate_limit_enabled) t = std::max(t, limiter_retry_at_);
    consider(t);
  }
  if (token_retry_at_ > 0 && !token_in_flight_) consider(token_retry_at_);
  return deadline;
}

}  // namespace lifeline
