// phone_number.hpp -- a caller's number (ANI) normalised to E.164.
//
// Overview: a callback can only be placed to a number the contact-center
// platform can dial, and Genesys Cloud, NICE CXone and most webhooks want
// E.164 ("+" followed by 8 to 15 digits). What a PBX reports as the caller's
// number is rarely that: national formats with a trunk prefix
// ("020 7946 0000"), international dialling prefixes ("0044...", "011 44
// ..."), punctuation ("(415) 555-0100"), SIP or tel URIs
// ("sip:+14155550100@pbx;user=phone"), or a marker for a withheld number
// ("anonymous"). `NormalizeE164` turns all of these into one canonical
// string, or says precisely why it cannot.
//
// What this is NOT: libphonenumber. Lifeline keeps a small table of common
// countries (below) with their calling code, trunk prefix, international
// prefix and the range of lengths of their national significant numbers. It
// checks structure and length, and the North American Numbering Plan's
// NXX rules, but it does not know which number ranges are allocated, which
// are mobile, or the numbering plans of countries outside the table. A number
// in international form whose calling code is not in the table is accepted
// when it has 8 to 15 digits. Full validation is out of scope.
//
// Supported default countries (ISO 3166-1 alpha-2, case-insensitive):
//
//   code  calling  trunk  int'l   national length
//   US    +1       1      011     10 (NANP: NXX NXX XXXX)
//   CA    +1       1      011     10 (NANP)
//   GB    +44      0      00      9..10
//   IE    +353     0      00      7..9
//   DE    +49      0      00      6..13
//   FR    +33      0      00      9
//   NL    +31      0      00      9
//   BE    +32      0      00      8..9
//   CH    +41      0      00      9
//   AT    +43      0      00      4..13
//   SE    +46      0      00      7..10
//   ES    +34      -      00      9
//   IT    +39      -      00      6..11 (the leading 0 is part of the number)
//   PT    +351     -      00      9
//   NO    +47      -      00      8
//   DK    +45      -      00      8
//   PL    +48      -      00      9
//   MX    +52      -      00      10
//   AU    +61      0      0011    9
//   NZ    +64      0      00      8..10
//   JP    +81      0      010     9..10
//   IN    +91      0      00      10
//   ZA    +27      0      00      9
//
// Rules, in order:
//
//  1. Leading and trailing white space is ignored. "tel:" and "sip:"/"sips:"
//     URIs (optionally in <angle brackets>) are reduced to their number (the
//     user part; parameters after ';' are dropped).
//  2. A withheld marker -- "" (empty), "anonymous", "restricted", "unknown",
//     "private", "withheld", "unavailable", compared case-insensitively --
//     gives StatusCode::kNotFound, distinct from an invalid number, so the
//     call flow can ask the caller to key a number in.
//  3. Spaces, tabs, '-', '.', '/', '(' and ')' are formatting and dropped.
//     A '+' is allowed only as the first character. Anything else (letters,
//     '*', '#', "ext") makes the number invalid.
//  4. International form: "+", or the default country's international
//     prefix ("011" for US/CA, "0011" for AU, "010" for JP), or "00" (which
//     no national number in the table begins with). The calling code is
//     then matched against the table; a trunk prefix written after it, as in
//     "+44 (0)20 7946 0000", is dropped for countries whose trunk prefix is
//     "0". "011" is NOT an international prefix outside NANP: 0113 is Leeds.
//  5. National form, for the default country: NANP takes 10 digits, or 11
//     beginning with the trunk prefix 1, and checks that the area code and
//     the exchange begin with 2..9. Other countries drop a leading trunk
//     prefix when they have one, and also accept the national number
//     without it (PBXs often strip it). Digits that are too long for a
//     national number but begin with the country's own calling code are read
//     as international without a prefix ("442079460000" with GB).
//  6. The result has 8 to 15 digits after the '+' (ITU-T E.164).
//
// Error messages name the problem, never the digits (they are PII).
//
// Example:
//
//   Result<std::string> n = NormalizeE164("(415) 555-0100", "US");
//   // *n == "+14155550100"
//   n = NormalizeE164("020 7946 0000", "GB");   // "+442079460000"
//   n = NormalizeE164("anonymous", "GB");       // kNotFound: ask the caller
#ifndef LIFELINE_PHONE_NUMBER_HPP_
#define LIFELINE_PHONE_NUMBER_HPP_

#include <string>
#include <string_view>

#include "lifeline/status.hpp"

namespace lifeline {

// Returns `raw` as an E.164 string ("+" and 8..15 digits), interpreting a
// national number for `default_country` (ISO 3166-1 alpha-2 from the table
// above, case-insensitive). An empty `default_country` accepts international
// forms only.
//
// Errors:
//   kNotFound         the number is withheld (see rule 2); ask for keyed entry.
//   kInvalidArgument  `default_country` is not in the table, or the number
//                     is malformed, has the wrong length, or breaks the NANP
//                     rules. Raw input longer than 256 bytes is refused.
Result<std::string> NormalizeE164(std::string_view raw, std::string_view default_country);

// True when `raw` is one of the withheld markers of rule 2 (after trimming
// and URI reduction), i.e. when NormalizeE164 would give kNotFound.
bool IsWithheldCallerNumber(std::string_view raw);

// True when `alpha2` (case-insensitive) is a default country in the table.
bool IsSupportedCountry(std::string_view alpha2);

}  // namespace lifeline

#endif  // LIFELINE_PHONE_NUMBER_HPP_
