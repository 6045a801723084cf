// gclab internal: memory for side tables (worklists, weak-slot and ephemeron tables,
// handle blocks, weak tables' entries), taken from malloc and counted as requests for
// memory (gc/fault_injection.h).
//
// A side table grows in one of two ways, and each caller says which it can live with:
//   - TryAllocateSideTable / TryGrow return failure (null, false) and change nothing:
//     for tables a collection fills, which fall back to a path that needs no memory,
//     and for the API calls that turn failure into a status;
//   - SideTableAllocator<T>, for standard containers, throws std::bad_alloc, as
//     std::allocator does when malloc fails: only for containers whose every growth is
//     either wrapped in TryGrow or caught where it happens (gc/DESIGN.md [fault]).
#ifndef GCLAB_GC_INTERNAL_SIDE_TABLE_H_
#define GCLAB_GC_INTERNAL_SIDE_TABLE_H_

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

#include "gc/fault_injection.h"
#include "gc/internal/check.h"

namespace gclab::internal {

// `bytes` of memory, or null when the fault-injection hook or malloc refuses it.
inline void* TryAllocateSideTable(size_t bytes, const char* what) {
  if (!AllowMemoryRequest(what)) return nullptr;
  return ::operator new(bytes, std::nothrow);
}
inline void FreeSideTable(void* p) { ::operator delete(p); }

template <typename T>
struct SideTableAllocator {
  using value_type = T;
  SideTableAllocator() = default;
  template <typename U>
  SideTableAllocator(const SideTableAllocator<U>&) {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) {
    void* p = TryAllocateSideTable(n * sizeof(T), "side table");
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { FreeSideTable(p); }
  template <typename U>
  bool operator==(const SideTableAllocator<U>&) const {
    return true;
  }
};

template <typename T>
using SideVector = std::vector<T, SideTableAllocator<T>>;

// Capacity for at least `n` elements in `v`, or false with `v` unchanged.
template <typename T>
bool TryReserve(SideVector<T>& v, size_t n) {
  if (n <= v.capacity()) return true;
  try {
    v.reserve(n);
  } catch (const std::bad_alloc&) {
    return false;
  }
  return true;
}

// Makes room for at least one more element in `v` (doubling, at least `min`), or
// returns false with `v` unchanged. The check is inline; growing is not.
template <typename T>
[[gnu::noinline]] bool GrowSideVector(SideVector<T>& v, size_t min) {
  return TryReserve(v, std::max(min, v.capacity() * 2));
}
template <typename T>
GCLAB_INLINE bool TryGrow(SideVector<T>& v, size_t min = 16) {
  return __builtin_expect(v.size() < v.capacity(), 1) || GrowSideVector(v, min);
}

// The object `make()` returns (from new or std::make_shared), made as one counted
// request; null when the fault-injection hook or malloc refuses it. For objects a
// subsystem makes on first use, whose callers turn null into the out-of-memory
// handler.
template <typename F>
auto TryMakeSideObject(const char* what, F&& make) -> decltype(make()) {
  if (!AllowMemoryRequest(what)) return nullptr;
  try {
    return make();
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

// push_back without an exception: false, `v` unchanged, when there is no memory. On
// the marking path for every object: one predicted compare, then the store.
template <typename T>
GCLAB_INLINE bool TryPushBack(SideVector<T>& v, const T& value) {
  if (!TryGrow(v)) return false;
  v.push_back(value);
  return true;
}

// A stack of plain records in side-table memory, for the collectors' worklists: the
// push that marking does for every object is a compare, a store and an increment,
// with growing out of line. TryPush returns false, and changes nothing, when growing
// finds no memory.
template <typename T>
class SideStack {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "SideStack holds plain records");

 public:
  SideStack() = default;
  SideStack(const SideStack&) = delete;
  SideStack& operator=(const SideStack&) = delete;
  ~SideStack() { FreeSideTable(base_); }

  GCLAB_INLINE bool TryPush(const T& value) {
    if (__builtin_expect(top_ == limit_, 0) && !Grow(0)) return false;
    *top_++ = value;
    return true;
  }
  bool empty() const { return top_ == base_; }
  size_t size() const { return static_cast<size_t>(top_ - base_); }
  size_t capacity() const { return static_cast<size_t>(limit_ - base_); }
  T& back() { return top_[-1]; }
  void pop_back() { --top_; }
  void clear() { top_ = base_; }
  // Room for `n` elements in all; false, with nothing changed, without memory.
  bool TryReserve(size_t n) { return n <= capacity() || Grow(n); }

 private:
  // To `n` elements, or double (at least 16) when `n` is 0.
  [[gnu::noinline]] bool Grow(size_t n) {
    const size_t used = size();
    const size_t want = n != 0 ? n : std::max<size_t>(16, 2 * capacity());
    void* memory = TryAllocateSideTable(want * sizeof(T), "collector worklist");
    if (memory == nullptr) return false;
    T* grown = static_cast<T*>(memory);
    if (used != 0) std::memcpy(grown, base_, used * sizeof(T));
    FreeSideTable(base_);
    base_ = grown;
    top_ = grown + used;
    limit_ = grown + want;
    return true;
  }

  T* base_ = nullptr;
  T* top_ = nullptr;
  T* limit_ = nullptr;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_SIDE_TABLE_H_
