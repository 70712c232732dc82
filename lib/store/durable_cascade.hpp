// durable_cascade.hpp -- the cascade engine with its state in SQLite.
//
// Overview: `DurableCascade` wraps a `CascadeEngine` (issue 4) and makes it
// survive a crash (kill -9 at any moment) without sending any message twice
// for the same attempt, except when the provider's answer was unknown at the
// crash, and then at most once more, recorded as such (issue 4, section 10).
//
// How: the engine is deterministic (same inputs, same `now` values, same
// outputs, same message ids), so the store is a write-ahead *journal of its
// inputs* -- triggers (with the live directory lookups the engine made),
// send results, receipts, acknowledgements, closes, the `OnTimer` calls that
// had something due, and every `TakeOutbound` that handed out messages --
// each with its `now`. Opening the file replays the journal into a fresh
// engine: every timer comes back as the same UTC instant it was armed for
// (hold, retry, receipt timeout, quiet-hours end, reconciliation), every
// queued-but-unsent message is back in its endpoint queue in the same order,
// and the next `OnTimer(now)` fires what fell due while the process was
// down. Events are not re-emitted during replay.
//
// Sending, exactly like the callback outbox's IN_FLIGHT state:
//
//   1. `TakeOutbound(now)` appends the take to the journal and records every
//      message it hands out in `cascade_messages` as 'sending', and COMMITS,
//      before returning. Only then may the host POST.
//   2. `OnSendResult` journals the provider's answer and moves the message
//      to 'sent' (or 'failed', 'throttled' ...).
//   3. After a crash, a message still 'sending' had an unknown outcome: the
//      POST may or may not have reached the provider. `TakeUnknownOutcomes`
//      returns each such message once, with `resend` set, after committing
//      `resends = 1`. A message found 'sending' with `resends = 1` (a crash
//      during its re-send) is not sent a third time: it is marked 'abandoned'
//      and the engine's receipt timeout (CHANNEL_TIMEOUT, then the retry rule)
//      takes over.
//
// Tables (application_id 'LLCS', its own file, see `SqliteSchema`):
//   cascade_meta(key, value)            created_at: the engine's epoch
//   cascade_journal(seq, kind, at, id, code, ref, extra, payload)
//   cascade_messages(message_id, incident_id, member_id, channel, endpoint,
//                    state, claimed_at, resends, provider_ref, updated_at)
//
// Contract for Open: the `config` and `directory` must be the ones the journal
// was written with (the engine re-resolves group membership from them during
// replay); a replay that hands out different messages than the journal
// recorded is refused with kState "journal replay diverged".
//
// Durability: each call commits its own transaction unless a batch is open
// (`BeginBatch`/`CommitBatch`, for the runtime's tick and the benchmark);
// `TakeOutbound` always commits the batch before returning. With
// synchronous=NORMAL a commit survives SIGKILL; FULL also survives power loss.
//
// Limits: the journal grows with the activity since the file was created
// (about 3 rows per message) and is replayed in full at every open; there is
// no snapshot or compaction yet. Contact records
// returned by a live directory lookup are stored in the journal (the file is
// as sensitive as the directory).
//
// Thread-safety: none; one owner (the runtime's thread) drives it.
#ifndef LIFELINE_LIB_STORE_DURABLE_CASCADE_HPP_
#define LIFELINE_LIB_STORE_DURABLE_CASCADE_HPP_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeline/cascade_engine.hpp"
#include "lifeline/status.hpp"
#include "store/sqlite_database.hpp"

namespace lifeline {

struct DurableCascadeOptions {
  SqliteOptions database;
  CascadeConfig config;
};

// A message handed out for sending; `resend` is true for a re-send after a
// crash left its first send's outcome unknown.
struct ClaimedMessage {
  OutboundMessage message;
  bool resend = false;
};

struct DurableCascadeStats {
  std::int64_t journal_entries = 0;     // rows in the journal now
  std::int64_t replayed_entries = 0;    // applied by Open
  std::int64_t unknown_outcomes = 0;    // 'sending' at open (crash during a send)
  std::int64_t resends = 0;             // re-sent by TakeUnknownOutcomes
  std::int64_t abandoned = 0;           // unknown twice: not sent a third time
  std::int64_t commits = 0;
};

class DurableCascade {
 public:
  static constexpr std::int32_t kApplicationId = 0x4C4C4353;  // 'LLCS'

  // Opens (or creates) the file, migrates it and replays the journal.
  // `directory` must outlive the object; `provider` and `sink` may be null.
  // `now` is the engine's epoch on a fresh file (ignored afterwards).
  static Result<std::unique_ptr<DurableCascade>> Open(DurableCascadeOptions options,
                                                      const StakeholderDirectory* directory,
                                                      DirectoryProvider* provider,
                                                      CascadeEventSink* sink, UnixMillis now);
  ~DurableCascade();
  DurableCascade(const DurableCascade&) = delete;
  DurableCascade& operator=(const DurableCascade&) = delete;

  // The engine's calls, journaled. Errors from the engine are returned as
  // they are (and nothing is journaled for a refused input); kIo when the
  // store fails.
  Result<TriggerResult> Trigger(const CascadeTrigger& trigger, UnixMillis now);
  Result<std::vector<ClaimedMessage>> TakeOutbound(UnixMillis now);
  Status OnSendResult(std::uint64_t message_id, const SendResult& result, UnixMillis now);
  Status OnReceipt(std::uint64_t message_id, AttemptStatus status, UnixMillis now);
  Status OnProviderReceipt(std::string_view provider_ref, AttemptStatus status, UnixMillis now);
  Status Acknowledge(std::string_view incident_id, std::string_view member_id,
                     std::optional<Channel> channel, UnixMillis now);
  Status CloseIncident(std::string_view incident_id, UnixMillis now);
  // Journaled only when something was due (NextDeadline() <= now).
  Status OnTimer(UnixMillis now);
  std::optional<UnixMillis> NextDeadline() const { return engine_->NextDeadline(); }

  // After Open: the messages whose send had an unknown outcome at the crash,
  // each returned at most once over the life of the file (see the file
  // comment). Empty on a clean start.
  Result<std::vector<ClaimedMessage>> TakeUnknownOutcomes(UnixMillis now);

  // Groups the following calls into one transaction (TakeOutbound commits it
  // early). Nested calls are not allowed.
  Status BeginBatch();
  Status CommitBatch();

  // The largest `now` journaled (the engine's epoch on a fresh file): a
  // restarted host must not drive the engine with an earlier time.
  UnixMillis last_journal_at() const { return last_at_; }

  const CascadeEngine& engine() const { return *engine_; }
  DurableCascadeStats stats() const { return stats_; }
  SqliteDatabase& database() { return *db_; }

 private:
  struct Recorder;
  DurableCascade() = default;
  Status Replay();
  Status Append(int kind, UnixMillis at, std::int64_t id, std::int64_t code,
                std::string_view ref, std::int64_t extra, std::string_view payload);
  Status Ensure();   // opens the implicit transaction when no batch is open
  Status Finish();   // commits the implicit transaction
  Status SetMessageState(std::uint64_t id, const char* state, std::string_view ref, UnixMillis at);

  DurableCascadeOptions options_;
  const StakeholderDirectory* directory_ = nullptr;
  std::unique_ptr<SqliteDatabase> db_;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<CascadeEngine> engine_;
  std::optional<SqliteTransaction> tx_;
  bool batch_ = false;
  UnixMillis last_at_ = 0;
  std::map<std::uint64_t, OutboundMessage> unknown_;   // from replay, 'sending' at open
  DurableCascadeStats stats_;
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_STORE_DURABLE_CASCADE_HPP_
