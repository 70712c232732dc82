// endpoint_throttle.hpp -- an exact sliding-window limit for one carrier endpoint.
//
// Overview: at most `limit` sends in any window of `window` ms (default 50 per
// 1000 ms, the seed's per-carrier limit), plus a pause set from a provider's
// Retry-After. The cascade engine keeps one per endpoint, never one global
// throttle, and queues what it may not send yet. (A private seam: the
// library's general rate limiter, rate_limiter.hpp, can replace it.)
//
// Exactness: the throttle remembers the last `limit` send instants, so "no
// more than `limit` in any half-open window (t - window, t]" holds for every
// t, not just for aligned buckets.
//
// Example:
//
//   lifeline::EndpointThrottle sms(50, 1000);
//   if (sms.TryAcquire(now)) send(); else wake_at = sms.ReadyAt();
//   sms.PauseUntil(now + retry_after_ms);
#ifndef LIFELINE_ENDPOINT_THROTTLE_HPP_
#define LIFELINE_ENDPOINT_THROTTLE_HPP_

#include <algorithm>
#include <deque>

#include "lifeline/clock.hpp"

namespace lifeline {

class EndpointThrottle {
 public:
  // `limit` >= 1 sends per `window` >= 1 ms.
  EndpointThrottle(int limit, DurationMillis window)
      : limit_(std::max(1, limit)), window_(std::max<DurationMillis>(1, window)) {}

  // Takes a send slot at `now` if the window and the pause allow it.
  bool TryAcquire(UnixMillis now) {
    if (now < paused_until_) return false;
    if (static_cast<int>(sent_.size()) >= limit_) {
      if (sent_.front() > now - window_) return false;
      sent_.pop_front();
    }
    sent_.push_back(now);
    return true;
  }

  // The earliest instant a TryAcquire can succeed (may be in the past).
  UnixMillis ReadyAt() const {
    UnixMillis window_free = static_cast<int>(sent_.size()) >= limit_
                                 ? sent_.front() + window_
                                 : paused_until_;
    return std::max(window_free, paused_until_);
  }

  // No send before `t` (Retry-After). Never shortens an existing pause.
  void PauseUntil(UnixMillis t) { paused_until_ = std::max(paused_until_, t); }

  int limit() const { return limit_; }
  DurationMillis window() const { return window_; }

 private:
  int limit_;
  DurationMillis window_;
  UnixMillis paused_until_ = 0;
  std::deque<UnixMillis> sent_;  // at most limit_ instants, oldest first
};

}  // namespace lifeline

#endif  // LIFELINE_ENDPOINT_THROTTLE_HPP_
