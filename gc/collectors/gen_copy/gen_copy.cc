// gclab: the generational copying collector (README.md here; gc/DESIGN.md [gen]).
//
// Small objects are born in a nursery, a region filled by bumping a pointer (inlined
// in the caller, as semispace's). Every collection, minor or major, evacuates the
// nursery: each reachable nursery object is copied into mark-sweep's pages, marked
// there (sticky marks: old), and the nursery starts empty again. The old space is
// mark-sweep's with sticky mark bits, so the rest is gen-mark-sweep's: a minor
// collection marks from the roots and the remembered set and stops at old objects; a
// major one marks the whole heap. Large objects are never copied: they are young until
// a collection marks them in place.
//
// A minor collection needs pages to promote into and cannot fail, so before the nursery
// is handed out, pages for all of it to survive are kept for the next collection
// (MarkSweepCollector::KeepPagesForCollection); when too few pages are free, the
// nursery shrinks for that round. Past the nursery, small objects are allocated young
// in the pages directly and marked in place, as gen-mark-sweep's are.
#include <algorithm>
#include <cstring>
#include <memory>

#include "gc/collectors/mark_sweep/mark_sweep.h"
#include "gc/internal/barrier.h"
#include "gc/internal/check.h"
#include "gc/internal/chunk_table.h"
#include "gc/internal/collector_registry.h"
#include "gc/internal/deferred_slots.h"
#include "gc/internal/object_starts.h"
#include "gc/internal/sanitizer.h"

namespace gclab::internal {
namespace {

class GenCopyCollector final : public MarkSweepCollector {
 public:
  GenCopyCollector(AllocationState& alloc, NurserySizing nursery)
      : MarkSweepCollector(alloc, /*sticky_marks=*/true), visitor_(*this) {
    set_nursery_sizing(nursery);
    set_tracer(&visitor_);
    alloc_.free_list_mode = false;  // the nursery is bump-allocated
  }

  absl::Status Init(size_t heap_limit) override {
    if (absl::Status s = MarkSweepCollector::Init(heap_limit); !s.ok()) return s;
    // Address space for the largest nursery; pages are touched as it grows.
    auto memory = ReserveObjectMemory(RoundUp(nursery_sizing().max(), kChunkSize), kChunkSize);
    if (!memory.ok()) return memory.status();
    nursery_ = std::move(*memory);
    if (absl::Status s = starts_.Init(nursery_.base(), nursery_.size()); !s.ok()) return s;
    // Stores into nursery objects need no barrier: exempt them inline if no other
    // heap has ([barrier.exempt]); otherwise SlotInYoungSpace turns them away.
    exempt_ = ClaimExemptSlots(nursery_.base(), nursery_.size());
    StartNursery();
    return absl::OkStatus();
  }
  ~GenCopyCollector() override {
    if (exempt_) ReleaseExemptSlots(nursery_.base());
  }

  ObjectHeader* AllocateSmall(size_t cell_size, uint64_t allowed, size_t* allocated) override {
    // The new buffer ends where the budget (or the nursery) does; the fast path fills it.
    if (ObjectHeader* header = alloc_.BumpNewBuffer(cell_size, allowed, nursery_end_)) {
      *allocated = cell_size;
      nursery_used_ = std::max(nursery_used_, static_cast<size_t>(alloc_.top - nursery_.base()));
      return header;
    }
    // The nursery is full (an allocation past the budget, in a constructor) or was
    // shrunk for want of pages: young in a page, marked in place by a minor collection.
    return MarkSweepCollector::AllocateSmall(cell_size, allowed, allocated);
  }

  void RegisterFinalizable(void* payload) override {
    if (!nursery_.Contains(payload)) return MarkSweepCollector::RegisterFinalizable(payload);
    if (__builtin_expect(!TryPushBack(finalizable_, payload), 0)) {
      finalizable_lost_ = true;  // [fault] the sweep walks the nursery instead
      ++side_table_fallbacks_;
    }
  }

  void Prepare(CollectionKind kind) override {
    nursery_top_ = alloc_.top;
    // No allocation during a cycle: an empty buffer sends any attempt to the slow path.
    alloc_.top = alloc_.limit = alloc_.counted_top = nullptr;
    promoted_bytes_ = promotion_growth_ = 0;
    MarkSweepCollector::Prepare(kind);
  }

  bool IsAlive(const void* payload) const override {
    return SurvivorAddress(const_cast<void*>(payload)) != nullptr;
  }
  void* CurrentAddress(void* payload) const override {
    if (!nursery_.Contains(payload)) return payload;
    const ObjectHeader* header = ObjectHeader::FromPayload(payload);
    GCLAB_DCHECK(header->is_forwarded(), "CurrentAddress of a dead object %p", payload);
    return header->forwardee();
  }
  void* SurvivorAddress(void* payload) const override {
    if (nursery_.Contains(payload)) {
      const ObjectHeader* header = ObjectHeader::FromPayload(payload);
      return header->is_forwarded() ? header->forwardee() : nullptr;
    }
    return MarkSweepCollector::IsAlive(payload) ? payload : nullptr;
  }

  SweepResult Sweep() override {
    // Dead nursery objects with destructors: the only dead ones a copying collection
    // visits. The copies of the survivors were registered with their pages.
    if (finalizable_lost_) {
      for (char* p = nursery_.base(); p < nursery_top_;) {
        auto* header = reinterpret_cast<ObjectHeader*>(p);
        if (header->is_forwarded()) {
          p += CellSizeOf(ObjectHeader::FromPayload(header->forwardee()));
          continue;
        }
        const TypeInfo* type = header->type();
        p += CellSizeOf(header, type);
        if (type->finalize != nullptr) type->finalize(header->payload());
      }
      finalizable_lost_ = false;
    } else {
      for (void* payload : finalizable_) {
        ObjectHeader* header = ObjectHeader::FromPayload(payload);
        if (!header->is_forwarded()) header->type()->finalize(payload);
      }
    }
    finalizable_.clear();
    // A promoted copy takes a cell of its size class: the allocator counts the growth,
    // so that bytes_allocated - bytes_freed is still the live bytes ([stats.independent]).
    alloc_.bytes_allocated += promotion_growth_;
    SweepResult result = MarkSweepCollector::Sweep();
    const size_t used = static_cast<size_t>(nursery_top_ - nursery_.base());
    result.freed_bytes += used - promoted_bytes_;
    if (zap_freed_) std::memset(nursery_.base(), kZapByte, used);
    starts_.Reset();
    StartNursery();
    return result;
  }

  void ReleaseMemory(size_t keep_bytes) override { MarkSweepCollector::ReleaseMemory(keep_bytes); }

  bool Contains(const void* payload) const override {
    if (nursery_.Contains(payload)) return starts_.IsPayload(payload, NurseryTop());
    return MarkSweepCollector::Contains(payload);
  }
  bool SmallSpaceContains(const void* address) const override {
    return nursery_.Contains(address) || MarkSweepCollector::SmallSpaceContains(address);
  }
  void* SmallHolderOf(const void* address) const override {
    if (nursery_.Contains(address)) return starts_.HolderOf(address, NurseryTop());
    return MarkSweepCollector::SmallHolderOf(address);
  }
  // A nursery address past the allocation pointer: an object there was evacuated.
  bool IsOldAddress(const void* address) const override {
    return nursery_.Contains(address) && alloc_.top != nullptr && address >= alloc_.top;
  }
  void ForEachObject(const std::function<void(ObjectHeader*, size_t)>& f) override {
    MarkSweepCollector::ForEachObject(f);
    for (char* p = nursery_.base(); p < alloc_.top;) {
      auto* header = reinterpret_cast<ObjectHeader*>(p);
      const size_t size = CellSizeOf(header);
      p += size;
      f(header, size);
    }
  }
  size_t committed_bytes() const override {
    return MarkSweepCollector::committed_bytes() + RoundUp(nursery_used_, kOsPageSize);
  }

  bool IsYoung(const void* payload) const override {
    return nursery_.Contains(payload) || MarkSweepCollector::IsYoung(payload);
  }

  // The slots that the objects Drain traces hold into the nursery are evacuated a few
  // slots later, their targets prefetched (internal/deferred_slots.h).
  void Drain() override {
    visitor_.set_deferring(true);
    do {
      MarkSweepCollector::Drain();
    } while (visitor_.Flush());  // evacuations that queue more objects to trace
    visitor_.set_deferring(false);
  }

 protected:
  bool SlotInYoungSpace(const void* slot) const override { return nursery_.Contains(slot); }

 private:
  // Marks old-space objects as mark-sweep's visitor does, and evacuates nursery ones,
  // inside Drain through a DeferredSlots ring.
  class EvacuatingVisitor final : public CollectorVisitor {
   public:
    explicit EvacuatingVisitor(GenCopyCollector& owner) : CollectorVisitor(owner), owner_(owner) {}
    void VisitSlot(void** slot) override {
      if (deferring_ && owner_.nursery_.Contains(*slot)) {
        if (void** ready = deferred_.Push(slot)) Process(ready);
      } else {
        Process(slot);
      }
    }
    void set_deferring(bool deferring) { deferring_ = deferring; }
    // Evacuates the slots still deferred; true if there were any.
    bool Flush() {
      const bool any = !deferred_.empty();
      while (void** slot = deferred_.Pop()) Process(slot);
      return any;
    }

   private:
    // Evacuates or marks what `slot` holds now: a slot that was deferred twice holds
    // the copy by its second turn.
    void Process(void** slot) {
      if (owner_.nursery_.Contains(*slot)) {
        owner_.Evacuate(slot);
      } else {
        owner_.MarkSlot(slot);
      }
    }

    GenCopyCollector& owner_;
    bool deferring_ = false;
    DeferredSlots<8> deferred_;
  };

  // The end of the nursery's objects (during a cycle, as it was when the cycle began).
  const char* NurseryTop() const { return alloc_.top != nullptr ? alloc_.top : nursery_top_; }

  void Evacuate(void** slot) {
    ObjectHeader* header = ObjectHeader::FromPayload(*slot);
    if (header->is_forwarded()) {
      *slot = header->forwardee();
      return;
    }
    if constexpr (kDebugChecks) {
      GCLAB_CHECK(static_cast<char*>(*slot) < nursery_top_ && !header->is_free(),
                  "a Member or root points to %p, which is not an object of this heap", *slot);
    }
    if (header->is_pending_key()) weak().NoteKeyReached(header);  // restores the header
    const TypeInfo* type = header->type();
    const size_t size = CellSizeOf(header, type);
    size_t cell = 0;
    // Pages for this were kept when the nursery was handed out (StartNursery).
    ObjectHeader* copy = MarkSweepCollector::AllocateSmall(size, UINT64_MAX, &cell);
    GCLAB_CHECK(copy != nullptr,
                "gen-copy: no page to promote a %zu-byte object into, although pages for the "
                "whole nursery were kept for this collection",
                size);
    CopyObject(copy, header);
    header->set_forwardee(copy->payload());
    Mark(copy->payload());
    if (type->finalize != nullptr) MarkSweepCollector::RegisterFinalizable(copy->payload());
    promoted_bytes_ += size;
    promotion_growth_ += cell - size;
    *slot = copy->payload();
    Push(copy);
  }

  // An empty nursery, as large as the pages kept for its survivors allow.
  void StartNursery() {
    // A promoted object takes a cell of its size class, at most 5/4 of its size (gc/
    // internal/size_classes.h); a page of a class holds at least kUsable bytes of
    // cells; and each class may need one page of its own beyond that.
    constexpr size_t kUsable = kPageSize - kMaxSmallCell;
    const size_t spare_pages =
        FreePages() > kNumSizeClasses + 1 ? FreePages() - kNumSizeClasses - 1 : 0;
    size_t capacity = std::min(nursery_.size(), spare_pages * kUsable / 5 * 4);
    capacity = std::min(capacity, nursery_bytes()) / kAllocationGranule * kAllocationGranule;
    const size_t pages =
        capacity == 0 ? 0 : (capacity / 4 * 5 + kUsable - 1) / kUsable + kNumSizeClasses + 1;
    if (!KeepPagesForCollection(pages)) {
      // [fault] No memory for the page tables: no nursery this round.
      capacity = 0;
      KeepPagesForCollection(0);
    }
    nursery_end_ = nursery_.base() + capacity;
    alloc_.top = alloc_.limit = alloc_.counted_top = nursery_.base();
  }

  VirtualMemory nursery_;
  ObjectStarts starts_;
  char* nursery_end_ = nullptr;  // of this round's nursery (StartNursery)
  char* nursery_top_ = nullptr;  // end of the nursery's objects, during a cycle
  size_t nursery_used_ = 0;      // the most of the nursery ever used (committed)
  size_t promoted_bytes_ = 0;    // of nursery objects, this cycle
  size_t promotion_growth_ = 0;  // bytes their size-class cells add
  // Nursery objects with destructors (side-table memory). One this list has no room
  // for makes the sweep walk the nursery.
  SideVector<void*> finalizable_;
  bool finalizable_lost_ = false;
  bool exempt_ = false;  // holds the process's exempt range ([barrier.exempt])
  EvacuatingVisitor visitor_;
};

const CollectorRegistrar kRegistrar(NurseryRegistration<GenCopyCollector>(
    {.name = "gen-copy",
     .summary = "generational: a bump nursery evacuated into sticky-mark mark-sweep pages",
     .folder = "gc/collectors/gen_copy",
     .capabilities = {.moves_objects = true, .write_barrier = true, .generational = true}},
    /*default_nursery=*/uint64_t{4} << 20, /*default_nursery_max=*/uint64_t{64} << 20));

}  // namespace
}  // namespace gclab::internal
