// stakeholder_directory.cc -- JSON loading and validation of the directory.
#include "lifeline/stakeholder_directory.hpp"

#include <set>

#include <rapidjson/document.h>

#include "core/json_config.hpp"

namespace lifeline {
namespace {

std::string Indexed(const char* array, std::size_t i) {
  return std::string(array) + "[" + std::to_string(i) + "]";
}

// Reads one member object at `path`; errors land in `error`.
StakeholderMember ReadMember(const rapidjson::Value& v, const std::string& path,
                             const std::shared_ptr<Status>& error) {
  StakeholderMember m;
  ConfigObject o(&v, path, error);
  if (!v.IsObject()) {
    if (error->ok()) *error = InvalidArgument(path + ": expected an object");
    return m;
  }
  o.String("id", &m.id);
  if (m.id.empty()) o.Error("id", "required, a non-empty string");
  std::vector<std::string> channel_names;
  o.StringList("channels", &channel_names);
  for (const std::string& name : channel_names) {
    auto c = ParseChannel(name);
    if (!c) {
      o.Error("channels", "unknown channel (expected voice, sms, email, push or webhook)");
      break;
    }
    m.channels.push_back(*c);
  }
  if (ConfigObject* a = o.Object("addresses")) {
    for (int i = 0; i < kChannelCount; ++i) {
      a->String(ChannelName(static_cast<Channel>(i)), &m.addresses[static_cast<std::size_t>(i)]);
    }
  }
  o.Int("tier", &m.tier, 1, 9);
  o.String("timeZone", &m.time_zone);
  if (ConfigObject* q = o.Object("quietHours")) {
    std::string start, end;
    q->String("start", &start);
    q->String("end", &end);
    auto s = ParseLocalMinute(start);
    auto e = ParseLocalMinute(end);
    if (!s.ok()) q->Error("start", s.status().message());
    else if (!e.ok()) q->Error("end", e.status().message());
    else m.quiet_hours = QuietHours{*s, *e};
  }
  if (m.channels.empty() && !o.Has("channels")) {
    for (Channel c : kDefaultChannelOrder) {
      if (m.HasAddress(c)) m.channels.push_back(c);
    }
  }
  Status finish = o.Finish();
  if (!finish.ok() && error->ok()) *error = finish;
  if (error->ok()) {
    Status valid = StakeholderDirectory::ValidateMember(m);
    if (!valid.ok()) *error = InvalidArgument(path + "." + valid.message());
  }
  return m;
}

}  // namespace

Status StakeholderDirectory::ValidateMember(const StakeholderMember& m) {
  if (m.id.empty()) return InvalidArgument("id: required, a non-empty string");
  if (m.channels.empty()) return InvalidArgument("channels: at least one channel with an address");
  std::set<Channel> seen;
  for (Channel c : m.channels) {
    if (!seen.insert(c).second) {
      return InvalidArgument(std::string("channels: \"") + ChannelName(c) + "\" listed twice");
    }
    if (!m.HasAddress(c)) {
      return InvalidArgument(std::string("addresses.") + ChannelName(c) +
                             ": required because channels lists it");
    }
  }
  if (m.tier < 1 || m.tier > 9) return InvalidArgument("tier: expected an integer in [1, 9]");
  if (!ValidateTimeZone(m.time_zone).ok()) return InvalidArgument("timeZone: unknown IANA time zone");
  return Status::Ok();
}

Result<StakeholderDirectory> StakeholderDirectory::FromJson(std::string_view json) {
  JsonConfig config;
  Status s = config.Parse(json);
  if (!s.ok()) return s;
  StakeholderDirectory dir;
  ConfigObject root = config.Root();
  auto error = std::make_shared<Status>();
  const rapidjson::Value* members = root.Raw("members");
  const rapidjson::Value* groups = root.Raw("groups");
  s = root.Finish();
  if (!s.ok()) return s;
  if (members != nullptr && !members->IsArray()) return InvalidArgument("members: expected an array");
  if (groups != nullptr && !groups->IsArray()) return InvalidArgument("groups: expected an array");
  if (members != nullptr) {
    for (rapidjson::SizeType i = 0; i < members->Size(); ++i) {
      std::string path = Indexed("members", i);
      StakeholderMember m = ReadMember((*members)[i], path, error);
      if (!error->ok()) return *error;
      if (dir.FindMember(m.id) != nullptr) return InvalidArgument(path + ".id: duplicate member id");
      dir.members_.emplace(m.id, std::move(m));
    }
  }
  if (groups != nullptr) {
    for (rapidjson::SizeType i = 0; i < groups->Size(); ++i) {
      std::string path = Indexed("groups", i);
      const rapidjson::Value& v = (*groups)[i];
      if (!v.IsObject()) return InvalidArgument(path + ": expected an object");
      ConfigObject o(&v, path, error);
      StakeholderGroup g;
      o.String("id", &g.id);
      o.StringList("members", &g.member_ids);
      o.String("onCallManager", &g.on_call_manager_id);
      if (const rapidjson::Value* p = o.Raw("ackPolicy")) {
        if (p->IsString() && std::string_view(p->GetString()) == "all") {
          g.ack_policy.kind = AckPolicy::Kind::kAll;
        } else if (p->IsString() && std::string_view(p->GetString()) == "any") {
          g.ack_policy.kind = AckPolicy::Kind::kAny;
        } else if (p->IsInt() && p->GetInt() >= 1) {
          g.ack_policy.kind = AckPolicy::Kind::kNOfM;
          g.ack_policy.n = p->GetInt();
        } else {
          o.Error("ackPolicy", "expected \"all\", \"any\" or an integer N >= 1");
        }
      }
      s = o.Finish();
      if (!s.ok()) return s;
      if (g.id.empty()) return InvalidArgument(path + ".id: required, a non-empty string");
      if (dir.FindGroup(g.id) != nullptr) return InvalidArgument(path + ".id: duplicate group id");
      if (g.member_ids.empty()) return InvalidArgument(path + ".members: at least one member");
      if (g.ack_policy.kind == AckPolicy::Kind::kNOfM &&
          g.ack_policy.n > static_cast<int>(g.member_ids.size())) {
        return InvalidArgument(path + ".ackPolicy: N is larger than the number of members");
      }
      s = dir.UpsertGroup(std::move(g));
      if (!s.ok()) return InvalidArgument(path + "." + s.message());
    }
  }
  return dir;
}

Status StakeholderDirectory::UpsertMember(StakeholderMember member) {
  Status s = ValidateMember(member);
  if (!s.ok()) return s;
  std::string id = member.id;
  members_[id] = std::move(member);
  return Status::Ok();
}

Status StakeholderDirectory::UpsertGroup(StakeholderGroup group) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < group.member_ids.size(); ++i) {
    const std::string& id = group.member_ids[i];
    if (FindMember(id) == nullptr) {
      return InvalidArgument("members[" + std::to_string(i) + "]: unknown member id");
    }
    if (!seen.insert(id).second) {
      return InvalidArgument("members[" + std::to_string(i) + "]: member listed twice");
    }
  }
  if (!group.on_call_manager_id.empty() && FindMember(group.on_call_manager_id) == nullptr) {
    return InvalidArgument("onCallManager: unknown member id");
  }
  std::string id = group.id;
  groups_[id] = std::move(group);
  return Status::Ok();
}

const StakeholderMember* StakeholderDirectory::FindMember(std::string_view id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

const StakeholderGroup* StakeholderDirectory::FindGroup(std::string_view id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : &it->second;
}

Result<ResolvedContact> ResolveContact(const StakeholderDirectory& cache,
                                       DirectoryProvider* provider,
                                       const std::string& member_id, DurationMillis timeout) {
  const StakeholderMember* cached = cache.FindMember(member_id);
  ResolvedContact out;
  if (provider != nullptr) {
    Result<StakeholderMember> live = provider->Lookup(member_id, timeout);
    if (live.ok() && live->id == member_id && StakeholderDirectory::ValidateMember(*live).ok()) {
      out.member = std::move(live).value();
      return out;
    }
    out.stale_contact_data = true;
    if (!live.ok()) {
      out.stale_reason = "directory lookup failed: " + live.status().message();
    } else {
      out.stale_reason = "directory returned an invalid record";
    }
  }
  if (cached == nullptr) return NotFound("member is in neither the directory nor the cache");
  out.member = *cached;
  return out;
}

}  // namespace lifeline
