// status.hpp -- the result type of the C++ core.
//
// Overview: every fallible core operation returns a `lifeline::Status`, or a
// `lifeline::Result<T>` holding either a value or a non-OK Status. The codes
// are the C ABI's `lifeline_status` values, so the C layer converts with a
// cast and a user moving between C, C++ and Python sees the same names.
//
// Example:
//
//   lifeline::Result<UnixMillis> t = lifeline::ParseRfc3339("2026-03-08T07:30:00Z");
//   if (!t.ok()) std::cerr << t.status().message();
//
// Abseil's Status is deliberately not used in public signatures: Abseil
// promises no ABI stability and PBX hosts often carry their own copy.
#ifndef LIFELINE_STATUS_HPP_
#define LIFELINE_STATUS_HPP_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

#include "lifeline/lifeline.h"

namespace lifeline {

// Mirrors `lifeline_status` one to one.
enum class StatusCode : int {
  kOk = LIFELINE_OK,
  kInvalidArgument = LIFELINE_E_INVALID_ARGUMENT,
  kBufferTooSmall = LIFELINE_E_BUFFER_TOO_SMALL,
  kNotFound = LIFELINE_E_NOT_FOUND,
  kNonexistentTime = LIFELINE_E_NONEXISTENT_TIME,
  kAmbiguousTime = LIFELINE_E_AMBIGUOUS_TIME,
  kFull = LIFELINE_E_FULL,
  kRateLimited = LIFELINE_E_RATE_LIMITED,
  kUnavailable = LIFELINE_E_UNAVAILABLE,
  kIo = LIFELINE_E_IO,
  kTimeout = LIFELINE_E_TIMEOUT,
  kState = LIFELINE_E_STATE,
  kDuplicate = LIFELINE_E_DUPLICATE,
  kInternal = LIFELINE_E_INTERNAL,
  kUnauthenticated = LIFELINE_E_UNAUTHENTICATED,
};

// A code plus a human-readable message. The message never contains PII or
// secrets: it names arguments and positions, not values.
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  lifeline_status c_status() const { return static_cast<lifeline_status>(code_); }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); }
inline Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status StateError(std::string m) { return Status(StatusCode::kState, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(StatusCode::kUnavailable, std::move(m)); }
inline Status IoError(std::string m) { return Status(StatusCode::kIo, std::move(m)); }
inline Status InternalError(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

// Either a T or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace lifeline

#endif  // LIFELINE_STATUS_HPP_
