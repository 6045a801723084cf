#include "gc/internal/large_object_space.h"

#include <sys/mman.h>


#include "gc/fault_injection.h"
#include "gc/internal/chunk_table.h"
#include "gc/internal/sanitizer.h"
#include "gc/internal/virtual_memory.h"

namespace gclab::internal {

namespace {
// The pages the object uses (what it commits), and the whole chunks it is mapped in.
size_t UsedSize(size_t cell_size) { return RoundUp(cell_size + sizeof(uint64_t), kOsPageSize); }
size_t ChunkedSize(size_t cell_size) { return RoundUp(cell_size + sizeof(uint64_t), kChunkSize); }
}  // namespace

void LargeObjectSpace::Unmap(ObjectHeader* header) {
  const size_t chunked = ChunkedSize(CellSize(header));
  ChunkTable::Unregister(Prefix(header), chunked);
  munmap(Prefix(header), chunked);
}

// The heap runs the destructors of the objects left (Heap::~Heap); this only unmaps.
LargeObjectSpace::~LargeObjectSpace() {
  objects_.ForEach([&](ObjectHeader* h) { Unmap(h); });
  UnmapKept();
}

void LargeObjectSpace::Release(ObjectHeader* header) {
  const size_t chunked = ChunkedSize(CellSize(header));
  if (!keep_released_ || kept_count_ == kMaxKeptMappings ||
      kept_bytes_ + chunked > kMaxKeptBytes) {
    Unmap(header);
    return;
  }
  char* start = reinterpret_cast<char*>(Prefix(header));
  ChunkTable::Unregister(start, chunked);
  PoisonMemory(start, chunked);
  kept_[kept_count_++] = {start, chunked};
  kept_bytes_ += chunked;
}

char* LargeObjectSpace::TakeKept(size_t chunked) {
  for (size_t i = 0; i < kept_count_; ++i) {
    if (kept_[i].size != chunked) continue;
    char* start = kept_[i].start;
    kept_[i] = kept_[--kept_count_];
    kept_bytes_ -= chunked;
    return start;
  }
  return nullptr;
}

void LargeObjectSpace::UnmapKept() {
  for (size_t i = 0; i < kept_count_; ++i) {
    // ASan's shadow outlives the mapping: whoever maps these addresses next (another
    // allocator) must not find them poisoned (VirtualMemory::MapAligned).
    UnpoisonMemory(kept_[i].start, kept_[i].size);
    munmap(kept_[i].start, kept_[i].size);
    kept_bytes_ -= kept_[i].size;
  }
  kept_count_ = 0;
}

ObjectHeader* LargeObjectSpace::Allocate(size_t cell_size) {
  const size_t chunked = ChunkedSize(cell_size);
  if (!AllowMemoryRequest("large object mapping")) return nullptr;  // gc/fault_injection.h
  char* start = TakeKept(chunked);
  if (start == nullptr) {
    start = VirtualMemory::MapAligned(chunked, kChunkSize, /*no_reserve=*/false);
    if (start == nullptr) return nullptr;
  } else {
    UnpoisonMemory(start, chunked);  // a kept mapping is poisoned (Release)
  }
  auto* prefix = reinterpret_cast<uint64_t*>(start);
  *prefix = static_cast<uint64_t>(cell_size) << kFlagBits;
  auto* header = reinterpret_cast<ObjectHeader*>(prefix + 1);
  header->word = 0;
  // No memory to index it or to map it to its collector: as if the mapping failed.
  if (!ChunkTable::Register(start, chunked, owner_)) {
    munmap(start, chunked);
    return nullptr;
  }
  if (!objects_.TryInsert(header)) {
    ChunkTable::Unregister(start, chunked);
    munmap(start, chunked);
    return nullptr;
  }
  committed_ += UsedSize(cell_size);
  return header;
}

void* LargeObjectSpace::HolderOf(const void* address) const {
  // Every large object starts a chunk: walk down chunk by chunk from `address` while
  // the chunks still belong to this space's collector.
  auto a = reinterpret_cast<uintptr_t>(address);
  for (uintptr_t chunk = a / kChunkSize * kChunkSize;
       ChunkTable::Owner(reinterpret_cast<void*>(chunk)) == owner_ && chunk != 0;
       chunk -= kChunkSize) {
    auto* header = reinterpret_cast<ObjectHeader*>(chunk + sizeof(uint64_t));
    if (!objects_.contains(header)) continue;
    if (a < reinterpret_cast<uintptr_t>(header->payload()) ||
        a >= reinterpret_cast<uintptr_t>(header) + CellSize(header)) {
      return nullptr;
    }
    return header->payload();
  }
  return nullptr;
}

SweepResult LargeObjectSpace::Sweep(bool keep_marks) {
  // In one pass, with no list of the dead: the sweep needs no memory ([fault]).
  // Mappings kept since the last sweep and not reused are given back first.
  UnmapKept();
  SweepResult result;
  objects_.Filter([&](ObjectHeader* h) {
    uint64_t& prefix = *Prefix(h);
    if (prefix & kMarkedBit) {
      if (!keep_marks) prefix &= ~kMarkedBit;
      return true;
    }
    if (h->type()->finalize != nullptr) h->type()->finalize(h->payload());
    result.freed_bytes += CellSize(h);
    result.freed_objects += 1;
    committed_ -= UsedSize(CellSize(h));
    Release(h);
    return false;
  });
  return result;
}

}  // namespace gclab::internal
