// lifeline_helper_audit_writer <dir>: appends audit events from three
// threads as fast as it can, forever, and prints "ACK <id>" on stdout for
// each event only after Append (or AppendBatch) returned OK. The crash test
// kills it with SIGKILL and checks that every acknowledged id is in the log.
//
// Keys come from the environment (LIFELINE_AUDIT_KEY_K1, _P1, _C1).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lifeline/audit_log.hpp"

namespace {

std::mutex g_out;

void Ack(const std::string& ids) {
  std::lock_guard<std::mutex> lock(g_out);
  const char* p = ids.data();
  std::size_t left = ids.size();
  while (left > 0) {
    ssize_t n = ::write(1, p, left);
    if (n <= 0) _exit(3);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

lifeline::AuditEvent Event(int thread, long n) {
  lifeline::AuditEvent e;
  e.source = lifeline::AuditSource::kCascade;
  e.time = 1716215520000LL + n;
  e.incident_id = "INC-CRASH";
  e.subject = "stk-" + std::to_string(n % 100);
  e.channel = "sms";
  e.event = "DELIVERY_ATTEMPT";
  e.status = "DELIVERED";
  e.provider_id = "twilio";
  e.detail = "t" + std::to_string(thread) + "-" + std::to_string(n);
  e.pii = {{"phone", "+1555" + std::to_string(1000000 + n % 1000000)}};
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 2;
  }
  lifeline::AuditLogOptions o;
  o.dir = argv[1];
  o.keys = std::make_shared<lifeline::EnvKeyProvider>();
  o.data_key_id = "k1";
  o.pseudonym_key_id = "p1";
  o.checkpoint_key_id = "c1";
  o.checkpoint_every = 50;
  auto log = lifeline::AuditLog::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "ERR open: %s\n", log.status().message().c_str());
    return 2;
  }
  lifeline::AuditLog& audit = **log;
  long start = static_cast<long>(audit.head_seq()) * 1000;  // ids unique across restarts
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (long n = start;; ++n) {
        if (t == 2) {
          std::vector<lifeline::AuditEvent> batch;
          std::string ids;
          for (int i = 0; i < 20; ++i, ++n) {
            batch.push_back(Event(t, n));
            ids += "ACK " + batch.back().detail + "\n";
          }
          lifeline::Status s = audit.AppendBatch(batch);
          if (!s.ok()) {
            std::fprintf(stderr, "ERR batch: %s\n", s.message().c_str());
            _exit(2);
          }
          Ack(ids);
        } else {
          lifeline::AuditEvent e = Event(t, n);
          lifeline::Status s = audit.Append(e);
          if (!s.ok()) {
            std::fprintf(stderr, "ERR append: %s\n", s.message().c_str());
            _exit(2);
          }
          Ack("ACK " + e.detail + "\n");
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}
