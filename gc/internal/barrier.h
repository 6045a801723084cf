// gclab internal: the hooks every Member store and every weak load goes through
// (gc/DESIGN.md [barrier]).
//
// The fast path is one load of a process-wide count and a branch predicted not taken:
// while no live heap's collector asks for a barrier, that is all a store costs. When
// one does, the slow path finds the collector that owns the slot (chunk_table.h) and
// calls it; a slot owned by no heap, or by a heap whose collector needs no barrier, is
// left alone. Debug builds (GCLAB_DEBUG) take the slow path on every store, and stop
// with a message when a Member outside every heap object, and off the storing
// thread's stack (a temporary), is given an object ([ref.member]).
#ifndef GCLAB_GC_INTERNAL_BARRIER_H_
#define GCLAB_GC_INTERNAL_BARRIER_H_

#include <atomic>
#include <cstdint>

#include "gc/internal/check.h"

namespace gclab::internal {

// Live heaps whose collector wants to see stores (loads): changed when such a heap is
// created and destroyed, and when a heap's incremental marking begins and ends
// ([incr.barrier]).
extern std::atomic<uint32_t> write_barrier_heaps;
extern std::atomic<uint32_t> load_barrier_heaps;

// [barrier.exempt] One range of memory whose slots need no write hook (a generational
// collector's nursery: every holder there is young), tested inline so that such stores
// skip the slow path. One range for the process: the first collector that claims it
// gets it, and the others' stores take the slow path, which is always correct.
extern std::atomic<uintptr_t> exempt_slots_begin;
extern std::atomic<uintptr_t> exempt_slots_size;
// True if the range was free and is now [begin, begin + size).
bool ClaimExemptSlots(const void* begin, size_t size);
// Gives the range back, if `begin` holds it.
void ReleaseExemptSlots(const void* begin);

[[gnu::noinline]] void WriteBarrierSlow(void** slot, void* old_value, void* new_value);
[[gnu::noinline]] void LoadBarrierSlow(void* const* slot, void* value);

// Called before `new_value` is stored into the Member or WeakMember at `slot`, which
// holds `old_value` (null when the Member is being constructed).
GCLAB_INLINE void WriteBarrier(void** slot, void* old_value, void* new_value) {
  if (__builtin_expect(kDebugChecks || write_barrier_heaps.load(std::memory_order_relaxed) != 0,
                       0)) {
    // Debug builds check every store on the slow path ([ref.member]).
    if (!kDebugChecks &&
        reinterpret_cast<uintptr_t>(slot) - exempt_slots_begin.load(std::memory_order_relaxed) <
            exempt_slots_size.load(std::memory_order_relaxed)) {
      return;
    }
    WriteBarrierSlow(slot, old_value, new_value);
  }
}

// Called when the program reads `value` out of a weak reference at `slot`.
GCLAB_INLINE void LoadBarrier(void* const* slot, void* value) {
  if (__builtin_expect(load_barrier_heaps.load(std::memory_order_relaxed) != 0, 0)) {
    LoadBarrierSlow(slot, value);
  }
}

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_BARRIER_H_
