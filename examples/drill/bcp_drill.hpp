// bcp_drill.hpp -- the business-continuity (BCP) activation part of the drill.
#ifndef LIFELINE_EXAMPLES_DRILL_BCP_DRILL_HPP_
#define LIFELINE_EXAMPLES_DRILL_BCP_DRILL_HPP_

#include <cstdint>
#include <set>
#include <string>

// Runs a P1 stakeholder notification cascade in simulated time through the
// C ABI (lifeline_cascade_runtime_*): a few hundred stakeholders, some of
// whom never answer, an SMS carrier that answers 429 after 150 messages, and
// a directory outage part-way through the live lookups. Prints an outcome
// table (unless `quiet`, then one summary line) and returns 0 only if the
// promises hold: nobody lost, no endpoint over its throttle, everyone
// acknowledged or escalated within the bound the configuration implies, and
// nothing sent to anyone after their acknowledgement. `seed` picks who
// answers how. With `html_report_path` (nullable) it also writes a
// self-contained HTML report with a timeline chart (inline SVG). With
// `audit` (nullable), every cascade event is recorded there before anything
// is sent (lifeline_cascade_runtime_set_audit). With `pii_used`
// (nullable), every phone number and email address it gives the library is
// added there, for the PII scan at the end of the drill.
struct lifeline_audit_t;
int RunBcpDrill(bool quiet, std::uint64_t seed, const char* html_report_path,
                lifeline_audit_t* audit = nullptr, std::set<std::string>* pii_used = nullptr);

#endif  // LIFELINE_EXAMPLES_DRILL_BCP_DRILL_HPP_
