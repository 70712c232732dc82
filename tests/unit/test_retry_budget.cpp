// RetryBudget: gRPC retry throttling; a surge of failures cannot exceed the
// ratio.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "lifeline/retry_budget.hpp"

using lifeline::RetryBudget;

namespace {

std::unique_ptr<RetryBudget> Make(double max_tokens, double ratio) {
  auto b = RetryBudget::Create(max_tokens, ratio);
  REQUIRE(b.ok());
  return std::move(b).value();
}

}  // namespace

TEST_CASE("Tokens start full, fall by 1 per failure and rise by the ratio") {
  auto b = Make(10, 0.1);
  CHECK(b->tokens() == 10.0);
  CHECK(b->max_tokens() == 10.0);
  CHECK(b->token_ratio() == 0.1);
  CHECK(b->AllowRetry());
  for (int i = 0; i < 4; ++i) b->RecordFailure();
  CHECK(b->tokens() == 6.0);
  CHECK(b->AllowRetry());
  b->RecordFailure();
  CHECK(b->tokens() == 5.0);
  CHECK_FALSE(b->AllowRetry());  // 5 is not above 10 / 2
  b->RecordSuccess();
  CHECK(b->tokens() == 5.1);
  CHECK(b->AllowRetry());
  for (int i = 0; i < 100; ++i) b->RecordFailure();
  CHECK(b->tokens() == 0.0);  // floor
  for (int i = 0; i < 1000; ++i) b->RecordSuccess();
  CHECK(b->tokens() == 10.0);  // ceiling
}

TEST_CASE("Thousandths are exact: 0.29 is 290 milli-tokens, not 289") {
  auto b = Make(1, 0.29);
  b->RecordFailure();
  CHECK(b->tokens() == 0.0);
  b->RecordSuccess();
  b->RecordSuccess();
  CHECK(b->tokens() == 0.58);
  CHECK(b->AllowRetry());
}

TEST_CASE("A total outage lets through at most max_tokens / 2 retries") {
  for (double max_tokens : {1.0, 2.0, 3.0, 10.0, 10.5, 100.0}) {
    auto b = Make(max_tokens, 0.1);
    int retries = 0;
    for (int request = 0; request < 100000; ++request) {
      // Each request's attempts all fail; retry while the budget allows.
      for (int attempt = 0; attempt < 4; ++attempt) {
        b->RecordFailure();
        if (!b->AllowRetry()) break;
        ++retries;
      }
    }
    INFO("max_tokens " << max_tokens);
    CHECK(2.0 * retries < max_tokens);
    CHECK(2.0 * (retries + 1) >= max_tokens);  // and the bound is reached
  }
}

TEST_CASE("Under any mix, retries <= max_tokens / 2 + ratio * successes") {
  for (std::uint32_t seed = 0; seed < 200; ++seed) {
    std::mt19937 rng(seed);
    const double failure_rate = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const std::int64_t max_milli = std::uniform_int_distribution<std::int64_t>(1, 20000)(rng);
    const std::int64_t ratio_milli = std::uniform_int_distribution<std::int64_t>(1, 1000)(rng);
    if (ratio_milli > max_milli) continue;
    auto b = Make(max_milli / 1000.0, ratio_milli / 1000.0);
    std::bernoulli_distribution fails(failure_rate);
    std::int64_t retries = 0, successes = 0;
    for (int request = 0; request < 2000; ++request) {
      for (int attempt = 0; attempt < 4; ++attempt) {
        if (!fails(rng)) {
          b->RecordSuccess();
          ++successes;
          break;
        }
        b->RecordFailure();
        if (!b->AllowRetry()) break;
        ++retries;
      }
    }
    INFO("seed " << seed << " failure rate " << failure_rate);
    // In thousandths: 1000 * retries < max / 2 + ratio * successes.
    REQUIRE(2000 * retries < max_milli + 2 * ratio_milli * successes);
  }
}

TEST_CASE("Racing threads keep the count within [0, max_tokens] and lose no update") {
  auto b = Make(1000, 0.5);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&b, t] {
      for (int i = 0; i < 20000; ++i) {
        if (t % 2 == 0) b->RecordFailure(); else b->RecordSuccess();
        (void)b->AllowRetry();
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(b->tokens() >= 0.0);
  CHECK(b->tokens() <= 1000.0);

  // Without clamping (room on both sides), every update must count exactly.
  auto c = Make(1000, 1);
  for (int i = 0; i < 500; ++i) c->RecordFailure();  // 500 tokens
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 100; ++i) {
        if (t % 2 == 0) c->RecordFailure(); else c->RecordSuccess();
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(c->tokens() == 500.0);
}

TEST_CASE("RetryBudget::Validate names the argument") {
  CHECK(RetryBudget::Validate(10, 0.1).ok());
  CHECK(RetryBudget::Validate(0.001, 0.001).ok());
  CHECK(RetryBudget::Validate(1e6, 1).ok());
  const std::string bad_max = "max_tokens must be finite and in [0.001, 1000000]";
  const std::string bad_ratio = "token_ratio must be finite and in [0.001, max_tokens]";
  CHECK(RetryBudget::Validate(0, 0.1).message() == bad_max);
  CHECK(RetryBudget::Validate(-1, 0.1).message() == bad_max);
  CHECK(RetryBudget::Validate(0.0004, 0.1).message() == bad_max);
  CHECK(RetryBudget::Validate(1e6 + 1, 0.1).message() == bad_max);
  CHECK(RetryBudget::Validate(std::numeric_limits<double>::quiet_NaN(), 0.1).message() == bad_max);
  CHECK(RetryBudget::Validate(std::numeric_limits<double>::infinity(), 0.1).message() == bad_max);
  CHECK(RetryBudget::Validate(10, 0).message() == bad_ratio);
  CHECK(RetryBudget::Validate(10, 0.0004).message() == bad_ratio);
  CHECK(RetryBudget::Validate(10, 11).message() == bad_ratio);
  CHECK(RetryBudget::Validate(10, std::numeric_limits<double>::quiet_NaN()).message() ==
        bad_ratio);
  CHECK(RetryBudget::Create(0, 1).status().code() == lifeline::StatusCode::kInvalidArgument);
}
