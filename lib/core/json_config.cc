#include "core/json_config.hpp"

#include <cmath>

#include <rapidjson/error/en.h>

namespace lifeline {

Status JsonConfig::Parse(std::string_view text) {
  if (text.empty()) {
    doc_.SetObject();
    return Status::Ok();
  }
  doc_.Parse(text.data(), text.size());
  if (doc_.HasParseError()) {
    return InvalidArgument("configuration is not valid JSON at offset " +
                           std::to_string(doc_.GetErrorOffset()) + ": " +
                           rapidjson::GetParseError_En(doc_.GetParseError()));
  }
  if (!doc_.IsObject()) return InvalidArgument("configuration must be a JSON object");
  return Status::Ok();
}

ConfigObject JsonConfig::Root() {
  return ConfigObject(&doc_, "", std::make_shared<Status>());
}

ConfigObject::ConfigObject(const rapidjson::Value* value, std::string path,
                           std::shared_ptr<Status> first_error)
    : value_(value), path_(std::move(path)), first_error_(std::move(first_error)) {}

std::string ConfigObject::PathOf(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

void ConfigObject::Error(const char* key, const std::string& message) {
  if (first_error_->ok()) *first_error_ = InvalidArgument(PathOf(key) + ": " + message);
}

bool ConfigObject::Has(const char* key) const {
  return value_ != nullptr && value_->IsObject() && value_->HasMember(key);
}

const rapidjson::Value* ConfigObject::Member(const char* key) {
  known_.insert(key);
  if (!Has(key)) return nullptr;
  const rapidjson::Value& v = (*value_)[key];
  return v.IsNull() ? nullptr : &v;
}

void ConfigObject::String(const char* key, std::string* out) {
  const rapidjson::Value* v = Member(key);
  if (v == nullptr) return;
  if (!v->IsString()) return Error(key, "expected a string");
  out->assign(v->GetString(), v->GetStringLength());
}

void ConfigObject::Bool(const char* key, bool* out) {
  const rapidjson::Value* v = Member(key);
  if (v == nullptr) return;
  if (!v->IsBool()) return Error(key, "expected true or false");
  *out = v->GetBool();
}

void ConfigObject::Int(const char* key, int64_t* out, int64_t min, int64_t max) {
  const rapidjson::Value* v = Member(key);
  if (v == nullptr) return;
  if (!v->IsInt64()) return Error(key, "expected an integer");
  int64_t x = v->GetInt64();
  if (x < min || x > max) {
    return Error(key, "expected an integer in [" + std::to_string(min) + ", " +
                          std::to_string(max) + "], got " + std::to_string(x));
  }
  *out = x;
}

void ConfigObject::Int(const char* key, int* out, int min, int max) {
  int64_t wide = *out;
  Int(key, &wide, min, max);
  *out = static_cast<int>(wide);
}

void ConfigObject::Double(const char* key, double* out, double min, double max) {
  const rapidjson::Value* v = Member(key);
  if (v == nullptr) return;
  if (!v->IsNumber()) return Error(key, "expected a number");
  double x = v->GetDouble();
  if (!std::isfinite(x) || x < min || x > max) {
    return Error(key, "expected a number in [" + std::to_string(min) + ", " +
                          std::to_string(max) + "]");
  }
  *out = x;
}

void ConfigObject::Enum(const char* key, int* out, const std::vector<std::string>& choices) {
  const rapidjson::Value* v = Member(key);
  if (v == nullptr) return;
  std::string allowed;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (v->IsString() && choices[i] == v->GetString()) {
      *out = static_cast<int>(i);
      return;
    }
    allowed += (i ? ", \"" : "\"") + choices[i] + "\"";
  }
  Error(key, "expected one of " + allowed);
}

void ConfigObject::StringMap(const char* key,
                             std::vector<std::pair<std::string, std::string>>* out) {
  const rapidjson::Value* v = Member(key);
  if (v == nullptr) return;
  if (!v->IsObject()) return Error(key, "expected an object of strings");
  out->clear();
  for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
    if (!it->value.IsString()) {
      return Error(key, std::string("value of \"") + it->name.GetString() + "\" must be a string");
    }
    out->emplace_back(it->name.GetString(), it->value.GetString());
  }
}

void ConfigObject::StringList(const char* key, std::vector<std::string>* out) {
  const rapidjson::Value* v = Member(key);
  if (v == nullptr) return;
  if (!v->IsArray()) return Error(key, "expected an array of strings");
  out->clear();
  for (const auto& item : v->GetArray()) {
    if (!item.IsString()) return Error(key, "every element must be a string");
    out->emplace_back(item.GetString());
  }
}

ConfigObject* ConfigObject::Object(const char* key) {
  const rapidjson::Value* v = Member(key);
  if (v == nullptr) return nullptr;
  if (!v->IsObject()) {
    Error(key, "expected an object");
    return nullptr;
  }
  children_.emplace_back(v, PathOf(key), first_error_);
  return &children_.back();
}

const rapidjson::Value* ConfigObject::Raw(const char* key) { return Member(key); }

Status ConfigObject::Finish() {
  if (!first_error_->ok()) return *first_error_;
  if (value_ != nullptr && value_->IsObject()) {
    for (auto it = value_->MemberBegin(); it != value_->MemberEnd(); ++it) {
      if (known_.count(it->name.GetString()) == 0) {
        return InvalidArgument(PathOf(it->name.GetString()) + ": unknown configuration key");
      }
    }
  }
  for (ConfigObject& child : children_) {
    Status s = child.Finish();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace lifeline
