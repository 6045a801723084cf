// gclab internal: where objects start in a bump-allocated space.
//
// A space filled by bumping a pointer has no page structure to say where an object
// starts, yet Contains must reject interior pointers and HolderOf must find the object
// around a slot. ObjectStarts keeps one bit per granule of the space, set lazily: the
// first question after new allocations walks the objects allocated since the last one
// (each object once per fill of the space) and sets their bits. Semispace keeps one
// per half; gen-copy one for its nursery.
#ifndef GCLAB_GC_INTERNAL_OBJECT_STARTS_H_
#define GCLAB_GC_INTERNAL_OBJECT_STARTS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "gc/internal/object_header.h"
#include "gc/internal/virtual_memory.h"

namespace gclab::internal {

class ObjectStarts {
 public:
  // For the space [base, base + size), reserved by the caller.
  absl::Status Init(char* base, size_t size) {
    auto bitmap = VirtualMemory::Reserve(size / kAllocationGranule / 8 + 8, kOsPageSize);
    if (!bitmap.ok()) return bitmap.status();
    bitmap_ = std::move(*bitmap);
    base_ = indexed_top_ = base;
    return absl::OkStatus();
  }

  // The space is empty again (a collection emptied it).
  void Reset() {
    const size_t granules = static_cast<size_t>(indexed_top_ - base_) / kAllocationGranule;
    std::memset(bitmap_.base(), 0, (granules + 63) / 64 * sizeof(uint64_t));
    indexed_top_ = base_;
  }

  // True if an object of the space, which is filled up to `top`, starts its payload
  // at `payload`.
  bool IsPayload(const void* payload, const char* top) const {
    const char* header = static_cast<const char*>(payload) - kHeaderSize;
    if (header < base_ || static_cast<const char*>(payload) >= top ||
        reinterpret_cast<uintptr_t>(payload) % kAllocationGranule != 0) {
      return false;
    }
    Index(top);
    const size_t granule = static_cast<size_t>(header - base_) / kAllocationGranule;
    return (bits()[granule / 64] >> (granule % 64)) & 1;
  }

  // The payload of the object whose cell holds `address` (below `top`), or null if
  // `address` is in no object's payload.
  void* HolderOf(const void* address, const char* top) const {
    const char* a = static_cast<const char*>(address);
    if (a < base_ || a >= top) return nullptr;
    Index(top);
    // The last object start at or before `address`.
    size_t granule = static_cast<size_t>(a - base_) / kAllocationGranule;
    size_t word = granule / 64;
    uint64_t w = bits()[word] & (~uint64_t{0} >> (63 - granule % 64));
    while (w == 0) {
      if (word == 0) return nullptr;
      w = bits()[--word];
    }
    const size_t start = word * 64 + 63 - static_cast<size_t>(__builtin_clzll(w));
    auto* header = reinterpret_cast<ObjectHeader*>(base_ + start * kAllocationGranule);
    if (a < header->payload()) return nullptr;
    return header->payload();
  }

 private:
  uint64_t* bits() const { return reinterpret_cast<uint64_t*>(bitmap_.base()); }
  // Sets the bits of the objects in [indexed_top_, top).
  void Index(const char* top) const {
    while (indexed_top_ < top) {
      const size_t granule = static_cast<size_t>(indexed_top_ - base_) / kAllocationGranule;
      bits()[granule / 64] |= uint64_t{1} << (granule % 64);
      indexed_top_ += CellSizeOf(reinterpret_cast<const ObjectHeader*>(indexed_top_));
    }
  }

  VirtualMemory bitmap_;
  char* base_ = nullptr;
  mutable char* indexed_top_ = nullptr;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_OBJECT_STARTS_H_
