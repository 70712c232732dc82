// The outage drill: an hour of outage, replayed in seconds on a manual clock,
// then a business-continuity notification cascade (bcp_drill.cpp).
//
// Everything runs on loopback with embedded defaults: a fake Genesys Cloud
// (OAuth + callbacks) that throttles with 429, a fake state endpoint that the
// engine polls, and a few thousand scripted callers driven through the C ABI
// exactly as a PBX would drive it. The drill checks its own results and exits
// non-zero when a promise is broken (a callback lost or sent twice, the rate
// limit exceeded, a Retry-After undercut).
//
//   examples/drill/run            # the README's main command
//   examples/drill/run --quiet    # the summary only (used by the tests)
//   examples/drill/run --seed 7   # another crowd of callers
//   examples/drill/run --html report.html   # plus a timeline of the BCP activation
#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "bcp_drill.hpp"
#include "lifeline/lifeline.h"
#include "support/fake_platforms.hpp"

namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
// 2026-03-08 06:00 UTC: the night New York springs forward.
constexpr int64_t kStart = 1772949600000;

bool g_quiet = false;

// The drill's audit trail (docs/audit.md): a fresh directory, on tmpfs when
// there is one (a drill proves the chain and the PII protection, not the
// disk), with fixed drill keys from a callback where a host would ask its KMS.
lifeline_status DrillKey(const char* key_id, uint8_t* out_key32, void*) {
  if (std::strcmp(key_id, "k1") != 0 && std::strcmp(key_id, "p1") != 0 && std::strcmp(key_id, "c1") != 0) {
    return LIFELINE_E_NOT_FOUND;
  }
  for (int i = 0; i < 32; ++i) out_key32[i] = static_cast<uint8_t>(key_id[0] * 7 + i);
  return LIFELINE_OK;
}

std::string MakeAuditDir() {
  std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string pattern = base + "/lifeline-drill-audit-XXXXXX";
  std::vector<char> path(pattern.begin(), pattern.end());
  path.push_back('\0');
  if (mkdtemp(path.data()) == nullptr) return "";
  return path.data();
}

// Every phone number and email address the drill hands to the library.
std::set<std::string> g_pii_used;

// The audit trail's files, every one of them (log, checkpoints, archive,
// index), as raw bytes.
std::vector<std::pair<std::string, std::string>> AuditFiles(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    FILE* f = std::fopen(it->path().c_str(), "rb");
    if (f == nullptr) continue;
    std::string bytes;
    char buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.append(buf, n);
    std::fclose(f);
    files.emplace_back(it->path().string(), std::move(bytes));
  }
  return files;
}

// How many PII values appear in clear in the audit files: anything shaped
// like a phone number ('+' and ten or more digits: every number the drill
// used is) and any email address at a domain the drill used. One pass per
// file and domain, not one per value: the trail is megabytes, the values
// thousands. (examples/drill/test_drill_pii.py searches for each value.)
int PiiInClear(const std::string& dir) {
  std::set<std::string> domains;
  for (const std::string& value : g_pii_used) {
    std::size_t at = value.find('@');
    if (at != std::string::npos) domains.insert(value.substr(at));
  }
  int found = 0;
  for (const auto& [path, bytes] : AuditFiles(dir)) {
    for (const std::string& domain : domains) {
      for (std::size_t at = bytes.find(domain); at != std::string::npos; at = bytes.find(domain, at + 1)) ++found;
    }
    int digits = -1;
    for (char c : bytes) {
      if (c == '+') {
        digits = 0;
      } else if (c >= '0' && c <= '9' && digits >= 0) {
        if (++digits == 10) ++found;
      } else {
        digits = -1;
      }
    }
  }
  return found;
}

void Say(const char* format, ...) __attribute__((format(printf, 1, 2)));
void Say(const char* format, ...) {
  if (g_quiet) return;
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
}

void Progress(int64_t elapsed, int64_t total, const char* phase) {
  if (g_quiet) return;
  static int last = -1;
  int width = 40;
  int filled = static_cast<int>(width * elapsed / total);
  int minute = static_cast<int>(elapsed / kMinute);
  if (minute == last && elapsed != total) return;
  last = minute;
  bool tty = isatty(STDOUT_FILENO);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  if (tty) {
    std::printf("\r  [%s] %02d:%02d of %02d:00  %-34s", bar.c_str(), minute, 0,
                static_cast<int>(total / kMinute), phase);
    if (elapsed == total) std::printf("\n");
    std::fflush(stdout);
  } else if (minute % 10 == 0 || elapsed == total) {
    std::printf("  [%s] minute %d: %s\n", bar.c_str(), minute, phase);
  }
}

std::string Utc(int64_t ms) {
  char out[LIFELINE_RFC3339_BUFFER_SIZE];
  if (lifeline_rfc3339_format(ms, out, sizeof out) != LIFELINE_OK) return "?";
  return out;
}

// --- Part 1: the primitives on their own -------------------------------------
bool TimeAndDedup() {
  bool ok = true;
  Say("\n1. Callback times across daylight-saving changes, normalised to UTC\n");
  struct Case {
    const char* local;
    const char* zone;
    const char* why;
    const char* expected;
  } cases[] = {
      {"2026-03-08T02:30", "America/New_York", "does not exist (spring forward)", "2026-03-08T07:30:00.000Z"},
      {"2026-11-01T01:30", "America/New_York", "happens twice (fall back)", "2026-11-01T05:30:00.000Z"},
      {"2026-03-29T01:30", "Europe/London", "does not exist (BST starts)", "2026-03-29T01:30:00.000Z"},
      {"2026-10-04T02:15", "Australia/Lord_Howe", "does not exist (30-minute DST)", "2026-10-03T15:45:00.000Z"},
  };
  for (const Case& c : cases) {
    int64_t ms = 0;
    int kind = 0;
    lifeline_status s = lifeline_local_to_utc(c.local, c.zone, LIFELINE_GAP_SHIFT_FORWARD,
                                              LIFELINE_OVERLAP_EARLIEST, &ms, &kind);
    std::string utc = s == LIFELINE_OK ? Utc(ms) : lifeline_last_error();
    bool right = s == LIFELINE_OK && utc == c.expected;
    ok &= right;
    Say("   %s in %-19s %-32s -> %s (%s)%s\n", c.local, c.zone, c.why, utc.c_str(),
        kind == LIFELINE_LOCAL_SHIFTED ? "shifted forward" : kind == LIFELINE_LOCAL_AMBIGUOUS ? "earlier of two" : "unique",
        right ? "" : "  <-- WRONG");
  }
  int64_t rejected_ms = 0;
  int kind = 0;
  lifeline_status s = lifeline_local_to_utc("2026-03-08T02:30", "America/New_York", LIFELINE_GAP_REJECT,
                                            LIFELINE_OVERLAP_REJECT, &rejected_ms, &kind);
  ok &= s == LIFELINE_E_NONEXISTENT_TIME;
  Say("   with the reject policy instead: %s\n", lifeline_status_str(s));

  Say("\n2. A surge of duplicate callback requests, deduplicated before any API\n");
  lifeline_dedup_t* seen = nullptr;
  if (lifeline_dedup_new(60 * kSecond, 100000, &seen) != LIFELINE_OK) return false;
  std::mt19937_64 random(2026);
  int first = 0, duplicates = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string phone = "+1212555" + std::to_string(1000 + random() % 2000);
    g_pii_used.insert(phone);
    std::string key = phone + "|q-support";
    int duplicate = 0;
    lifeline_dedup_check(seen, key.data(), key.size(), kStart + i, &duplicate);
    (duplicate ? duplicates : first)++;
  }
  lifeline_dedup_free(seen);
  Say("   10000 requests from a pool of 2000 callers within one minute: %d first seen, %d duplicates rejected\n",
      first, duplicates);
  ok &= first <= 2000 && first + duplicates == 10000;
  return ok;
}

// --- Part 2: the outage --------------------------------------------------------
struct Caller {
  lifeline_call_t* call = nullptr;
  int64_t next_at = 0;
  int script = 0;  // 0 presses 1, 1 presses 9, 2 stays silent, 3 hangs up early
  lifeline_action last{};
};

struct Totals {
  int calls = 0, routed_normally = 0, rejected_busy = 0, failover_calls = 0;
  std::map<int, int> outcomes;
  std::set<std::string> recorded_ids;
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = 42;
  const char* html_path = nullptr;
  const char* keep_audit = nullptr;
  const char* pii_list = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quiet") == 0) {
      g_quiet = true;
    } else if (std::strcmp(argv[i], "--keep-audit") == 0 && i + 1 < argc) {
      keep_audit = argv[++i];
    } else if (std::strcmp(argv[i], "--pii-list") == 0 && i + 1 < argc) {
      pii_list = argv[++i];
    } else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--html") == 0 && i + 1 < argc) {
      html_path = argv[++i];
    } else {
      std::printf("usage: drill [--quiet] [--seed N] [--html PATH] [--keep-audit DIR] [--pii-list PATH]\n"
                  "  --keep-audit DIR  write the audit trail into DIR (created) and keep it\n"
                  "  --pii-list PATH   write every phone number and email the drill used, one per line\n");
      return std::strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  Say("Lifeline outage drill (lifeline %s), simulated on a manual clock\n", lifeline_version());
  bool ok = TimeAndDedup();

  // The platform and the state endpoint, on loopback.
  lifeline::testing::FakeGenesys genesys("Basic ZHJpbGw6c2VjcmV0", "Emergency_Callback_Queue");
  std::string routing_mode = "NORMAL";
  std::mutex mode_mu;
  genesys.server().Get("/state", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mode_mu);
    res.set_content("{\"routingMode\":\"" + routing_mode + "\"}", "application/json");
  });
  const int64_t rate_limit = 200;
  std::string config = R"({"platform":"genesys",
    "genesys":{"api_base_url":")" + genesys.base_url() + R"(","login_base_url":")" + genesys.base_url() +
                       R"(","client_id":"drill","client_secret":"secret","queue_id":"Emergency_Callback_Queue"},
    "rate_limit":{"requests":)" + std::to_string(rate_limit) + R"(,"period_ms":60000},
    "failover":{"poll":{"url":")" + genesys.base_url() + R"(/state","interval_ms":5000},
                "recovery_reads":3,"min_dwell_ms":120000,"media_channel_capacity":200},
    "retry":{"seed":)" + std::to_string(seed) + R"(}})";
  lifeline_clock_t* clock = nullptr;
  lifeline_engine_t* engine = nullptr;
  lifeline_clock_new_manual(kStart, &clock);
  if (lifeline_engine_open_with_clock(config.c_str(), clock, &engine) != LIFELINE_OK) {
    std::fprintf(stderr, "drill: %s\n", lifeline_last_error());
    return 1;
  }
  std::string audit_dir = keep_audit != nullptr ? keep_audit : MakeAuditDir();
  std::string audit_config = R"({"dir":")" + audit_dir +
                             R"(","keys":{"provider":"callback","data_key_id":"k1","pseudonym_key_id":"p1",)"
                             R"("checkpoint_key_id":"c1"},"pii_default":"encrypt"})";
  lifeline_audit_t* audit = nullptr;
  if (audit_dir.empty() || lifeline_audit_open(audit_config.c_str(), DrillKey, nullptr, &audit) != LIFELINE_OK ||
      lifeline_engine_set_audit(engine, audit) != LIFELINE_OK) {
    std::fprintf(stderr, "drill: audit trail: %s\n", lifeline_last_error());
    return 1;
  }
  std::vector<std::string> transitions;
  lifeline_engine_set_event_callback(
      engine,
      [](const char* json, void* user) { static_cast<std::vector<std::string>*>(user)->push_back(json); },
      &transitions);

  Say("\n3. The outage: one simulated hour\n");
  Say("   minute 1: monitoring flips the state endpoint to FAILOVER\n");
  Say("   minutes 2-12: a surge of callers (a spike of 60 calls/s at minute 3); most press 1\n");
  Say("   minute 4: Genesys starts answering 429 Too Many Requests (Retry-After: 20)\n");
  Say("   minute 40: the state endpoint says NORMAL again\n");

  std::mt19937_64 random(seed);
  std::vector<Caller> active;
  Totals totals;
  std::vector<int> per_second_deliveries;
  size_t delivered_before = 0;
  int64_t now = kStart;
  const int64_t total = 60 * kMinute;
  int call_number = 0;
  for (int64_t t = 0; t <= total; t += kSecond) {
    lifeline_clock_set(clock, kStart + t);  // everything in this step happens at t
    if (t == 1 * kMinute) {
      std::lock_guard<std::mutex> lock(mode_mu);
      routing_mode = "FAILOVER";
    }
    if (t == 4 * kMinute) {
      genesys.server().AddFault({lifeline::testing::FaultAction::kRespond, 429, 20, R"({"message":"rate limited"})",
                                 std::chrono::milliseconds(0), 3, std::chrono::milliseconds(0), "POST",
                                 "/api/v2/conversations/callbacks"});
    }
    if (t == 40 * kMinute) {
      std::lock_guard<std::mutex> lock(mode_mu);
      routing_mode = "NORMAL";
    }
    // New callers.
    int arrivals = 0;
    if (t >= 2 * kMinute && t < 12 * kMinute) arrivals = 2 + static_cast<int>(random() % 4);
    if (t >= 3 * kMinute && t < 3 * kMinute + 10 * kSecond) arrivals = 60;
    for (int i = 0; i < arrivals; ++i) {
      ++totals.calls;
      std::string ani = "+1212555" + std::to_string(1000 + random() % 1500);
      g_pii_used.insert(ani);
      std::string json = "{\"callId\":\"drill-" + std::to_string(++call_number) + "\",\"ani\":\"" + ani +
                         "\",\"originalQueueId\":\"q-support\",\"flowName\":\"Main_IVR\"}";
      int entry = 0;
      Caller c;
      lifeline_action action;
      if (lifeline_call_begin(engine, json.c_str(), &entry, &c.call, &action) != LIFELINE_OK) {
        std::fprintf(stderr, "drill: call_begin: %s\n", lifeline_last_error());
        ok = false;
        continue;
      }
      if (entry == LIFELINE_ENTRY_NORMAL) { ++totals.routed_normally; continue; }
      if (entry == LIFELINE_ENTRY_REJECT_BUSY) { ++totals.rejected_busy; continue; }
      ++totals.failover_calls;
      int r = static_cast<int>(random() % 100);
      c.script = r < 70 ? 0 : r < 80 ? 1 : r < 92 ? 2 : 3;
      c.last = action;
      c.next_at = t + 8 * kSecond;  // the emergency message
      active.push_back(c);
    }
    // Callers in the flow react to what the PBX was told to do.
    for (Caller& c : active) {
      if (c.call == nullptr || c.next_at > t) continue;
      lifeline_action action = c.last;
      lifeline_status s = LIFELINE_OK;
      if (c.last.kind == LIFELINE_ACTION_HANGUP) {
        // The PBX hung up as told; nothing more to report.
      } else if (c.script == 3) {
        s = lifeline_call_event(c.call, LIFELINE_EVENT_HANGUP, nullptr, &action);
      } else if (c.last.kind == LIFELINE_ACTION_COLLECT_DIGITS) {
        if (c.script == 0) s = lifeline_call_event(c.call, LIFELINE_EVENT_DIGITS, "1", &action);
        else if (c.script == 1) s = lifeline_call_event(c.call, LIFELINE_EVENT_DIGITS, "9", &action);
        else s = lifeline_call_event(c.call, LIFELINE_EVENT_TIMEOUT, nullptr, &action);
      } else {
        s = lifeline_call_event(c.call, LIFELINE_EVENT_PROMPT_FINISHED, nullptr, &action);
      }
      if (s != LIFELINE_OK) {
        std::fprintf(stderr, "drill: call_event: %s\n", lifeline_last_error());
        ok = false;
        action.kind = LIFELINE_ACTION_HANGUP;
      }
      c.last = action;
      c.next_at = t + (action.kind == LIFELINE_ACTION_PLAY ? 5 : 2) * kSecond;
      // A caller who hung up is gone, whatever the flow answers.
      if (c.script == 3) action.kind = LIFELINE_ACTION_HANGUP;
      if (action.kind == LIFELINE_ACTION_HANGUP) {
        int outcome = LIFELINE_OUTCOME_NONE;
        char id[LIFELINE_REQUEST_ID_BUFFER_SIZE];
        if (lifeline_call_request_id(c.call, id, sizeof id) == LIFELINE_OK) totals.recorded_ids.insert(id);
        lifeline_call_outcome(c.call, &outcome);
        totals.outcomes[outcome]++;
        lifeline_call_end(c.call);
        c.call = nullptr;
      }
    }
    active.erase(std::remove_if(active.begin(), active.end(), [](const Caller& c) { return c.call == nullptr; }),
                 active.end());

    now = kStart + t;
    if (lifeline_engine_settle(engine, 30000) != LIFELINE_OK) {
      std::fprintf(stderr, "drill: the engine did not settle: %s\n", lifeline_last_error());
      ok = false;
    }
    size_t delivered = genesys.delivered_total();
    per_second_deliveries.push_back(static_cast<int>(delivered - delivered_before));
    delivered_before = delivered;
    int mode = 0;
    lifeline_failover_mode(engine, &mode);
    Progress(t, total, t < kMinute ? "normal operation" : mode ? "FAILOVER: emergency flow" : "NORMAL again");
  }
  (void)now;

  // Results.
  int64_t max_in_window = 0, window = 0;
  for (size_t i = 0; i < per_second_deliveries.size(); ++i) {
    window += per_second_deliveries[i];
    if (i >= 60) window -= per_second_deliveries[i - 60];
    max_in_window = std::max(max_in_window, window);
  }
  std::vector<char> metrics(16384);
  size_t needed = 0;
  lifeline_metrics_json(engine, metrics.data(), metrics.size(), &needed);
  auto deliveries = genesys.deliveries();
  int twice = 0, missing = 0;
  for (const auto& id : totals.recorded_ids) {
    auto it = deliveries.find(id);
    if (it == deliveries.end()) ++missing;
    else if (it->second > 1) ++twice;
  }
  Say("\n4. What happened\n");
  Say("   calls: %d in all; %d routed normally, %d took the emergency flow, %d got a short busy (channels full)\n",
      totals.calls, totals.routed_normally, totals.failover_calls, totals.rejected_busy);
  const char* names[] = {"callback_recorded", "declined", "timeout", "hangup", "rejected_busy", "fallback"};
  Say("   emergency-flow outcomes:");
  for (int i = 0; i < 6; ++i) {
    if (totals.outcomes[i]) Say(" %s %d;", names[i], totals.outcomes[i]);
  }
  Say("\n   callbacks: %zu recorded for distinct callers, %zu delivered to Genesys, %d missing, %d delivered twice\n",
      totals.recorded_ids.size(), deliveries.size(), missing, twice);
  Say("   the platform answered 429 and was waited out; requests in the busiest minute: %" PRId64
      " (limit %" PRId64 ")\n", max_in_window, rate_limit);
  Say("   mode changes:\n");
  for (const auto& e : transitions) {
    if (e.find("\"event\":\"mode_changed\"") != std::string::npos) {
      Say("     %s\n", e.c_str());
    }
  }
  Say("   metrics: %s\n", metrics.data());
  ok &= missing == 0 && twice == 0 && max_in_window <= rate_limit && genesys.violations().empty();
  ok &= !totals.recorded_ids.empty() && totals.rejected_busy > 0;
  lifeline_engine_close(engine);
  lifeline_clock_free(clock);
  std::printf("\nDrill %s: %zu callbacks recorded and delivered exactly once, busiest minute %" PRId64
               "/%" PRId64 ", %d busy rejections.\n",
               ok ? "PASSED" : "FAILED", totals.recorded_ids.size(), max_in_window, rate_limit,
               totals.rejected_busy);
  // The second half: a business-continuity notification cascade.
  int bcp = RunBcpDrill(g_quiet, seed, html_path, audit, &g_pii_used);

  // Both halves wrote to one audit trail: it must verify end to end and hold
  // none of the phone numbers and emails used in clear.
  lifeline_audit_finding finding = LIFELINE_AUDIT_OK;
  uint64_t first_bad = 0, records = 0;
  char head[65];
  bool audit_ok = lifeline_audit_flush(audit) == LIFELINE_OK &&
                  lifeline_audit_verify(audit, &finding, &first_bad, nullptr, 0) == LIFELINE_OK &&
                  finding == LIFELINE_AUDIT_OK &&
                  lifeline_audit_head(audit, &records, head, sizeof head) == LIFELINE_OK;
  lifeline_audit_free(audit);
  int in_clear = PiiInClear(audit_dir);
  audit_ok &= in_clear == 0 && records > 0;
  std::printf("Audit trail %s: %" PRIu64 " records from the IVR and the cascade, hash chain and checkpoints %s, "
              "%zu phone numbers and emails used, %d found in clear.\n",
              audit_ok ? "PASSED" : "FAILED", records, finding == LIFELINE_AUDIT_OK ? "verified" : "BROKEN",
              g_pii_used.size(), in_clear);
  if (pii_list != nullptr) {
    FILE* f = std::fopen(pii_list, "w");
    if (f == nullptr) {
      std::fprintf(stderr, "drill: cannot write %s\n", pii_list);
      return 1;
    }
    for (const std::string& value : g_pii_used) std::fprintf(f, "%s\n", value.c_str());
    std::fclose(f);
  }
  if (keep_audit == nullptr) {
    std::error_code removed;
    std::filesystem::remove_all(audit_dir, removed);
  }
  return ok && bcp == 0 && audit_ok ? 0 : 1;
}
