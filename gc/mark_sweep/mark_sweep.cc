#include "gc/mark_sweep/mark_sweep.h"

#include <algorithm>

#include "gc/internal/check.h"

namespace gclab::internal {

MarkSweepCollector::MarkSweepCollector(AllocationState& alloc)
    : Collector(alloc), visitor_(*this) {
  alloc_.free_list_mode = true;
}

absl::Status MarkSweepCollector::Init(size_t heap_limit) {
  // Room for the limit plus size-class rounding and partly filled pages.
  size_t page_count = heap_limit / kPageSize + heap_limit / kPageSize / 4 + 2 * kNumSizeClasses;
  auto memory = VirtualMemory::Reserve(page_count * kPageSize, kPageSize);
  if (!memory.ok()) return memory.status();
  memory_ = std::move(*memory);
  pages_.resize(page_count);
  worklist_.reserve(1024);
  return absl::OkStatus();
}

ObjectHeader* MarkSweepCollector::AllocateSmall(size_t cell_size, uint64_t allowed) {
  int size_class = SizeClassIndexDynamic(cell_size);
  GCLAB_DCHECK(size_class >= 0, "AllocateSmall called for a large cell");
  if (kSizeClasses[size_class] > allowed) return nullptr;
  FreeCell*& list = alloc_.free_lists[size_class];
  if (list == nullptr && !Refill(size_class)) return nullptr;
  FreeCell* cell = list;
  list = cell->next;
  cell->header.flags = 0;
  return &cell->header;
}

bool MarkSweepCollector::Refill(int size_class) {
  std::vector<size_t>& candidates = available_[size_class];
  while (!candidates.empty()) {
    Page& page = pages_[candidates.back()];
    candidates.pop_back();
    if (page.free_list != nullptr) {
      alloc_.free_lists[size_class] = std::exchange(page.free_list, nullptr);
      return true;
    }
  }
  size_t index;
  if (!TakeEmptyPage(&index)) return false;
  alloc_.free_lists[size_class] = FormatPage(index, size_class);
  return true;
}

bool MarkSweepCollector::TakeEmptyPage(size_t* index) {
  // Prefer pool pages still committed (no page faults), then fresh ones.
  for (size_t i = empty_pages_.size(); i-- > 0;) {
    if (pages_[empty_pages_[i]].committed) {
      *index = empty_pages_[i];
      empty_pages_.erase(empty_pages_.begin() + static_cast<ptrdiff_t>(i));
      return true;
    }
  }
  if (fresh_pages_ < pages_.size()) {
    *index = fresh_pages_++;
    return true;
  }
  if (!empty_pages_.empty()) {
    *index = empty_pages_.back();
    empty_pages_.pop_back();
    return true;
  }
  return false;
}

FreeCell* MarkSweepCollector::FormatPage(size_t index, int size_class) {
  Page& page = pages_[index];
  page.size_class = static_cast<int16_t>(size_class);
  if (!page.committed) ++committed_pages_;
  page.committed = true;
  page.free_list = nullptr;
  const uint32_t cell_size = kSizeClasses[size_class];
  const size_t cells = kPageSize / cell_size;
  char* start = PageStart(index);
  FreeCell* head = nullptr;
  for (size_t i = cells; i-- > 0;) {
    auto* cell = reinterpret_cast<FreeCell*>(start + i * cell_size);
    cell->header.word = 0;
    cell->header.size = cell_size;
    cell->header.flags = 0;
    cell->next = head;
    head = cell;
  }
  return head;
}

void MarkSweepCollector::Prepare() {
  // Cells still on the allocator's lists are free (zero first word); the sweep will
  // thread them again.
  for (FreeCell*& list : alloc_.free_lists) list = nullptr;
  for (std::vector<size_t>& list : available_) list.clear();
  ResetMarkCounters();
  worklist_.clear();
}

void MarkSweepCollector::MarkingVisitor::VisitSlot(void** slot) {
  void* payload = *slot;
  if constexpr (kDebugChecks) {
    GCLAB_CHECK(owner_.Contains(payload),
                "a Member or root points to %p, which is not a live object of this heap "
                "(an object of another heap, a freed object, or not a heap object)",
                payload);
  }
  ObjectHeader* header = ObjectHeader::FromPayload(payload);
  if (header->is_marked()) return;
  header->set_marked();
  owner_.CountMarked(header);
  owner_.worklist_.push_back(header);
}

void MarkSweepCollector::Drain() {
  while (!worklist_.empty()) {
    ObjectHeader* header = worklist_.back();
    worklist_.pop_back();
    header->type()->trace(header->payload(), visitor_);
  }
}

SweepResult MarkSweepCollector::SweepPage(size_t index) {
  SweepResult result;
  Page& page = pages_[index];
  const uint32_t cell_size = kSizeClasses[page.size_class];
  const size_t cells = kPageSize / cell_size;
  char* start = PageStart(index);
  FreeCell* head = nullptr;
  size_t live = 0;
  // Backwards, so that the free list comes out in address order.
  for (size_t i = cells; i-- > 0;) {
    auto* cell = reinterpret_cast<FreeCell*>(start + i * cell_size);
    ObjectHeader& header = cell->header;
    if (header.is_free()) {
      cell->next = head;
      head = cell;
    } else if (header.is_marked()) {
      header.clear_marked();
      ++live;
    } else {
      const TypeInfo* type = header.type();
      if (type->finalize != nullptr) type->finalize(header.payload());
      header.word = 0;
      result.freed_bytes += cell_size;
      result.freed_objects += 1;
      cell->next = head;
      head = cell;
    }
  }
  if (live == 0) {
    page.size_class = -1;
    page.free_list = nullptr;
    empty_pages_.push_back(index);
  } else {
    page.free_list = head;
    if (head != nullptr) available_[page.size_class].push_back(index);
  }
  return result;
}

SweepResult MarkSweepCollector::Sweep() {
  SweepResult result;
  for (size_t i = 0; i < fresh_pages_; ++i) {
    if (pages_[i].size_class >= 0) result += SweepPage(i);
  }
  // Refill from the lowest addresses first: pop_back takes the last element.
  for (std::vector<size_t>& list : available_) std::reverse(list.begin(), list.end());
  result += large_.Sweep();
  return result;
}

void MarkSweepCollector::ReleaseMemory(size_t keep_bytes) {
  size_t keep_pages = keep_bytes / kPageSize;
  size_t kept = 0;
  // The pool's most recently emptied pages are reused first; release the oldest.
  for (size_t i = empty_pages_.size(); i-- > 0;) {
    Page& page = pages_[empty_pages_[i]];
    if (!page.committed) continue;
    if (kept < keep_pages) {
      ++kept;
      continue;
    }
    VirtualMemory::Decommit(PageStart(empty_pages_[i]), kPageSize);
    page.committed = false;
    --committed_pages_;
  }
}

bool MarkSweepCollector::Contains(const void* payload) const {
  if (memory_.Contains(payload)) {
    size_t offset = static_cast<size_t>(static_cast<const char*>(payload) - memory_.base());
    const Page& page = pages_[offset / kPageSize];
    if (page.size_class < 0) return false;
    size_t in_page = offset % kPageSize;
    if (in_page % kSizeClasses[page.size_class] != sizeof(ObjectHeader)) return false;
    return !ObjectHeader::FromPayload(payload)->is_free();
  }
  return large_.Contains(payload);
}

void MarkSweepCollector::ForEachObject(const std::function<void(ObjectHeader*)>& f) {
  for (size_t i = 0; i < fresh_pages_; ++i) {
    const Page& page = pages_[i];
    if (page.size_class < 0) continue;
    const uint32_t cell_size = kSizeClasses[page.size_class];
    char* start = PageStart(i);
    for (size_t c = 0; c < kPageSize / cell_size; ++c) {
      auto* header = reinterpret_cast<ObjectHeader*>(start + c * cell_size);
      if (!header->is_free()) f(header);
    }
  }
  large_.ForEachObject(f);
}

size_t MarkSweepCollector::committed_bytes() const {
  return committed_pages_ * kPageSize + large_.committed_bytes();
}

}  // namespace gclab::internal
