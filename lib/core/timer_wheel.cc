// timer_wheel.cc -- the hierarchical timing wheel (see timer_wheel.hpp).
//
// Invariant: a timer at level L (L > 0) with expiry e was placed when the
// current time c shared every digit above L with e and had a smaller digit L.
// Until the current time reaches e's slot, every timer of level L-1 therefore
// expires before every timer of level L, so the earliest timer is in the
// lowest non-empty level, in its first occupied slot after the current digit.
#include "lifeline/timer_wheel.hpp"

#include <algorithm>

namespace lifeline {
namespace {

std::uint64_t Clamp(UnixMillis t) { return t < 0 ? 0 : static_cast<std::uint64_t>(t); }

int HighestBit(std::uint64_t x) { return 63 - __builtin_clzll(x); }

}  // namespace

TimerWheel::TimerWheel(UnixMillis start)
    : current_(Clamp(start)), heads_(kLevels * kSlots + 1, kNil) {}

void TimerWheel::Link(std::uint32_t list, std::uint32_t index) {
  Node& n = At(index);
  n.list = list;
  n.prev = kNil;
  n.next = heads_[list];
  if (n.next != kNil) At(n.next).prev = index;
  heads_[list] = index;
  if (list < kDueList) occupied_[list / kSlots] |= (std::uint64_t{1} << (list % kSlots));
}

void TimerWheel::Unlink(std::uint32_t index) {
  Node& n = At(index);
  if (n.prev != kNil) {
    At(n.prev).next = n.next;
  } else {
    heads_[n.list] = n.next;
    if (n.next == kNil && n.list < kDueList) {
      occupied_[n.list / kSlots] &= ~(std::uint64_t{1} << (n.list % kSlots));
    }
  }
  if (n.next != kNil) At(n.next).prev = n.prev;
  n.prev = n.next = kNil;
  n.list = kNoList;
}

void TimerWheel::Release(std::uint32_t index) {
  Node& n = At(index);
  ++n.generation;
  if (n.generation == 0) n.generation = 1;  // ids are never 0
  free_.push_back(index);
  --size_;
}

void TimerWheel::Place(std::uint32_t index) {
  std::uint64_t e = At(index).expiry;
  if (e <= current_) return Link(kDueList, index);
  int level = HighestBit(e ^ current_) / kBits;
  std::uint32_t slot = static_cast<std::uint32_t>((e >> (level * kBits)) & (kSlots - 1));
  Link(static_cast<std::uint32_t>(level * kSlots) + slot, index);
}

TimerId TimerWheel::Start(UnixMillis expiry, std::uint64_t tag) {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = node_count_++;
    if ((index >> kChunkBits) >= chunks_.size()) {
      chunks_.emplace_back(new Node[std::size_t{1} << kChunkBits]);
    }
  }
  Node& n = At(index);
  n.expiry = Clamp(expiry);
  n.tag = tag;
  n.seq = next_seq_++;
  ++size_;
  Place(index);
  return MakeId(index, n.generation);
}

const TimerWheel::Node* TimerWheel::Lookup(TimerId id) const {
  if (id == kNoTimer) return nullptr;
  std::uint32_t index = static_cast<std::uint32_t>(id & 0xffffffffu);
  std::uint32_t generation = static_cast<std::uint32_t>(id >> 32);
  if (index >= node_count_) return nullptr;
  const Node& n = At(index);
  if (n.generation != generation || n.list == kNoList) return nullptr;
  return &n;
}

bool TimerWheel::Cancel(TimerId id) {
  if (Lookup(id) == nullptr) return false;
  std::uint32_t index = static_cast<std::uint32_t>(id & 0xffffffffu);
  Unlink(index);
  Release(index);
  return true;
}

bool TimerWheel::IsPending(TimerId id) const { return Lookup(id) != nullptr; }

std::optional<UnixMillis> TimerWheel::ExpiryOf(TimerId id) const {
  const Node* n = Lookup(id);
  if (n == nullptr) return std::nullopt;
  return static_cast<UnixMillis>(n->expiry);
}

std::size_t TimerWheel::Advance(UnixMillis now_signed, const FireCallback& fire) {
  std::uint64_t now = std::max(Clamp(now_signed), current_);
  // 1. Detach the timers of every slot the step from current_ to now crosses.
  scratch_.clear();
  auto take = [&](std::uint32_t list) {
    while (heads_[list] != kNil) {
      std::uint32_t index = heads_[list];
      Unlink(index);
      scratch_.push_back(index);
    }
  };
  for (int level = 0; level < kLevels; ++level) {
    int shift = level * kBits;
    std::uint64_t from = current_ >> shift, to = now >> shift;
    if (from == to) break;  // no higher level moves either
    std::uint64_t steps = to - from;
    std::uint32_t base = static_cast<std::uint32_t>(level * kSlots);
    if (steps >= static_cast<std::uint64_t>(kSlots)) {
      for (std::uint32_t s = 0; s < kSlots; ++s) take(base + s);
    } else {
      for (std::uint64_t k = 1; k <= steps; ++k) {
        take(base + static_cast<std::uint32_t>((from + k) & (kSlots - 1)));
      }
    }
  }
  current_ = now;
  // 2. Re-place them: the due ones land in the due list, the others a level lower.
  for (std::uint32_t index : scratch_) Place(index);

  // 3. Fire the due list in (expiry, start order); repeat for timers started
  //    by callbacks with an expiry <= now.
  std::size_t fired = 0;
  std::vector<std::pair<std::uint32_t, std::uint32_t>>& batch = batch_;  // (index, generation)
  while (heads_[kDueList] != kNil) {
    batch.clear();
    for (std::uint32_t i = heads_[kDueList]; i != kNil; i = At(i).next) {
      batch.emplace_back(i, At(i).generation);
    }
    std::sort(batch.begin(), batch.end(), [&](const auto& a, const auto& b) {
      const Node& x = At(a.first);
      const Node& y = At(b.first);
      return x.expiry != y.expiry ? x.expiry < y.expiry : x.seq < y.seq;
    });
    for (const auto& [index, generation] : batch) {
      Node& n = At(index);
      if (n.generation != generation || n.list != kDueList) continue;  // cancelled meanwhile
      Unlink(index);
      std::uint64_t tag = n.tag;
      UnixMillis expiry = static_cast<UnixMillis>(n.expiry);
      Release(index);
      ++fired;
      if (fire) fire(MakeId(index, generation), tag, expiry);
    }
  }
  return fired;
}

std::optional<UnixMillis> TimerWheel::NextDeadline() const {
  if (heads_[kDueList] != kNil) {
    std::uint64_t best = current_;
    for (std::uint32_t i = heads_[kDueList]; i != kNil; i = At(i).next) {
      best = std::min(best, At(i).expiry);
    }
    return static_cast<UnixMillis>(best);
  }
  for (int level = 0; level < kLevels; ++level) {
    std::uint64_t bits = occupied_[level];
    if (bits == 0) continue;
    int shift = level * kBits;
    std::uint32_t start = static_cast<std::uint32_t>(((current_ >> shift) + 1) & (kSlots - 1));
    std::uint64_t rotated = start == 0 ? bits : ((bits >> start) | (bits << (kSlots - start)));
    std::uint32_t slot = (start + static_cast<std::uint32_t>(__builtin_ctzll(rotated))) & (kSlots - 1);
    std::uint64_t best = ~std::uint64_t{0};
    for (std::uint32_t i = heads_[level * kSlots + slot]; i != kNil; i = At(i).next) {
      best = std::min(best, At(i).expiry);
    }
    return static_cast<UnixMillis>(best);
  }
  return std::nullopt;
}

}  // namespace lifeline
