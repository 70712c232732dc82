// A child process for the IVR crash test: submits callbacks to an engine with
// a durable outbox and prints each request id only after the submit returned
// OK (that is, after it was committed). The test kills it with SIGKILL.
//
//   lifeline_helper_ivr_submitter <outbox.sqlite> <webhook url> <first index> submit
//   lifeline_helper_ivr_submitter <outbox.sqlite> <webhook url> 0 drain
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lifeline/lifeline.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s outbox url first-index submit|drain\n", argv[0]);
    return 2;
  }
  std::string config = std::string(R"({"platform":"webhook","webhook":{"url":")") + argv[2] +
                       R"("},"outbox":{"path":")" + argv[1] +
                       R"("},"rate_limit":{"enabled":false},"retry":{"initial_ms":50,"max_ms":200}})";
  lifeline_engine_t* engine = nullptr;
  if (lifeline_engine_open(config.c_str(), &engine) != LIFELINE_OK) {
    std::fprintf(stderr, "open: %s\n", lifeline_last_error());
    return 1;
  }
  if (std::strcmp(argv[4], "drain") == 0) {
    lifeline_status s = lifeline_engine_drain(engine, 60000);
    std::printf("drained %d\n", s);
    std::fflush(stdout);
    lifeline_engine_close(engine);
    return s == LIFELINE_OK ? 0 : 1;
  }
  long first = std::atol(argv[3]);
  for (long i = first;; ++i) {
    std::string request = R"({"callerPhone":"+1415)" + std::to_string(2000000 + i) +
                          R"(","originalQueueId":"q-crash"})";
    char id[LIFELINE_REQUEST_ID_BUFFER_SIZE];
    if (lifeline_callback_submit(engine, request.c_str(), id, sizeof id) == LIFELINE_OK) {
      std::printf("%s\n", id);
      std::fflush(stdout);
    }
  }
}
