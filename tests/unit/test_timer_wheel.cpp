#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "lifeline/timer_wheel.hpp"

using lifeline::kNoTimer;
using lifeline::TimerId;
using lifeline::TimerWheel;
using lifeline::UnixMillis;

namespace {

struct Fired {
  uint64_t tag;
  UnixMillis expiry;
  bool operator==(const Fired& o) const { return tag == o.tag && expiry == o.expiry; }
};

std::vector<Fired> AdvanceTo(TimerWheel& wheel, UnixMillis now) {
  std::vector<Fired> out;
  wheel.Advance(now, [&](TimerId, uint64_t tag, UnixMillis at) { out.push_back({tag, at}); });
  return out;
}

constexpr UnixMillis kT0 = 1'772'951'520'000;  // 2026-03-08T06:32:00Z

}  // namespace

TEST_CASE("TimerWheel fires a timer exactly at its expiry, not before") {
  TimerWheel wheel(kT0);
  TimerId id = wheel.Start(kT0 + 90'000, 7);
  CHECK(id != kNoTimer);
  CHECK(wheel.size() == 1);
  CHECK(wheel.NextDeadline() == kT0 + 90'000);
  CHECK(AdvanceTo(wheel, kT0 + 89'999).empty());
  CHECK(wheel.IsPending(id));
  auto fired = AdvanceTo(wheel, kT0 + 90'000);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0] == Fired{7, kT0 + 90'000});
  CHECK(wheel.empty());
  CHECK_FALSE(wheel.NextDeadline().has_value());
  CHECK_FALSE(wheel.IsPending(id));
}

TEST_CASE("TimerWheel cancel is a no-op on fired, cancelled and unknown ids") {
  TimerWheel wheel(kT0);
  TimerId a = wheel.Start(kT0 + 10, 1);
  TimerId b = wheel.Start(kT0 + 20, 2);
  CHECK(wheel.Cancel(a));
  CHECK_FALSE(wheel.Cancel(a));  // twice
  CHECK_FALSE(wheel.Cancel(kNoTimer));
  CHECK_FALSE(wheel.Cancel(0xdeadbeef12345ull));
  auto fired = AdvanceTo(wheel, kT0 + 100);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].tag == 2);
  CHECK_FALSE(wheel.Cancel(b));  // already fired
  // The freed slot is reused with a new generation: the old id stays dead.
  TimerId c = wheel.Start(kT0 + 500, 3);
  CHECK_FALSE(wheel.Cancel(a));
  CHECK_FALSE(wheel.Cancel(b));
  CHECK(wheel.IsPending(c));
  CHECK(wheel.size() == 1);
}

TEST_CASE("TimerWheel fires a batch in expiry order, ties in start order") {
  TimerWheel wheel(kT0);
  wheel.Start(kT0 + 3'600'000, 5);  // one hour: a high level
  wheel.Start(kT0 + 15'000, 2);
  wheel.Start(kT0 + 15'000, 3);
  wheel.Start(kT0 + 1, 1);
  wheel.Start(kT0 + 120'000, 4);
  auto fired = AdvanceTo(wheel, kT0 + 4'000'000);  // one big jump
  REQUIRE(fired.size() == 5);
  std::vector<uint64_t> tags;
  for (auto& f : fired) tags.push_back(f.tag);
  CHECK(tags == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK(fired[4].expiry == kT0 + 3'600'000);
}

TEST_CASE("TimerWheel fires past-due starts at the next Advance") {
  TimerWheel wheel(kT0);
  wheel.Start(kT0 - 5'000, 9);
  CHECK(wheel.NextDeadline() == kT0 - 5'000);
  auto fired = AdvanceTo(wheel, kT0);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0] == Fired{9, kT0 - 5'000});
}

TEST_CASE("TimerWheel callbacks may start, cancel and chain timers") {
  TimerWheel wheel(kT0);
  TimerId victim = wheel.Start(kT0 + 100, 2);
  wheel.Start(kT0 + 100, 1);  // same expiry, started later: fires after victim
  TimerId first = wheel.Start(kT0 + 50, 0);
  (void)first;
  std::vector<uint64_t> order;
  wheel.Advance(kT0 + 100, [&](TimerId, uint64_t tag, UnixMillis) {
    order.push_back(tag);
    if (tag == 0) {
      CHECK(wheel.Cancel(victim));         // cancel a member of the same batch
      wheel.Start(kT0 + 60, 10);           // already due: fires in this Advance, after the batch
      wheel.Start(kT0 + 1'000, 11);        // future: stays
    }
  });
  CHECK(order == std::vector<uint64_t>{0, 1, 10});
  CHECK(wheel.size() == 1);
  CHECK(wheel.NextDeadline() == kT0 + 1'000);
}

TEST_CASE("TimerWheel time never goes back") {
  TimerWheel wheel(kT0);
  wheel.Start(kT0 + 10, 1);
  CHECK(AdvanceTo(wheel, kT0 + 20).size() == 1);
  CHECK(AdvanceTo(wheel, kT0 - 1'000).empty());
  CHECK(wheel.now() == kT0 + 20);
}

TEST_CASE("TimerWheel NextDeadline is exact across levels after partial advances") {
  TimerWheel wheel(kT0);
  TimerId far = wheel.Start(kT0 + 86'400'000, 1);  // a day
  wheel.Start(kT0 + 300'000, 2);
  CHECK(wheel.NextDeadline() == kT0 + 300'000);
  CHECK(AdvanceTo(wheel, kT0 + 299'999).empty());
  CHECK(wheel.NextDeadline() == kT0 + 300'000);
  CHECK(AdvanceTo(wheel, kT0 + 300'000).size() == 1);
  CHECK(wheel.NextDeadline() == kT0 + 86'400'000);
  CHECK(wheel.ExpiryOf(far) == kT0 + 86'400'000);
  CHECK(wheel.Cancel(far));
  CHECK_FALSE(wheel.NextDeadline().has_value());
}

TEST_CASE("TimerWheel matches a reference model under random operations") {
  std::mt19937_64 rng(20260308);
  TimerWheel wheel(kT0);
  // Reference: (expiry, seq) -> (tag, id)
  std::map<std::pair<UnixMillis, uint64_t>, std::pair<uint64_t, TimerId>> model;
  std::map<TimerId, std::pair<UnixMillis, uint64_t>> live;
  UnixMillis now = kT0;
  uint64_t seq = 0;
  const UnixMillis spans[] = {5, 70, 5'000, 300'000, 7'200'000, 200'000'000};
  for (int step = 0; step < 20'000; ++step) {
    int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      UnixMillis span = spans[rng() % 6];
      UnixMillis expiry = now + static_cast<UnixMillis>(rng() % span) - (rng() % 50 == 0 ? 10 : 0);
      TimerId id = wheel.Start(expiry, seq);
      model[{expiry, seq}] = {seq, id};
      live[id] = {expiry, seq};
      ++seq;
    } else if (op < 8 && !live.empty()) {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      REQUIRE(wheel.Cancel(it->first));
      model.erase({it->second.first, it->second.second});
      live.erase(it);
    } else {
      now += static_cast<UnixMillis>(rng() % (rng() % 4 == 0 ? 400'000 : 2'000));
      std::vector<Fired> expected;
      while (!model.empty() && model.begin()->first.first <= now) {
        expected.push_back({model.begin()->second.first, model.begin()->first.first});
        live.erase(model.begin()->second.second);
        model.erase(model.begin());
      }
      auto fired = AdvanceTo(wheel, now);
      REQUIRE(fired == expected);
    }
    REQUIRE(wheel.size() == model.size());
    if (model.empty()) {
      REQUIRE_FALSE(wheel.NextDeadline().has_value());
    } else {
      REQUIRE(wheel.NextDeadline() == model.begin()->first.first);
    }
  }
}
