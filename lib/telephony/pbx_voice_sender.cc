// pbx_voice_sender.cc -- see pbx_voice_sender.hpp.
#include "telephony/pbx_voice_sender.hpp"

#include <utility>

namespace lifeline {

void PbxVoiceSender::SetOriginator(std::shared_ptr<CallOriginator> originator) {
  std::lock_guard<std::mutex> lock(mu_);
  originator_ = std::move(originator);
}

bool PbxVoiceSender::has_originator() const {
  std::lock_guard<std::mutex> lock(mu_);
  return originator_ != nullptr;
}

void PbxVoiceSender::Send(const OutboundMessage& message, SendCallback done) {
  std::shared_ptr<CallOriginator> originator;
  {
    std::lock_guard<std::mutex> lock(mu_);
    originator = originator_;
  }
  if (originator == nullptr || message.channel != Channel::kVoice) {
    done(SendResult{SendResult::Kind::kFailed, "", 0});
    return;
  }
  OriginateAnswer answer;
  try {
    answer = originator->Originate(MakeOutboundCallRequest(message, options_));
  } catch (...) {
    answer.kind = OriginateAnswer::Kind::kFailed;
  }
  done(ToSendResult(answer));
}

}  // namespace lifeline
