// The outbox port itself (include/lifeline/durable_store.hpp): names,
// outcome factories, and ForwardingOutboxStore passing every argument and
// result through unchanged. No SQLite here.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "lifeline/durable_store.hpp"

using lifeline::ForwardingOutboxStore;
using lifeline::OutboxOutcome;
using lifeline::OutboxRecord;
using lifeline::OutboxStats;
using lifeline::OutboxStore;
using lifeline::Result;
using lifeline::Status;
using lifeline::StatusCode;
using lifeline::UnixMillis;

namespace {

// Records the last call and its arguments; returns distinctive results.
class RecordingStore final : public OutboxStore {
 public:
  std::string call;
  std::string id, text;
  UnixMillis t = 0;
  std::size_t a = 0, b = 0;
  std::size_t batch = 0;

  Status Enqueue(const OutboxRecord& r) override {
    call = "Enqueue";
    id = r.request_id;
    return Status(StatusCode::kDuplicate, "dup");
  }
  Result<std::vector<Status>> EnqueueBatch(const std::vector<OutboxRecord>& r) override {
    call = "EnqueueBatch";
    batch = r.size();
    return std::vector<Status>(r.size());
  }
  Result<std::vector<OutboxRecord>> ClaimDue(UnixMillis now, std::size_t max) override {
    call = "ClaimDue";
    t = now;
    a = max;
    OutboxRecord r;
    r.request_id = "claimed";
    return std::vector<OutboxRecord>{r};
  }
  Status MarkDelivered(std::string_view request_id, UnixMillis now,
                       std::string_view reference) override {
    call = "MarkDelivered";
    id = std::string(request_id);
    t = now;
    text = std::string(reference);
    return Status::Ok();
  }
  Status MarkRetry(std::string_view request_id, UnixMillis next,
                   std::string_view error) override {
    call = "MarkRetry";
    id = std::string(request_id);
    t = next;
    text = std::string(error);
    return Status::Ok();
  }
  Status MarkDead(std::string_view request_id, std::string_view error,
                  UnixMillis now) override {
    call = "MarkDead";
    id = std::string(request_id);
    text = std::string(error);
    t = now;
    return lifeline::StateError("not in flight");
  }
  Result<std::vector<Status>> RecordOutcomes(const std::vector<OutboxOutcome>& o) override {
    call = "RecordOutcomes";
    batch = o.size();
    return lifeline::IoError("disk");
  }
  Result<std::size_t> Recover(UnixMillis now) override {
    call = "Recover";
    t = now;
    return std::size_t{3};
  }
  Result<std::vector<OutboxRecord>> ListDead(std::size_t limit, std::size_t offset) override {
    call = "ListDead";
    a = limit;
    b = offset;
    return std::vector<OutboxRecord>(2);
  }
  Status Redrive(std::string_view request_id, UnixMillis now) override {
    call = "Redrive";
    id = std::string(request_id);
    t = now;
    return lifeline::NotFound("nope");
  }
  Result<std::size_t> RedriveAll(UnixMillis now) override {
    call = "RedriveAll";
    t = now;
    return std::size_t{5};
  }
  Result<OutboxRecord> Get(std::string_view request_id) override {
    call = "Get";
    id = std::string(request_id);
    OutboxRecord r;
    r.request_id = id;
    r.state = OutboxRecord::State::kDead;
    return r;
  }
  Result<OutboxStats> Stats() override {
    call = "Stats";
    OutboxStats s;
    s.pending = 4;
    s.oldest_pending_created_at = 17;
    return s;
  }
  Result<std::optional<UnixMillis>> NextDueAt() override {
    call = "NextDueAt";
    return std::optional<UnixMillis>(99);
  }
  Result<std::size_t> PurgeDelivered(UnixMillis now, lifeline::DurationMillis retention) override {
    call = "PurgeDelivered";
    t = now;
    a = static_cast<std::size_t>(retention);
    return std::size_t{8};
  }
};

}  // namespace

TEST_CASE("Outbox state names are the schema's words") {
  CHECK(std::string(lifeline::OutboxStateName(OutboxRecord::State::kPending)) == "PENDING");
  CHECK(std::string(lifeline::OutboxStateName(OutboxRecord::State::kInFlight)) == "IN_FLIGHT");
  CHECK(std::string(lifeline::OutboxStateName(OutboxRecord::State::kDelivered)) == "DELIVERED");
  CHECK(std::string(lifeline::OutboxStateName(OutboxRecord::State::kDead)) == "DEAD");
  CHECK(lifeline::kDefaultOutboxRetentionMillis == 24 * 60 * 60 * 1000);
  OutboxRecord fresh;
  CHECK(fresh.state == OutboxRecord::State::kPending);
  CHECK(fresh.attempts == 0);
  CHECK_FALSE(fresh.resend);
}

TEST_CASE("OutboxOutcome factories put each value in its field") {
  OutboxOutcome d = OutboxOutcome::Delivered("r-1", 100, "ref");
  CHECK(d.kind == OutboxOutcome::Kind::kDelivered);
  CHECK(d.request_id == "r-1");
  CHECK(d.at == 100);
  CHECK(d.next_attempt_at == 0);
  CHECK(d.detail == "ref");
  OutboxOutcome r = OutboxOutcome::Retry("r-2", 250, "HTTP 503");
  CHECK(r.kind == OutboxOutcome::Kind::kRetry);
  CHECK(r.at == 0);
  CHECK(r.next_attempt_at == 250);
  CHECK(r.detail == "HTTP 503");
  OutboxOutcome x = OutboxOutcome::Dead("r-3", "HTTP 400", 300);
  CHECK(x.kind == OutboxOutcome::Kind::kDead);
  CHECK(x.at == 300);
  CHECK(x.detail == "HTTP 400");
}

TEST_CASE("ForwardingOutboxStore passes every argument and result through") {
  RecordingStore target;
  ForwardingOutboxStore store(&target);
  CHECK(store.target() == &target);

  OutboxRecord rec;
  rec.request_id = "e-1";
  CHECK(store.Enqueue(rec).code() == StatusCode::kDuplicate);
  CHECK((target.call == "Enqueue" && target.id == "e-1"));

  CHECK(store.EnqueueBatch({rec, rec})->size() == 2);
  CHECK((target.call == "EnqueueBatch" && target.batch == 2));

  CHECK(store.ClaimDue(1234, 64)->front().request_id == "claimed");
  CHECK((target.call == "ClaimDue" && target.t == 1234 && target.a == 64));

  CHECK(store.MarkDelivered("d-1", 55, "ref-9").ok());
  CHECK((target.call == "MarkDelivered" && target.id == "d-1" && target.t == 55 &&
         target.text == "ref-9"));

  CHECK(store.MarkRetry("r-1", 66, "HTTP 429").ok());
  CHECK((target.call == "MarkRetry" && target.id == "r-1" && target.t == 66 &&
         target.text == "HTTP 429"));

  CHECK(store.MarkDead("x-1", "HTTP 400", 77).code() == StatusCode::kState);
  CHECK((target.call == "MarkDead" && target.id == "x-1" && target.t == 77 &&
         target.text == "HTTP 400"));

  CHECK(store.RecordOutcomes({OutboxOutcome::Dead("a", "b", 1)}).status().code() ==
        StatusCode::kIo);
  CHECK((target.call == "RecordOutcomes" && target.batch == 1));

  CHECK(store.Recover(88).value() == 3);
  CHECK((target.call == "Recover" && target.t == 88));

  CHECK(store.ListDead(10, 20)->size() == 2);
  CHECK((target.call == "ListDead" && target.a == 10 && target.b == 20));

  CHECK(store.Redrive("z-1", 99).code() == StatusCode::kNotFound);
  CHECK((target.call == "Redrive" && target.id == "z-1" && target.t == 99));

  CHECK(store.RedriveAll(111).value() == 5);
  CHECK((target.call == "RedriveAll" && target.t == 111));

  CHECK(store.Get("g-1")->state == OutboxRecord::State::kDead);
  CHECK((target.call == "Get" && target.id == "g-1"));

  CHECK(store.Stats()->oldest_pending_created_at == 17);
  CHECK(target.call == "Stats");

  CHECK(store.NextDueAt()->value() == 99);
  CHECK(target.call == "NextDueAt");

  CHECK(store.PurgeDelivered(222, 333).value() == 8);
  CHECK((target.call == "PurgeDelivered" && target.t == 222 && target.a == 333));
}
