// Rate limiter and backoff micro-benchmarks.
//
//   RateLimiter/*       lifeline::RateLimiter (exact sliding log in a ring,
//                       coalesced per millisecond, per-limiter mutex)
//   NaiveLog/*          the baseline: a std::deque of grant times under a
//                       std::mutex, same semantics (also exact)
//   KeyedRateLimiter/*  lifeline::KeyedRateLimiter over 64 keys
//   Backoff/*           Backoff::NextDelay per jitter mode
//
// Two load shapes: "steady" (50 per second, a request every 20 ms per
// thread: nearly every call is granted and expires one entry) and
// "saturated" (500 per minute, a request every millisecond: nearly every
// call is refused). ->Threads(2) shares one limiter between two threads.
//
// Run: build/bench/tests/bench/bench_rate_limiter --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lifeline/backoff.hpp"
#include "lifeline/rate_limiter.hpp"

namespace {

using lifeline::DurationMillis;
using lifeline::UnixMillis;

// The baseline: the textbook sliding log.
class NaiveSlidingLog {
 public:
  NaiveSlidingLog(std::int64_t requests, DurationMillis period)
      : requests_(requests), period_(period) {}

  lifeline::RateLimiter::Decision TryAcquire(UnixMillis now) {
    std::lock_guard<std::mutex> lock(mu_);
    while (!log_.empty() && now - log_.front() >= period_) log_.pop_front();
    if (static_cast<std::int64_t>(log_.size()) < requests_) {
      log_.push_back(now);
      return {true, 0};
    }
    return {false, log_.front() + period_ - now};
  }

 private:
  const std::int64_t requests_;
  const DurationMillis period_;
  std::mutex mu_;
  std::deque<UnixMillis> log_;
};

struct Shape {
  std::int64_t requests;
  DurationMillis period;
  DurationMillis step;  // per call, per thread
};
constexpr Shape kSteady{50, 1000, 20};
constexpr Shape kSaturated{500, 60000, 1};

template <typename Limiter>
std::unique_ptr<Limiter> MakeLimiter(const Shape& s);

template <>
std::unique_ptr<lifeline::RateLimiter> MakeLimiter(const Shape& s) {
  return std::move(lifeline::RateLimiter::Create(s.requests, s.period)).value();
}

template <>
std::unique_ptr<NaiveSlidingLog> MakeLimiter(const Shape& s) {
  return std::make_unique<NaiveSlidingLog>(s.requests, s.period);
}

template <typename Limiter>
void RunShape(benchmark::State& state, const Shape& shape) {
  static std::unique_ptr<Limiter> shared;
  if (state.thread_index() == 0) shared = MakeLimiter<Limiter>(shape);
  UnixMillis now = 1'700'000'000'000;
  std::int64_t granted = 0;
  for (auto _ : state) {  // all threads start here together
    auto d = shared->TryAcquire(now);
    granted += d.allowed ? 1 : 0;
    benchmark::DoNotOptimize(d);
    now += shape.step;
  }
  state.counters["granted%"] = benchmark::Counter(
      100.0 * static_cast<double>(granted) / static_cast<double>(state.iterations()),
      benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(state.iterations());  // summed over threads
}

void BM_RateLimiter_Steady(benchmark::State& s) { RunShape<lifeline::RateLimiter>(s, kSteady); }
void BM_NaiveLog_Steady(benchmark::State& s) { RunShape<NaiveSlidingLog>(s, kSteady); }
void BM_RateLimiter_Saturated(benchmark::State& s) {
  RunShape<lifeline::RateLimiter>(s, kSaturated);
}
void BM_NaiveLog_Saturated(benchmark::State& s) { RunShape<NaiveSlidingLog>(s, kSaturated); }

BENCHMARK(BM_RateLimiter_Steady)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_NaiveLog_Steady)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_RateLimiter_Saturated)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_NaiveLog_Saturated)->Threads(1)->Threads(2)->UseRealTime();

// A burst: 10000 per second, all requested in the same millisecond, so the
// log is one coalesced entry for us and 10000 deque entries for the baseline.
void BM_RateLimiter_Burst(benchmark::State& state) {
  auto rl = std::move(lifeline::RateLimiter::Create(10000, 1000)).value();
  UnixMillis now = 0;
  std::int64_t calls = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rl->TryAcquire(now));
    if (++calls % 20000 == 0) now += 1000;
  }
}
void BM_NaiveLog_Burst(benchmark::State& state) {
  NaiveSlidingLog rl(10000, 1000);
  UnixMillis now = 0;
  std::int64_t calls = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rl.TryAcquire(now));
    if (++calls % 20000 == 0) now += 1000;
  }
}
BENCHMARK(BM_RateLimiter_Burst);
BENCHMARK(BM_NaiveLog_Burst);

// 64 carrier endpoints at 50 per second each, requests spread over the keys.
void BM_KeyedRateLimiter_Steady(benchmark::State& state) {
  static std::unique_ptr<lifeline::KeyedRateLimiter> shared;
  static std::vector<std::string> keys;
  if (state.thread_index() == 0) {
    shared = std::move(lifeline::KeyedRateLimiter::Create(50, 1000, 1024)).value();
    keys.clear();
    for (int i = 0; i < 64; ++i) keys.push_back("sip:carrier-" + std::to_string(i) + ".example");
  }
  UnixMillis now = 1'700'000'000'000;
  std::size_t i = static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    benchmark::DoNotOptimize(shared->TryAcquire(keys[i % keys.size()], now));
    if (++i % keys.size() == 0) now += 20;
  }
  state.SetItemsProcessed(state.iterations());  // summed over threads
}
BENCHMARK(BM_KeyedRateLimiter_Steady)->Threads(1)->Threads(2)->UseRealTime();

void BM_Backoff_NextDelay(benchmark::State& state) {
  lifeline::RetryPolicy policy;
  policy.jitter = static_cast<lifeline::Jitter>(state.range(0));
  policy.max_attempts = 1 << 30;
  auto backoff = std::move(lifeline::Backoff::Create(policy, 12345)).value();
  int calls = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(backoff.NextDelay());
    if (++calls == 8) {  // a request's worth of retries, then start over
      backoff.Reset();
      calls = 0;
    }
  }
  state.SetLabel(lifeline::JitterName(policy.jitter));
}
BENCHMARK(BM_Backoff_NextDelay)->DenseRange(0, 3);

}  // namespace

BENCHMARK_MAIN();
