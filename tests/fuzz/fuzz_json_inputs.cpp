// libFuzzer target for every JSON document the library accepts from a host
// or a peer: a callback submission and a stored callback request, the IVR
// engine's configuration, business hours, the cascade's configuration, a
// cascade trigger and a stakeholder directory. Any bytes must give a value
// or an error with a message, never a crash or an exception. A stored
// callback request that parses must serialise back to JSON that parses to
// the same serialisation (the outbox re-reads what it wrote).
// The first byte chooses the parser; the rest is the document.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_checks.hpp"
#include "ivr/engine_config.hpp"
#include "lifeline/business_hours.hpp"
#include "lifeline/callback_request.hpp"
#include "lifeline/cascade_engine.hpp"
#include "lifeline/stakeholder_directory.hpp"

using lifeline::fuzz::Require;
using lifeline::fuzz::RequireMessage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 7) {
    case 0: RequireMessage(lifeline::ParseCallbackSubmission(json)); break;
    case 1: {
      auto r = lifeline::CallbackRequestFromJson(json);
      RequireMessage(r);
      if (r.ok()) {
        const std::string once = lifeline::CallbackRequestToJson(*r);
        auto again = lifeline::CallbackRequestFromJson(once);
        Require(again.ok() && lifeline::CallbackRequestToJson(*again) == once);
      }
      break;
    }
    case 2: RequireMessage(lifeline::ParseEngineConfig(json)); break;
    case 3: RequireMessage(lifeline::BusinessHours::FromJson(json)); break;
    case 4: RequireMessage(lifeline::CascadeConfig::FromJson(json)); break;
    case 5: RequireMessage(lifeline::ParseCascadeTrigger(json)); break;
    default: RequireMessage(lifeline::StakeholderDirectory::FromJson(json)); break;
  }
  return 0;
}
