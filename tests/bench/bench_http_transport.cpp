// bench_http_transport -- small POSTs to the loopback fake server.
//
//   BM_CurlTransportKeepAlive/<concurrency>: CurlTransport (one I/O thread,
//     curl multi, kept-alive connections), `concurrency` requests
//     outstanding at any time, each completion sending the next.
//   BM_FreshEasyHandlePerRequest/<concurrency>: the baseline: a curl multi
//     loop with the same concurrency, but a new easy handle and a new TCP
//     connection for every request (CURLOPT_FRESH_CONNECT + FORBID_REUSE).
//
// items_per_second is requests per second. Both share one FakeHttpServer
// (cpp-httplib, 80 threads, nothing recorded) on the same 2 cores, so the
// numbers include the server's cost. Run (Release):
//   build/release/tests/bench/bench_http_transport --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "http/curl_global.hpp"
#include "http/curl_transport.hpp"
#include "lifeline/http_transport.hpp"
#include "support/fake_http_server.hpp"

namespace {

constexpr int kBatch = 2000;  // requests per benchmark iteration
const std::string kBody = R"({"requestId":"0123456789abcdef","callerPhone":"+15551234567"})";

lifeline::testing::FakeHttpServer& Server() {
  static lifeline::testing::FakeHttpServer* server = [] {
    lifeline::testing::FakeHttpServer::Options options;
    options.threads = 80;
    options.record_requests = false;
    auto* s = new lifeline::testing::FakeHttpServer(options);
    s->Post("/cb", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"id":"c1"})", "application/json");
    });
    return s;
  }();
  return *server;
}

// Sends `total` requests through `transport`, `concurrency` at a time, and
// waits for the last completion. Returns the number of non-200 outcomes.
int RunBatch(lifeline::HttpTransport& transport, const std::string& url, int total,
             int concurrency) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    int to_send = 0;
    int outstanding = 0;
    int failures = 0;
  } state;
  state.to_send = total;
  lifeline::HttpRequest prototype;
  prototype.method = "POST";
  prototype.url = url;
  prototype.headers = {{"Content-Type", "application/json"}};
  prototype.body = kBody;
  prototype.timeout_ms = 30000;

  std::function<void(lifeline::HttpResponse)> on_done;
  auto send_one = [&] { transport.Send(prototype, on_done); };
  on_done = [&](lifeline::HttpResponse response) {
    bool send_next = false;
    {
      std::lock_guard<std::mutex> lock(state.mu);
      if (response.status != 200) ++state.failures;
      --state.outstanding;
      if (state.to_send > 0) {
        --state.to_send;
        ++state.outstanding;
        send_next = true;
      }
      if (state.outstanding == 0) state.cv.notify_all();
    }
    if (send_next) send_one();
  };
  int first = 0;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    first = std::min(concurrency, state.to_send);
    state.to_send -= first;
    state.outstanding = first;
  }
  for (int i = 0; i < first; ++i) send_one();
  std::unique_lock<std::mutex> lock(state.mu);
  state.cv.wait(lock, [&] { return state.outstanding == 0 && state.to_send == 0; });
  return state.failures;
}

void BM_CurlTransportKeepAlive(benchmark::State& bench) {
  const int concurrency = static_cast<int>(bench.range(0));
  lifeline::CurlTransportOptions options;
  options.max_total_connections = 64;
  options.max_host_connections = 64;
  auto created = lifeline::CurlTransport::Create(options);
  if (!created.ok()) {
    bench.SkipWithError(created.status().message().c_str());
    return;
  }
  auto transport = std::move(created).value();
  const std::string url = Server().base_url() + "/cb";
  RunBatch(*transport, url, concurrency * 4, concurrency);  // open the connections
  auto before = transport->metrics();
  int failures = 0;
  for (auto _ : bench) failures += RunBatch(*transport, url, kBatch, concurrency);
  auto after = transport->metrics();
  bench.SetItemsProcessed(bench.iterations() * kBatch);
  bench.counters["failures"] = failures;
  bench.counters["new_connections"] =
      static_cast<double>(after.connections_opened - before.connections_opened);
}
BENCHMARK(BM_CurlTransportKeepAlive)->Arg(1)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);

// The baseline: no reuse at all, driven by a plain curl multi loop.
void BM_FreshEasyHandlePerRequest(benchmark::State& bench) {
  const int concurrency = static_cast<int>(bench.range(0));
  if (!lifeline::EnsureCurlGlobalInit().ok()) {
    bench.SkipWithError("curl_global_init failed");
    return;
  }
  const std::string url = Server().base_url() + "/cb";
  CURLM* multi = curl_multi_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  auto add_one = [&] {
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(kBody.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, kBody.data());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION,
                     +[](char*, size_t size, size_t count, void*) { return size * count; });
    curl_multi_add_handle(multi, easy);
  };
  int failures = 0;
  for (auto _ : bench) {
    int to_add = kBatch;
    int outstanding = 0;
    while (outstanding < concurrency && to_add > 0) {
      add_one();
      ++outstanding;
      --to_add;
    }
    while (outstanding > 0) {
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL* easy = msg->easy_handle;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (msg->data.result != CURLE_OK || status != 200) ++failures;
        curl_multi_remove_handle(multi, easy);
        curl_easy_cleanup(easy);
        --outstanding;
        if (to_add > 0) {
          add_one();
          ++outstanding;
          --to_add;
        }
      }
      if (outstanding > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
  }
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  bench.SetItemsProcessed(bench.iterations() * kBatch);
  bench.counters["failures"] = failures;
}
BENCHMARK(BM_FreshEasyHandlePerRequest)
    ->Arg(1)
    ->Arg(64)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
