// audit_json.hpp -- RapidJSON writing into a std::string, for the audit
// trail's lines. Internal to the library.
#ifndef LIFELINE_LIB_CORE_AUDIT_JSON_HPP_
#define LIFELINE_LIB_CORE_AUDIT_JSON_HPP_

#include <rapidjson/writer.h>

#include <algorithm>
#include <cstddef>
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

// Appends `value` as a JSON string, byte for byte what JsonWriter writes
// (RapidJSON's escaping of '"', '\\' and control characters; every other
// byte as is). Values that need no escaping are copied without RapidJSON.
void AppendJsonString(std::string_view value, std::string* out);

// The writer every audit line is produced with: compact, UTF-8 in and out,
// RapidJSON's escaping (", \, and control characters; '/' is not escaped).
using JsonWriter = rapidjson::Writer<StringSink>;

}  // namespace lifeline::audit_internal

#endif  // LIFELINE_LIB_CORE_AUDIT_JSON_HPP_
