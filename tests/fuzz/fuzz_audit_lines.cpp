// libFuzzer target for the audit trail's readers: a stored record line, a
// checkpoint, a segment header, a purge-manifest entry and a record time.
// They read files an attacker may have edited, so any bytes must give a
// clear error, never a crash. Checks:
//   - every error has a message;
//   - a time that parses is canonical: FormatAuditTime gives the same text;
//   - a record line that parses (its hash matched) serialises back to a line
//     that parses to the same hash, content digest and seq;
//   - PeekAuditSeq agrees with the parsed seq.
// The first byte chooses the reader; the rest is the line.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_checks.hpp"
#include "lifeline/audit_chain.hpp"

using lifeline::fuzz::Require;
using lifeline::fuzz::RequireMessage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view line(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0: {
      lifeline::AuditRecord record;
      std::string digest;
      lifeline::Status s = lifeline::ParseAuditLine(line, &record, &digest);
      RequireMessage(s);
      if (!s.ok()) break;
      Require(lifeline::PeekAuditSeq(line) == record.seq);
      lifeline::AuditRecord again = record;
      again.hash.clear();
      std::string rewritten;
      lifeline::AppendAuditLine(&again, &rewritten);
      lifeline::AuditRecord reparsed;
      std::string digest2;
      Require(lifeline::ParseAuditLine(rewritten, &reparsed, &digest2).ok());
      Require(reparsed.hash == record.hash && digest2 == digest && reparsed.seq == record.seq);
      break;
    }
    case 1: {
      lifeline::AuditCheckpoint cp;
      RequireMessage(lifeline::ParseAuditCheckpoint(line, &cp));
      break;
    }
    case 2: {
      lifeline::AuditSegmentHeader header;
      RequireMessage(lifeline::ParseAuditSegmentHeader(line, &header));
      break;
    }
    case 3: {
      lifeline::AuditPurgeEntry entry;
      RequireMessage(lifeline::ParseAuditPurgeEntry(line, &entry));
      break;
    }
    default: {
      lifeline::UnixMillis t = 0;
      if (lifeline::ParseAuditTime(line, &t)) Require(lifeline::FormatAuditTime(t) == line);
      break;
    }
  }
  return 0;
}
