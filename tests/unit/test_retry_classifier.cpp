// IsRetryable: every HTTP status and every transport error.
#include <catch2/catch.hpp>

#include "lifeline/retry_classifier.hpp"

using lifeline::IsRetryable;
using lifeline::IsRetryableHttpStatus;
using lifeline::TransportError;

TEST_CASE("HTTP statuses: 408, 425, 429 and 5xx retry, nothing else does") {
  for (int status = -1; status <= 1000; ++status) {
    const bool expected = status == 408 || status == 425 || status == 429 ||
                          (status >= 500 && status <= 599);
    INFO("status " << status);
    REQUIRE(IsRetryable(status, TransportError::kNone) == expected);
    REQUIRE(IsRetryableHttpStatus(status) == expected);
  }
  // Spelled out, the ones that matter most.
  CHECK(IsRetryable(429, TransportError::kNone));
  CHECK(IsRetryable(503, TransportError::kNone));
  CHECK(IsRetryable(500, TransportError::kNone));
  CHECK(IsRetryable(599, TransportError::kNone));
  CHECK_FALSE(IsRetryable(600, TransportError::kNone));
  CHECK_FALSE(IsRetryable(200, TransportError::kNone));
  CHECK_FALSE(IsRetryable(204, TransportError::kNone));
  CHECK_FALSE(IsRetryable(301, TransportError::kNone));
  CHECK_FALSE(IsRetryable(400, TransportError::kNone));
  CHECK_FALSE(IsRetryable(401, TransportError::kNone));
  CHECK_FALSE(IsRetryable(403, TransportError::kNone));
  CHECK_FALSE(IsRetryable(404, TransportError::kNone));
  CHECK_FALSE(IsRetryable(409, TransportError::kNone));
  CHECK_FALSE(IsRetryable(422, TransportError::kNone));
  CHECK_FALSE(IsRetryable(499, TransportError::kNone));
}

TEST_CASE("Transport errors: timeouts and connection failures retry, TLS and others do not") {
  for (int status : {0, 200, 400, 429, 503}) {  // the status is ignored
    CHECK(IsRetryable(status, TransportError::kTimeout));
    CHECK(IsRetryable(status, TransportError::kConnection));
    CHECK_FALSE(IsRetryable(status, TransportError::kTls));
    CHECK_FALSE(IsRetryable(status, TransportError::kOther));
  }
  CHECK_FALSE(IsRetryable(503, static_cast<TransportError>(99)));
}

TEST_CASE("The classifier is usable at compile time") {
  static_assert(IsRetryable(429, TransportError::kNone), "429 retries");
  static_assert(!IsRetryable(404, TransportError::kNone), "404 does not");
  SUCCEED();
}
