// audit_json.hpp -- RapidJSON writing into a std::string, for the audit
// trail's lines. Internal to the library.
#ifndef LIFELINE_LIB_CORE_AUDIT_JSON_HPP_
#define LIFELINE_LIB_CORE_AUDIT_JSON_HPP_

#include <rapidjson/writer.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace lifeline::audit_internal {

// A RapidJSON output stream appending to a std::string.
struct StringSink {
  typedef char Ch;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};

// Found by argument-dependent lookup from rapidjson::Writer: reserve room
// geometrically before a run of PutUnsafe, as RapidJSON's own StringBuffer
// does, instead of growing character by character.
inline void PutReserve(StringSink& sink, std::size_t count) {
  std::string& s = *sink.out;
  if (s.capacity() - s.size() < count) s.reserve(std::max(s.capacity() * 2, s.size() + count));
}
inline void PutUnsafe(StringSink& sink, char c) { sink.out->push_back(c); }

// The scans below read eight bytes at a time in a 64-bit word (the classic
// "has a byte less than n" tests, exact as a yes/no answer): every record
// passes each of its strings through them, most strings are short, and a
// byte loop is not vectorised at -O2.
namespace json_scan {
inline constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
// Non-zero when a byte of `w` is below `n` (n <= 128).
constexpr std::uint64_t HasLess(std::uint64_t w, unsigned n) { return (w - kOnes * n) & ~w & kHighs; }
// Non-zero when a byte of `w` equals `c`.
constexpr std::uint64_t HasByte(std::uint64_t w, unsigned c) { return HasLess(w ^ (kOnes * c), 1); }
// Non-zero when a byte of `w` needs a JSON escape: a control character,
// '"' or '\\'.
constexpr std::uint64_t Escaped(std::uint64_t w) {
  return HasLess(w, 0x20) | HasByte(w, '"') | HasByte(w, '\\');
}
// Calls `test` on each 8-byte word of `text` (the tail padded with `pad`)
// and ORs the results.
template <typename Test>
inline std::uint64_t Scan(std::string_view text, char pad, Test test) {
  const char* p = text.data();
  std::size_t n = text.size();
  std::uint64_t found = 0;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    found |= test(w);
  }
  if (n > 0) {
    std::uint64_t w = kOnes * static_cast<unsigned char>(pad);
    std::memcpy(&w, p, n);
    found |= test(w);
  }
  return found;
}
}  // namespace json_scan

// True when `value` holds a byte RapidJSON's Writer escapes: a control
// character (< 0x20), '"' or '\\'.
inline bool NeedsJsonEscape(std::string_view value) {
  return json_scan::Scan(value, 'a', [](std::uint64_t w) { return json_scan::Escaped(w); }) != 0;
}

// True when every byte of `text` is below 0x80.
inline bool IsAscii(std::string_view text) {
  return json_scan::Scan(text, 'a', [](std::uint64_t w) { return w & json_scan::kHighs; }) == 0;
}

// Appends `value` as a JSON string, byte for byte what JsonWriter writes
// (RapidJSON's escaping of '"', '\\' and control characters; every other
// byte as is). Values that need no escaping are copied without RapidJSON.
void AppendJsonString(std::string_view value, std::string* out);

// The writer every audit line is produced with: compact, UTF-8 in and out,
// RapidJSON's escaping (", \, and control characters; '/' is not escaped).
using JsonWriter = rapidjson::Writer<StringSink>;

}  // namespace lifeline::audit_internal

#endif  // LIFELINE_LIB_CORE_AUDIT_JSON_HPP_
