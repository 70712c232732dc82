#include <catch2/catch.hpp>

#include <string>

#include "lifeline/phone_number.hpp"

using lifeline::IsSupportedCountry;
using lifeline::IsWithheldCallerNumber;
using lifeline::NormalizeE164;
using lifeline::StatusCode;

namespace {

std::string Ok(std::string_view raw, std::string_view country) {
  auto r = NormalizeE164(raw, country);
  INFO("input: " << raw << " country: " << country << " error: " << r.status().message());
  REQUIRE(r.ok());
  return *r;
}

// Returns the error message; the input must be refused with `code`.
std::string Err(std::string_view raw, std::string_view country,
                StatusCode code = StatusCode::kInvalidArgument) {
  auto r = NormalizeE164(raw, country);
  INFO("input: " << raw << " country: " << country);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == code);
  return r.status().message();
}

}  // namespace

TEST_CASE("NANP numbers in every common format") {
  for (const char* raw : {"(415) 555-0100", "415.555.0100", "415-555-0100", "4155550100",
                          "1-415-555-0100", "1 (415) 555 0100", "14155550100", "+1 415 555 0100",
                          "+14155550100", "  +1 (415) 555-0100\t", "415/555/0100"}) {
    CHECK(Ok(raw, "US") == "+14155550100");
    CHECK(Ok(raw, "CA") == "+14155550100");
  }
  CHECK(Ok("tel:+1-415-555-0100;ext=22", "US") == "+14155550100");
  CHECK(Ok("sip:+14155550100@pbx.example.com;user=phone", "US") == "+14155550100");
  CHECK(Ok("<sip:4155550100@10.0.0.1>", "US") == "+14155550100");
  CHECK(Ok("sips:14155550100@pbx", "US") == "+14155550100");
  CHECK(Ok("011 44 20 7946 0000", "US") == "+442079460000");
  CHECK(Ok("00 44 20 7946 0000", "US") == "+442079460000");
}

TEST_CASE("NANP structure rules are enforced") {
  CHECK(Err("0155550100", "US") == "a NANP area code must begin with 2-9");
  CHECK(Err("1155550100", "US") == "a NANP area code must begin with 2-9");
  CHECK(Err("4150550100", "US") == "a NANP exchange code must begin with 2-9");
  CHECK(Err("4151550100", "US") == "a NANP exchange code must begin with 2-9");
  CHECK(Err("415555010", "US") == "a NANP number has 10 digits, or 11 beginning with 1");
  CHECK(Err("24155550100", "US") == "a NANP number has 10 digits, or 11 beginning with 1");
  CHECK(Err("141555501001", "US") == "a NANP number has 10 digits, or 11 beginning with 1");
  CHECK(Err("+1 415 555 010", "US") == "a NANP number has 10 digits after the country code 1");
  CHECK(Err("+1 015 555 0100", "GB") == "a NANP area code must begin with 2-9");
  // Boundary digits of the NXX rule.
  CHECK(Ok("2002000000", "US") == "+12002000000");
  CHECK(Ok("9999999999", "US") == "+19999999999");
}

TEST_CASE("trunk prefixes, international prefixes and '(0)'") {
  CHECK(Ok("020 7946 0000", "GB") == "+442079460000");
  CHECK(Ok("2079460000", "GB") == "+442079460000");       // trunk prefix stripped by the PBX
  CHECK(Ok("+44 (0)20 7946 0000", "GB") == "+442079460000");
  CHECK(Ok("+44 (0)20 7946 0000", "US") == "+442079460000");
  CHECK(Ok("0044 20 7946 0000", "GB") == "+442079460000");
  CHECK(Ok("442079460000", "GB") == "+442079460000");     // own calling code, no prefix
  CHECK(Ok("0113 496 0000", "GB") == "+441134960000");    // Leeds, not "011" international
  CHECK(Ok("011 3496 0000", "GB") == "+441134960000");
  CHECK(Ok("030 123456", "DE") == "+4930123456");
  CHECK(Ok("01 23 45 67 89", "FR") == "+33123456789");
  CHECK(Ok("+33 (0)1 23 45 67 89", "DE") == "+33123456789");
  CHECK(Ok("06 1234 5678", "IT") == "+390612345678");      // Italy keeps its leading 0
  CHECK(Ok("+39 06 1234 5678", "GB") == "+390612345678");
  CHECK(Ok("612 345 678", "ES") == "+34612345678");
  CHECK(Ok("(02) 9876 5432", "AU") == "+61298765432");
  CHECK(Ok("0011 44 20 7946 0000", "AU") == "+442079460000");
  CHECK(Ok("00 44 20 7946 0000", "AU") == "+442079460000");
  CHECK(Ok("03-1234-5678", "JP") == "+81312345678");
  CHECK(Ok("010 1 415 555 0100", "JP") == "+14155550100");
  CHECK(Ok("98765 43210", "IN") == "+919876543210");
  CHECK(Ok("021 123 4567", "ZA") == "+27211234567");
  CHECK(Ok("020 7946 0000", "gb") == "+442079460000");  // the country is case-insensitive
}

TEST_CASE("national numbers of the wrong length are refused") {
  CHECK(Err("020 7946", "GB") == "caller number has the wrong length for country code +44");
  CHECK(Err("07946", "GB") == "caller number has the wrong length for country code +44");
  CHECK(Err("12345", "GB") == "caller number has the wrong length for a national number of GB");
  CHECK(Err("01 23 45 67 8", "FR") == "caller number has the wrong length for country code +33");
  CHECK(Err("+44 20 7946 00000 0", "US") == "caller number has the wrong length for country code +44");
}

TEST_CASE("international numbers with codes outside the table: E.164 length only") {
  CHECK(Ok("+7 495 123 4567", "GB") == "+74951234567");
  CHECK(Ok("+21255512", "") == "+21255512");                    // 8 digits: the minimum
  CHECK(Ok("+212555123456789", "") == "+212555123456789");      // 15 digits: the maximum
  CHECK(Err("+2125551", "") == "caller number has 7 digits; E.164 allows 8 to 15");
  CHECK(Err("+2125551234567890", "") == "caller number has 16 digits; E.164 allows 8 to 15");
  CHECK(Err("+0441234567", "GB") == "a country calling code cannot begin with 0");
  CHECK(Err("00", "GB") == "caller number has no digits after the international prefix");
  CHECK(Err("+44", "GB") == "caller number has no digits after the country code");
}

TEST_CASE("withheld markers are NotFound, distinct from invalid numbers") {
  for (const char* raw : {"", "   ", "anonymous", "Anonymous", "ANONYMOUS", "restricted",
                          "RESTRICTED", "unknown", "private", "Private", "withheld",
                          "unavailable", "sip:anonymous@anonymous.invalid",
                          "<sip:Anonymous@pbx.example>", "tel:"}) {
    CHECK(Err(raw, "US", StatusCode::kNotFound) == "caller number is withheld");
    CHECK(IsWithheldCallerNumber(raw));
  }
  CHECK_FALSE(IsWithheldCallerNumber("4155550100"));
  CHECK_FALSE(IsWithheldCallerNumber("anonymous1"));
  CHECK_FALSE(IsWithheldCallerNumber(std::string(300, ' ')));
}

TEST_CASE("malformed input is refused without echoing the digits") {
  std::string m = Err("415-555-0100 x22", "US");
  CHECK(m == "caller number has a character at position 13 that is not a digit, a leading '+' or formatting");
  CHECK(m.find("415") == std::string::npos);
  CHECK(Err("+1+4155550100", "US").find("position 2") != std::string::npos);
  CHECK(Err("*67 415 555 0100", "US").find("position 0") != std::string::npos);
  CHECK(Err("4155550100#", "US").find("position 10") != std::string::npos);
  CHECK(Err("+", "US") == "caller number has no digits");
  CHECK(Err("()-", "US") == "caller number has no digits");
  CHECK(Err(std::string(257, '1'), "US") == "caller number is longer than 256 bytes");
  // An over-long SIP URI is refused before it is parsed.
  CHECK(Err("sip:" + std::string(300, 'a') + "@x", "US") == "caller number is longer than 256 bytes");
  // The wrong-length message never carries the number either.
  CHECK(Err("415555010", "US").find("415") == std::string::npos);
}

TEST_CASE("the default country must be in the table, empty means international only") {
  CHECK(Err("4155550100", "XX") == "default_country is not a supported ISO 3166-1 alpha-2 code");
  CHECK(Err("+14155550100", "USA") == "default_country is not a supported ISO 3166-1 alpha-2 code");
  CHECK(Err("4155550100", "") == "caller number is national but no default_country is configured");
  CHECK(Ok("+14155550100", "") == "+14155550100");
  CHECK(Ok("0044 20 7946 0000", "") == "+442079460000");
  CHECK(Ok("4155550100", "Us") == "+14155550100");
  for (const char* c : {"US", "CA", "GB", "IE", "DE", "FR", "NL", "BE", "CH", "AT", "SE", "ES",
                        "IT", "PT", "NO", "DK", "PL", "MX", "AU", "NZ", "JP", "IN", "ZA", "gb"})
    CHECK(IsSupportedCountry(c));
  for (const char* c : {"", "U", "USA", "XX", "UK", "RU"}) CHECK_FALSE(IsSupportedCountry(c));
}

TEST_CASE("keyed-in numbers (digits only) normalise like ANI") {
  CHECK(Ok("4155550100", "US") == "+14155550100");
  CHECK(Ok("011442079460000", "US") == "+442079460000");  // 15 keys, no '+' on a keypad
  CHECK(Ok("02079460000", "GB") == "+442079460000");
  CHECK(Err("415555010012345", "US") == "a NANP number has 10 digits, or 11 beginning with 1");
}
