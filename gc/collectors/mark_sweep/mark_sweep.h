// gclab: the mark-sweep collector (non-moving).
//
// Small objects live in 256 KiB pages, each page holding cells of one size class
// (gc/internal/size_classes.h); large objects live in the shared large-object space.
// Allocation pops a cell from a per-class free list, inlined in the caller.
//
// Marking uses a side bitmap per page (one bit per 8-byte granule) and an explicit
// worklist, never recursing on the C stack: deciding whether an object is marked
// touches only the bitmap, and the object itself is read once, when it is traced
// (and prefetched when it is queued); an object the worklist has no memory for is noted
// in an overflow bitmap and traced later (gc/DESIGN.md [fault]). Each page counts its
// marked cells, so the eager
// sweep that follows skips pages that are entirely live, returns pages that are
// entirely dead to a pool shared by all size classes without touching them (unless an
// object with a destructor was allocated there), and threads the dead cells of the
// remaining pages onto their free lists. Pool pages beyond the next allocation budget
// are returned to the OS.
//
// Objects never move, so raw pointers stay valid while the object is alive; Members
// are never rewritten. See README.md in this folder for its guarantees and costs.
//
// Incremental marking (gc/DESIGN.md [incr]): the same space serves
// incremental-mark-sweep, and with sticky marks incremental-gen-mark-sweep ([incr.gen]:
// ClearMarksStep clears the old marks ahead of a cycle). MarkStep is Drain stopped
// after a budget, WriteBarrier and
// LoadBarrier grey what the program stores and reads weakly while marking is in
// progress, and black allocation marks a page's free cells when the allocator takes it.
//
// Sticky mark bits (gc/DESIGN.md [gen.sticky]): constructed with `sticky_marks`, the
// same space serves a generational collector (gc/collectors/gen_mark_sweep). Marks
// then outlive the sweep: a marked object is old, an unmarked one young. A major
// collection clears the marks first; a minor one keeps them, so its marking stops at
// old objects, starts from the roots and from the remembered set the write barrier
// fills, and its sweep visits only the pages the allocator took since the last
// collection.
#ifndef GCLAB_GC_COLLECTORS_MARK_SWEEP_MARK_SWEEP_H_
#define GCLAB_GC_COLLECTORS_MARK_SWEEP_MARK_SWEEP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gc/internal/collector.h"
#include "gc/internal/nursery_sizing.h"
#include "gc/internal/size_classes.h"
#include "gc/internal/virtual_memory.h"

namespace gclab::internal {

class MarkSweepCollector : public Collector {
 public:
  static constexpr size_t kPageSize = 256 * 1024;

  explicit MarkSweepCollector(AllocationState& alloc, bool sticky_marks = false);

  absl::Status Init(size_t heap_limit) override;

  ObjectHeader* AllocateSmall(size_t cell_size, uint64_t allowed, size_t* allocated) override;

  void Prepare(CollectionKind kind) override;
  Visitor& marking_visitor() override { return *tracer_; }
  void Drain() override { DrainFor<false>(0); }
  // Incremental marking ([incr]): black allocation hands out pages whose free cells
  // are marked in advance; EndIncrementalMarking takes the marks off the cells that
  // stayed free.
  void BeginIncrementalMarking() override;
  bool MarkStep(size_t budget) override { return DrainFor<true>(budget); }
  bool HasMarkingWork() const override {
    return !worklist_.empty() || overflowed_ || weak().has_reached_keys();
  }
  void EndIncrementalMarking() override;
  void AbandonIncrementalMarking() override;
  void LoadBarrier(void* const* slot, void* value) override;
  bool IsAlive(const void* payload) const override;
  void RegisterFinalizable(void* payload) override;
  bool needs_finalizable_registry() const override { return true; }
  void* CurrentAddress(void* payload) const override { return payload; }
  void* SurvivorAddress(void* payload) const override {
    return MarkSweepCollector::IsAlive(payload) ? payload : nullptr;
  }
  SweepResult Sweep() override;
  // [incr.lazy] Pages with survivors and no destructors are left unswept.
  SweepResult SweepLazily() override;
  bool SweepStep(size_t budget) override;
  bool sweep_pending() const override { return unswept_count_ != 0; }
  void FinishSweeping() override;
  uint64_t pages_swept_lazily() const override { return pages_swept_lazily_; }
  void ReleaseMemory(size_t keep_bytes) override { (void)ReleaseMemoryStep(keep_bytes, SIZE_MAX); }
  bool ReleaseMemoryStep(size_t keep_bytes, size_t budget) override;
  size_t fragmented_bytes() const override { return fragmented_bytes_; }
  std::string DescribeAllocationFailure(size_t cell_size) const override;

  bool Contains(const void* payload) const override;
  bool SmallSpaceContains(const void* address) const override {
    return memory_.Contains(address);
  }
  void* SmallHolderOf(const void* address) const override;
  void ForEachObject(const std::function<void(ObjectHeader*, size_t)>& f) override;
  void ForEachMarkedObject(const std::function<void(ObjectHeader*)>& f) override;
  size_t committed_bytes() const override;

  // Generations, with sticky marks ([gen.sticky]).
  void WriteBarrier(void** slot, void* old_value, void* new_value) override;
  size_t nursery_bytes() const override { return nursery_sizing_.bytes(); }
  bool NeedsMajorCollection() const override { return remembered_overflowed_ || marks_dropped_; }
  bool IsYoung(const void* payload) const override {
    return sticky_ && !MarkSweepCollector::IsAlive(payload);
  }
  bool IsRemembered(const void* payload) const override;
  bool ClearMarksStep(size_t budget) override;

 protected:
  // --- For a generational collector built on this space (gen-copy: a nursery in
  // front of it).
  // The nursery's bounds; Sweep resizes it after each minor collection
  // ([gen.nursery.size]).
  void set_nursery_sizing(NurserySizing sizing) { nursery_sizing_ = sizing; }
  const NurserySizing& nursery_sizing() const { return nursery_sizing_; }
  // The visitor Drain traces objects with (this space's marking visitor by default).
  void set_tracer(CollectorVisitor* tracer) { tracer_ = tracer; }
  bool in_cycle() const { return in_cycle_; }
  // Marks the object `*slot` names (a small object of this space or a large one) and
  // queues it to be traced, if it was not marked.
  void MarkSlot(void** slot);
  // Sets the mark of the small object at `payload`, counting it; true if it was clear.
  GCLAB_INLINE bool Mark(const void* payload);
  // Queues a marked object to be traced by Drain.
  void Push(ObjectHeader* header) {
    if (__builtin_expect(!worklist_.TryPush(header), 0)) NoteOverflow(header);
  }
  // A slot in memory whose objects are all young (a nursery): the write barrier skips it.
  virtual bool SlotInYoungSpace(const void* slot) const {
    (void)slot;
    return false;
  }
  // Pages of the reservation not in use (never used, or in the pool).
  size_t FreePages() const { return (page_limit_ - pages_.size()) + empty_pages_.size(); }
  // Keeps `pages` free pages out of reach of allocation outside a cycle, and room in the
  // page tables for them, so that a collection can take them without asking for memory
  // (gen-copy's promotions). False, with nothing kept, if the tables cannot grow.
  bool KeepPagesForCollection(size_t pages);

 private:
  static constexpr size_t kGranulesPerPage = kPageSize / kAllocationGranule;
  static constexpr size_t kBitmapWords = kGranulesPerPage / 64;

  struct Page {
    FreeCell* free_list = nullptr;  // cells not yet handed to the allocator
    int16_t size_class = -1;        // -1: empty, in the pool
    bool committed = false;         // touched since last returned to the OS
    bool has_finalizers = false;    // an object with a destructor was allocated here
    bool young = false;             // handed to the allocator since the last collection
    // Taken from the pool since the last collection, outside a cycle: every object in
    // it is young, so a store into it needs no remembering ([gen.barrier]).
    bool all_young = false;
    // Handed to the allocator during incremental marking: its free cells were marked
    // then ([incr.black]), and EndIncrementalMarking unmarks those still free.
    bool black = false;
    // [incr.lazy] Left unswept by SweepLazily: its marks still tell its live cells
    // from its dead ones, whose headers are not yet cleared.
    bool unswept = false;
    // [incr.gen] Its marks were cleared ahead of the coming major cycle
    // (ClearMarksStep): that cycle's Prepare has none left to clear here.
    bool marks_cleared = false;
    uint32_t cell_size = 0;
    uint32_t live_cells = 0;        // marked in the current cycle
    // Cells not allocated. Exact except for the one page per size class whose free
    // list the allocator holds (allocating_page_), settled in Prepare().
    uint32_t free_cells = 0;
    // Cells [0, frontier) have been allocated at some point and have valid headers;
    // the rest have never been used and are bump-allocated. For the page the
    // allocator holds, the live frontier is its class_top (see Frontier()).
    uint32_t frontier = 0;
    uint32_t cells() const { return static_cast<uint32_t>(kPageSize / cell_size); }
  };
  static constexpr size_t kNoPage = ~size_t{0};

  class MarkingVisitor final : public CollectorVisitor {
   public:
    explicit MarkingVisitor(MarkSweepCollector& owner) : CollectorVisitor(owner), owner_(owner) {}
    void VisitSlot(void** slot) override;

   private:
    MarkSweepCollector& owner_;
  };

  char* PageStart(size_t index) const { return memory_.base() + index * kPageSize; }
  // The index of the page in use that holds `address`, or kNoPage if none does.
  size_t PageIndexOf(const void* address) const {
    if (!memory_.Contains(address)) return kNoPage;
    const size_t index =
        static_cast<size_t>(static_cast<const char*>(address) - memory_.base()) / kPageSize;
    return index < pages_.size() ? index : kNoPage;
  }
  uint64_t* MarkBits(size_t index) const { return mark_bits_ + index * kBitmapWords; }
  uint64_t* OverflowBits(size_t index) const { return overflow_bits_ + index * kBitmapWords; }
  uint64_t* RememberedBits(size_t index) const { return remembered_bits_ + index * kBitmapWords; }
  // The bitmap word and bit of the cell starting `in_page` bytes into page `index`.
  struct MarkBit {
    uint64_t* word;
    uint64_t bit;
  };
  MarkBit MarkBitAt(size_t index, size_t in_page) const {
    size_t granule = in_page / kAllocationGranule;
    return {MarkBits(index) + granule / 64, uint64_t{1} << (granule % 64)};
  }
  MarkBit MarkBitOf(const void* payload) const {
    size_t offset = static_cast<size_t>(static_cast<const char*>(payload) - memory_.base()) -
                    kHeaderSize;
    return MarkBitAt(offset / kPageSize, offset % kPageSize);
  }
  // The bit of the small object whose header is at `header` in the bitmap `bits` (one
  // of the three above, by page).
  MarkBit BitOf(uint64_t* (MarkSweepCollector::*bits)(size_t) const, const void* header) const {
    const size_t offset = static_cast<size_t>(static_cast<const char*>(header) - memory_.base());
    const size_t granule = offset % kPageSize / kAllocationGranule;
    return {(this->*bits)(offset / kPageSize) + granule / 64, uint64_t{1} << (granule % 64)};
  }
  bool Refill(int size_class);
  bool TakeEmptyPage(size_t* index);
  void InitPage(size_t index, int size_class);
  // Hands page `index` to the allocator: its free list, then its unused tail.
  void HandOut(size_t index);
  // Takes back the pages whose lists the allocator holds, counting their free cells.
  void ReleaseAllocatingPages();
  uint32_t Frontier(size_t index) const;
  // [incr.black] Marks every free cell of page `index` (its free list and its unused
  // tail), counting them as marked, as the allocator takes the page during
  // incremental marking; UnmarkFreeCells takes the marks and counts off again from
  // those still free when marking ends (on the allocator's list and in its tail: only
  // the page it holds has any).
  void MarkFreeCells(size_t index);
  void UnmarkFreeCells(size_t index);
  // Drain, or with kBounded a step: stops once `budget` bytes of objects have been
  // traced. True when no work is left.
  template <bool kBounded>
  bool DrainFor(size_t budget);
  // Free cells of page `index` now, including those on the allocator's list if it
  // holds the page.
  uint32_t FreeCells(size_t index) const;
  // Clears the marks of page `index` and its count of them: live_cells counts the set
  // bits, so a page with none is not written (its bitmap may never have been touched).
  // True if it had any.
  bool ClearPageMarks(size_t index);
  // Sweeps page `index`: SweepPageCells, then (without sticky marks) clears its marks.
  SweepResult SweepPage(size_t index);
  SweepResult SweepPageCells(size_t index);
  // [incr.lazy] Sweeps an unswept page (what it frees was counted by SweepLazily).
  void SweepUnswept(size_t index);
  // Whether the cell at `header`, in page `index`, holds an object: allocated, and, in
  // an unswept page, marked.
  bool HoldsObject(size_t index, const ObjectHeader* header) const {
    if (header->is_free()) return false;
    if (!pages_[index].unswept) return true;
    const MarkBit bit = BitOf(&MarkSweepCollector::MarkBits, header);
    return (*bit.word & bit.bit) != 0;
  }
  // [fault] A marked object that found no room on the worklist: noted in the overflow
  // bitmap (or its large-object prefix) and traced by TraceOverflowed.
  void NoteOverflow(ObjectHeader* header);
  void TraceOverflowed();
  // [gen.remember] Adds the old object at `header` to the remembered set, once.
  void Remember(ObjectHeader* header);
  // Takes every object out of the remembered set; a minor collection queues them to
  // be traced.
  void TakeRemembered(bool queue);

  VirtualMemory memory_;
  VirtualMemory mark_bitmap_memory_;  // kBitmapWords words per page, touched lazily
  uint64_t* mark_bits_ = nullptr;
  // Objects marked but not yet traced because the worklist found no memory: same
  // layout as the mark bitmap, all clear outside Drain.
  VirtualMemory overflow_bitmap_memory_;
  uint64_t* overflow_bits_ = nullptr;
  bool overflowed_ = false;  // some bit is set (small or large)
  // The side tables below are side-table memory (internal/side_table.h). pages_ and
  // empty_pages_ grow only on the allocation path, where failing is allowed, and
  // empty_pages_ keeps room for every page, so that the sweep never needs memory.
  SideVector<Page> pages_;  // the pages used so far: [0, pages_.size()) of the reservation
  size_t page_limit_ = 0;               // pages the reservation holds
  size_t committed_pages_ = 0;
  SideVector<size_t> empty_pages_;     // pool, most recently emptied last
  // Pages with free cells. A sweep that finds no memory to list one leaves it out
  // until the next sweep.
  std::array<SideVector<size_t>, kNumSizeClasses> available_;
  std::array<size_t, kNumSizeClasses> allocating_page_;  // whose list alloc_ holds
  SideStack<ObjectHeader*> worklist_;
  size_t fragmented_bytes_ = 0;  // as of the last Sweep
  // [incr.lazy] Unswept pages by size class, their number, where SweepStep looks
  // next, and the pages swept after their cycle.
  std::array<SideVector<size_t>, kNumSizeClasses> unswept_;
  size_t unswept_count_ = 0;
  int sweep_cursor_ = 0;
  uint64_t pages_swept_lazily_ = 0;

  // [gen.sticky] Generations, when constructed with sticky marks.
  const bool sticky_;
  NurserySizing nursery_sizing_;
  // Bytes allocated when the last cycle ended, and bytes marked when a minor one began:
  // the young bytes allocated and kept, for the nursery's sizing.
  uint64_t allocated_after_last_cycle_ = 0;
  size_t marked_before_minor_ = 0;
  CollectionKind kind_ = CollectionKind::kMajor;  // of the current or last cycle
  bool in_cycle_ = false;                          // from Prepare to the end of Sweep
  size_t kept_pages_ = 0;                          // KeepPagesForCollection
  // Old objects the barrier saw receive a young reference: a bit per granule (same
  // layout as the mark bitmap; the large-object prefix for large ones) so each is
  // listed once. An object the list has no memory for makes the next collection major.
  VirtualMemory remembered_bitmap_memory_;
  uint64_t* remembered_bits_ = nullptr;
  SideVector<ObjectHeader*> remembered_;
  bool remembered_overflowed_ = false;
  // The marks that say what is old were cleared (by an abandoned incremental major
  // cycle, or ahead of one by ClearMarksStep): the next collection must be major.
  bool marks_dropped_ = false;
  // [incr.gen] The next page ClearMarksStep looks at.
  size_t clear_cursor_ = 0;
  // Pages handed out since the last collection: the only ones a minor sweep visits.
  // Without memory to list one, the next minor sweep visits every page.
  SideVector<size_t> young_pages_;
  bool young_pages_overflowed_ = false;
  MarkingVisitor visitor_;
  CollectorVisitor* tracer_ = &visitor_;
};

GCLAB_INLINE bool MarkSweepCollector::Mark(const void* payload) {
  MarkBit mark = MarkBitOf(payload);
  if (*mark.word & mark.bit) return false;
  *mark.word |= mark.bit;
  Page& page = pages_[static_cast<size_t>(static_cast<const char*>(payload) - memory_.base()) /
                      kPageSize];
  ++page.live_cells;
  marked_bytes_ += page.cell_size;
  marked_objects_ += 1;
  return true;
}

}  // namespace gclab::internal

#endif  // GCLAB_GC_COLLECTORS_MARK_SWEEP_MARK_SWEEP_H_
