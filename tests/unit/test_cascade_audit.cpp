#include <catch2/catch.hpp>

#include "lifeline/cascade_audit.hpp"

using lifeline::AuditSource;
using lifeline::CascadeAuditSink;
using lifeline::CascadeEvent;
using lifeline::CascadeEventType;
using lifeline::Channel;
using lifeline::RecordingAuditSink;

namespace {
struct Counting : lifeline::CascadeEventSink {
  int seen = 0;
  void OnEvent(const CascadeEvent&) override { ++seen; }
};
}  // namespace

TEST_CASE("Cascade events become audit records, the next sink still sees them") {
  Counting next;
  CascadeAuditSink sink(&next);
  RecordingAuditSink audit;
  CascadeEvent e;
  e.type = CascadeEventType::kCascadeFailure;
  e.at = 1716215600000;
  e.incident_id = "INC-1";
  e.group_id = "ops";
  e.member_id = "m-7";
  e.channel = Channel::kSms;
  e.attempt_id = 42;
  e.detail = "3 consecutive failures";
  sink.OnEvent(e);  // no audit attached yet
  CHECK(audit.events().empty());
  sink.SetAudit(&audit);
  sink.OnEvent(e);
  e.type = CascadeEventType::kContactDataStale;
  e.stale_contact_data = true;
  e.channel.reset();
  e.attempt_id = 0;
  sink.OnEvent(e);
  std::vector<lifeline::AuditEvent> recorded = audit.events();  // a copy
  REQUIRE(recorded.size() == 2);
  const auto& first = recorded[0];
  CHECK(first.source == AuditSource::kCascade);
  CHECK(first.time == 1716215600000);
  CHECK(first.incident_id == "INC-1");
  CHECK(first.subject == "m-7");
  CHECK(first.channel == "sms");
  CHECK(first.event == lifeline::CascadeEventName(CascadeEventType::kCascadeFailure));
  CHECK(first.detail == "group=ops attempt=42 3 consecutive failures");
  CHECK(recorded[1].status == "stale_contact_data");
  CHECK(next.seen == 3);
  audit.FailWith(lifeline::IoError("disk full"));
  sink.OnEvent(e);
  CHECK(sink.failures() == 1);
  CHECK(next.seen == 4);
}
