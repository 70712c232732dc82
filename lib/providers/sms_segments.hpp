// sms_segments.hpp -- how an SMS text is encoded and split into segments.
//
// Overview: a text that fits the GSM 03.38 default alphabet (with its
// extension table, whose characters ^ { } \ [ ~ ] | EURO and form feed take
// two septets) is sent as GSM-7: 160 septets in one segment, 153 per segment
// when concatenated. Anything else is UCS-2: 70 UTF-16 units in one segment,
// 67 per segment when concatenated (a surrogate pair is never split, nor is
// an escape pair). Text must be valid UTF-8; invalid bytes count as UCS-2
// replacement characters.
//
//   auto a = lifeline::AnalyzeSms("Outage at DC-East. Reply 1");
//   // a.encoding == kGsm7, a.units == 26, a.segments == 1
//
// `FitSms` applies the channel's configuration: with `kTruncate` the text is
// cut to `max_segments` (on a character boundary); with `kSplit` it is cut
// into parts of one segment each, sent as separate messages.
#ifndef LIFELINE_LIB_PROVIDERS_SMS_SEGMENTS_HPP_
#define LIFELINE_LIB_PROVIDERS_SMS_SEGMENTS_HPP_

#include <string>
#include <string_view>
#include <vector>

namespace lifeline {

enum class SmsEncoding { kGsm7, kUcs2 };

struct SmsAnalysis {
  SmsEncoding encoding = SmsEncoding::kGsm7;
  int units = 0;      // septets (GSM-7) or UTF-16 code units (UCS-2)
  int segments = 0;   // 0 for an empty text
};

SmsAnalysis AnalyzeSms(std::string_view utf8);

enum class SmsOverflow { kTruncate, kSplit };

// kTruncate: one text of at most `max_segments` segments. kSplit: parts of
// one single-segment message each (160/70 units), at most `max_segments`
// parts (the rest is dropped). `max_segments` >= 1.
std::vector<std::string> FitSms(std::string_view utf8, SmsOverflow overflow, int max_segments);

}  // namespace lifeline

#endif  // LIFELINE_LIB_PROVIDERS_SMS_SEGMENTS_HPP_
