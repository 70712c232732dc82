#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "lifeline/clock.hpp"

using lifeline::ManualClock;
using lifeline::SystemClock;

TEST_CASE("ManualClock moves only when told, and never backwards") {
  ManualClock clock(1000);
  CHECK(clock.Now() == 1000);
  CHECK(clock.Advance(250) == 1250);
  CHECK(clock.Now() == 1250);
  CHECK_FALSE(clock.Set(1249));
  CHECK(clock.Now() == 1250);
  CHECK(clock.Set(1250));
  CHECK(clock.Set(5000));
  CHECK(clock.Now() == 5000);
  CHECK(clock.Advance(-10) == 5000);
}

TEST_CASE("ManualClock advanced from several threads adds every step") {
  ManualClock clock(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) clock.Advance(1);
    });
  for (auto& th : threads) th.join();
  CHECK(clock.Now() == 40000);
}

TEST_CASE("SystemClock is monotonic and close to the wall clock") {
  SystemClock clock;
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  auto a = clock.Now();
  CHECK(std::llabs(a - wall) < 1000);
  for (int i = 0; i < 1000; ++i) {
    auto b = clock.Now();
    REQUIRE(b >= a);
    a = b;
  }
}
