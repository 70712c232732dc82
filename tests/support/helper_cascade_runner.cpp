// helper_cascade_runner.cpp -- a child process for the cascade crash test.
//
//   lifeline_helper_cascade_runner <db-path> <members> [slow]
//
// With "slow", every send takes 5 ms between the SENT line (the POST reached
// the carrier) and the send result being recorded, so that a SIGKILL right
// after a SENT line lands in the unknown-outcome window.
//
// Runs (or resumes) one P1 mass activation of <members> stakeholders on a
// DurableCascade file, in simulated time (500 ms per tick, resuming at the
// journal's last instant after a restart), against an in-process fake
// carrier:
//   - SMS: the first 150 sends are accepted, the next 40 get 429 with a 2 s
//     Retry-After, then accepted again (a throttling carrier);
//   - every accepted message is DELIVERED one tick later (receipts held in
//     memory only, so a kill loses some: the receipt timeout then works);
//   - member i acknowledges on SMS when i % 3 == 0, on email when i % 3 == 1,
//     never when i % 3 == 2 (those are escalated to the manager).
// Each line on stdout is one write(2):
//   SENT <message_id> <resend 0|1> <endpoint> <sim_ms>   after the claim committed
//   REFUSED <message_id> <sim_ms>                         a 429
//   DONE <acked> <escalated> <other> <end_sim_ms> <resends> <abandoned>
// The parent SIGKILLs it at random moments and restarts it.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "lifeline/cascade_engine.hpp"
#include "store/durable_cascade.hpp"
#include "support/helper_process.hpp"

using namespace lifeline;
using lifeline::testing::Line;

namespace {

constexpr UnixMillis kT0 = 1'716'215'520'000;
constexpr DurationMillis kTick = 500;

int Fail(const std::string& what, const Status& s) {
  return lifeline::testing::Fail("helper_cascade_runner", what, s);
}

struct PendingReceipt {
  UnixMillis due;
  std::string ref;
  std::string member;
  Channel channel;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s <db-path> <members> [slow]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const int members = std::atoi(argv[2]);
  const bool slow = argc == 4 && std::string(argv[3]) == "slow";

  std::string json = "{\"members\":[";
  for (int i = 0; i < members; ++i) {
    json += "{\"id\":\"m" + std::to_string(i) + "\",\"channels\":[\"sms\",\"email\"],";
    json += "\"addresses\":{\"sms\":\"+1555" + std::to_string(1000000 + i) +
            "\",\"email\":\"m" + std::to_string(i) + "@example.com\"}},";
  }
  json += "{\"id\":\"mgr\",\"channels\":[\"voice\"],\"addresses\":{\"voice\":\"+15550009999\"}}],";
  json += "\"groups\":[{\"id\":\"all\",\"onCallManager\":\"mgr\",\"members\":[";
  for (int i = 0; i < members; ++i) json += (i ? ",\"m" : "\"m") + std::to_string(i) + "\"";
  json += "]}]}";
  auto directory = StakeholderDirectory::FromJson(json);
  if (!directory.ok()) return Fail("directory", directory.status());

  DurableCascadeOptions options;
  options.database.path = path;
  options.database.synchronous = SqliteSynchronous::kNormal;
  auto opened = DurableCascade::Open(options, &*directory, nullptr, nullptr, kT0);
  if (!opened.ok()) return Fail("open", opened.status());
  DurableCascade& c = **opened;
  UnixMillis now = c.last_journal_at() + 1;

  const std::string incident = "INC-CRASH";
  if (c.engine().FindIncident(incident) == nullptr) {
    CascadeTrigger t;
    t.incident_id = incident;
    t.severity = Severity::kP1;
    t.stakeholder_group_id = "all";
    t.message_template = "Data center outage. Reply 1 to acknowledge.";
    t.timestamp = now;
    auto r = c.Trigger(t, now);
    if (!r.ok()) return Fail("trigger", r.status());
  }

  // The carrier's 429 window is counted in this process only; a restart
  // gets a fresh carrier (it has forgotten its counter too).
  int sms_sends = 0;
  std::deque<PendingReceipt> receipts;
  auto send = [&](const ClaimedMessage& cm) -> Status {
    const OutboundMessage& m = cm.message;
    if (m.channel == Channel::kSms && !cm.resend) {
      ++sms_sends;
      if (sms_sends > 150 && sms_sends <= 190) {
        Line("REFUSED " + std::to_string(m.message_id) + " " + std::to_string(now));
        return c.OnSendResult(m.message_id, {SendResult::Kind::kThrottled, "", 2000}, now);
      }
    }
    Line("SENT " + std::to_string(m.message_id) + " " + (cm.resend ? "1 " : "0 ") + m.endpoint +
         " " + std::to_string(now));
    std::string ref = "R" + std::to_string(m.message_id);
    if (slow) ::usleep(5000);
    receipts.push_back({now + kTick, ref, m.member_id, m.channel});
    return c.OnSendResult(m.message_id, {SendResult::Kind::kAccepted, ref, 0}, now);
  };

  auto unknown = c.TakeUnknownOutcomes(now);
  if (!unknown.ok()) return Fail("unknown outcomes", unknown.status());
  for (const ClaimedMessage& cm : *unknown) {
    Status s = send(cm);
    if (!s.ok()) return Fail("resend", s);
  }

  const IncidentCascade* inc = c.engine().FindIncident(incident);
  for (int tick = 0; tick < 20000; ++tick) {
    now += kTick;
    while (!receipts.empty() && receipts.front().due <= now) {
      PendingReceipt r = receipts.front();
      receipts.pop_front();
      Status s = c.OnProviderReceipt(r.ref, AttemptStatus::kDelivered, now);
      if (!s.ok()) return Fail("receipt", s);
      if (r.member == "mgr") continue;
      int i = std::atoi(r.member.c_str() + 1);
      if ((i % 3 == 0 && r.channel == Channel::kSms) ||
          (i % 3 == 1 && r.channel == Channel::kEmail)) {
        s = c.Acknowledge(incident, r.member, r.channel, now);
        if (!s.ok()) return Fail("ack", s);
      }
    }
    Status s = c.OnTimer(now);
    if (!s.ok()) return Fail("timer", s);
    auto out = c.TakeOutbound(now);
    if (!out.ok()) return Fail("take", out.status());
    for (const ClaimedMessage& cm : *out) {
      s = send(cm);
      if (!s.ok()) return Fail("send", s);
    }
    // Done when every stakeholder is final and the manager's messages are out.
    int acked = 0, escalated = 0, other = 0;
    for (const std::string& id : inc->member_ids) {
      const StakeholderCascade* st = c.engine().FindStakeholder(incident, id);
      if (st->status == StakeholderStatus::kAcknowledged) ++acked;
      else if (st->status == StakeholderStatus::kEscalated) ++escalated;
      else ++other;
    }
    if (other == 0 && c.engine().QueuedCount("voice.priority") == 0 && receipts.empty()) {
      Line("DONE " + std::to_string(acked) + " " + std::to_string(escalated) + " " +
           std::to_string(other) + " " + std::to_string(now) + " " +
           std::to_string(c.stats().resends) + " " + std::to_string(c.stats().abandoned));
      return 0;
    }
  }
  Line("DONE-TIMEOUT");
  return 1;
}
