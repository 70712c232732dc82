// Outbox throughput on a real file in WAL mode, side by side with the
// baseline the issue names: the same store on a ":memory:" database.
//
//   Enqueue, one transaction per record:   FULL vs NORMAL vs :memory:
//   EnqueueBatch of 64 records:           FULL vs NORMAL
//   Enqueue from N threads, group commit: FULL vs NORMAL (N = 8, 64)
//   ClaimDue(64) + RecordOutcomes(64):    FULL vs NORMAL vs :memory:
//   ClaimDue(1) + MarkDelivered:          FULL vs NORMAL  (no batching)
//   Stats() + NextDueAt() with a 100,000-record backlog
//   and, to read the FULL numbers against, the disk's raw write+fsync.
//
// items_per_second is records per second of wall time (UseRealTime: the
// cost is mostly waiting for fsync, not CPU). Files go to $LIFELINE_BENCH_TMP
// (default /tmp). Results and the exact command: docs/performance-store.md.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "lifeline/durable_store.hpp"
#include "store/sqlite_outbox_store.hpp"

namespace {

using lifeline::OutboxOutcome;
using lifeline::OutboxRecord;
using lifeline::SqliteOutboxOptions;
using lifeline::SqliteOutboxStore;
using lifeline::SqliteSynchronous;

enum class Backing { kMemory, kFileFull, kFileNormal };

const char* Name(Backing b) {
  switch (b) {
    case Backing::kMemory:
      return ":memory:";
    case Backing::kFileFull:
      return "file FULL";
    case Backing::kFileNormal:
      return "file NORMAL";
  }
  return "";
}

std::string BenchPath() {
  static std::atomic<int> counter{0};
  const char* dir = std::getenv("LIFELINE_BENCH_TMP");
  return std::string(dir != nullptr ? dir : "/tmp") + "/bench-outbox-" +
         std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".db";
}

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

// A store on a fresh file (or in memory), deleted with it.
struct BenchStore {
  explicit BenchStore(Backing backing, bool group_commit = true) {
    SqliteOutboxOptions options;
    if (backing != Backing::kMemory) {
      path = BenchPath();
      RemoveDb(path);
      options.database.path = path;
      options.database.synchronous = backing == Backing::kFileFull
                                         ? SqliteSynchronous::kFull
                                         : SqliteSynchronous::kNormal;
    }
    options.group_commit = group_commit;
    auto opened = SqliteOutboxStore::Open(options);
    if (!opened.ok()) {
      std::fprintf(stderr, "open: %s\n", opened.status().message().c_str());
      std::abort();
    }
    store = std::move(*opened);
  }
  ~BenchStore() {
    store.reset();
    if (!path.empty()) RemoveDb(path);
  }
  std::string path;
  std::unique_ptr<SqliteOutboxStore> store;
};

// A realistic record: a ~300-byte Genesys-style payload.
OutboxRecord MakeRecord(long n) {
  OutboxRecord r;
  r.request_id = "req-" + std::to_string(n) + "-6f1c0b3e9a7d4c2e8b5a1f0d3c6e9b2a";
  r.payload_json =
      "{\"callerPhone\":\"+15551230000\",\"originalQueueId\":\"7d1e4c6a-0b8f-4e2d-9c3a-"
      "5f6e7d8c9b0a\",\"flowName\":\"Emergency_Main\",\"callbackTime\":null,"
      "\"contextData\":{\"callId\":\"call-" +
      std::to_string(n) +
      "\",\"language\":\"en-US\",\"segment\":\"gold\",\"reason\":\"outage\"},"
      "\"requestId\":\"" +
      r.request_id + "\"}";
  r.created_at = 1'700'000'000'000 + n;
  r.next_attempt_at = r.created_at;
  return r;
}

void Check(const lifeline::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "bench: %s\n", s.message().c_str());
    std::abort();
  }
}

// --- The disk itself: append 4 KiB and fsync ------------------------------
// Every FULL commit waits for at least one of these; read the FULL numbers
// against it.

void BM_RawAppendFsync(benchmark::State& state) {
  std::string path = BenchPath();
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  if (fd < 0) std::abort();
  std::string page(4096, 'x');
  for (auto _ : state) {
    if (::write(fd, page.data(), page.size()) != static_cast<ssize_t>(page.size())) std::abort();
    if (::fsync(fd) != 0) std::abort();
  }
  ::close(fd);
  std::remove(path.c_str());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawAppendFsync)->UseRealTime();

// --- Enqueue, one transaction each --------------------------------------

void BM_Enqueue_Single(benchmark::State& state, Backing backing) {
  BenchStore b(backing, /*group_commit=*/false);
  long n = 0;
  for (auto _ : state) Check(b.store->Enqueue(MakeRecord(n++)));
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(Name(backing));
}
BENCHMARK_CAPTURE(BM_Enqueue_Single, memory_baseline, Backing::kMemory)->UseRealTime();
BENCHMARK_CAPTURE(BM_Enqueue_Single, file_full, Backing::kFileFull)->UseRealTime();
BENCHMARK_CAPTURE(BM_Enqueue_Single, file_normal, Backing::kFileNormal)->UseRealTime();

// --- EnqueueBatch of 64 ---------------------------------------------------

void BM_EnqueueBatch64(benchmark::State& state, Backing backing) {
  BenchStore b(backing);
  long n = 0;
  std::vector<OutboxRecord> batch(64);
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& r : batch) r = MakeRecord(n++);
    state.ResumeTiming();
    auto results = b.store->EnqueueBatch(batch);
    if (!results.ok()) Check(results.status());
  }
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetLabel(Name(backing));
}
BENCHMARK_CAPTURE(BM_EnqueueBatch64, memory_baseline, Backing::kMemory)->UseRealTime();
BENCHMARK_CAPTURE(BM_EnqueueBatch64, file_full, Backing::kFileFull)->UseRealTime();
BENCHMARK_CAPTURE(BM_EnqueueBatch64, file_normal, Backing::kFileNormal)->UseRealTime();

// --- Enqueue from many threads, group commit ----------------------------

std::unique_ptr<BenchStore> g_shared;
std::atomic<long> g_next{0};

void BM_Enqueue_GroupCommit(benchmark::State& state, Backing backing) {
  if (state.thread_index() == 0) {
    g_shared = std::make_unique<BenchStore>(backing, /*group_commit=*/true);
    g_next = 0;
  }
  // Google Benchmark starts every thread's loop together, after the setup.
  for (auto _ : state) Check(g_shared->store->Enqueue(MakeRecord(g_next++)));
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    auto c = g_shared->store->group_commit_counters();
    state.counters["avg_group"] =
        c.groups == 0 ? 0.0 : static_cast<double>(c.operations) / static_cast<double>(c.groups);
    state.SetLabel(Name(backing));
    g_shared.reset();
  }
}
BENCHMARK_CAPTURE(BM_Enqueue_GroupCommit, file_full, Backing::kFileFull)
    ->Threads(8)->Threads(64)->UseRealTime();
BENCHMARK_CAPTURE(BM_Enqueue_GroupCommit, file_normal, Backing::kFileNormal)
    ->Threads(8)->Threads(64)->UseRealTime();

// --- ClaimDue + outcomes ----------------------------------------------------

// Keeps at least `batch` records pending, refilling outside the timing.
// `*pending` tracks the count so the loop does not measure Stats().
void Refill(benchmark::State& state, SqliteOutboxStore& store, long* n, size_t* pending,
            size_t batch) {
  if (*pending >= batch) return;
  state.PauseTiming();
  std::vector<OutboxRecord> records;
  for (int i = 0; i < 4096; ++i) records.push_back(MakeRecord((*n)++));
  auto results = store.EnqueueBatch(records);
  if (!results.ok()) Check(results.status());
  *pending += records.size();
  state.ResumeTiming();
}

void BM_ClaimAndRecordOutcomes64(benchmark::State& state, Backing backing) {
  BenchStore b(backing);
  long n = 0;
  const lifeline::UnixMillis now = 1'800'000'000'000;
  size_t pending = 0;
  for (auto _ : state) {
    Refill(state, *b.store, &n, &pending, 64);
    auto claimed = b.store->ClaimDue(now, 64);
    if (!claimed.ok()) Check(claimed.status());
    pending -= claimed->size();
    std::vector<OutboxOutcome> outcomes;
    outcomes.reserve(claimed->size());
    for (const auto& r : *claimed) {
      outcomes.push_back(OutboxOutcome::Delivered(r.request_id, now, "cb-0001"));
    }
    auto results = b.store->RecordOutcomes(outcomes);
    if (!results.ok()) Check(results.status());
  }
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetLabel(Name(backing));
}
BENCHMARK_CAPTURE(BM_ClaimAndRecordOutcomes64, memory_baseline, Backing::kMemory)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClaimAndRecordOutcomes64, file_full, Backing::kFileFull)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClaimAndRecordOutcomes64, file_normal, Backing::kFileNormal)->UseRealTime();

void BM_ClaimOneAndMarkDelivered(benchmark::State& state, Backing backing) {
  BenchStore b(backing);
  long n = 0;
  const lifeline::UnixMillis now = 1'800'000'000'000;
  size_t pending = 0;
  for (auto _ : state) {
    Refill(state, *b.store, &n, &pending, 1);
    auto claimed = b.store->ClaimDue(now, 1);
    if (!claimed.ok()) Check(claimed.status());
    pending -= claimed->size();
    Check(b.store->MarkDelivered(claimed->front().request_id, now, "cb-0001"));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(Name(backing));
}
BENCHMARK_CAPTURE(BM_ClaimOneAndMarkDelivered, memory_baseline, Backing::kMemory)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClaimOneAndMarkDelivered, file_full, Backing::kFileFull)->UseRealTime();
BENCHMARK_CAPTURE(BM_ClaimOneAndMarkDelivered, file_normal, Backing::kFileNormal)->UseRealTime();

// --- Stats and NextDueAt with a 100,000-record backlog --------------------

void BM_StatsWithBacklog(benchmark::State& state, Backing backing) {
  BenchStore b(backing);
  std::vector<OutboxRecord> records;
  for (long i = 0; i < 100'000; ++i) {
    OutboxRecord r = MakeRecord(i);
    r.created_at = 1'700'000'000'000 + (i * 7919) % 100'000;  // not in insertion order
    records.push_back(std::move(r));
  }
  auto results = b.store->EnqueueBatch(records);
  if (!results.ok()) Check(results.status());
  for (auto _ : state) {
    auto stats = b.store->Stats();
    auto next = b.store->NextDueAt();
    benchmark::DoNotOptimize(stats);
    benchmark::DoNotOptimize(next);
  }
  state.SetLabel(Name(backing));
}
BENCHMARK_CAPTURE(BM_StatsWithBacklog, file_full, Backing::kFileFull)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
