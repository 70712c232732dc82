// Audit trail throughput, side by side with plain unchained appends.
//
//   Plain/...      the baseline: the same JSON line per event (PII in clear),
//                  written to the same append-only file store with one fsync
//                  per batch; no hash, no checkpoint, no crypto.
//   Chain/...      AuditLog: seq, SHA-256 chain, checkpoints every 1000,
//                  events without PII fields (subject plain).
//   ChainPii/...   AuditLog with subject, phone and email encrypted
//                  (AES-256-GCM) and pseudonymised (HMAC-SHA256).
//   .../batch:N    N events per call (AppendBatch), i.e. per fsync.
//   ...NoSync      fsync replaced by a no-op: the CPU cost alone.
//   Threads        4 threads calling Append (group commit shares fsyncs).
//   Ratio          PlainPii and ChainPii batches interleaved in one loop, each
//                  timed on its own, so that both see the same machine load:
//                  counters plain_per_s, chain_per_s and ratio (= how many
//                  times slower ChainPii is), with fsync.
//   Verify         VerifyAuditDirectory over 100,000 records.
//
// Run (Release): build/bench/tests/bench/bench_audit --benchmark_min_time=0.5
// Numbers: docs/performance.md, "Audit trail".
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lifeline/audit_chain.hpp"
#include "lifeline/audit_keys.hpp"
#include "lifeline/audit_log.hpp"
#include "store/audit_store.hpp"

namespace {

constexpr lifeline::UnixMillis kT0 = 1716215520000LL;

std::string BenchDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("LIFELINE_BENCH_TMP");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/lifeline_bench_audit_" + name +
                    "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

lifeline::SecretKey KeyOf(unsigned char fill) {
  std::uint8_t bytes[32];
  for (int i = 0; i < 32; ++i) bytes[i] = static_cast<std::uint8_t>(fill + i);
  return lifeline::SecretKey(bytes);
}

lifeline::AuditEvent EventOf(long i, bool pii) {
  lifeline::AuditEvent e;
  e.source = lifeline::AuditSource::kCascade;
  e.time = kT0 + i;
  e.incident_id = "INC-2024-0892";
  e.subject = "stk-" + std::to_string(i % 500);
  e.channel = "sms";
  e.event = "DELIVERY_ATTEMPT";
  e.status = "DELIVERED";
  e.provider_id = "twilio";
  e.detail = "attempt 1 of 3";
  if (pii) {
    e.pii = {{"phone", "+1555" + std::to_string(1000000 + i % 1000000)},
             {"email", "person" + std::to_string(i % 500) + "@example.com"}};
  }
  return e;
}

class NoSyncOps : public lifeline::AuditFileOps {
 public:
  lifeline::Status Sync(int, const std::string&) override { return lifeline::Status::Ok(); }
};

std::unique_ptr<lifeline::AuditLog> OpenLog(const std::string& dir, bool pii,
                                            lifeline::AuditFileOps* ops) {
  auto keys = std::make_shared<lifeline::StaticKeyProvider>();
  keys->Add("k1", KeyOf(0x10));
  keys->Add("p1", KeyOf(0x70));
  keys->Add("c1", KeyOf(0xa0));
  lifeline::AuditLogOptions o;
  o.dir = dir;
  o.keys = keys;
  o.data_key_id = "k1";
  o.pseudonym_key_id = "p1";
  o.checkpoint_key_id = "c1";
  o.checkpoint_every = 1000;
  o.pii.fields["phone"] = lifeline::PiiMode::kEncrypt;
  o.pii.fields["email"] = lifeline::PiiMode::kEncrypt;
  o.pii.fields["subject"] = pii ? lifeline::PiiMode::kEncrypt : lifeline::PiiMode::kPlain;
  o.file_ops = ops;
  auto log = lifeline::AuditLog::Open(o);
  if (!log.ok()) std::abort();
  return std::move(*log);
}

// The baseline line: the record's JSON without seq chain, hashes or crypto;
// PII values in clear.
void PlainLine(const lifeline::AuditEvent& e, std::uint64_t seq, std::string* out) {
  lifeline::AuditRecord r;
  r.seq = seq;
  r.time = e.time;
  r.source = e.source;
  r.incident_id = e.incident_id;
  r.call_id = e.call_id;
  r.subject = e.subject;
  r.channel = e.channel;
  r.event = e.event;
  r.status = e.status;
  r.provider_id = e.provider_id;
  r.detail = e.detail;
  for (const auto& f : e.pii) r.pii.push_back({f.name, "", f.value});
  lifeline::AppendAuditContent(r, out);
  out->push_back('\n');
}

void Plain(benchmark::State& state, bool pii, bool sync) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::string dir = BenchDir("plain");
  NoSyncOps nosync;
  auto store = lifeline::audit_internal::NewAuditFileStore(dir + "/plain.log",
                                                           sync ? nullptr : &nosync);
  std::uint64_t torn = 0;
  if (!store->Open(&torn).ok()) std::abort();
  std::uint64_t seq = 0;
  std::string lines;
  for (auto _ : state) {
    lines.clear();
    for (std::size_t i = 0; i < batch; ++i) {
      lifeline::AuditEvent e = EventOf(static_cast<long>(seq), pii);
      PlainLine(e, ++seq, &lines);
    }
    bool broken = false;
    if (!store->Append(lines, batch, &broken).ok()) std::abort();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(seq));
  store.reset();
  std::filesystem::remove_all(dir);
}

void Chained(benchmark::State& state, bool pii, bool sync) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::string dir = BenchDir(pii ? "chainpii" : "chain");
  NoSyncOps nosync;
  auto log = OpenLog(dir, pii, sync ? nullptr : &nosync);
  long n = 0;
  std::vector<lifeline::AuditEvent> events;
  for (auto _ : state) {
    events.clear();
    for (std::size_t i = 0; i < batch; ++i) events.push_back(EventOf(n++, pii));
    lifeline::Status s = batch == 1 ? log->Append(events[0]) : log->AppendBatch(events);
    if (!s.ok()) std::abort();
  }
  state.SetItemsProcessed(n);
  log.reset();
  std::filesystem::remove_all(dir);
}

void BM_Plain(benchmark::State& state) { Plain(state, false, true); }
void BM_Chain(benchmark::State& state) { Chained(state, false, true); }
void BM_PlainPii(benchmark::State& state) { Plain(state, true, true); }
void BM_ChainPii(benchmark::State& state) { Chained(state, true, true); }
void BM_PlainPiiNoSync(benchmark::State& state) { Plain(state, true, false); }
void BM_ChainPiiNoSync(benchmark::State& state) { Chained(state, true, false); }

BENCHMARK(BM_Plain)->Arg(1)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(1024)->Arg(4096)->ArgName("batch")->UseRealTime();
BENCHMARK(BM_Chain)->Arg(1)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(1024)->Arg(4096)->ArgName("batch")->UseRealTime();
BENCHMARK(BM_PlainPii)->Arg(1)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(1024)->Arg(4096)->ArgName("batch")->UseRealTime();
BENCHMARK(BM_ChainPii)->Arg(1)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(1024)->Arg(4096)->ArgName("batch")->UseRealTime();
BENCHMARK(BM_PlainPiiNoSync)->Arg(512)->ArgName("batch")->UseRealTime();
BENCHMARK(BM_ChainPiiNoSync)->Arg(512)->ArgName("batch")->UseRealTime();

// PlainPii and ChainPii side by side in one loop: each iteration appends one
// batch to the plain store and one to the audit log (both fsynced), timing
// each. Interleaving makes the ratio fair on a machine whose load moves
// during the run.
void BM_Ratio(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  std::string plain_dir = BenchDir("ratio_plain");
  std::string chain_dir = BenchDir("ratio_chain");
  auto store = lifeline::audit_internal::NewAuditFileStore(plain_dir + "/plain.log", nullptr);
  std::uint64_t torn = 0;
  if (!store->Open(&torn).ok()) std::abort();
  auto log = OpenLog(chain_dir, true, nullptr);
  using Clock = std::chrono::steady_clock;
  Clock::duration plain_time{}, chain_time{};
  std::uint64_t seq = 0;
  long n = 0;
  std::string lines;
  std::vector<lifeline::AuditEvent> events;
  for (auto _ : state) {
    events.clear();
    for (std::size_t i = 0; i < batch; ++i) events.push_back(EventOf(n++, true));
    Clock::time_point t0 = Clock::now();
    lines.clear();
    for (const lifeline::AuditEvent& e : events) PlainLine(e, ++seq, &lines);
    bool broken = false;
    if (!store->Append(lines, batch, &broken).ok()) std::abort();
    Clock::time_point t1 = Clock::now();
    if (!log->AppendBatch(events).ok()) std::abort();
    Clock::time_point t2 = Clock::now();
    plain_time += t1 - t0;
    chain_time += t2 - t1;
  }
  double plain_s = std::chrono::duration<double>(plain_time).count();
  double chain_s = std::chrono::duration<double>(chain_time).count();
  state.counters["plain_per_s"] = static_cast<double>(n) / plain_s;
  state.counters["chain_per_s"] = static_cast<double>(n) / chain_s;
  state.counters["ratio"] = chain_s / plain_s;
  store.reset();
  log.reset();
  std::filesystem::remove_all(plain_dir);
  std::filesystem::remove_all(chain_dir);
}
BENCHMARK(BM_Ratio)->Arg(64)->Arg(128)->Arg(256)->Arg(512)->Arg(1024)->Arg(4096)->ArgName("batch")->UseRealTime();

// Several producers on one log. With batch 1 they call Append and share
// fsyncs through group commit; with larger batches one producer builds its
// batch (CPU) while another's is being written and fsynced (I/O).
std::unique_ptr<lifeline::AuditLog> g_shared;
std::string g_shared_dir;
std::atomic<long> g_counter{0};

void BM_ChainPiiThreads(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  if (state.thread_index() == 0) {
    g_shared_dir = BenchDir("threads");
    g_shared = OpenLog(g_shared_dir, true, nullptr);
  }
  long done = 0;
  std::vector<lifeline::AuditEvent> events;
  for (auto _ : state) {
    events.clear();
    for (std::size_t i = 0; i < batch; ++i) events.push_back(EventOf(g_counter++, true));
    lifeline::Status s = batch == 1 ? g_shared->Append(events[0]) : g_shared->AppendBatch(events);
    if (!s.ok()) std::abort();
    done += static_cast<long>(batch);
  }
  state.SetItemsProcessed(done);
  if (state.thread_index() == 0) {
    g_shared.reset();
    std::filesystem::remove_all(g_shared_dir);
  }
}
BENCHMARK(BM_ChainPiiThreads)->Arg(1)->Threads(4)->ArgName("batch")->UseRealTime();
BENCHMARK(BM_ChainPiiThreads)->Arg(1024)->Threads(2)->ArgName("batch")->UseRealTime();

void BM_Verify(benchmark::State& state) {
  std::string dir = BenchDir("verify");
  NoSyncOps nosync;
  constexpr long kRecords = 100000;
  lifeline::AuditLogOptions options;
  {
    auto log = OpenLog(dir, true, &nosync);
    std::vector<lifeline::AuditEvent> events;
    for (long n = 0; n < kRecords;) {
      events.clear();
      for (int i = 0; i < 1000; ++i) events.push_back(EventOf(n++, true));
      if (!log->AppendBatch(events).ok()) std::abort();
    }
  }
  auto keys = std::make_shared<lifeline::StaticKeyProvider>();
  keys->Add("c1", KeyOf(0xa0));
  options.dir = dir;
  options.keys = keys;
  for (auto _ : state) {
    auto report = lifeline::VerifyAuditDirectory(options);
    if (!report.ok() || !report->ok() || report->records != kRecords) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * kRecords);
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(std::filesystem::file_size(dir + "/audit.log")));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Verify)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
