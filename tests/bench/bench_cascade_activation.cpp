// A simulated one-hour P1 activation of N stakeholders WITH PERSISTENCE ON:
// the engine runs inside DurableCascade on a SQLite file (WAL,
// synchronous=NORMAL, which survives SIGKILL), every input journaled and
// every send claimed 'sending' and committed before it is "posted". Same
// workload as bench_cascade_engine's Activation (SMS then email, 70 % ack by
// SMS, 10 % by email, the rest escalated), side by side with the in-memory
// engine as the baseline. Each simulated instant is one batch (one commit,
// plus one per TakeOutbound, which always commits before the sends).
// Reports wall time, journal rows and heap growth per stakeholder cascade.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

#include "bench/mass_activation.hpp"
#include "lifeline/cascade_engine.hpp"
#include "store/durable_cascade.hpp"

namespace {

using namespace lifeline;
using mass_activation::kT0;
using mass_activation::MakeDirectory;
using mass_activation::Trigger;

// Drives `c` (CascadeEngine or DurableCascade) through the simulated hour.
template <typename Engine, typename Take, typename Begin, typename Commit>
std::size_t Drive(Engine& c, Take take, Begin begin, Commit commit) {
  std::multimap<UnixMillis, std::pair<std::uint64_t, AttemptStatus>> receipts;
  UnixMillis now = kT0;
  const UnixMillis end = kT0 + 3'600'000;
  while (now <= end) {
    begin();
    for (const OutboundMessage& m : take(now)) {
      (void)c.OnSendResult(m.message_id, {SendResult::Kind::kAccepted, "", 0}, now);
      if (m.escalation) continue;
      receipts.emplace(now + 2'000, std::make_pair(m.message_id, AttemptStatus::kDelivered));
      int k = std::stoi(m.member_id.substr(1)) % 10;
      if ((m.channel == Channel::kSms && k < 7) || (m.channel == Channel::kEmail && k == 7)) {
        receipts.emplace(now + 30'000, std::make_pair(m.message_id, AttemptStatus::kAcknowledged));
      }
    }
    commit();
    std::optional<UnixMillis> next = c.NextDeadline();
    if (!receipts.empty() && (!next || receipts.begin()->first < *next)) next = receipts.begin()->first;
    if (!next) break;
    now = std::max(now, *next);
    begin();
    while (!receipts.empty() && receipts.begin()->first <= now) {
      auto [id, status] = receipts.begin()->second;
      receipts.erase(receipts.begin());
      (void)c.OnReceipt(id, status, now);
    }
    (void)c.OnTimer(now);
    commit();
  }
  return 0;
}

void ActivationInMemory(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  StakeholderDirectory dir = MakeDirectory(n);
  std::size_t done = 0;
  for (auto _ : state) {
    CascadeConfig config;
    config.endpoint_limit = 1000;
    CascadeEngine engine(config, &dir, nullptr, nullptr, kT0);
    (void)engine.Trigger(Trigger(), kT0);
    Drive(engine, [&](UnixMillis now) { return engine.TakeOutbound(now); }, [] {}, [] {});
    const IncidentCascade* inc = engine.FindIncident("INC-BENCH");
    done = static_cast<std::size_t>(inc->acknowledged + inc->escalated);
  }
  state.counters["stakeholders"] = n;
  state.counters["finished"] = static_cast<double>(done);
}

void ActivationPersistent(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  StakeholderDirectory dir = MakeDirectory(n);
  const char* tmp = std::getenv("LIFELINE_TEST_TMP");
  std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/bench-cascade-" +
                     std::to_string(::getpid()) + ".db";
  std::size_t done = 0;
  double bytes_per_cascade = 0;
  std::int64_t journal = 0, commits = 0;
  for (auto _ : state) {
    for (const char* s : {"", "-wal", "-shm"}) std::remove((path + s).c_str());
    DurableCascadeOptions options;
    options.database.path = path;
    options.database.synchronous = SqliteSynchronous::kNormal;
    options.config.endpoint_limit = 1000;
    auto opened = DurableCascade::Open(options, &dir, nullptr, nullptr, kT0);
    if (!opened.ok()) {
      state.SkipWithError(opened.status().message().c_str());
      return;
    }
    DurableCascade& c = **opened;
    std::size_t before = mallinfo2().uordblks;
    (void)c.Trigger(Trigger(), kT0);
    bytes_per_cascade = static_cast<double>(mallinfo2().uordblks - before) / n;
    auto take = [&](UnixMillis now) {
      std::vector<OutboundMessage> out;
      auto claimed = c.TakeOutbound(now);
      if (claimed.ok()) {
        out.reserve(claimed->size());
        for (auto& m : *claimed) out.push_back(std::move(m.message));
      }
      return out;
    };
    Drive(c, take, [&] { (void)c.BeginBatch(); }, [&] { (void)c.CommitBatch(); });
    const IncidentCascade* inc = c.engine().FindIncident("INC-BENCH");
    done = static_cast<std::size_t>(inc->acknowledged + inc->escalated);
    journal = c.stats().journal_entries;
    commits = c.stats().commits;
  }
  for (const char* s : {"", "-wal", "-shm"}) std::remove((path + s).c_str());
  state.counters["stakeholders"] = n;
  state.counters["finished"] = static_cast<double>(done);
  state.counters["bytes_per_cascade"] = bytes_per_cascade;
  state.counters["journal_rows"] = static_cast<double>(journal);
  state.counters["commits"] = static_cast<double>(commits);
}

void ReopenReplay(benchmark::State& state) {
  // Restart cost: replaying the journal of a finished 10k/100k activation.
  const int n = static_cast<int>(state.range(0));
  StakeholderDirectory dir = MakeDirectory(n);
  std::string path = std::string("/tmp/bench-cascade-replay-") + std::to_string(::getpid()) + ".db";
  for (const char* s : {"", "-wal", "-shm"}) std::remove((path + s).c_str());
  DurableCascadeOptions options;
  options.database.path = path;
  options.database.synchronous = SqliteSynchronous::kNormal;
  options.config.endpoint_limit = 1000;
  {
    auto opened = DurableCascade::Open(options, &dir, nullptr, nullptr, kT0);
    DurableCascade& c = **opened;
    (void)c.Trigger(Trigger(), kT0);
    auto take = [&](UnixMillis now) {
      std::vector<OutboundMessage> out;
      auto claimed = c.TakeOutbound(now);
      for (auto& m : *claimed) out.push_back(std::move(m.message));
      return out;
    };
    Drive(c, take, [&] { (void)c.BeginBatch(); }, [&] { (void)c.CommitBatch(); });
  }
  std::int64_t replayed = 0;
  for (auto _ : state) {
    auto opened = DurableCascade::Open(options, &dir, nullptr, nullptr, kT0);
    replayed = (*opened)->stats().replayed_entries;
  }
  for (const char* s : {"", "-wal", "-shm"}) std::remove((path + s).c_str());
  state.counters["replayed_entries"] = static_cast<double>(replayed);
}

BENCHMARK(ActivationInMemory)->Arg(10'000)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(ActivationPersistent)->Arg(10'000)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(ReopenReplay)->Arg(10'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
