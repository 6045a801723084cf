#include "gc/collectors/mark_sweep/mark_sweep.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "gc/fault_injection.h"
#include "gc/internal/check.h"
#include "gc/internal/chunk_table.h"
#include "gc/internal/collector_registry.h"

namespace gclab::internal {

MarkSweepCollector::MarkSweepCollector(AllocationState& alloc, bool sticky_marks)
    : Collector(alloc), sticky_(sticky_marks), visitor_(*this) {
  alloc_.free_list_mode = true;
  allocating_page_.fill(kNoPage);
}

absl::Status MarkSweepCollector::Init(size_t heap_limit) {
  // Pages for twice the limit, plus a partly filled page per size class twice over
  // ([alloc.limit]). The limit counts bytes of objects, but a page serves one size
  // class while any object on it lives: after the heap fills with one size and a
  // sparse few survive, those pages are pinned, and allocating the rest of the limit
  // in another size takes as many pages again. Address space costs nothing until it
  // is touched, and the page table below grows only as pages come into use.
  const size_t page_count = 2 * (heap_limit / kPageSize) + 2 * kNumSizeClasses + 2;
  static_assert(kPageSize % kChunkSize == 0, "pages are whole chunks of the ChunkTable");
  auto memory = ReserveObjectMemory(page_count * kPageSize, kPageSize);
  if (!memory.ok()) return memory.status();
  memory_ = std::move(*memory);
  auto bitmap = VirtualMemory::Reserve(page_count * kBitmapWords * sizeof(uint64_t), kOsPageSize);
  if (!bitmap.ok()) return bitmap.status();
  mark_bitmap_memory_ = std::move(*bitmap);
  mark_bits_ = reinterpret_cast<uint64_t*>(mark_bitmap_memory_.base());
  auto overflow = VirtualMemory::Reserve(page_count * kBitmapWords * sizeof(uint64_t), kOsPageSize);
  if (!overflow.ok()) return overflow.status();
  overflow_bitmap_memory_ = std::move(*overflow);
  overflow_bits_ = reinterpret_cast<uint64_t*>(overflow_bitmap_memory_.base());
  if (sticky_) {
    auto remembered = VirtualMemory::Reserve(page_count * kBitmapWords * sizeof(uint64_t), kOsPageSize);
    if (!remembered.ok()) return remembered.status();
    remembered_bitmap_memory_ = std::move(*remembered);
    remembered_bits_ = reinterpret_cast<uint64_t*>(remembered_bitmap_memory_.base());
  }
  page_limit_ = page_count;
  if (!worklist_.TryReserve(1024)) {
    return absl::ResourceExhaustedError("gclab: cannot allocate the marking worklist");
  }
  return absl::OkStatus();
}

ObjectHeader* MarkSweepCollector::AllocateSmall(size_t cell_size, uint64_t allowed,
                                                size_t* allocated) {
  int size_class = SizeClassIndexDynamic(cell_size);
  GCLAB_DCHECK(size_class >= 0, "AllocateSmall called for a large cell");
  const uint32_t size = kSizeClasses[size_class];
  if (size > allowed) return nullptr;
  // The fast path's two sources, then a refill; a refilled page offers at least one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    FreeCell*& list = alloc_.free_lists[size_class];
    if (list != nullptr) {
      FreeCell* cell = list;
      list = cell->next;
      UnpoisonMemory(cell, size);
      *allocated = size;
      return &cell->header;
    }
    char*& top = alloc_.class_top[size_class];
    if (static_cast<size_t>(alloc_.class_end[size_class] - top) >= size) {
      auto* header = reinterpret_cast<ObjectHeader*>(top);
      top += size;
      *allocated = size;
      return header;
    }
    if (attempt == 0 && !Refill(size_class)) return nullptr;
  }
  return nullptr;
}

bool MarkSweepCollector::Refill(int size_class) {
  // The allocator used up the list and the tail of the page it held: that page is
  // full now.
  size_t& current = allocating_page_[size_class];
  if (current != kNoPage) {
    Page& page = pages_[current];
    page.frontier = page.cells();
    page.free_cells = 0;
    current = kNoPage;
  }
  SideVector<size_t>& candidates = available_[size_class];
  for (;;) {
    while (!candidates.empty()) {
      size_t index = candidates.back();
      candidates.pop_back();
      const Page& page = pages_[index];
      if (page.free_list != nullptr || page.frontier < page.cells()) {
        HandOut(index);
        return true;
      }
    }
    // [incr.lazy] Pages of this class left unswept: swept on demand, one at a time,
    // until one has room (a wholly live one has none, and its sweep only clears its
    // marks).
    SideVector<size_t>& unswept = unswept_[size_class];
    if (unswept.empty()) break;
    const size_t index = unswept.back();
    unswept.pop_back();
    SweepUnswept(index);
  }
  size_t index;
  if (!TakeEmptyPage(&index)) return false;
  InitPage(index, size_class);
  HandOut(index);
  return true;
}

void MarkSweepCollector::HandOut(size_t index) {
  Page& page = pages_[index];
  const int c = page.size_class;
  if (sticky_ && !page.young) {
    page.young = true;
    if (!TryPushBack(young_pages_, index)) {
      young_pages_overflowed_ = true;  // [fault] the next minor sweep visits every page
      ++side_table_fallbacks_;
    }
  }
  if (incremental_marking_) MarkFreeCells(index);  // [incr.black]
  allocating_page_[c] = index;
  alloc_.free_lists[c] = std::exchange(page.free_list, nullptr);
  char* start = PageStart(index);
  alloc_.class_top[c] = start + size_t{page.frontier} * page.cell_size;
  alloc_.class_end[c] = start + size_t{page.cells()} * page.cell_size;
}

void MarkSweepCollector::MarkFreeCells(size_t index) {
  // [incr.black] Every cell the allocator can hand out from this page is marked now,
  // so whatever the program allocates here during marking is marked (black) without
  // the inlined fast path doing anything. The count goes up by all of them, and comes
  // down in UnmarkFreeCells by those never allocated.
  Page& page = pages_[index];
  page.black = true;
  const uint32_t cell_size = page.cell_size;
  uint32_t marked = 0;
  auto mark = [&](size_t in_page) {
    MarkBit bit = MarkBitAt(index, in_page);
    if (*bit.word & bit.bit) return;
    *bit.word |= bit.bit;
    ++marked;
  };
  char* start = PageStart(index);
  for (FreeCell* cell = page.free_list; cell != nullptr; cell = cell->next) {
    mark(static_cast<size_t>(reinterpret_cast<char*>(cell) - start));
  }
  const size_t granules_per_cell = cell_size / kAllocationGranule;
  if (64 % granules_per_cell == 0 && page.frontier < page.cells()) {
    // The unused tail, a word of the bitmap at a time: the cells of a size that
    // divides 64 granules start at the same bits of every word. (The tail's bits are
    // all clear: nothing was ever allocated there.)
    uint64_t pattern = 0;
    for (size_t b = 0; b < 64; b += granules_per_cell) pattern |= uint64_t{1} << b;
    const size_t first = size_t{page.frontier} * granules_per_cell;  // granule
    const size_t end = size_t{page.cells()} * granules_per_cell;
    uint64_t* bits = MarkBits(index);
    for (size_t g = first; g < end;) {
      const size_t w = g / 64;
      const size_t lo = g % 64;
      const size_t hi = std::min<size_t>(64, end - w * 64);
      uint64_t mask = pattern & (~uint64_t{0} << lo);
      if (hi < 64) mask &= (uint64_t{1} << hi) - 1;
      marked += static_cast<uint32_t>(__builtin_popcountll(mask & ~bits[w]));
      bits[w] |= mask;
      g = (w + 1) * 64;
    }
  } else {
    for (size_t c = page.frontier; c < page.cells(); ++c) mark(c * cell_size);
  }
  page.live_cells += marked;
  marked_bytes_ += size_t{marked} * cell_size;
  marked_objects_ += marked;
}

void MarkSweepCollector::UnmarkFreeCells(size_t index) {
  // Only the page the allocator holds can have marked cells still free: it takes a new
  // page only once it has used up the old one's list and tail. Those are the cells
  // still on its list and in its tail.
  Page& page = pages_[index];
  const int c = page.size_class;
  GCLAB_DCHECK(allocating_page_[c] == index, "UnmarkFreeCells of a page the allocator does not hold");
  const uint32_t cell_size = page.cell_size;
  char* start = PageStart(index);
  uint32_t unmarked = 0;
  auto unmark = [&](size_t in_page) {
    MarkBit bit = MarkBitAt(index, in_page);
    if (!(*bit.word & bit.bit)) return;
    *bit.word &= ~bit.bit;
    ++unmarked;
  };
  for (FreeCell* cell = alloc_.free_lists[c]; cell != nullptr; cell = cell->next) {
    unmark(static_cast<size_t>(reinterpret_cast<char*>(cell) - start));
  }
  for (char* cell = alloc_.class_top[c]; cell + cell_size <= alloc_.class_end[c]; cell += cell_size) {
    unmark(static_cast<size_t>(cell - start));
  }
  page.live_cells -= unmarked;
  marked_bytes_ -= size_t{unmarked} * cell_size;
  marked_objects_ -= unmarked;
}

void MarkSweepCollector::BeginIncrementalMarking() {
  // The program runs between the steps: for allocation this is not a cycle (pages come
  // from the pool as outside one, and may be refused).
  in_cycle_ = false;
  Collector::BeginIncrementalMarking();
}

void MarkSweepCollector::EndIncrementalMarking() {
  Collector::EndIncrementalMarking();
  in_cycle_ = true;
  for (size_t c = 0; c < kNumSizeClasses; ++c) {
    const size_t index = allocating_page_[c];
    if (index != kNoPage && pages_[index].black) UnmarkFreeCells(index);
  }
  ReleaseAllocatingPages();
  for (Page& page : pages_) page.black = false;
}

void MarkSweepCollector::AbandonIncrementalMarking() {
  // A cycle that ends leaves no mark behind: its sweep clears them, small and large.
  // One dropped has no sweep, so its marks go here, with the objects noted in the
  // overflow bitmaps and not yet traced.
  Collector::AbandonIncrementalMarking();
  // [gen.sticky] The marks that said "old" went at the cycle's start: until a major
  // collection marks again, no object is known to be old.
  if (sticky_) marks_dropped_ = true;
  for (size_t i = 0; i < pages_.size(); ++i) {
    pages_[i].black = false;
    std::memset(MarkBits(i), 0, kBitmapWords * sizeof(uint64_t));  // no sweep will
  }
  large_.ClearMarks();
  if (overflowed_) {
    for (size_t i = 0; i < pages_.size(); ++i) {
      std::memset(OverflowBits(i), 0, kBitmapWords * sizeof(uint64_t));
    }
    large_.TakeOverflowed([](ObjectHeader*) {});
    overflowed_ = false;
  }
}

uint32_t MarkSweepCollector::Frontier(size_t index) const {
  const Page& page = pages_[index];
  if (page.size_class >= 0 && allocating_page_[page.size_class] == index) {
    return static_cast<uint32_t>(
        static_cast<size_t>(alloc_.class_top[page.size_class] - PageStart(index)) /
        page.cell_size);
  }
  return page.frontier;
}

bool MarkSweepCollector::TakeEmptyPage(size_t* index) {
  // Pages kept for a collection (KeepPagesForCollection) are its alone.
  if (!in_cycle_ && FreePages() <= kept_pages_) return false;
  // Prefer pool pages still committed (no page faults), then fresh ones.
  for (size_t i = empty_pages_.size(); i-- > 0;) {
    if (pages_[empty_pages_[i]].committed) {
      *index = empty_pages_[i];
      empty_pages_.erase(empty_pages_.begin() + static_cast<ptrdiff_t>(i));
      return true;
    }
  }
  // A page not committed now asks the OS for memory when first touched: the fault
  // injection hook may refuse it (gc/fault_injection.h), as an overcommitted OS would.
  // Not in a collection, which cannot fail: the pages a collection takes were kept for
  // it (KeepPagesForCollection), as semispace's copies go to a half it reserved.
  if (!in_cycle_ && (pages_.size() < page_limit_ || !empty_pages_.empty()) &&
      !AllowMemoryRequest("mark-sweep page")) {
    return false;
  }
  if (pages_.size() < page_limit_) {
    // Room for the page's entry, and for it in the pool, so that the sweep never
    // needs memory to return it there ([fault]).
    if (!TryGrow(pages_) || !TryReserve(empty_pages_, pages_.capacity())) return false;
    *index = pages_.size();
    pages_.emplace_back();
    return true;
  }
  if (!empty_pages_.empty()) {
    *index = empty_pages_.back();
    empty_pages_.pop_back();
    return true;
  }
  return false;
}

bool MarkSweepCollector::KeepPagesForCollection(size_t pages) {
  kept_pages_ = 0;
  const size_t table = std::min(page_limit_, pages_.size() + pages);
  if (pages > FreePages() || !TryReserve(pages_, table) ||
      !TryReserve(empty_pages_, pages_.capacity())) {
    return false;
  }
  kept_pages_ = pages;
  return true;
}

void MarkSweepCollector::InitPage(size_t index, int size_class) {
  Page& page = pages_[index];
  UnpoisonMemory(PageStart(index), kPageSize);  // poisoned when it was zapped whole
  page.size_class = static_cast<int16_t>(size_class);
  if (!page.committed) ++committed_pages_;
  page.committed = true;
  page.free_list = nullptr;
  page.has_finalizers = false;
  page.live_cells = 0;
  page.cell_size = kSizeClasses[size_class];
  page.free_cells = page.cells();
  page.frontier = 0;
  page.all_young = !in_cycle_;  // a page taken in a cycle receives promoted, old objects
  page.black = false;
  page.unswept = false;
  page.marks_cleared = false;
}

uint32_t MarkSweepCollector::FreeCells(size_t index) const {
  const Page& page = pages_[index];
  if (page.size_class < 0 || allocating_page_[page.size_class] != index) return page.free_cells;
  // The allocator holds this page's list and tail.
  uint32_t n = 0;
  for (FreeCell* cell = alloc_.free_lists[page.size_class]; cell != nullptr; cell = cell->next) ++n;
  return n + (page.cells() - Frontier(index));
}

void MarkSweepCollector::ReleaseAllocatingPages() {
  // Cells still on the allocator's lists are free (zero first word); the sweep will
  // thread them again. Count them, so their page knows how many it has.
  for (int c = 0; c < kNumSizeClasses; ++c) {
    size_t& current = allocating_page_[c];
    if (current != kNoPage) {
      Page& page = pages_[current];
      page.free_cells = FreeCells(current);
      page.frontier = Frontier(current);
    }
    current = kNoPage;
    alloc_.free_lists[c] = nullptr;
    alloc_.class_top[c] = alloc_.class_end[c] = nullptr;
  }
}

void MarkSweepCollector::Prepare(CollectionKind kind) {
  FinishSweeping();  // [incr.lazy] while the last cycle's marks still say what is dead
  kind_ = sticky_ ? kind : CollectionKind::kMajor;
  in_cycle_ = true;
  const bool minor = kind_ == CollectionKind::kMinor;
  ReleaseAllocatingPages();
  worklist_.clear();
  if (minor) {
    // [gen.sticky] Old objects stay marked, and so do their counts: the marking adds
    // the young survivors to them. The pages not swept keep their places on the
    // available lists; the young ones were taken off them when handed out.
    TakeRemembered(/*queue=*/true);
    marked_before_minor_ = marked_bytes_;
    return;
  }
  // The available lists stay: the sweep rebuilds them, and until then their pages'
  // free cells are free (an incremental cycle allocates from them while it marks).
  // Without sticky marks the sweep cleared each page's marks as it swept it (SweepPage):
  // the start of a cycle does not visit every bitmap, which keeps an incremental
  // cycle's start pause short.
  for (size_t i = 0; i < pages_.size(); ++i) {
    Page& page = pages_[i];
    const bool cleared = std::exchange(page.marks_cleared, false);  // [incr.gen]
    if (page.size_class < 0) continue;
    if (sticky_ && !cleared) {
      ClearPageMarks(i);
    } else {
      page.live_cells = 0;
    }
  }
  clear_cursor_ = 0;
  if (sticky_) {
    TakeRemembered(/*queue=*/false);
    large_.ClearMarks();
    marks_dropped_ = false;
  }
  ResetMarkCounters();
}

bool MarkSweepCollector::ClearPageMarks(size_t index) {
  Page& page = pages_[index];
  const bool any = page.live_cells != 0;
  if (any) std::memset(MarkBits(index), 0, kBitmapWords * sizeof(uint64_t));
  page.live_cells = 0;
  return any;
}

bool MarkSweepCollector::ClearMarksStep(size_t budget) {
  if (!sticky_) return true;  // the sweep cleared them
  // An unswept page's marks still tell its live cells from its dead ones.
  FinishSweeping();
  marks_dropped_ = true;
  size_t cleared = 0;
  for (; clear_cursor_ < pages_.size() && (cleared == 0 || cleared < budget); ++clear_cursor_) {
    Page& page = pages_[clear_cursor_];
    if (page.size_class < 0 || page.marks_cleared) continue;
    if (ClearPageMarks(clear_cursor_)) cleared += kPageSize;
    page.marks_cleared = true;
  }
  return clear_cursor_ >= pages_.size();
}

void MarkSweepCollector::Remember(ObjectHeader* header) {
  if (memory_.Contains(header)) {
    MarkBit bit = BitOf(&MarkSweepCollector::RememberedBits, header);
    if (*bit.word & bit.bit) return;
    *bit.word |= bit.bit;
  } else if (!LargeObjectSpace::Remember(header)) {
    return;
  }
  if (!TryPushBack(remembered_, header)) {
    // [fault] The edge is not lost: the next collection is major and traces everything.
    remembered_overflowed_ = true;
    ++side_table_fallbacks_;
  }
}

void MarkSweepCollector::TakeRemembered(bool queue) {
  if (remembered_overflowed_) {
    // Some bits are set with no entry listed (no minor collection follows an
    // overflow, so only a major one gets here): clear them all.
    GCLAB_DCHECK(!queue, "a minor collection after the remembered set overflowed");
    for (size_t i = 0; i < pages_.size(); ++i) {
      std::memset(RememberedBits(i), 0, kBitmapWords * sizeof(uint64_t));
    }
    remembered_overflowed_ = false;
  }
  for (ObjectHeader* header : remembered_) {
    if (memory_.Contains(header)) {
      MarkBit bit = BitOf(&MarkSweepCollector::RememberedBits, header);
      *bit.word &= ~bit.bit;
    } else {
      LargeObjectSpace::Forget(header);
    }
    if (queue) Push(header);  // already marked (old): queued for its fields to be traced
  }
  remembered_.clear();
}

bool MarkSweepCollector::IsRemembered(const void* payload) const {
  const ObjectHeader* header = ObjectHeader::FromPayload(payload);
  if (!memory_.Contains(header)) return LargeObjectSpace::IsRemembered(header);
  MarkBit bit = BitOf(&MarkSweepCollector::RememberedBits, header);
  return (*bit.word & bit.bit) != 0;
}

void MarkSweepCollector::LoadBarrier(void* const* slot, void* value) {
  // [incr.load] A weak target the program reads while marking is in progress is
  // reached: the final pause must not clear a reference it holds again.
  (void)slot;
  if (incremental_marking_ && value != nullptr) MarkSlot(&value);
}

void MarkSweepCollector::WriteBarrier(void** slot, void* old_value, void* new_value) {
  if (incremental_marking_) {
    // [incr.barrier] Dijkstra's insertion barrier: the stored object is greyed,
    // whatever the colour of its holder (finding the holder costs more than marking),
    // so a black object never points at a white one.
    if (new_value != nullptr) MarkSlot(&new_value);
    return;
  }
  // [gen.barrier] Object remembering: an old holder receiving a young reference is
  // listed once until the next collection, which traces all of its fields. Stores
  // inside a cycle (weak callbacks) need nothing: every young object still alive
  // after it is old.
  (void)old_value;
  if (new_value == nullptr || in_cycle_ || SlotInYoungSpace(slot)) return;
  // Most stores go into objects just allocated, most of which lie in pages that hold
  // only young objects: one load of the page table spares finding the holder.
  if (const size_t index = PageIndexOf(slot); index != kNoPage && pages_[index].all_young) {
    return;
  }
  if (!IsYoung(new_value)) return;
  void* holder = HolderOf(slot);
  if (holder == nullptr || IsYoung(holder)) return;
  Remember(ObjectHeader::FromPayload(holder));
}

bool MarkSweepCollector::IsAlive(const void* payload) const {
  if (!memory_.Contains(payload)) {
    return LargeObjectSpace::IsMarked(ObjectHeader::FromPayload(payload));
  }
  MarkBit mark = MarkBitOf(payload);
  return (*mark.word & mark.bit) != 0;
}

void MarkSweepCollector::RegisterFinalizable(void* payload) {
  if (memory_.Contains(payload)) {
    size_t offset = static_cast<size_t>(static_cast<char*>(payload) - memory_.base());
    pages_[offset / kPageSize].has_finalizers = true;
  }
}

void MarkSweepCollector::MarkingVisitor::VisitSlot(void** slot) { owner_.MarkSlot(slot); }

void MarkSweepCollector::MarkSlot(void** slot) {
  void* payload = *slot;
  if constexpr (kDebugChecks) {
    GCLAB_CHECK(Contains(payload),
                "a Member or root points to %p, which is not a live object of this heap "
                "(an object of another heap, a freed object, or not a heap object)",
                payload);
  }
  ObjectHeader* header = ObjectHeader::FromPayload(payload);
  if (memory_.Contains(payload)) {
    if (!Mark(payload)) return;
  } else {
    if (!LargeObjectSpace::Mark(header)) return;
    CountMarked(LargeObjectSpace::CellSize(header));
  }
  Push(header);
}

void MarkSweepCollector::NoteOverflow(ObjectHeader* header) {
  ++side_table_fallbacks_;
  overflowed_ = true;
  if (!memory_.Contains(header)) {
    LargeObjectSpace::SetOverflowed(header);
    return;
  }
  const size_t offset = static_cast<size_t>(reinterpret_cast<char*>(header) - memory_.base());
  const size_t granule = (offset % kPageSize) / kAllocationGranule;
  OverflowBits(offset / kPageSize)[granule / 64] |= uint64_t{1} << (granule % 64);
}

void MarkSweepCollector::TraceOverflowed() {
  // As Boehm's collector recovers from a mark-stack overflow, but exact: the overflow
  // bitmap names the objects marked and never traced, so nothing is traced twice.
  // Tracing them may overflow again, into bits this walk has passed: the caller
  // repeats until none is left.
  overflowed_ = false;
  auto trace = [&](ObjectHeader* header) {
    if (header->is_pending_key()) weak().NoteKeyReached(header);  // restores the header
    header->type()->trace(header->payload(), *tracer_);
  };
  for (size_t i = 0; i < pages_.size(); ++i) {
    if (pages_[i].size_class < 0) continue;
    uint64_t* bits = OverflowBits(i);
    for (size_t w = 0; w < kBitmapWords; ++w) {
      while (bits[w] != 0) {
        const int b = __builtin_ctzll(bits[w]);
        bits[w] &= bits[w] - 1;
        const size_t granule = w * 64 + static_cast<size_t>(b);
        trace(reinterpret_cast<ObjectHeader*>(PageStart(i) + granule * kAllocationGranule));
      }
    }
  }
  large_.TakeOverflowed(trace);
}

template <bool kBounded>
bool MarkSweepCollector::DrainFor(size_t budget) {
  // Objects leave the worklist through a small FIFO: each is prefetched as it enters
  // and traced kPrefetchDepth pops later, by which time it is usually in cache.
  // (Marking is bounded by cache misses on the objects; the bitmap is hot.)
  // A bounded step stops taking objects once it has traced `budget` bytes (objects'
  // own sizes); what is in the FIFO is traced first.
  constexpr size_t kPrefetchDepth = 8;
  ObjectHeader* fifo[kPrefetchDepth];
  size_t traced = 0;
  auto more = [&] { return !kBounded || traced < budget; };
  do {
    size_t head = 0;
    size_t count = 0;
    for (;;) {
      while (count < kPrefetchDepth && !worklist_.empty() && more()) {
        ObjectHeader* header = worklist_.back();
        worklist_.pop_back();
        __builtin_prefetch(header);
        fifo[(head + count) % kPrefetchDepth] = header;
        ++count;
      }
      if (count == 0) break;
      ObjectHeader* header = fifo[head];
      head = (head + 1) % kPrefetchDepth;
      --count;
      if (header->is_pending_key()) weak().NoteKeyReached(header);  // restores the header
      const TypeInfo* type = header->type();
      type->trace(header->payload(), *tracer_);
      // Counted from the header, which tracing has just read, rather than from the
      // page table, which would be one more miss per object.
      if constexpr (kBounded) traced += CellSizeOf(header, type);
    }
    weak().ResolveReachedKeys();  // marks values of reached ephemeron keys: more work
    if (worklist_.empty() && overflowed_) TraceOverflowed();
  } while ((!worklist_.empty() || overflowed_ || weak().has_reached_keys()) && more());
  return worklist_.empty() && !overflowed_ && !weak().has_reached_keys();
}

template bool MarkSweepCollector::DrainFor<false>(size_t);
template bool MarkSweepCollector::DrainFor<true>(size_t);

SweepResult MarkSweepCollector::SweepPage(size_t index) {
  const SweepResult result = SweepPageCells(index);
  // Marks have served once the page is swept; a sticky mark says "old" and stays. (A
  // page with nothing marked has none to clear.)
  if (!sticky_ && pages_[index].live_cells != 0) {
    std::memset(MarkBits(index), 0, kBitmapWords * sizeof(uint64_t));
  }
  return result;
}

SweepResult MarkSweepCollector::SweepPageCells(size_t index) {
  SweepResult result;
  Page& page = pages_[index];
  const uint32_t cell_size = page.cell_size;
  const size_t cells = page.cells();
  if (page.live_cells == cells) return result;  // entirely live: nothing to do
  char* start = PageStart(index);
  auto marked = [&](size_t cell) {
    MarkBit mark = MarkBitAt(index, cell * cell_size);
    return (*mark.word & mark.bit) != 0;
  };
  if (page.live_cells == 0 && !page.has_finalizers) {
    // Entirely dead and nothing to destroy: the page goes back to the pool untouched
    // and is formatted again when reused.
    size_t dead = cells - page.free_cells;
    result.freed_bytes += dead * cell_size;
    result.freed_objects += dead;
    if (zap_freed_) {
      UnpoisonMemory(start, kPageSize);  // cells freed by earlier sweeps are poisoned
      std::memset(start, kZapByte, size_t{page.frontier} * cell_size);
      PoisonMemory(start, kPageSize);
    }
  } else {
    FreeCell* head = nullptr;
    // Backwards, so that the free list comes out in address order. Cells past the
    // frontier were never allocated; the allocator bumps through them later.
    for (size_t i = page.frontier; i-- > 0;) {
      if (marked(i)) continue;
      auto* cell = reinterpret_cast<FreeCell*>(start + i * cell_size);
      ObjectHeader& header = cell->header;
      if (!header.is_free()) {
        const TypeInfo* type = header.type();
        if (type->finalize != nullptr) type->finalize(header.payload());
        header.word = 0;
        result.freed_bytes += cell_size;
        result.freed_objects += 1;
        if (zap_freed_) {
          // All but the header and the free-list link, which the sweep and the
          // allocator read.
          char* rest = reinterpret_cast<char*>(cell) + sizeof(FreeCell);
          std::memset(rest, kZapByte, cell_size - sizeof(FreeCell));
          PoisonMemory(rest, cell_size - sizeof(FreeCell));
        }
      }
      cell->next = head;
      head = cell;
    }
    page.free_list = head;
    page.free_cells = static_cast<uint32_t>(cells - page.live_cells);
  }
  if (page.live_cells == 0) {
    page.size_class = -1;
    page.free_list = nullptr;
    empty_pages_.push_back(index);
  } else if (page.free_list != nullptr || page.frontier < cells) {
    // [fault] Without memory to list it, the page's free cells wait for the next sweep.
    if (!TryPushBack(available_[page.size_class], index)) ++side_table_fallbacks_;
  }
  return result;
}

SweepResult MarkSweepCollector::Sweep() {
  SweepResult result;
  ReleaseAllocatingPages();  // a collector that promotes into this space allocated
  fragmented_bytes_ = 0;
  // [gen.sticky] A minor sweep visits only the pages that hold young objects.
  const bool all = kind_ == CollectionKind::kMajor || young_pages_overflowed_;
  if (all) {
    for (SideVector<size_t>& list : available_) list.clear();  // rebuilt below
  }
  if (!all) {
    for (size_t i : young_pages_) {
      if (pages_[i].size_class >= 0) result += SweepPage(i);
    }
  }
  for (size_t i = 0; i < pages_.size(); ++i) {
    Page& page = pages_[i];
    page.young = false;
    page.all_young = false;  // its survivors, if any, are old now
    if (page.size_class < 0) continue;
    if (all) result += SweepPage(i);
    // A page with survivors serves only its size class: the rest of it is fragmented.
    if (page.live_cells > 0) fragmented_bytes_ += kPageSize - size_t{page.live_cells} * page.cell_size;
  }
  young_pages_.clear();
  young_pages_overflowed_ = false;
  // Refill from the lowest addresses first: pop_back takes the last element.
  if (all) {
    for (SideVector<size_t>& list : available_) std::reverse(list.begin(), list.end());
  }
  result += large_.Sweep(/*keep_marks=*/sticky_);
  if (sticky_ && kind_ == CollectionKind::kMinor) {
    // [gen.nursery.size] What survived of the young bytes sizes the next nursery.
    nursery_sizing_.AfterMinorCollection(alloc_.bytes_allocated - allocated_after_last_cycle_,
                                         marked_bytes_ - marked_before_minor_);
  }
  allocated_after_last_cycle_ = alloc_.bytes_allocated;
  in_cycle_ = false;
  return result;
}

SweepResult MarkSweepCollector::SweepLazily() {
  // [incr.lazy] What every page freed is counted now, from its counts (cells not free,
  // less those marked), without touching its cells; the pages that need their cells
  // visited are swept now only if they hold objects with destructors (which run in
  // the cycle, as on every collector) or are wholly dead (returned to the pool
  // untouched). The rest wait, marks and all. With sticky marks ([incr.gen]) the marks
  // that stay are those that say "old": swept or not, a page's survivors are old.
  if (kind_ != CollectionKind::kMajor) return Sweep();
  SweepResult result;
  ReleaseAllocatingPages();
  fragmented_bytes_ = 0;
  for (SideVector<size_t>& list : available_) list.clear();  // rebuilt as pages are swept
  young_pages_.clear();
  young_pages_overflowed_ = false;
  for (size_t i = 0; i < pages_.size(); ++i) {
    Page& page = pages_[i];
    page.young = false;
    page.all_young = false;  // its survivors, if any, are old now
    if (page.size_class < 0) continue;
    const uint32_t cells = page.cells();
    if (page.live_cells > 0) {
      fragmented_bytes_ += kPageSize - size_t{page.live_cells} * page.cell_size;
    }
    const uint32_t dead = cells - page.free_cells - page.live_cells;
    // Wholly live pages wait too: their sweep only clears their marks, but that is a
    // bitmap to write per page, which adds up over a heap.
    if (page.live_cells == 0 || page.has_finalizers ||
        !TryPushBack(unswept_[page.size_class], i)) {
      // (Without memory to list it, a page is swept now: [fault].)
      result += SweepPage(i);
      continue;
    }
    // Even a page with nothing dead waits for its sweep: some of its free cells may be
    // on no list (those the allocator held when marking began or ended), and its
    // sweep threads them all.
    result.freed_bytes += size_t{dead} * page.cell_size;
    result.freed_objects += dead;
    page.unswept = true;
    ++unswept_count_;
  }
  for (SideVector<size_t>& list : available_) std::reverse(list.begin(), list.end());
  for (SideVector<size_t>& list : unswept_) std::reverse(list.begin(), list.end());
  result += large_.Sweep(/*keep_marks=*/sticky_);
  allocated_after_last_cycle_ = alloc_.bytes_allocated;
  in_cycle_ = false;
  return result;
}

void MarkSweepCollector::SweepUnswept(size_t index) {
  Page& page = pages_[index];
  GCLAB_DCHECK(page.unswept, "page %zu swept lazily twice", index);
  page.unswept = false;
  --unswept_count_;
  ++pages_swept_lazily_;
  (void)SweepPage(index);  // its dead were counted by SweepLazily
}

bool MarkSweepCollector::SweepStep(size_t budget) {
  size_t swept = 0;
  while (unswept_count_ != 0 && (swept == 0 || swept < budget)) {
    SideVector<size_t>& list = unswept_[sweep_cursor_];
    if (list.empty()) {
      sweep_cursor_ = (sweep_cursor_ + 1) % kNumSizeClasses;
      continue;
    }
    const size_t index = list.back();
    list.pop_back();
    SweepUnswept(index);
    swept += kPageSize;
  }
  return unswept_count_ == 0;
}

void MarkSweepCollector::FinishSweeping() {
  if (unswept_count_ == 0) return;
  for (SideVector<size_t>& list : unswept_) {
    for (size_t index : list) SweepUnswept(index);
    list.clear();
  }
}

bool MarkSweepCollector::ReleaseMemoryStep(size_t keep_bytes, size_t budget) {
  size_t keep_pages = keep_bytes / kPageSize;
  size_t kept = 0;
  size_t released = 0;
  // The pool's most recently emptied pages are reused first; release the oldest.
  for (size_t i = empty_pages_.size(); i-- > 0;) {
    Page& page = pages_[empty_pages_[i]];
    if (!page.committed) continue;
    if (kept < keep_pages) {
      ++kept;
      continue;
    }
    if (released != 0 && released >= budget) return false;
    VirtualMemory::Decommit(PageStart(empty_pages_[i]), kPageSize);
    page.committed = false;
    --committed_pages_;
    released += kPageSize;
  }
  return true;
}

std::string MarkSweepCollector::DescribeAllocationFailure(size_t cell_size) const {
  const int size_class = SizeClassIndexDynamic(cell_size);
  if (size_class < 0) return Collector::DescribeAllocationFailure(cell_size);
  size_t other_free = 0;
  for (size_t i = 0; i < pages_.size(); ++i) {
    const Page& page = pages_[i];
    if (page.size_class >= 0 && page.size_class != size_class) {
      other_free += size_t{FreeCells(i)} * page.cell_size;
    }
  }
  return absl::StrFormat(
      "the heap is fragmented: mark-sweep does not move objects, a page serves one size "
      "class while any object on it lives, and all %d pages of %d KiB in its reservation "
      "(twice the heap limit) hold live objects; %d bytes are free in pages of other size "
      "classes and none in pages of the %d-byte class (a collector that moves objects "
      "would compact them)",
      page_limit_, kPageSize >> 10, other_free, kSizeClasses[size_class]);
}

void* MarkSweepCollector::SmallHolderOf(const void* address) const {
  const size_t index = PageIndexOf(address);
  if (index == kNoPage || pages_[index].size_class < 0) return nullptr;
  const Page& page = pages_[index];
  const size_t cell = static_cast<size_t>(static_cast<const char*>(address) - PageStart(index)) /
                      page.cell_size;
  if (cell >= Frontier(index)) return nullptr;
  auto* header = reinterpret_cast<ObjectHeader*>(PageStart(index) + cell * page.cell_size);
  if (!HoldsObject(index, header) || address < header->payload()) return nullptr;
  return header->payload();
}

bool MarkSweepCollector::Contains(const void* payload) const {
  if (!memory_.Contains(payload)) return large_.Contains(payload);
  const size_t index = PageIndexOf(payload);
  if (index == kNoPage || pages_[index].size_class < 0) return false;
  const Page& page = pages_[index];
  const size_t in_page = static_cast<size_t>(static_cast<const char*>(payload) - PageStart(index));
  if (in_page % page.cell_size != sizeof(ObjectHeader)) return false;
  if (in_page / page.cell_size >= Frontier(index)) return false;
  return HoldsObject(index, ObjectHeader::FromPayload(payload));
}

void MarkSweepCollector::ForEachObject(const std::function<void(ObjectHeader*, size_t)>& f) {
  for (size_t i = 0; i < pages_.size(); ++i) {
    const Page& page = pages_[i];
    if (page.size_class < 0) continue;
    const uint32_t cell_size = page.cell_size;
    char* start = PageStart(i);
    const uint32_t frontier = Frontier(i);
    for (size_t c = 0; c < frontier; ++c) {
      auto* header = reinterpret_cast<ObjectHeader*>(start + c * cell_size);
      if (HoldsObject(i, header)) f(header, cell_size);
    }
  }
  large_.ForEachObject(f);
}

void MarkSweepCollector::ForEachMarkedObject(const std::function<void(ObjectHeader*)>& f) {
  for (size_t i = 0; i < pages_.size(); ++i) {
    if (pages_[i].size_class < 0 || pages_[i].live_cells == 0) continue;
    const uint64_t* bits = MarkBits(i);
    for (size_t w = 0; w < kBitmapWords; ++w) {
      for (uint64_t word = bits[w]; word != 0; word &= word - 1) {
        const size_t granule = w * 64 + static_cast<size_t>(__builtin_ctzll(word));
        f(reinterpret_cast<ObjectHeader*>(PageStart(i) + granule * kAllocationGranule));
      }
    }
  }
  large_.ForEachObject([&](ObjectHeader* header, size_t) {
    if (LargeObjectSpace::IsMarked(header)) f(header);
  });
}

size_t MarkSweepCollector::committed_bytes() const {
  return committed_pages_ * kPageSize + large_.committed_bytes();
}

namespace {

const CollectorRegistrar kRegistrar(OptionlessRegistration<MarkSweepCollector>({
    .name = "mark-sweep",
    .summary = "non-moving; size-class free lists, side mark bitmaps",
    .folder = "gc/collectors/mark_sweep",
    .capabilities = {},
}));

}  // namespace
}  // namespace gclab::internal
