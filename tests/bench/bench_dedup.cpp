// bench_dedup -- DedupCache::Check against a std::unordered_map under a
// std::mutex with the same semantics, at 60 thousand and 1 million live keys,
// on one and two threads. Numbers and the command are in
// docs/performance-dedup.md.
//
// The workload is a steady state: every benchmark starts with `live` keys
// inserted over the last TTL (60 s), then alternates a new key (first seen,
// which also expires the oldest ones as time moves on) and a duplicate of a
// random key seen in the last half TTL. Time advances so that `live` keys
// stay live. Keys are 30-byte request ids, "+1NNNNNNNNNN|<unix ms>|qNN".
// Both caches get capacity 2 * live, so neither is ever full here. The next
// key is prefetched one check ahead (as if just parsed from a request);
// `BM_Check<loop only>` measures what the loop itself costs, and
// `BM_DigestOf` the keyed hash alone.
//
// Every allocation is counted (tests/support/allocation_counter.hpp) and
// reported per check as `allocs/check`.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lifeline/dedup_cache.hpp"
#include "support/allocation_counter.hpp"

namespace {

using lifeline::DedupResult;
using lifeline::UnixMillis;

constexpr lifeline::DurationMillis kTtl = 60'000;
constexpr UnixMillis kBase = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr std::size_t kKeySize = 30;

// Request ids, generated once: key g is "+1" 10 digits "|" 13 digits "|q" 2
// digits. A benchmark with `live` keys cycles through 4 * live of them, so a
// key comes back only long after it expired.
class KeyPool {
 public:
  std::string_view Get(std::uint64_t g) const {
    return std::string_view(&data_[(g % count_) * 32], kKeySize);
  }
  void Reserve(std::size_t count) {
    if (count <= count_) return;
    data_.resize(count * 32);
    for (std::size_t g = count_; g < count; ++g) {
      char* p = &data_[g * 32];
      std::snprintf(p, 32, "+1%010llu|%013llu|q%02u",
                    static_cast<unsigned long long>(5550000000ull + g * 7919 % 4449999999ull),
                    static_cast<unsigned long long>(kBase + g), static_cast<unsigned>(g % 97));
    }
    count_ = count;
  }

 private:
  std::vector<char> data_;
  std::size_t count_ = 0;
};

KeyPool& Keys() {
  static KeyPool pool;
  return pool;
}

// --- The two implementations ---------------------------------------------------

class LifelineCache {
 public:
  static constexpr const char* kName = "lifeline::DedupCache";
  explicit LifelineCache(std::size_t capacity) {
    lifeline::DedupCache::Options options;
    options.ttl_ms = kTtl;
    options.capacity = capacity;
    cache_ = std::move(lifeline::DedupCache::Create(options)).value();
  }
  DedupResult Check(std::string_view key, UnixMillis now) { return cache_->Check(key, now); }

 private:
  std::unique_ptr<lifeline::DedupCache> cache_;
};

// No cache at all: what the benchmark loop itself costs (choosing keys and
// times, prefetching the next key), included in every figure above it.
class NoCache {
 public:
  static constexpr const char* kName = "loop only";
  explicit NoCache(std::size_t) {}
  DedupResult Check(std::string_view key, UnixMillis now) {
    benchmark::DoNotOptimize(key.data());
    benchmark::DoNotOptimize(now);
    return (key[12] & 1) != 0 ? DedupResult::kFirstSeen : DedupResult::kDuplicate;
  }
};

// The baseline: the obvious implementation, with the same rules (TTL from
// first sight, a duplicate does not extend, capacity with kFull, no
// eviction, a `now` earlier than the latest counts as the latest). The FIFO
// points at the map's own keys, so a key is stored once.
class MutexMapCache {
 public:
  static constexpr const char* kName = "unordered_map+mutex";
  explicit MutexMapCache(std::size_t capacity) : capacity_(capacity) { map_.reserve(capacity); }

  DedupResult Check(std::string_view key, UnixMillis now) {
    std::lock_guard<std::mutex> lock(mu_);
    now = std::max(now, latest_);
    latest_ = now;
    while (!fifo_.empty() && fifo_.front().first <= now) {
      map_.erase(map_.find(*fifo_.front().second));
      fifo_.pop_front();
    }
    std::string k(key);  // C++17 unordered_map has no heterogeneous lookup
    if (map_.find(k) != map_.end()) return DedupResult::kDuplicate;
    if (map_.size() >= capacity_) return DedupResult::kFull;
    auto inserted = map_.emplace(std::move(k), now + kTtl).first;
    fifo_.emplace_back(now + kTtl, &inserted->first);
    return DedupResult::kFirstSeen;
  }

 private:
  std::mutex mu_;
  std::size_t capacity_;
  UnixMillis latest_ = std::numeric_limits<UnixMillis>::min();
  std::unordered_map<std::string, UnixMillis> map_;
  std::deque<std::pair<UnixMillis, const std::string*>> fifo_;
};

// --- The steady-state workload ---------------------------------------------------

// One benchmark's cache and each thread's position in its key stream. Kept
// across Google Benchmark's repeated runs of the same benchmark (so the
// steady state is built once); replaced when the next benchmark starts.
template <typename Cache>
struct Context {
  Context(std::size_t live, int threads)
      : cache(2 * live),
        live(live),
        ms_per_key_q32((static_cast<std::uint64_t>(kTtl) << 32) / live),
        next(threads),
        offset(threads) {
    // Prefill: keys 0 .. live-1, first seen over the last TTL.
    for (std::uint64_t g = 0; g < live; ++g) cache.Check(Keys().Get(g), TimeOf(g));
    for (int t = 0; t < threads; ++t) next[t] = live / threads;
  }
  // kBase + g * TTL / live, in fixed point (no division in the timed loop).
  UnixMillis TimeOf(std::uint64_t g) const {
    return kBase + static_cast<UnixMillis>((g * ms_per_key_q32) >> 32);
  }
  Cache cache;
  std::size_t live;
  std::uint64_t ms_per_key_q32;  // TTL / live as a 32.32 fixed-point number
  std::vector<std::uint64_t> next;  // per thread: its next new key number
  std::vector<UnixMillis> offset;   // per thread: added to its time
};

// Threads keep their own time (from their own key numbers) and meet through
// `g_latest_time` every 256 checks: a thread that finds itself behind jumps
// forward. Without this, a thread descheduled for a while would, once back,
// insert keys at times all earlier than the shards' latest (which count as
// that latest time, so nothing expires) and grow the live set far past
// `live`. One relaxed load per 256 checks; the same for both caches.
std::atomic<UnixMillis> g_latest_time{0};

std::mutex g_context_mu;
std::string g_context_name;
std::shared_ptr<void> g_context;

template <typename Cache>
std::shared_ptr<Context<Cache>> GetContext(const std::string& name, std::size_t live,
                                           int threads) {
  std::lock_guard<std::mutex> lock(g_context_mu);
  if (g_context_name != name) {
    g_context.reset();  // free the previous benchmark's memory first
    Keys().Reserve(4 * live);
    g_context = std::make_shared<Context<Cache>>(live, threads);
    g_latest_time.store(0);
    g_context_name = name;
  }
  return std::static_pointer_cast<Context<Cache>>(g_context);
}


template <typename Cache>
void BM_Check(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  const int threads = state.threads();
  const int t = state.thread_index();
  auto context = GetContext<Cache>(
      std::string(Cache::kName) + "/" + std::to_string(live) + "/" + std::to_string(threads), live,
      threads);
  Cache& cache = context->cache;
  std::uint64_t s = context->next[t];
  UnixMillis offset = context->offset[t];
  std::uint32_t rng = static_cast<std::uint32_t>(t + 1) * 2654435761u;  // an LCG
  const std::uint64_t half_window = std::max<std::uint64_t>(1, live / (2 * threads));
  std::uint64_t first_seen = 0, duplicates = 0, full = 0, n = 0;
  // The next check's key is chosen one check ahead and prefetched, as if it
  // had just been parsed from a request: the key pool is far larger than the
  // CPU caches, and without this both caches would mostly wait for the pool.
  std::uint64_t next_g = s * threads + t;
  bool next_is_new = true;
  const long allocations_before = lifeline::testing::ThreadAllocations();
  for (auto _ : state) {
    const std::uint64_t g = next_g;
    const UnixMillis now = context->TimeOf(s * threads + t) + offset;
    if (next_is_new) ++s;
    // Alternately a new key and one of this thread's keys from the last
    // half TTL (a duplicate).
    next_is_new = !next_is_new;
    rng = rng * 1664525u + 1013904223u;
    const std::uint64_t back = (static_cast<std::uint64_t>(rng) * half_window) >> 32;  // [0, half)
    next_g = next_is_new ? s * threads + t : (s - 1 - back) * threads + t;
    __builtin_prefetch(Keys().Get(next_g).data());

    const DedupResult r = cache.Check(Keys().Get(g), now);
    first_seen += r == DedupResult::kFirstSeen;
    duplicates += r == DedupResult::kDuplicate;
    full += r == DedupResult::kFull;
    if (threads > 1 && (++n & 255) == 0) {
      const UnixMillis latest = g_latest_time.load(std::memory_order_relaxed);
      if (latest > now) {
        offset += latest - now;
      } else {
        g_latest_time.store(now, std::memory_order_relaxed);
      }
    }
  }
  const long allocations = lifeline::testing::ThreadAllocations() - allocations_before;
  context->next[t] = s;
  context->offset[t] = offset;
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs/check"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
  state.counters["dup%"] = benchmark::Counter(
      100.0 * static_cast<double>(duplicates), benchmark::Counter::kAvgIterations);
  state.counters["full"] = benchmark::Counter(static_cast<double>(full));
  state.SetLabel(Cache::kName);
  benchmark::DoNotOptimize(first_seen);
}

// The keyed hash alone (HighwayHash-128 as Check computes it), on the same
// 30-byte keys: the floor under Check.
void BM_DigestOf(benchmark::State& state) {
  Keys().Reserve(1024);
  lifeline::DedupCache::Options options;
  options.capacity = 16;
  auto cache = std::move(lifeline::DedupCache::Create(options)).value();
  std::uint64_t g = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cache->DigestOf(Keys().Get(g++ & 1023)));
  state.SetItemsProcessed(state.iterations());
}

// With --benchmark_repetitions, also report the fastest repetition: on a
// shared machine the minimum is the least disturbed run.
double Min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// Side by side: each size and thread count, lifeline first, then the baseline.
void Register() {
  for (int live : {60'000, 1'000'000}) {
    for (int threads : {1, 2}) {
      benchmark::RegisterBenchmark("BM_Check<lifeline::DedupCache>", BM_Check<LifelineCache>)
          ->Arg(live)
          ->Threads(threads)
          ->UseRealTime()
          ->ComputeStatistics("min", Min);
      benchmark::RegisterBenchmark("BM_Check<unordered_map+mutex>", BM_Check<MutexMapCache>)
          ->Arg(live)
          ->Threads(threads)
          ->UseRealTime()
          ->ComputeStatistics("min", Min);
    }
  }
  benchmark::RegisterBenchmark("BM_Check<loop only>", BM_Check<NoCache>)
      ->Arg(60'000)
      ->UseRealTime()
      ->ComputeStatistics("min", Min);
  benchmark::RegisterBenchmark("BM_DigestOf/30B", BM_DigestOf)
      ->ComputeStatistics("min", Min);
}

}  // namespace

int main(int argc, char** argv) {
  Register();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
