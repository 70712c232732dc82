// timer_wheel.hpp -- a hierarchical timing wheel keyed by UTC milliseconds.
//
// Overview: `TimerWheel` holds one-shot timers, each an absolute expiry in
// `UnixMillis` plus a 64-bit tag chosen by the caller. It is the timer store
// of the cascade engine, where most timers (hold times, receipt timeouts) are
// cancelled by an acknowledgement long before they fire, so cancel must be
// cheap:
//
//   - Start:  O(1). The timer goes into the slot of the level picked by the
//             highest 6-bit digit in which its expiry differs from the wheel's
//             current time (11 levels of 64 slots cover all of int64).
//   - Cancel: O(1). Timers live in a slab and intrusive doubly-linked slot
//             lists; a `TimerId` carries a generation, so cancelling a timer
//             that already fired, was already cancelled or whose slot was
//             reused is a harmless no-op returning false.
//   - Advance(now): visits only the slots the time step crossed (at most 64
//             per level, usually a handful), moves their timers down a level
//             or fires them. There is never a scan of all timers.
//   - NextDeadline(): exact earliest expiry, in O(levels + timers in one slot).
//
// Timers due in the same `Advance` fire in (expiry, start order) order. A
// timer started during the callback with an expiry <= `now` fires within the
// same `Advance`, after the batch being fired. Nothing reads a clock: time moves only through `Advance`.
//
// Example:
//
//   lifeline::TimerWheel wheel(clock.Now());
//   lifeline::TimerId hold = wheel.Start(clock.Now() + 90'000, /*tag=*/42);
//   wheel.Cancel(hold);                           // acknowledged: O(1)
//   wheel.Advance(clock.Now(), [&](lifeline::TimerId id, uint64_t tag, lifeline::UnixMillis at) {
//     engine.Fire(tag, at);
//   });
//
// Not thread-safe: one owner (an engine) drives it.
#ifndef LIFELINE_TIMER_WHEEL_HPP_
#define LIFELINE_TIMER_WHEEL_HPP_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "lifeline/clock.hpp"

namespace lifeline {

// Identifies one started timer. 0 is never a valid id (`kNoTimer`).
using TimerId = std::uint64_t;
inline constexpr TimerId kNoTimer = 0;

class TimerWheel {
 public:
  // Called for each due timer: its id, its tag and its expiry (<= now).
  using FireCallback = std::function<void(TimerId id, std::uint64_t tag, UnixMillis expiry)>;

  // `start` is the wheel's initial current time (negative values clamp to 0).
  explicit TimerWheel(UnixMillis start = 0);

  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  TimerWheel(TimerWheel&&) = default;
  TimerWheel& operator=(TimerWheel&&) = default;

  // Starts a timer firing at `expiry` (UTC ms). An expiry at or before the
  // current time fires at the next `Advance`. Returns its id.
  TimerId Start(UnixMillis expiry, std::uint64_t tag);

  // Cancels a pending timer. Returns false (and does nothing) when `id` is
  // kNoTimer, already fired, already cancelled, or unknown.
  bool Cancel(TimerId id);

  // Whether `id` is still pending.
  bool IsPending(TimerId id) const;

  // The expiry of a pending timer, or nullopt.
  std::optional<UnixMillis> ExpiryOf(TimerId id) const;

  // Moves the current time to `now` (a `now` before the current time only
  // fires what is already due) and fires every timer with expiry <= now,
  // in (expiry, start order) order. Returns how many fired. The callback may
  // start and cancel timers, including timers of the same batch; it must not
  // call Advance.
  std::size_t Advance(UnixMillis now, const FireCallback& fire);

  // The earliest pending expiry, or nullopt when there is none. May be at or
  // before the current time (then `Advance(now)` fires it).
  std::optional<UnixMillis> NextDeadline() const;

  // Number of pending timers.
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  UnixMillis now() const { return static_cast<UnixMillis>(current_); }

 private:
  static constexpr int kBits = 6;
  static constexpr int kSlots = 1 << kBits;            // 64 slots per level
  static constexpr int kLevels = (64 + kBits - 1) / kBits;  // 11 levels
  static constexpr std::uint32_t kNil = 0xffffffffu;
  static constexpr std::uint32_t kDueList = kLevels * kSlots;  // list of past-due timers
  static constexpr std::uint32_t kNoList = kDueList + 1;

  struct Node {
    std::uint64_t expiry = 0;
    std::uint64_t tag = 0;
    std::uint64_t seq = 0;          // start order, for stable firing order
    std::uint32_t generation = 1;
    std::uint32_t prev = kNil;
    std::uint32_t next = kNil;
    std::uint32_t list = kNoList;   // slot index, kDueList, or kNoList when free
  };

  void Place(std::uint32_t index);
  void Link(std::uint32_t list, std::uint32_t index);
  void Unlink(std::uint32_t index);
  void Release(std::uint32_t index);
  static TimerId MakeId(std::uint32_t index, std::uint32_t generation) {
    return (static_cast<TimerId>(generation) << 32) | index;
  }
  const Node* Lookup(TimerId id) const;
  // Nodes live in fixed-size chunks: growing never moves (or re-faults) the
  // nodes already allocated.
  static constexpr std::uint32_t kChunkBits = 12;
  Node& At(std::uint32_t i) { return chunks_[i >> kChunkBits][i & ((1u << kChunkBits) - 1)]; }
  const Node& At(std::uint32_t i) const {
    return chunks_[i >> kChunkBits][i & ((1u << kChunkBits) - 1)];
  }

  std::uint64_t current_;
  std::uint64_t next_seq_ = 0;
  std::size_t size_ = 0;
  std::vector<std::unique_ptr<Node[]>> chunks_;
  std::uint32_t node_count_ = 0;
  std::vector<std::uint32_t> free_;
  std::vector<std::uint32_t> heads_;                // kLevels * kSlots + 1 list heads
  std::uint64_t occupied_[kLevels] = {};           // non-empty slot bitmap per level
  std::vector<std::uint32_t> scratch_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> batch_;
};

}  // namespace lifeline

#endif  // LIFELINE_TIMER_WHEEL_HPP_
