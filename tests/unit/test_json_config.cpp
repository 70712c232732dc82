#include <catch2/catch.hpp>

#include "core/json_config.hpp"

using lifeline::ConfigObject;
using lifeline::JsonConfig;

TEST_CASE("JsonConfig reads known keys and keeps defaults for absent ones") {
  JsonConfig config;
  REQUIRE(config.Parse(R"({"platform":"cxone","retry":{"multiplier":3.0},"n":7,"flag":true,
                           "map":{"a":"1"},"list":["x","y"]})").ok());
  ConfigObject root = config.Root();
  int platform = 0;
  root.Enum("platform", &platform, {"genesys", "cxone", "webhook"});
  int64_t n = 1, absent = 42;
  root.Int("n", &n, 0, 10);
  root.Int("absent", &absent, 0, 100);
  bool flag = false;
  root.Bool("flag", &flag);
  std::vector<std::pair<std::string, std::string>> map;
  root.StringMap("map", &map);
  std::vector<std::string> list;
  root.StringList("list", &list);
  double multiplier = 2.0, initial = 15000;
  ConfigObject* retry = root.Object("retry");
  REQUIRE(retry != nullptr);
  retry->Double("multiplier", &multiplier, 1.0, 10.0);
  retry->Double("initial_ms", &initial, 1, 1e9);
  REQUIRE(root.Finish().ok());
  CHECK(platform == 1);
  CHECK(n == 7);
  CHECK(absent == 42);
  CHECK(flag);
  CHECK(map.size() == 1);
  CHECK(list.size() == 2);
  CHECK(multiplier == 3.0);
  CHECK(initial == 15000);
}

TEST_CASE("JsonConfig names unknown keys, nested ones included") {
  JsonConfig config;
  REQUIRE(config.Parse(R"({"retry":{"multiplyer":3}})").ok());
  ConfigObject root = config.Root();
  double m = 2;
  if (ConfigObject* retry = root.Object("retry")) retry->Double("multiplier", &m, 1, 10);
  auto s = root.Finish();
  REQUIRE_FALSE(s.ok());
  CHECK(s.message() == "retry.multiplyer: unknown configuration key");
}

TEST_CASE("JsonConfig names wrong types and ranges") {
  JsonConfig config;
  REQUIRE(config.Parse(R"({"n":"7"})").ok());
  ConfigObject root = config.Root();
  int64_t n = 0;
  root.Int("n", &n, 0, 10);
  CHECK(root.Finish().message() == "n: expected an integer");

  JsonConfig config2;
  REQUIRE(config2.Parse(R"({"n":70})").ok());
  ConfigObject root2 = config2.Root();
  root2.Int("n", &n, 0, 10);
  CHECK(root2.Finish().message() == "n: expected an integer in [0, 10], got 70");

  JsonConfig config3;
  REQUIRE(config3.Parse(R"({"p":"sms"})").ok());
  ConfigObject root3 = config3.Root();
  int p = 0;
  root3.Enum("p", &p, {"genesys", "cxone"});
  CHECK(root3.Finish().message() == "p: expected one of \"genesys\", \"cxone\"");
}

TEST_CASE("JsonConfig refuses malformed JSON with the offset") {
  JsonConfig config;
  auto s = config.Parse(R"({"a":)");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("offset 5") != std::string::npos);
  CHECK_FALSE(config.Parse("[1]").ok());
  CHECK(config.Parse("").ok());
}
