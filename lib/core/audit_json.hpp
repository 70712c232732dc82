// audit_json.hpp -- RapidJSON writing into a std::string, for the audit
// trail's lines. Internal to the library.
#ifndef LIFELINE_LIB_CORE_AUDIT_JSON_HPP_
#define LIFELINE_LIB_CORE_AUDIT_JSON_HPP_

#include <rapidjson/writer.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// The scans below test 16 bytes at a time with SSE2 where the target has
// it (every x86-64), then 8 at a time in a 64-bit word (the classic "has a
// byte less than n" tests, exact as a yes/no answer), reading the last 8
// bytes again rather than byte by byte. Every record passes each of its
// strings through them, and a byte loop is not vectorised at -O2.
namespace json_scan {
inline constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
// Non-zero when a byte of `w` is below `n` (n <= 128).
constexpr std::uint64_t HasLess(std::uint64_t w, unsigned n) { return (w - kOnes * n) & ~w & kHighs; }
// Non-zero when a byte of `w` equals `c`.
constexpr std::uint64_t HasByte(std::uint64_t w, unsigned c) { return HasLess(w ^ (kOnes * c), 1); }

inline std::uint64_t Load8(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// What the scans look for, per byte, per 64-bit word and per SSE2 vector.
struct Escapes {
  static bool Byte(unsigned char b) { return b < 0x20 || b == '"' || b == '\\'; }
  static std::uint64_t Word(std::uint64_t w) {
    return HasLess(w, 0x20) | HasByte(w, '"') | HasByte(w, '\\');
  }
#if defined(__SSE2__)
  static __m128i Vector(__m128i v) {
    __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);  // v <= 0x1f
    __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    return _mm_or_si128(control, _mm_or_si128(quote, backslash));
  }
#endif
};

struct NonAscii {
  static bool Byte(unsigned char b) { return b >= 0x80; }
  static std::uint64_t Word(std::uint64_t w) { return w & kHighs; }
#if defined(__SSE2__)
  static __m128i Vector(__m128i v) { return v; }  // movemask takes the high bits
#endif
};

// True when a byte of `text` is one `Test` looks for.
template <typename Test>
inline bool Any(std::string_view text) {
  const char* p = text.data();
  std::size_t n = text.size();
  if (n < 8) {
    bool found = false;
    for (std::size_t i = 0; i < n; ++i) found |= Test::Byte(static_cast<unsigned char>(p[i]));
    return found;
  }
  std::uint64_t found = 0;
#if defined(__SSE2__)
  if (n >= 16) {
    __m128i any = _mm_setzero_si128();
    for (; n >= 16; p += 16, n -= 16) {
      any = _mm_or_si128(any, Test::Vector(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    }
    found = static_cast<std::uint64_t>(_mm_movemask_epi8(any));
    // 0-15 bytes are left, and at least 16 lie before the end: the last
    // word below may start before p.
    if (n == 0) return found != 0;
  }
#endif
  for (; n > 8; p += 8, n -= 8) found |= Test::Word(Load8(p));
  found |= Test::Word(Load8(p + n - 8));  // the last 8 bytes, some maybe seen already
  return found != 0;
}
}  // namespace json_scan

// True when `value` holds a byte RapidJSON's Writer escapes: a control
// character (< 0x20), '"' or '\\'.
inline bool NeedsJsonEscape(std::string_view value) {
  return json_scan::Any<json_scan::Escapes>(value);
}

// True when every byte of `text` is below 0x80.
inline bool IsAscii(std::string_view text) { return !json_scan::Any<json_scan::NonAscii>(text); }

// Appends `value` as a JSON string, byte for byte what JsonWriter writes
// (RapidJSON's escaping of '"', '\\' and control characters; every other
// byte as is). Values that need no escaping are copied without RapidJSON.
void AppendJsonString(std::string_view value, std::string* out);

// The writer every audit line is produced with: compact, UTF-8 in and out,
// RapidJSON's escaping (", \, and control characters; '/' is not escaped).
using JsonWriter = rapidjson::Writer<StringSink>;

}  // namespace lifeline::audit_internal

#endif  // LIFELINE_LIB_CORE_AUDIT_JSON_HPP_
