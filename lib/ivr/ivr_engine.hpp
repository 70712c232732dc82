// ivr_engine.hpp -- the emergency IVR failover engine (the runtime).
//
// Composes the sans-I/O core (FailoverSwitch, EmergencyCallFlow, DedupCache,
// CallbackDispatcher, time normalisation) with the adapters (SQLite outbox,
// libcurl transport, platform clients) and owns the one background thread
// that sends callbacks and polls the state endpoint. The C ABI's
// lifeline_engine_t holds one of these.
#ifndef LIFELINE_LIB_IVR_IVR_ENGINE_HPP_
#define LIFELINE_LIB_IVR_IVR_ENGINE_HPP_

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ivr/engine_config.hpp"
#include "lifeline/audit_sink.hpp"
#include "lifeline/business_hours.hpp"
#include "lifeline/callback_dispatcher.hpp"
#include "lifeline/callback_request.hpp"
#include "lifeline/clock.hpp"
#include "lifeline/dedup_cache.hpp"
#include "lifeline/emergency_call_flow.hpp"
#include "lifeline/failover_switch.hpp"

namespace lifeline {

class CurlTransport;
class SqliteOutboxStore;

struct SubmitResult {
  std::string request_id;
  bool duplicate = false;
};

class IvrEngine : private FailoverEventSink {
 public:
  using EventCallback = std::function<void(const std::string& event_json)>;

  static Result<std::unique_ptr<IvrEngine>> Open(std::string_view config_json,
                                                 std::shared_ptr<Clock> clock);
  ~IvrEngine() override;

  UnixMillis Now() const { return clock_->Now(); }
  const EngineConfig& config() const { return config_; }

  // Callbacks: normalise, dedup, commit durably, wake the dispatcher.
  Result<SubmitResult> Submit(const CallbackSubmission& submission);

  // Failover switch.
  Status PushMode(RoutingMode mode, std::string_view reason, UnixMillis expires_at);
  Status ObserveMode(RoutingMode mode);
  Status ObserveModeFailure();
  RoutingMode Mode() const { return switch_->Mode(clock_->Now()); }
  CallEntry EnterCall() { return switch_->Enter(clock_->Now()); }
  std::shared_ptr<const FlowConfig> flow_config() const { return flow_config_; }
  void CountOutcome(CallOutcome outcome);

  // Waiting.
  Status Settle(DurationMillis timeout_ms);
  Status Drain(DurationMillis timeout_ms);

  // Dead letters and status.
  Result<std::string> DeadLettersJson();
  Status Redrive(std::optional<std::string> request_id);
  Result<std::string> StatusJson(std::string_view request_id);

  // Metrics.
  Result<std::string> MetricsJson();
  Result<std::string> MetricsPrometheus();

  void SetEventCallback(EventCallback callback);

  // Records failover transitions, captured callbacks and every delivery
  // outcome in `audit` (not owned; it must stay open until the engine
  // closes or another sink is set; nullptr detaches). A capture the sink
  // refuses is not committed: the submit fails with kIo.
  void SetAuditSink(AuditSink* audit);

 private:
  IvrEngine() = default;
  Status Start(std::string_view config_json, std::shared_ptr<Clock> clock);
  void Run();
  void Poke();
  void OnTransition(const FailoverTransition& event) override;
  void Emit(const std::string& event_json);
  Result<std::optional<UnixMillis>> ResolveCallbackTime(const CallbackSubmission& s,
                                                        UnixMillis now) const;
  void HandlePollResponse(const HttpResponse& response, UnixMillis now);

  struct Metrics {
    std::array<std::atomic<uint64_t>, kCallOutcomeCount> outcomes{};
    std::atomic<uint64_t> submitted{0};
    std::atomic<uint64_t> deduplicated{0};
    std::atomic<uint64_t> submit_failures{0};
    std::atomic<uint64_t> poll_failures{0};
  };
  // Every number the two metrics formats show, read once.
  struct MetricsSnapshot {
    OutboxStats outbox;
    CallbackDispatcherCounters dispatcher;
    FailoverStats failover;
    std::array<uint64_t, kCallOutcomeCount> outcomes{};
    uint64_t submitted = 0;
    uint64_t deduplicated = 0;
    uint64_t submit_failures = 0;
    uint64_t poll_failures = 0;
    UnixMillis now = 0;
  };
  Result<MetricsSnapshot> TakeMetricsSnapshot();

  EngineConfig config_;
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<FailoverSwitch> switch_;
  std::unique_ptr<DedupCache> dedup_;
  std::unique_ptr<SqliteOutboxStore> outbox_;
  std::unique_ptr<CallbackPlatform> platform_;
  std::unique_ptr<CallbackDispatcher> dispatcher_;
  std::unique_ptr<CurlTransport> transport_;
  std::optional<BusinessHours> business_hours_;
  std::shared_ptr<const FlowConfig> flow_config_;
  Metrics metrics_;
  uint64_t resends_at_open_ = 0;

  std::mutex event_mu_;
  std::atomic<AuditSink*> audit_{nullptr};
  EventCallback event_callback_;

  // Digests whose Enqueue failed: a later "duplicate" verdict for them is
  // not trusted, so a caller who heard the fallback can still be recorded.
  std::mutex unrecorded_mu_;
  std::set<std::string> unrecorded_;

  // The runtime thread.
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_cv_;
  struct Completion {
    uint64_t tag;
    bool is_poll;
    HttpResponse response;
  };
  std::deque<Completion> completions_;
  bool stop_ = false;
  bool poked_ = false;
  bool idle_ = false;
  uint64_t loop_generation_ = 0;  // loops completed
  uint64_t loops_started_ = 0;
  size_t poll_in_flight_ = 0;
  UnixMillis next_poll_at_ = 0;
  UnixMillis next_purge_at_ = 0;
  std::thread worker_;
  AuditSink* pending_audit_ = nullptr;  // guarded by mu_
  bool audit_changed_ = false;           // guarded by mu_
  // The dispatcher's counters as of the worker's last loop, for metrics.
  std::mutex counters_mu_;
  CallbackDispatcherCounters counters_;
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_IVR_IVR_ENGINE_HPP_
