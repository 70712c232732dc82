// A simulated one-hour P1 activation of N stakeholders (SMS then email, 50
// msg/s per endpoint, 70 % acknowledge by SMS, 10 % by email, the rest are
// escalated), driven on simulated time exactly as a host would: take the
// outbound messages, report them accepted, deliver receipts, fire timers.
// Reports the wall time of the whole activation and the heap growth per
// stakeholder cascade (mallinfo2). No persistence (not built yet).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <map>
#include <string>

#include "bench/mass_activation.hpp"
#include "lifeline/cascade_engine.hpp"

namespace {

using namespace lifeline;
using mass_activation::kT0;
using mass_activation::MakeDirectory;
using mass_activation::Trigger;

void Activation(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  StakeholderDirectory dir = MakeDirectory(n);
  const CascadeTrigger t = Trigger();
  double bytes_per_cascade = 0;
  std::size_t done = 0;
  for (auto _ : state) {
    CascadeConfig config;
    config.endpoint_limit = 1000;  // a mass-notification carrier contract
    std::size_t before = mallinfo2().uordblks;
    CascadeEngine engine(config, &dir, nullptr, nullptr, kT0);
    UnixMillis now = kT0;
    (void)engine.Trigger(t, now);
    bytes_per_cascade = static_cast<double>(mallinfo2().uordblks - before) / n;
    std::multimap<UnixMillis, std::pair<std::uint64_t, AttemptStatus>> receipts;
    const UnixMillis end = kT0 + 3'600'000;
    while (now <= end) {
      for (const OutboundMessage& m : engine.TakeOutbound(now)) {
        (void)engine.OnSendResult(m.message_id, {SendResult::Kind::kAccepted, "", 0}, now);
        if (m.escalation) continue;
        receipts.emplace(now + 2'000, std::make_pair(m.message_id, AttemptStatus::kDelivered));
        int k = std::stoi(m.member_id.substr(1)) % 10;
        if ((m.channel == Channel::kSms && k < 7) || (m.channel == Channel::kEmail && k == 7)) {
          receipts.emplace(now + 30'000, std::make_pair(m.message_id, AttemptStatus::kAcknowledged));
        }
      }
      std::optional<UnixMillis> next = engine.NextDeadline();
      if (!receipts.empty() && (!next || receipts.begin()->first < *next)) next = receipts.begin()->first;
      if (!next) break;
      now = std::max(now, *next);
      while (!receipts.empty() && receipts.begin()->first <= now) {
        auto [id, status] = receipts.begin()->second;
        receipts.erase(receipts.begin());
        (void)engine.OnReceipt(id, status, now);
      }
      engine.OnTimer(now);
    }
    const IncidentCascade* inc = engine.FindIncident("INC-BENCH");
    done = static_cast<std::size_t>(inc->acknowledged + inc->escalated);
  }
  state.counters["stakeholders"] = n;
  state.counters["finished"] = static_cast<double>(done);
  state.counters["bytes_per_cascade"] = bytes_per_cascade;
}

BENCHMARK(Activation)->Arg(10'000)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
