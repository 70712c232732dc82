// Timer start / cancel / fire throughput: the hierarchical TimerWheel versus a
// std::priority_queue scheduler with lazy cancellation, on the same workloads.
//
// Workloads (N timers with expiries spread uniformly over one hour, as in a
// P1 activation's hold, retry and receipt timers). Both schedulers live
// across iterations, as in a running engine, so the numbers are steady-state
// (memory already touched); the heap is emptied between iterations for free
// (its lazily cancelled entries would otherwise pile up), which favours it.
//   StartCancel: start N, cancel all (acknowledged before anything fires).
//   StartFire:   start N, advance in 100 ms steps until all fired.
//   Cascade:     start N, cancel 90 % (acks), fire the rest in 100 ms steps.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <vector>

#include "lifeline/timer_wheel.hpp"

namespace {

using lifeline::TimerId;
using lifeline::TimerWheel;
using lifeline::UnixMillis;

constexpr UnixMillis kT0 = 1'716'215'520'000;
constexpr UnixMillis kHour = 3'600'000;

// The baseline: a binary heap with lazy cancel (a cancelled flag per id,
// skipped when popped).
class HeapScheduler {
 public:
  std::uint64_t Start(UnixMillis expiry, std::uint64_t tag) {
    std::uint64_t id = tags_.size();
    tags_.push_back(tag);
    cancelled_.push_back(0);
    heap_.push({expiry, id});
    return id;
  }
  void Reset() {
    heap_ = decltype(heap_)();
    tags_.clear();
    cancelled_.clear();
  }
  bool Cancel(std::uint64_t id) {
    if (id >= cancelled_.size() || cancelled_[id]) return false;
    cancelled_[id] = 1;
    return true;
  }
  template <typename F>
  std::size_t Advance(UnixMillis now, F&& fire) {
    std::size_t n = 0;
    while (!heap_.empty() && heap_.top().first <= now) {
      auto [expiry, id] = heap_.top();
      heap_.pop();
      if (cancelled_[id]) continue;
      cancelled_[id] = 1;
      fire(id, tags_[id], expiry);
      ++n;
    }
    return n;
  }

 private:
  using Entry = std::pair<UnixMillis, std::uint64_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::vector<std::uint64_t> tags_;
  std::vector<std::uint8_t> cancelled_;
};

// Offsets from the iteration's start time.
std::vector<UnixMillis> Expiries(std::size_t n) {
  std::mt19937_64 rng(42);
  std::vector<UnixMillis> out(n);
  for (auto& e : out) e = 1 + static_cast<UnixMillis>(rng() % kHour);
  return out;
}

template <typename S>
void StartCancel(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto expiries = Expiries(n);
  std::vector<std::uint64_t> ids(n);
  S s(kT0);
  for (auto _ : state) {
    s.Reset();
    UnixMillis base = s.Now();
    for (std::size_t i = 0; i < n; ++i) ids[i] = s.Start(base + expiries[i], i);
    for (std::size_t i = 0; i < n; ++i) s.Cancel(ids[i]);
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n * 2));
}

template <typename S>
void StartFire(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto expiries = Expiries(n);
  S s(kT0);
  for (auto _ : state) {
    s.Reset();
    UnixMillis base = s.Now();
    for (std::size_t i = 0; i < n; ++i) s.Start(base + expiries[i], i);
    std::uint64_t sum = 0;
    for (UnixMillis t = base; t <= base + kHour; t += 100) {
      s.Advance(t, [&](std::uint64_t, std::uint64_t tag, UnixMillis) { sum += tag; });
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n * 2));
}

template <typename S>
void Cascade(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto expiries = Expiries(n);
  std::vector<std::uint64_t> ids(n);
  S s(kT0);
  for (auto _ : state) {
    s.Reset();
    UnixMillis base = s.Now();
    for (std::size_t i = 0; i < n; ++i) ids[i] = s.Start(base + expiries[i], i);
    for (std::size_t i = 0; i < n; ++i) {
      if (i % 10 != 0) s.Cancel(ids[i]);
    }
    std::uint64_t sum = 0;
    for (UnixMillis t = base; t <= base + kHour; t += 100) {
      s.Advance(t, [&](std::uint64_t, std::uint64_t tag, UnixMillis) { sum += tag; });
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

// Adapters giving both schedulers one shape.
struct Wheel {
  explicit Wheel(UnixMillis now) : w(now) {}
  void Reset() {}  // empty after every workload; nodes are reused
  UnixMillis Now() const { return w.now(); }
  std::uint64_t Start(UnixMillis e, std::uint64_t tag) { return w.Start(e, tag); }
  bool Cancel(std::uint64_t id) { return w.Cancel(id); }
  template <typename F>
  std::size_t Advance(UnixMillis now, F&& f) {
    return w.Advance(now, [&](TimerId id, std::uint64_t tag, UnixMillis at) { f(id, tag, at); });
  }
  TimerWheel w;
};
struct Heap {
  explicit Heap(UnixMillis now) : now_(now) {}
  void Reset() { h.Reset(); }
  UnixMillis Now() const { return now_; }
  UnixMillis now_;
  std::uint64_t Start(UnixMillis e, std::uint64_t tag) { return h.Start(e, tag); }
  bool Cancel(std::uint64_t id) { return h.Cancel(id); }
  template <typename F>
  std::size_t Advance(UnixMillis now, F&& f) {
    now_ = std::max(now_, now);
    return h.Advance(now, f);
  }
  HeapScheduler h;
};

BENCHMARK_TEMPLATE(StartCancel, Wheel)->Arg(100'000);
BENCHMARK_TEMPLATE(StartCancel, Heap)->Arg(100'000);
BENCHMARK_TEMPLATE(StartFire, Wheel)->Arg(100'000);
BENCHMARK_TEMPLATE(StartFire, Heap)->Arg(100'000);
BENCHMARK_TEMPLATE(Cascade, Wheel)->Arg(100'000);
BENCHMARK_TEMPLATE(Cascade, Heap)->Arg(100'000);

}  // namespace

BENCHMARK_MAIN();
