// gclab internal: reservations of address space, committed lazily by the kernel.
#ifndef GCLAB_GC_INTERNAL_VIRTUAL_MEMORY_H_
#define GCLAB_GC_INTERNAL_VIRTUAL_MEMORY_H_

#include <cstddef>

#include "absl/status/statusor.h"

namespace gclab::internal {

inline constexpr size_t kOsPageSize = 4096;
// The x86-64 transparent huge page (VirtualMemory::AdviseHugePages).
inline constexpr size_t kHugePageSize = size_t{2} << 20;

constexpr size_t RoundUp(size_t n, size_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

// A read-write, MAP_NORESERVE mapping aligned to `alignment`; pages cost memory only
// once touched. Movable, unmapped on destruction.
class VirtualMemory {
 public:
  static absl::StatusOr<VirtualMemory> Reserve(size_t size, size_t alignment);

  // A read-write anonymous mapping of exactly `size` bytes (a multiple of the OS page)
  // at an address aligned to `alignment` (a power of two, at least the OS page):
  // mapped with the slack an alignment needs, which is then unmapped. Null, with
  // errno set, when the OS refuses. For space that is unmapped piece by piece
  // (LargeObjectSpace's objects); Reserve wraps it for everything else.
  static char* MapAligned(size_t size, size_t alignment, bool no_reserve);

  VirtualMemory() = default;
  VirtualMemory(VirtualMemory&& other) noexcept;
  VirtualMemory& operator=(VirtualMemory&& other) noexcept;
  ~VirtualMemory();

  char* base() const { return base_; }
  size_t size() const { return size_; }
  bool Contains(const void* p) const {
    return p >= base_ && p < base_ + size_;
  }

  // Returns the pages of [start, start + length) to the OS; they read as zero after.
  static void Decommit(void* start, size_t length);
  // Makes [start, start + length) inaccessible (or accessible again).
  static void Protect(void* start, size_t length, bool accessible);
  // Asks the kernel to back this reservation's aligned 2 MiB ranges with transparent
  // huge pages (madvise MADV_HUGEPAGE), so that filling it takes one page fault per
  // 2 MiB instead of 512. Advice only: false if the kernel has no transparent huge
  // pages (or they are off); the reservation works as before.
  bool AdviseHugePages();

 private:
  void Unmap();

  char* base_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_VIRTUAL_MEMORY_H_
