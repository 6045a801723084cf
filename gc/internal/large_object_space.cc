#include "gc/internal/large_object_space.h"

#include <sys/mman.h>

#include <vector>

#include "gc/internal/virtual_memory.h"

namespace gclab::internal {

LargeObjectSpace::~LargeObjectSpace() {
  for (ObjectHeader* h : objects_) {
    if (h->type() != nullptr && h->type()->finalize != nullptr) h->type()->finalize(h->payload());
    munmap(h, RoundUp(h->size, kOsPageSize));
  }
}

ObjectHeader* LargeObjectSpace::Allocate(size_t cell_size) {
  size_t mapped = RoundUp(cell_size, kOsPageSize);
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* header = static_cast<ObjectHeader*>(p);
  header->word = 0;
  header->size = static_cast<uint32_t>(cell_size);
  header->flags = ObjectHeader::kLargeBit;
  objects_.insert(header);
  committed_ += mapped;
  return header;
}

SweepResult LargeObjectSpace::Sweep() {
  SweepResult result;
  std::vector<ObjectHeader*> dead;
  for (ObjectHeader* h : objects_) {
    if (h->is_marked()) {
      h->clear_marked();
    } else {
      dead.push_back(h);
    }
  }
  for (ObjectHeader* h : dead) {
    objects_.erase(h);
    if (h->type()->finalize != nullptr) h->type()->finalize(h->payload());
    result.freed_bytes += h->size;
    result.freed_objects += 1;
    size_t mapped = RoundUp(h->size, kOsPageSize);
    committed_ -= mapped;
    munmap(h, mapped);
  }
  return result;
}

}  // namespace gclab::internal
