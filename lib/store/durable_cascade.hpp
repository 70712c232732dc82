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
//   cascade_meta(key, value)            created_at: the engine's epoch;
//                                       addresses_through (v2, see below);
//                                       audited_through (see "Events")
//   cascade_journal(seq, kind, at, id, code, ref, extra, payload)
//   cascade_messages(message_id, incident_id, member_id, channel, endpoint,
//                    state, claimed_at, resends, provider_ref, updated_at)
//   cascade_addresses(address_hash, message_id, claimed_at)          (v2)
//   cascade_secrets(name, value)        v2: the per-file address hash key
//   cascade_ack_redemptions(token_hash, expires_at, redeemed_at)      (v2)
//
// Schema versions (`PRAGMA user_version`, migrations appended, never edited):
// 1 the journal and the message ledger; 2 adds the address index, the
// secrets and the ack-link redemptions (new tables only). A version-1 file
// is migrated at open and its SMS/voice messages are indexed from the
// replay (the journal re-derives every message, address included), so
// replies to messages sent before the upgrade still match.
//
// Inbound SMS replies after a restart (`RecipientsOf`): a reply ("1", "ACK
// <incident>") comes from a phone number, and the store must say who was
// last notified at that number. Phone numbers are PII, so the file keeps no
// address: `cascade_addresses` maps address_hash = HMAC-SHA256(key,
// address), truncated to 128 bits, to the SMS and voice messages sent there
// (other channels are not indexed), where the key is 32 random bytes made
// when the file is created (`cascade_secrets`), or, when
// `DurableCascadeOptions::address_key` is set, HMAC-SHA256(address_key,
// those bytes). Why keyed and not plain SHA-256: the phone-number space is
// small enough to enumerate, so an unkeyed hash is a phone number in
// disguise; keyed, the table (and any export, backup or debug dump of it)
// can only be matched by a holder of the key, and the same number hashes
// differently in every file. What it does not do: with the per-file key
// alone, whoever has the whole file also has the key and can test
// candidate numbers; set `address_key` (kept outside the file) to close
// that. Changing `address_key` later makes earlier messages unmatchable
// (replies to them answer NotFound). Note that the journal already holds
// the contact records of live directory lookups in clear (see "Limits"), so
// such a file is as sensitive as the directory anyway; the hash keeps the
// addresses out of the one table a reply lookup needs.
//
// The index is written behind the claims: `TakeOutbound` keeps the hashes
// of the phone messages it claims in memory (`RecipientsOf` merges them with
// the table) and writes them together, in the claim's transaction, once
// `address_hash_batch` (16384) are pending, and at destruction, moving the
// watermark `addresses_through` to the journal seq of the latest take. A
// random-key index insert in every claim's commit tripled the I/O of the
// 100,000-stakeholder activation benchmark; batched, each index page is
// written about once per batch. A crash loses only pending index rows,
// never a claim: the next Open re-indexes the messages of the takes after
// the watermark from the replay (the same path that migrates a version-1
// file).
//
// Email acknowledgement links are single-use across restarts
// (`AcknowledgeOnce`): each redemption is a row keyed by SHA-256 of the
// token's MAC, written in the same transaction as the acknowledgement it
// made, deleted once the token has expired (an expired token is refused
// before the table is consulted).
//
// Events and the audit trail (the outbox pattern, with the journal as the
// outbox): the engine's events go to the sink as the calls happen, and the
// host (the runtime) records them in its audit sink once the journal entry
// that produced them has committed, then calls `MarkAudited(journal_seq())`
// to move the watermark `audited_through` in cascade_meta. Open re-emits, in
// order and with `recovered` set, the events of every journal entry after
// the watermark: those of a crash (or a close) while the audit sink was
// refusing, or between a commit and the audit append. So nothing the
// journal holds is missing from the trail; an event appears twice only when
// the process died between the audit append and the watermark's commit
// (the second copy says recovered=1). A file written before the watermark
// existed starts with it at its last entry (its history is not re-emitted).
// Events of calls that journal nothing (a refused input, a duplicate
// trigger) are not re-emitted.
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
#include <unordered_map>
#include <vector>

#include "lifeline/cascade_engine.hpp"
#include "lifeline/status.hpp"
#include "store/sqlite_database.hpp"

struct evp_mac_ctx_st;   // OpenSSL's EVP_MAC_CTX

namespace lifeline {

struct DurableCascadeOptions {
  SqliteOptions database;
  CascadeConfig config;
  // Optional secret mixed into the address hash key (see the file comment);
  // "" uses the per-file random key alone.
  std::string address_key;
  // How many address hashes are written together (see "written behind the
  // claims" in the file comment); at least 1.
  std::size_t address_hash_batch = 16384;
};

// Who was notified by SMS or voice at one phone number (`RecipientsOf`):
// the incident of the most recent message, and for each incident the member
// its latest message there was for.
struct AddressRecipients {
  std::string last_incident_id;
  std::map<std::string, std::string> member_by_incident;
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
  std::int64_t recovered_events = 0;    // re-emitted by Open (after the audit watermark)
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

  // As Acknowledge, on the strength of a single-use token identified by
  // `token_id` (an email link's MAC): the redemption is recorded in the same
  // transaction as the acknowledgement. kDuplicate "ack token: already used"
  // when the token was redeemed before (by this or an earlier process);
  // nothing is recorded when the acknowledgement is refused (NotFound ...),
  // so such a token stays usable. Redemptions are pruned once `now` is past
  // their `expires_at`.
  Status AcknowledgeOnce(std::string_view token_id, UnixMillis expires_at, std::string_view incident_id,
                         std::string_view member_id, std::optional<Channel> channel, UnixMillis now);

  // Who was sent an SMS or a call at `address` (exact string, E.164 as the
  // directory holds it), from the ledger (and the hashes not written yet):
  // it survives restarts. NotFound when nobody was; kIo when the store
  // fails.
  Result<AddressRecipients> RecipientsOf(std::string_view address);

  // After Open: the messages whose send had an unknown outcome at the crash,
  // each returned at most once over the life of the file (see the file
  // comment). Empty on a clean start.
  Result<std::vector<ClaimedMessage>> TakeUnknownOutcomes(UnixMillis now);

  // Groups the following calls into one transaction (TakeOutbound commits it
  // early). Nested calls are not allowed.
  Status BeginBatch();
  Status CommitBatch();

  // The seq of the latest committed journal entry (0 on an empty journal).
  std::int64_t journal_seq() const { return journal_seq_; }
  // The audit watermark: the events of the journal entries through this seq
  // are in the audit trail (or were not meant to be kept). See "Events".
  std::int64_t audited_through() const { return audited_through_; }
  // Moves the watermark to `seq` (at most journal_seq()) and commits, unless
  // a batch is open; a no-op when it is there already. Call it once the
  // events emitted so far are recorded. kIo when the store fails.
  Status MarkAudited(std::int64_t seq);

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
  Status LoadAddressKey();
  // HMAC-SHA256(address key, address) for SMS and voice; "" for the others.
  std::string AddressHash(const OutboundMessage& m) const;
  std::string AddressHash(std::string_view address) const;
  // Writes the pending address hashes (in the open transaction) and moves
  // the watermark.
  Status FlushAddressHashes();
  Status IndexAddress(const std::string& hash, std::uint64_t message_id, UnixMillis claimed_at);
  Status SetIndexedThrough(std::int64_t seq);
  Status SetMeta(const char* key, std::int64_t value);

  DurableCascadeOptions options_;
  const StakeholderDirectory* directory_ = nullptr;
  std::unique_ptr<SqliteDatabase> db_;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<CascadeEngine> engine_;
  std::optional<SqliteTransaction> tx_;
  bool batch_ = false;
  UnixMillis last_at_ = 0;
  std::map<std::uint64_t, OutboundMessage> unknown_;   // from replay, 'sending' at open
  std::shared_ptr<evp_mac_ctx_st> address_mac_;        // HMAC-SHA256 keyed once, dup'ed per hash
  // Claimed SMS/voice messages whose address_hash is not written yet.
  struct PendingAddress {
    std::string hash;
    UnixMillis claimed_at = 0;
    std::string incident_id;
    std::string member_id;
  };
  std::map<std::uint64_t, PendingAddress> pending_addresses_;   // by id: written in rowid order
  std::unordered_map<std::string, std::vector<std::uint64_t>> pending_by_hash_;
  std::int64_t last_take_seq_ = 0;   // journal seq of the latest take
  std::int64_t appended_seq_ = 0;    // the latest journal entry, maybe uncommitted
  std::int64_t journal_seq_ = 0;     // the latest committed one
  std::int64_t audited_through_ = 0;
  DurableCascadeStats stats_;
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_STORE_DURABLE_CASCADE_HPP_
