// durable_store.hpp -- the persistence port: the callback outbox.
//
// Overview: the callback pipeline (issue 3, section 3) must record a request
// durably before the caller is told "recorded", survive a kill at any moment,
// and re-send a request only when the process died between the POST and the
// outbox update. `OutboxStore` is the small interface the pipeline needs for
// that; `lib/store/sqlite_outbox_store.hpp` implements it on SQLite (WAL).
// The core only sees this header: it stays free of SQLite, threads and
// clocks (every call that needs the time takes `now`).
//
// A record's life:
//
//   from          call              to          note
//   (none)        Enqueue           PENDING     committed before OK
//   PENDING       ClaimDue          IN_FLIGHT   attempts + 1; committed before the POST
//   IN_FLIGHT     MarkDelivered     DELIVERED   the platform accepted it
//   IN_FLIGHT     MarkRetry         PENDING     due again at next_attempt_at
//   IN_FLIGHT     Recover           PENDING     start-up only; resend = true, resends + 1
//   PENDING or    MarkDead          DEAD        kept until re-driven, never deleted
//     IN_FLIGHT
//   DEAD          Redrive(All)      PENDING     attempts = 0, due now
//   DELIVERED     PurgeDelivered    (deleted)   once older than the retention
//
// ClaimDue marks records IN_FLIGHT and commits that *before* the POST is
// sent. So after a crash, an IN_FLIGHT record is exactly one whose POST may
// or may not have reached the platform; Recover() sends it again, flagged
// `resend`, and counts it. That is the only way a record is ever sent twice,
// and the request id travelling with it lets the far side notice.
//
// Idempotency: the store refuses a second record with the same request_id
// (kDuplicate) for as long as the first one is kept, i.e. until a DELIVERED
// record is purged. This is the second line of defence behind the
// pipeline's in-memory dedup window.
//
// Dead letters are kept until an operator re-drives them; nothing here ever
// deletes one.
//
// Example (the pipeline's loop, simplified):
//
//   store->Recover(now);                         // once, at start-up
//   store->Enqueue(record);                      // OK: tell the caller "recorded"
//   auto due = store->ClaimDue(now, 64);         // committed IN_FLIGHT
//   for (auto& r : *due) transport.Post(r);      // ... later, per response:
//   store->MarkDelivered(r.request_id, now, provider_id);
//   store->MarkRetry(r.request_id, now + backoff, "HTTP 503");
//   store->MarkDead(r.request_id, "HTTP 400: invalid queueId", now);
//   next_wakeup = store->NextDueAt();
//
// Thread-safety: implementations say. `SqliteOutboxStore` is safe from any
// number of threads.
#ifndef LIFELINE_DURABLE_STORE_HPP_
#define LIFELINE_DURABLE_STORE_HPP_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// How long a DELIVERED record is kept (and its request id refused as a
// duplicate) before PurgeDelivered may delete it: 24 hours.
inline constexpr DurationMillis kDefaultOutboxRetentionMillis = 24LL * 60 * 60 * 1000;

// One callback request in the outbox.
struct OutboxRecord {
  enum class State {
    kPending,    // waiting for next_attempt_at
    kInFlight,   // claimed; a POST may be under way
    kDelivered,  // the platform accepted it
    kDead,       // gave up; kept for listing and re-drive
  };

  // --- Set by the caller at Enqueue. -------------------------------------
  // The idempotency key (a keyed hash, never raw caller data). Not empty.
  std::string request_id;
  // The request as the pipeline will send it. Opaque to the store; never
  // copied into an error message.
  std::string payload_json;
  UnixMillis created_at = 0;
  // When the record becomes due. Usually created_at.
  UnixMillis next_attempt_at = 0;
  // Attempts made so far (>= 0). ClaimDue adds one per claim.
  int attempts = 0;
  // The last attempt's error, "" if none. No PII: a status line, an error
  // code, never a response body.
  std::string last_error;
  // Must be kPending at Enqueue.
  State state = State::kPending;

  // --- Maintained by the store; ignored by Enqueue. -----------------------
  // True when the next (or the last) POST of this record may repeat one
  // whose outcome was lost in a crash. Set by Recover, cleared by MarkRetry
  // (the outcome of the attempt is then known) and Redrive.
  bool resend = false;
  // How many times Recover has put this record back. Never reset.
  int resends = 0;
  // When the record was last claimed (0: never).
  UnixMillis claimed_at = 0;
  // When it became DELIVERED or DEAD (0 otherwise).
  UnixMillis settled_at = 0;
  // The platform's id for the created callback, from MarkDelivered.
  std::string provider_reference;
};

// "PENDING", "IN_FLIGHT", "DELIVERED" or "DEAD".
inline const char* OutboxStateName(OutboxRecord::State state) {
  switch (state) {
    case OutboxRecord::State::kPending:
      return "PENDING";
    case OutboxRecord::State::kInFlight:
      return "IN_FLIGHT";
    case OutboxRecord::State::kDelivered:
      return "DELIVERED";
    case OutboxRecord::State::kDead:
      return "DEAD";
  }
  return "PENDING";
}

// The result of one attempt, for RecordOutcomes: many of them are written in
// one transaction (one fsync), which is what lets the pipeline keep up with
// thousands of callbacks per second.
struct OutboxOutcome {
  enum class Kind { kDelivered, kRetry, kDead };

  Kind kind = Kind::kDelivered;
  std::string request_id;
  // kDelivered, kDead: when it happened (settled_at).
  UnixMillis at = 0;
  // kRetry: when the record becomes due again.
  UnixMillis next_attempt_at = 0;
  // kDelivered: the provider reference. kRetry, kDead: the error.
  std::string detail;

  static OutboxOutcome Delivered(std::string request_id, UnixMillis now,
                                 std::string provider_reference) {
    return {Kind::kDelivered, std::move(request_id), now, 0,
            std::move(provider_reference)};
  }
  static OutboxOutcome Retry(std::string request_id, UnixMillis next_attempt_at,
                             std::string last_error) {
    return {Kind::kRetry, std::move(request_id), 0, next_attempt_at,
            std::move(last_error)};
  }
  static OutboxOutcome Dead(std::string request_id, std::string last_error,
                            UnixMillis now) {
    return {Kind::kDead, std::move(request_id), now, 0, std::move(last_error)};
  }
};

// Gauges and counters for metrics (outbox depth, oldest pending age,
// re-sends).
struct OutboxStats {
  std::uint64_t pending = 0;
  std::uint64_t in_flight = 0;
  // DELIVERED records still kept (not yet purged).
  std::uint64_t delivered = 0;
  std::uint64_t dead = 0;
  // The oldest created_at among records not yet delivered: PENDING and
  // IN_FLIGHT (a stuck in-flight record is backlog too). Empty when none.
  std::optional<UnixMillis> oldest_pending_created_at;
  // Every record Recover has ever put back, over the file's whole life
  // (survives purges and restarts).
  std::uint64_t total_resends = 0;
};

// The callback outbox port. Every method that fails with a storage error
// returns kIo and leaves the store as it was before the call.
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // Durably records a new PENDING record: when this returns OK the record is
  // committed (see the implementation for the exact guarantee). Errors:
  // kDuplicate when a record with this request_id is kept; kInvalidArgument
  // for an empty request_id, a negative attempts or a state other than
  // kPending; kIo (nothing recorded).
  virtual Status Enqueue(const OutboxRecord& record) = 0;

  // Enqueue for many records in one transaction. On OK, one Status per
  // record, in order: OK, kDuplicate (also for a repeat inside the batch) or
  // kInvalidArgument; the OK ones are committed. On kIo nothing is.
  virtual Result<std::vector<Status>> EnqueueBatch(
      const std::vector<OutboxRecord>& records) = 0;

  // Atomically moves up to `max` PENDING records with next_attempt_at <= now
  // to IN_FLIGHT (attempts + 1, claimed_at = now), commits, and returns them
  // in the state they now have, earliest due first (then oldest, then first
  // enqueued). Call it before sending; send only what it returned.
  virtual Result<std::vector<OutboxRecord>> ClaimDue(UnixMillis now, std::size_t max) = 0;

  // IN_FLIGHT -> DELIVERED. kNotFound for an unknown id; kState when the
  // record is not IN_FLIGHT.
  virtual Status MarkDelivered(std::string_view request_id, UnixMillis now,
                               std::string_view provider_reference) = 0;
  // IN_FLIGHT -> PENDING, due at next_attempt_at, with last_error; clears
  // `resend`. kNotFound; kState when not IN_FLIGHT.
  virtual Status MarkRetry(std::string_view request_id, UnixMillis next_attempt_at,
                           std::string_view last_error) = 0;
  // IN_FLIGHT or PENDING -> DEAD, with last_error. kNotFound; kState when
  // already DELIVERED or DEAD.
  virtual Status MarkDead(std::string_view request_id, std::string_view last_error,
                          UnixMillis now) = 0;
  // The three above for many records in one transaction. On OK, one Status
  // per outcome, in order (the OK ones are committed); on kIo none is.
  virtual Result<std::vector<Status>> RecordOutcomes(
      const std::vector<OutboxOutcome>& outcomes) = 0;

  // Call once after opening, before the first ClaimDue: every IN_FLIGHT
  // record (left by a process that died after claiming it) goes back to
  // PENDING, due at `now`, with resend = true and resends + 1, and the
  // store's total_resends grows by as many. Returns how many. kState when
  // called after ClaimDue on the same store object (that would re-send
  // requests this process still has in flight).
  virtual Result<std::size_t> Recover(UnixMillis now) = 0;

  // DEAD records, oldest enqueued first.
  virtual Result<std::vector<OutboxRecord>> ListDead(std::size_t limit,
                                                     std::size_t offset) = 0;
  // DEAD -> PENDING, due at `now`, attempts = 0, resend cleared (last_error
  // is kept for the record). kNotFound; kState when not DEAD.
  virtual Status Redrive(std::string_view request_id, UnixMillis now) = 0;
  // Redrive for every DEAD record. Returns how many.
  virtual Result<std::size_t> RedriveAll(UnixMillis now) = 0;

  // The record as stored, or kNotFound.
  virtual Result<OutboxRecord> Get(std::string_view request_id) = 0;
  virtual Result<OutboxStats> Stats() = 0;
  // The earliest next_attempt_at among PENDING records: when the pipeline
  // should call ClaimDue next. Empty when nothing is pending.
  virtual Result<std::optional<UnixMillis>> NextDueAt() = 0;

  // Deletes DELIVERED records settled at or before now - retention
  // (retention >= 0, kInvalidArgument otherwise). Returns how many. Never
  // touches PENDING, IN_FLIGHT or DEAD records.
  virtual Result<std::size_t> PurgeDelivered(UnixMillis now, DurationMillis retention) = 0;
};

// Forwards every call to another OutboxStore (not owned). Tests derive from
// it and override one method to inject a fault, keeping the rest real, as
// LevelDB's EnvWrapper does.
//
//   class FailingDelivery : public ForwardingOutboxStore {
//    public:
//     using ForwardingOutboxStore::ForwardingOutboxStore;
//     Status MarkDelivered(std::string_view, UnixMillis, std::string_view) override {
//       return IoError("injected");
//     }
//   };
class ForwardingOutboxStore : public OutboxStore {
 public:
  explicit ForwardingOutboxStore(OutboxStore* target) : target_(target) {}

  OutboxStore* target() const { return target_; }

  Status Enqueue(const OutboxRecord& record) override { return target_->Enqueue(record); }
  Result<std::vector<Status>> EnqueueBatch(const std::vector<OutboxRecord>& records) override {
    return target_->EnqueueBatch(records);
  }
  Result<std::vector<OutboxRecord>> ClaimDue(UnixMillis now, std::size_t max) override {
    return target_->ClaimDue(now, max);
  }
  Status MarkDelivered(std::string_view request_id, UnixMillis now,
                       std::string_view provider_reference) override {
    return target_->MarkDelivered(request_id, now, provider_reference);
  }
  Status MarkRetry(std::string_view request_id, UnixMillis next_attempt_at,
                   std::string_view last_error) override {
    return target_->MarkRetry(request_id, next_attempt_at, last_error);
  }
  Status MarkDead(std::string_view request_id, std::string_view last_error,
                  UnixMillis now) override {
    return target_->MarkDead(request_id, last_error, now);
  }
  Result<std::vector<Status>> RecordOutcomes(
      const std::vector<OutboxOutcome>& outcomes) override {
    return target_->RecordOutcomes(outcomes);
  }
  Result<std::size_t> Recover(UnixMillis now) override { return target_->Recover(now); }
  Result<std::vector<OutboxRecord>> ListDead(std::size_t limit, std::size_t offset) override {
    return target_->ListDead(limit, offset);
  }
  Status Redrive(std::string_view request_id, UnixMillis now) override {
    return target_->Redrive(request_id, now);
  }
  Result<std::size_t> RedriveAll(UnixMillis now) override { return target_->RedriveAll(now); }
  Result<OutboxRecord> Get(std::string_view request_id) override {
    return target_->Get(request_id);
  }
  Result<OutboxStats> Stats() override { return target_->Stats(); }
  Result<std::optional<UnixMillis>> NextDueAt() override { return target_->NextDueAt(); }
  Result<std::size_t> PurgeDelivered(UnixMillis now, DurationMillis retention) override {
    return target_->PurgeDelivered(now, retention);
  }

 private:
  OutboxStore* target_;
};

}  // namespace lifeline

#endif  // LIFELINE_DURABLE_STORE_HPP_
