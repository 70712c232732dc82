// notification_channel.hpp -- the channels a stakeholder can be notified on.
//
// Overview: a cascade walks a member's ordered channels. The default order is
// the seed guide's Voice -> SMS -> Email -> Push; a member's own order wins.
// Names are the lower-case strings used in JSON and across the C ABI.
//
// Example:
//
//   std::optional<lifeline::Channel> c = lifeline::ParseChannel("sms");
//   const char* name = lifeline::ChannelName(lifeline::Channel::kVoice);  // "voice"
#ifndef LIFELINE_NOTIFICATION_CHANNEL_HPP_
#define LIFELINE_NOTIFICATION_CHANNEL_HPP_

#include <array>
#include <optional>
#include <string_view>

namespace lifeline {

enum class Channel : int { kVoice = 0, kSms = 1, kEmail = 2, kPush = 3, kWebhook = 4 };
inline constexpr int kChannelCount = 5;

// "voice", "sms", "email", "push", "webhook".
inline const char* ChannelName(Channel c) {
  static constexpr const char* kNames[kChannelCount] = {"voice", "sms", "email", "push", "webhook"};
  int i = static_cast<int>(c);
  return i >= 0 && i < kChannelCount ? kNames[i] : "unknown";
}

// The channel named `name` (exact, lower case), or nullopt.
inline std::optional<Channel> ParseChannel(std::string_view name) {
  for (int i = 0; i < kChannelCount; ++i) {
    if (name == ChannelName(static_cast<Channel>(i))) return static_cast<Channel>(i);
  }
  return std::nullopt;
}

// The seed's default order, used when a member lists no preference.
inline constexpr std::array<Channel, 4> kDefaultChannelOrder = {
    Channel::kVoice, Channel::kSms, Channel::kEmail, Channel::kPush};

}  // namespace lifeline

#endif  // LIFELINE_NOTIFICATION_CHANNEL_HPP_
