// cascade_runtime.hpp -- one background thread that drives a DurableCascade.
//
// Overview: for hosts without an event loop. The runtime's thread owns the
// engine (through its DurableCascade store) and loops:
//
//   1. run the host's calls (trigger, receipts, acks, close) posted to it;
//   2. apply the send results the channel adapters reported (they complete
//      on the HTTP transport's thread and are queued back);
//   3. OnTimer(now), then TakeOutbound(now): each message is claimed in the
//      store (committed); then the events of this loop are recorded in the
//      audit trail (see cascade_event_relay.hpp) and, once that succeeded,
//      each message is handed to the adapter of its channel. While the
//      audit sink refuses events, claimed messages are held, not sent: the
//      cascade does not act past an unrecorded event;
//   4. sleep until NextDeadline(), a posted call or a send result -- or, when
//      the clock is a ManualClock, poll every 2 ms so a test's Advance() is
//      seen promptly.
//
// `Settle(timeout)` waits until a loop that started after the call found
// nothing left to do at the clock's current time: no posted call, no send in
// flight, no send result to apply, nothing due (the IVR engine's settle).
// With a manual clock a host advances the clock, then settles.
//
// At start it re-sends, once, the messages whose outcome was unknown at a
// crash (see durable_cascade.hpp). Public calls are thread-safe: they post
// to the loop and wait for its answer. Called from the loop's own thread (a
// channel adapter's synchronous callback that calls back in, such as a PBX
// originator reporting a result at once), they run at once instead: the
// engine is between two calls there. Settle from that thread is kState;
// Stop from it is not allowed.
//
// Metrics (`MetricsJson`, `MetricsPrometheus`): messages sent / accepted /
// throttled / failed per channel, receipts, acknowledgements, resends,
// journal entries, loop iterations.
#ifndef LIFELINE_LIB_CASCADE_CASCADE_RUNTIME_HPP_
#define LIFELINE_LIB_CASCADE_CASCADE_RUNTIME_HPP_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cascade/cascade_event_relay.hpp"
#include "lifeline/clock.hpp"
#include "providers/channel_senders.hpp"
#include "store/durable_cascade.hpp"

namespace lifeline {

struct CascadeRuntimeMetrics {
  std::array<std::int64_t, kChannelCount> sent{};
  std::array<std::int64_t, kChannelCount> accepted{};
  std::array<std::int64_t, kChannelCount> throttled{};
  std::array<std::int64_t, kChannelCount> failed{};
  std::int64_t receipts = 0;
  std::int64_t acknowledgements = 0;
  std::int64_t resends = 0;
  std::int64_t in_flight = 0;
  std::int64_t loop_iterations = 0;
  std::int64_t journal_entries = 0;
  std::int64_t store_errors = 0;
  std::int64_t audit_recorded = 0;   // events recorded in the audit sink
  std::int64_t audit_backlog = 0;    // events waiting for the audit sink
  std::int64_t audit_refusals = 0;   // flushes the audit sink refused
  std::int64_t held_messages = 0;    // claimed, waiting for the audit backlog
  std::int64_t events_dropped = 0;   // host event queue overflow
  std::int64_t recovered_events = 0; // re-emitted at open: not audited before the stop
};

class CascadeRuntime {
 public:
  // Takes ownership of `cascade`; `senders` (by channel, any may be missing:
  // such messages fail at once) and `clock` must outlive the runtime.
  // `relay`, when given, must be the sink `cascade` was opened with and
  // outlive the runtime: it carries the events to the audit trail and the
  // host.
  CascadeRuntime(std::unique_ptr<DurableCascade> cascade,
                 std::map<Channel, ChannelSender*> senders, const Clock* clock,
                 CascadeEventRelay* relay = nullptr);
  ~CascadeRuntime();  // Stop()
  CascadeRuntime(const CascadeRuntime&) = delete;
  CascadeRuntime& operator=(const CascadeRuntime&) = delete;

  void Start();
  // Stops the loop and waits for sends in flight (their results are applied).
  void Stop();

  Result<TriggerResult> Trigger(const CascadeTrigger& trigger);
  Status OnProviderReceipt(const std::string& provider_ref, AttemptStatus status);
  Status OnReceipt(std::uint64_t message_id, AttemptStatus status);
  Status Acknowledge(const std::string& incident_id, const std::string& member_id,
                     std::optional<Channel> channel);
  Status CloseIncident(const std::string& incident_id);

  // Records the cascade's events in `audit` from now on (not owned; must
  // outlive the runtime or be replaced; nullptr detaches). kState without a
  // relay.
  Status SetAudit(AuditSink* audit);

  // The events emitted since the last call (see CascadeEventRelay); empty
  // without a relay.
  std::vector<CascadeEvent> TakeEvents();

  // Runs `fn` on the loop's thread with the engine (for queries) and waits.
  void Inspect(const std::function<void(const CascadeEngine&)>& fn);

  // Waits until everything due at the clock's current time is done (see the
  // file comment). kTimeout after `timeout_ms` of real time; kState when the
  // runtime is not started.
  Status Settle(DurationMillis timeout_ms);

  // As Acknowledge, once per single-use token (an email link's MAC), the
  // redemption recorded with the acknowledgement in the store: kDuplicate
  // when the token was used before, by this process or an earlier one (see
  // DurableCascade::AcknowledgeOnce).
  Status AcknowledgeOnce(const std::string& token_id, UnixMillis expires_at, const std::string& incident_id,
                         const std::string& member_id, std::optional<Channel> channel);

  // Who was last sent an SMS or a call at `address` (a phone number), for
  // matching inbound replies: incident id -> member id, and the incident of
  // the most recent message. Answered from the store's message ledger (a
  // keyed hash of the address, see durable_cascade.hpp), so it survives a
  // restart. NotFound when nobody was; kIo when the store fails.
  using Recipient = AddressRecipients;
  Result<Recipient> RecipientOf(const std::string& address);

  CascadeRuntimeMetrics Metrics();
  std::string MetricsJson();
  std::string MetricsPrometheus();

 private:
  void Loop();
  void Post(std::function<void()> fn);
  template <typename T>
  T Call(std::function<T()> fn);
  void Dispatch(const ClaimedMessage& m, UnixMillis now);
  // Records the relay's held events; then sends the held messages. False
  // when the audit sink refused (the messages stay held).
  bool FlushAuditThenSend(UnixMillis now);

  std::unique_ptr<DurableCascade> cascade_;
  std::map<Channel, ChannelSender*> senders_;
  const Clock* clock_;
  bool manual_clock_;
  CascadeEventRelay* relay_;
  std::deque<ClaimedMessage> held_;   // loop thread only

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable drained_;
  std::deque<std::function<void()>> calls_;
  std::deque<std::pair<OutboundMessage, SendResult>> results_;
  bool stop_ = false;
  bool running_ = false;
  bool poked_ = false;
  bool idle_ = false;
  std::uint64_t loops_started_ = 0;
  std::uint64_t loops_done_ = 0;
  std::condition_variable idle_cv_;
  std::thread thread_;
  CascadeRuntimeMetrics metrics_;   // guarded by mu_
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_CASCADE_CASCADE_RUNTIME_HPP_
