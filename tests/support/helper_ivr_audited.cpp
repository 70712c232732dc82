// helper_ivr_audited.cpp -- a child process for the IVR audit crash test.
//
//   lifeline_helper_ivr_audited <outbox.sqlite> <webhook url> <audit-dir>
//
// Runs an IvrEngine with a durable outbox and a real AuditLog in
// <audit-dir> (the test keys of audit_fixture.hpp), behind a gate that can
// make the log refuse like a full disk. The parent's webhook answers every
// first attempt 2 s late, so that responses arrive well after submit returns.
//   1. five callbacks are submitted and drained: captured, delivered and
//      audited;                                    prints "SUBMITTED <id>" each, then "DRAINED"
//   2. five more are submitted (their captures audited), then the gate
//      closes: their delivery outcomes are refused by the log while their
//      requests are at the webhook;                prints "SUBMITTED <id>" each
//   3. once all ten deliveries are in and a refusal was counted, it prints
//      "HELD" and waits to be killed (SIGKILL).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ivr/ivr_engine.hpp"
#include "support/audit_fixture.hpp"
#include "support/helper_process.hpp"

using namespace lifeline;
using lifeline::testing::Line;

namespace {

int Fail(const std::string& what, const Status& s) {
  return lifeline::testing::Fail("helper_ivr_audited", what, s);
}

// The number after "\"<key>\":" in a metrics JSON object.
long Metric(const std::string& json, const std::string& key) {
  std::size_t at = json.find("\"" + key + "\":");
  return at == std::string::npos ? -1 : std::atol(json.c_str() + at + key.size() + 3);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <outbox.sqlite> <webhook url> <audit-dir>\n", argv[0]);
    return 2;
  }
  auto log = AuditLog::Open(audit_test::TestOptions(argv[3], audit_test::TestKeys()));
  if (!log.ok()) return Fail("audit open", log.status());
  lifeline::testing::AuditGate gate(log->get());
  const std::string config = std::string(R"({"platform":"webhook","webhook":{"url":")") + argv[2] +
                             R"("},"outbox":{"path":")" + argv[1] +
                             R"("},"rate_limit":{"enabled":false},"max_in_flight":8})";
  auto engine = IvrEngine::Open(config, std::make_shared<SystemClock>());
  if (!engine.ok()) return Fail("engine open", engine.status());
  (*engine)->SetAuditSink(&gate);

  auto submit = [&](int i) -> Status {
    CallbackSubmission s;
    s.caller_phone = "+1415" + std::to_string(3000000 + i);
    s.original_queue_id = "q-audit-crash";
    auto r = (*engine)->Submit(s);
    if (!r.ok()) return r.status();
    Line("SUBMITTED " + r->request_id);
    return Status::Ok();
  };
  for (int i = 0; i < 5; ++i) {
    if (Status s = submit(i); !s.ok()) return Fail("submit", s);
  }
  if (Status s = (*engine)->Drain(60'000); !s.ok()) return Fail("drain", s);
  Line("DRAINED");

  for (int i = 5; i < 10; ++i) {
    if (Status s = submit(i); !s.ok()) return Fail("submit", s);
  }
  gate.Close();
  for (int waited = 0; waited < 60'000; waited += 10) {
    auto metrics = (*engine)->MetricsJson();
    if (metrics.ok() && Metric(*metrics, "callbacks_delivered") == 10 &&
        Metric(*metrics, "audit_failures") >= 1) {
      Line("HELD");
      for (;;) ::pause();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Fail("hold", Status(StatusCode::kTimeout, "the deliveries did not come back"));
}
