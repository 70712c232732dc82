// allocation_counter.hpp -- counts the calling thread's operator new calls,
// so that a test or a benchmark can show that a hot path allocates nothing.
//
// Include it in exactly one source file of a program: it replaces the global
// operator new and delete -- the whole family (plain, array, sized, nothrow),
// so that every new pairs with the matching delete, which AddressSanitizer
// checks. The aligned forms are left to the runtime, with their deletes.
// The operators are noinline because g++ 12 warns (-Wmismatched-new-delete)
// when it inlines malloc and free into their callers.
//
//   const long before = lifeline::testing::ThreadAllocations();
//   ... the code under test, on this thread ...
//   CHECK(lifeline::testing::ThreadAllocations() == before);
#ifndef LIFELINE_TESTS_SUPPORT_ALLOCATION_COUNTER_HPP_
#define LIFELINE_TESTS_SUPPORT_ALLOCATION_COUNTER_HPP_

#include <cstdlib>
#include <new>

namespace lifeline::testing {

namespace allocation_counter_internal {
inline thread_local long allocations = 0;

__attribute__((noinline)) inline void* Allocate(std::size_t size) noexcept {
  ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace allocation_counter_internal

// How many times this thread has called operator new (any counted form).
inline long ThreadAllocations() { return allocation_counter_internal::allocations; }

}  // namespace lifeline::testing

__attribute__((noinline)) void* operator new(std::size_t size) {
  if (void* p = lifeline::testing::allocation_counter_internal::Allocate(size)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new[](std::size_t size) {
  if (void* p = lifeline::testing::allocation_counter_internal::Allocate(size)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return lifeline::testing::allocation_counter_internal::Allocate(size);
}
__attribute__((noinline)) void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return lifeline::testing::allocation_counter_internal::Allocate(size);
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

#endif  // LIFELINE_TESTS_SUPPORT_ALLOCATION_COUNTER_HPP_
