// The sans-I/O audit core: the line format, the chain hash, checkpoints,
// segment headers and the verifier's findings, on in-memory chains.
#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <random>
#include <string>
#include <vector>

#include "lifeline/audit_chain.hpp"

using lifeline::AuditChainVerifier;
using lifeline::AuditCheckpoint;
using lifeline::AuditFinding;
using lifeline::AuditRecord;
using lifeline::AuditSegmentHeader;
using lifeline::AuditVerifyReport;

namespace {

AuditRecord PinnedRecord() {
  AuditRecord r;
  r.seq = 1;
  r.time = 1716215520123LL;
  r.source = lifeline::AuditSource::kCascade;
  r.incident_id = "INC-2024-0892";
  r.subject = "stk-17";
  r.channel = "sms";
  r.event = "DELIVERY_ATTEMPT";
  r.status = "DELIVERED";
  r.provider_id = "twilio";
  r.detail = "line1\nquote\" slash/ tab\t ctrl\x01 \xc3\xa9";
  r.pii = {{"phone", "k1:AAAA", "p1:abcd"}};
  r.prev_hash = lifeline::kAuditGenesisHash;
  return r;
}

// A chain of n records, as lines.
std::vector<std::string> Chain(int n) {
  std::vector<std::string> lines;
  std::string prev = lifeline::kAuditGenesisHash;
  for (int i = 1; i <= n; ++i) {
    AuditRecord r;
    r.seq = static_cast<std::uint64_t>(i);
    r.time = 1716215520000LL + i;
    r.incident_id = "INC-" + std::to_string(i % 2);
    r.event = "E" + std::to_string(i);
    r.prev_hash = prev;
    std::string line;
    lifeline::AppendAuditLine(&r, &line);
    prev = r.hash;
    lines.push_back(line);
  }
  return lines;
}

std::string HashOf(const std::string& line) {
  AuditRecord r;
  REQUIRE(lifeline::ParseAuditLine(line, &r).ok());
  return r.hash;
}

AuditVerifyReport Verify(const std::vector<std::string>& lines,
                         const std::vector<AuditCheckpoint>& checkpoints = {}) {
  AuditChainVerifier v;
  for (const auto& cp : checkpoints) v.AddCheckpoint(cp, true);
  for (const auto& line : lines) v.AddLine(line);
  return v.Finish();
}

AuditCheckpoint CheckpointAt(const std::vector<std::string>& lines, std::uint64_t seq) {
  return AuditCheckpoint{seq, HashOf(lines[seq - 1]), "c1", std::string(64, 'a')};
}

}  // namespace

TEST_CASE("audit times are RFC 3339 UTC with milliseconds") {
  CHECK(lifeline::FormatAuditTime(0) == "1970-01-01T00:00:00.000Z");
  CHECK(lifeline::FormatAuditTime(1716215520123LL) == "2024-05-20T14:32:00.123Z");
  CHECK(lifeline::FormatAuditTime(951782400000LL) == "2000-02-29T00:00:00.000Z");
  CHECK(lifeline::FormatAuditTime(253402300799999LL) == "9999-12-31T23:59:59.999Z");
  lifeline::UnixMillis t = 0;
  CHECK(lifeline::ParseAuditTime("2024-05-20T14:32:00.123Z", &t));
  CHECK(t == 1716215520123LL);
  CHECK(lifeline::ParseAuditTime("2000-02-29T00:00:00.000Z", &t));
  CHECK(t == 951782400000LL);
  CHECK_FALSE(lifeline::ParseAuditTime("2001-02-29T00:00:00.000Z", &t));  // not a leap year
  CHECK_FALSE(lifeline::ParseAuditTime("2024-13-01T00:00:00.000Z", &t));
  CHECK_FALSE(lifeline::ParseAuditTime("2024-05-20T24:00:00.000Z", &t));
  CHECK_FALSE(lifeline::ParseAuditTime("2024-05-20T14:32:00Z", &t));
  CHECK_FALSE(lifeline::ParseAuditTime("2024-05-20T14:32:00.123+00:00", &t));
  CHECK_FALSE(lifeline::ParseAuditTime("2024-05-20 14:32:00.123Z", &t));
  // Other spellings of a valid instant, 24 bytes long, are not canonical.
  CHECK_FALSE(lifeline::ParseAuditTime("2024-05-20t14:32:00.123z", &t));
  CHECK_FALSE(lifeline::ParseAuditTime("2016-12-31T23:59:60.500Z", &t));  // leap second
  CHECK_FALSE(lifeline::ParseAuditTime("2024-05-20T14:32:00.12345Z", &t));
  CHECK_FALSE(lifeline::ParseAuditTime("0000-01-01T00:00:00.000Z", &t));
  CHECK(t == 951782400000LL);  // untouched by the refusals
}

TEST_CASE("the canonical line is pinned byte for byte, hash included") {
  AuditRecord r = PinnedRecord();
  std::string line;
  lifeline::AppendAuditLine(&r, &line);
  // Computed independently with Python's hashlib over the same content:
  // sha256(bytes(prev_hash) + sha256(content)).
  const std::string hash = "1f093157e12125dc3862ebeb12c6ae4d189f42dc983b7133197ffe80375d1187";
  CHECK(r.hash == hash);
  CHECK(line ==
        "{\"seq\":1,\"time\":\"2024-05-20T14:32:00.123Z\",\"source\":\"cascade\","
        "\"incidentId\":\"INC-2024-0892\",\"callId\":\"\",\"subject\":\"stk-17\","
        "\"channel\":\"sms\",\"event\":\"DELIVERY_ATTEMPT\",\"status\":\"DELIVERED\","
        "\"providerId\":\"twilio\","
        "\"detail\":\"line1\\nquote\\\" slash/ tab\\t ctrl\\u0001 \xc3\xa9\","
        "\"pii\":{\"phone\":{\"enc\":\"k1:AAAA\",\"psn\":\"p1:abcd\"}},"
        "\"prev_hash\":\"" + std::string(64, '0') + "\",\"hash\":\"" + hash + "\"}");
  CHECK(lifeline::AuditContentDigest(
            line.substr(0, line.find(",\"prev_hash\":")) + "}") ==
        "c1a497924495dd38fcf18289557a03a5adc45ee3aae242ad61c3c002f6d9ca37");
  CHECK(lifeline::PeekAuditSeq(line) == 1);
}

namespace {

// The content as RapidJSON's compact Writer writes it, member by member: the
// reference AppendAuditContent's literal punctuation and fast path for
// strings without escapes must match byte for byte.
std::string ContentByRapidJson(const AuditRecord& r) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&w](const std::string& value) {
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  w.Key("seq");
  w.Uint64(r.seq);
  w.Key("time");
  str(lifeline::FormatAuditTime(r.time));
  w.Key("source");
  w.String(lifeline::AuditSourceName(r.source));
  const std::pair<const char*, const std::string*> members[] = {
      {"incidentId", &r.incident_id}, {"callId", &r.call_id},   {"subject", &r.subject},
      {"channel", &r.channel},        {"event", &r.event},      {"status", &r.status},
      {"providerId", &r.provider_id}, {"detail", &r.detail}};
  for (const auto& [key, value] : members) {
    w.Key(key);
    str(*value);
  }
  w.Key("pii");
  w.StartObject();
  for (const lifeline::StoredPii& field : r.pii) {
    str(field.name);
    w.StartObject();
    if (!field.enc.empty()) {
      w.Key("enc");
      str(field.enc);
    }
    if (!field.psn.empty()) {
      w.Key("psn");
      str(field.psn);
    }
    w.EndObject();
  }
  w.EndObject();
  if (!r.pii_enc.empty()) {
    w.Key("pii_enc");
    str(r.pii_enc);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

TEST_CASE("the content is byte for byte what RapidJSON's Writer writes, for any bytes") {
  std::mt19937 rng(20240520);
  // Every byte value, with the ones that are escaped (control characters,
  // '"', '\\') and UTF-8 lead/continuation bytes over-represented.
  auto random_text = [&rng](std::size_t max) {
    static const char kSpecial[] = {'"', '\\', '\n', '\t', '\x01', '\x1f', '/', '\x7f',
                                    '\xc3', '\xa9', '\xe2', '\x82', '\xac', ' '};
    std::string text(std::uniform_int_distribution<std::size_t>(0, max)(rng), 'x');
    for (char& c : text) {
      unsigned pick = std::uniform_int_distribution<unsigned>(0, 9)(rng);
      if (pick < 4) {
        c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
      } else if (pick < 7) {
        c = kSpecial[std::uniform_int_distribution<std::size_t>(0, sizeof kSpecial - 1)(rng)];
      } else {
        c = static_cast<char>('a' + pick);
      }
    }
    return text;
  };
  // Text that needs no escaping (every other byte value): the records made
  // only of it take the serialiser's single-pass path.
  auto clean_text = [&rng](std::size_t max) {
    std::string text(std::uniform_int_distribution<std::size_t>(0, max)(rng), 'x');
    for (char& c : text) {
      do {
        c = static_cast<char>(std::uniform_int_distribution<int>(0x20, 255)(rng));
      } while (c == '"' || c == '\\');
    }
    return text;
  };
  for (int round = 0; round < 2000; ++round) {
    const bool clean = round % 4 == 3;
    auto text = [&](std::size_t max) { return clean ? clean_text(max) : random_text(max); };
    AuditRecord r;
    r.seq = std::uniform_int_distribution<std::uint64_t>(1, UINT64_MAX)(rng);
    r.time = std::uniform_int_distribution<std::int64_t>(0, 253402300799999LL)(rng);
    r.source = static_cast<lifeline::AuditSource>(round % 4);
    for (std::string* field : {&r.incident_id, &r.call_id, &r.subject, &r.channel, &r.event,
                               &r.status, &r.provider_id, &r.detail}) {
      *field = round % 3 == 0 ? std::string("plain-ascii_value.1") : text(40);
    }
    std::size_t fields = std::uniform_int_distribution<std::size_t>(0, 3)(rng);
    for (std::size_t i = 0; i < fields; ++i) {
      lifeline::StoredPii field;
      field.name = round % 2 == 0 ? "f" + std::to_string(i) : text(8);
      if (i != 1) field.enc = text(30);
      if (i != 2 || field.enc.empty()) field.psn = text(30) + "p";
      r.pii.push_back(field);
    }
    if (round % 5 == 1 || round % 5 == 3) r.pii_enc = text(30) + "e";
    std::string content;
    lifeline::AppendAuditContent(r, &content);
    REQUIRE(content == ContentByRapidJson(r));
  }
  AuditRecord pinned = PinnedRecord();
  std::string content = "prefix";
  lifeline::AppendAuditContent(pinned, &content);
  CHECK(content == "prefix" + ContentByRapidJson(pinned));
}

TEST_CASE("a parsed line gives back the record") {
  AuditRecord r = PinnedRecord();
  std::string line;
  lifeline::AppendAuditLine(&r, &line);
  AuditRecord back;
  std::string digest;
  REQUIRE(lifeline::ParseAuditLine(line, &back, &digest).ok());
  CHECK(back.seq == 1);
  CHECK(back.time == r.time);
  CHECK(back.source == lifeline::AuditSource::kCascade);
  CHECK(back.incident_id == "INC-2024-0892");
  CHECK(back.detail == r.detail);
  REQUIRE(back.pii.size() == 1);
  CHECK(back.pii[0].name == "phone");
  CHECK(back.pii[0].enc == "k1:AAAA");
  CHECK(back.pii[0].psn == "p1:abcd");
  CHECK(back.hash == r.hash);
  CHECK(digest == "c1a497924495dd38fcf18289557a03a5adc45ee3aae242ad61c3c002f6d9ca37");
  CHECK(lifeline::AuditLinkHash(back.prev_hash, digest) == back.hash);
}

TEST_CASE("every single-byte change of a line is caught by its own hash") {
  AuditRecord r = PinnedRecord();
  std::string line;
  lifeline::AppendAuditLine(&r, &line);
  for (std::size_t i = 0; i < line.size(); ++i) {
    std::string edited = line;
    edited[i] = static_cast<char>(edited[i] == 'x' ? 'y' : 'x');
    AuditRecord out;
    INFO("byte " << i);
    CHECK_FALSE(lifeline::ParseAuditLine(edited, &out).ok());
  }
}

TEST_CASE("lines that are not records are refused with a reason") {
  AuditRecord out;
  CHECK(lifeline::ParseAuditLine("", &out).message() ==
        "line does not end with the prev_hash and hash members");
  CHECK(lifeline::ParseAuditLine("{\"seq\":1}", &out).code() ==
        lifeline::StatusCode::kInvalidArgument);
  std::vector<std::string> chain = Chain(1);
  std::string upper = chain[0];
  upper[upper.size() - 3] = 'A';
  CHECK(lifeline::ParseAuditLine(upper, &out).message() ==
        "hash is not 64 lower-case hex digits");
  // A line whose content is given, hashed correctly, so that only the
  // member checks can refuse it.
  auto hashed = [](const std::string& content) {
    std::string hash = lifeline::AuditChainHash(lifeline::kAuditGenesisHash, content);
    return content.substr(0, content.size() - 1) + ",\"prev_hash\":\"" +
           lifeline::kAuditGenesisHash + "\",\"hash\":\"" + hash + "\"}";
  };
  AuditRecord sealed = PinnedRecord();
  sealed.pii = {{"phone", "", "p1:abcd"}};
  sealed.pii_enc = "k1:AAAA";
  std::string content;
  lifeline::AppendAuditContent(sealed, &content);
  REQUIRE(lifeline::ParseAuditLine(hashed(content), &out).ok());
  CHECK(out.pii_enc == "k1:AAAA");
  std::string both = content;
  both.replace(both.find("{\"psn\""), 1, "{\"enc\":\"k1:BBBB\",");
  CHECK(lifeline::ParseAuditLine(hashed(both), &out).message() ==
        "a record has both pii_enc and a per-field enc");
  std::string renamed = content;
  renamed.replace(renamed.find("pii_enc"), 7, "pii_xxx");
  CHECK(lifeline::ParseAuditLine(hashed(renamed), &out).message() ==
        "content does not have exactly the record members");
  std::string empty = content;
  empty.replace(empty.find("k1:AAAA"), 7, "");
  CHECK(lifeline::ParseAuditLine(hashed(empty), &out).message() ==
        "pii_enc is not a non-empty string");
  std::string extra = content;
  extra.insert(extra.size() - 1, ",\"more\":1");
  CHECK(lifeline::ParseAuditLine(hashed(extra), &out).message() ==
        "content does not have exactly the record members");
  CHECK(lifeline::PeekAuditSeq("{\"seq\":12,") == 12);
  CHECK(lifeline::PeekAuditSeq("{\"seq\":x,") == 0);
  CHECK(lifeline::PeekAuditSeq("{\"type\":\"link\"}") == 0);
}

TEST_CASE("an intact chain verifies") {
  std::vector<std::string> chain = Chain(20);
  AuditVerifyReport report = Verify(chain, {CheckpointAt(chain, 10), CheckpointAt(chain, 20)});
  CHECK(report.ok());
  CHECK(report.records == 20);
  CHECK(report.first_seq == 1);
  CHECK(report.last_seq == 20);
  CHECK(report.head_hash == HashOf(chain[19]));
  CHECK(report.checkpoints == 2);
  CHECK(report.ToJson().find("{\"ok\":true,\"kind\":\"ok\",\"first_bad_seq\":0,") == 0);
}

TEST_CASE("the verifier names each kind of damage at its first bad seq") {
  std::vector<std::string> chain = Chain(20);
  std::vector<AuditCheckpoint> cps = {CheckpointAt(chain, 20)};

  SECTION("edited") {
    auto lines = chain;
    lines[6][30] ^= 1;
    AuditVerifyReport r = Verify(lines, cps);
    CHECK(r.finding == AuditFinding::kEdited);
    CHECK(r.first_bad_seq == 7);
    CHECK(r.records == 6);
  }
  SECTION("deleted") {
    auto lines = chain;
    lines.erase(lines.begin() + 4);
    AuditVerifyReport r = Verify(lines, cps);
    CHECK(r.finding == AuditFinding::kDeleted);
    CHECK(r.first_bad_seq == 5);
    CHECK(r.message == "seq 5 is missing");
  }
  SECTION("the first record deleted") {
    auto lines = chain;
    lines.erase(lines.begin());
    AuditVerifyReport r = Verify(lines, cps);
    CHECK(r.finding == AuditFinding::kDeleted);
    CHECK(r.first_bad_seq == 1);
  }
  SECTION("reordered") {
    auto lines = chain;
    std::swap(lines[3], lines[11]);
    AuditVerifyReport r = Verify(lines, cps);
    CHECK(r.finding == AuditFinding::kReordered);
    CHECK(r.first_bad_seq == 4);
  }
  SECTION("a repeated old record") {
    auto lines = chain;
    lines.insert(lines.begin() + 8, lines[2]);
    AuditVerifyReport r = Verify(lines, cps);
    CHECK(r.finding == AuditFinding::kReordered);
    CHECK(r.first_bad_seq == 9);
  }
  SECTION("truncated") {
    auto lines = chain;
    lines.resize(17);
    AuditVerifyReport r = Verify(lines, cps);
    CHECK(r.finding == AuditFinding::kTruncated);
    CHECK(r.first_bad_seq == 18);
  }
  SECTION("a chain rewritten from seq 12 on, hashes recomputed") {
    auto lines = chain;
    AuditRecord r12;
    REQUIRE(lifeline::ParseAuditLine(lines[11], &r12).ok());
    std::string prev = r12.prev_hash;
    for (std::size_t i = 11; i < lines.size(); ++i) {
      AuditRecord r;
      REQUIRE(lifeline::ParseAuditLine(lines[i], &r).ok());
      if (i == 11) r.status = "FORGED";
      r.prev_hash = prev;
      lines[i].clear();
      lifeline::AppendAuditLine(&r, &lines[i]);
      prev = r.hash;
    }
    AuditVerifyReport r = Verify(lines, cps);
    CHECK(r.finding == AuditFinding::kBadCheckpoint);
    CHECK(r.first_bad_seq == 20);
  }
  SECTION("a single record rewritten with its hash recomputed") {
    auto lines = chain;
    AuditRecord r;
    REQUIRE(lifeline::ParseAuditLine(lines[9], &r).ok());
    r.status = "FORGED";
    lines[9].clear();
    lifeline::AppendAuditLine(&r, &lines[9]);
    AuditVerifyReport report = Verify(lines, cps);
    CHECK(report.finding == AuditFinding::kEdited);
    CHECK(report.first_bad_seq == 11);  // the link from 11 back to 10 breaks
  }
  SECTION("a checkpoint whose MAC fails") {
    AuditChainVerifier v;
    v.AddCheckpoint(CheckpointAt(chain, 12), false);
    for (const auto& l : chain) v.AddLine(l);
    AuditVerifyReport r = v.Finish();
    CHECK(r.finding == AuditFinding::kBadCheckpoint);
    CHECK(r.first_bad_seq == 12);
  }
  SECTION("a chain that does not start at genesis") {
    auto lines = std::vector<std::string>(chain.begin() + 5, chain.end());
    AuditVerifyReport r = Verify(lines);
    CHECK(r.finding == AuditFinding::kDeleted);
    CHECK(r.first_bad_seq == 1);
    AuditChainVerifier anywhere;
    anywhere.StartAnywhere();
    for (const auto& l : lines) anywhere.AddLine(l);
    CHECK(anywhere.Finish().ok());
  }
}

TEST_CASE("an unterminated tail is a torn write, unless it is a record plus a stray byte") {
  std::vector<std::string> chain = Chain(5);
  {
    AuditChainVerifier v;
    for (int i = 0; i < 4; ++i) v.AddLine(chain[static_cast<std::size_t>(i)]);
    v.AddTornTail(chain[4].substr(0, 40));
    AuditVerifyReport r = v.Finish();
    CHECK(r.ok());
    CHECK(r.torn_tail_bytes == 40);
    CHECK(r.last_seq == 4);
  }
  {
    AuditChainVerifier v;
    for (int i = 0; i < 4; ++i) v.AddLine(chain[static_cast<std::size_t>(i)]);
    v.AddTornTail(chain[4] + "x");
    AuditVerifyReport r = v.Finish();
    CHECK(r.finding == AuditFinding::kEdited);
    CHECK(r.first_bad_seq == 5);
  }
}

TEST_CASE("segments are checked against their headers, and a corrupt one is a finding") {
  std::vector<std::string> chain = Chain(10);
  AuditSegmentHeader h;
  h.first_seq = 1;
  h.last_seq = 4;
  h.count = 4;
  h.first_prev_hash = lifeline::kAuditGenesisHash;
  h.last_hash = HashOf(chain[3]);
  std::string header_line = lifeline::FormatAuditSegmentHeader(h);
  AuditSegmentHeader parsed;
  REQUIRE(lifeline::ParseAuditSegmentHeader(header_line, &parsed).ok());
  CHECK(parsed.last_hash == h.last_hash);

  {
    AuditChainVerifier v;
    v.BeginSegment(h);
    for (int i = 0; i < 4; ++i) v.AddLine(chain[static_cast<std::size_t>(i)]);
    v.EndSegment();
    v.BeginLive();
    v.AddLine(chain[2]);  // an archived record still in the live store
    v.AddLine(chain[3]);
    for (int i = 4; i < 10; ++i) v.AddLine(chain[static_cast<std::size_t>(i)]);
    AuditVerifyReport r = v.Finish();
    CHECK(r.ok());
    CHECK(r.segments == 1);
    CHECK(r.records == 10);
  }
  {
    AuditSegmentHeader lying = h;
    lying.last_hash = std::string(64, 'b');
    AuditChainVerifier v;
    v.BeginSegment(lying);
    for (int i = 0; i < 4; ++i) v.AddLine(chain[static_cast<std::size_t>(i)]);
    v.EndSegment();
    AuditVerifyReport r = v.Finish();
    CHECK(r.finding == AuditFinding::kCorruptArchive);
    CHECK(r.first_bad_seq == 1);
  }
  {
    AuditChainVerifier v;
    v.ReportCorruptArchive(1, "gzip data error");
    for (const auto& l : chain) v.AddLine(l);
    AuditVerifyReport r = v.Finish();
    CHECK(r.finding == AuditFinding::kCorruptArchive);
    CHECK(r.first_bad_seq == 1);
    CHECK(r.message == "gzip data error");
  }
  AuditSegmentHeader bad;
  CHECK_FALSE(lifeline::ParseAuditSegmentHeader(
                  "{\"segment\":1,\"first_seq\":5,\"last_seq\":4,\"count\":0,"
                  "\"first_prev_hash\":\"" + std::string(64, '0') + "\",\"last_hash\":\"" +
                      std::string(64, '0') + "\"}",
                  &bad)
                  .ok());
}

TEST_CASE("an export-style walk proves omitted records by their digests") {
  std::vector<std::string> chain = Chain(12);
  AuditChainVerifier v;
  v.StartAnywhere();
  v.AddLine(chain[4]);  // seq 5
  for (int seq = 6; seq <= 9; ++seq) {
    std::string line = chain[static_cast<std::size_t>(seq - 1)];
    v.AddLink(static_cast<std::uint64_t>(seq),
              lifeline::AuditContentDigest(line.substr(0, line.find(",\"prev_hash\":")) + "}"));
  }
  v.AddLine(chain[9]);  // seq 10
  v.AddCheckpoint(CheckpointAt(chain, 10), true);
  AuditVerifyReport r = v.Finish();
  CHECK(r.ok());
  CHECK(r.records == 2);
  CHECK(r.links == 4);

  AuditChainVerifier forged;
  forged.StartAnywhere();
  forged.AddLine(chain[4]);
  forged.AddLink(6, std::string(64, 'c'));  // a made-up digest
  forged.AddLink(7, std::string(64, 'c'));
  forged.AddLink(8, std::string(64, 'c'));
  forged.AddLink(9, std::string(64, 'c'));
  forged.AddLine(chain[9]);
  CHECK(forged.Finish().finding == AuditFinding::kEdited);
}

TEST_CASE("checkpoint lines round-trip and are refused when malformed") {
  AuditCheckpoint cp{42, std::string(64, 'd'), "c1", std::string(64, 'e')};
  std::string line = lifeline::FormatAuditCheckpoint(cp);
  CHECK(line == "{\"seq\":42,\"hash\":\"" + std::string(64, 'd') + "\",\"kid\":\"c1\",\"mac\":\"" +
                    std::string(64, 'e') + "\"}");
  AuditCheckpoint back;
  REQUIRE(lifeline::ParseAuditCheckpoint(line, &back).ok());
  CHECK(back.seq == 42);
  CHECK(back.kid == "c1");
  CHECK(lifeline::AuditCheckpointMessage(42, cp.hash) ==
        "lifeline-audit-checkpoint/v1\n42\n" + std::string(64, 'd'));
  CHECK(lifeline::ParseAuditCheckpoint("{\"seq\":42}", &back).message() ==
        "checkpoint hash is not 64 lower-case hex digits");
}

TEST_CASE("purge manifest entries anchor the chain where the purged records ended") {
  std::vector<std::string> lines = Chain(10);
  auto entry_for = [&lines](std::uint64_t first, std::uint64_t last) {
    lifeline::AuditPurgeEntry e;
    e.segment.first_seq = first;
    e.segment.last_seq = last;
    e.segment.count = last - first + 1;
    AuditRecord r;
    REQUIRE(lifeline::ParseAuditLine(lines[first - 1], &r).ok());
    e.segment.first_prev_hash = r.prev_hash;
    e.segment.last_hash = HashOf(lines[last - 1]);
    e.kid = "c1";
    e.mac = std::string(64, 'a');
    return e;
  };
  SECTION("two entries, then the remaining records") {
    AuditChainVerifier v;
    v.AddCheckpoint(CheckpointAt(lines, 5), true);
    v.AddPurged(entry_for(1, 3), true);
    v.AddPurged(entry_for(4, 5), true);
    for (std::size_t i = 5; i < lines.size(); ++i) v.AddLine(lines[i]);
    AuditVerifyReport r = v.Finish();
    INFO(r.ToJson());
    CHECK(r.ok());
    CHECK(r.purged_segments == 2);
    CHECK(r.purged_through == 5);
    CHECK(r.first_seq == 6);
    CHECK(r.records == 5);
  }
  SECTION("a checkpoint that disagrees with an entry's last hash") {
    AuditChainVerifier v;
    AuditCheckpoint cp = CheckpointAt(lines, 5);
    cp.hash = HashOf(lines[3]);
    v.AddCheckpoint(cp, true);
    v.AddPurged(entry_for(1, 5), true);
    AuditVerifyReport r = v.Finish();
    CHECK(r.finding == AuditFinding::kBadPurgeManifest);
    CHECK(r.first_bad_seq == 5);
    CHECK(r.message ==
          "checkpoint at seq 5 does not match the purge manifest's last hash for seqs 1-5");
  }
  SECTION("the first remaining record does not link to the last purged hash") {
    AuditChainVerifier v;
    lifeline::AuditPurgeEntry e = entry_for(1, 5);
    e.segment.last_hash = HashOf(lines[3]);
    v.AddPurged(e, true);
    for (std::size_t i = 5; i < lines.size(); ++i) v.AddLine(lines[i]);
    AuditVerifyReport r = v.Finish();
    CHECK(r.finding == AuditFinding::kEdited);
    CHECK(r.first_bad_seq == 6);
  }
  SECTION("an entry after records") {
    AuditChainVerifier v;
    v.AddLine(lines[0]);
    v.AddPurged(entry_for(2, 3), true);
    AuditVerifyReport r = v.Finish();
    CHECK(r.finding == AuditFinding::kBadPurgeManifest);
    CHECK(r.message == "the purge manifest entry for seqs 2-3 comes after records that were kept");
  }
  SECTION("without the manifest, an ARCHIVE_PURGED record explains the gap") {
    std::vector<std::string> rest(lines.begin() + 5, lines.end());
    AuditRecord purge;
    purge.seq = 11;
    purge.time = 1716215530000LL;
    purge.source = lifeline::AuditSource::kAudit;
    purge.event = "ARCHIVE_PURGED";
    purge.detail = "{\"operation\":\"purge\",\"first_seq\":1,\"last_seq\":5}";
    purge.prev_hash = HashOf(lines[9]);
    std::string line;
    lifeline::AppendAuditLine(&purge, &line);
    CHECK(lifeline::AuditPurgedThrough(purge) == 5);
    rest.push_back(line);
    AuditVerifyReport r = Verify(rest);
    CHECK(r.finding == AuditFinding::kBadPurgeManifest);
    CHECK(r.first_bad_seq == 1);
    CHECK(r.message ==
          "seqs 1-5 were purged (ARCHIVE_PURGED record at seq 11) but the purge manifest does not "
          "account for them (it was truncated or removed)");
    // Without that record it is a plain deletion.
    rest.pop_back();
    CHECK(Verify(rest).finding == AuditFinding::kDeleted);
  }
}

TEST_CASE("purge manifest entries round-trip and are refused when malformed") {
  lifeline::AuditPurgeEntry e;
  e.segment = {1, 500, 500, std::string(64, '0'), std::string(64, 'b')};
  e.max_time = 1716215520000LL;
  e.cutoff = 1716215530000LL;
  e.purged_at = 1732000000000LL;
  e.audit_seq = 1234;
  e.kid = "c1";
  e.mac = std::string(64, 'c');
  std::string line = lifeline::FormatAuditPurgeEntry(e);
  CHECK(line ==
        "{\"purged\":1,\"first_seq\":1,\"last_seq\":500,\"count\":500,\"first_prev_hash\":\"" +
            std::string(64, '0') + "\",\"last_hash\":\"" + std::string(64, 'b') +
            "\",\"max_time\":\"2024-05-20T14:32:00.000Z\",\"cutoff\":\"2024-05-20T14:32:10.000Z\","
            "\"purged_at\":\"2024-11-19T07:06:40.000Z\",\"audit_seq\":1234,\"kid\":\"c1\",\"mac\":\"" +
            std::string(64, 'c') + "\"}");
  CHECK(lifeline::AuditPurgeMessage(e) ==
        "lifeline-audit-purge/v1\n1\n500\n" + std::string(64, '0') + "\n" + std::string(64, 'b') +
            "\n1716215520000\n1716215530000\n1732000000000\n1234");
  lifeline::AuditPurgeEntry back;
  REQUIRE(lifeline::ParseAuditPurgeEntry(line, &back).ok());
  CHECK(lifeline::AuditPurgeMessage(back) == lifeline::AuditPurgeMessage(e));
  CHECK(back.mac == e.mac);
  auto refused = [](std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    lifeline::AuditPurgeEntry out;
    return lifeline::ParseAuditPurgeEntry(text, &out).message();
  };
  CHECK(refused(line, "\"count\":500", "\"count\":499") ==
        "purge manifest entry boundaries are inconsistent");
  CHECK(refused(line, "\"purged\":1", "\"purged\":2") == "purge manifest entry version is not 1");
  CHECK(refused(line, "2024-05-20T14:32:00.000Z", "yesterday") ==
        "purge manifest entry max_time is not RFC 3339 UTC with milliseconds");
  CHECK(refused(line, "\"audit_seq\":1234", "\"audit_seq\":\"x\"") ==
        "purge manifest entry audit_seq is not an integer");
  CHECK(refused(line, "\"kid\":\"c1\"", "\"kid\":\"\"") == "purge manifest entry kid is missing");
}
