#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <new>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/dedup_digest.hpp"
#include "lifeline/dedup_cache.hpp"
#include "support/allocation_counter.hpp"

using lifeline::DedupCache;
using lifeline::DedupResult;
using lifeline::StatusCode;
using lifeline::UnixMillis;
using lifeline::testing::ThreadAllocations;


namespace {

std::unique_ptr<DedupCache> Make(lifeline::DurationMillis ttl, std::size_t capacity,
                                 std::size_t shards = 16) {
  DedupCache::Options options;
  options.ttl_ms = ttl;
  options.capacity = capacity;
  options.shards = shards;
  auto cache = DedupCache::Create(options);
  REQUIRE(cache.ok());
  return std::move(cache).value();
}

std::string Key(int i) { return "+1555" + std::to_string(1000000 + i) + "|q-emergency"; }

constexpr UnixMillis kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr lifeline::DurationMillis kTtl = 60'000;

}  // namespace

// --- The keyed hash ----------------------------------------------------------

// Golden outputs of HighwayHash-128 from google/highwayhash's
// highwayhash_test.cc (kExpected128; "HighwayHash is frozen, so the golden
// values must not change"): key words 0x0706050403020100, 0x0F0E0D0C0B0A0908,
// 0x1716151413121110, 0x1F1E1D1C1B1A1918, input bytes 0, 1, ..., size - 1.
struct GoldenVector {
  std::size_t size;
  std::uint64_t lo, hi;
};
constexpr GoldenVector kGolden128[] = {
    {0, 0x0FED268F9D8FFEC7ull, 0x33565E767F093E6Full},
    {1, 0xD6B0A8893681E7A8ull, 0xDC291DF9EB9CDCB4ull},
    {2, 0x3D15AD265A16DA04ull, 0x78085638DC32E868ull},
    {3, 0x0607621B295F0BEBull, 0xBFE69A0FD9CEDD79ull},
    {4, 0x26399EB46DACE49Eull, 0x2E922AD039319208ull},
    {7, 0x2A401FCA697171B4ull, 0xBE1F03FF9F02796Cull},
    {8, 0xA1E96D84280552E8ull, 0x695CF1C63BEC0AC2ull},
    {12, 0xCD1F1F5F1CAF9566ull, 0xA818BA8CE0F9C8D4ull},
    {15, 0x142237A52BC4AF54ull, 0xE0796C0B6E26BCD7ull},
    {16, 0x414460FFD5A401ADull, 0x029EA3D5019F18C8ull},
    {17, 0xC52A4B96C51C9962ull, 0xECB878B1169B5EA0ull},
    {31, 0x06E7B465E8A57C29ull, 0x52415E3A07F5D446ull},
    {32, 0x1984DF66C1434AAAull, 0x16FC1958F9B3E4B9ull},
    {33, 0x111678AFE0C6C36Cull, 0xF958B59DE5A2849Dull},
    {40, 0x2A958FF994778F36ull, 0xE8052D1AE61D6423ull},
    {63, 0x74BD7018022F3EF0ull, 0x3AEA94A8AD5F4BCBull},
    {64, 0x98BB1F7198D4C4F2ull, 0xE0BC0571DE918FC8ull},
};

TEST_CASE("Every HighwayHash implementation this CPU runs matches the upstream golden vectors") {
  const std::uint64_t key[4] = {0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull,
                                0x1716151413121110ull, 0x1F1E1D1C1B1A1918ull};
  char input[64];
  for (int i = 0; i < 64; ++i) input[i] = static_cast<char>(i);

  std::vector<std::pair<const char*, lifeline::internal::HighwayHash128Fn>> impls = {
      {"portable", &lifeline::internal::HighwayHash128Portable}};
  const unsigned targets = lifeline::internal::SupportedHighwayHashTargets();
#if defined(__x86_64__)
  if (targets & 2) impls.push_back({"sse4.1", &lifeline::internal::HighwayHash128Sse41});
  if (targets & 4) impls.push_back({"avx2", &lifeline::internal::HighwayHash128Avx2});
#endif
  impls.push_back({"best", lifeline::internal::BestHighwayHash128()});
  CHECK((targets & 1) == 1);

  for (const auto& [name, fn] : impls) {
    for (const GoldenVector& v : kGolden128) {
      INFO("implementation " << name << ", size " << v.size);
      std::uint64_t out[2] = {0, 0};
      fn(key, input, v.size, out);
      CHECK(out[0] == v.lo);
      CHECK(out[1] == v.hi);
    }
  }
}

TEST_CASE("DedupCache::Hash reads the 32-byte hash key as four little-endian words") {
  DedupCache::HashKey key;
  for (int i = 0; i < 32; ++i) key[i] = static_cast<std::uint8_t>(i);  // 00 01 ... 1f
  char input[64];
  for (int i = 0; i < 64; ++i) input[i] = static_cast<char>(i);
  for (const GoldenVector& v : kGolden128) {
    INFO("size " << v.size);
    const DedupCache::Digest d = DedupCache::Hash(std::string_view(input, v.size), key);
    CHECK(d.lo == v.lo);
    CHECK(d.hi == v.hi);
  }
}

TEST_CASE("Digests under the default hash key are frozen") {
  // Computed once with this implementation (verified above against the
  // upstream vectors). Any change here breaks agreement between nodes
  // running different Lifeline versions.
  CHECK(std::string(DedupCache::kDefaultHashKey.begin(), DedupCache::kDefaultHashKey.end()) ==
        "Lifeline dedup default key v1.0!");
  CHECK(DedupCache::Hash("+15551234567|2026-03-08T07:30:00Z|queue-42").Hex() ==
        "1bc4dc2a9ad38dbf19387b94a79338f2");
  CHECK(DedupCache::Hash("").Hex() == "8a32c4d8c9753a98a5f8bc1f826fb717");
  auto cache = Make(kTtl, 10);
  CHECK(cache->DigestOf("+15551234567|2026-03-08T07:30:00Z|queue-42").Hex() == "1bc4dc2a9ad38dbf19387b94a79338f2");
}

TEST_CASE("Digest bytes are lo then hi, each little-endian, and round-trip") {
  const DedupCache::Digest d{0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull};
  const auto bytes = d.Bytes();
  for (int i = 0; i < 16; ++i) CHECK(bytes[i] == i);
  CHECK(d.Hex() == "000102030405060708090a0b0c0d0e0f");
  CHECK(DedupCache::Digest::FromBytes(bytes.data()) == d);
  CHECK(DedupCache::Digest::FromBytes(bytes.data()) != DedupCache::Digest{1, 2});
}

TEST_CASE("Different hash keys give different digests, a cache uses its own key") {
  DedupCache::Options options;
  options.key.fill(0x5a);
  auto cache = DedupCache::Create(options);
  REQUIRE(cache.ok());
  const std::string key = Key(7);
  CHECK((*cache)->DigestOf(key) == DedupCache::Hash(key, options.key));
  CHECK((*cache)->DigestOf(key) != DedupCache::Hash(key));
  CHECK(DedupCache::Hash(Key(7)) != DedupCache::Hash(Key(8)));
}

// --- Options -------------------------------------------------------------------

TEST_CASE("Create refuses bad options and names them") {
  auto message_for = [](DedupCache::Options options) {
    auto cache = DedupCache::Create(options);
    REQUIRE_FALSE(cache.ok());
    CHECK(cache.status().code() == StatusCode::kInvalidArgument);
    return cache.status().message();
  };
  DedupCache::Options o;
  o.ttl_ms = 0;
  CHECK(message_for(o) == "ttl_ms must be > 0, got 0");
  o.ttl_ms = -5;
  CHECK(message_for(o) == "ttl_ms must be > 0, got -5");
  o = {};
  o.capacity = 0;
  CHECK(message_for(o) == "capacity must be > 0");
  o.capacity = DedupCache::kMaxCapacity + 1;
  CHECK(message_for(o) == "capacity must be <= 268435456, got 268435457");
  o = {};
  o.shards = 0;
  CHECK(message_for(o) == "shards must be a power of two in [1, 256], got 0");
  o.shards = 12;
  CHECK(message_for(o) == "shards must be a power of two in [1, 256], got 12");
  o.shards = 512;
  CHECK(message_for(o) == "shards must be a power of two in [1, 256], got 512");

  DedupCache::Options defaults;
  CHECK(defaults.ttl_ms == 60000);
  CHECK(defaults.capacity == 100000);
  CHECK(defaults.shards == 16);
  CHECK(defaults.key == DedupCache::kDefaultHashKey);
  auto cache = DedupCache::Create(defaults);
  REQUIRE(cache.ok());
  CHECK((*cache)->capacity() == 100000);
  CHECK((*cache)->ttl_ms() == 60000);
  CHECK((*cache)->shard_count() == 16);
  CHECK((*cache)->size() == 0);
}

TEST_CASE("Memory is reserved up front and bounded by capacity") {
  for (std::size_t capacity : {100000, 1000000}) {
    INFO("capacity " << capacity);
    auto cache = Make(kTtl, capacity);
    CHECK(cache->memory_bytes() >= 56 * capacity);
    CHECK(cache->memory_bytes() <= 66 * capacity);
  }
  CHECK(Make(kTtl, 10)->memory_bytes() <= 16 * 64 * 10);  // tiny: room is capped at capacity
}

// --- TTL -------------------------------------------------------------------------

TEST_CASE("TTL edges: duplicate until t0 + TTL - 1, first seen again at exactly t0 + TTL") {
  auto cache = Make(kTtl, 100);
  const std::string k = Key(1);
  CHECK(cache->Check(k, kT0) == DedupResult::kFirstSeen);
  CHECK(cache->Check(k, kT0) == DedupResult::kDuplicate);
  CHECK(cache->Check(k, kT0 + 1) == DedupResult::kDuplicate);
  CHECK(cache->Check(k, kT0 + kTtl - 1) == DedupResult::kDuplicate);
  CHECK(cache->Check(k, kT0 + kTtl) == DedupResult::kFirstSeen);  // expired, re-inserted
  // The new entry runs from t0 + TTL.
  CHECK(cache->Check(k, kT0 + kTtl + 1) == DedupResult::kDuplicate);
  CHECK(cache->Check(k, kT0 + 2 * kTtl - 1) == DedupResult::kDuplicate);
  CHECK(cache->Check(k, kT0 + 2 * kTtl) == DedupResult::kFirstSeen);
  CHECK(cache->size() == 1);
}

TEST_CASE("TTL edges: 1 ms after expiry is first seen") {
  auto cache = Make(kTtl, 100);
  CHECK(cache->Check("incident-7f3a", kT0) == DedupResult::kFirstSeen);
  CHECK(cache->Check("incident-7f3a", kT0 + kTtl + 1) == DedupResult::kFirstSeen);
  CHECK(cache->Check("incident-7f3a", kT0 + kTtl + 2) == DedupResult::kDuplicate);
}

TEST_CASE("A duplicate sighting does not extend the window") {
  auto cache = Make(kTtl, 100);
  const std::string k = Key(2);
  CHECK(cache->Check(k, kT0) == DedupResult::kFirstSeen);
  for (UnixMillis t = kT0 + 1000; t < kT0 + kTtl; t += 1000) {
    CHECK(cache->Check(k, t) == DedupResult::kDuplicate);
  }
  CHECK(cache->Check(k, kT0 + kTtl - 1) == DedupResult::kDuplicate);
  CHECK(cache->Check(k, kT0 + kTtl) == DedupResult::kFirstSeen);
}

TEST_CASE("A TTL of 1 ms: a duplicate only within the same millisecond") {
  auto cache = Make(1, 10);
  CHECK(cache->Check("a", 5) == DedupResult::kFirstSeen);
  CHECK(cache->Check("a", 5) == DedupResult::kDuplicate);
  CHECK(cache->Check("a", 6) == DedupResult::kFirstSeen);
}

TEST_CASE("Times near the ends of int64 neither overflow nor expire early") {
  const UnixMillis max = std::numeric_limits<UnixMillis>::max();
  const UnixMillis min = std::numeric_limits<UnixMillis>::min();
  auto cache = Make(100, 10);
  CHECK(cache->Check("late", max - 10) == DedupResult::kFirstSeen);
  CHECK(cache->Check("late", max - 1) == DedupResult::kDuplicate);
  CHECK(cache->Check("late", max) == DedupResult::kFirstSeen);  // saturated expiry

  auto early = Make(100, 10, 1);
  CHECK(early->Check("early", min) == DedupResult::kFirstSeen);
  CHECK(early->Check("early", min + 99) == DedupResult::kDuplicate);
  CHECK(early->Check("early", min + 100) == DedupResult::kFirstSeen);
  CHECK(early->Check("before-1970", -86'400'000) == DedupResult::kFirstSeen);
  CHECK(early->Check("before-1970", -86'400'000 + 99) == DedupResult::kDuplicate);
}

TEST_CASE("Any bytes make a key: the empty key and embedded NULs") {
  auto cache = Make(kTtl, 10);
  CHECK(cache->Check("", kT0) == DedupResult::kFirstSeen);
  CHECK(cache->Check("", kT0) == DedupResult::kDuplicate);
  CHECK(cache->Check(std::string_view("a\0b", 3), kT0) == DedupResult::kFirstSeen);
  CHECK(cache->Check(std::string_view("a\0c", 3), kT0) == DedupResult::kFirstSeen);
  CHECK(cache->Check("a", kT0) == DedupResult::kFirstSeen);
  CHECK(cache->Check(std::string_view("a\0b", 3), kT0) == DedupResult::kDuplicate);
}

TEST_CASE("CheckDigest and Check agree on the same entries") {
  auto cache = Make(kTtl, 10);
  const DedupCache::Digest d = cache->DigestOf(Key(3));
  CHECK(cache->CheckDigest(d, kT0) == DedupResult::kFirstSeen);
  CHECK(cache->Check(Key(3), kT0 + 1) == DedupResult::kDuplicate);
  CHECK(cache->Check(Key(4), kT0 + 2) == DedupResult::kFirstSeen);
  CHECK(cache->CheckDigest(cache->DigestOf(Key(4)), kT0 + 3) == DedupResult::kDuplicate);
  // The all-zero digest is a valid digest, not an empty slot.
  CHECK(cache->CheckDigest(DedupCache::Digest{0, 0}, kT0) == DedupResult::kFirstSeen);
  CHECK(cache->CheckDigest(DedupCache::Digest{0, 0}, kT0) == DedupResult::kDuplicate);
  CHECK(cache->size() == 3);
}

// --- Capacity --------------------------------------------------------------------

TEST_CASE("A full cache answers kFull and evicts no live entry") {
  auto cache = Make(kTtl, 3);
  CHECK(cache->Check("a", kT0) == DedupResult::kFirstSeen);
  CHECK(cache->Check("b", kT0 + 10) == DedupResult::kFirstSeen);
  CHECK(cache->Check("c", kT0 + 20) == DedupResult::kFirstSeen);
  CHECK(cache->Check("d", kT0 + 30) == DedupResult::kFull);
  CHECK(cache->Check("d", kT0 + 31) == DedupResult::kFull);  // not remembered
  CHECK(cache->size() == 3);
  // Every live entry is still there.
  CHECK(cache->Check("a", kT0 + 40) == DedupResult::kDuplicate);
  CHECK(cache->Check("b", kT0 + 40) == DedupResult::kDuplicate);
  CHECK(cache->Check("c", kT0 + 40) == DedupResult::kDuplicate);
  // Full right up to a's expiry...
  CHECK(cache->Check("d", kT0 + kTtl - 1) == DedupResult::kFull);
  // ...which frees exactly one place.
  CHECK(cache->Check("d", kT0 + kTtl) == DedupResult::kFirstSeen);
  CHECK(cache->Check("e", kT0 + kTtl) == DedupResult::kFull);
  CHECK(cache->Check("b", kT0 + kTtl) == DedupResult::kDuplicate);
  CHECK(cache->Check("e", kT0 + kTtl + 10) == DedupResult::kFirstSeen);  // b expired
  CHECK(cache->Check("a", kT0 + kTtl + 10) == DedupResult::kFull);
  CHECK(cache->size() == 3);
}

TEST_CASE("Capacity is exact across shards, and expiry anywhere frees room") {
  for (std::size_t shards : {1, 4, 16, 64}) {
    for (std::size_t capacity : {1, 7, 100, 1000, 5000}) {
      INFO("shards " << shards << ", capacity " << capacity);
      auto cache = Make(kTtl, capacity, shards);
      std::size_t first_seen = 0;
      for (std::size_t i = 0; i < capacity; ++i) {
        first_seen += cache->Check(Key(static_cast<int>(i)), kT0) == DedupResult::kFirstSeen;
      }
      CHECK(first_seen == capacity);
      CHECK(cache->size() == capacity);
      // Every further new key is refused, whatever shard it falls in.
      std::size_t full = 0;
      for (std::size_t i = capacity; i < capacity + 50; ++i) {
        full += cache->Check(Key(static_cast<int>(i)), kT0 + 1) == DedupResult::kFull;
      }
      CHECK(full == 50);
      std::size_t duplicates = 0;
      for (std::size_t i = 0; i < capacity; ++i) {
        duplicates += cache->Check(Key(static_cast<int>(i)), kT0 + 2) == DedupResult::kDuplicate;
      }
      CHECK(duplicates == capacity);
      // At expiry the whole capacity is available again, to any shard.
      first_seen = 0;
      for (std::size_t i = 0; i < capacity; ++i) {
        first_seen += cache->Check(Key(static_cast<int>(1'000'000 + i)), kT0 + kTtl) ==
                      DedupResult::kFirstSeen;
      }
      CHECK(first_seen == capacity);
      CHECK(cache->Check("one more", kT0 + kTtl) == DedupResult::kFull);
    }
  }
}

TEST_CASE("Expire drops what has expired in every shard, size counts held entries") {
  auto cache = Make(kTtl, 1000);
  for (int i = 0; i < 500; ++i) cache->Check(Key(i), kT0 + i);
  CHECK(cache->size() == 500);
  CHECK(cache->Expire(kT0 + kTtl - 1) == 500);
  CHECK(cache->Expire(kT0 + kTtl + 99) == 400);  // keys 0..99 expired
  CHECK(cache->size() == 400);
  CHECK(cache->Check(Key(99), kT0 + kTtl + 99) == DedupResult::kFirstSeen);
  CHECK(cache->Check(Key(100), kT0 + kTtl + 99) == DedupResult::kDuplicate);
  CHECK(cache->Expire(kT0 + 10 * kTtl) == 0);
  CHECK(cache->size() == 0);
}

// --- Time going backwards -----------------------------------------------------------

TEST_CASE("A now earlier than one already seen counts as the latest now") {
  auto cache = Make(100, 10, 1);  // one shard: one "latest now"
  CHECK(cache->Check("k", 1000) == DedupResult::kFirstSeen);
  CHECK(cache->Check("k", 500) == DedupResult::kDuplicate);  // read as 1000
  // A key first seen "in the past" is stored as seen at the latest now...
  CHECK(cache->Check("j", 900) == DedupResult::kFirstSeen);
  CHECK(cache->Check("j", 1099) == DedupResult::kDuplicate);
  CHECK(cache->Check("k", 1099) == DedupResult::kDuplicate);
  // ...so both expire at 1000 + TTL, in insertion order.
  CHECK(cache->Check("k", 1100) == DedupResult::kFirstSeen);
  CHECK(cache->Check("j", 1100) == DedupResult::kFirstSeen);
  // After time ran past an entry's expiry, going back does not revive it.
  CHECK(cache->Check("k", 5000) == DedupResult::kFirstSeen);
  CHECK(cache->Check("j", 1150) == DedupResult::kFirstSeen);  // expired at 5000
  CHECK(cache->size() == 2);

  // An entry first seen at a now earlier than the latest lasts TTL from the
  // latest now, not from the now it was given.
  auto drained = Make(100, 10, 1);
  CHECK(drained->Check("a", 1000) == DedupResult::kFirstSeen);
  CHECK(drained->Expire(1100) == 0);
  CHECK(drained->Check("b", 1050) == DedupResult::kFirstSeen);  // read as 1100
  CHECK(drained->Check("b", 1160) == DedupResult::kDuplicate);
  CHECK(drained->Check("b", 1199) == DedupResult::kDuplicate);
  CHECK(drained->Check("b", 1200) == DedupResult::kFirstSeen);

  auto sharded = Make(100, 10);
  CHECK(sharded->Check("k", 1000) == DedupResult::kFirstSeen);
  CHECK(sharded->Check("k", 0) == DedupResult::kDuplicate);
  CHECK(sharded->Check("k", 1099) == DedupResult::kDuplicate);
  CHECK(sharded->Check("k", 1100) == DedupResult::kFirstSeen);
}

// --- A model: the cache against a plain map with the same rules --------------------

namespace {

// The documented semantics, in the plainest form. With one shard, the time
// clamp is the cache's exactly.
class Model {
 public:
  Model(lifeline::DurationMillis ttl, std::size_t capacity) : ttl_(ttl), capacity_(capacity) {}

  DedupResult Check(const std::string& key, UnixMillis now) {
    now = Drop(now);
    if (expiry_.count(key)) return DedupResult::kDuplicate;
    if (expiry_.size() >= capacity_) return DedupResult::kFull;
    expiry_[key] = now + ttl_;
    return DedupResult::kFirstSeen;
  }
  std::size_t Expire(UnixMillis now) {
    Drop(now);
    return expiry_.size();
  }
  std::size_t size() const { return expiry_.size(); }

 private:
  lifeline::DurationMillis ttl_;
  std::size_t capacity_;
  UnixMillis latest_ = std::numeric_limits<UnixMillis>::min();
  std::map<std::string, UnixMillis> expiry_;

  // Moves to max(now, latest) and forgets what has expired then.
  UnixMillis Drop(UnixMillis now) {
    now = std::max(now, latest_);
    latest_ = now;
    for (auto it = expiry_.begin(); it != expiry_.end();) {
      it = it->second <= now ? expiry_.erase(it) : std::next(it);
    }
    return now;
  }
};

void RunAgainstModel(std::size_t shards, bool backwards, std::uint32_t seed) {
  const lifeline::DurationMillis ttl = 200;
  const std::size_t capacity = 150;
  auto cache = Make(ttl, capacity, shards);
  Model model(ttl, capacity);
  std::mt19937 rng(seed);
  UnixMillis now = kT0;
  for (int step = 0; step < 20000; ++step) {
    const int r = static_cast<int>(rng() % 100);
    if (r < 30) now += rng() % 5;
    if (backwards && r == 99) now -= rng() % 300;
    if (r == 98) {
      REQUIRE(cache->Expire(now) == model.Expire(now));
      continue;
    }
    const std::string key = Key(static_cast<int>(rng() % 400));
    const DedupResult expected = model.Check(key, now);
    const DedupResult actual = cache->Check(key, now);
    if (actual != expected) {
      FAIL_CHECK("step " << step << " key " << key << " now " << now << ": expected "
                         << static_cast<int>(expected) << ", got " << static_cast<int>(actual));
      return;
    }
  }
  CHECK(cache->Expire(now) == model.size());
}

}  // namespace

TEST_CASE("Many keys over many shards behave exactly like the model") {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    RunAgainstModel(16, /*backwards=*/false, seed);
    RunAgainstModel(64, /*backwards=*/false, seed);
  }
}

TEST_CASE("With time going backwards, one shard behaves exactly like the model") {
  for (std::uint32_t seed : {4u, 5u, 6u}) {
    INFO("seed " << seed);
    RunAgainstModel(1, /*backwards=*/true, seed);
  }
}

TEST_CASE("A rolling window of 100k keys: inserts, lookups and expiry over every shard") {
  // Stresses backward-shift deletion: a steady state of about 2000 live keys
  // through 100k insertions, each key checked again while live.
  const lifeline::DurationMillis ttl = 2000;
  auto cache = Make(ttl, 2500, 16);
  std::mt19937 rng(42);
  for (int i = 0; i < 100000; ++i) {
    const UnixMillis now = kT0 + i;
    REQUIRE(cache->Check(Key(i), now) == DedupResult::kFirstSeen);
    const int back = static_cast<int>(rng() % std::min(i + 1, static_cast<int>(ttl)));
    REQUIRE(cache->Check(Key(i - back), now) == DedupResult::kDuplicate);
  }
  CHECK(cache->Expire(kT0 + 99999) == 2000);
  CHECK(cache->Check(Key(100000 - 2001), kT0 + 99999) == DedupResult::kFirstSeen);
}

// --- Threads -----------------------------------------------------------------------

namespace {

// Releases every thread at once (C++17 has no std::barrier).
class StartLine {
 public:
  explicit StartLine(int threads) : waiting_(threads) {}
  void ArriveAndWait() {
    waiting_.fetch_sub(1);
    while (waiting_.load() > 0) std::this_thread::yield();
  }

 private:
  std::atomic<int> waiting_;
};

}  // namespace

TEST_CASE("Threads racing on the same keys see exactly one first-seen per key") {
  constexpr int kThreads = 8;
  constexpr int kKeys = 2000;
  auto cache = Make(kTtl, 10000);
  std::vector<std::atomic<int>> first_seen(kKeys);
  std::atomic<int> full{0};
  StartLine start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> order(kKeys);
      for (int i = 0; i < kKeys; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), std::mt19937(t));
      start.ArriveAndWait();
      for (int i : order) {
        switch (cache->Check(Key(i), kT0 + t)) {
          case DedupResult::kFirstSeen:
            first_seen[i].fetch_add(1);
            break;
          case DedupResult::kDuplicate:
            break;
          case DedupResult::kFull:
            full.fetch_add(1);
            break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(full.load() == 0);
  int wrong = 0;
  for (int i = 0; i < kKeys; ++i) wrong += first_seen[i].load() != 1;
  CHECK(wrong == 0);
  CHECK(cache->size() == static_cast<std::size_t>(kKeys));
}

TEST_CASE("Threads racing for the last places never exceed capacity or lose any") {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 700;
  constexpr std::size_t kCapacity = 3000;  // 5600 distinct keys compete
  auto cache = Make(kTtl, kCapacity, 16);
  std::atomic<std::size_t> first_seen{0};
  StartLine start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.ArriveAndWait();
      for (int i = 0; i < kPerThread; ++i) {
        if (cache->Check(Key(t * kPerThread + i), kT0) == DedupResult::kFirstSeen) {
          first_seen.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(first_seen.load() <= kCapacity);
  CHECK(cache->size() == first_seen.load());
  // No capacity was lost in the races: one thread can fill exactly the rest.
  std::size_t more = 0;
  for (int i = 0; i < 10000 && cache->Check(Key(100000 + i), kT0) == DedupResult::kFirstSeen;
       ++i) {
    ++more;
  }
  CHECK(first_seen.load() + more == kCapacity);
  CHECK(cache->size() == kCapacity);
}

TEST_CASE("Threads with their own clocks: concurrent expiry keeps every live entry") {
  // Each thread inserts its own keys at its own pace; the shards see times
  // from all of them, out of order. Whatever the interleaving, an entry is
  // never dropped before TTL after the time it was inserted at, and the
  // count always matches what is held.
  constexpr int kThreads = 4;
  constexpr int kSteps = 20000;
  const lifeline::DurationMillis ttl = 500;
  auto cache = Make(ttl, 100000, 16);
  StartLine start(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> not_first{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.ArriveAndWait();
      for (int i = 0; i < kSteps; ++i) {
        if (cache->Check(Key(t * 1'000'000 + i), kT0 + i) != DedupResult::kFirstSeen) {
          not_first.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(not_first.load() == 0);
  // The last TTL of every thread's keys were inserted at kT0 + 19500 or
  // later (a lagging thread's keys count as inserted at the later time the
  // shard had seen), so all are live at kT0 + 19999.
  const std::size_t held = cache->Expire(kT0 + kSteps - 1);
  CHECK(held >= kThreads * static_cast<std::size_t>(ttl));
  CHECK(cache->size() == held);
  int live = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = kSteps - static_cast<int>(ttl); i < kSteps; ++i) {
      live += cache->Check(Key(t * 1'000'000 + i), kT0 + kSteps - 1) == DedupResult::kDuplicate;
    }
  }
  CHECK(live == kThreads * static_cast<int>(ttl));
  // Everything has expired once the latest time is TTL past the last insert.
  CHECK(cache->Expire(kT0 + 10 * kSteps) == 0);
  CHECK(cache->size() == 0);
}

// --- No allocation on the hot path ------------------------------------------------

TEST_CASE("Check, CheckDigest, DigestOf and Expire never allocate") {
  auto cache = Make(kTtl, 1000);
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) keys.push_back(Key(i));  // long enough to defeat SSO
  const long before = ThreadAllocations();
  int first = 0, full = 0;
  for (int round = 0; round < 3; ++round) {
    for (const std::string& k : keys) {
      const DedupResult r = cache->Check(k, kT0 + round * kTtl);
      first += r == DedupResult::kFirstSeen;
      full += r == DedupResult::kFull;
      cache->CheckDigest(cache->DigestOf(k), kT0 + round * kTtl);
    }
    cache->Expire(kT0 + round * kTtl + 1);
  }
  CHECK(ThreadAllocations() == before);
  CHECK(first == 3000);
  CHECK(full == 3000);
}
