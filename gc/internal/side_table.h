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
#include <new>
#include <vector>

#include "gc/fault_injection.h"

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

// Makes room for at least one more element in `v` (doubling, at least `min`), or
// returns false with `v` unchanged.
template <typename T>
bool TryGrow(SideVector<T>& v, size_t min = 16) {
  if (v.size() < v.capacity()) return true;
  try {
    v.reserve(std::max(min, v.capacity() * 2));
  } catch (const std::bad_alloc&) {
    return false;
  }
  return true;
}

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

// push_back without an exception: false, `v` unchanged, when there is no memory.
template <typename T>
bool TryPushBack(SideVector<T>& v, const T& value) {
  if (!TryGrow(v)) return false;
  v.push_back(value);
  return true;
}

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_SIDE_TABLE_H_
