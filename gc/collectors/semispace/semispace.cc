#include "gc/collectors/semispace/semispace.h"

#include <algorithm>
#include <cstring>

#include "gc/internal/check.h"
#include "gc/internal/chunk_table.h"
#include "gc/internal/collector_registry.h"

namespace gclab::internal {

SemispaceCollector::SemispaceCollector(AllocationState& alloc)
    : Collector(alloc), visitor_(*this) {
  alloc_.free_list_mode = false;
}

absl::Status SemispaceCollector::Init(size_t heap_limit) {
  for (int i = 0; i < 2; ++i) {
    // Whole chunks, registered in the ChunkTable for the barriers' slow path.
    auto memory = ReserveObjectMemory(RoundUp(heap_limit, kChunkSize), kChunkSize);
    if (!memory.ok()) return memory.status();
    spaces_[i] = std::move(*memory);
    if (absl::Status s = starts_[i].Init(spaces_[i].base(), spaces_[i].size()); !s.ok()) return s;
  }
  if constexpr (kDebugChecks) {
    VirtualMemory::Protect(from_space().base(), from_space().size(), false);
  }
  alloc_.top = alloc_.limit = alloc_.counted_top = to_space().base();
  return absl::OkStatus();
}

ObjectHeader* SemispaceCollector::AllocateSmall(size_t cell_size, uint64_t allowed,
                                                size_t* allocated) {
  // The new buffer ends where the budget (or the space) does; the fast path fills it.
  *allocated = cell_size;
  return alloc_.BumpNewBuffer(cell_size, allowed, to_end());
}

void SemispaceCollector::RegisterFinalizable(void* payload) {
  // Only the copied space's objects: Sweep treats every listed object that was not
  // forwarded as dead, which a large object (marked in place) never is.
  GCLAB_DCHECK(to_space().Contains(payload),
               "RegisterFinalizable(%p): not a small object of the semispace", payload);
  if (__builtin_expect(!TryPushBack(finalizable_, payload), 0)) {
    finalizable_lost_ = true;
    ++side_table_fallbacks_;
  }
}

void SemispaceCollector::Prepare(CollectionKind) {
  from_top_ = alloc_.top;
  committed_[to_index_] =
      std::max(committed_[to_index_], static_cast<size_t>(from_top_ - to_space().base()));
  to_index_ = 1 - to_index_;
  if constexpr (kDebugChecks) {
    VirtualMemory::Protect(to_space().base(), to_space().size(), true);
  }
  copy_top_ = scan_ = to_space().base();
  copied_bytes_ = 0;
  // No allocation during a cycle: an empty buffer sends any attempt to the slow path.
  alloc_.top = alloc_.limit = alloc_.counted_top = nullptr;
  ResetMarkCounters();
  large_worklist_.clear();
}

void SemispaceCollector::CopyingVisitor::VisitSlot(void** slot) {
  SemispaceCollector& c = owner_;
  void* payload = *slot;
  if (c.from_space().Contains(payload)) {
    ObjectHeader* header = ObjectHeader::FromPayload(payload);
    if (header->is_forwarded()) {
      *slot = header->forwardee();
      return;
    }
    if constexpr (kDebugChecks) {
      GCLAB_CHECK(static_cast<char*>(payload) < c.from_top_ && !header->is_free(),
                  "a Member or root points to %p, which is not an object of this heap",
                  payload);
    }
    if (header->is_pending_key()) c.weak().NoteKeyReached(header);  // restores the header
    const size_t size = CellSizeOf(header);
    auto* copy = reinterpret_cast<ObjectHeader*>(c.copy_top_);
    c.copy_top_ += size;
    CopyObject(copy, header);
    header->set_forwardee(copy->payload());
    c.copied_bytes_ += size;
    c.CountMarked(size);
    *slot = copy->payload();
    return;
  }
  if (c.to_space().Contains(payload)) return;  // already copied (slot seen twice)
  if constexpr (kDebugChecks) {
    GCLAB_CHECK(c.large_.Contains(payload),
                "a Member or root points to %p, which is not a live object of this heap "
                "(an object of another heap, a freed object, or not a heap object)",
                payload);
  }
  ObjectHeader* header = ObjectHeader::FromPayload(payload);
  if (LargeObjectSpace::Mark(header)) {
    c.CountMarked(LargeObjectSpace::CellSize(header));
    if (header->is_pending_key()) c.weak().NoteKeyReached(header);
    if (__builtin_expect(!c.large_worklist_.TryPush(header), 0)) {
      LargeObjectSpace::SetOverflowed(header);
      c.large_overflowed_ = true;
      ++c.side_table_fallbacks_;
    }
  }
}

void SemispaceCollector::Drain() {
  while (scan_ < copy_top_ || !large_worklist_.empty() || large_overflowed_ ||
         weak().has_reached_keys()) {
    while (scan_ < copy_top_) {
      auto* header = reinterpret_cast<ObjectHeader*>(scan_);
      // The size first: for a variable-size object it is read from the payload, and
      // the type survives the trace call in a register.
      const TypeInfo* type = header->type();
      const size_t size = CellSizeOf(header, type);
      type->trace(header->payload(), visitor_);
      scan_ += size;
    }
    while (!large_worklist_.empty()) {
      ObjectHeader* header = large_worklist_.back();
      large_worklist_.pop_back();
      header->type()->trace(header->payload(), visitor_);
    }
    if (large_overflowed_) {
      large_overflowed_ = false;
      large_.TakeOverflowed(
          [&](ObjectHeader* header) { header->type()->trace(header->payload(), visitor_); });
    }
    weak().ResolveReachedKeys();  // copies values of reached ephemeron keys: more to scan
  }
}

void* SemispaceCollector::SurvivorAddress(void* payload) const {
  if (from_space().Contains(payload)) {
    ObjectHeader* header = ObjectHeader::FromPayload(payload);
    return header->is_forwarded() ? header->forwardee() : nullptr;
  }
  if (to_space().Contains(payload)) return payload;
  return LargeObjectSpace::IsMarked(ObjectHeader::FromPayload(payload)) ? payload : nullptr;
}

bool SemispaceCollector::IsAlive(const void* payload) const {
  return SurvivorAddress(const_cast<void*>(payload)) != nullptr;
}

void* SemispaceCollector::CurrentAddress(void* payload) const {
  if (from_space().Contains(payload)) {
    ObjectHeader* header = ObjectHeader::FromPayload(payload);
    GCLAB_DCHECK(header->is_forwarded(), "CurrentAddress of a dead object %p", payload);
    return header->forwardee();
  }
  return payload;
}

SweepResult SemispaceCollector::Sweep() {
  SweepResult result;
  // Dead objects with destructors: the only dead objects a copying collector visits.
  if (finalizable_lost_) {
    FinalizeByWalkingFromSpace();
  } else {
    size_t kept = 0;
    for (void* payload : finalizable_) {
      ObjectHeader* header = ObjectHeader::FromPayload(payload);
      if (header->is_forwarded()) {
        finalizable_[kept++] = header->forwardee();
      } else {
        header->type()->finalize(payload);
      }
    }
    finalizable_.resize(kept);
  }
  size_t from_used = static_cast<size_t>(from_top_ - from_space().base());
  // Debug builds also make from-space inaccessible (ReleaseMemory): zapping is for
  // the builds that do not.
  if (zap_freed_) std::memset(from_space().base(), kZapByte, from_used);
  result.freed_bytes = from_used - copied_bytes_;
  result += large_.Sweep();
  alloc_.top = alloc_.limit = alloc_.counted_top = copy_top_;
  starts_[1 - to_index_].Reset();  // the old half's objects are gone
  return result;
}

void SemispaceCollector::ReleaseMemory(size_t keep_bytes) {
  // Everything in from-space is garbage or a stale copy, but it becomes the next
  // to-space, which will hold the survivors plus the next budget: keep that much
  // committed (re-faulting it would cost more than the collection) and return the
  // rest to the OS.
  committed_[to_index_] =
      std::max(committed_[to_index_], static_cast<size_t>(copy_top_ - to_space().base()));
  size_t keep = RoundUp(copied_bytes_ + keep_bytes, kOsPageSize);
  size_t& from_committed = committed_[1 - to_index_];
  if (from_committed > keep) {
    VirtualMemory::Decommit(from_space().base() + keep, from_committed - keep);
    from_committed = keep;
  }
  if constexpr (kDebugChecks) {
    VirtualMemory::Protect(from_space().base(), from_space().size(), false);
  }
}

void* SemispaceCollector::SmallHolderOf(const void* address) const {
  return starts_[to_index_].HolderOf(address, alloc_.top);
}

bool SemispaceCollector::Contains(const void* payload) const {
  if (to_space().Contains(payload)) return starts_[to_index_].IsPayload(payload, alloc_.top);
  return large_.Contains(payload);
}

void SemispaceCollector::ForEachObject(const std::function<void(ObjectHeader*, size_t)>& f) {
  for (char* p = to_space().base(); p < alloc_.top;) {
    auto* header = reinterpret_cast<ObjectHeader*>(p);
    const size_t size = CellSizeOf(header);
    p += size;
    f(header, size);
  }
  large_.ForEachObject(f);
}

void SemispaceCollector::FinalizeByWalkingFromSpace() {
  // Every object is in from-space now, those finalizable_ lost included. The list is
  // rebuilt from the walk; a survivor that again finds no room keeps the flag set, and
  // the next sweep walks again.
  finalizable_lost_ = false;
  finalizable_.clear();
  for (char* p = from_space().base(); p < from_top_;) {
    auto* header = reinterpret_cast<ObjectHeader*>(p);
    if (header->is_forwarded()) {
      void* survivor = header->forwardee();
      const ObjectHeader* copy = ObjectHeader::FromPayload(survivor);
      const TypeInfo* type = copy->type();
      const size_t size = CellSizeOf(copy);
      p += size;
      if (type->finalize != nullptr && size <= kMaxSmallCell &&
          !TryPushBack(finalizable_, survivor)) {
        finalizable_lost_ = true;
      }
    } else {
      const TypeInfo* type = header->type();
      p += CellSizeOf(header);
      if (type->finalize != nullptr) type->finalize(header->payload());
    }
  }
}

void SemispaceCollector::ForEachMarkedObject(const std::function<void(ObjectHeader*)>& f) {
  for (char* p = to_space().base(); p < copy_top_;) {
    auto* header = reinterpret_cast<ObjectHeader*>(p);
    p += CellSizeOf(header);
    f(header);
  }
  large_.ForEachObject([&](ObjectHeader* header, size_t) {
    if (LargeObjectSpace::IsMarked(header)) f(header);
  });
}

size_t SemispaceCollector::committed_bytes() const {
  // During a cycle the allocation pointer is parked and copy_top_ leads.
  const char* top = alloc_.top != nullptr ? alloc_.top : copy_top_;
  size_t to_used = RoundUp(static_cast<size_t>(top - to_space().base()), kOsPageSize);
  return std::max(committed_[to_index_], to_used) + committed_[1 - to_index_] +
         large_.committed_bytes();
}

namespace {

const CollectorRegistrar kRegistrar(OptionlessRegistration<SemispaceCollector>({
    .name = "semispace",
    .summary = "moving; Cheney copying between two halves",
    .folder = "gc/collectors/semispace",
    .capabilities = {.moves_objects = true, .compacts = true},
}));

}  // namespace
}  // namespace gclab::internal
