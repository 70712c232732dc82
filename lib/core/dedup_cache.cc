// DedupCache: sharded open addressing over keyed-hash digests, with a FIFO
// expiry ring per shard and a shared capacity pool. See dedup_cache.hpp for
// the contract and docs/dedup.md for the design.
#include "lifeline/dedup_cache.hpp"

#include <absl/strings/escaping.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <thread>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/dedup_digest.hpp"

namespace lifeline {
namespace {

// A table slot or ring entry's digest. {0, 0} marks an empty slot, so a
// digest that is {0, 0} is stored as {1, 0} (see Stored): two keys would be
// confused only if their digests were {0, 0} and {1, 0}, a 2^-127 chance.
struct Slot {
  std::uint64_t lo;
  std::uint64_t hi;
};

struct RingEntry {
  Slot digest;
  UnixMillis expiry;  // the entry is live while now < expiry
};

inline Slot Stored(const DedupCache::Digest& d) noexcept {
  return (d.lo | d.hi) == 0 ? Slot{1, 0} : Slot{d.lo, d.hi};
}

inline bool IsEmpty(const Slot& s) noexcept { return (s.lo | s.hi) == 0; }
inline bool Same(const Slot& a, const Slot& b) noexcept { return a.lo == b.lo && a.hi == b.hi; }

// The home slot of a digest in a table of `n` slots (n < 2^32): Lemire's
// multiply-shift range reduction of the digest's top 32 bits. The shard is
// chosen by the low bits of `hi`, so the two are independent.
inline std::size_t Home(std::uint64_t lo, std::size_t n) noexcept {
  return static_cast<std::size_t>(((lo >> 32) * static_cast<std::uint64_t>(n)) >> 32);
}

inline UnixMillis SaturatingAdd(UnixMillis t, DurationMillis d) noexcept {
  return t > std::numeric_limits<UnixMillis>::max() - d ? std::numeric_limits<UnixMillis>::max()
                                                        : t + d;
}

inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A test-and-test-and-set lock for the shards' short critical sections (a
// probe, an insert and the expiry of what has expired: no allocation, no
// system call). It spins briefly, then yields the CPU so that a preempted
// holder can run.
class SpinLock {
 public:
  void lock() noexcept {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    LockSlow();
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  void LockSlow() noexcept {
    unsigned spins = 0;
    for (;;) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (spins < 128) {
          ++spins;
          CpuRelax();
        } else {
          std::this_thread::yield();
        }
      }
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
    }
  }

  std::atomic<bool> locked_{false};
};

// HighwayHash's four key words from the 32 key bytes, little-endian. On a
// little-endian CPU this is one 32-byte copy, which the hash's vector load
// can forward from (byte-by-byte assembly costs more than the hash itself).
inline void LoadHashKey(const DedupCache::HashKey& key, std::uint64_t words[4]) noexcept {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::memcpy(words, key.data(), 32);
#else
  for (int w = 0; w < 4; ++w) {
    std::uint64_t word = 0;
    for (int b = 7; b >= 0; --b) word = (word << 8) | key[8 * w + b];
    words[w] = word;
  }
#endif
}

constexpr std::size_t kNotFound = std::numeric_limits<std::size_t>::max();

// Zeroed memory for all the shards' tables and rings, in one block. On
// Linux a block of 2 MiB or more is 2 MiB-aligned and marked for transparent
// huge pages: lookups land anywhere in it, and with 4 KiB pages a
// million-entry cache misses the TLB on nearly every check.
void* AllocateArena(std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  const std::size_t alignment = bytes >= kHuge ? kHuge : 64;
  const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (alignment == kHuge) madvise(p, rounded, MADV_HUGEPAGE);  // advice; failure is harmless
#endif
  std::memset(p, 0, rounded);
  return p;
}

constexpr std::size_t RoundUp64(std::size_t n) { return (n + 63) / 64 * 64; }

}  // namespace

// One shard: an open addressing table (linear probing, backward-shift
// deletion) of the digests it holds, and a ring of the same digests in
// insertion order with their expiry. Every member but `held` is guarded by
// `mu`.
struct alignas(64) DedupCache::Shard {
  SpinLock mu;
  UnixMillis latest = std::numeric_limits<UnixMillis>::min();  // latest now seen
  std::size_t spare = 0;  // capacity borrowed from the pool and not used
  std::size_t count = 0;  // entries held (in the ring and in the table)
  std::size_t head = 0;   // ring index of the oldest entry
  std::size_t ring_size = 0;
  std::size_t table_size = 0;
  RingEntry* ring = nullptr;  // ring_size entries, in the cache's arena
  Slot* table = nullptr;      // table_size slots, in the cache's arena
  std::atomic<std::size_t> held{0};  // `count`, for size() without the lock

  // The table index of `key`, or kNotFound.
  std::size_t Find(const Slot& key) const noexcept {
    std::size_t i = Home(key.lo, table_size);
    for (;;) {
      const Slot& s = table[i];
      if (Same(s, key)) return i;
      if (IsEmpty(s)) return kNotFound;
      if (++i == table_size) i = 0;
    }
  }

  // Empties table slot `i`, moving later entries of the probe run back so
  // that every entry stays reachable from its home slot (no tombstones).
  void EraseAt(std::size_t i) noexcept {
    std::size_t j = i;
    for (;;) {
      if (++j == table_size) j = 0;
      const Slot s = table[j];
      if (IsEmpty(s)) break;
      const std::size_t h = Home(s.lo, table_size);
      // The entry at j may fill the hole at i unless its home lies
      // cyclically in (i, j].
      const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (stays) continue;
      table[i] = s;
      i = j;
    }
    table[i] = Slot{0, 0};
  }
};

Result<std::unique_ptr<DedupCache>> DedupCache::Create(const Options& options) {
  if (options.ttl_ms <= 0) {
    return InvalidArgument("ttl_ms must be > 0, got " + std::to_string(options.ttl_ms));
  }
  if (options.capacity == 0) return InvalidArgument("capacity must be > 0");
  if (options.capacity > kMaxCapacity) {
    return InvalidArgument("capacity must be <= " + std::to_string(kMaxCapacity) + ", got " +
                           std::to_string(options.capacity));
  }
  const std::size_t shards = options.shards;
  if (shards == 0 || shards > kMaxShards || (shards & (shards - 1)) != 0) {
    return InvalidArgument("shards must be a power of two in [1, " + std::to_string(kMaxShards) +
                           "], got " + std::to_string(shards));
  }
  try {
    return std::unique_ptr<DedupCache>(new DedupCache(options, shards));
  } catch (const std::bad_alloc&) {
    return InternalError("not enough memory for a dedup cache of capacity " +
                         std::to_string(options.capacity));
  }
}

DedupCache::DedupCache(const Options& options, std::size_t shards)
    : ttl_ms_(options.ttl_ms),
      capacity_(options.capacity),
      shard_mask_(shards - 1),
      batch_(std::clamp<std::size_t>(options.capacity / (shards * 16), 1, 64)),
      hash_(internal::BestHighwayHash128()),
      shards_(new Shard[shards]),
      pool_(options.capacity) {
  LoadHashKey(options.key, hash_key_);
  // Each shard gets room for its fair share of the capacity plus a margin
  // of 10 standard deviations of the binomial spread of digests over shards
  // and the batches it may hold, so a shard runs out of room before the
  // cache does with a probability below 1e-20 (docs/dedup.md). Capacity
  // itself is enforced globally through pool_.
  const std::size_t mean = (capacity_ + shards - 1) / shards;
  const auto sigma = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(mean))));
  const std::size_t room = std::min(capacity_, mean + 10 * sigma + 2 * batch_ + 16);
  const std::size_t table_bytes = RoundUp64(2 * room * sizeof(Slot));  // load factor <= 1/2
  const std::size_t ring_bytes = RoundUp64(room * sizeof(RingEntry));
  memory_bytes_ = shards * (table_bytes + ring_bytes);
  memory_ = AllocateArena(memory_bytes_);
  auto* next = static_cast<unsigned char*>(memory_);
  for (std::size_t s = 0; s < shards; ++s) {
    Shard& shard = shards_[s];
    shard.table_size = 2 * room;
    shard.table = reinterpret_cast<Slot*>(next);
    next += table_bytes;
    shard.ring_size = room;
    shard.ring = reinterpret_cast<RingEntry*>(next);
    next += ring_bytes;
  }
}

DedupCache::~DedupCache() { std::free(memory_); }

DedupCache::Digest DedupCache::Hash(std::string_view key, const HashKey& hash_key) noexcept {
  alignas(32) std::uint64_t words[4];
  LoadHashKey(hash_key, words);
  std::uint64_t out[2];
  internal::BestHighwayHash128()(words, key.data(), key.size(), out);
  return Digest{out[0], out[1]};
}

DedupCache::Digest DedupCache::DigestOf(std::string_view key) const noexcept {
  std::uint64_t out[2];
  hash_(hash_key_, key.data(), key.size(), out);
  return Digest{out[0], out[1]};
}

DedupResult DedupCache::Check(std::string_view key, UnixMillis now) noexcept {
  return CheckDigest(DigestOf(key), now);
}

DedupResult DedupCache::CheckDigest(const Digest& digest, UnixMillis now) noexcept {
  return CheckInShard(shards_[digest.hi & shard_mask_], digest, now);
}

std::size_t DedupCache::TakeFromPool(std::size_t most) noexcept {
  std::size_t available = pool_.load(std::memory_order_relaxed);
  while (available > 0) {
    const std::size_t take = std::min(available, most);
    if (pool_.compare_exchange_weak(available, available - take, std::memory_order_relaxed)) {
      return take;
    }
  }
  return 0;
}

void DedupCache::PopExpired(Shard& shard, UnixMillis now) noexcept {
  std::size_t popped = 0;
  while (shard.count > 0) {
    const RingEntry& oldest = shard.ring[shard.head];
    if (oldest.expiry > now) break;
    shard.EraseAt(shard.Find(oldest.digest));
    if (++shard.head == shard.ring_size) shard.head = 0;
    --shard.count;
    ++popped;
  }
  if (popped == 0) return;
  // In a steady state about one entry expires per insert, and erasing it
  // costs a cache miss as large as the lookup's. Start loading the slot of
  // the next entry to expire now, so that by the time it expires (a later
  // check of this shard) it is in cache.
  if (shard.count > 0) {
    __builtin_prefetch(&shard.table[Home(shard.ring[shard.head].digest.lo, shard.table_size)]);
    // ...and the ring entry after it, whose slot the next pop will want.
    std::size_t after = shard.head + 1;
    if (after == shard.ring_size) after = 0;
    __builtin_prefetch(&shard.ring[after]);
  }
  shard.spare += popped;
  shard.held.store(shard.count, std::memory_order_relaxed);
  // Give back what this shard is unlikely to need soon, keeping one batch.
  if (shard.spare > 2 * batch_) {
    pool_.fetch_add(shard.spare - batch_, std::memory_order_relaxed);
    shard.spare = batch_;
  }
}

DedupResult DedupCache::CheckInShard(Shard& shard, const Digest& digest,
                                     UnixMillis now) noexcept {
  const Slot key = Stored(digest);
  std::size_t i = Home(key.lo, shard.table_size);
  __builtin_prefetch(&shard.table[i]);
  std::unique_lock<SpinLock> lock(shard.mu);
  if (now < shard.latest) now = shard.latest;
  shard.latest = now;
  PopExpired(shard, now);
  for (;;) {
    const Slot& s = shard.table[i];
    if (Same(s, key)) return DedupResult::kDuplicate;
    if (IsEmpty(s)) break;
    if (++i == shard.table_size) i = 0;
  }
  if (shard.spare == 0) shard.spare = TakeFromPool(batch_);
  if (shard.spare == 0 || shard.count == shard.ring_size) {
    lock.unlock();
    return ReclaimAndInsert(shard, digest, now);
  }
  shard.table[i] = key;
  std::size_t tail = shard.head + shard.count;
  if (tail >= shard.ring_size) tail -= shard.ring_size;
  shard.ring[tail] = RingEntry{key, SaturatingAdd(now, ttl_ms_)};
  ++shard.count;
  --shard.spare;
  shard.held.store(shard.count, std::memory_order_relaxed);
  return DedupResult::kFirstSeen;
}

// The slow path, taken when the pool is empty and the shard has no spare
// capacity: with reclaim_mu_ held (so two passes never split the spare
// capacity between them and both answer kFull), expire every other shard at
// `now` and collect its spare capacity, take what is left in the pool, then
// retry in the key's own shard with all of it. kFull is answered only when
// nothing at all was collected: every unit of capacity is held by an entry
// that is live at `now`.
DedupResult DedupCache::ReclaimAndInsert(Shard& shard, const Digest& digest,
                                         UnixMillis now) noexcept {
  std::lock_guard<std::mutex> reclaiming(reclaim_mu_);
  std::size_t carried = 0;
  for (std::size_t s = 0; s <= shard_mask_; ++s) {
    Shard& other = shards_[s];
    if (&other == &shard) continue;
    std::lock_guard<SpinLock> lock(other.mu);
    if (other.latest < now) other.latest = now;
    PopExpired(other, other.latest);
    carried += other.spare;
    other.spare = 0;
  }
  carried += pool_.exchange(0, std::memory_order_relaxed);

  const Slot key = Stored(digest);
  std::lock_guard<SpinLock> lock(shard.mu);
  if (now < shard.latest) now = shard.latest;
  shard.latest = now;
  PopExpired(shard, now);
  shard.spare += carried;
  DedupResult result;
  std::size_t i = shard.Find(key);
  if (i != kNotFound) {
    result = DedupResult::kDuplicate;  // a concurrent check inserted it
  } else if (shard.spare == 0 || shard.count == shard.ring_size) {
    result = DedupResult::kFull;
  } else {
    i = Home(key.lo, shard.table_size);
    while (!IsEmpty(shard.table[i])) {
      if (++i == shard.table_size) i = 0;
    }
    shard.table[i] = key;
    std::size_t tail = shard.head + shard.count;
    if (tail >= shard.ring_size) tail -= shard.ring_size;
    shard.ring[tail] = RingEntry{key, SaturatingAdd(now, ttl_ms_)};
    ++shard.count;
    --shard.spare;
    shard.held.store(shard.count, std::memory_order_relaxed);
    result = DedupResult::kFirstSeen;
  }
  if (shard.spare > batch_) {
    pool_.fetch_add(shard.spare - batch_, std::memory_order_relaxed);
    shard.spare = batch_;
  }
  return result;
}

std::size_t DedupCache::Expire(UnixMillis now) noexcept {
  std::size_t total = 0;
  for (std::size_t s = 0; s <= shard_mask_; ++s) {
    Shard& shard = shards_[s];
    std::lock_guard<SpinLock> lock(shard.mu);
    if (shard.latest < now) shard.latest = now;
    PopExpired(shard, shard.latest);
    total += shard.count;
  }
  return total;
}

std::size_t DedupCache::size() const noexcept {
  std::size_t total = 0;
  for (std::size_t s = 0; s <= shard_mask_; ++s) {
    total += shards_[s].held.load(std::memory_order_relaxed);
  }
  return total;
}

std::array<std::uint8_t, 16> DedupCache::Digest::Bytes() const noexcept {
  std::array<std::uint8_t, 16> bytes;
  for (int b = 0; b < 8; ++b) {
    bytes[b] = static_cast<std::uint8_t>(lo >> (8 * b));
    bytes[8 + b] = static_cast<std::uint8_t>(hi >> (8 * b));
  }
  return bytes;
}

std::string DedupCache::Digest::Hex() const {
  const std::array<std::uint8_t, 16> bytes = Bytes();
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

DedupCache::Digest DedupCache::Digest::FromBytes(const std::uint8_t bytes[16]) noexcept {
  Digest d;
  for (int b = 7; b >= 0; --b) {
    d.lo = (d.lo << 8) | bytes[b];
    d.hi = (d.hi << 8) | bytes[8 + b];
  }
  return d;
}

}  // namespace lifeline
