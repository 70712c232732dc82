// callback_dispatcher.hpp -- moves callbacks from the durable outbox to the
// platform, politely.
//
// Overview: the dispatcher is the sans-I/O heart of the callback pipeline.
// Requests are already committed in the outbox when it sees them. On every
// `Poll(now)` it returns the HTTP requests to send now: an OAuth token
// request when the platform needs one, and callbacks that are due, as many
// as the rate limiter and the in-flight bound allow. The host (the engine's
// runtime thread) sends them over an HttpTransport and hands every answer
// back to `OnResponse`. Then:
//
//  - 2xx: the record is marked delivered.
//  - 429: the whole endpoint pauses until its Retry-After (or the backoff
//    when none is given); the request goes back to pending, its attempt not
//    consumed.
//  - 401: the token is dropped and the request is sent again once with a
//    fresh token, without consuming an attempt.
//  - other retryable failures: exponential backoff with jitter, never earlier
//    than a Retry-After, for `retry.max_attempts` attempts; then the record
//    is dead-lettered with its last error.
//  - non-retryable answers: dead-lettered at once.
//
// Dead letters are kept and can be re-driven (`OutboxStore::Redrive`).
// `NextDeadline()` says when Poll has work again.
//
// Thread-safety: one thread at a time (the engine's runtime thread).
#ifndef LIFELINE_CALLBACK_DISPATCHER_HPP_
#define LIFELINE_CALLBACK_DISPATCHER_HPP_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "lifeline/audit_backlog.hpp"
#include "lifeline/audit_sink.hpp"
#include "lifeline/backoff.hpp"
#include "lifeline/callback_platform.hpp"
#include "lifeline/durable_store.hpp"
#include "lifeline/http_transport.hpp"
#include "lifeline/rate_limiter.hpp"

namespace lifeline {

struct CallbackDispatcherOptions {
  RetryPolicy retry;                    // attempts, backoff, jitter, Retry-After cap
  bool rate_limit_enabled = true;
  int64_t rate_limit_requests = 500;    // the Genesys tenant default
  DurationMillis rate_limit_period_ms = 60000;
  size_t max_in_flight = 64;
  uint64_t seed = 0;                    // jitter; mixed with each request id
  DurationMillis token_retry_ms = 5000; // after a failed token request
  // Where every delivery outcome is recorded (not owned; may be null).
  AuditSink* audit = nullptr;
  // After the audit sink refused, how long before it is tried again (on
  // the clock passed to Poll); nothing new is sent meanwhile.
  DurationMillis audit_retry_ms = 200;
};

struct CallbackDispatcherCounters {
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t retried = 0;
  uint64_t dead_lettered = 0;
  uint64_t rate_limited = 0;  // 429 answers
  uint64_t token_requests = 0;
  uint64_t token_failures = 0;
  uint64_t auth_retries = 0;
  uint64_t audit_failures = 0;  // appends the audit sink refused (events kept, retried)
};

class CallbackDispatcher {
 public:
  struct Outgoing {
    uint64_t tag;  // give it back to OnResponse
    HttpRequest request;
  };

  // `store` and `platform` must outlive the dispatcher.
  CallbackDispatcher(OutboxStore* store, CallbackPlatform* platform,
                     CallbackDispatcherOptions options);

  // The requests to send now. Never blocks; touches the store.
  std::vector<Outgoing> Poll(UnixMillis now);

  // The answer to a request returned by Poll.
  void OnResponse(uint64_t tag, const HttpResponse& response, UnixMillis now);

  // Writes the outcomes gathered by OnResponse in one transaction (Poll does
  // it first thing; call it before shutting down).
  void FlushOutcomes();

  // Sets (or clears) the audit sink from now on. Delivery outcomes are
  // audited before anything new is sent: while the sink refuses, the
  // outcomes wait in order (audit_backlog()) and Poll sends nothing new.
  // Clearing the sink forgets what was waiting.
  void SetAuditSink(AuditSink* audit) {
    options_.audit = audit;
    if (audit == nullptr) audit_backlog_.Discard();
  }
  // Audit events waiting for the sink.
  size_t audit_backlog() const { return audit_backlog_.size(); }

  // When Poll next has something to do, or nullopt when nothing is pending.
  std::optional<UnixMillis> NextDeadline() const;

  size_t in_flight() const { return in_flight_.size() + (token_in_flight_ ? 1 : 0); }
  // The last storage error met (the store is retried on the next Poll).
  const Status& last_store_error() const { return last_store_error_; }
  UnixMillis paused_until() const { return paused_until_; }
  const CallbackDispatcherCounters& counters() const { return counters_; }

 private:
  void Audit(const OutboxRecord& record, const char* status, const DeliveryOutcome& outcome,
             UnixMillis now);
  DurationMillis BackoffDelay(const std::string& request_id, int attempt,
                              std::optional<DurationMillis> retry_after) const;

  OutboxStore* store_;
  CallbackPlatform* platform_;
  CallbackDispatcherOptions options_;
  std::unique_ptr<RateLimiter> limiter_;  // validated by the engine's configuration
  CallbackDispatcherCounters counters_;

  std::unordered_map<uint64_t, OutboxRecord> in_flight_;
  // Per request id: whether its one free re-send after a 401 is used, and how
  // many 429s it met (a 429 does not consume an attempt). In memory only: a
  // restart forgets them, which only makes the dispatcher give up sooner.
  std::unordered_map<std::string, int> auth_retries_;
  std::unordered_map<std::string, int> rate_limited_attempts_;
  std::vector<OutboxOutcome> pending_outcomes_;
  AuditBacklog audit_backlog_;
  UnixMillis audit_retry_at_ = 0;
  uint64_t next_tag_ = 1;
  bool token_in_flight_ = false;
  UnixMillis token_retry_at_ = 0;
  UnixMillis paused_until_ = 0;
  UnixMillis limiter_retry_at_ = 0;
  Status last_store_error_;
  uint64_t token_tag_ = 0;
};

}  // namespace lifeline

#endif  // LIFELINE_CALLBACK_DISPATCHER_HPP_
