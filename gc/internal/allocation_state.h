// gclab internal: the allocation fast path shared by every collector.
//
// The public Heap embeds one AllocationState so that allocation of a small object is
// inlined into the caller. A collector fills it in one of two modes:
//   - bump mode (copying collectors): [top, limit) is a linear allocation buffer. The
//     collector sizes `limit` so that the buffer never crosses the point where the
//     trigger policy wants a collection. Bytes are counted lazily: `counted_top` is
//     the part of the buffer already added to `bytes_allocated`.
//   - free-list mode (mark-sweep): `free_lists[c]` holds free cells of size class c,
//     and [class_top[c], class_end[c]) is a never-used stretch of a page of that class
//     to bump through when the list is empty (fresh memory needs no threading, and
//     bumping has no pointer-chasing dependency). Each allocation adds the cell's size
//     to `bytes_allocated` and is refused once that would pass `trigger`.
// Under an allocation-driven stress mode the heap keeps `trigger` at 0 and bump buffers
// empty, so every allocation takes the slow path, which counts it (gc/DESIGN.md [stress]).
// Everything else (large objects, refills, collections, out-of-memory) is the slow
// path in HeapImpl.
#ifndef GCLAB_GC_INTERNAL_ALLOCATION_STATE_H_
#define GCLAB_GC_INTERNAL_ALLOCATION_STATE_H_

#include <cstddef>
#include <cstdint>

#include "gc/internal/check.h"
#include "gc/internal/object_header.h"
#include "gc/internal/sanitizer.h"
#include "gc/internal/size_classes.h"

namespace gclab::internal {

// A free cell of the mark-sweep space: a header whose first word is zero, followed by
// the link to the next free cell of the same size class.
struct FreeCell {
  ObjectHeader header;
  FreeCell* next;
};

struct AllocationState {
  bool free_list_mode = false;
  char* top = nullptr;
  char* limit = nullptr;
  char* counted_top = nullptr;
  uint64_t bytes_allocated = 0;
  uint64_t trigger = 0;
  FreeCell* free_lists[kNumSizeClasses] = {};
  char* class_top[kNumSizeClasses] = {};
  char* class_end[kNumSizeClasses] = {};

  // Adds the bump-allocated bytes not yet counted to bytes_allocated.
  void FlushBump() {
    bytes_allocated += static_cast<uint64_t>(top - counted_top);
    counted_top = top;
  }

  // Bump mode, for a collector's AllocateSmall (the heap has flushed the buffer): the
  // cell of `cell_size` bytes at `top`, and a new buffer after it that ends where the
  // budget (`allowed`) or the space (`end`) does; null if the cell passes either.
  ObjectHeader* BumpNewBuffer(size_t cell_size, uint64_t allowed, char* end) {
    if (cell_size > allowed || cell_size > static_cast<size_t>(end - top)) return nullptr;
    auto* header = reinterpret_cast<ObjectHeader*>(top);
    top += cell_size;
    counted_top = top;
    const uint64_t buffer = allowed - cell_size;
    limit = top + (buffer < static_cast<uint64_t>(end - top) ? buffer : static_cast<uint64_t>(end - top));
    return header;
  }

  // A cell of kCellSize bytes (or of its size class, in free-list mode), or null when
  // the slow path must decide. The caller writes the header word.
  template <size_t kCellSize>
  GCLAB_INLINE ObjectHeader* TryAllocateFast() {
    constexpr int kClass = SizeClassIndex(kCellSize);
    if constexpr (kClass < 0) {
      return nullptr;
    } else {
      if (free_list_mode) {
        constexpr uint32_t kClassSize = kSizeClasses[kClass];
        if (__builtin_expect(bytes_allocated + kClassSize > trigger, 0)) return nullptr;
        FreeCell* cell = free_lists[kClass];
        if (cell != nullptr) {
          free_lists[kClass] = cell->next;
          bytes_allocated += kClassSize;
          UnpoisonMemory(cell, kClassSize);  // zapped free cells are poisoned under ASan
          return &cell->header;
        }
        char* cell_top = class_top[kClass];
        if (__builtin_expect(static_cast<size_t>(class_end[kClass] - cell_top) < kClassSize, 0)) {
          return nullptr;
        }
        class_top[kClass] = cell_top + kClassSize;
        bytes_allocated += kClassSize;
        return reinterpret_cast<ObjectHeader*>(cell_top);
      }
      if (__builtin_expect(static_cast<size_t>(limit - top) < kCellSize, 0)) return nullptr;
      ObjectHeader* header = reinterpret_cast<ObjectHeader*>(top);
      top += kCellSize;
      return header;
    }
  }
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_ALLOCATION_STATE_H_
