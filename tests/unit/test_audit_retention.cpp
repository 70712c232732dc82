// Retention (on a manual clock), archive segments, the archive index,
// verification across segments, corrupt archives, exports and their
// standalone verification.
#include <catch2/catch.hpp>

#include <filesystem>

#include "lifeline/audit_log.hpp"
#include "lifeline/clock.hpp"
#include "store/audit_archive.hpp"
#include "support/audit_checks.hpp"
#include "support/audit_fixture.hpp"

using namespace audit_test;
using lifeline::AuditFilter;
using lifeline::AuditFinding;
using lifeline::AuditLog;
using lifeline::AuditReader;
using lifeline::AuditVerifyReport;
using lifeline::AuditView;
using lifeline::ManualClock;

namespace {

const AuditReader kOfficer{"compliance_officer", "co-secret"};
const AuditReader kAnalyst{"analyst", ""};

// Events i = 0..n-1 happen 10 days apart from kT0.
void AppendSpread(AuditLog& log, int from, int to) {
  for (int i = from; i < to; ++i) REQUIRE(log.Append(EventOf(i, kT0 + i * 10 * kDay)).ok());
}

std::vector<std::uint64_t> SeqsOf(AuditLog& log, const AuditFilter& filter) {
  std::vector<std::uint64_t> seqs;
  lifeline::Status s = log.Read(filter, kAnalyst, kT0, [&](const AuditView& v) {
    seqs.push_back(v.record.seq);
    return true;
  });
  REQUIRE(s.ok());
  return seqs;
}

AuditFilter Incident(const std::string& id) {
  AuditFilter f;
  f.incident_id = id;
  return f;
}

}  // namespace

TEST_CASE("records older than the retention move to segments, the history still verifies and queries") {
  for (auto store : {lifeline::AuditStoreKind::kFile, lifeline::AuditStoreKind::kSqlite}) {
    DYNAMIC_SECTION((store == lifeline::AuditStoreKind::kFile ? "file" : "sqlite")) {
      std::string dir = FreshDir("retention");
      auto keys = TestKeys();
      auto options = TestOptions(dir, keys);
      options.store = store;
      options.segment_max_records = 5;
      ManualClock clock(kT0);
      {
        auto log = MustOpen(options);
        AppendSpread(*log, 0, 30);
        clock.Set(kT0 + 300 * kDay);  // 180-day retention: older than day 120 goes
        auto archived = log->Archive(clock.Now());
        REQUIRE(archived.ok());
        CHECK(*archived == 12);
        CHECK(SegmentNames(dir) ==
              std::vector<std::string>{lifeline::audit_internal::SegmentFileName(1, 5),
                                       lifeline::audit_internal::SegmentFileName(6, 10),
                                       lifeline::audit_internal::SegmentFileName(11, 12)});
        auto again = log->Archive(clock.Now());
        REQUIRE(again.ok());
        CHECK(*again == 0);

        auto report = log->Verify();
        REQUIRE(report.ok());
        CHECK(report->ok());
        CHECK(report->segments == 3);
        CHECK(report->records == 30);

        // Query by incident, across the archive and the live store.
        CHECK(SeqsOf(*log, Incident("INC-1")) ==
              std::vector<std::uint64_t>{2, 5, 8, 11, 14, 17, 20, 23, 26, 29});
        AuditFilter window;
        window.from = kT0 + 50 * kDay;
        window.to = kT0 + 150 * kDay;
        CHECK(SeqsOf(*log, window) == std::vector<std::uint64_t>{6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
        // Decryption works for archived records too.
        std::string phone;
        REQUIRE(log->Read(Incident("INC-0"), kOfficer, clock.Now(), [&](const AuditView& v) {
                     for (const auto& f : v.pii) {
                       if (f.name == "phone") phone = f.value;
                     }
                     return false;
                   }).ok());
        CHECK(phone == PhoneOf(0));
        REQUIRE(log->Close().ok());
      }
      if (store == lifeline::AuditStoreKind::kFile) {
        std::vector<std::string> live = Lines(ReadFile(dir + "/audit.log"));
        REQUIRE_FALSE(live.empty());
        CHECK(lifeline::PeekAuditSeq(live.front()) == 13);
      }
      {
        // Reopened: the chain continues after the live store, which itself
        // continues the archive.
        auto log = MustOpen(options);
        CHECK(log->head_seq() == 31);  // 30 events + the officer's PII_DECRYPTED
        AppendSpread(*log, 31, 40);
        clock.Set(kT0 + 400 * kDay);
        auto archived = log->Archive(clock.Now());
        REQUIRE(archived.ok());
        CHECK(*archived == 10);  // seq 13..22 (days 120..210)
        CHECK(SegmentNames(dir).size() == 5);
        REQUIRE(log->Close().ok());
      }
      AuditVerifyReport report = VerifyDir(options);
      CHECK(report.ok());
      CHECK(report.segments == 5);
      CHECK(report.records == 40);

      // The index is derived data: without it, reopening rebuilds it.
      std::filesystem::remove(dir + "/archive/index.sqlite");
      std::filesystem::remove(dir + "/archive/index.sqlite-wal");
      std::filesystem::remove(dir + "/archive/index.sqlite-shm");
      auto log = MustOpen(options);
      CHECK(SeqsOf(*log, Incident("INC-1")).size() == 13);
    }
  }
}

TEST_CASE("a corrupt or missing archive segment is reported, never skipped") {
  std::string dir = FreshDir("corrupt");
  auto options = TestOptions(dir, TestKeys());
  options.segment_max_records = 5;
  {
    auto log = MustOpen(options);
    AppendSpread(*log, 0, 30);
    REQUIRE(log->Archive(kT0 + 300 * kDay).ok());
    REQUIRE(log->Close().ok());
  }
  REQUIRE(VerifyDir(options).ok());
  const std::string seg = dir + "/archive/" + lifeline::audit_internal::SegmentFileName(6, 10);
  const std::string original = ReadFile(seg);

  SECTION("a flipped byte") {
    std::string data = original;
    data[data.size() / 2] ^= 0x20;
    WriteFile(seg, data);
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kCorruptArchive);
    CHECK(r.first_bad_seq == 6);
    CHECK(r.message.find("is corrupt") != std::string::npos);
    CHECK(r.records == 5);  // the segment before it was fine
  }
  SECTION("a truncated file") {
    WriteFile(seg, original.substr(0, original.size() - 9));
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kCorruptArchive);
    CHECK(r.first_bad_seq == 6);
  }
  SECTION("a removed segment") {
    std::filesystem::remove(seg);
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kDeleted);
    CHECK(r.first_bad_seq == 6);
    CHECK(r.message == "seq 6 is missing (no archive segment holds seqs 6-10; expected " +
                           lifeline::audit_internal::SegmentFileName(6, 10) +
                           " or segments covering that range)");
  }
  SECTION("the open log refuses a corrupt last segment") {
    const std::string last = dir + "/archive/" + lifeline::audit_internal::SegmentFileName(11, 12);
    std::string data = ReadFile(last);
    data[data.size() / 2] ^= 0x01;
    WriteFile(last, data);
    auto log = AuditLog::Open(options);
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().code() == lifeline::StatusCode::kState);
  }
}

TEST_CASE("an archive interrupted before the live store was rewritten is finished on open") {
  std::string dir = FreshDir("interrupted");
  auto options = TestOptions(dir, TestKeys());
  std::string before;
  {
    auto log = MustOpen(options);
    AppendSpread(*log, 0, 20);
    REQUIRE(log->Flush().ok());
    before = ReadFile(dir + "/audit.log");
    REQUIRE(log->Archive(kT0 + 300 * kDay).ok());
    REQUIRE(log->Close().ok());
  }
  // As if the process died after writing the segment, before the rename
  // of the shortened live store.
  WriteFile(dir + "/audit.log", before);
  AuditVerifyReport r = VerifyDir(options);
  CHECK(r.ok());
  CHECK(r.records == 20);
  auto log = MustOpen(options);
  CHECK(log->head_seq() == 20);
  CHECK(lifeline::PeekAuditSeq(Lines(ReadFile(dir + "/audit.log")).front()) == 13);
  REQUIRE(log->Append(EventOf(20, kT0 + 200 * kDay)).ok());
  auto report = log->Verify();
  REQUIRE(report.ok());
  CHECK(report->ok());
}

TEST_CASE("an export carries a chain proof that verifies on its own") {
  std::string dir = FreshDir("export");
  auto keys = TestKeys();
  auto options = TestOptions(dir, keys);
  options.segment_max_records = 4;
  auto log = MustOpen(options);
  AppendSpread(*log, 0, 30);
  REQUIRE(log->Archive(kT0 + 300 * kDay).ok());
  const std::string out = dir + "/export.jsonl";

  SECTION("without a role: records with pseudonyms, no clear PII") {
    auto summary = log->Export(Incident("INC-2"), kAnalyst, kT0 + 300 * kDay, out);
    REQUIRE(summary.ok());
    CHECK(summary->records == 10);
    CHECK_FALSE(summary->decrypted);
    std::string text = ReadFile(out);
    CHECK(text.find("\"type\":\"pii\"") == std::string::npos);
    for (int i = 0; i < 30; ++i) {
      CHECK(text.find(PhoneOf(i)) == std::string::npos);
      CHECK(text.find(EmailOf(i)) == std::string::npos);
    }
    std::vector<std::string> lines = Lines(text);
    CHECK(lines.front().rfind("{\"type\":\"export\",\"format\":\"lifeline-audit-export/1\"", 0) == 0);
    CHECK(lines.back() == "{\"type\":\"end\",\"records\":10,\"links\":" +
                              std::to_string(summary->links) + "}");
    AuditVerifyReport r = VerifyExport(out, *keys);
    INFO(r.ToJson());
    CHECK(r.ok());
    CHECK(r.records == 10);
    CHECK(r.links == summary->links);
    CHECK(r.first_seq == 3);
    CHECK(r.last_seq == summary->checkpoint_seq);
  }
  SECTION("for a compliance officer: clear PII lines, and the decryption is audited") {
    auto summary = log->Export(Incident("INC-2"), kOfficer, kT0 + 300 * kDay, out);
    REQUIRE(summary.ok());
    CHECK(summary->decrypted);
    std::string text = ReadFile(out);
    CHECK(text.find("{\"type\":\"pii\",\"seq\":3,\"fields\":{\"email\":\"" + EmailOf(2) +
                    "\",\"phone\":\"" + PhoneOf(2) + "\"") != std::string::npos);
    CHECK(VerifyExport(out, *keys).ok());
    std::vector<std::uint64_t> audit;
    REQUIRE(log->Read(AuditFilter(), kAnalyst, kT0, [&](const AuditView& v) {
                 if (v.record.event == "PII_DECRYPTED") {
                   CHECK(v.record.incident_id == "INC-2");
                   CHECK(v.record.subject == "compliance_officer");
                   audit.push_back(v.record.seq);
                 }
                 return true;
               }).ok());
    CHECK(audit == std::vector<std::uint64_t>{31});
  }
  SECTION("a time window") {
    AuditFilter window;
    window.from = kT0 + 100 * kDay;
    window.to = kT0 + 140 * kDay;
    auto summary = log->Export(window, kAnalyst, kT0, out);
    REQUIRE(summary.ok());
    CHECK(summary->records == 4);
    CHECK(VerifyExport(out, *keys).ok());
  }
  SECTION("nothing matches") {
    auto summary = log->Export(Incident("INC-404"), kAnalyst, kT0, out);
    REQUIRE(summary.ok());
    CHECK(summary->records == 0);
    CHECK(Lines(ReadFile(out)).size() == 2);
    CHECK(VerifyExport(out, *keys).ok());
  }
  SECTION("tampered exports") {
    REQUIRE(log->Export(Incident("INC-2"), kAnalyst, kT0, out).ok());
    const std::vector<std::string> lines = Lines(ReadFile(out));
    auto verify_with = [&](std::vector<std::string> edited) {
      WriteFile(out, Join(edited));
      return VerifyExport(out, *keys);
    };
    std::size_t record = 0, link = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      if (record == 0 && lines[i].rfind("{\"seq\":9,", 0) == 0) record = i;
      if (link == 0 && lines[i].rfind("{\"type\":\"link\",\"seq\":10,", 0) == 0) link = i;
    }
    REQUIRE(record != 0);
    REQUIRE(link != 0);
    {
      auto e = lines;
      e[record][40] = e[record][40] == 'Z' ? 'Y' : 'Z';
      AuditVerifyReport r = verify_with(e);
      CHECK(r.finding == AuditFinding::kEdited);
      CHECK(r.first_bad_seq == 9);
    }
    {
      auto e = lines;
      e.erase(e.begin() + static_cast<long>(link));
      AuditVerifyReport r = verify_with(e);
      CHECK(r.finding == AuditFinding::kDeleted);
      CHECK(r.first_bad_seq == 10);
    }
    {
      auto e = lines;
      e.resize(e.size() - 2);  // no checkpoint, no end
      AuditVerifyReport r = verify_with(e);
      CHECK(r.finding == AuditFinding::kTruncated);
    }
    {
      auto e = lines;
      std::string& cp = e[e.size() - 2];
      std::size_t mac = cp.find("\"mac\":\"") + 7;
      cp[mac] = cp[mac] == 'a' ? 'b' : 'a';
      AuditVerifyReport r = verify_with(e);
      CHECK(r.finding == AuditFinding::kBadCheckpoint);
    }
    {
      auto other = TestKeys();
      other->Add("c1", KeyOf(0x33));
      WriteFile(out, Join(lines));
      AuditVerifyReport r = VerifyExport(out, *other);
      CHECK(r.finding == AuditFinding::kBadCheckpoint);
    }
  }
}

TEST_CASE("after a full drill no phone number or email appears in clear anywhere on disk or in errors") {
  std::string dir = FreshDir("pii_drill");
  auto keys = TestKeys();
  auto options = TestOptions(dir, keys);
  options.segment_max_records = 7;
  std::vector<std::string> messages;
  {
    auto log = MustOpen(options);
    AppendSpread(*log, 0, 40);
    std::vector<lifeline::AuditEvent> batch;
    for (int i = 40; i < 50; ++i) batch.push_back(EventOf(i, kT0 + 400 * kDay + i));
    REQUIRE(log->AppendBatch(batch).ok());
    // Failures on the way, with PII in the offending events.
    lifeline::AuditEvent bad = EventOf(3);
    bad.detail = "\xff";
    messages.push_back(log->Append(bad).message());
    bad = EventOf(4);
    bad.pii.push_back({"phone", PhoneOf(4)});
    messages.push_back(log->Append(bad).message());
    messages.push_back(
        log->Read(AuditFilter(), AuditReader{"compliance_officer", "nope"}, kT0, [](const AuditView&) {
             return true;
           }).message());
    REQUIRE(log->Archive(kT0 + 300 * kDay).ok());
    REQUIRE(log->Export(Incident("INC-1"), kAnalyst, kT0, dir + "/siem.jsonl").ok());
    REQUIRE(log->Read(AuditFilter(), kAnalyst, kT0, [](const AuditView&) { return true; }).ok());
    REQUIRE(log->Close().ok());
  }
  std::string everything;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string path = entry.path().string();
    everything += ReadFile(path);
    if (path.size() > 3 && path.substr(path.size() - 3) == ".gz") {
      lifeline::audit_internal::SegmentFile file;
      file.path = path;
      file.name = entry.path().filename().string();
      REQUIRE(lifeline::audit_internal::ParseSegmentFileName(file.name, &file.first_seq, &file.last_seq));
      lifeline::AuditSegmentHeader header;
      std::vector<std::string> lines;
      bool corrupt = false;
      REQUIRE(lifeline::audit_internal::ReadSegment(file, &header, &lines, &corrupt).ok());
      for (const auto& line : lines) everything += line + "\n";
    }
  }
  for (const auto& m : messages) everything += m + "\n";
  CHECK(everything.find("DELIVERY_ATTEMPT") != std::string::npos);  // the scan sees records
  for (int i = 0; i < 50; ++i) {
    INFO("event " << i);
    CHECK(everything.find(PhoneOf(i)) == std::string::npos);
    CHECK(everything.find(EmailOf(i)) == std::string::npos);
    CHECK(everything.find("\"stk-" + std::to_string(i) + "\"") == std::string::npos);
  }
}
