// dedup_cache.hpp -- "have we seen this request in the last TTL?", bounded.
//
// Overview: a `DedupCache` answers, for a key and the current time, whether
// the key is seen for the first time (and remembers it) or is a duplicate of
// one seen less than a TTL ago. It is how the IVR failover drops the second
// and later copies of a callback request (seed 000: the request id is a hash
// of callerPhone, timestamp and originalQueueId, held 60 s) and how the
// notification cascade ignores a repeated trigger of the same incident
// (seed 004: the same incidentId within 5 minutes).
//
// The rules:
//
//  - `Check(key, now)` answers kFirstSeen and inserts the key, or
//    kDuplicate. An entry inserted at t0 is a duplicate for every check with
//    now < t0 + ttl and has expired at now >= t0 + ttl. A duplicate sighting
//    does not extend the window.
//  - Memory is bounded by `capacity`. When `capacity` entries are live and
//    none has expired, a first-seen key gets kFull and is not remembered. A
//    live entry is never evicted to make room.
//  - Keys are kept only as 128-bit digests of a keyed hash (HighwayHash-128
//    with a 256-bit key), never in clear: a phone number inside a key is not
//    held in the cache's memory. Digests are identical across processes,
//    machines and CPU generations for the same hash key, so nodes that share
//    a hash key agree on them (and can use `Digest` as a request id).
//  - Thread-safe. Threads racing on the same key see exactly one kFirstSeen.
//
// Design: the cache is split into shards by digest bits, each with its own
// small lock (no global lock on the hot path). Because the TTL is the same for
// every entry, insertion order is expiry order, so each shard keeps a FIFO
// ring of (digest, expiry) and drops expired entries from its head on every
// check: O(1) amortised, never a scan. The shard's index is an open
// addressing table of digests, preallocated with the ring at construction,
// so `Check` never allocates. Capacity is global and exact: shards borrow
// room from a shared pool in small batches and, when the pool is empty,
// reclaim the batches other shards hold before answering kFull (see
// docs/dedup.md).
//
// Time: the cache is sans-clock; `now` is an argument. A shard treats a `now`
// earlier than the latest one it has been given as that latest time, so
// time going backwards never corrupts the expiry order; it only makes
// entries last at least as long as they would have.
//
// Example:
//
//   lifeline::DedupCache::Options options;
//   options.ttl_ms = 60'000;
//   options.capacity = 100'000;
//   options.key = shared_secret;           // the same 32 bytes on every node
//   auto cache = lifeline::DedupCache::Create(options);
//   if (!cache.ok()) return cache.status();
//   switch ((*cache)->Check(request_id, clock.Now())) {
//     case lifeline::DedupResult::kFirstSeen: Submit(request); break;
//     case lifeline::DedupResult::kDuplicate: break;       // dropped
//     case lifeline::DedupResult::kFull: Alarm(); break;    // overloaded
//   }
#ifndef LIFELINE_DEDUP_CACHE_HPP_
#define LIFELINE_DEDUP_CACHE_HPP_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// The answer of `DedupCache::Check`.
enum class DedupResult : int {
  kFirstSeen = 0,  // not seen within the TTL; now remembered
  kDuplicate = 1,  // seen less than a TTL ago; nothing changed
  kFull = 2,       // first seen, but the cache is full; not remembered
};

// A bounded, sharded, thread-safe TTL set of keyed-hash digests.
class DedupCache {
 public:
  // The 256-bit key of the keyed hash. Nodes that must agree on digests use
  // the same key; keep it secret when keys come from untrusted callers.
  using HashKey = std::array<std::uint8_t, 32>;

  // The fixed, public default hash key: the 32 ASCII bytes
  // "Lifeline dedup default key v1.0!". It gives stable digests out of the
  // box but no secrecy: anyone can recompute a digest from a guessed key.
  static constexpr HashKey kDefaultHashKey = {
      'L', 'i', 'f', 'e', 'l', 'i', 'n', 'e', ' ', 'd', 'e', 'd', 'u', 'p', ' ', 'd',
      'e', 'f', 'a', 'u', 'l', 't', ' ', 'k', 'e', 'y', ' ', 'v', '1', '.', '0', '!'};

  // The largest capacity `Create` accepts (about 15 GiB of memory).
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 28;
  // The most shards `Create` accepts.
  static constexpr std::size_t kMaxShards = 256;

  // HighwayHash-128 of a key. HighwayHash's key is four 64-bit words; word i
  // is bytes 8i..8i+7 of `HashKey`, little-endian. `lo` and `hi` are the
  // two 64-bit words of HighwayHash's HHResult128, in that order.
  struct Digest {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;

    // The canonical 16-byte form: `lo` little-endian, then `hi`
    // little-endian. The C ABI and Python return these bytes.
    std::array<std::uint8_t, 16> Bytes() const noexcept;
    // The 16 bytes as 32 lowercase hex digits, e.g. for a request id.
    std::string Hex() const;
    // The inverse of `Bytes()`.
    static Digest FromBytes(const std::uint8_t bytes[16]) noexcept;

    friend bool operator==(const Digest& a, const Digest& b) noexcept {
      return a.lo == b.lo && a.hi == b.hi;
    }
    friend bool operator!=(const Digest& a, const Digest& b) noexcept { return !(a == b); }
  };

  struct Options {
    // How long an entry is a duplicate, in ms. Must be > 0.
    DurationMillis ttl_ms = 60000;
    // The most live entries. Must be in [1, kMaxCapacity]. Memory is
    // reserved up front: about 60 bytes per entry (docs/dedup.md).
    std::size_t capacity = 100000;
    // The hash key. See kDefaultHashKey.
    HashKey key = kDefaultHashKey;
    // Lock shards: a power of two in [1, kMaxShards]. More shards mean less
    // contention between threads; 16 suits up to a few dozen threads.
    std::size_t shards = 16;
  };

  // Validates `options` and reserves all the memory the cache will use.
  // Errors: kInvalidArgument naming the option (ttl_ms <= 0, capacity 0 or
  // above kMaxCapacity, shards not a power of two in range).
  static Result<std::unique_ptr<DedupCache>> Create(const Options& options);

  ~DedupCache();
  DedupCache(const DedupCache&) = delete;
  DedupCache& operator=(const DedupCache&) = delete;

  // Answers whether `key` (any bytes, the empty string included) was first
  // seen less than a TTL before `now`; inserts it when not. Never allocates
  // and never blocks on anything but one shard's lock (and, only when the
  // cache is nearly full, a reclaiming pass over the shards). Thread-safe.
  DedupResult Check(std::string_view key, UnixMillis now) noexcept;

  // As `Check`, for a digest computed earlier with `DigestOf` (or `Hash`
  // with this cache's hash key), e.g. the request id of an IVR callback.
  DedupResult CheckDigest(const Digest& digest, UnixMillis now) noexcept;

  // The digest this cache stores for `key`.
  Digest DigestOf(std::string_view key) const noexcept;

  // HighwayHash-128 of `key` under `hash_key`. Stable across processes,
  // machines and releases (HighwayHash's output is frozen upstream).
  static Digest Hash(std::string_view key, const HashKey& hash_key = kDefaultHashKey) noexcept;

  // Drops every entry that has expired at `now` from every shard (checks do
  // this lazily, shard by shard) and returns the number of entries held.
  std::size_t Expire(UnixMillis now) noexcept;

  // The number of entries held: those live at the latest `now` each shard
  // has seen. Entries in a shard no check has touched since they expired
  // are still counted; `Expire(now)` gives the exact live count at `now`.
  std::size_t size() const noexcept;

  std::size_t capacity() const noexcept { return capacity_; }
  DurationMillis ttl_ms() const noexcept { return ttl_ms_; }
  std::size_t shard_count() const noexcept { return shard_mask_ + 1; }
  // The bytes reserved for entries at construction; constant afterwards.
  std::size_t memory_bytes() const noexcept { return memory_bytes_; }

 private:
  struct Shard;
  using HashFn = void (*)(const std::uint64_t key[4], const char* data, std::size_t size,
                          std::uint64_t out[2]);

  DedupCache(const Options& options, std::size_t shards);

  DedupResult CheckInShard(Shard& shard, const Digest& digest, UnixMillis now) noexcept;
  DedupResult ReclaimAndInsert(Shard& shard, const Digest& digest, UnixMillis now) noexcept;
  void PopExpired(Shard& shard, UnixMillis now) noexcept;
  std::size_t TakeFromPool(std::size_t most) noexcept;

  const DurationMillis ttl_ms_;
  const std::size_t capacity_;
  const std::size_t shard_mask_;
  const std::size_t batch_;  // capacity a shard borrows from the pool at a time
  alignas(32) std::uint64_t hash_key_[4];
  HashFn hash_;
  std::unique_ptr<Shard[]> shards_;
  void* memory_ = nullptr;  // every shard's table and ring (std::free)
  std::size_t memory_bytes_ = 0;
  // Capacity no shard holds. Invariant, outside a reclaiming pass:
  // pool_ + sum(shard.spare) + sum(shard.count) == capacity_. On its own
  // cache line: it is written now and then, the fields above are read by
  // every check.
  alignas(64) std::atomic<std::size_t> pool_;
  // Serialises reclaiming passes (the slow path near full), never taken on
  // the hot path and never while holding a shard lock.
  std::mutex reclaim_mu_;
};

}  // namespace lifeline

#endif  // LIFELINE_DEDUP_CACHE_HPP_
