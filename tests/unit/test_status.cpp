#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <thread>

#include "capi/capi_support.hpp"
#include "lifeline/lifeline.h"
#include "lifeline/status.hpp"

TEST_CASE("status codes keep their ABI values") {
  CHECK(LIFELINE_OK == 0);
  CHECK(LIFELINE_E_INVALID_ARGUMENT == 1);
  CHECK(LIFELINE_E_BUFFER_TOO_SMALL == 2);
  CHECK(LIFELINE_E_NOT_FOUND == 3);
  CHECK(LIFELINE_E_NONEXISTENT_TIME == 4);
  CHECK(LIFELINE_E_AMBIGUOUS_TIME == 5);
  CHECK(LIFELINE_E_FULL == 6);
  CHECK(LIFELINE_E_RATE_LIMITED == 7);
  CHECK(LIFELINE_E_UNAVAILABLE == 8);
  CHECK(LIFELINE_E_IO == 9);
  CHECK(LIFELINE_E_TIMEOUT == 10);
  CHECK(LIFELINE_E_STATE == 11);
  CHECK(LIFELINE_E_DUPLICATE == 12);
  CHECK(LIFELINE_E_INTERNAL == 13);
  for (int s = 0; s <= 13; ++s) {
    CHECK(std::strcmp(lifeline_status_str(static_cast<lifeline_status>(s)), "unknown status") != 0);
  }
}

TEST_CASE("last_error is per thread and names the function") {
  lifeline::capi::Fail("lifeline_example", LIFELINE_E_NOT_FOUND, "zone not known");
  CHECK(std::string(lifeline_last_error()) == "lifeline_example: zone not known");
  std::string other;
  std::thread([&] { other = lifeline_last_error(); }).join();
  CHECK(other.empty());
}

TEST_CASE("Guard turns exceptions into LIFELINE_E_INTERNAL") {
  auto status = lifeline::capi::Guard("f", []() -> lifeline_status { throw std::runtime_error("boom"); });
  CHECK(status == LIFELINE_E_INTERNAL);
  CHECK(std::string(lifeline_last_error()) == "f: boom");
}

TEST_CASE("UTF-8 validation refuses malformed input") {
  using lifeline::capi::IsValidUtf8;
  CHECK(IsValidUtf8("plain ascii"));
  CHECK(IsValidUtf8("S\xc3\xa3o Paulo"));
  CHECK_FALSE(IsValidUtf8("\xc3"));
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(IsValidUtf8("\xff"));
}

TEST_CASE("CopyOut reports the size needed") {
  char buf[4];
  size_t needed = 0;
  CHECK(lifeline::capi::CopyOut("f", "hello", buf, sizeof buf, &needed) == LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(needed == 6);
  CHECK(buf[0] == '\0');
  CHECK(lifeline::capi::CopyOut("f", "abc", buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(std::string(buf) == "abc");
}
