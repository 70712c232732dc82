// pbx_voice_sender.hpp -- the cascade's voice channel through the host's PBX.
//
// Overview: a `PbxVoiceSender` is the `ChannelSender` of the voice channel
// when the runtime's configuration routes voice to the PBX
// ("channels.voice.via": "pbx") instead of Twilio. For each voice message
// (a stakeholder's call, or an escalation on "voice.priority") it builds an
// `OutboundCallRequest` (lifeline/outbound_call.hpp), hands it to the host's
// `CallOriginator` and maps the immediate answer to the `SendResult`
// (`ToSendResult`): originated -> accepted, trunks busy -> throttled with
// the retry-after, unroutable -> unreachable, anything else -> failed. How
// the call ended comes back later as a receipt of the same message id
// (CascadeService::VoiceResult -> CascadeRuntime::OnReceipt).
//
// `done` runs exactly once, before `Send` returns, on the calling thread
// (the runtime's thread). With no originator set (the host has not
// connected its PBX yet, or cleared it) the answer is failed, so the
// engine's retry rule applies and the cascade moves on; an originator that
// throws is failed too.
//
// Example:
//
//   PbxVoiceSender voice(options);
//   voice.SetOriginator(std::make_shared<MyPbx>());
//   CascadeRuntime runtime(std::move(cascade), {{Channel::kVoice, &voice}}, &clock);
//
// Thread-safety: `SetOriginator` may be called from any thread; a call
// already inside the old originator finishes with it (it is kept alive by a
// shared_ptr). The runtime serialises `Send`.
#ifndef LIFELINE_LIB_TELEPHONY_PBX_VOICE_SENDER_HPP_
#define LIFELINE_LIB_TELEPHONY_PBX_VOICE_SENDER_HPP_

#include <memory>
#include <mutex>

#include "lifeline/outbound_call.hpp"
#include "providers/channel_senders.hpp"

namespace lifeline {

class PbxVoiceSender : public ChannelSender {
 public:
  // `options` must be valid (OutboundCallOptions::Validate).
  explicit PbxVoiceSender(OutboundCallOptions options) : options_(std::move(options)) {}

  // Replaces the originator; null removes it.
  void SetOriginator(std::shared_ptr<CallOriginator> originator);
  bool has_originator() const;

  void Send(const OutboundMessage& message, SendCallback done) override;

  const OutboundCallOptions& options() const { return options_; }

 private:
  const OutboundCallOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<CallOriginator> originator_;  // guarded by mu_
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_TELEPHONY_PBX_VOICE_SENDER_HPP_
