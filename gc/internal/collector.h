// gclab internal: the interface every collector implements.
//
// The heap (HeapImpl) owns the cycle: it calls these methods in the fixed order of
// gc/DESIGN.md and runs the hooks between them. A collector owns its spaces, the
// marking or copying visitor, and the allocation fast-path state it hands to the
// heap. Adding a collector: a folder gc/collectors/<name>/ with one class deriving
// from Collector and its registration (internal/collector_registry.h).
//
// Call order within one cycle:
//   1. Prepare(kind)      abandon allocation buffers, flip spaces, reset counters; a
//                         minor collection (only for a generational collector) also
//                         queues the remembered set
//   2. marking_visitor()  the heap visits every root slot with it
//   3. Drain()            transitive closure; called again after each hook marks
//   4. IsAlive(), CurrentAddress()   valid from Prepare() to the end of Sweep(); while
//                         marking is still going on, IsAlive answers "reached so
//                         far" (RecordEphemeron asks it of keys), and the answer is
//                         final only for objects that nothing will mark later
//   5. weak().ClearWeakReferences()  weak slots, ephemerons and weak callbacks (the
//                         shared component, weak_processor.h); then the heap's weak
//                         containers
//   6. Sweep()            reclaim; afterwards every object kept is live (a sticky-mark
//                         collector keeps its marks: they say "old", [gen.sticky])
//   7. ReleaseMemory(b)   return memory to the OS, keeping what the live data and
//                         the next allocation budget `b` will need
//
// Weak references are one mechanism for every collector, a component of its own
// (weak_processor.h) that asks the collector only what WeakProcessor::Host offers:
// is it alive, where is it now, reach this slot. The collectors' marking visitors
// derive from CollectorVisitor, which hands it weak slots, ephemerons and weak
// callbacks, and a collector calls weak().NoteKeyReached() when it reaches an object
// whose header has the pending-key bit (mark-sweep when it traces it, semispace when it
// copies it), before it reads anything else from that header, and
// weak().ResolveReachedKeys() from its Drain loop.
#ifndef GCLAB_GC_INTERNAL_COLLECTOR_H_
#define GCLAB_GC_INTERNAL_COLLECTOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gc/collectors.h"
#include "gc/heap.h"
#include "gc/internal/allocation_state.h"
#include "gc/internal/chunked_vector.h"
#include "gc/internal/large_object_space.h"
#include "gc/internal/side_table.h"
#include "gc/internal/virtual_memory.h"
#include "gc/internal/weak_processor.h"
#include "gc/visitor.h"

namespace gclab::internal {

class Collector : public WeakProcessor::Host {
 public:
  explicit Collector(AllocationState& alloc) : alloc_(alloc) { large_.set_owner(this); }
  virtual ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // From the collector's registration (set by the heap right after the factory).
  const CollectorInfo& info() const { return *info_; }
  void set_info(const CollectorInfo* info) { info_ = info; }
  std::string_view name() const { return info_->name; }
  // The heap this collector serves (Heap::Of).
  Heap* heap() const { return heap_; }
  void set_heap(Heap* heap) { heap_ = heap; }
  bool moves_objects() const { return info_->capabilities.moves_objects; }
  // Reserves the collector's spaces for a heap of `heap_limit` bytes.
  virtual absl::Status Init(size_t heap_limit) = 0;

  // --- Barriers (gc/DESIGN.md [barrier]), called only if the registration's
  // capabilities ask for them or incremental marking is in progress
  // (incremental_marking()), for slots in this collector's memory, inside and
  // outside collections (a weak callback may store or read a Member).
  // Before `new_value` is stored into the Member at `slot`, which held `old_value`
  // (null when the Member is being constructed).
  virtual void WriteBarrier(void** slot, void* old_value, void* new_value) {
    (void)slot, (void)old_value, (void)new_value;
  }
  // The program read `value` out of the weak reference at `slot`.
  virtual void LoadBarrier(void* const* slot, void* value) { (void)slot, (void)value; }
  // The payload of the object whose cell holds `address` (a slot of a barrier), or
  // null if no allocated object's cell does. Outside collections; for barriers that
  // remember objects rather than slots, and for checks.
  void* HolderOf(const void* address) const;

  // A small cell of at least `cell_size` (<= kMaxSmallCell) bytes, its actual size
  // in `*allocated`; or null when the spaces have no room for it. A bump-mode
  // collector must not hand out more than `allowed` bytes before the heap's slow path
  // runs again.
  virtual ObjectHeader* AllocateSmall(size_t cell_size, uint64_t allowed, size_t* allocated) = 0;
  // A large object is allocated marked while incremental marking is in progress.
  ObjectHeader* AllocateLarge(size_t cell_size) {
    ObjectHeader* header = large_.Allocate(cell_size);
    if (header != nullptr && incremental_marking_ && LargeObjectSpace::Mark(header)) {
      CountMarked(LargeObjectSpace::CellSize(header));
    }
    return header;
  }
  // Small objects (cells of at most kMaxSmallCell bytes) with a destructor, for
  // collectors that do not visit dead small cells. Never called for large objects:
  // LargeObjectSpace::Sweep destroys the dead ones itself.
  virtual void RegisterFinalizable(void* payload) { (void)payload; }
  // Whether the heap must call RegisterFinalizable.
  virtual bool needs_finalizable_registry() const { return false; }

  // `kind` is always kMajor unless the registration says generational.
  virtual void Prepare(CollectionKind kind) = 0;
  virtual Visitor& marking_visitor() = 0;
  virtual void Drain() = 0;
  // Reached (marked or copied) in this cycle so far; see the call order above.
  virtual bool IsAlive(const void* payload) const = 0;
  // Where a reached object is now (its copy, for a moving collector).
  virtual void* CurrentAddress(void* payload) const = 0;
  // CurrentAddress(payload) if IsAlive(payload), else null: a weak reference's new
  // value, in one call.
  virtual void* SurvivorAddress(void* payload) const = 0;
  virtual SweepResult Sweep() = 0;
  // --- Lazy sweeping (gc/DESIGN.md [incr.lazy]). Sweep() for an incremental cycle:
  // counts what the cycle freed as Sweep() does, but may leave pages to be swept
  // later, by SweepStep (which the heap paces by allocation and Heap::Step), on demand
  // by allocation, or by FinishSweeping (Prepare calls it: the next cycle starts on a
  // swept heap). Until a page is swept its dead objects are not objects: Contains,
  // HolderOf and ForEachObject pass over them. Destructors still run in the final
  // pause: pages holding objects with one are swept there.
  virtual SweepResult SweepLazily() { return Sweep(); }
  // Sweeps pages of about `budget` bytes in all (at least one page); true when none is
  // left to sweep.
  virtual bool SweepStep(size_t budget) {
    (void)budget;
    return true;
  }
  virtual bool sweep_pending() const { return false; }
  virtual void FinishSweeping() {}
  // Pages swept after their cycle ended, in the life of the heap: the heap compares
  // it around an allocation to see whether the allocation swept.
  virtual uint64_t pages_swept_lazily() const { return 0; }
  virtual void ReleaseMemory(size_t keep_bytes) = 0;
  // [incr.lazy] ReleaseMemory in steps after an incremental cycle: returns at most
  // about `budget` bytes (at least one page's worth); true when nothing is left to
  // return.
  virtual bool ReleaseMemoryStep(size_t keep_bytes, size_t budget) {
    (void)budget;
    ReleaseMemory(keep_bytes);
    return true;
  }

  // True for a payload address of an allocated object (outside a cycle).
  virtual bool Contains(const void* payload) const = 0;
  // Whether `address` lies in the collector's small-object spaces, and HolderOf for
  // such an address.
  virtual bool SmallSpaceContains(const void* address) const = 0;
  virtual void* SmallHolderOf(const void* address) const = 0;
  // True for an address where an object was before the last collection moved it (a
  // copying collector's old space): a quick test for stale raw pointers.
  virtual bool IsOldAddress(const void* address) const {
    (void)address;
    return false;
  }
  // Every allocated object with its cell size (outside a cycle; after a Sweep: every
  // live object).
  virtual void ForEachObject(const std::function<void(ObjectHeader*, size_t)>& f) = 0;
  // Every object the cycle's marking reached (copied), at its current address: valid
  // from the end of marking to Sweep. A slow walk, for the weak-callback fallback
  // ([fault]).
  virtual void ForEachMarkedObject(const std::function<void(ObjectHeader*)>& f) = 0;
  // Memory held from the OS now; O(1), sampled on every slow-path allocation.
  virtual size_t committed_bytes() const = 0;

  // [incr.gen] Ahead of an incremental major cycle, for a collector whose marks outlive
  // its cycles (sticky marks, [gen.sticky]): clears the marks of pages of about
  // `budget` bytes in all (at least one page with marks), after finishing the lazy
  // sweep, so that the start pause has few left to clear; true when none is left.
  // From the first step the marks no longer say what is old: NeedsMajorCollection()
  // is true until the next major cycle starts. The base class has nothing to clear.
  virtual bool ClearMarksStep(size_t budget) {
    (void)budget;
    return true;
  }

  // --- Generations (gc/DESIGN.md [gen]), for a generational registration.
  // Bytes of allocation between minor collections; 0: every collection is major.
  virtual size_t nursery_bytes() const { return 0; }
  // The next collection must be major (the remembered set lost an entry: [fault]).
  virtual bool NeedsMajorCollection() const { return false; }
  // Outside a cycle, for the payload of an allocated object: a minor collection would
  // reclaim it if unreachable. The heap's checks ask it ([gen.verify]).
  virtual bool IsYoung(const void* payload) const {
    (void)payload;
    return false;
  }
  // Outside a cycle: the old object at `payload` is in the remembered set, so the next
  // minor collection traces its fields.
  virtual bool IsRemembered(const void* payload) const {
    (void)payload;
    return false;
  }

  // Bytes of the spaces free but usable only by some sizes, as of the last Sweep
  // (HeapStatistics::fragmented_bytes). Zero for spaces that compact.
  virtual size_t fragmented_bytes() const { return 0; }
  // Why AllocateSmall or AllocateLarge returned null for `cell_size` although the
  // heap limit had room for it: one clause for the out-of-memory status.
  virtual std::string DescribeAllocationFailure(size_t cell_size) const;

  // --- Incremental marking (gc/DESIGN.md [incr]), for a registration whose
  // capabilities say `incremental`. One cycle, as the heap runs it:
  //   start pause:  Prepare(kMajor); the roots visited; BeginIncrementalMarking();
  //   steps:        MarkStep(budget), any number, the program running in between:
  //                 its stores reach WriteBarrier, its weak reads LoadBarrier, and
  //                 every object it allocates is marked as it is allocated;
  //   final pause:  the roots visited again; Drain(); EndIncrementalMarking(); then
  //                 phases 3 to 8 as in an atomic cycle (the weak fixpoint drains
  //                 with the barriers off).
  // Or, instead of the final pause, AbandonIncrementalMarking(): the marks are
  // dropped, and the next Prepare starts afresh (an explicit full collection does
  // this). The base class's versions serve a collector that cannot mark
  // incrementally, which the heap never asks.
  virtual void BeginIncrementalMarking() { incremental_marking_ = true; }
  // Traces objects until about `budget` bytes of them have been traced, or none is
  // left; true when none is left (every grey object traced, every reached ephemeron
  // key resolved).
  virtual bool MarkStep(size_t budget) {
    (void)budget;
    Drain();
    return true;
  }
  // Grey objects wait to be traced (the write barrier greys more after a step found
  // none left).
  virtual bool HasMarkingWork() const { return false; }
  virtual void EndIncrementalMarking() { incremental_marking_ = false; }
  virtual void AbandonIncrementalMarking() { incremental_marking_ = false; }
  // Between BeginIncrementalMarking and its end: the barriers are on, and allocation
  // is black.
  bool incremental_marking() const { return incremental_marking_; }
  // [incr.pace] Bytes the heap's pacing traces per byte allocated while marking (the
  // option marking-rate, IncrementalRegistration).
  double marking_rate() const { return marking_rate_; }
  void set_marking_rate(double rate) { marking_rate_ = rate; }

  // What the last marking found: bytes and objects reached, large ones included.
  size_t marked_bytes() const { return marked_bytes_; }
  size_t marked_objects() const { return marked_objects_; }

  // --- Weak references and ephemerons: one component for every collector
  // (weak_processor.h), which asks this collector what it needs through
  // WeakProcessor::Host.
  WeakProcessor& weak() { return weak_; }
  const WeakProcessor& weak() const { return weak_; }
  // HeapOptions::huge_pages, set before Init (ReserveObjectMemory reads it).
  void set_huge_pages(bool huge) { huge_pages_ = huge; }
  // StressOptions::zap_freed: the sweep fills what it frees with kZapByte (and
  // poisons free small cells under ASan; internal/sanitizer.h), and unmaps every dead
  // large object at once instead of keeping its mapping for reuse.
  void set_zap_freed(bool zap) {
    zap_freed_ = zap;
    large_.set_keep_released(!zap);
  }
  // Times a side table found no memory and the collector (or its weak processor)
  // took its fallback path, in the life of the heap
  // (HeapStatistics::side_table_fallbacks).
  size_t side_table_fallbacks() const { return side_table_fallbacks_ + weak_.fallbacks(); }
  // WeakProcessor::Host: reaching a slot is what the marking visitor does.
  void TraceStrongly(void** slot) final { marking_visitor().VisitSlot(slot); }

 protected:
  void ResetMarkCounters() { marked_bytes_ = marked_objects_ = 0; }
  void CountMarked(size_t cell_size) {
    marked_bytes_ += cell_size;
    marked_objects_ += 1;
  }

  // Registers [start, start + size) (whole chunks) as this collector's object memory
  // in the process-wide ChunkTable, for the barriers' slow path; unregistered when
  // the collector is destroyed. ResourceExhausted if no memory is left for the table.
  absl::Status RegisterObjectMemory(const void* start, size_t size);
  // A reservation of `size` bytes (a whole number of chunks) for small objects,
  // registered as above; with HeapOptions::huge_pages, aligned to a huge page and
  // advised to use them (VirtualMemory::AdviseHugePages). The spaces that fill their
  // memory densely from the bottom (pages, a nursery, semispaces) reserve it here.
  absl::StatusOr<VirtualMemory> ReserveObjectMemory(size_t size, size_t alignment);

  AllocationState& alloc_;
  LargeObjectSpace large_;
  bool zap_freed_ = false;
  bool huge_pages_ = false;
  bool incremental_marking_ = false;
  double marking_rate_ = 16;
  size_t side_table_fallbacks_ = 0;
  size_t marked_bytes_ = 0;
  size_t marked_objects_ = 0;

 private:
  const CollectorInfo* info_ = nullptr;
  Heap* heap_ = nullptr;
  struct Range {
    const void* start;
    size_t size;
  };
  SideVector<Range> object_memory_;  // registered in the ChunkTable
  WeakProcessor weak_{*this};
};

// Base of the collectors' marking visitors: the weak parts are shared.
class CollectorVisitor : public Visitor {
 public:
  explicit CollectorVisitor(Collector& collector) : collector_(collector) {}
  void VisitWeakSlot(void** slot) final { collector_.weak().RecordWeakSlot(slot); }
  void VisitEphemeron(void** key_slot, void** value_slot) final {
    collector_.weak().RecordEphemeron(key_slot, value_slot);
  }
  void VisitWeakCallback(WeakCallback callback, void* object) final {
    collector_.weak().RecordWeakCallback(callback, object);
  }

 private:
  Collector& collector_;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_COLLECTOR_H_
