// bench_failover_switch.cpp -- the call-entry decision, side by side with the
// seed's design of one HTTP GET to the state endpoint per call (on loopback).
//
// Targets (issue 3): at most 50 ns median per decision, zero allocations,
// scaling on 2 threads, and at least 1000x faster than the GET per call.
//
// The seed baseline needs cpp-httplib linked (Debian ships it as a shared
// library, libcpp-httplib.so), which tests/bench/CMakeLists.txt does not do
// yet. It is compiled only with -DLIFELINE_BENCH_WITH_HTTPLIB=1 and
// -lcpp-httplib; docs/performance-failover_switch.md has the exact command.
//
// Run (Release build):
//   build/bench/tests/bench/bench_failover_switch --benchmark_min_time=0.5
//     --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// (one command line).
#include <benchmark/benchmark.h>
#if LIFELINE_BENCH_WITH_HTTPLIB
#include <httplib.h>
#include <rapidjson/document.h>
#endif

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <thread>

#include "lifeline/failover_switch.hpp"
#include "support/allocation_counter.hpp"

namespace {

using lifeline::CallEntry;
using lifeline::CallEntryDecision;
using lifeline::FailoverSwitch;
using lifeline::FailoverSwitchConfig;
using lifeline::RoutingMode;

constexpr lifeline::UnixMillis kNow = 1'700'000'000'000;

std::unique_ptr<FailoverSwitch> MakeSwitch(RoutingMode mode, std::uint32_t capacity) {
  FailoverSwitchConfig config;
  config.initial_mode = mode;
  config.max_channels = capacity;
  return std::move(FailoverSwitch::Create(config, nullptr, kNow)).value();
}

FailoverSwitch& NormalSwitch() {
  static auto sw = MakeSwitch(RoutingMode::kNormal, 0);
  return *sw;
}

FailoverSwitch& UnlimitedFailoverSwitch() {
  static auto sw = MakeSwitch(RoutingMode::kFailover, 0);
  return *sw;
}

FailoverSwitch& FullFailoverSwitch() {
  static auto sw = MakeSwitch(RoutingMode::kFailover, 1);
  static CallEntry holder = sw->Enter(kNow);  // the only slot stays taken
  return *sw;
}

void ReportAllocations(benchmark::State& state, long before) {
  if (state.thread_index() == 0)
    state.counters["allocs_per_call"] = benchmark::Counter(
        static_cast<double>(lifeline::testing::ThreadAllocations() - before) / static_cast<double>(state.iterations()));
}

// NORMAL: one atomic load; the common case for every call outside an outage.
void BM_CallEntry_Normal(benchmark::State& state) {
  FailoverSwitch& sw = NormalSwitch();
  const long before = lifeline::testing::ThreadAllocations();
  for (auto _ : state) {
    CallEntry e = sw.Enter(kNow);
    benchmark::DoNotOptimize(e.decision);
  }
  ReportAllocations(state, before);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CallEntry_Normal)->Threads(1)->Threads(2)->UseRealTime();

// FAILOVER: the decision, a slot taken with a CAS, and released by the lease.
void BM_CallEntry_FailoverAdmit(benchmark::State& state) {
  FailoverSwitch& sw = UnlimitedFailoverSwitch();
  const long before = lifeline::testing::ThreadAllocations();
  for (auto _ : state) {
    CallEntry e = sw.Enter(kNow);
    benchmark::DoNotOptimize(e.decision);
  }  // ~CallEntry releases the slot
  ReportAllocations(state, before);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CallEntry_FailoverAdmit)->Threads(1)->Threads(2)->UseRealTime();

// FAILOVER at capacity: every call is REJECT_BUSY.
void BM_CallEntry_FailoverRejectBusy(benchmark::State& state) {
  FailoverSwitch& sw = FullFailoverSwitch();
  const long before = lifeline::testing::ThreadAllocations();
  for (auto _ : state) {
    CallEntry e = sw.Enter(kNow);
    benchmark::DoNotOptimize(e.decision);
  }
  ReportAllocations(state, before);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CallEntry_FailoverRejectBusy)->Threads(1)->Threads(2)->UseRealTime();

#if LIFELINE_BENCH_WITH_HTTPLIB
// The seed's design: the flow's Query block GETs the state endpoint at every
// call entry and splits on routingMode. Here: a keep-alive cpp-httplib
// client against a cpp-httplib server on 127.0.0.1, with the JSON parsed by
// RapidJSON -- the cheapest honest version of it.
class StateEndpoint {
 public:
  StateEndpoint() {
    server_.set_tcp_nodelay(true);  // no Nagle/delayed-ACK stalls on loopback
    server_.Get("/state", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"routingMode":"NORMAL"})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~StateEndpoint() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

void BM_SeedHttpGetPerCall(benchmark::State& state) {
  static StateEndpoint endpoint;
  httplib::Client client("127.0.0.1", endpoint.port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  const long before = lifeline::testing::ThreadAllocations();
  for (auto _ : state) {
    auto res = client.Get("/state");
    if (!res || res->status != 200) {
      state.SkipWithError("state endpoint GET failed");
      break;
    }
    rapidjson::Document doc;
    doc.Parse(res->body.data(), res->body.size());
    const bool failover = doc.IsObject() && doc.HasMember("routingMode") &&
                          doc["routingMode"].IsString() &&
                          std::strcmp(doc["routingMode"].GetString(), "FAILOVER") == 0;
    benchmark::DoNotOptimize(failover);
  }
  ReportAllocations(state, before);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SeedHttpGetPerCall)->UseRealTime();
#endif  // LIFELINE_BENCH_WITH_HTTPLIB

}  // namespace

BENCHMARK_MAIN();
