#include "gc/internal/large_object_space.h"

#include <sys/mman.h>


#include "gc/fault_injection.h"
#include "gc/internal/virtual_memory.h"

namespace gclab::internal {

size_t LargeObjectSpace::MappedSize(const ObjectHeader* header) {
  return RoundUp(CellSize(header) + sizeof(uint64_t), kOsPageSize);
}

// The heap runs the destructors of the objects left (Heap::~Heap); this only unmaps.
LargeObjectSpace::~LargeObjectSpace() {
  objects_.ForEach([&](ObjectHeader* h) { munmap(Prefix(h), MappedSize(h)); });
}

ObjectHeader* LargeObjectSpace::Allocate(size_t cell_size) {
  size_t mapped = RoundUp(cell_size + sizeof(uint64_t), kOsPageSize);
  if (!AllowMemoryRequest("large object mapping")) return nullptr;  // gc/fault_injection.h
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* prefix = static_cast<uint64_t*>(p);
  *prefix = static_cast<uint64_t>(cell_size) << 2;
  auto* header = reinterpret_cast<ObjectHeader*>(prefix + 1);
  header->word = 0;
  if (!objects_.TryInsert(header)) {  // no memory to index it: as if the mapping failed
    munmap(p, mapped);
    return nullptr;
  }
  committed_ += mapped;
  return header;
}

SweepResult LargeObjectSpace::Sweep() {
  // In one pass, with no list of the dead: the sweep needs no memory ([fault]).
  SweepResult result;
  objects_.Filter([&](ObjectHeader* h) {
    uint64_t& prefix = *Prefix(h);
    if (prefix & kMarkedBit) {
      prefix &= ~kMarkedBit;
      return true;
    }
    if (h->type()->finalize != nullptr) h->type()->finalize(h->payload());
    result.freed_bytes += CellSize(h);
    result.freed_objects += 1;
    size_t mapped = MappedSize(h);
    committed_ -= mapped;
    munmap(Prefix(h), mapped);
    return false;
  });
  return result;
}

}  // namespace gclab::internal
