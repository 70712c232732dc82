// mass_activation.hpp -- the stakeholder directory and trigger of the mass
// activation benchmarks (bench_cascade_engine, bench_cascade_activation):
// N members reachable by SMS then email, one group "everyone", an on-call
// manager by voice, and a P1 trigger for that group.
#ifndef LIFELINE_TESTS_BENCH_MASS_ACTIVATION_HPP_
#define LIFELINE_TESTS_BENCH_MASS_ACTIVATION_HPP_

#include <string>

#include "lifeline/cascade_engine.hpp"

namespace mass_activation {

inline constexpr lifeline::UnixMillis kT0 = 1'716'215'520'000;

inline lifeline::StakeholderDirectory MakeDirectory(int n) {
  using namespace lifeline;
  StakeholderDirectory dir;
  StakeholderMember mgr;
  mgr.id = "mgr";
  mgr.channels = {Channel::kVoice};
  mgr.addresses[static_cast<int>(Channel::kVoice)] = "+15550000000";
  (void)dir.UpsertMember(mgr);
  StakeholderGroup g;
  g.id = "everyone";
  g.on_call_manager_id = "mgr";
  for (int i = 0; i < n; ++i) {
    StakeholderMember m;
    m.id = "m" + std::to_string(i);
    m.channels = {Channel::kSms, Channel::kEmail};
    m.addresses[static_cast<int>(Channel::kSms)] = "+1555" + std::to_string(1000000 + i);
    m.addresses[static_cast<int>(Channel::kEmail)] = m.id + "@example.com";
    (void)dir.UpsertMember(m);
    g.member_ids.push_back(m.id);
  }
  (void)dir.UpsertGroup(g);
  return dir;
}

inline lifeline::CascadeTrigger Trigger() {
  lifeline::CascadeTrigger t;
  t.incident_id = "INC-BENCH";
  t.severity = lifeline::Severity::kP1;
  t.stakeholder_group_id = "everyone";
  t.message_template = "Outage at {{site}}";
  t.timestamp = kT0;
  t.variables = {{"site", "DC-East"}};
  return t;
}

}  // namespace mass_activation

#endif  // LIFELINE_TESTS_BENCH_MASS_ACTIVATION_HPP_
