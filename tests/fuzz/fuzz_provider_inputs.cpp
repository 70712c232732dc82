// libFuzzer target for what the providers' webhooks deliver: a form body
// (Twilio's status callbacks and inbound SMS), a SendGrid event batch, an
// SMS reply's text, and Twilio's status words. These arrive from the
// network, signed or not (and are parsed before the signature check where
// the signature covers the decoded parameters), so any bytes must give a
// value or an error with a message, never a crash.
// The first byte chooses the reader; the rest is the body.
#include <cstdint>
#include <string_view>

#include "fuzz_checks.hpp"
#include "providers/cascade_inbound.hpp"
#include "providers/provider_crypto.hpp"

using lifeline::fuzz::RequireMessage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: RequireMessage(lifeline::DecodeForm(body)); break;
    case 1: RequireMessage(lifeline::ParseSendGridEvents(body)); break;
    case 2: (void)lifeline::ParseSmsReply(body); break;
    default:
      (void)lifeline::MapTwilioMessageStatus(body);
      (void)lifeline::MapTwilioCallStatus(body);
      break;
  }
  return 0;
}
