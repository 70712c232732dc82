// Unit tests of the lib/http helpers: form encoding (libcurl), Basic auth
// (OpenSSL base64) and the CURLcode -> TransportError table.
#include <catch2/catch.hpp>

#include <curl/curl.h>

#include <initializer_list>
#include <string>

#include "http/basic_auth.hpp"
#include "http/curl_transport.hpp"
#include "http/form_encoding.hpp"

using lifeline::TransportError;

TEST_CASE("UrlEncode keeps unreserved characters and percent-encodes the rest") {
  CHECK(*lifeline::UrlEncode("") == "");
  CHECK(*lifeline::UrlEncode("AZaz09-._~") == "AZaz09-._~");
  CHECK(*lifeline::UrlEncode("a b&c=d+e/f?g#h%") == "a%20b%26c%3Dd%2Be%2Ff%3Fg%23h%25");
  CHECK(*lifeline::UrlEncode("+15551234567") == "%2B15551234567");
  CHECK(*lifeline::UrlEncode("caf\xc3\xa9") == "caf%C3%A9");  // UTF-8, byte by byte
  CHECK(*lifeline::UrlEncode(std::string("a\0b", 3)) == "a%00b");
  auto too_long = lifeline::UrlEncode(std::string(8000001, 'a'));
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.status().code() == lifeline::StatusCode::kInvalidArgument);
  CHECK(too_long.status().message() == "text to URL-encode is longer than 8000000 bytes");
}

TEST_CASE("EncodeFormBody joins encoded pairs in order, names may repeat") {
  CHECK(*lifeline::EncodeFormBody({}) == "");
  CHECK(*lifeline::EncodeFormBody({{"grant_type", "client_credentials"}}) ==
        "grant_type=client_credentials");
  CHECK(*lifeline::EncodeFormBody({{"To", "+15551234567"},
                                   {"Body", "Outage: press 1"},
                                   {"MediaUrl", "a"},
                                   {"MediaUrl", "b"},
                                   {"Empty", ""}}) ==
        "To=%2B15551234567&Body=Outage%3A%20press%201&MediaUrl=a&MediaUrl=b&Empty=");
}

TEST_CASE("BasicAuthorization is RFC 7617 with OpenSSL base64") {
  // The example of RFC 7617 section 2.
  CHECK(*lifeline::BasicAuthorization("Aladdin", "open sesame") ==
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  CHECK(*lifeline::BasicAuthorization("", "") == "Basic Og==");
  CHECK(*lifeline::BasicAuthorization("ab", "c") == "Basic YWI6Yw==");
  CHECK(*lifeline::BasicAuthorization("abc", "de") == "Basic YWJjOmRl");
  // Passwords may contain ':'; UTF-8 passes through as bytes.
  CHECK(*lifeline::BasicAuthorization("u", "p:w") == "Basic dTpwOnc=");
  CHECK(*lifeline::BasicAuthorization("test", "123\xc2\xa3") == "Basic dGVzdDoxMjPCow==");
}

TEST_CASE("BasicAuthorization refuses what RFC 7617 forbids, without echoing secrets") {
  auto colon = lifeline::BasicAuthorization("us:er", "secret");
  REQUIRE_FALSE(colon.ok());
  CHECK(colon.status().code() == lifeline::StatusCode::kInvalidArgument);
  CHECK(colon.status().message() == "basic auth user id must not contain ':'");
  CHECK(lifeline::BasicAuthorization("us\ner", "x").status().message() ==
        "basic auth user id contains a control character");
  auto bad_password = lifeline::BasicAuthorization("user", "sec\x7fret");
  CHECK(bad_password.status().message() == "basic auth password contains a control character");
  CHECK(bad_password.status().message().find("sec") == std::string::npos);
}

TEST_CASE("CURLcode maps to TransportError as documented") {
  using lifeline::TransportErrorFromCurlCode;
  CHECK(TransportErrorFromCurlCode(CURLE_OK) == TransportError::kNone);
  CHECK(TransportErrorFromCurlCode(CURLE_OPERATION_TIMEDOUT) == TransportError::kTimeout);
  for (int code : {CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT,
                   CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING}) {
    INFO("CURLcode " << code);
    CHECK(TransportErrorFromCurlCode(code) == TransportError::kConnection);
  }
  for (int code : {CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION,
                   CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE,
                   CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
                   CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE,
                   CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
                   CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED}) {
    INFO("CURLcode " << code);
    CHECK(TransportErrorFromCurlCode(code) == TransportError::kTls);
  }
  for (int code : std::initializer_list<int>{CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_WRITE_ERROR,
                   CURLE_OUT_OF_MEMORY, CURLE_PARTIAL_FILE, CURLE_TOO_MANY_REDIRECTS,
                   CURLE_ABORTED_BY_CALLBACK, 9999}) {
    INFO("CURLcode " << code);
    CHECK(TransportErrorFromCurlCode(code) == TransportError::kOther);
  }
}
