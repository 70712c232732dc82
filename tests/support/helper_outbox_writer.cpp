// lifeline_helper_outbox_writer -- a child process for the outbox crash test.
//
// Opens an outbox file, recovers it, then enqueues records "r-<n>" in a loop
// (from one thread or several, through the group committer) and, with
// --claim, claims due records and marks them delivered as a pipeline would.
// It reports on stdout, one line per event, written with a single write(2)
// only AFTER the store call returned OK:
//
//   recovered <count>     Recover() at start-up put <count> records back
//   ready                 the loop starts
//   committed r-<n>       Enqueue("r-<n>") returned OK
//   claimed r-<n>         ClaimDue returned it (it is IN_FLIGHT on disk)
//   delivered r-<n>       MarkDelivered returned OK
//   done                  --count reached and, with --drain, nothing left
//
// The test kills it with SIGKILL at random moments and checks the file
// against what it was told. Usage:
//
//   lifeline_helper_outbox_writer --path FILE [--first N] [--count C]
//       [--threads T] [--claim] [--hold-ms H] [--drain] [--sync full|normal]
//
//   --first N    first record number (default 0)
//   --count C    stop after C records (default: run until killed)
//   --threads T  enqueue from T threads (default 1)
//   --claim      claim up to 4 due records after each enqueue round and
//                deliver them one by one
//   --hold-ms H  wait H ms between a claim and its deliveries (the "POST")
//   --drain      after --count, keep claiming until nothing is left
//
// Exit status: 0 after "done", 2 for bad arguments or a failed store call
// (the reason on stderr).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/durable_store.hpp"
#include "store/sqlite_outbox_store.hpp"

namespace {

using lifeline::OutboxRecord;
using lifeline::Result;
using lifeline::SqliteOutboxStore;
using lifeline::Status;

// One line, one write(2): atomic on a pipe, unbuffered, so a line the test
// reads was fully reported before any kill.
void Report(const std::string& line) {
  std::string out = line + "\n";
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0) std::_Exit(3);
    p += n;
    left -= static_cast<size_t>(n);
  }
}

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "helper_outbox_writer: %s: %s\n", what.c_str(), s.message().c_str());
  std::exit(2);
}

struct Args {
  std::string path;
  long first = 0;
  long count = -1;
  int threads = 1;
  bool claim = false;
  int hold_ms = 0;
  bool drain = false;
  lifeline::SqliteSynchronous sync = lifeline::SqliteSynchronous::kFull;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "helper_outbox_writer: %s needs a value\n", flag.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--path") {
      a.path = value();
    } else if (flag == "--first") {
      a.first = std::stol(value());
    } else if (flag == "--count") {
      a.count = std::stol(value());
    } else if (flag == "--threads") {
      a.threads = std::stoi(value());
    } else if (flag == "--claim") {
      a.claim = true;
    } else if (flag == "--hold-ms") {
      a.hold_ms = std::stoi(value());
    } else if (flag == "--drain") {
      a.drain = true;
    } else if (flag == "--sync") {
      std::string v = value();
      a.sync = v == "normal" ? lifeline::SqliteSynchronous::kNormal
                             : lifeline::SqliteSynchronous::kFull;
    } else {
      std::fprintf(stderr, "helper_outbox_writer: unknown argument %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (a.path.empty() || a.threads < 1) {
    std::fprintf(stderr, "helper_outbox_writer: --path is required, --threads >= 1\n");
    std::exit(2);
  }
  return a;
}

// Claims up to four due records, "sends" them, and delivers them one by one.
// Returns how many it claimed.
size_t ClaimAndDeliver(SqliteOutboxStore& store, const lifeline::Clock& clock, int hold_ms) {
  Result<std::vector<OutboxRecord>> claimed = store.ClaimDue(clock.Now(), 4);
  if (!claimed.ok()) Die("claim", claimed.status());
  for (const auto& r : *claimed) Report("claimed " + r.request_id);
  if (hold_ms > 0 && !claimed->empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
  }
  for (const auto& r : *claimed) {
    Status s = store.MarkDelivered(r.request_id, clock.Now(), "ref-" + r.request_id);
    if (!s.ok()) Die("deliver", s);
    Report("delivered " + r.request_id);
  }
  return claimed->size();
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  lifeline::SystemClock clock;

  lifeline::SqliteOutboxOptions options;
  options.database.path = args.path;
  options.database.synchronous = args.sync;
  Result<std::unique_ptr<SqliteOutboxStore>> opened = SqliteOutboxStore::Open(options);
  if (!opened.ok()) Die("open", opened.status());
  SqliteOutboxStore& store = **opened;
  Result<size_t> recovered = store.Recover(clock.Now());
  if (!recovered.ok()) Die("recover", recovered.status());
  Report("recovered " + std::to_string(*recovered));
  Report("ready");

  std::atomic<long> next{args.first};
  const long end = args.count < 0 ? -1 : args.first + args.count;
  auto enqueue_one = [&]() -> bool {
    long n = next.fetch_add(1);
    if (end >= 0 && n >= end) return false;
    OutboxRecord r;
    r.request_id = "r-" + std::to_string(n);
    r.payload_json = "{\"callerPhone\":\"+15550000000\",\"n\":" + std::to_string(n) + "}";
    r.created_at = clock.Now();
    r.next_attempt_at = r.created_at;
    Status s = store.Enqueue(r);
    if (!s.ok()) Die("enqueue", s);
    Report("committed " + r.request_id);
    return true;
  };

  if (args.threads == 1) {
    while (enqueue_one()) {
      if (args.claim) ClaimAndDeliver(store, clock, args.hold_ms);
    }
  } else {
    std::vector<std::thread> writers;
    for (int t = 0; t < args.threads; ++t) {
      writers.emplace_back([&] {
        while (enqueue_one()) {
        }
      });
    }
    if (args.claim) {
      // Deliver while the writers run; they stop only at --count.
      for (;;) {
        size_t n = ClaimAndDeliver(store, clock, args.hold_ms);
        if (n == 0 && end >= 0 && next.load() >= end) break;
        if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    for (auto& w : writers) w.join();
  }
  if (args.drain) {
    while (ClaimAndDeliver(store, clock, 0) > 0) {
    }
  }
  Report("done");
  return 0;
}
