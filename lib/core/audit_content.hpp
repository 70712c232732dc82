// audit_content.hpp -- the canonical content serialisation of an audit
// record, from views. Internal to the library.
//
// lifeline::AppendAuditContent (audit_chain.hpp) serialises an AuditRecord,
// whose members are strings. The append path builds each record from an
// AuditEvent and its own scratch buffers; copying all of them into an
// AuditRecord first only to serialise it was a tenth of the record's cost.
// This overload takes the same record as views and writes the same bytes
// (AppendAuditContent(const AuditRecord&) calls it).
#ifndef LIFELINE_LIB_CORE_AUDIT_CONTENT_HPP_
#define LIFELINE_LIB_CORE_AUDIT_CONTENT_HPP_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lifeline/audit_sink.hpp"
#include "lifeline/clock.hpp"

namespace lifeline::audit_internal {

// A StoredPii as views.
struct StoredPiiView {
  std::string_view name;
  std::string_view enc;
  std::string_view psn;
};

// An AuditRecord's content members (everything but prev_hash and hash) as
// views. `pii` points to `pii_size` fields sorted by name, names unique.
struct AuditContentView {
  std::uint64_t seq = 0;
  UnixMillis time = 0;
  AuditSource source = AuditSource::kCascade;
  std::string_view incident_id;
  std::string_view call_id;
  std::string_view subject;
  std::string_view channel;
  std::string_view event;
  std::string_view status;
  std::string_view provider_id;
  std::string_view detail;
  const StoredPiiView* pii = nullptr;
  std::size_t pii_size = 0;
  std::string_view pii_enc;
};

// Appends the canonical content serialisation of `record` to `*out`: byte
// for byte what AppendAuditContent writes for the same AuditRecord.
void AppendAuditContent(const AuditContentView& record, std::string* out);

}  // namespace lifeline::audit_internal

#endif  // LIFELINE_LIB_CORE_AUDIT_CONTENT_HPP_
