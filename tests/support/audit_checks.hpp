// audit_checks.hpp -- the audit trail tests' REQUIRE-ing shortcuts (Catch2):
// open a log, verify a directory or an export, list archive segments. Each
// fails the test with the library's message when the call fails.
#ifndef LIFELINE_TESTS_SUPPORT_AUDIT_CHECKS_HPP_
#define LIFELINE_TESTS_SUPPORT_AUDIT_CHECKS_HPP_

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "lifeline/audit_log.hpp"
#include "store/audit_archive.hpp"

namespace audit_test {

inline std::unique_ptr<lifeline::AuditLog> MustOpen(const lifeline::AuditLogOptions& options) {
  auto log = lifeline::AuditLog::Open(options);
  INFO(log.status().message());
  REQUIRE(log.ok());
  return std::move(*log);
}

inline lifeline::AuditVerifyReport VerifyDir(const lifeline::AuditLogOptions& options) {
  auto report = lifeline::VerifyAuditDirectory(options);
  INFO(report.status().message());
  REQUIRE(report.ok());
  return *report;
}

inline lifeline::AuditVerifyReport VerifyExport(const std::string& path, lifeline::KeyProvider& keys) {
  auto report = lifeline::VerifyAuditExport(path, keys);
  INFO(report.status().message());
  REQUIRE(report.ok());
  return *report;
}

// The archive segment file names under `dir`/archive, oldest first.
inline std::vector<std::string> SegmentNames(const std::string& dir) {
  std::vector<lifeline::audit_internal::SegmentFile> files;
  REQUIRE(lifeline::audit_internal::ListSegments(dir + "/archive", &files).ok());
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.name);
  return names;
}

}  // namespace audit_test

#endif  // LIFELINE_TESTS_SUPPORT_AUDIT_CHECKS_HPP_
