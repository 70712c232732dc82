// form_encoding.hpp -- percent-encoding for query strings and form bodies.
//
// Overview: Twilio's APIs take `application/x-www-form-urlencoded` bodies
// and OAuth token endpoints take `grant_type=client_credentials`; both need
// each name and value percent-encoded. The encoding is libcurl's
// `curl_easy_escape`: every byte except A-Z a-z 0-9 - . _ ~ becomes %XX
// (upper-case hex), so a space is "%20" (which every form parser reads as a
// space) and UTF-8 text is encoded byte by byte.
//
// Example:
//
//   auto body = lifeline::EncodeFormBody({{"To", "+15551234567"},
//                                         {"Body", "Outage: press 1"}});
//   // *body == "To=%2B15551234567&Body=Outage%3A%20press%201"
#ifndef LIFELINE_LIB_HTTP_FORM_ENCODING_HPP_
#define LIFELINE_LIB_HTTP_FORM_ENCODING_HPP_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/status.hpp"

namespace lifeline {

// Percent-encodes `text` (any bytes, NULs included). Fails with
// kInvalidArgument when `text` is longer than libcurl accepts (8 MiB) and
// kInternal when libcurl cannot allocate.
Result<std::string> UrlEncode(std::string_view text);

// "name1=value1&name2=value2...", each part percent-encoded with UrlEncode,
// in the given order (names may repeat). An empty list gives "".
Result<std::string> EncodeFormBody(
    const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace lifeline

#endif  // LIFELINE_LIB_HTTP_FORM_ENCODING_HPP_
