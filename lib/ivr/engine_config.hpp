// engine_config.hpp -- the IVR engine's configuration, read from JSON.
//
// Every key and its default is documented in docs/config.md; the parser
// refuses unknown keys and wrong types naming the key's path.
#ifndef LIFELINE_LIB_IVR_ENGINE_CONFIG_HPP_
#define LIFELINE_LIB_IVR_ENGINE_CONFIG_HPP_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "lifeline/backoff.hpp"
#include "lifeline/emergency_call_flow.hpp"
#include "lifeline/failover_switch.hpp"
#include "lifeline/time_zone.hpp"
#include "providers/callback_platforms.hpp"

namespace lifeline {

struct EngineConfig {
  enum class Platform { kGenesys = 0, kCxone = 1, kWebhook = 2 };
  Platform platform = Platform::kWebhook;
  GenesysConfig genesys;
  CxoneConfig cxone;
  WebhookConfig webhook;

  DurationMillis request_timeout_ms = 5000;
  std::string default_country = "US";
  size_t max_in_flight = 64;
  bool tls_verify = true;
  std::string ca_file;
  std::array<uint8_t, 32> hash_key{};
  bool hash_key_given = false;

  std::string outbox_path = ":memory:";
  bool outbox_synchronous_full = false;
  DurationMillis delivered_retention_ms = 24LL * 3600 * 1000;

  bool rate_limit_enabled = true;
  int64_t rate_limit_requests = 500;
  DurationMillis rate_limit_period_ms = 60000;

  DurationMillis dedup_ttl_ms = 60000;
  size_t dedup_capacity = 1000000;

  RetryPolicy retry;
  uint64_t retry_seed = 0;

  FailoverSwitchConfig failover;
  RoutingMode initial_mode = RoutingMode::kNormal;
  std::string poll_url;
  DurationMillis poll_interval_ms = 5000;
  std::string poll_json_pointer = "/routingMode";

  FlowConfig flow;

  GapPolicy gap_policy = GapPolicy::kShiftForward;
  OverlapPolicy overlap_policy = OverlapPolicy::kEarliest;
  std::string business_hours_json;  // empty: always open

  bool manual_clock = false;
  UnixMillis clock_start_ms = 0;
};

// Parses and validates `json` ("" or "{}" gives the defaults).
Result<EngineConfig> ParseEngineConfig(std::string_view json);

}  // namespace lifeline

#endif  // LIFELINE_LIB_IVR_ENGINE_CONFIG_HPP_
