// helper_cascade_audited.cpp -- a child process for the cascade audit crash test.
//
//   lifeline_helper_cascade_audited <db-path> <audit-dir>
//
// Runs a CascadeRuntime on a DurableCascade file with "audit required" and a
// real AuditLog in <audit-dir> (the test keys of audit_fixture.hpp), behind
// a gate that can make it refuse like a full disk:
//   1. INC-1 is triggered and settles: its events are recorded, its two SMS
//      sent;                                       prints "RECORDED <n>"
//   2. the gate closes ("No space left on device"); alice acknowledges INC-1
//      and INC-2 is triggered: their events wait in memory and INC-2's
//      messages are held;                          prints "HELD <held> <backlog>"
//   3. it waits to be killed (SIGKILL).
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "cascade/cascade_event_relay.hpp"
#include "cascade/cascade_runtime.hpp"
#include "store/durable_cascade.hpp"
#include "support/audit_fixture.hpp"
#include "support/cascade_audit_scenario.hpp"
#include "support/helper_process.hpp"

using namespace lifeline;
using lifeline::testing::Line;

namespace {

int Fail(const std::string& what, const Status& s) {
  return lifeline::testing::Fail("helper_cascade_audited", what, s);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <db-path> <audit-dir>\n", argv[0]);
    return 2;
  }
  auto log = AuditLog::Open(audit_test::TestOptions(argv[2], audit_test::TestKeys()));
  if (!log.ok()) return Fail("audit open", log.status());
  lifeline::testing::AuditGate gate(log->get());
  cascade_audit_scenario::World world(argv[1], cascade_audit_scenario::kT0);
  if (!world.status.ok()) return Fail("cascade open", world.status);
  if (Status s = world.runtime->SetAudit(&gate); !s.ok()) return Fail("set audit", s);

  if (auto r = world.runtime->Trigger(cascade_audit_scenario::Trigger("INC-1")); !r.ok()) {
    return Fail("trigger INC-1", r.status());
  }
  if (Status s = world.runtime->Settle(30'000); !s.ok()) return Fail("settle", s);
  Line("RECORDED " + std::to_string(world.runtime->Metrics().audit_recorded));

  gate.Close();
  world.clock.Advance(10'000);
  if (Status s = world.runtime->Acknowledge("INC-1", "alice", Channel::kSms); !s.ok()) {
    return Fail("acknowledge", s);
  }
  if (auto r = world.runtime->Trigger(cascade_audit_scenario::Trigger("INC-2")); !r.ok()) {
    return Fail("trigger INC-2", r.status());
  }
  if (Status s = world.runtime->Settle(30'000); !s.ok()) return Fail("settle", s);
  CascadeRuntimeMetrics m = world.runtime->Metrics();
  Line("HELD " + std::to_string(m.held_messages) + " " + std::to_string(m.audit_backlog));
  for (;;) ::pause();
}
