// cascade_audit_scenario.hpp -- the world of the cascade audit crash test,
// shared by the child (helper_cascade_audited) and the parent
// (test_cascade_audit_crash): a two-person SMS group, a DurableCascade file
// with "audit required", a CascadeRuntime on a manual clock and an SMS
// carrier that accepts everything and counts what it was given.
#ifndef LIFELINE_TESTS_SUPPORT_CASCADE_AUDIT_SCENARIO_HPP_
#define LIFELINE_TESTS_SUPPORT_CASCADE_AUDIT_SCENARIO_HPP_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cascade/cascade_event_relay.hpp"
#include "cascade/cascade_runtime.hpp"
#include "lifeline/clock.hpp"
#include "store/durable_cascade.hpp"

namespace cascade_audit_scenario {

inline constexpr lifeline::UnixMillis kT0 = 1'716'215'520'000;

inline constexpr const char* kDirectory = R"({
  "members": [
    {"id": "alice", "channels": ["sms"], "addresses": {"sms": "+12125550101"}},
    {"id": "bob", "channels": ["sms"], "addresses": {"sms": "+12125550102"}},
    {"id": "mgr", "channels": ["sms"], "addresses": {"sms": "+12125550199"}}],
  "groups": [{"id": "ops", "members": ["alice", "bob"], "onCallManager": "mgr"}]})";

inline lifeline::CascadeTrigger Trigger(const std::string& incident) {
  lifeline::CascadeTrigger t;
  t.incident_id = incident;
  t.severity = lifeline::Severity::kP1;
  t.stakeholder_group_id = "ops";
  t.message_template = "Data center outage. Reply 1 to acknowledge.";
  t.timestamp = kT0;
  return t;
}

class AcceptingSms final : public lifeline::ChannelSender {
 public:
  void Send(const lifeline::OutboundMessage& m, lifeline::SendCallback done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent_.push_back(m.member_id + "/" + m.incident_id);
    }
    done(lifeline::SendResult{lifeline::SendResult::Kind::kAccepted, "SM" + std::to_string(m.message_id), 0});
  }
  std::vector<std::string> sent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> sent_;
};

// Opens (or reopens) the cascade file at `now` and starts its runtime;
// `status` says whether that worked.
struct World {
  World(const std::string& db_path, lifeline::UnixMillis now) : clock(now), relay(/*audit_required=*/true) {
    auto d = lifeline::StakeholderDirectory::FromJson(kDirectory);
    if (!d.ok()) {
      status = d.status();
      return;
    }
    directory = std::move(*d);
    lifeline::DurableCascadeOptions options;
    options.database.path = db_path;
    auto cascade = lifeline::DurableCascade::Open(options, &directory, nullptr, &relay, clock.Now());
    if (!cascade.ok()) {
      status = cascade.status();
      return;
    }
    recovered_events = (*cascade)->stats().recovered_events;
    runtime = std::make_unique<lifeline::CascadeRuntime>(
        std::move(*cascade), std::map<lifeline::Channel, lifeline::ChannelSender*>{{lifeline::Channel::kSms, &sms}},
        &clock, &relay);
    runtime->Start();
  }
  ~World() {
    if (runtime) runtime->Stop();
  }

  lifeline::Status status;
  lifeline::ManualClock clock;
  lifeline::StakeholderDirectory directory;
  lifeline::CascadeEventRelay relay;
  AcceptingSms sms;
  std::int64_t recovered_events = 0;
  std::unique_ptr<lifeline::CascadeRuntime> runtime;
};

}  // namespace cascade_audit_scenario

#endif  // LIFELINE_TESTS_SUPPORT_CASCADE_AUDIT_SCENARIO_HPP_
