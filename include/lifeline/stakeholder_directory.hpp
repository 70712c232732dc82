// stakeholder_directory.hpp -- who is notified, on which channels, when.
//
// Overview: a `StakeholderDirectory` maps stakeholder groups to members. A
// member has ordered channel preferences, one address per channel, a tier
// (which selects per-tier hold times), an IANA time zone and quiet hours. A
// group lists its members, its on-call manager (the target of hard-failure
// escalations, over a separate high-priority route) and its acknowledgement
// policy (all members, any one, or N of M).
//
// The directory is a cache: at trigger time the cascade engine asks a
// `DirectoryProvider` (e.g. an HRIS over HTTP) for each member's current
// record under a short timeout. When that lookup fails, `ResolveContact`
// falls back to the cached record and flags it `stale_contact_data`, which the
// cascade state and the audit events carry for manual review (seed Edge
// Case 2).
//
// JSON form (every key is checked; an unknown key is refused naming it):
//
//   {"members": [{"id": "m-1", "channels": ["sms", "voice"],
//                 "addresses": {"voice": "+12125550100", "sms": "+12125550100",
//                               "email": "a@example.com", "push": "tok",
//                               "webhook": "https://hooks.example.com/a"},
//                 "tier": 1, "timeZone": "America/New_York",
//                 "quietHours": {"start": "22:00", "end": "07:00"}}],
//    "groups": [{"id": "ops-leadership", "members": ["m-1"],
//                "onCallManager": "m-9", "ackPolicy": "all"}]}
//
// `channels` defaults to voice, sms, email, push restricted to the channels
// that have an address; a listed channel without an address is refused.
// `tier` defaults to 1, `timeZone` to "UTC", `quietHours` to none,
// `ackPolicy` to "all" ("any", or an integer N for N of M). Error messages name
// the JSON path, never a value (addresses are PII).
//
// Example:
//
//   auto dir = lifeline::StakeholderDirectory::FromJson(text);
//   if (!dir.ok()) return dir.status();
//   const lifeline::StakeholderGroup* g = dir->FindGroup("ops-leadership");
#ifndef LIFELINE_STAKEHOLDER_DIRECTORY_HPP_
#define LIFELINE_STAKEHOLDER_DIRECTORY_HPP_

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/notification_channel.hpp"
#include "lifeline/quiet_hours.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

struct StakeholderMember {
  std::string id;
  std::vector<Channel> channels;                    // ordered preference
  std::array<std::string, kChannelCount> addresses; // indexed by Channel; "" = none
  int tier = 1;                                     // 1..9
  std::string time_zone = "UTC";
  QuietHours quiet_hours;

  const std::string& Address(Channel c) const { return addresses[static_cast<int>(c)]; }
  bool HasAddress(Channel c) const { return !Address(c).empty(); }
};

// How many members of a group must acknowledge before the group is done.
struct AckPolicy {
  enum class Kind { kAll, kAny, kNOfM };
  Kind kind = Kind::kAll;
  int n = 0;  // for kNOfM
  // The number of acknowledgements required out of `members`.
  int Required(int members) const {
    switch (kind) {
      case Kind::kAll: return members;
      case Kind::kAny: return members > 0 ? 1 : 0;
      case Kind::kNOfM: return n < members ? n : members;
    }
    return members;
  }
};

struct StakeholderGroup {
  std::string id;
  std::vector<std::string> member_ids;
  std::string on_call_manager_id;  // a member id; "" = no manager
  AckPolicy ack_policy;
};

class StakeholderDirectory {
 public:
  // Parses and validates the JSON form above.
  static Result<StakeholderDirectory> FromJson(std::string_view json);

  // Checks one member on its own: id, channels with addresses, tier, zone.
  static Status ValidateMember(const StakeholderMember& member);

  // Adds or replaces a member / a group. A group's members and manager must
  // already be known.
  Status UpsertMember(StakeholderMember member);
  Status UpsertGroup(StakeholderGroup group);

  // nullptr when unknown. Pointers stay valid until the entry is replaced.
  const StakeholderMember* FindMember(std::string_view id) const;
  const StakeholderGroup* FindGroup(std::string_view id) const;

  std::size_t member_count() const { return members_.size(); }
  std::size_t group_count() const { return groups_.size(); }

 private:
  std::map<std::string, StakeholderMember, std::less<>> members_;
  std::map<std::string, StakeholderGroup, std::less<>> groups_;
};

// The real-time directory port (an HRIS or identity provider). `Lookup` must
// return within `timeout` (an HTTP implementation sets it as its transfer
// timeout) with the current record, or a non-OK status (kTimeout,
// kUnavailable, kNotFound...). Implementations must not put contact data in
// status messages.
class DirectoryProvider {
 public:
  virtual ~DirectoryProvider() = default;
  virtual Result<StakeholderMember> Lookup(const std::string& member_id,
                                           DurationMillis timeout) = 0;
};

// Forwards every call to another provider: tests override one method to
// inject faults and keep the rest.
class ForwardingDirectoryProvider : public DirectoryProvider {
 public:
  explicit ForwardingDirectoryProvider(DirectoryProvider* target) : target_(target) {}
  Result<StakeholderMember> Lookup(const std::string& member_id, DurationMillis timeout) override {
    return target_->Lookup(member_id, timeout);
  }

 private:
  DirectoryProvider* target_;
};

// A member's record as the cascade will use it.
struct ResolvedContact {
  StakeholderMember member;
  bool stale_contact_data = false;
  std::string stale_reason;  // why the live lookup was not used ("" when fresh)
};

// The member's current record: from `provider` when it is non-null and
// answers with a valid record for the same id, else the cached record with
// `stale_contact_data` set (only when a provider was asked). NotFound when
// neither knows the member.
Result<ResolvedContact> ResolveContact(const StakeholderDirectory& cache,
                                       DirectoryProvider* provider,
                                       const std::string& member_id, DurationMillis timeout);

}  // namespace lifeline

#endif  // LIFELINE_STAKEHOLDER_DIRECTORY_HPP_
