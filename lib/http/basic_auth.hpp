// basic_auth.hpp -- the HTTP Basic authentication header value (RFC 7617).
//
// Overview: Genesys Cloud's OAuth client-credentials grant authenticates
// the client with `Authorization: Basic base64(client_id:client_secret)`,
// and Twilio's REST API with `Basic base64(AccountSid:AuthToken)`. The
// base64 is OpenSSL's `EVP_EncodeBlock` (standard alphabet, padded, no line
// breaks).
//
// Example:
//
//   auto value = lifeline::BasicAuthorization("Aladdin", "open sesame");
//   // *value == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
//   request.headers.emplace_back("Authorization", *value);
//
// The result is a credential: never log it.
#ifndef LIFELINE_LIB_HTTP_BASIC_AUTH_HPP_
#define LIFELINE_LIB_HTTP_BASIC_AUTH_HPP_

#include <string>
#include <string_view>

#include "lifeline/status.hpp"

namespace lifeline {

// "Basic " + base64(user_id + ":" + password). Fails with kInvalidArgument
// when `user_id` contains ':' or either part contains a control character
// (RFC 7617 forbids both); the message names the part, not its content.
Result<std::string> BasicAuthorization(std::string_view user_id, std::string_view password);

}  // namespace lifeline

#endif  // LIFELINE_LIB_HTTP_BASIC_AUTH_HPP_
