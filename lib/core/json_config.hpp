// json_config.hpp -- strict reading of JSON configuration objects.
//
// Engines take their configuration as a JSON string (the C ABI's
// `config_json`). Every key has a documented default; a key the engine does
// not know, or a value of the wrong type or range, is refused with a message
// naming its full path ("retry.multiplier: expected a number >= 1"), so a
// typo in a config file never silently falls back to a default.
//
// Example:
//
//   JsonConfig config;
//   Status s = config.Parse(text);
//   ConfigObject root = config.Root();
//   root.Int("request_timeout_ms", &timeout, 1, 600000);
//   if (ConfigObject* retry = root.Object("retry")) retry->Double("multiplier", &m, 1.0, 100.0);
//   s = root.Finish();   // fails on the first unknown key, or the first bad value
#ifndef LIFELINE_LIB_CORE_JSON_CONFIG_HPP_
#define LIFELINE_LIB_CORE_JSON_CONFIG_HPP_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "lifeline/status.hpp"

namespace lifeline {

class ConfigObject;

// Owns a parsed JSON document.
class JsonConfig {
 public:
  // Parses `text`; an empty string or "{}" is an empty configuration.
  Status Parse(std::string_view text);
  // The top-level object (valid after a successful Parse).
  ConfigObject Root();

 private:
  rapidjson::Document doc_;
};

// A view of one JSON object at `path`. Each getter marks its key as known and
// leaves the output untouched when the key is absent (so the output holds the
// default). The first error is remembered and returned by Finish(), which
// also reports unknown keys. Errors propagate from nested objects to the
// object they came from.
class ConfigObject {
 public:
  ConfigObject(const rapidjson::Value* value, std::string path,
               std::shared_ptr<Status> first_error);

  bool Has(const char* key) const;
  void String(const char* key, std::string* out);
  void Bool(const char* key, bool* out);
  void Int(const char* key, int64_t* out, int64_t min, int64_t max);
  void Int(const char* key, int* out, int min, int max);
  void Double(const char* key, double* out, double min, double max);
  // One of `choices`; the index of the match is written to `out`.
  void Enum(const char* key, int* out, const std::vector<std::string>& choices);
  // An object whose values are all strings.
  void StringMap(const char* key, std::vector<std::pair<std::string, std::string>>* out);
  void StringList(const char* key, std::vector<std::string>* out);
  // A nested object, or nullptr when absent (a non-object is an error). The
  // pointer lives as long as this object.
  ConfigObject* Object(const char* key);
  // The raw value (for sub-parsers that take JSON), or nullptr when absent.
  const rapidjson::Value* Raw(const char* key);
  // Records an error at `key` unless one is already recorded.
  void Error(const char* key, const std::string& message);

  // The first error, or an unknown key of this object, or OK. Call it on
  // every object read (nested ones too) or only on the root: the root's
  // Finish reports unknown keys of the objects handed out through Object().
  Status Finish();

 private:
  const rapidjson::Value* Member(const char* key);
  std::string PathOf(const char* key) const;

  const rapidjson::Value* value_;
  std::string path_;
  std::shared_ptr<Status> first_error_;
  std::set<std::string> known_;
  std::deque<ConfigObject> children_;
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_CORE_JSON_CONFIG_HPP_
