// gclab internal: evacuating a slot a few slots after seeing it, its target prefetched.
//
// A copying collector's cost per surviving object is dominated by one cache miss: the
// read of the object's header (is it forwarded? how large?) when a slot leads to it.
// Inside Drain, the slots a traced object holds are in memory that no longer moves
// (a copy, an old object, a large object), so their evacuation can wait: a visitor puts
// each slot into this ring, prefetching its target's header, and evacuates the slot
// that leaves the ring kDepth slots later, when the header is usually in cache. The
// same idea as mark-sweep's prefetching worklist FIFO (mark_sweep.cc, Drain), for
// slots instead of objects. gen-copy's evacuation uses it: binary-trees 21 spent 20%
// less time in collections. Semispace's Cheney scan got slower with it (binary-trees
// 13.0 s to 16.2 s, medians of three alternated runs), and does not.
//
// Only Drain defers: a slot visited outside it (a root, a hook's slot, an ephemeron
// value the weak processor traces between passes) is evacuated at once, because its
// visitor may read the new address right after. Drain empties the ring before it
// returns. A slot that reaches the ring twice holds the copy by the time its second
// entry leaves, so the visitor checks where a slot points when it processes it.
//
//   DeferredSlots<8> ring;
//   if (void** ready = ring.Push(slot)) Evacuate(ready);   // while tracing
//   while (void** ready = ring.Pop()) Evacuate(ready);     // at the end of Drain
#ifndef GCLAB_GC_INTERNAL_DEFERRED_SLOTS_H_
#define GCLAB_GC_INTERNAL_DEFERRED_SLOTS_H_

#include <cstddef>

#include "gc/internal/object_header.h"

namespace gclab::internal {

template <size_t kDepth>
class DeferredSlots {
 public:
  // Holds `slot`, whose target's header it prefetches; returns the slot that leaves
  // the ring to be evacuated now, or null while the ring fills.
  void** Push(void** slot) {
    __builtin_prefetch(ObjectHeader::FromPayload(*slot));
    if (count_ < kDepth) {
      ring_[(head_ + count_++) % kDepth] = slot;
      return nullptr;
    }
    void** oldest = ring_[head_];
    ring_[head_] = slot;
    head_ = (head_ + 1) % kDepth;
    return oldest;
  }
  // The oldest slot held, or null when none is.
  void** Pop() {
    if (count_ == 0) return nullptr;
    void** oldest = ring_[head_];
    head_ = (head_ + 1) % kDepth;
    --count_;
    return oldest;
  }
  bool empty() const { return count_ == 0; }

 private:
  void** ring_[kDepth];
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_DEFERRED_SLOTS_H_
