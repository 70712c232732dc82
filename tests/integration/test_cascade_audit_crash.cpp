// The cascade's audit trail under SIGKILL: a real child process
// (lifeline_helper_cascade_audited) records one incident in a real AuditLog,
// then its audit "disk" fills while an acknowledgement and a second incident
// happen, and it is killed with their events waiting in memory. The store's
// journal has those steps; the audit watermark says the trail does not.
// Reopened with a working log, the runtime re-emits exactly the unrecorded
// events (recovered=1), sends the held messages only after that, and a second
// reopen emits nothing again. The chain verifies throughout.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "support/audit_fixture.hpp"
#include "support/cascade_audit_scenario.hpp"
#include "support/child_process.hpp"
#include "support/store_test_files.hpp"

using namespace lifeline;
using cascade_audit_scenario::kT0;
using cascade_audit_scenario::World;

namespace {

struct Seen {
  int count = 0;
  int recovered = 0;
};

// How often each "EVENT incident" was recorded, and how many of those carry
// recovered=1.
std::map<std::string, Seen> Tally(AuditLog& log) {
  std::map<std::string, Seen> out;
  Status s = log.Read(AuditFilter(), AuditReader{"auditor", ""}, kT0, [&](const AuditView& v) {
    if (v.record.source != AuditSource::kCascade) return true;
    Seen& seen = out[v.record.event + " " + v.record.incident_id];
    ++seen.count;
    if (v.record.detail.find("recovered=1") != std::string::npos) ++seen.recovered;
    return true;
  });
  REQUIRE(s.ok());
  return out;
}

}  // namespace

TEST_CASE("SIGKILL with cascade events waiting for the audit trail: reopened, each is recorded") {
  lifeline::testing::TempDbPath db("cascade-audit-crash");
  const std::string audit_dir = audit_test::FreshDir("cascade_crash");
  const AuditLogOptions audit_options = audit_test::TestOptions(audit_dir, audit_test::TestKeys());

  int recorded_before = 0, held = 0, backlog = 0;
  {
    lifeline::testing::Child child("lifeline_helper_cascade_audited", {db.path(), audit_dir});
    bool ready = child.ReadUntil(std::chrono::seconds(60),
                                 [](const std::string& l) { return l.rfind("HELD ", 0) == 0; });
    INFO("child said: " << child.lines().size() << " lines");
    REQUIRE(ready);
    for (const std::string& l : child.lines()) {
      std::istringstream in(l);
      std::string word;
      in >> word;
      if (word == "RECORDED") in >> recorded_before;
      if (word == "HELD") in >> held >> backlog;
    }
    child.Kill();
  }
  REQUIRE(recorded_before > 0);
  CHECK(held == 2);      // INC-2's two SMS were claimed and held back
  REQUIRE(backlog > 0);  // the acknowledgement and INC-2, not in the trail

  auto log = AuditLog::Open(audit_options);
  REQUIRE(log.ok());
  {
    std::map<std::string, Seen> before = Tally(**log);
    CHECK(before["CASCADE_STARTED INC-1"].count == 1);
    CHECK(before["CASCADE_STARTED INC-2"].count == 0);
    CHECK(before["STAKEHOLDER_ACKNOWLEDGED INC-1"].count == 0);
  }

  {
    World world(db.path(), kT0 + 60'000);
    REQUIRE(world.status.ok());
    CHECK(world.recovered_events == backlog);  // exactly what waited at the kill
    CHECK(world.sms.sent().empty());           // audit required: held until a log is attached
    REQUIRE(world.runtime->SetAudit(log->get()).ok());
    REQUIRE(world.runtime->Settle(30'000).ok());
    std::vector<std::string> sent = world.sms.sent();
    std::sort(sent.begin(), sent.end());
    CHECK(sent == std::vector<std::string>{"alice/INC-2", "bob/INC-2"});
    CHECK(world.runtime->Metrics().audit_backlog == 0);
  }
  std::map<std::string, Seen> after = Tally(**log);
  CHECK(after["CASCADE_STARTED INC-1"].count == 1);       // recorded before the kill, not again
  CHECK(after["CASCADE_STARTED INC-1"].recovered == 0);
  CHECK(after["STAKEHOLDER_ACKNOWLEDGED INC-1"].count == 1);
  CHECK(after["STAKEHOLDER_ACKNOWLEDGED INC-1"].recovered == 1);
  CHECK(after["CASCADE_STARTED INC-2"].count == 1);
  CHECK(after["CASCADE_STARTED INC-2"].recovered == 1);
  CHECK(after["ATTEMPT_SENT INC-2"].count == 2);
  CHECK(after["ATTEMPT_SENT INC-2"].recovered == 2);

  // A second reopen has nothing left to recover: no record twice.
  {
    World world(db.path(), kT0 + 120'000);
    REQUIRE(world.status.ok());
    CHECK(world.recovered_events == 0);
    REQUIRE(world.runtime->SetAudit(log->get()).ok());
    REQUIRE(world.runtime->Settle(30'000).ok());
  }
  std::map<std::string, Seen> again = Tally(**log);
  CHECK(again["STAKEHOLDER_ACKNOWLEDGED INC-1"].count == 1);
  CHECK(again["CASCADE_STARTED INC-2"].count == 1);
  CHECK(again["ATTEMPT_SENT INC-2"].count == 2);

  REQUIRE((*log)->Close().ok());
  auto report = VerifyAuditDirectory(audit_options);
  REQUIRE(report.ok());
  INFO(report->message);
  CHECK(report->ok());
}

TEST_CASE("A clean close with cascade events waiting for the audit trail loses none") {
  lifeline::testing::TempDbPath db("cascade-audit-close");
  RecordingAuditSink audit;
  audit.FailWith(IoError("No space left on device"));
  {
    World world(db.path(), kT0);
    REQUIRE(world.status.ok());
    REQUIRE(world.runtime->SetAudit(&audit).ok());
    REQUIRE(world.runtime->Trigger(cascade_audit_scenario::Trigger("INC-C")).ok());
    REQUIRE(world.runtime->Settle(30'000).ok());
    CHECK(world.sms.sent().empty());
    CHECK(world.runtime->Metrics().audit_backlog > 0);
  }  // Stop(), then the store closes with the events unrecorded
  audit.FailWith(Status::Ok());
  World world(db.path(), kT0 + 1'000);
  REQUIRE(world.status.ok());
  CHECK(world.recovered_events > 0);
  REQUIRE(world.runtime->SetAudit(&audit).ok());
  REQUIRE(world.runtime->Settle(30'000).ok());
  int started = 0;
  for (const AuditEvent& e : audit.events()) {
    CHECK(e.detail.find("recovered=1") != std::string::npos);
    if (e.event == "CASCADE_STARTED" && e.incident_id == "INC-C") ++started;
  }
  CHECK(started == 1);
  CHECK(world.sms.sent().size() == 2);
}
