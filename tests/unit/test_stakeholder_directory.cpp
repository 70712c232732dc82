#include <catch2/catch.hpp>

#include <string>

#include "lifeline/quiet_hours.hpp"
#include "lifeline/stakeholder_directory.hpp"

using namespace lifeline;

namespace {

const char* kDirectory = R"({
  "members": [
    {"id": "m-1", "channels": ["sms", "voice"],
     "addresses": {"voice": "+12125550100", "sms": "+12125550101"},
     "tier": 2, "timeZone": "America/New_York",
     "quietHours": {"start": "22:00", "end": "07:00"}},
    {"id": "m-2", "addresses": {"email": "b@example.com", "voice": "+12125550102"}},
    {"id": "mgr", "channels": ["voice"], "addresses": {"voice": "+12125550199"}}
  ],
  "groups": [
    {"id": "ops", "members": ["m-1", "m-2"], "onCallManager": "mgr", "ackPolicy": 1},
    {"id": "all", "members": ["m-1"], "ackPolicy": "any"}
  ]})";

std::string ErrorOf(const std::string& json) {
  auto d = StakeholderDirectory::FromJson(json);
  return d.ok() ? "ok" : d.status().message();
}

class FakeProvider : public DirectoryProvider {
 public:
  Result<StakeholderMember> Lookup(const std::string& id, DurationMillis timeout) override {
    last_timeout = timeout;
    ++calls;
    if (!up) return Status(StatusCode::kTimeout, "lookup timed out");
    StakeholderMember m;
    m.id = id;
    m.channels = {Channel::kSms};
    m.addresses[static_cast<int>(Channel::kSms)] = "+12125550777";
    return m;
  }
  bool up = true;
  int calls = 0;
  DurationMillis last_timeout = 0;
};

}  // namespace

TEST_CASE("StakeholderDirectory loads members, defaults and groups") {
  auto dir = StakeholderDirectory::FromJson(kDirectory);
  REQUIRE(dir.ok());
  CHECK(dir->member_count() == 3);
  const StakeholderMember* m1 = dir->FindMember("m-1");
  REQUIRE(m1 != nullptr);
  CHECK(m1->channels == std::vector<Channel>{Channel::kSms, Channel::kVoice});
  CHECK(m1->tier == 2);
  CHECK(m1->time_zone == "America/New_York");
  CHECK(m1->quiet_hours.start_minute == 22 * 60);
  CHECK(m1->quiet_hours.end_minute == 7 * 60);
  const StakeholderMember* m2 = dir->FindMember("m-2");
  REQUIRE(m2 != nullptr);
  // Default order voice, sms, email, push restricted to known addresses.
  CHECK(m2->channels == std::vector<Channel>{Channel::kVoice, Channel::kEmail});
  CHECK(m2->tier == 1);
  CHECK(m2->time_zone == "UTC");
  CHECK_FALSE(m2->quiet_hours.enabled());
  const StakeholderGroup* ops = dir->FindGroup("ops");
  REQUIRE(ops != nullptr);
  CHECK(ops->on_call_manager_id == "mgr");
  CHECK(ops->ack_policy.kind == AckPolicy::Kind::kNOfM);
  CHECK(ops->ack_policy.Required(2) == 1);
  CHECK(dir->FindGroup("all")->ack_policy.kind == AckPolicy::Kind::kAny);
  CHECK(dir->FindGroup("nope") == nullptr);
}

TEST_CASE("StakeholderDirectory refuses unknown keys and bad values, naming the path") {
  CHECK(ErrorOf(R"({"memberz": []})") == "memberz: unknown configuration key");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "nickname": "x", "addresses": {"sms": "1"}}]})") ==
        "members[0].nickname: unknown configuration key");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "addresses": {"fax": "1"}}]})") ==
        "members[0].addresses.fax: unknown configuration key");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "channels": ["pager"], "addresses": {"sms": "1"}}]})") ==
        "members[0].channels: unknown channel (expected voice, sms, email, push or webhook)");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "channels": ["voice"], "addresses": {"sms": "1"}}]})") ==
        "members[0].addresses.voice: required because channels lists it");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "addresses": {"sms": "1"}, "timeZone": "Mars/Olympus"}]})") ==
        "members[0].timeZone: unknown IANA time zone");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "addresses": {"sms": "1"}, "quietHours": {"start": "25:00", "end": "07:00"}}]})") ==
        "members[0].quietHours.start: expected a local time \"HH:MM\" from 00:00 to 23:59");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "addresses": {"sms": "1"}, "tier": 0}]})") ==
        "members[0].tier: expected an integer in [1, 9], got 0");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "addresses": {"sms": "1"}}, {"id": "a", "addresses": {"sms": "2"}}]})") ==
        "members[1].id: duplicate member id");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "addresses": {"sms": "1"}}], "groups": [{"id": "g", "members": ["b"]}]})") ==
        "groups[0].members[0]: unknown member id");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "addresses": {"sms": "1"}}], "groups": [{"id": "g", "members": ["a"], "onCallManager": "z"}]})") ==
        "groups[0].onCallManager: unknown member id");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "addresses": {"sms": "1"}}], "groups": [{"id": "g", "members": ["a"], "ackPolicy": 2}]})") ==
        "groups[0].ackPolicy: N is larger than the number of members");
  CHECK(ErrorOf(R"({"members": [{"id": "a", "addresses": {"sms": "1"}}], "groups": [{"id": "g", "members": ["a"], "ackPolicy": "most"}]})") ==
        "groups[0].ackPolicy: expected \"all\", \"any\" or an integer N >= 1");
  CHECK(ErrorOf("[1]") == "configuration must be a JSON object");
  // No address value ever appears in an error.
  CHECK(ErrorOf(R"({"members": [{"id": "a", "channels": ["sms","sms"], "addresses": {"sms": "+15551234567"}}]})") ==
        "members[0].channels: \"sms\" listed twice");
}

TEST_CASE("ResolveContact uses the live record, or the cache flagged stale") {
  auto dir = StakeholderDirectory::FromJson(kDirectory);
  REQUIRE(dir.ok());
  FakeProvider provider;
  auto fresh = ResolveContact(*dir, &provider, "m-1", 1500);
  REQUIRE(fresh.ok());
  CHECK_FALSE(fresh->stale_contact_data);
  CHECK(fresh->member.Address(Channel::kSms) == "+12125550777");
  CHECK(provider.last_timeout == 1500);

  provider.up = false;
  auto stale = ResolveContact(*dir, &provider, "m-1", 1500);
  REQUIRE(stale.ok());
  CHECK(stale->stale_contact_data);
  CHECK(stale->stale_reason == "directory lookup failed: lookup timed out");
  CHECK(stale->member.Address(Channel::kSms) == "+12125550101");

  auto none = ResolveContact(*dir, nullptr, "m-2", 1500);
  REQUIRE(none.ok());
  CHECK_FALSE(none->stale_contact_data);
  CHECK(ResolveContact(*dir, &provider, "ghost", 1500).status().code() == StatusCode::kNotFound);
}

TEST_CASE("Quiet hours end at the right UTC instant across the spring-forward night") {
  QuietHours q{22 * 60, 7 * 60};
  // 2026-03-07T05:00Z is 00:00 EST on Saturday: quiet until 07:00 EST = 12:00Z.
  auto before = QuietHoursEnd(q, "America/New_York", 1'772'859'600'000);
  REQUIRE(before.ok());
  REQUIRE(before->has_value());
  CHECK(**before == 1'772'884'800'000);  // 2026-03-07T12:00:00Z
  // 2026-03-08T05:00Z is 00:00 EST; clocks jump at 02:00; 07:00 EDT = 11:00Z.
  auto after = QuietHoursEnd(q, "America/New_York", 1'772'946'000'000);
  REQUIRE(after.ok());
  REQUIRE(after->has_value());
  CHECK(**after == 1'772'967'600'000);  // 2026-03-08T11:00:00Z
  // 23:30 local the evening before ends the next morning.
  auto evening = QuietHoursEnd(q, "America/New_York", 1'772'857'800'000);  // 2026-03-07T04:30Z = 23:30 EST (Mar 6)
  REQUIRE(evening.ok());
  CHECK(**evening == 1'772'884'800'000);
  // Outside the window: nullopt.
  auto day = QuietHoursEnd(q, "America/New_York", 1'772'900'000'000);  // 2026-03-07T16:13Z
  REQUIRE(day.ok());
  CHECK_FALSE(day->has_value());
  // An end inside the gap (02:30 does not exist on 2026-03-08) is the gap's end.
  QuietHours gap{60, 150};
  auto g = QuietHoursEnd(gap, "America/New_York", 1'772'949'600'000);  // 06:00Z = 01:00 EST
  REQUIRE(g.ok());
  CHECK(**g == 1'772'953'200'000);  // 07:00Z = 03:00 EDT
  CHECK(QuietHoursEnd(q, "Nowhere/City", 0).status().message() == "unknown IANA time zone");
  CHECK_FALSE(QuietHoursEnd(QuietHours{}, "UTC", 0)->has_value());
}
