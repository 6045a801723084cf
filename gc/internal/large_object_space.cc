#include "gc/internal/large_object_space.h"

#include <sys/mman.h>

#include <vector>

#include "gc/fault_injection.h"
#include "gc/internal/virtual_memory.h"

namespace gclab::internal {

size_t LargeObjectSpace::MappedSize(const ObjectHeader* header) {
  return RoundUp(CellSize(header) + sizeof(uint64_t), kOsPageSize);
}

// The heap runs the destructors of the objects left (Heap::~Heap); this only unmaps.
LargeObjectSpace::~LargeObjectSpace() {
  for (ObjectHeader* h : objects_) munmap(Prefix(h), MappedSize(h));
}

ObjectHeader* LargeObjectSpace::Allocate(size_t cell_size) {
  size_t mapped = RoundUp(cell_size + sizeof(uint64_t), kOsPageSize);
  if (!AllowMemoryRequest()) return nullptr;  // gc/fault_injection.h
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* prefix = static_cast<uint64_t*>(p);
  *prefix = static_cast<uint64_t>(cell_size) << 1;
  auto* header = reinterpret_cast<ObjectHeader*>(prefix + 1);
  header->word = 0;
  objects_.insert(header);
  committed_ += mapped;
  return header;
}

SweepResult LargeObjectSpace::Sweep() {
  SweepResult result;
  std::vector<ObjectHeader*> dead;
  for (ObjectHeader* h : objects_) {
    uint64_t& prefix = *Prefix(h);
    if (prefix & 1) {
      prefix &= ~uint64_t{1};
    } else {
      dead.push_back(h);
    }
  }
  for (ObjectHeader* h : dead) {
    objects_.erase(h);
    if (h->type()->finalize != nullptr) h->type()->finalize(h->payload());
    result.freed_bytes += CellSize(h);
    result.freed_objects += 1;
    size_t mapped = MappedSize(h);
    committed_ -= mapped;
    munmap(Prefix(h), mapped);
  }
  return result;
}

}  // namespace gclab::internal
