// Callback pipeline throughput: callbacks submitted through the C ABI,
// committed to a durable SQLite outbox (WAL, a real file), and delivered to a
// webhook receiver on loopback; rate limiting off. Side by side with the
// seed's design, a synchronous POST per callback on the submitting thread.
//
//   build/release/tests/bench/bench_ivr_pipeline --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "http/curl_transport.hpp"
#include "lifeline/lifeline.h"
#include "support/fake_http_server.hpp"

namespace {

constexpr int kCallbacks = 20000;

lifeline::testing::FakeHttpServer& Receiver() {
  static auto* server = [] {
    auto* s = new lifeline::testing::FakeHttpServer();
    s->Post("/callbacks", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    return s;
  }();
  return *server;
}

// CPU seconds used by the whole process (every thread: submitters, the
// engine's runtime, curl's I/O thread and the fake server), so that a loaded
// machine's waiting does not count.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string Request(int i) {
  return R"({"callerPhone":"+1415)" + std::to_string(2000000 + i) + R"(","originalQueueId":"q-bench"})";
}

void BM_PipelineDurableOutbox(benchmark::State& state) {
  const int submitters = static_cast<int>(state.range(0));
  auto& server = Receiver();
  double cpu_before = ProcessCpuSeconds();
  for (auto _ : state) {
    std::string path = "/tmp/lifeline_bench_outbox.sqlite";
    std::remove(path.c_str());
    std::remove((path + "-wal").c_str());
    std::remove((path + "-shm").c_str());
    std::string config = R"({"platform":"webhook","webhook":{"url":")" + server.base_url() +
                         R"(/callbacks"},"outbox":{"path":")" + path +
                         R"("},"rate_limit":{"enabled":false},"max_in_flight":64})";
    lifeline_engine_t* engine = nullptr;
    if (lifeline_engine_open(config.c_str(), &engine) != LIFELINE_OK) {
      state.SkipWithError(lifeline_last_error());
      return;
    }
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < submitters; ++t) {
      threads.emplace_back([&] {
        char id[LIFELINE_REQUEST_ID_BUFFER_SIZE];
        for (int i = next++; i < kCallbacks; i = next++) {
          lifeline_callback_submit(engine, Request(i).c_str(), id, sizeof id);
        }
      });
    }
    for (auto& t : threads) t.join();
    if (lifeline_engine_drain(engine, 120000) != LIFELINE_OK) state.SkipWithError("drain timed out");
    lifeline_engine_close(engine);
  }
  state.SetItemsProcessed(state.iterations() * kCallbacks);
  state.counters["callbacks_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kCallbacks, benchmark::Counter::kIsRate);
  state.counters["process_cpu_us_per_callback"] =
      (ProcessCpuSeconds() - cpu_before) * 1e6 / (static_cast<double>(state.iterations()) * kCallbacks);
}
BENCHMARK(BM_PipelineDurableOutbox)->Arg(1)->Arg(4)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// The seed's design: each callback is POSTed synchronously by the thread
// that took the call, with keep-alive, and nothing is recorded locally.
void BM_BaselineSynchronousPost(benchmark::State& state) {
  auto& server = Receiver();
  auto transport = lifeline::CurlTransport::Create().value();
  const int n = 2000;
  double cpu_before = ProcessCpuSeconds();
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      lifeline::HttpRequest request;
      request.method = "POST";
      request.url = server.base_url() + "/callbacks";
      request.headers = {{"Content-Type", "application/json"}};
      request.body = Request(i);
      lifeline::HttpResponse response = lifeline::SendAndWait(*transport, std::move(request));
      benchmark::DoNotOptimize(response.status);
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["callbacks_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * n, benchmark::Counter::kIsRate);
  state.counters["process_cpu_us_per_callback"] =
      (ProcessCpuSeconds() - cpu_before) * 1e6 / (static_cast<double>(state.iterations()) * n);
}
BENCHMARK(BM_BaselineSynchronousPost)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
