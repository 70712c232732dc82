// The callback outbox and the audit trail under SIGKILL: a real child
// process (lifeline_helper_ivr_audited) delivers five callbacks with a real
// AuditLog, then its audit "disk" fills while five more are at the webhook.
// Their DELIVERED outcomes cannot be recorded, so the outbox keeps those
// requests IN_FLIGHT, and the child is killed in that state. Reopened with
// a working log, the engine re-sends each held request once (resend=1) and
// records its outcome: every callback ends with exactly one DELIVERED record
// in the trail, none is lost, and only the held ones were POSTed twice.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ivr/ivr_engine.hpp"
#include "support/audit_fixture.hpp"
#include "support/child_process.hpp"
#include "support/fake_platforms.hpp"
#include "support/store_test_files.hpp"

using namespace lifeline;

namespace {

struct Delivered {
  int records = 0;
  int resends = 0;
};

// DELIVERED audit records per request id, and how many say resend=1.
std::map<std::string, Delivered> DeliveredRecords(AuditLog& log, int* captured) {
  std::map<std::string, Delivered> out;
  *captured = 0;
  Status s = log.Read(AuditFilter(), AuditReader{"auditor", ""}, audit_test::kT0, [&](const AuditView& v) {
    const AuditRecord& r = v.record;
    if (r.event == "CALLBACK_CAPTURED") ++*captured;
    if (r.event != "CALLBACK_SUBMISSION" || r.status != "DELIVERED") return true;
    std::size_t at = r.detail.find("requestId=");
    REQUIRE(at != std::string::npos);
    std::string id = r.detail.substr(at + 10, r.detail.find(' ', at) - at - 10);
    Delivered& d = out[id];
    ++d.records;
    if (r.detail.find("resend=1") != std::string::npos) ++d.resends;
    return true;
  });
  REQUIRE(s.ok());
  return out;
}

}  // namespace

TEST_CASE("SIGKILL while the audit trail refuses delivery outcomes: each is re-sent once and recorded") {
  lifeline::testing::FakeWebhook hook;
  // Every first attempt reaches the webhook but is answered 2 s later, so
  // the second batch's outcomes come back after the child closed its gate
  // (it closes it as soon as its five submits have returned).
  hook.server().DelayRequests(10, std::chrono::milliseconds(2000));
  lifeline::testing::TempDbPath outbox("ivr-audit-crash");
  const std::string audit_dir = audit_test::FreshDir("ivr_crash");
  const AuditLogOptions audit_options = audit_test::TestOptions(audit_dir, audit_test::TestKeys());
  const std::string url = hook.base_url() + "/callbacks";

  std::vector<std::string> first, held;
  {
    lifeline::testing::Child child("lifeline_helper_ivr_audited", {outbox.path(), url, audit_dir});
    bool ready = child.ReadUntil(std::chrono::seconds(90), [](const std::string& l) { return l == "HELD"; });
    REQUIRE(ready);
    bool drained = false;
    for (const std::string& l : child.lines()) {
      if (l == "DRAINED") drained = true;
      if (l.rfind("SUBMITTED ", 0) == 0) (drained ? held : first).push_back(l.substr(10));
    }
    child.Kill();
  }
  REQUIRE(first.size() == 5);
  REQUIRE(held.size() == 5);
  {
    std::map<std::string, int> posts = hook.deliveries();
    for (const std::string& id : first) CHECK(posts[id] == 1);
    for (const std::string& id : held) CHECK(posts[id] == 1);  // reached the webhook, outcome unrecorded
  }

  auto log = AuditLog::Open(audit_options);
  REQUIRE(log.ok());
  {
    int captured = 0;
    std::map<std::string, Delivered> before = DeliveredRecords(**log, &captured);
    CHECK(captured == 10);
    for (const std::string& id : first) CHECK(before[id].records == 1);
    for (const std::string& id : held) CHECK(before[id].records == 0);
  }

  auto engine = IvrEngine::Open(R"({"platform":"webhook","webhook":{"url":")" + url +
                                    R"("},"outbox":{"path":")" + outbox.path() +
                                    R"("},"rate_limit":{"enabled":false}})",
                                std::make_shared<SystemClock>());
  REQUIRE(engine.ok());
  (*engine)->SetAuditSink(log->get());
  REQUIRE((*engine)->Drain(60'000).ok());
  (*engine)->SetAuditSink(nullptr);
  engine->reset();

  std::map<std::string, int> posts = hook.deliveries();
  for (const std::string& id : first) CHECK(posts[id] == 1);   // settled before the kill: never again
  for (const std::string& id : held) CHECK(posts[id] == 2);    // the one re-send of an unknown outcome
  int captured = 0;
  std::map<std::string, Delivered> after = DeliveredRecords(**log, &captured);
  CHECK(captured == 10);
  for (const std::string& id : first) {
    INFO(id);
    CHECK(after[id].records == 1);
    CHECK(after[id].resends == 0);
  }
  for (const std::string& id : held) {
    INFO(id);
    CHECK(after[id].records == 1);  // recorded exactly once, for the re-send
    CHECK(after[id].resends == 1);
  }
  REQUIRE((*log)->Close().ok());
  auto report = VerifyAuditDirectory(audit_options);
  REQUIRE(report.ok());
  INFO(report->message);
  CHECK(report->ok());
}
