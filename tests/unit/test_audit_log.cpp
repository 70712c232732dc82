// AuditLog end to end on real files: append, chain, checkpoints, recovery,
// tamper detection at random positions, faults, PII protection, keys,
// readers and roles, for the file store and the SQLite store.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "core/audit_crypto.hpp"
#include "lifeline/audit_log.hpp"
#include "support/audit_checks.hpp"
#include "support/audit_fixture.hpp"

using namespace audit_test;
using lifeline::AuditEvent;
using lifeline::AuditFilter;
using lifeline::AuditFinding;
using lifeline::AuditLog;
using lifeline::AuditReader;
using lifeline::AuditVerifyReport;
using lifeline::AuditView;
using lifeline::StatusCode;

namespace {

void AppendN(AuditLog& log, int from, int to) {
  for (int i = from; i < to; ++i) REQUIRE(log.Append(EventOf(i)).ok());
}

std::vector<AuditView> ReadAll(AuditLog& log, const AuditFilter& filter, const AuditReader& reader) {
  std::vector<AuditView> views;
  lifeline::Status s = log.Read(filter, reader, kT0, [&](const AuditView& v) {
    views.push_back(v);
    return true;
  });
  INFO(s.message());
  REQUIRE(s.ok());
  return views;
}

std::string PiiValue(const AuditView& view, const std::string& name) {
  for (const auto& f : view.pii) {
    if (f.name == name) return f.value;
  }
  return "<absent>";
}

const AuditReader kOfficer{"compliance_officer", "co-secret"};
const AuditReader kAnalyst{"analyst", ""};

}  // namespace

TEST_CASE("appended events become a gap-free chain that verifies and survives reopening") {
  std::string dir = FreshDir("basic");
  auto options = TestOptions(dir, TestKeys());
  {
    auto log = MustOpen(options);
    CHECK(log->head_seq() == 0);
    CHECK(log->head_hash() == std::string(64, '0'));
    AppendN(*log, 0, 25);
    CHECK(log->head_seq() == 25);
    auto report = log->Verify();
    REQUIRE(report.ok());
    CHECK(report->ok());
    CHECK(report->records == 25);
    REQUIRE(log->Close().ok());
    CHECK(log->Append(EventOf(99)).code() == StatusCode::kState);
  }
  std::vector<std::string> lines = Lines(ReadFile(dir + "/audit.log"));
  REQUIRE(lines.size() == 25);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK(lifeline::PeekAuditSeq(lines[i]) == i + 1);
  }
  // Checkpoints every 10 records, and one for the head on close.
  std::vector<std::string> cps = Lines(ReadFile(dir + "/audit.checkpoints"));
  REQUIRE(cps.size() == 3);
  CHECK(lifeline::PeekAuditSeq(cps[0]) == 10);
  CHECK(lifeline::PeekAuditSeq(cps[1]) == 20);
  CHECK(lifeline::PeekAuditSeq(cps[2]) == 25);

  auto log = MustOpen(options);
  CHECK(log->head_seq() == 25);
  AppendN(*log, 25, 30);
  CHECK(log->head_seq() == 30);
  REQUIRE(log->Close().ok());
  AuditVerifyReport report = VerifyDir(options);
  CHECK(report.ok());
  CHECK(report.records == 30);
  CHECK(report.checkpoints == 4);
}

TEST_CASE("the directory can be open only once at a time") {
  std::string dir = FreshDir("lock");
  auto options = TestOptions(dir, TestKeys());
  auto log = MustOpen(options);
  auto second = AuditLog::Open(options);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == StatusCode::kUnavailable);
  CHECK(second.status().message().find("open in another process") != std::string::npos);
}

TEST_CASE("bad options and bad events are refused, naming what is wrong") {
  std::string dir = FreshDir("bad");
  auto options = TestOptions(dir, TestKeys());
  {
    auto o = options;
    o.checkpoint_key_id = "k1";
    auto log = AuditLog::Open(o);
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().message().find("checkpoint_key_id must name a key separate") == 0);
  }
  {
    auto o = options;
    o.pii.fields["phone"] = lifeline::PiiMode::kPlain;
    auto log = AuditLog::Open(o);
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().message() == "pii field 'phone' cannot be plain; only subject may be plain");
  }
  {
    auto o = options;
    o.data_key_id = "../etc/passwd";
    CHECK(AuditLog::Open(o).status().code() == StatusCode::kInvalidArgument);
  }
  auto log = MustOpen(options);
  AuditEvent e = EventOf(1);
  e.source = lifeline::AuditSource::kAudit;
  CHECK(log->Append(e).message() == "source 'audit' is reserved for the audit log's own records");
  e = EventOf(1);
  e.detail = "bad \xff utf8";
  CHECK(log->Append(e).message() == "detail is not valid UTF-8");
  e = EventOf(1);
  e.pii.push_back({"Phone", "x"});
  CHECK(log->Append(e).message() ==
        "pii[3].name must match [a-z][a-z0-9_]* (at most 32) and not be 'subject'");
  e = EventOf(1);
  e.pii.push_back({"phone", "+15550000000"});
  CHECK(log->Append(e).message() == "pii[3].name 'phone' repeats");
  e = EventOf(1);
  e.time = -1;
  CHECK(log->Append(e).code() == StatusCode::kInvalidArgument);
  std::vector<AuditEvent> batch = {EventOf(1), EventOf(2)};
  batch[1].channel = std::string(5000, 'c');
  CHECK(log->AppendBatch(batch).message() == "event 1: channel is longer than 4096 bytes");
  // Nothing of a refused batch was recorded, and no seq was used.
  CHECK(log->head_seq() == 0);
  REQUIRE(log->Append(EventOf(1)).ok());
  CHECK(log->head_seq() == 1);
}

TEST_CASE("tampering at random positions is detected and located") {
  std::string dir = FreshDir("tamper");
  auto options = TestOptions(dir, TestKeys());
  const int n = 40;
  {
    auto log = MustOpen(options);
    AppendN(*log, 0, n);
    REQUIRE(log->Close().ok());
  }
  const std::string path = dir + "/audit.log";
  const std::string original = ReadFile(path);
  const std::vector<std::string> lines = Lines(original);
  REQUIRE(lines.size() == static_cast<std::size_t>(n));
  REQUIRE(VerifyDir(options).ok());
  std::mt19937 rng(20240520);

  auto check = [&](const std::string& data, AuditFinding kind, std::uint64_t seq) {
    WriteFile(path, data);
    AuditVerifyReport r = VerifyDir(options);
    WriteFile(path, original);
    INFO(r.ToJson());
    CHECK(r.finding == kind);
    CHECK(r.first_bad_seq == seq);
  };

  SECTION("edit any byte of any record") {
    std::uniform_int_distribution<std::size_t> pos(0, original.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int round = 0; round < 300; ++round) {
      std::size_t at = pos(rng);
      std::string data = original;
      char replacement;
      do {
        replacement = static_cast<char>(byte(rng));
      } while (replacement == data[at]);
      data[at] = replacement;
      auto seq = static_cast<std::uint64_t>(std::count(original.begin(), original.begin() + at, '\n') + 1);
      INFO("round " << round << " byte " << at << " of seq " << seq);
      check(data, AuditFinding::kEdited, seq);
    }
  }
  SECTION("delete one record") {
    for (int k = 1; k <= n; ++k) {
      std::vector<std::string> copy = lines;
      copy.erase(copy.begin() + (k - 1));
      INFO("deleted seq " << k);
      // Deleting the last record is the same as cutting the tail.
      check(Join(copy), k == n ? AuditFinding::kTruncated : AuditFinding::kDeleted,
            static_cast<std::uint64_t>(k));
    }
  }
  SECTION("swap two records") {
    std::uniform_int_distribution<int> pick(0, n - 1);
    for (int round = 0; round < 60; ++round) {
      int a = pick(rng), b = pick(rng);
      if (a == b) continue;
      std::vector<std::string> copy = lines;
      std::swap(copy[static_cast<std::size_t>(a)], copy[static_cast<std::size_t>(b)]);
      INFO("swapped seq " << a + 1 << " and " << b + 1);
      check(Join(copy), AuditFinding::kReordered, static_cast<std::uint64_t>(std::min(a, b) + 1));
    }
  }
  SECTION("truncate the tail at any byte") {
    std::uniform_int_distribution<std::size_t> pos(0, original.size() - 1);
    for (int round = 0; round < 100; ++round) {
      std::size_t cut = pos(rng);
      auto complete = static_cast<std::uint64_t>(std::count(original.begin(), original.begin() + cut, '\n'));
      INFO("cut at byte " << cut);
      check(original.substr(0, cut), AuditFinding::kTruncated, complete + 1);
    }
  }
  SECTION("edit a checkpoint") {
    const std::string cp_path = dir + "/audit.checkpoints";
    const std::string cps = ReadFile(cp_path);
    std::vector<std::string> cp_lines = Lines(cps);
    REQUIRE(cp_lines.size() == 4);
    std::string edited = cp_lines[1];
    std::size_t mac = edited.find("\"mac\":\"") + 7;
    edited[mac] = edited[mac] == '0' ? '1' : '0';
    cp_lines[1] = edited;
    WriteFile(cp_path, Join(cp_lines));
    AuditVerifyReport r = VerifyDir(options);
    WriteFile(cp_path, cps);
    CHECK(r.finding == AuditFinding::kBadCheckpoint);
    CHECK(r.first_bad_seq == 20);
  }
}

TEST_CASE("a torn last line is cut on open, and the chain continues without a fork") {
  std::string dir = FreshDir("torn");
  auto options = TestOptions(dir, TestKeys());
  {
    auto log = MustOpen(options);
    AppendN(*log, 0, 5);
    REQUIRE(log->Close().ok());
  }
  const std::string path = dir + "/audit.log";
  std::string intact = ReadFile(path);
  std::vector<std::string> lines = Lines(intact);
  WriteFile(path, intact + lines[4].substr(0, 70));  // half of a sixth record
  AuditVerifyReport before = VerifyDir(options);
  CHECK(before.ok());
  CHECK(before.torn_tail_bytes == 70);

  auto log = MustOpen(options);
  CHECK(ReadFile(path) == intact);
  CHECK(log->head_seq() == 5);
  REQUIRE(log->Append(EventOf(5)).ok());
  CHECK(log->head_seq() == 6);
  REQUIRE(log->Close().ok());
  AuditVerifyReport after = VerifyDir(options);
  CHECK(after.ok());
  CHECK(after.records == 6);
  CHECK(after.torn_tail_bytes == 0);
}

TEST_CASE("a store whose end does not verify is refused, never appended to") {
  std::string dir = FreshDir("refuse");
  auto options = TestOptions(dir, TestKeys());
  {
    auto log = MustOpen(options);
    AppendN(*log, 0, 12);
    REQUIRE(log->Close().ok());
  }
  const std::string path = dir + "/audit.log";
  const std::string intact = ReadFile(path);
  std::vector<std::string> lines = Lines(intact);

  SECTION("tail removed") {
    lines.resize(10);
    WriteFile(path, Join(lines));
    auto log = AuditLog::Open(options);
    REQUIRE_FALSE(log.ok());
    INFO(log.status().message());
    CHECK(log.status().code() == StatusCode::kState);
    CHECK(log.status().message().find("truncated at seq 11 (the chain ends at seq 10 but a checkpoint covers seq 12)") !=
          std::string::npos);
  }
  SECTION("last record edited") {
    lines[11][20] = lines[11][20] == 'a' ? 'b' : 'a';
    WriteFile(path, Join(lines));
    auto log = AuditLog::Open(options);
    REQUIRE_FALSE(log.ok());
    INFO(log.status().message());
    CHECK(log.status().code() == StatusCode::kState);
    CHECK(log.status().message().find("edited at seq 12") != std::string::npos);
  }
  SECTION("wrong checkpoint key") {
    auto keys = TestKeys();
    keys->Add("c1", KeyOf(0x01));
    auto log = AuditLog::Open(TestOptions(dir, keys));
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().code() == StatusCode::kState);
    CHECK(log.status().message().find("fails its MAC under key 'c1'") != std::string::npos);
  }
  // Whatever was refused, the bytes on disk are what the test left there.
  CHECK(ReadFile(path).size() <= intact.size());
}

namespace {

// Fails writes to the live store as a full disk would: half the bytes go
// out, then ENOSPC.
class FullDiskOps : public lifeline::AuditFileOps {
 public:
  std::atomic<bool> full{false};
  std::atomic<bool> fail_sync{false};

  lifeline::Status Append(int fd, const char* data, std::size_t size,
                          const std::string& path) override {
    if (full && path.find("audit.log") != std::string::npos) {
      (void)AuditFileOps::Append(fd, data, size / 2, path);
      return lifeline::IoError("write to " + path + " failed: No space left on device");
    }
    return AuditFileOps::Append(fd, data, size, path);
  }
  lifeline::Status Sync(int fd, const std::string& path) override {
    if (fail_sync && path.find("audit.log") != std::string::npos) {
      return lifeline::IoError("fdatasync of " + path + " failed: Input/output error");
    }
    return AuditFileOps::Sync(fd, path);
  }
};

}  // namespace

TEST_CASE("a full disk fails the append with kIo, records nothing, and recovers") {
  std::string dir = FreshDir("enospc");
  FullDiskOps ops;
  auto options = TestOptions(dir, TestKeys());
  options.file_ops = &ops;
  auto log = MustOpen(options);
  AppendN(*log, 0, 5);
  const std::string before = ReadFile(dir + "/audit.log");

  ops.full = true;
  lifeline::Status s = log->Append(EventOf(5));
  CHECK(s.code() == StatusCode::kIo);
  CHECK(s.message().find("No space left on device") != std::string::npos);
  CHECK(log->AppendBatch({EventOf(5), EventOf(6)}).code() == StatusCode::kIo);
  CHECK(log->head_seq() == 5);
  CHECK(ReadFile(dir + "/audit.log") == before);  // the half-written bytes were cut

  ops.full = false;
  REQUIRE(log->Append(EventOf(5)).ok());
  CHECK(log->head_seq() == 6);  // the refused event did not use up a seq
  auto report = log->Verify();
  REQUIRE(report.ok());
  CHECK(report->ok());
  CHECK(report->records == 6);
}

TEST_CASE("a failed fsync leaves the log refusing appends until it is reopened") {
  std::string dir = FreshDir("fsync");
  FullDiskOps ops;
  auto options = TestOptions(dir, TestKeys());
  options.file_ops = &ops;
  {
    auto log = MustOpen(options);
    AppendN(*log, 0, 3);
    ops.fail_sync = true;
    CHECK(log->Append(EventOf(3)).code() == StatusCode::kIo);
    ops.fail_sync = false;
    lifeline::Status s = log->Append(EventOf(4));
    CHECK(s.code() == StatusCode::kIo);
    CHECK(s.message() == "the audit log could not undo an earlier I/O failure; reopen it");
  }
  auto log = MustOpen(options);
  // The unsynced record may or may not have survived; the chain is intact.
  std::uint64_t head = log->head_seq();
  CHECK((head == 3 || head == 4));
  REQUIRE(log->Append(EventOf(9)).ok());
  auto report = log->Verify();
  REQUIRE(report.ok());
  CHECK(report->ok());
}

namespace {

// Fails every `every`-th write to the live store, as a disk that keeps
// filling up and being cleaned would.
class FlakyDiskOps : public lifeline::AuditFileOps {
 public:
  explicit FlakyDiskOps(int every) : every_(every) {}
  lifeline::Status Append(int fd, const char* data, std::size_t size,
                          const std::string& path) override {
    if (path.find("audit.log") != std::string::npos && ++calls_ % every_ == 0) {
      (void)AuditFileOps::Append(fd, data, size / 3, path);
      return lifeline::IoError("write to " + path + " failed: No space left on device");
    }
    return AuditFileOps::Append(fd, data, size, path);
  }

 private:
  int every_;
  std::atomic<int> calls_{0};
};

}  // namespace

TEST_CASE("with writes failing under concurrent appenders, exactly the acknowledged events are stored") {
  std::string dir = FreshDir("flaky");
  FlakyDiskOps ops(5);
  auto options = TestOptions(dir, TestKeys());
  options.file_ops = &ops;
  auto log = MustOpen(options);
  constexpr int kThreads = 4, kEach = 120;
  std::vector<std::vector<std::string>> acked(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        AuditEvent e = EventOf(i);
        e.detail = std::to_string(t) + ":" + std::to_string(i);
        lifeline::Status s = log->Append(e);
        if (s.ok()) {
          acked[static_cast<std::size_t>(t)].push_back(e.detail);
        } else {
          CHECK(s.code() == StatusCode::kIo);
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures > 0);
  std::set<std::string> expected;
  for (const auto& list : acked) expected.insert(list.begin(), list.end());
  std::set<std::string> stored;
  std::uint64_t seq = 1;
  bool gap_free = true;
  for (const AuditView& v : ReadAll(*log, AuditFilter(), kAnalyst)) {
    gap_free = gap_free && v.record.seq == seq++;
    stored.insert(v.record.detail);
  }
  CHECK(gap_free);
  CHECK(stored == expected);
  CHECK(log->head_seq() == expected.size());
  auto report = log->Verify();
  REQUIRE(report.ok());
  CHECK(report->ok());
}

TEST_CASE("concurrent appenders are serialised without losing order or records") {
  std::string dir = FreshDir("threads");
  auto options = TestOptions(dir, TestKeys());
  options.checkpoint_every = 100;
  auto log = MustOpen(options);
  constexpr int kThreads = 4, kEach = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        AuditEvent e = EventOf(t * 1000 + i);
        e.detail = std::to_string(t) + ":" + std::to_string(i);
        if (i % 10 == 0) {
          REQUIRE(log->AppendBatch({e, e}).ok());
        } else {
          REQUIRE(log->Append(e).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  constexpr int kTotal = kThreads * (kEach + kEach / 10);
  CHECK(log->head_seq() == static_cast<std::uint64_t>(kTotal));
  std::vector<int> last(kThreads, -1);
  std::uint64_t expected = 1;
  bool in_order = true;
  for (const AuditView& v : ReadAll(*log, AuditFilter(), kAnalyst)) {
    in_order = in_order && v.record.seq == expected++;
    int t = std::stoi(v.record.detail.substr(0, 1));
    int i = std::stoi(v.record.detail.substr(2));
    in_order = in_order && i >= last[static_cast<std::size_t>(t)];
    last[static_cast<std::size_t>(t)] = i;
  }
  CHECK(in_order);
  CHECK(expected == static_cast<std::uint64_t>(kTotal) + 1);
  auto report = log->Verify();
  REQUIRE(report.ok());
  CHECK(report->ok());
}

TEST_CASE("PII never reaches the store in clear, privileged readers decrypt it, others see pseudonyms") {
  std::string dir = FreshDir("pii");
  auto options = TestOptions(dir, TestKeys());
  options.pii.fields["subject"] = lifeline::PiiMode::kEncrypt;
  auto log = MustOpen(options);
  AppendN(*log, 0, 6);

  std::string raw = ReadFile(dir + "/audit.log");
  for (int i = 0; i < 6; ++i) {
    CHECK(raw.find(PhoneOf(i)) == std::string::npos);
    CHECK(raw.find(EmailOf(i)) == std::string::npos);
    CHECK(raw.find("stk-" + std::to_string(i)) == std::string::npos);
    CHECK(raw.find("tok-" + std::to_string(i)) == std::string::npos);
  }

  std::vector<AuditView> clear = ReadAll(*log, AuditFilter(), kOfficer);
  REQUIRE(clear.size() == 6);
  CHECK(PiiValue(clear[2], "phone") == PhoneOf(2));
  CHECK(PiiValue(clear[2], "email") == EmailOf(2));
  CHECK(PiiValue(clear[2], "subject") == "stk-2");
  CHECK(clear[2].record.subject.empty());
  // Pseudonymise-only fields stay pseudonyms even for the officer.
  CHECK(PiiValue(clear[2], "push_token").rfind("psn:p1:", 0) == 0);

  std::vector<AuditView> masked = ReadAll(*log, AuditFilter(), kAnalyst);
  // The officer's read was itself audited before any decryption.
  REQUIRE(masked.size() == 7);
  CHECK(masked[6].record.event == "PII_DECRYPTED");
  CHECK(masked[6].record.source == lifeline::AuditSource::kAudit);
  CHECK(masked[6].record.subject == "compliance_officer");
  for (int i = 0; i < 6; ++i) {
    CHECK(PiiValue(masked[static_cast<std::size_t>(i)], "phone").rfind("psn:p1:", 0) == 0);
    CHECK(PiiValue(masked[static_cast<std::size_t>(i)], "subject").rfind("psn:p1:", 0) == 0);
  }
  // Pseudonyms join: the same phone gives the same pseudonym.
  REQUIRE(log->Append(EventOf(2)).ok());
  std::vector<AuditView> again = ReadAll(*log, AuditFilter(), kAnalyst);
  CHECK(PiiValue(again.back(), "phone") == PiiValue(again[2], "phone"));
  CHECK(PiiValue(again.back(), "phone") != PiiValue(again[3], "phone"));

  // A privileged role with a wrong credential is refused, and that is audited.
  lifeline::Status denied =
      log->Read(AuditFilter(), AuditReader{"bcp_admin", "guess"}, kT0, [](const AuditView&) { return true; });
  CHECK(denied.code() == StatusCode::kInvalidArgument);
  CHECK(denied.message() == "the credential for role 'bcp_admin' was not accepted");
  std::vector<AuditView> last = ReadAll(*log, AuditFilter(), kAnalyst);
  CHECK(last.back().record.event == "PII_ACCESS_DENIED");
  CHECK(last.back().record.subject == "bcp_admin");
  CHECK(ReadAll(*log, AuditFilter(), AuditReader{"bcp_admin", "admin-secret"}).size() == last.size());
}

TEST_CASE("rotating the data key leaves old records readable, wrong or missing keys are clear errors") {
  std::string dir = FreshDir("rotate");
  auto keys = TestKeys();
  auto options = TestOptions(dir, keys);
  {
    auto log = MustOpen(options);
    AppendN(*log, 0, 3);
    REQUIRE(log->RotateDataKey("k2").ok());
    AppendN(*log, 3, 6);
    CHECK(log->RotateDataKey("missing").code() == StatusCode::kNotFound);
    std::vector<AuditView> views = ReadAll(*log, AuditFilter(), kOfficer);
    REQUIRE(views.size() == 6);
    for (int i = 0; i < 6; ++i) {
      const AuditView& v = views[static_cast<std::size_t>(i)];
      CHECK(PiiValue(v, "phone") == PhoneOf(i));
      REQUIRE(v.record.pii.size() == 4);  // email, phone, push_token, subject
      CHECK(v.record.pii[1].name == "phone");
      // One sealed message per record names its key id; no per-field ciphertext.
      CHECK(v.record.pii_enc.rfind(i < 3 ? "k1:" : "k2:", 0) == 0);
      CHECK(v.record.pii[1].enc.empty());
    }
    REQUIRE(log->Close().ok());
  }
  SECTION("reopened with k2 current, k1 still resolvable") {
    options.data_key_id = "k2";
    auto log = MustOpen(options);
    std::vector<AuditView> views = ReadAll(*log, AuditFilter(), kOfficer);
    CHECK(PiiValue(views[0], "phone") == PhoneOf(0));
    CHECK(PiiValue(views[5], "phone") == PhoneOf(5));
  }
  SECTION("k1 missing") {
    keys->Remove("k1");
    options.data_key_id = "k2";
    auto log = MustOpen(options);
    lifeline::Status s =
        log->Read(AuditFilter(), kOfficer, kT0, [](const AuditView&) { return true; });
    CHECK(s.code() == StatusCode::kNotFound);
    CHECK(s.message() == "record 1: data key 'k1' is not available: key 'k1' is not known");
    // Readers without the role are not affected. 6 events, the first read's
    // PII_DECRYPTED, and this attempt's: it is recorded before decrypting.
    CHECK(ReadAll(*log, AuditFilter(), kAnalyst).size() == 8);
  }
  SECTION("k1 wrong") {
    keys->Add("k1", KeyOf(0x99));
    options.data_key_id = "k2";
    auto log = MustOpen(options);
    lifeline::Status s =
        log->Read(AuditFilter(), kOfficer, kT0, [](const AuditView&) { return true; });
    CHECK(s.code() == StatusCode::kState);
    CHECK(s.message() ==
          "record 1 does not decrypt with key 'k1': authentication failed "
          "(wrong key or altered ciphertext)");
  }
  SECTION("no data key at open") {
    keys->Remove("k1");
    auto log = AuditLog::Open(options);
    REQUIRE_FALSE(log.ok());
    CHECK(log.status().code() == StatusCode::kNotFound);
    CHECK(log.status().message() == "data key: key 'k1' is not known");
  }
}

TEST_CASE("ciphertext moved to another record does not decrypt (AAD bound to seq)") {
  std::string dir = FreshDir("aad");
  auto options = TestOptions(dir, TestKeys());
  {
    auto log = MustOpen(options);
    AppendN(*log, 0, 2);
    REQUIRE(log->Close().ok());
  }
  // Splice record 1's sealed fields into record 2 and re-hash record 2 and
  // everything after it, as an insider with the file (not the keys) could.
  std::vector<std::string> lines = Lines(ReadFile(dir + "/audit.log"));
  lifeline::AuditRecord r1, r2;
  REQUIRE(lifeline::ParseAuditLine(lines[0], &r1).ok());
  REQUIRE(lifeline::ParseAuditLine(lines[1], &r2).ok());
  REQUIRE_FALSE(r1.pii_enc.empty());
  r2.pii_enc = r1.pii_enc;
  lines[1].clear();
  lifeline::AppendAuditLine(&r2, &lines[1]);
  WriteFile(dir + "/audit.log", Join(lines));
  std::filesystem::remove(dir + "/audit.checkpoints");
  auto log = MustOpen(options);
  lifeline::Status s = log->Read(AuditFilter(), kOfficer, kT0, [](const AuditView&) { return true; });
  CHECK(s.code() == StatusCode::kState);
  CHECK(s.message().find("record 2 does not decrypt") == 0);
}

TEST_CASE("records of the first format (one ciphertext per field) stay readable") {
  // Records written before pii_enc carried each encrypted value in its own
  // AES-GCM message, {"enc":"k1:...","psn":"p1:..."}, with the AAD
  // "lifeline-audit/v1\n<seq>\n<field>\n<kid>". Write three such records by
  // hand, then open, read, append (new format) and verify the mixed log.
  std::string dir = FreshDir("v1");
  auto keys = TestKeys();
  auto options = TestOptions(dir, keys);
  lifeline::audit_internal::AesGcm gcm;
  lifeline::audit_internal::HmacSha256 psn(KeyOf(0x70));
  const lifeline::SecretKey k1 = KeyOf(0x10);
  auto v1_field = [&](std::uint64_t seq, const std::string& name, const std::string& value) {
    lifeline::StoredPii field;
    field.name = name;
    std::string sealed;
    REQUIRE(gcm.Seal(k1, "lifeline-audit/v1\n" + std::to_string(seq) + "\n" + name + "\nk1", value,
                     &sealed)
                .ok());
    field.enc = "k1:" + lifeline::audit_internal::Base64Encode(
                            reinterpret_cast<const std::uint8_t*>(sealed.data()), sealed.size());
    field.psn = "p1:" + psn.Hex(value);
    return field;
  };
  std::vector<std::string> lines;
  std::string prev = lifeline::kAuditGenesisHash;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    lifeline::AuditRecord r;
    r.seq = seq;
    r.time = kT0 + static_cast<lifeline::UnixMillis>(seq);
    r.incident_id = "INC-OLD";
    r.event = "DELIVERY_ATTEMPT";
    r.pii = {v1_field(seq, "email", EmailOf(static_cast<int>(seq))),
             v1_field(seq, "phone", PhoneOf(static_cast<int>(seq)))};
    r.prev_hash = prev;
    std::string line;
    lifeline::AppendAuditLine(&r, &line);
    prev = r.hash;
    lines.push_back(line);
  }
  SECTION("read, appended to and verified") {
    std::filesystem::create_directories(dir);
    WriteFile(dir + "/audit.log", Join(lines));
    auto log = MustOpen(options);
    AppendN(*log, 4, 6);
    std::vector<AuditView> clear = ReadAll(*log, AuditFilter(), kOfficer);
    REQUIRE(clear.size() == 5);
    for (int i = 0; i < 5; ++i) {
      const AuditView& v = clear[static_cast<std::size_t>(i)];
      CHECK(PiiValue(v, "phone") == PhoneOf(i + 1));
      CHECK(PiiValue(v, "email") == EmailOf(i + 1));
      CHECK(v.record.pii_enc.empty() == (i < 3));
    }
    // Pseudonyms of both formats join: the same key, the same value.
    std::vector<AuditView> masked = ReadAll(*log, AuditFilter(), kAnalyst);
    CHECK(PiiValue(masked[0], "phone").rfind("psn:p1:", 0) == 0);
    CHECK(PiiValue(masked[0], "phone") == "psn:p1:" + psn.Hex(PhoneOf(1)));
    CHECK(PiiValue(masked[3], "phone") == "psn:p1:" + psn.Hex(PhoneOf(4)));
    auto report = log->Verify();
    REQUIRE(report.ok());
    CHECK(report->ok());
    CHECK(report->records == 6);  // 5 events and the officer's PII_DECRYPTED
  }
  SECTION("a per-field ciphertext moved to another field does not decrypt") {
    lifeline::AuditRecord r;
    REQUIRE(lifeline::ParseAuditLine(lines[1], &r).ok());
    std::swap(r.pii[0].enc, r.pii[1].enc);
    lines[1].clear();
    lifeline::AppendAuditLine(&r, &lines[1]);
    std::filesystem::create_directories(dir);
    WriteFile(dir + "/audit.log", Join({lines[0], lines[1]}));
    auto log = MustOpen(options);
    lifeline::Status s = log->Read(AuditFilter(), kOfficer, kT0, [](const AuditView&) { return true; });
    CHECK(s.code() == StatusCode::kState);
    CHECK(s.message() ==
          "record 2 field 'email' does not decrypt with key 'k1': authentication failed "
          "(wrong key or altered ciphertext)");
  }
}

TEST_CASE("the SQLite store keeps the same chain and catches the same tampering") {
  std::string dir = FreshDir("sqlite");
  auto options = TestOptions(dir, TestKeys());
  options.store = lifeline::AuditStoreKind::kSqlite;
  {
    auto log = MustOpen(options);
    AppendN(*log, 0, 15);
    REQUIRE(log->AppendBatch({EventOf(15), EventOf(16)}).ok());
    REQUIRE(log->Close().ok());
  }
  CHECK(std::filesystem::exists(dir + "/audit.db"));
  CHECK_FALSE(std::filesystem::exists(dir + "/audit.log"));
  {
    auto log = MustOpen(options);
    CHECK(log->head_seq() == 17);
    AppendN(*log, 17, 20);
    auto report = log->Verify();
    REQUIRE(report.ok());
    CHECK(report->ok());
    CHECK(report->records == 20);
    CHECK(ReadAll(*log, AuditFilter{"INC-1", "", INT64_MIN, INT64_MAX}, kAnalyst).size() == 7);
  }
  std::string raw = ReadFile(dir + "/audit.db") + ReadFile(dir + "/audit.db-wal");
  for (int i = 0; i < 20; ++i) CHECK(raw.find(PhoneOf(i)) == std::string::npos);
}

TEST_CASE("key providers: environment, files with safe permissions, callbacks") {
  SECTION("environment, hex and base64") {
    lifeline::EnvKeyProvider env("LIFELINE_TEST_AUDIT_");
    CHECK(env.VariableName("k1.old-2") == "LIFELINE_TEST_AUDIT_K1_OLD_2");
    ::setenv("LIFELINE_TEST_AUDIT_HEX", std::string(64, 'a').c_str(), 1);
    // 32 bytes of 0x69 in base64, without padding.
    ::setenv("LIFELINE_TEST_AUDIT_B64", "aWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWk", 1);
    ::setenv("LIFELINE_TEST_AUDIT_SHORT", "abcd", 1);
    auto hex = env.GetKey("hex");
    REQUIRE(hex.ok());
    CHECK(hex->data()[0] == 0xaa);
    auto b64 = env.GetKey("b64");
    REQUIRE(b64.ok());
    CHECK(b64->data()[31] == 0x69);
    auto shorter = env.GetKey("short");
    CHECK(shorter.status().message() ==
          "key 'short' in environment variable LIFELINE_TEST_AUDIT_SHORT decodes to 3 bytes; "
          "a key is 32 bytes (64 hex digits or base64)");
    auto missing = env.GetKey("nope");
    CHECK(missing.status().code() == StatusCode::kNotFound);
    CHECK(missing.status().message() ==
          "key 'nope': environment variable LIFELINE_TEST_AUDIT_NOPE is not set");
  }
  SECTION("files must be 0600 or stricter") {
    std::string dir = FreshDir("keys");
    std::filesystem::create_directories(dir);
    WriteFile(dir + "/k1.key", std::string(64, 'b') + "\n");
    lifeline::FileKeyProvider files(dir);
    ::chmod((dir + "/k1.key").c_str(), 0644);
    auto loose = files.GetKey("k1");
    CHECK(loose.status().code() == StatusCode::kInvalidArgument);
    CHECK(loose.status().message() ==
          "key 'k1' in " + dir + "/k1.key has permissions 0644; refusing a key readable or "
          "writable by group or others (chmod 600)");
    ::chmod((dir + "/k1.key").c_str(), 0600);
    auto ok = files.GetKey("k1");
    REQUIRE(ok.ok());
    CHECK(ok->data()[5] == 0xbb);
    ::chmod((dir + "/k1.key").c_str(), 0400);
    CHECK(files.GetKey("k1").ok());
    CHECK(files.GetKey("k9").status().code() == StatusCode::kNotFound);
    CHECK(files.GetKey("../k1").status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("callback") {
    lifeline::CallbackKeyProvider kms([](std::string_view id, std::uint8_t* out) {
      if (id != "kms1") return lifeline::NotFound("unknown to the KMS");
      for (int i = 0; i < 32; ++i) out[i] = 7;
      return lifeline::Status::Ok();
    });
    auto key = kms.GetKey("kms1");
    REQUIRE(key.ok());
    CHECK(key->data()[0] == 7);
    CHECK(kms.GetKey("other").status().message() ==
          "key 'other' from the key callback: unknown to the KMS");
  }
}

TEST_CASE("the JSON configuration is parsed strictly") {
  lifeline::AuditLogOptions o;
  const std::string keys =
      R"("keys":{"provider":"env","data_key_id":"k1","pseudonym_key_id":"p1","checkpoint_key_id":"c1"})";
  REQUIRE(lifeline::ParseAuditConfig(
              R"({"dir":"/tmp/x","store":"sqlite",)" + keys +
                  R"(,"pii":{"phone":"encrypt","subject":"plain"},"pii_default":"pseudonymise",)"
                  R"("checkpoint_every":5,"retention_days":30,"segment_max_records":100})",
              &o)
              .ok());
  CHECK(o.dir == "/tmp/x");
  CHECK(o.store == lifeline::AuditStoreKind::kSqlite);
  CHECK(o.pii.ModeFor("phone") == lifeline::PiiMode::kEncrypt);
  CHECK(o.pii.ModeFor("subject") == lifeline::PiiMode::kPlain);
  CHECK(o.pii.ModeFor("email") == lifeline::PiiMode::kPseudonymise);
  CHECK(o.checkpoint_every == 5);
  CHECK(o.retention == 30 * kDay);
  CHECK(o.segment_max_records == 100);
  CHECK(o.keys != nullptr);

  CHECK(lifeline::ParseAuditConfig(R"({"dir":"/x",)" + keys + R"(,"colour":1})", &o).message() ==
        "config: unknown key 'colour'");
  CHECK(lifeline::ParseAuditConfig(R"({"dir":"/x"})", &o).message() == "config.keys is required");
  CHECK(lifeline::ParseAuditConfig(R"({"dir":"/x",)" + keys + R"(,"checkpoint_every":-1})", &o)
            .message() == "config.checkpoint_every must be an integer >= 0");
  CHECK(lifeline::ParseAuditConfig(
            R"({"dir":"/x","keys":{"provider":"callback","data_key_id":"k1","pseudonym_key_id":"p1","checkpoint_key_id":"c1"}})",
            &o)
            .message() == "config.keys.provider is \"callback\" but no key callback was given");
  CHECK(lifeline::ParseAuditConfig(R"({"dir":"/x",)" + keys + R"(,"pii":{"phone":"hide"}})", &o)
            .message() == "config.pii.phone must be \"encrypt\", \"pseudonymise\" or \"plain\"");
  CHECK(lifeline::ParseAuditConfig("{\"dir\":", &o).message().rfind("config is not valid JSON at offset 7", 0) == 0);
}
