// audit_json.hpp -- RapidJSON writing into a std::string, for the audit
// trail's lines. Internal to the library.
#ifndef LIFELINE_LIB_CORE_AUDIT_JSON_HPP_
#define LIFELINE_LIB_CORE_AUDIT_JSON_HPP_

#include <rapidjson/writer.h>

#include <string>

namespace lifeline::audit_internal {

// A RapidJSON output stream appending to a std::string.
struct StringSink {
  typedef char Ch;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};

// The writer every audit line is produced with: compact, UTF-8 in and out,
// RapidJSON's escaping (", \, and control characters; '/' is not escaped).
using JsonWriter = rapidjson::Writer<StringSink>;

}  // namespace lifeline::audit_internal

#endif  // LIFELINE_LIB_CORE_AUDIT_JSON_HPP_
