// The parts of the collector interface every collector shares.
#include "gc/internal/collector.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "gc/collection_hook.h"
#include "gc/internal/chunk_table.h"
#include "gc/internal/check.h"
#include "gc/internal/virtual_memory.h"

namespace gclab::internal {

Collector::~Collector() {
  for (const Range& r : object_memory_) ChunkTable::Unregister(r.start, r.size);
}

absl::Status Collector::RegisterObjectMemory(const void* start, size_t size) {
  if (!TryReserve(object_memory_, object_memory_.size() + 1) ||
      !ChunkTable::Register(start, size, this)) {
    return absl::ResourceExhaustedError(
        "gclab: cannot record which collector owns the heap's memory (no memory for the chunk table)");
  }
  object_memory_.push_back({start, size});
  return absl::OkStatus();
}

absl::StatusOr<VirtualMemory> Collector::ReserveObjectMemory(size_t size, size_t alignment) {
  absl::StatusOr<VirtualMemory> memory =
      VirtualMemory::Reserve(size, huge_pages_ ? std::max(alignment, kHugePageSize) : alignment);
  if (!memory.ok()) return memory.status();
  if (huge_pages_) memory->AdviseHugePages();  // advice: without THP, small pages
  if (absl::Status s = RegisterObjectMemory(memory->base(), memory->size()); !s.ok()) return s;
  return memory;
}

void* Collector::HolderOf(const void* address) const {
  if (ChunkTable::Owner(address) != this) return nullptr;
  if (SmallSpaceContains(address)) return SmallHolderOf(address);
  return large_.HolderOf(address);
}

std::string Collector::DescribeAllocationFailure(size_t cell_size) const {
  if (cell_size > kMaxSmallCell) {
    return absl::StrFormat(
        "the operating system refused a mapping of %d bytes for a large object", cell_size);
  }
  return absl::StrFormat("the %s collector's space has no room for a cell of %d bytes", name(),
                         cell_size);
}

}  // namespace gclab::internal
