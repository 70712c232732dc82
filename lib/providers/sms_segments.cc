// sms_segments.cc -- see sms_segments.hpp.
#include "providers/sms_segments.hpp"

#include <cstdint>

namespace lifeline {
namespace {

struct CodePoint {
  char32_t cp;
  std::size_t begin;  // byte offsets in the UTF-8 text
  std::size_t end;
};

std::vector<CodePoint> Decode(std::string_view s) {
  std::vector<CodePoint> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t cp = 0xFFFD;
    if (len == 0 || i + static_cast<std::size_t>(len) > s.size()) {
      len = 1;
    } else {
      cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
      for (int k = 1; k < len; ++k) {
        auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((c >> 6) != 2) {
          cp = 0xFFFD;
          len = 1;
          break;
        }
        cp = (cp << 6) | (c & 0x3F);
      }
    }
    out.push_back({cp, i, i + static_cast<std::size_t>(len)});
    i += static_cast<std::size_t>(len);
  }
  return out;
}

// Septets of `cp` in GSM-7 (1 basic, 2 extension), 0 when not representable.
int GsmSeptets(char32_t cp) {
  static const std::u32string kBasic =
      U"@\u00A3$\u00A5\u00E8\u00E9\u00F9\u00EC\u00F2\u00C7\n\u00D8\u00F8\r\u00C5\u00E5"
      U"\u0394_\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039E\u00C6\u00E6\u00DF\u00C9"
      U" !\"#\u00A4%&'()*+,-./0123456789:;<=>?"
      U"\u00A1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00C4\u00D6\u00D1\u00DC\u00A7"
      U"\u00BFabcdefghijklmnopqrstuvwxyz\u00E4\u00F6\u00F1\u00FC\u00E0";
  static const std::u32string kExtension = U"\f^{}\\[~]|\u20AC";
  if (kBasic.find(cp) != std::u32string::npos) return 1;
  if (kExtension.find(cp) != std::u32string::npos) return 2;
  return 0;
}

int Units(char32_t cp, SmsEncoding e) {
  if (e == SmsEncoding::kGsm7) return GsmSeptets(cp);
  return cp > 0xFFFF ? 2 : 1;
}

int SegmentsFor(int units, SmsEncoding e) {
  int single = e == SmsEncoding::kGsm7 ? 160 : 70;
  int multi = e == SmsEncoding::kGsm7 ? 153 : 67;
  if (units == 0) return 0;
  if (units <= single) return 1;
  return (units + multi - 1) / multi;
}

}  // namespace

SmsAnalysis AnalyzeSms(std::string_view utf8) {
  std::vector<CodePoint> cps = Decode(utf8);
  SmsAnalysis a;
  for (const CodePoint& c : cps) {
    if (GsmSeptets(c.cp) == 0) {
      a.encoding = SmsEncoding::kUcs2;
      break;
    }
  }
  for (const CodePoint& c : cps) a.units += Units(c.cp, a.encoding);
  a.segments = SegmentsFor(a.units, a.encoding);
  return a;
}

std::vector<std::string> FitSms(std::string_view utf8, SmsOverflow overflow, int max_segments) {
  if (max_segments < 1) max_segments = 1;
  SmsAnalysis a = AnalyzeSms(utf8);
  if (a.segments <= 1) return {std::string(utf8)};
  std::vector<CodePoint> cps = Decode(utf8);
  const bool gsm = a.encoding == SmsEncoding::kGsm7;
  if (overflow == SmsOverflow::kTruncate) {
    if (a.segments <= max_segments) return {std::string(utf8)};
    const int budget = max_segments == 1 ? (gsm ? 160 : 70) : max_segments * (gsm ? 153 : 67);
    int used = 0;
    std::size_t end = 0;
    for (const CodePoint& c : cps) {
      int u = Units(c.cp, a.encoding);
      if (used + u > budget) break;
      used += u;
      end = c.end;
    }
    return {std::string(utf8.substr(0, end))};
  }
  const int per_part = gsm ? 160 : 70;
  std::vector<std::string> parts;
  std::size_t begin = 0;
  int used = 0;
  for (const CodePoint& c : cps) {
    int u = Units(c.cp, a.encoding);
    if (used + u > per_part) {
      parts.emplace_back(utf8.substr(begin, c.begin - begin));
      if (static_cast<int>(parts.size()) == max_segments) return parts;
      begin = c.begin;
      used = 0;
    }
    used += u;
  }
  if (begin < utf8.size()) parts.emplace_back(utf8.substr(begin));
  return parts;
}

}  // namespace lifeline
