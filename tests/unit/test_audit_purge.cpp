// Purging archive segments (AuditLog::PurgeArchive) on a manual clock: what
// is removed, the purge manifest that keeps the chain provable, who may
// purge, the retention floor, idempotence, and how verify reports a removed
// segment, a tampered, truncated or missing manifest, and a purged segment
// that is still present.
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
using lifeline::AuditPurgeSummary;
using lifeline::AuditReader;
using lifeline::AuditVerifyReport;
using lifeline::AuditView;
using lifeline::ManualClock;
using lifeline::StatusCode;
using lifeline::audit_internal::SegmentFileName;

namespace {

const AuditReader kAdmin{"bcp_admin", "admin-secret"};
const AuditReader kOfficer{"compliance_officer", "co-secret"};
const AuditReader kAnalyst{"analyst", ""};

std::vector<AuditView> ReadAll(AuditLog& log, const AuditFilter& filter = AuditFilter()) {
  std::vector<AuditView> views;
  lifeline::Status s = log.Read(filter, kAnalyst, kT0, [&](const AuditView& v) {
    views.push_back(v);
    return true;
  });
  INFO(s.message());
  REQUIRE(s.ok());
  return views;
}

AuditPurgeSummary MustPurge(AuditLog& log, lifeline::UnixMillis cutoff, lifeline::UnixMillis now) {
  auto summary = log.PurgeArchive(cutoff, kAdmin, now);
  INFO(summary.status().message());
  REQUIRE(summary.ok());
  return *summary;
}

// 30 events 10 days apart (day 0 to day 290), archived at day 300 with a
// 180-day retention: seqs 1-12 (days 0-110) in segments 1-5, 6-10, 11-12;
// 13-30 live. Checkpoints every 10 records.
constexpr lifeline::UnixMillis kNow = kT0 + 300 * kDay;

lifeline::AuditLogOptions ArchivedLog(const std::string& dir) {
  auto options = TestOptions(dir, TestKeys());
  options.segment_max_records = 5;
  auto log = MustOpen(options);
  for (int i = 0; i < 30; ++i) REQUIRE(log->Append(EventOf(i, kT0 + i * 10 * kDay)).ok());
  auto archived = log->Archive(kNow);
  REQUIRE(archived.ok());
  REQUIRE(*archived == 12);
  REQUIRE(log->Close().ok());
  return options;
}

}  // namespace

TEST_CASE("a purge deletes the oldest segments older than the cutoff, what remains still verifies") {
  std::string dir = FreshDir("purge");
  auto options = ArchivedLog(dir);
  auto log = MustOpen(options);
  ManualClock clock(kNow);

  // Day 105: segments 1-5 (days 0-40) and 6-10 (days 50-90) go; 11-12
  // holds day 110 and stays, with everything after it.
  AuditPurgeSummary summary = MustPurge(*log, kT0 + 105 * kDay, clock.Now());
  CHECK(summary.segments == 2);
  CHECK(summary.records == 10);
  CHECK(summary.first_seq == 1);
  CHECK(summary.last_seq == 10);
  CHECK(summary.audit_seq == 31);
  CHECK(SegmentNames(dir) == std::vector<std::string>{SegmentFileName(11, 12)});
  CHECK(Lines(ReadFile(dir + "/archive/purged.jsonl")).size() == 2);

  auto report = log->Verify();
  REQUIRE(report.ok());
  INFO(report->ToJson());
  CHECK(report->ok());
  CHECK(report->purged_segments == 2);
  CHECK(report->purged_through == 10);
  CHECK(report->first_seq == 11);
  CHECK(report->records == 21);  // 11..31
  CHECK(report->segments == 1);
  CHECK(report->ToJson().find("\"purged_segments\":2,\"purged_through\":10}") != std::string::npos);

  // The purge itself is in the trail, and purged records are gone from reads
  // (the index forgot them too).
  std::vector<AuditView> views = ReadAll(*log);
  REQUIRE(views.size() == 21);
  CHECK(views.front().record.seq == 11);
  const lifeline::AuditRecord& purge = views.back().record;
  CHECK(purge.seq == 31);
  CHECK(purge.source == lifeline::AuditSource::kAudit);
  CHECK(purge.event == "ARCHIVE_PURGED");
  CHECK(purge.status == "PURGED");
  CHECK(purge.subject == "bcp_admin");
  lifeline::AuditPurgeEntry last;
  REQUIRE(lifeline::ParseAuditPurgeEntry(Lines(ReadFile(dir + "/archive/purged.jsonl"))[1], &last)
              .ok());
  CHECK(last.segment.first_seq == 6);
  CHECK(last.segment.last_seq == 10);
  CHECK(last.max_time == kT0 + 90 * kDay);
  CHECK(last.cutoff == kT0 + 105 * kDay);
  CHECK(last.purged_at == kNow);
  CHECK(last.audit_seq == 31);
  CHECK(last.kid == "c1");
  CHECK(purge.detail == "{\"operation\":\"purge\",\"cutoff\":" + std::to_string(kT0 + 105 * kDay) +
                            ",\"first_seq\":1,\"last_seq\":10,\"last_hash\":\"" +
                            last.segment.last_hash + "\",\"segments\":2,\"records\":10}");
  AuditFilter inc1;
  inc1.incident_id = "INC-1";
  std::vector<std::uint64_t> seqs;
  for (const AuditView& v : ReadAll(*log, inc1)) seqs.push_back(v.record.seq);
  CHECK(seqs == std::vector<std::uint64_t>{11, 14, 17, 20, 23, 26, 29});

  // An export still proves its records, from the first remaining one.
  std::string out = dir + "/export.jsonl";
  auto exported = log->Export(inc1, kAnalyst, clock.Now(), out);
  REQUIRE(exported.ok());
  CHECK(exported->records == 7);
  auto proof = lifeline::VerifyAuditExport(out, *options.keys);
  REQUIRE(proof.ok());
  CHECK(proof->ok());
  REQUIRE(log->Close().ok());

  // Closed, reopened, appended to: the chain continues and verifies.
  AuditVerifyReport closed = VerifyDir(options);
  CHECK(closed.ok());
  CHECK(closed.purged_through == 10);
  auto again = MustOpen(options);
  CHECK(again->head_seq() == 31);
  REQUIRE(again->Append(EventOf(31, kT0 + 310 * kDay)).ok());
  auto report2 = again->Verify();
  REQUIRE(report2.ok());
  CHECK(report2->ok());
  CHECK(report2->records == 22);
}

TEST_CASE("purging is idempotent and never reaches inside the retention period") {
  std::string dir = FreshDir("purge_floor");
  auto options = ArchivedLog(dir);
  auto log = MustOpen(options);
  std::uint64_t head = log->head_seq();

  SECTION("a cutoff inside the retention period is refused, and nothing is recorded") {
    // now - 180 days = day 120; day 120 itself is the floor.
    auto refused = log->PurgeArchive(kT0 + 120 * kDay + 1, kAdmin, kNow);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == StatusCode::kInvalidArgument);
    CHECK(refused.status().message() ==
          "cutoff 2024-09-17T14:32:00.001Z is inside the retention period: only records older "
          "than now - retention (2024-09-17T14:32:00.000Z) may be purged");
    CHECK(log->head_seq() == head);
    CHECK(SegmentNames(dir).size() == 3);
    // At the floor exactly: every archived record (day 110 at the latest) goes.
    AuditPurgeSummary all = MustPurge(*log, kT0 + 120 * kDay, kNow);
    CHECK(all.segments == 3);
    CHECK(all.last_seq == 12);
  }
  SECTION("purging twice with the same cutoff removes and records nothing the second time") {
    AuditPurgeSummary first = MustPurge(*log, kT0 + 55 * kDay, kNow);
    CHECK(first.segments == 1);
    CHECK(first.last_seq == 5);
    CHECK(log->head_seq() == head + 1);
    std::string manifest = ReadFile(dir + "/archive/purged.jsonl");
    AuditPurgeSummary second = MustPurge(*log, kT0 + 55 * kDay, kNow);
    CHECK(second.segments == 0);
    CHECK(second.records == 0);
    CHECK(second.audit_seq == 0);
    CHECK(log->head_seq() == head + 1);
    CHECK(ReadFile(dir + "/archive/purged.jsonl") == manifest);
    CHECK(SegmentNames(dir) ==
          std::vector<std::string>{SegmentFileName(6, 10), SegmentFileName(11, 12)});
    // A later cutoff continues where the first purge stopped.
    AuditPurgeSummary third = MustPurge(*log, kT0 + 95 * kDay, kNow);
    CHECK(third.segments == 1);
    CHECK(third.first_seq == 6);
    CHECK(third.last_seq == 10);
    auto report = log->Verify();
    REQUIRE(report.ok());
    CHECK(report->ok());
    CHECK(report->purged_segments == 2);
  }
}

TEST_CASE("only a verified bcp_admin may purge, refusals are recorded") {
  std::string dir = FreshDir("purge_role");
  auto options = ArchivedLog(dir);
  auto log = MustOpen(options);
  auto officer = log->PurgeArchive(kT0 + 105 * kDay, kOfficer, kNow);
  REQUIRE_FALSE(officer.ok());
  CHECK(officer.status().code() == StatusCode::kInvalidArgument);
  CHECK(officer.status().message() == "purging the archive requires the role 'bcp_admin'");
  auto guess = log->PurgeArchive(kT0 + 105 * kDay, AuditReader{"bcp_admin", "guess"}, kNow);
  REQUIRE_FALSE(guess.ok());
  CHECK(guess.status().message() == "the credential for role 'bcp_admin' was not accepted");
  CHECK(SegmentNames(dir).size() == 3);
  std::vector<AuditView> views = ReadAll(*log);
  REQUIRE(views.size() == 32);
  for (const AuditView& v : {views[30], views[31]}) {
    CHECK(v.record.event == "PURGE_DENIED");
    CHECK(v.record.status == "DENIED");
    CHECK(v.record.source == lifeline::AuditSource::kAudit);
  }
  CHECK(views[30].record.subject == "compliance_officer");
  CHECK(views[31].record.subject == "bcp_admin");
  CHECK(views[31].record.detail ==
        "{\"operation\":\"purge\",\"cutoff\":" + std::to_string(kT0 + 105 * kDay) + "}");

  // Without a credential verifier nobody can purge.
  REQUIRE(log->Close().ok());
  options.verify_credential = nullptr;
  auto unverified = MustOpen(options);
  auto none = unverified->PurgeArchive(kT0 + 105 * kDay, kAdmin, kNow);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message() ==
        "no credential verifier is configured; the archive cannot be purged");
}

TEST_CASE("after a purge, verify names a removed segment and a tampered, truncated or missing manifest") {
  std::string dir = FreshDir("purge_tamper");
  auto options = ArchivedLog(dir);
  {
    auto log = MustOpen(options);
    MustPurge(*log, kT0 + 45 * kDay, kNow);  // 1-5
    MustPurge(*log, kT0 + 95 * kDay, kNow);  // 6-10
    REQUIRE(log->Close().ok());
  }
  REQUIRE(VerifyDir(options).ok());
  const std::string manifest_path = dir + "/archive/purged.jsonl";
  std::vector<std::string> manifest = Lines(ReadFile(manifest_path));
  REQUIRE(manifest.size() == 2);

  SECTION("a remaining segment removed") {
    std::filesystem::remove(dir + "/archive/" + SegmentFileName(11, 12));
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kDeleted);
    CHECK(r.first_bad_seq == 11);
    CHECK(r.message == "seq 11 is missing (no archive segment holds seqs 11-12; expected " +
                           SegmentFileName(11, 12) + " or segments covering that range)");
    CHECK(r.purged_through == 10);
  }
  SECTION("a manifest entry edited") {
    std::string edited = manifest[1];
    std::size_t at = edited.find("\"last_hash\":\"") + 13;
    edited[at] = edited[at] == '0' ? '1' : '0';
    WriteFile(manifest_path, Join({manifest[0], edited}));
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kBadPurgeManifest);
    CHECK(r.first_bad_seq == 6);
    CHECK(r.message == "the purge manifest entry for seqs 6-10 fails its MAC (edited or forged)");
    CHECK(std::string(lifeline::AuditFindingName(r.finding)) == "bad_purge_manifest");
    // The log refuses to open on it rather than continue an unproven chain.
    auto log = AuditLog::Open(options);
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().code() == StatusCode::kState);
    CHECK(log.status().message().find("fails its MAC under key 'c1'") != std::string::npos);
  }
  SECTION("a manifest entry that is not JSON") {
    WriteFile(manifest_path, Join({manifest[0], "{\"purged\":1,"}));
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kBadPurgeManifest);
    CHECK(r.first_bad_seq == 6);
    CHECK(r.message ==
          "line 2 of the purge manifest is not an entry: purge manifest entry is not a JSON object");
  }
  SECTION("the first manifest entry removed") {
    WriteFile(manifest_path, Join({manifest[1]}));
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kBadPurgeManifest);
    CHECK(r.first_bad_seq == 1);
    CHECK(r.message ==
          "the purge manifest does not chain: its entry for seqs 6-10 does not start the chain");
  }
  SECTION("the last manifest entry removed") {
    WriteFile(manifest_path, Join({manifest[0]}));
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kBadPurgeManifest);
    CHECK(r.first_bad_seq == 6);
    CHECK(r.message ==
          "seqs 6-10 were purged (ARCHIVE_PURGED record at seq 32) but the purge manifest does "
          "not account for them (it was truncated or removed)");
  }
  SECTION("the manifest removed") {
    std::filesystem::remove(manifest_path);
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kBadPurgeManifest);
    CHECK(r.first_bad_seq == 1);
    CHECK(r.message ==
          "seqs 1-10 were purged (ARCHIVE_PURGED record at seq 32) but the purge manifest does "
          "not account for them (it was truncated or removed)");
  }
  SECTION("a purged segment put back, altered") {
    // Rebuild segment 6-10's file name with other content (segment 11-12's).
    std::filesystem::copy_file(dir + "/archive/" + SegmentFileName(11, 12),
                               dir + "/archive/" + SegmentFileName(6, 10));
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.finding == AuditFinding::kBadPurgeManifest);
    CHECK(r.first_bad_seq == 6);
    CHECK(r.message == "archive segment " + SegmentFileName(6, 10) +
                           " lies in the purged range (through seq 10) but does not match its "
                           "purge manifest entry");
    auto log = AuditLog::Open(options);
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().code() == StatusCode::kState);
  }
}

TEST_CASE("a purge cut short is finished on open, a damaged archive is never purged") {
  std::string dir = FreshDir("purge_crash");
  auto options = ArchivedLog(dir);
  const std::string seg = dir + "/archive/" + SegmentFileName(1, 5);

  SECTION("the manifest was written, the file not yet deleted") {
    std::string saved = ReadFile(seg);
    {
      auto log = MustOpen(options);
      MustPurge(*log, kT0 + 45 * kDay, kNow);
      REQUIRE(log->Close().ok());
    }
    WriteFile(seg, saved);  // as if the process died before the unlink
    AuditVerifyReport r = VerifyDir(options);
    CHECK(r.ok());
    CHECK(r.purged_through == 5);
    auto log = MustOpen(options);
    CHECK_FALSE(std::filesystem::exists(seg));
    auto report = log->Verify();
    REQUIRE(report.ok());
    CHECK(report->ok());
  }
  SECTION("a torn manifest entry (a crash while writing it) is dropped on open") {
    {
      auto log = MustOpen(options);
      MustPurge(*log, kT0 + 45 * kDay, kNow);
      REQUIRE(log->Close().ok());
    }
    std::string manifest = ReadFile(dir + "/archive/purged.jsonl");
    WriteFile(dir + "/archive/purged.jsonl", manifest + manifest.substr(0, 40));
    CHECK(VerifyDir(options).ok());
    auto log = MustOpen(options);
    CHECK(ReadFile(dir + "/archive/purged.jsonl") == manifest);
  }
  SECTION("every segment purged: the manifest alone anchors the live store") {
    {
      auto log = MustOpen(options);
      AuditPurgeSummary all = MustPurge(*log, kT0 + 120 * kDay, kNow);
      CHECK(all.segments == 3);
      REQUIRE(log->Close().ok());
    }
    CHECK(SegmentNames(dir).empty());
    auto log = MustOpen(options);
    CHECK(log->head_seq() == 31);
    REQUIRE(log->Append(EventOf(40, kT0 + 400 * kDay)).ok());
    auto report = log->Verify();
    REQUIRE(report.ok());
    CHECK(report->ok());
    CHECK(report->first_seq == 13);
    CHECK(report->segments == 0);
  }
  SECTION("a damaged segment: refused, nothing deleted, nothing recorded") {
    std::string data = ReadFile(dir + "/archive/" + SegmentFileName(6, 10));
    data[data.size() / 2] ^= 0x20;
    WriteFile(dir + "/archive/" + SegmentFileName(6, 10), data);
    auto log = MustOpen(options);
    std::uint64_t head = log->head_seq();
    auto refused = log->PurgeArchive(kT0 + 105 * kDay, kAdmin, kNow);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == StatusCode::kState);
    CHECK(refused.status().message().find("is corrupt") != std::string::npos);
    CHECK(refused.status().message().find("nothing was purged") != std::string::npos);
    CHECK(log->head_seq() == head);
    CHECK(SegmentNames(dir).size() == 3);
    CHECK_FALSE(std::filesystem::exists(dir + "/archive/purged.jsonl"));
  }
}

TEST_CASE("the SQLite store purges and verifies the same way") {
  std::string dir = FreshDir("purge_sqlite");
  auto options = TestOptions(dir, TestKeys());
  options.store = lifeline::AuditStoreKind::kSqlite;
  options.segment_max_records = 5;
  {
    auto log = MustOpen(options);
    for (int i = 0; i < 30; ++i) REQUIRE(log->Append(EventOf(i, kT0 + i * 10 * kDay)).ok());
    REQUIRE(log->Archive(kNow).ok());
    AuditPurgeSummary summary = MustPurge(*log, kT0 + 105 * kDay, kNow);
    CHECK(summary.records == 10);
    REQUIRE(log->Close().ok());
  }
  AuditVerifyReport r = VerifyDir(options);
  CHECK(r.ok());
  CHECK(r.purged_through == 10);
  CHECK(r.records == 21);
  auto log = MustOpen(options);
  CHECK(log->head_seq() == 31);
}
