// Time normalisation benchmarks.
//
// The issue's target: local-to-UTC no slower than calling date::zoned_time
// directly, at most 100 ns, no allocation. Both sides convert the same
// wall-clock fields (LocalDateTime) in the same zone, already looked up;
// the baseline builds date::local_seconds from the fields and constructs a
// zoned_time with date::choose::earliest. Every benchmark reports
// allocs_per_op, counted by tests/support/allocation_counter.hpp.
//
// Run: build/bench/tests/bench/bench_time --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <date/date.h>
#include <date/tz.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "lifeline/business_hours.hpp"
#include "lifeline/lifeline.h"
#include "lifeline/rfc3339.hpp"
#include "lifeline/time_zone.hpp"
#include "support/allocation_counter.hpp"

namespace {

constexpr const char* kZone = "America/New_York";

// 256 wall times spread over 2026 (a few fall in the March gap or the
// November overlap, as real requests would), the same for every benchmark.
std::vector<lifeline::LocalDateTime> Inputs(int year) {
  std::vector<lifeline::LocalDateTime> v;
  std::uint32_t x = 12345;
  for (int i = 0; i < 256; ++i) {
    x = x * 1103515245u + 12345u;
    lifeline::LocalDateTime l;
    l.year = year;
    l.month = 1 + static_cast<int>((x >> 8) % 12);
    l.day = 1 + static_cast<int>((x >> 12) % 28);
    l.hour = static_cast<int>((x >> 4) % 24);
    l.minute = static_cast<int>((x >> 16) % 60);
    l.second = static_cast<int>((x >> 20) % 60);
    v.push_back(l);
  }
  return v;
}

class AllocationCounter {
 public:
  explicit AllocationCounter(benchmark::State& state)
      : state_(state), start_(lifeline::testing::ThreadAllocations()) {}
  ~AllocationCounter() {
    const double n = static_cast<double>(lifeline::testing::ThreadAllocations() - start_);
    state_.counters["allocs_per_op"] =
        benchmark::Counter(n, benchmark::Counter::kAvgIterations);
  }

 private:
  benchmark::State& state_;
  long start_;
};

void BM_LocalToUtc_Lifeline(benchmark::State& state, int year) {
  const lifeline::TimeZone* zone = *lifeline::FindTimeZone(kZone);
  const std::vector<lifeline::LocalDateTime> inputs = Inputs(year);
  std::size_t i = 0;
  AllocationCounter count(state);
  for (auto _ : state) {
    auto r = lifeline::LocalToUtc(*zone, inputs[i++ & 255], lifeline::GapPolicy::kShiftForward,
                                  lifeline::OverlapPolicy::kEarliest);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK_CAPTURE(BM_LocalToUtc_Lifeline, y2026, 2026);
BENCHMARK_CAPTURE(BM_LocalToUtc_Lifeline, y2045_posix_rule, 2045);

void BM_LocalToUtc_DateZonedTime(benchmark::State& state, int year) {
  const date::time_zone* zone = date::locate_zone(kZone);
  const std::vector<lifeline::LocalDateTime> inputs = Inputs(year);
  std::size_t i = 0;
  AllocationCounter count(state);
  for (auto _ : state) {
    const lifeline::LocalDateTime& l = inputs[i++ & 255];
    const date::local_seconds local =
        date::local_days{date::year{l.year} / static_cast<unsigned>(l.month) /
                         static_cast<unsigned>(l.day)} +
        std::chrono::hours{l.hour} + std::chrono::minutes{l.minute} +
        std::chrono::seconds{l.second};
    date::zoned_time<std::chrono::seconds> zt(zone, local, date::choose::earliest);
    benchmark::DoNotOptimize(zt.get_sys_time());
  }
}
BENCHMARK_CAPTURE(BM_LocalToUtc_DateZonedTime, y2026, 2026);
BENCHMARK_CAPTURE(BM_LocalToUtc_DateZonedTime, y2045, 2045);

// The whole C entry point: UTF-8 checks, text parsing, cached zone lookup.
void BM_LocalToUtc_CApi(benchmark::State& state) {
  const char* texts[] = {"2026-03-08T02:30", "2026-07-01T12:00:00", "2026-11-01T01:30",
                         "2026-12-24T19:45:10"};
  std::size_t i = 0;
  AllocationCounter count(state);
  for (auto _ : state) {
    int64_t ms = 0;
    int kind = 0;
    lifeline_status s = lifeline_local_to_utc(texts[i++ & 3], kZone, LIFELINE_GAP_SHIFT_FORWARD,
                                              LIFELINE_OVERLAP_EARLIEST, &ms, &kind);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(ms);
  }
}
BENCHMARK(BM_LocalToUtc_CApi);

std::vector<lifeline::UnixMillis> Instants() {
  std::vector<lifeline::UnixMillis> v;
  std::uint64_t x = 987654321;
  for (int i = 0; i < 256; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    v.push_back(1767225600000 + static_cast<lifeline::UnixMillis>((x >> 20) % 31536000000ull));
  }
  return v;
}

void BM_UtcToLocal_Lifeline(benchmark::State& state) {
  const lifeline::TimeZone* zone = *lifeline::FindTimeZone(kZone);
  const std::vector<lifeline::UnixMillis> inputs = Instants();
  std::size_t i = 0;
  AllocationCounter count(state);
  for (auto _ : state) {
    auto r = lifeline::UtcToLocal(*zone, inputs[i++ & 255]);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_UtcToLocal_Lifeline);

void BM_UtcToLocal_DateZonedTime(benchmark::State& state) {
  const date::time_zone* zone = date::locate_zone(kZone);
  const std::vector<lifeline::UnixMillis> inputs = Instants();
  std::size_t i = 0;
  AllocationCounter count(state);
  for (auto _ : state) {
    const date::sys_time<std::chrono::milliseconds> t{std::chrono::milliseconds{inputs[i++ & 255]}};
    date::zoned_time<std::chrono::milliseconds> zt(zone, t);
    const date::sys_info info = zt.get_info();
    benchmark::DoNotOptimize(zt.get_local_time());
    benchmark::DoNotOptimize(info.abbrev.data());
  }
}
BENCHMARK(BM_UtcToLocal_DateZonedTime);

void BM_FindTimeZone_Cached(benchmark::State& state) {
  (void)lifeline::FindTimeZone(kZone);
  AllocationCounter count(state);
  for (auto _ : state) {
    auto z = lifeline::FindTimeZone(kZone);
    benchmark::DoNotOptimize(z);
  }
}
BENCHMARK(BM_FindTimeZone_Cached);

void BM_ParseRfc3339(benchmark::State& state) {
  const char* texts[] = {"2026-03-08T02:30:00-05:00", "2026-03-08T07:30:00.123Z",
                         "1969-12-31T23:59:59.999999999+01:00", "2016-12-31T23:59:60Z"};
  std::size_t i = 0;
  AllocationCounter count(state);
  for (auto _ : state) {
    auto r = lifeline::ParseRfc3339(texts[i++ & 3]);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseRfc3339);

void BM_FormatRfc3339(benchmark::State& state) {
  const std::vector<lifeline::UnixMillis> inputs = Instants();
  std::size_t i = 0;
  char out[lifeline::kRfc3339BufferSize];
  AllocationCounter count(state);
  for (auto _ : state) {
    lifeline::Status s = lifeline::FormatRfc3339(inputs[i++ & 255], out);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_FormatRfc3339);

// Baseline for the formatter: date's own streaming format of the same form.
void BM_FormatRfc3339_DateFormat(benchmark::State& state) {
  const std::vector<lifeline::UnixMillis> inputs = Instants();
  std::size_t i = 0;
  AllocationCounter count(state);
  for (auto _ : state) {
    const date::sys_time<std::chrono::milliseconds> t{std::chrono::milliseconds{inputs[i++ & 255]}};
    std::string s = date::format("%FT%TZ", t);
    benchmark::DoNotOptimize(s.data());
  }
}
BENCHMARK(BM_FormatRfc3339_DateFormat);

// Mon-Fri 08:00-20:00 New York with holidays: NextOpen from instants spread
// over 2026 (some open, most a few hours or a weekend away from opening).
void BM_BusinessHours_NextOpen(benchmark::State& state) {
  auto hours = lifeline::BusinessHours::FromJson(
      R"({"timeZone":"America/New_York","weekly":{"mon":[["08:00","20:00"]],)"
      R"("tue":[["08:00","20:00"]],"wed":[["08:00","20:00"]],"thu":[["08:00","20:00"]],)"
      R"("fri":[["08:00","20:00"]]},"holidays":["2026-07-03","2026-12-25","2027-01-01"]})");
  const std::vector<lifeline::UnixMillis> inputs = Instants();
  std::size_t i = 0;
  AllocationCounter count(state);
  for (auto _ : state) {
    auto r = hours->NextOpen(inputs[i++ & 255]);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_BusinessHours_NextOpen);

void BM_BusinessHours_IsOpen(benchmark::State& state) {
  auto hours = lifeline::BusinessHours::FromJson(
      R"({"timeZone":"America/New_York","weekly":{"mon":[["08:00","20:00"]],)"
      R"("fri":[["08:00","20:00"]]},"holidays":["2026-12-25"]})");
  const std::vector<lifeline::UnixMillis> inputs = Instants();
  std::size_t i = 0;
  AllocationCounter count(state);
  for (auto _ : state) {
    bool open = hours->IsOpen(inputs[i++ & 255]);
    benchmark::DoNotOptimize(open);
  }
}
BENCHMARK(BM_BusinessHours_IsOpen);

}  // namespace

BENCHMARK_MAIN();
