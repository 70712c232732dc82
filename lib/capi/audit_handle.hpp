// audit_handle.hpp -- the struct behind lifeline_audit_t.
#ifndef LIFELINE_LIB_CAPI_AUDIT_HANDLE_HPP_
#define LIFELINE_LIB_CAPI_AUDIT_HANDLE_HPP_

#include <memory>
#include <mutex>

#include "lifeline/audit_log.hpp"
#include "lifeline/lifeline.h"

// The host's credential check; replaceable while the log is open.
struct lifeline_audit_credentials {
  std::mutex mu;
  lifeline_credential_callback callback = nullptr;
  void* user_data = nullptr;
};

struct lifeline_audit_t {
  std::unique_ptr<lifeline::AuditLog> log;
  std::shared_ptr<lifeline_audit_credentials> credentials;
};

#endif  // LIFELINE_LIB_CAPI_AUDIT_HANDLE_HPP_
