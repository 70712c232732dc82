// RateLimiter and KeyedRateLimiter: exactness checked by brute force over
// random request patterns, exact retry_in, pauses, racing threads, bounded
// keys, and no allocation on the hot path.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/rate_limiter.hpp"
#include "support/allocation_counter.hpp"

using lifeline::DurationMillis;
using lifeline::KeyedRateLimiter;
using lifeline::RateLimiter;
using lifeline::UnixMillis;
using lifeline::testing::ThreadAllocations;


namespace {

std::unique_ptr<RateLimiter> Make(std::int64_t n, DurationMillis period) {
  auto r = RateLimiter::Create(n, period);
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::unique_ptr<KeyedRateLimiter> MakeKeyed(std::int64_t n, DurationMillis period,
                                            std::size_t max_keys) {
  auto r = KeyedRateLimiter::Create(n, period, max_keys);
  REQUIRE(r.ok());
  return std::move(r).value();
}

// Grants in the window of `period` ms ending at t: (t - period, t].
std::int64_t GrantsInWindow(const std::vector<UnixMillis>& grants, UnixMillis t,
                            DurationMillis period) {
  return std::count_if(grants.begin(), grants.end(),
                       [&](UnixMillis g) { return g > t - period && g <= t; });
}

// Every window [s, s + period) holds at most n grants (grants sorted).
bool SlidingWindowHolds(const std::vector<UnixMillis>& grants, std::int64_t n,
                        DurationMillis period) {
  for (std::size_t i = 0; i + n < grants.size(); ++i) {
    if (grants[i + n] - grants[i] < period) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("N grants at once, then nothing until the first one leaves the window") {
  auto rl = Make(3, 1000);
  for (int i = 0; i < 3; ++i) {
    auto d = rl->TryAcquire(0);
    CHECK(d.allowed);
    CHECK(d.retry_in == 0);
  }
  auto d = rl->TryAcquire(0);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 1000);
  d = rl->TryAcquire(999);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 1);
  CHECK(rl->TryAcquire(1000).allowed);
  CHECK(rl->TryAcquire(1000).allowed);
  CHECK(rl->TryAcquire(1000).allowed);
  d = rl->TryAcquire(1000);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 1000);
}

TEST_CASE("A burst at a window edge cannot be followed by another at the next edge") {
  // A fixed-window counter would allow 3 at 999 and 3 more at 1000.
  auto rl = Make(3, 1000);
  for (int i = 0; i < 3; ++i) REQUIRE(rl->TryAcquire(999).allowed);
  auto d = rl->TryAcquire(1000);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 999);
  CHECK_FALSE(rl->TryAcquire(1998).allowed);
  CHECK(rl->TryAcquire(1999).allowed);
}

TEST_CASE("A GCRA-style refill does not sneak in: spread grants expire one by one") {
  // 2 per 100 ms: grants at 0 and 50; the next is possible at 100, then 150.
  auto rl = Make(2, 100);
  CHECK(rl->TryAcquire(0).allowed);
  CHECK(rl->TryAcquire(50).allowed);
  CHECK(rl->TryAcquire(60).retry_in == 40);
  CHECK(rl->TryAcquire(100).allowed);
  auto d = rl->TryAcquire(100);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 50);
  CHECK(rl->TryAcquire(150).allowed);
}

TEST_CASE("Exact over random bursts and gaps: brute force over 500 seeds") {
  int probes = 0;
  for (std::uint32_t seed = 0; seed < 500; ++seed) {
    std::mt19937_64 rng(seed);
    const std::int64_t n = std::uniform_int_distribution<std::int64_t>(1, 12)(rng);
    const DurationMillis period = std::uniform_int_distribution<DurationMillis>(1, 300)(rng);
    auto rl = Make(n, period);
    std::vector<UnixMillis> grants;
    UnixMillis paused_until = INT64_MIN;
    UnixMillis t = std::uniform_int_distribution<UnixMillis>(-5000, 5000)(rng);
    for (int step = 0; step < 600; ++step) {
      // Bursts (0 gap), short gaps around the period/n rhythm, long pauses.
      switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
        case 0: case 1: case 2: break;
        case 3: case 4: case 5: t += std::uniform_int_distribution<DurationMillis>(1, period / n + 1)(rng); break;
        case 6: case 7: t += std::uniform_int_distribution<DurationMillis>(1, period)(rng); break;
        case 8: t += std::uniform_int_distribution<DurationMillis>(period, 3 * period)(rng); break;
        case 9:
          if (std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
            const UnixMillis until = t + std::uniform_int_distribution<DurationMillis>(0, 2 * period)(rng);
            rl->PauseUntil(until);
            paused_until = std::max(paused_until, until);
          }
          break;
      }
      auto d = rl->TryAcquire(t);
      const std::int64_t in_window = GrantsInWindow(grants, t, period);
      INFO("seed " << seed << " n " << n << " period " << period << " t " << t);
      if (d.allowed) {
        REQUIRE(t >= paused_until);
        REQUIRE(in_window < n);
        REQUIRE(d.retry_in == 0);
        grants.push_back(t);
      } else {
        // Refused only when it had to be: paused, or n grants in the window.
        REQUIRE((t < paused_until || in_window == n));
        REQUIRE(d.retry_in >= 1);
        if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
          // retry_in is exact: refused 1 ms before, granted at it.
          const UnixMillis at = t + d.retry_in;
          auto early = rl->TryAcquire(at - 1);
          REQUIRE_FALSE(early.allowed);
          REQUIRE(early.retry_in == 1);
          auto on_time = rl->TryAcquire(at);
          REQUIRE(on_time.allowed);
          REQUIRE(GrantsInWindow(grants, at, period) < n);
          REQUIRE(at >= paused_until);
          grants.push_back(at);
          t = at;
          ++probes;
        }
      }
    }
    REQUIRE(SlidingWindowHolds(grants, n, period));
  }
  CHECK(probes > 1000);
}

TEST_CASE("The callback API's 500 per minute, driven for an hour at 20 requests a second") {
  auto rl = Make(500, 60000);
  std::vector<UnixMillis> grants;
  for (UnixMillis t = 0; t < 3600000; t += 50) {
    if (rl->TryAcquire(t).allowed) grants.push_back(t);
  }
  CHECK(SlidingWindowHolds(grants, 500, 60000));
  // Greedy and exact: the first 500 go in the first 25 s, then 500 a minute.
  CHECK(grants.size() == 500 * 60);
  CHECK(grants[499] == 24950);
  CHECK(grants[500] == 60000);
}

TEST_CASE("PauseUntil grants nothing before t, grants before it still count") {
  auto rl = Make(5, 1000);
  CHECK(rl->TryAcquire(0).allowed);
  CHECK(rl->TryAcquire(0).allowed);
  rl->PauseUntil(500);
  CHECK(rl->paused_until() == 500);
  auto d = rl->TryAcquire(100);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 400);
  d = rl->TryAcquire(499);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 1);
  rl->PauseUntil(200);  // earlier: no change
  CHECK(rl->paused_until() == 500);
  CHECK(rl->TryAcquire(500).allowed);
  CHECK(rl->TryAcquire(500).allowed);
  CHECK(rl->TryAcquire(500).allowed);
  d = rl->TryAcquire(500);  // 5 in (-500, 500]
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 500);
}

TEST_CASE("When the window is also full at the end of a pause, retry_in covers both") {
  auto rl = Make(2, 1000);
  CHECK(rl->TryAcquire(0).allowed);
  CHECK(rl->TryAcquire(0).allowed);
  rl->PauseUntil(300);
  auto d = rl->TryAcquire(100);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 900);  // the window, not the pause, ends last
  rl->PauseUntil(1500);
  d = rl->TryAcquire(100);
  CHECK(d.retry_in == 1400);
  CHECK_FALSE(rl->TryAcquire(1499).allowed);
  CHECK(rl->TryAcquire(1500).allowed);
}

TEST_CASE("A time older than one already seen is treated as the latest") {
  auto rl = Make(1, 1000);
  CHECK(rl->TryAcquire(5000).allowed);
  auto d = rl->TryAcquire(4500);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 1500);  // counted from the caller's own now
  // A refusal at a later time moves the limiter's clock too.
  auto rl2 = Make(2, 100);
  CHECK(rl2->TryAcquire(0).allowed);
  CHECK(rl2->TryAcquire(50).allowed);
  CHECK_FALSE(rl2->TryAcquire(90).allowed);
  CHECK(rl2->TryAcquire(100).allowed);   // 0 left the window
  CHECK_FALSE(rl2->TryAcquire(10).allowed);  // read as 100: 50 and 100 inside
}

TEST_CASE("Coalescing keeps the log within min(N, period) entries") {
  // 10000 per 10 ms: at most 10 distinct milliseconds in a window.
  auto rl = Make(10000, 10);
  std::int64_t granted = 0;
  for (UnixMillis t = 0; t < 1000; ++t) {
    for (int i = 0; i < 2000; ++i) granted += rl->TryAcquire(t).allowed ? 1 : 0;
  }
  CHECK(granted == 10000 * 100);
  // 3 per 1 ms: one entry.
  auto tiny = Make(3, 1);
  std::int64_t g = 0;
  for (UnixMillis t = 0; t < 100; ++t) {
    for (int i = 0; i < 5; ++i) g += tiny->TryAcquire(t).allowed ? 1 : 0;
  }
  CHECK(g == 300);
}

TEST_CASE("Extreme times saturate instead of overflowing") {
  auto rl = Make(1, 1000);
  CHECK(rl->TryAcquire(INT64_MAX - 10).allowed);
  auto d = rl->TryAcquire(INT64_MAX - 10);
  CHECK_FALSE(d.allowed);
  CHECK(d.retry_in == 10);  // saturated at INT64_MAX
  auto low = Make(1, 1000);
  CHECK(low->TryAcquire(INT64_MIN).allowed);
  CHECK(low->TryAcquire(INT64_MIN + 999).retry_in == 1);
  CHECK(low->TryAcquire(INT64_MIN + 1000).allowed);
}

TEST_CASE("TryAcquire never allocates") {
  auto rl = Make(500, 60000);
  auto keyed = MakeKeyed(50, 1000, 16);
  REQUIRE(keyed->TryAcquire("carrier-a", 0).ok());
  const long before = ThreadAllocations();
  for (UnixMillis t = 0; t < 200000; t += 7) {
    (void)rl->TryAcquire(t);
    (void)keyed->TryAcquire("carrier-a", t);
  }
  rl->PauseUntil(300000);
  (void)rl->TryAcquire(250000);
  CHECK(ThreadAllocations() == before);
}

TEST_CASE("Racing threads never over-grant in total") {
  // Phases at fixed times: whatever the interleaving, the greedy limiter
  // grants exactly what a single thread would.
  auto rl = Make(1000, 1000);
  auto reference = Make(1000, 1000);
  lifeline::ManualClock clock(0);
  for (int phase = 0; phase < 6; ++phase) {
    const UnixMillis now = clock.Advance(phase == 0 ? 0 : 400);
    std::atomic<std::int64_t> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        std::int64_t mine = 0;
        for (int i = 0; i < 800; ++i) mine += rl->TryAcquire(clock.Now()).allowed ? 1 : 0;
        granted += mine;
      });
    }
    for (auto& th : threads) th.join();
    std::int64_t expected = 0;
    for (int i = 0; i < 3200; ++i) expected += reference->TryAcquire(now).allowed ? 1 : 0;
    INFO("phase " << phase);
    CHECK(granted.load() == expected);
  }
  // And while another thread moves the clock forward under them, the total
  // never exceeds what the elapsed time allows.
  auto live = Make(100, 100);
  lifeline::ManualClock moving(0);
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      std::int64_t mine = 0;
      while (!stop.load()) mine += live->TryAcquire(moving.Now()).allowed ? 1 : 0;
      total += mine;
    });
  }
  for (int i = 0; i < 2000; ++i) {
    moving.Advance(1);
    std::this_thread::yield();
  }
  stop = true;
  for (auto& th : threads) th.join();
  // Times 0..2000 span 21 windows of 100 ms: at most 100 per window.
  CHECK(total.load() <= 100 * 21);
  CHECK(total.load() > 0);
}

TEST_CASE("RateLimiter::Validate names the argument") {
  CHECK(RateLimiter::Validate(0, 1000).message() == "requests must be >= 1 (got 0)");
  CHECK(RateLimiter::Validate(-5, 1000).message() == "requests must be >= 1 (got -5)");
  CHECK(RateLimiter::Validate(1, 0).message() == "period_ms must be >= 1 (got 0)");
  CHECK(RateLimiter::Validate(int64_t{1} << 21, int64_t{1} << 21).message().rfind(
            "requests and period_ms are both above 1048576", 0) == 0);
  CHECK(RateLimiter::Validate(int64_t{1} << 40, 1000).ok());  // the ring is min(N, period)
  CHECK(RateLimiter::Validate(1, int64_t{1} << 40).ok());
  CHECK(RateLimiter::Create(0, 1).status().code() == lifeline::StatusCode::kInvalidArgument);
  CHECK(KeyedRateLimiter::Create(1, 1, 0).status().message() == "max_keys must be >= 1");
  CHECK(KeyedRateLimiter::Create(1, 0, 5).status().message() == "period_ms must be >= 1 (got 0)");
}

TEST_CASE("KeyedRateLimiter keeps one exact limit per key") {
  auto k = MakeKeyed(2, 1000, 100);
  for (const char* key : {"genesys", "cxone", "webhook"}) {
    CHECK(k->TryAcquire(key, 0)->allowed);
    CHECK(k->TryAcquire(key, 10)->allowed);
    auto d = k->TryAcquire(key, 20);
    REQUIRE(d.ok());
    CHECK_FALSE(d->allowed);
    CHECK(d->retry_in == 980);
  }
  CHECK(k->size() == 3);
  REQUIRE(k->PauseUntil("cxone", 5000).ok());
  CHECK(k->TryAcquire("genesys", 1000)->allowed);
  auto d = k->TryAcquire("cxone", 1000);
  CHECK_FALSE(d->allowed);
  CHECK(d->retry_in == 4000);
  CHECK(k->TryAcquire(std::string("webhook"), 1010)->allowed);
}

TEST_CASE("A full key table drops only idle limiters, else answers kFull") {
  auto k = MakeKeyed(1, 1000, 2);
  CHECK(k->TryAcquire("a", 0)->allowed);
  CHECK(k->TryAcquire("b", 100)->allowed);
  auto full = k->TryAcquire("c", 500);
  REQUIRE_FALSE(full.ok());
  CHECK(full.status().code() == lifeline::StatusCode::kFull);
  CHECK(full.status().message() == "the table holds max_keys (2) keys and none is idle");
  CHECK_FALSE(k->PauseUntil("c", 9000).ok());
  // At 1000, "a" has no grant in (0, 1000]: it is dropped for "c".
  CHECK(k->TryAcquire("c", 1000)->allowed);
  CHECK(k->size() == 2);
  // "b" is still live and keeps its limit.
  auto b = k->TryAcquire("b", 1000);
  CHECK_FALSE(b->allowed);
  CHECK(b->retry_in == 100);
  // A paused key is not idle even without grants.
  CHECK_FALSE(k->TryAcquire("a", 1050).ok());
  CHECK(k->TryAcquire("a", 1100).ok());  // "b" idle now
  // Now "c" (last grant 1000) and "a" (1100). Pause "a" well past its window.
  REQUIRE(k->PauseUntil("a", 50000).ok());
  CHECK(k->TryAcquire("d", 40000)->allowed);  // "c" is idle and dropped
  auto e = k->TryAcquire("e", 40000);          // "a" is paused, "d" live
  CHECK(e.status().code() == lifeline::StatusCode::kFull);
  CHECK(k->TryAcquire("e", 50000)->allowed);  // the pause is over: "a", "d" dropped
  CHECK(k->size() == 1);
  auto a = k->TryAcquire("a", 50000);         // "a" was dropped: a fresh limit
  CHECK(a.status().code() == lifeline::StatusCode::kOk);
  CHECK(a->allowed);
  CHECK(k->size() == 2);
}

TEST_CASE("A dropped key behaves exactly as if it had been kept") {
  // Same request stream into a keyed limiter with a tiny table and into
  // unbounded per-key limiters: identical answers whenever the table has room.
  std::mt19937_64 rng(7);
  auto keyed = MakeKeyed(3, 200, 4);
  std::vector<std::unique_ptr<RateLimiter>> reference;
  for (int i = 0; i < 6; ++i) reference.push_back(Make(3, 200));
  UnixMillis t = 0;
  int compared = 0, full = 0;
  for (int step = 0; step < 20000; ++step) {
    t += std::uniform_int_distribution<DurationMillis>(0, 30)(rng);
    const int key = std::uniform_int_distribution<int>(0, 5)(rng);
    auto got = keyed->TryAcquire("key-" + std::to_string(key), t);
    if (!got.ok()) {
      REQUIRE(got.status().code() == lifeline::StatusCode::kFull);
      ++full;
      continue;
    }
    auto want = reference[key]->TryAcquire(t);
    REQUIRE(got->allowed == want.allowed);
    REQUIRE(got->retry_in == want.retry_in);
    ++compared;
  }
  CHECK(compared > 1000);
  CHECK(full > 0);
  CHECK(keyed->size() <= 4);
}
