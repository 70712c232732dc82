// phone_number.cc -- E.164 normalisation for callers' numbers. The rules and
// the country table are documented in include/lifeline/phone_number.hpp.
#include "lifeline/phone_number.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace lifeline {
namespace {

// One row of the numbering-plan table. `nsn_*` bound the length of the
// national significant number (the digits after the calling code).
struct CountryPlan {
  std::string_view alpha2;
  std::string_view calling_code;
  std::string_view trunk_prefix;  // "" when the country has none
  std::string_view intl_prefix;   // the international dialling prefix
  int nsn_min;
  int nsn_max;
  bool nanp;                      // North American Numbering Plan rules
};

// Keep in sync with the table in phone_number.hpp. US comes before CA so a
// "+1" number is looked up as US; both follow the same NANP rules.
constexpr CountryPlan kPlans[] = {
    {"US", "1", "1", "011", 10, 10, true},
    {"CA", "1", "1", "011", 10, 10, true},
    {"GB", "44", "0", "00", 9, 10, false},
    {"IE", "353", "0", "00", 7, 9, false},
    {"DE", "49", "0", "00", 6, 13, false},
    {"FR", "33", "0", "00", 9, 9, false},
    {"NL", "31", "0", "00", 9, 9, false},
    {"BE", "32", "0", "00", 8, 9, false},
    {"CH", "41", "0", "00", 9, 9, false},
    {"AT", "43", "0", "00", 4, 13, false},
    {"SE", "46", "0", "00", 7, 10, false},
    {"ES", "34", "", "00", 9, 9, false},
    {"IT", "39", "", "00", 6, 11, false},
    {"PT", "351", "", "00", 9, 9, false},
    {"NO", "47", "", "00", 8, 8, false},
    {"DK", "45", "", "00", 8, 8, false},
    {"PL", "48", "", "00", 9, 9, false},
    {"MX", "52", "", "00", 10, 10, false},
    {"AU", "61", "0", "0011", 9, 9, false},
    {"NZ", "64", "0", "00", 8, 10, false},
    {"JP", "81", "0", "010", 9, 10, false},
    {"IN", "91", "0", "00", 10, 10, false},
    {"ZA", "27", "0", "00", 9, 9, false},
};

constexpr std::size_t kMaxRawBytes = 256;
constexpr std::size_t kMinE164Digits = 8;
constexpr std::size_t kMaxE164Digits = 15;

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool SameNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  return true;
}

bool HasPrefixNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && SameNoCase(s.substr(0, prefix.size()), prefix);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsFormatting(char c) {
  return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')';
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Rule 1: "<sip:user@host;params>" -> "user", "tel:+1...;ext=2" -> "+1...".
std::string_view ReduceUri(std::string_view s) {
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = Trim(s.substr(1, s.size() - 2));
  bool sip = false;
  if (HasPrefixNoCase(s, "tel:")) {
    s.remove_prefix(4);
  } else if (HasPrefixNoCase(s, "sips:")) {
    s.remove_prefix(5);
    sip = true;
  } else if (HasPrefixNoCase(s, "sip:")) {
    s.remove_prefix(4);
    sip = true;
  } else {
    return s;
  }
  if (sip) s = s.substr(0, s.find('@'));
  s = s.substr(0, s.find(';'));
  return Trim(s);
}

bool IsWithheldMarker(std::string_view s) {
  static constexpr std::string_view kMarkers[] = {"anonymous", "restricted", "unknown",
                                                  "private",   "withheld",   "unavailable"};
  if (s.empty()) return true;
  for (std::string_view marker : kMarkers)
    if (SameNoCase(s, marker)) return true;
  return false;
}

const CountryPlan* FindPlan(std::string_view alpha2) {
  for (const CountryPlan& plan : kPlans)
    if (SameNoCase(plan.alpha2, alpha2)) return &plan;
  return nullptr;
}

// Calling codes are prefix-free (ITU-T E.164), so the first match is the
// only one. "1" finds US, whose rules CA shares.
const CountryPlan* FindPlanByCallingCode(std::string_view digits) {
  for (const CountryPlan& plan : kPlans)
    if (digits.substr(0, plan.calling_code.size()) == plan.calling_code) return &plan;
  return nullptr;
}

Result<std::string> Assemble(std::string_view calling_code, std::string_view nsn) {
  const std::size_t total = calling_code.size() + nsn.size();
  if (total < kMinE164Digits || total > kMaxE164Digits)
    return InvalidArgument("caller number has " + std::to_string(total) +
                           " digits; E.164 allows 8 to 15");
  std::string out;
  out.reserve(1 + total);
  out += '+';
  out.append(calling_code.data(), calling_code.size());
  out.append(nsn.data(), nsn.size());
  return out;
}

Status CheckNanp(std::string_view nsn) {
  if (nsn.size() != 10)
    return InvalidArgument("a NANP number has 10 digits after the country code 1");
  if (nsn[0] < '2') return InvalidArgument("a NANP area code must begin with 2-9");
  if (nsn[3] < '2') return InvalidArgument("a NANP exchange code must begin with 2-9");
  return Status::Ok();
}

// Checks a national significant number against its country's plan.
Result<std::string> FromNsn(const CountryPlan& plan, std::string_view nsn) {
  if (plan.nanp) {
    Status s = CheckNanp(nsn);
    if (!s.ok()) return s;
    return Assemble(plan.calling_code, nsn);
  }
  const int n = static_cast<int>(nsn.size());
  if (n < plan.nsn_min || n > plan.nsn_max)
    return InvalidArgument("caller number has the wrong length for country code +" +
                           std::string(plan.calling_code));
  if (plan.trunk_prefix == "0" && nsn[0] == '0')
    return InvalidArgument("caller number for country code +" + std::string(plan.calling_code) +
                           " cannot begin with 0 after the trunk prefix");
  return Assemble(plan.calling_code, nsn);
}

// Rule 4: `digits` are calling code + national significant number.
Result<std::string> FromInternational(std::string_view digits) {
  if (digits.empty()) return InvalidArgument("caller number has no digits after the international prefix");
  if (digits[0] == '0') return InvalidArgument("a country calling code cannot begin with 0");
  const CountryPlan* plan = FindPlanByCallingCode(digits);
  if (plan == nullptr) return Assemble({}, digits);  // Unknown plan: E.164 length only.
  std::string_view nsn = digits.substr(plan->calling_code.size());
  // "+44 (0)20 ..." : a trunk prefix written after the calling code.
  if (plan->trunk_prefix == "0" && !nsn.empty() && nsn[0] == '0') nsn.remove_prefix(1);
  if (nsn.empty()) return InvalidArgument("caller number has no digits after the country code");
  return FromNsn(*plan, nsn);
}

// Rule 5: a national number of `plan`'s country.
Result<std::string> FromNational(const CountryPlan& plan, std::string_view digits) {
  if (plan.nanp) {
    if (digits.size() == 11 && digits[0] == '1') return FromNsn(plan, digits.substr(1));
    if (digits.size() == 10) return FromNsn(plan, digits);
    return InvalidArgument("a NANP number has 10 digits, or 11 beginning with 1");
  }
  if (!plan.trunk_prefix.empty() && digits.substr(0, plan.trunk_prefix.size()) == plan.trunk_prefix)
    return FromNsn(plan, digits.substr(plan.trunk_prefix.size()));
  const int n = static_cast<int>(digits.size());
  if (n >= plan.nsn_min && n <= plan.nsn_max) return FromNsn(plan, digits);
  if (digits.substr(0, plan.calling_code.size()) == plan.calling_code) {
    std::string_view nsn = digits.substr(plan.calling_code.size());
    const int m = static_cast<int>(nsn.size());
    if (m >= plan.nsn_min && m <= plan.nsn_max) return FromNsn(plan, nsn);
  }
  return InvalidArgument("caller number has the wrong length for a national number of " +
                         std::string(plan.alpha2));
}

}  // namespace

bool IsSupportedCountry(std::string_view alpha2) { return FindPlan(alpha2) != nullptr; }

bool IsWithheldCallerNumber(std::string_view raw) {
  if (raw.size() > kMaxRawBytes) return false;
  return IsWithheldMarker(ReduceUri(Trim(raw)));
}

Result<std::string> NormalizeE164(std::string_view raw, std::string_view default_country) {
  if (raw.size() > kMaxRawBytes) return InvalidArgument("caller number is longer than 256 bytes");
  const CountryPlan* plan = nullptr;
  if (!default_country.empty()) {
    plan = FindPlan(default_country);
    if (plan == nullptr)
      return InvalidArgument("default_country is not a supported ISO 3166-1 alpha-2 code");
  }
  const std::string_view s = ReduceUri(Trim(raw));
  if (IsWithheldMarker(s)) return NotFound("caller number is withheld");

  std::string digits;
  digits.reserve(s.size());
  bool plus = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (IsDigit(c)) {
      digits += c;
    } else if (c == '+' && i == 0) {
      plus = true;
    } else if (!IsFormatting(c)) {
      return InvalidArgument("caller number has a character at position " + std::to_string(i) +
                             " that is not a digit, a leading '+' or formatting");
    }
  }
  if (digits.empty()) return InvalidArgument("caller number has no digits");
  const std::string_view d = digits;
  if (plus) return FromInternational(d);
  if (plan != nullptr && d.substr(0, plan->intl_prefix.size()) == plan->intl_prefix)
    return FromInternational(d.substr(plan->intl_prefix.size()));
  if (d.substr(0, 2) == "00") return FromInternational(d.substr(2));
  if (plan == nullptr)
    return InvalidArgument("caller number is national but no default_country is configured");
  return FromNational(*plan, d);
}

}  // namespace lifeline
