// AuditBacklog: events a producer holds until the audit sink records them.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "lifeline/audit_backlog.hpp"

using lifeline::AuditBacklog;
using lifeline::AuditEvent;
using lifeline::AuditSink;
using lifeline::RecordingAuditSink;
using lifeline::Status;

namespace {

AuditEvent Event(int i) {
  AuditEvent e;
  e.time = 1716215520000 + i;
  e.event = "E" + std::to_string(i);
  return e;
}

std::vector<std::string> Names(const std::vector<AuditEvent>& events) {
  std::vector<std::string> out;
  for (const AuditEvent& e : events) out.push_back(e.event);
  return out;
}

// Records the first `accept` events of each batch, then refuses the rest of
// it (a sink that is not all-or-none), until told to accept everything.
class PartialSink : public AuditSink {
 public:
  Status Append(const AuditEvent& e) override {
    if (remaining_ == 0) return lifeline::IoError("disk full");
    --remaining_;
    recorded.push_back(e);
    return Status::Ok();
  }
  void Allow(int n) { remaining_ = n; }
  std::vector<AuditEvent> recorded;
  int batches = 0;
  Status AppendBatch(const std::vector<AuditEvent>& events, std::size_t* n) override {
    ++batches;
    return AuditSink::AppendBatch(events, n);
  }

 private:
  int remaining_ = 1 << 30;
};

}  // namespace

TEST_CASE("An empty backlog flushes to anything, even no sink") {
  AuditBacklog backlog;
  CHECK(backlog.Flush(nullptr).ok());
  CHECK(backlog.empty());
  CHECK(backlog.recorded() == 0);
}

TEST_CASE("Held events are recorded oldest first, in batches of max_batch") {
  AuditBacklog backlog(/*max_batch=*/2);
  PartialSink sink;
  for (int i = 0; i < 5; ++i) backlog.Add(Event(i));
  CHECK(backlog.size() == 5);
  REQUIRE(backlog.Flush(&sink).ok());
  CHECK(Names(sink.recorded) == std::vector<std::string>{"E0", "E1", "E2", "E3", "E4"});
  CHECK(sink.batches == 3);
  CHECK(backlog.empty());
  CHECK(backlog.recorded() == 5);
  CHECK(backlog.refusals() == 0);
}

TEST_CASE("A refusal keeps every unrecorded event, in order, and the retry records each once") {
  AuditBacklog backlog(/*max_batch=*/3);
  PartialSink sink;
  for (int i = 0; i < 5; ++i) backlog.Add(Event(i));
  sink.Allow(1);  // the first batch (E0 E1 E2) is cut after E0
  Status s = backlog.Flush(&sink);
  CHECK(s.code() == lifeline::StatusCode::kIo);
  CHECK(backlog.size() == 4);
  CHECK(backlog.refusals() == 1);
  CHECK(backlog.recorded() == 1);
  backlog.Add(Event(5));  // a later event queues behind the held ones
  sink.Allow(0);
  CHECK_FALSE(backlog.Flush(&sink).ok());
  CHECK(backlog.size() == 5);
  sink.Allow(1 << 30);
  REQUIRE(backlog.Flush(&sink).ok());
  CHECK(Names(sink.recorded) == std::vector<std::string>{"E0", "E1", "E2", "E3", "E4", "E5"});
  CHECK(backlog.recorded() == 6);
  CHECK(backlog.refusals() == 2);
}

TEST_CASE("An all-or-none sink: a refused batch is retried whole") {
  AuditBacklog backlog;
  RecordingAuditSink sink;
  backlog.Add(Event(0));
  backlog.Add(Event(1));
  sink.FailWith(lifeline::IoError("disk full"));
  CHECK_FALSE(backlog.Flush(&sink).ok());
  CHECK(sink.size() == 0);
  CHECK(backlog.size() == 2);
  sink.FailWith(Status::Ok());
  REQUIRE(backlog.Flush(&sink).ok());
  CHECK(Names(sink.events()) == std::vector<std::string>{"E0", "E1"});
}

TEST_CASE("No sink: the events stay held (kState), Discard forgets them") {
  AuditBacklog backlog;
  backlog.Add(Event(0));
  Status s = backlog.Flush(nullptr);
  CHECK(s.code() == lifeline::StatusCode::kState);
  CHECK(s.message() == "no audit sink is attached");
  CHECK(backlog.size() == 1);
  CHECK(backlog.Discard() == 1);
  CHECK(backlog.empty());
}
