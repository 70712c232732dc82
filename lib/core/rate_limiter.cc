// RateLimiter and KeyedRateLimiter (see include/lifeline/rate_limiter.hpp).
#include "lifeline/rate_limiter.hpp"

#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>
#include <absl/strings/string_view.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <limits>
#include <string>

namespace lifeline {
namespace {

constexpr UnixMillis kMinTime = std::numeric_limits<UnixMillis>::min();
constexpr UnixMillis kMaxTime = std::numeric_limits<UnixMillis>::max();

std::int64_t SatAdd(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kMaxTime : kMinTime;
  return out;
}

std::int64_t SatSub(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) return b < 0 ? kMaxTime : kMinTime;
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// RateLimiter
// ---------------------------------------------------------------------------

Status RateLimiter::Validate(std::int64_t requests, DurationMillis period_ms) {
  if (requests < 1) {
    return InvalidArgument("requests must be >= 1 (got " + std::to_string(requests) + ")");
  }
  if (period_ms < 1) {
    return InvalidArgument("period_ms must be >= 1 (got " + std::to_string(period_ms) + ")");
  }
  if (std::min(requests, period_ms) > kMaxLogEntries) {
    return InvalidArgument(
        "requests and period_ms are both above 1048576: the exact log would need more than "
        "2^20 entries; express the limit over a shorter period");
  }
  return Status::Ok();
}

Result<std::unique_ptr<RateLimiter>> RateLimiter::Create(std::int64_t requests,
                                                         DurationMillis period_ms) {
  Status valid = Validate(requests, period_ms);
  if (!valid.ok()) return valid;
  const auto capacity = static_cast<std::size_t>(std::min(requests, period_ms));
  return std::unique_ptr<RateLimiter>(new RateLimiter(requests, period_ms, capacity, kMinTime));
}

RateLimiter::RateLimiter(std::int64_t requests, DurationMillis period_ms, std::size_t capacity,
                         UnixMillis start)
    : requests_(requests),
      period_ms_(period_ms),
      capacity_(capacity),
      log_(new Entry[capacity]),
      clock_(start),
      paused_until_(kMinTime) {}

RateLimiter::~RateLimiter() = default;

void RateLimiter::ExpireLocked(UnixMillis now) {
  // An entry at time t is in the window ending at `now` iff now - t <
  // period. Entries are never later than `now`, so the difference is >= 0
  // and only overflows (saturating high) when it is certainly >= period.
  while (size_ > 0 && SatSub(now, log_[head_].time) >= period_ms_) {
    granted_ -= log_[head_].count;
    if (++head_ == capacity_) head_ = 0;
    --size_;
  }
}

UnixMillis RateLimiter::BusyUntilLocked() const {
  UnixMillis busy = paused_until_;
  if (size_ > 0) {
    std::size_t newest = head_ + size_ - 1;
    if (newest >= capacity_) newest -= capacity_;
    busy = std::max(busy, SatAdd(log_[newest].time, period_ms_));
  }
  return busy;
}

RateLimiter::Decision RateLimiter::TryAcquire(UnixMillis now) {
  std::lock_guard<std::mutex> lock(mu_);
  const UnixMillis t = std::max(now, clock_);
  clock_ = t;
  ExpireLocked(t);

  const bool full = granted_ >= requests_;
  if (t < paused_until_) {
    UnixMillis at = paused_until_;
    if (full) at = std::max(at, SatAdd(log_[head_].time, period_ms_));
    return {false, SatSub(at, now)};
  }
  if (full) {
    return {false, SatSub(SatAdd(log_[head_].time, period_ms_), now)};
  }

  // Grant: count it in the entry of this millisecond, or open a new one.
  if (size_ > 0) {
    std::size_t newest = head_ + size_ - 1;
    if (newest >= capacity_) newest -= capacity_;
    if (log_[newest].time == t) {
      ++log_[newest].count;
      ++granted_;
      return {true, 0};
    }
  }
  // The log holds entries of distinct milliseconds inside one period (at
  // most period_ms of them) with at least one grant each (at most
  // requests - 1 of them before this grant), so it is never full here.
  assert(size_ < capacity_);
  std::size_t slot = head_ + size_;
  if (slot >= capacity_) slot -= capacity_;
  log_[slot] = Entry{t, 1};
  ++size_;
  ++granted_;
  return {true, 0};
}

void RateLimiter::PauseUntil(UnixMillis until) {
  std::lock_guard<std::mutex> lock(mu_);
  paused_until_ = std::max(paused_until_, until);
}

UnixMillis RateLimiter::paused_until() const {
  std::lock_guard<std::mutex> lock(mu_);
  return paused_until_;
}

bool RateLimiter::IsIdle(UnixMillis now) const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::max(now, clock_) >= BusyUntilLocked();
}

// ---------------------------------------------------------------------------
// KeyedRateLimiter
// ---------------------------------------------------------------------------

class KeyedRateLimiter::Impl {
 public:
  Impl(std::int64_t requests, DurationMillis period_ms, std::size_t max_keys)
      : requests_(requests),
        period_ms_(period_ms),
        capacity_(static_cast<std::size_t>(std::min(requests, period_ms))),
        max_keys_(max_keys) {}

  // Runs `fn(limiter)` on the limiter of `key`, creating it if needed.
  template <typename Fn>
  Status With(std::string_view key, UnixMillis now, Fn&& fn) {
    // Debian's Abseil has its own string_view type; the lookups take it so
    // that finding an existing key never builds a std::string.
    const absl::string_view k(key.data(), key.size());
    Shard& shard = shards_[ShardOf(k)];
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      auto it = shard.map.find(k);
      if (it != shard.map.end()) {
        fn(*it->second);
        return Status::Ok();
      }
    }
    if (!Reserve(now)) {
      return Status(StatusCode::kFull,
                    "the table holds max_keys (" + std::to_string(max_keys_) +
                        ") keys and none is idle");
    }
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.map.find(k);
    if (it != shard.map.end()) {
      // Another thread created it meanwhile: give the reservation back.
      size_.fetch_sub(1, std::memory_order_relaxed);
    } else {
      std::unique_ptr<RateLimiter> limiter(new RateLimiter(
          requests_, period_ms_, capacity_, evicted_clock_.load(std::memory_order_acquire)));
      it = shard.map.emplace(std::string(key), std::move(limiter)).first;
    }
    fn(*it->second);
    return Status::Ok();
  }

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }
  std::size_t max_keys() const { return max_keys_; }

 private:
  static constexpr std::size_t kShards = 16;

  struct Shard {
    std::mutex mu;
    absl::flat_hash_map<std::string, std::unique_ptr<RateLimiter>> map;
  };

  static std::size_t ShardOf(absl::string_view key) {
    // The top bits, which the table itself uses least.
    return static_cast<std::size_t>(absl::Hash<absl::string_view>{}(key) >> 60) % kShards;
  }

  // Takes one slot of the max_keys budget, dropping idle limiters if the
  // table is full. False when every slot holds a live limiter.
  bool Reserve(UnixMillis now) {
    if (TakeSlot()) return true;
    std::lock_guard<std::mutex> sweep_lock(sweep_mu_);
    if (TakeSlot()) return true;
    // Nothing can have become idle before next_sweep_at_: no scan. (A
    // caller without a `now` passes kMinTime and always scans.)
    if (now != kMinTime && now < next_sweep_at_) return false;
    UnixMillis earliest = kMaxTime;
    std::size_t dropped = 0;
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (auto it = shard.map.begin(); it != shard.map.end();) {
        RateLimiter& limiter = *it->second;
        UnixMillis busy_until;
        UnixMillis limiter_clock;
        {
          // Released before the erase below destroys the limiter and its
          // mutex. Nobody else can lock it meanwhile: every use of a keyed
          // limiter holds its shard's lock, as this loop does.
          std::lock_guard<std::mutex> limiter_lock(limiter.mu_);
          busy_until = limiter.BusyUntilLocked();
          limiter_clock = limiter.clock_;
        }
        if (std::max(now, limiter_clock) >= busy_until) {
          // A later limiter for this key starts no earlier than this one's
          // clock, so time going backwards cannot reopen its window.
          UnixMillis seen = evicted_clock_.load(std::memory_order_relaxed);
          if (limiter_clock > seen) evicted_clock_.store(limiter_clock, std::memory_order_release);
          shard.map.erase(it++);
          ++dropped;
        } else {
          earliest = std::min(earliest, busy_until);
          ++it;
        }
      }
    }
    size_.fetch_sub(dropped, std::memory_order_relaxed);
    // With nothing dropped no key can be added until one becomes idle, and
    // none does before `earliest` (grants and pauses only push it later).
    next_sweep_at_ = dropped == 0 ? earliest : kMinTime;
    return TakeSlot();
  }

  bool TakeSlot() {
    std::size_t current = size_.load(std::memory_order_relaxed);
    while (current < max_keys_) {
      if (size_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  const std::int64_t requests_;
  const DurationMillis period_ms_;
  const std::size_t capacity_;
  const std::size_t max_keys_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::size_t> size_{0};
  std::mutex sweep_mu_;
  UnixMillis next_sweep_at_ = kMinTime;  // guarded by sweep_mu_
  std::atomic<UnixMillis> evicted_clock_{kMinTime};
};

Result<std::unique_ptr<KeyedRateLimiter>> KeyedRateLimiter::Create(std::int64_t requests,
                                                                   DurationMillis period_ms,
                                                                   std::size_t max_keys) {
  Status valid = RateLimiter::Validate(requests, period_ms);
  if (!valid.ok()) return valid;
  if (max_keys < 1) return InvalidArgument("max_keys must be >= 1");
  return std::unique_ptr<KeyedRateLimiter>(
      new KeyedRateLimiter(std::make_unique<Impl>(requests, period_ms, max_keys)));
}

KeyedRateLimiter::KeyedRateLimiter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyedRateLimiter::~KeyedRateLimiter() = default;

Result<RateLimiter::Decision> KeyedRateLimiter::TryAcquire(std::string_view key, UnixMillis now) {
  RateLimiter::Decision decision{false, 0};
  Status s = impl_->With(key, now, [&](RateLimiter& limiter) { decision = limiter.TryAcquire(now); });
  if (!s.ok()) return s;
  return decision;
}

Status KeyedRateLimiter::PauseUntil(std::string_view key, UnixMillis until) {
  // No `now` here: if the key is new and the table full, the sweep judges
  // each limiter at the latest time it has itself seen, which is safe.
  return impl_->With(key, kMinTime, [&](RateLimiter& limiter) { limiter.PauseUntil(until); });
}

std::size_t KeyedRateLimiter::size() const { return impl_->size(); }
std::size_t KeyedRateLimiter::max_keys() const { return impl_->max_keys(); }

}  // namespace lifeline
