// libFuzzer target for RateLimiter: the input is a script of operations
// (time steps, pauses, acquisitions, including time going backwards). After
// every grant the sliding-window rule is checked by brute force over the
// limiter's own timeline, and every refusal must be justified.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "lifeline/rate_limiter.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::int64_t n = 1 + data[0] % 8;
  const std::int64_t period = 1 + data[1] % 64;
  auto created = lifeline::RateLimiter::Create(n, period);
  if (!created.ok()) std::abort();
  lifeline::RateLimiter& rl = **created;
  std::vector<std::int64_t> grants;  // in the limiter's timeline
  std::int64_t now = 0, latest = INT64_MIN, paused = INT64_MIN;
  for (std::size_t i = 2; i < size; ++i) {
    const std::uint8_t op = data[i];
    switch (op >> 6) {
      case 0: now += op & 0x3f; break;                       // forward
      case 1: now -= op & 0x0f; break;                       // a stale reader
      case 2: rl.PauseUntil(now + (op & 0x3f));
              paused = std::max(paused, now + (op & 0x3f)); break;
      default: break;                                        // acquire only
    }
    auto d = rl.TryAcquire(now);
    latest = std::max(latest, now);
    const std::int64_t t = latest;
    const auto in_window = std::count_if(grants.begin(), grants.end(),
                                         [&](std::int64_t g) { return g > t - period; });
    if (d.allowed) {
      if (t < paused || in_window >= n || d.retry_in != 0) std::abort();
      grants.push_back(t);
    } else {
      if (!(t < paused || in_window == n) || d.retry_in < 1) std::abort();
    }
  }
  return 0;
}
