// helper_process.hpp -- shared pieces of the child processes that the crash
// tests start and SIGKILL (tests/support/helper_*.cpp).
#ifndef LIFELINE_TESTS_SUPPORT_HELPER_PROCESS_HPP_
#define LIFELINE_TESTS_SUPPORT_HELPER_PROCESS_HPP_

#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <string>

#include "lifeline/audit_sink.hpp"
#include "lifeline/status.hpp"

namespace lifeline::testing {

// Writes `s` and a newline to stdout in one write(2), so that a kill never
// leaves half a line for the parent to read.
inline void Line(const std::string& s) {
  std::string l = s + "\n";
  ssize_t n = ::write(STDOUT_FILENO, l.data(), l.size());
  (void)n;
}

// Reports `what` failed on stderr; returns the helpers' failure exit code.
inline int Fail(const char* program, const std::string& what, const Status& s) {
  std::fprintf(stderr, "%s: %s: %s\n", program, what.c_str(), s.message().c_str());
  return 2;
}

// An audit sink that forwards to another while open and, once closed,
// refuses every append the way a full disk does (LIFELINE_E_IO).
class AuditGate final : public AuditSink {
 public:
  explicit AuditGate(AuditSink* next) : next_(next) {}
  Status Append(const AuditEvent& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return IoError("No space left on device");
    return next_->Append(e);
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }

 private:
  AuditSink* next_;
  std::mutex mu_;
  bool closed_ = false;
};

}  // namespace lifeline::testing

#endif  // LIFELINE_TESTS_SUPPORT_HELPER_PROCESS_HPP_
