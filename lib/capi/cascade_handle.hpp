// cascade_handle.hpp -- the struct behind lifeline_cascade_t.
#ifndef LIFELINE_LIB_CAPI_CASCADE_HANDLE_HPP_
#define LIFELINE_LIB_CAPI_CASCADE_HANDLE_HPP_

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "lifeline/cascade_engine.hpp"
#include "lifeline/stakeholder_directory.hpp"

namespace lifeline::capi {

// Buffers events until lifeline_cascade_take_events; keeps the newest
// kMaxEvents when the host never drains them.
class BufferedEventSink : public CascadeEventSink {
 public:
  static constexpr std::size_t kMaxEvents = 100'000;
  void OnEvent(const CascadeEvent& e) override {
    if (events.size() >= kMaxEvents) events.pop_front();
    events.push_back(e);
  }
  std::deque<CascadeEvent> events;
};

}  // namespace lifeline::capi

struct lifeline_cascade_t {
  lifeline::StakeholderDirectory directory;
  lifeline::capi::BufferedEventSink sink;
  std::unique_ptr<lifeline::CascadeEngine> engine;
  // JSON already taken from the engine but not yet copied out (the caller's
  // buffer was too small): returned first by the next call.
  std::optional<std::string> outbound_stash;
  std::optional<std::string> events_stash;
};

#endif  // LIFELINE_LIB_CAPI_CASCADE_HANDLE_HPP_
