#include "gc/internal/virtual_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gc/fault_injection.h"
#include "gc/internal/check.h"
#include "gc/internal/sanitizer.h"

namespace gclab::internal {

char* VirtualMemory::MapAligned(size_t size, size_t alignment, bool no_reserve) {
  const size_t over = size + alignment - kOsPageSize;
  void* p = mmap(nullptr, over, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | (no_reserve ? MAP_NORESERVE : 0), -1, 0);
  if (p == MAP_FAILED) return nullptr;
  char* start = reinterpret_cast<char*>(RoundUp(reinterpret_cast<uintptr_t>(p), alignment));
  char* end = static_cast<char*>(p) + over;
  if (start != p) munmap(p, static_cast<size_t>(start - static_cast<char*>(p)));
  if (start + size != end) munmap(start + size, static_cast<size_t>(end - start - size));
  // ASan keeps its shadow across munmap: a mapping that reuses the range of one whose
  // cells were poisoned (StressOptions::zap_freed, a kept large object) would start
  // out poisoned.
  UnpoisonMemory(start, size);
  return start;
}

absl::StatusOr<VirtualMemory> VirtualMemory::Reserve(size_t size, size_t alignment) {
  size = RoundUp(size, kOsPageSize);
  if (alignment < kOsPageSize) alignment = kOsPageSize;
  char* start = nullptr;
  errno = ENOMEM;  // what a refused request says (gc/fault_injection.h)
  if (AllowMemoryRequest("address-space reservation")) {
    start = MapAligned(size, alignment, /*no_reserve=*/true);
  }
  if (start == nullptr) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "gclab: cannot reserve %d bytes of address space: %s", size + alignment - kOsPageSize,
        std::strerror(errno)));
  }
  VirtualMemory vm;
  vm.base_ = start;
  vm.size_ = size;
  return vm;
}

VirtualMemory::VirtualMemory(VirtualMemory&& other) noexcept { *this = std::move(other); }

VirtualMemory& VirtualMemory::operator=(VirtualMemory&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) Unmap();
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

VirtualMemory::~VirtualMemory() {
  if (base_ != nullptr) Unmap();
}

void VirtualMemory::Unmap() {
  UnpoisonMemory(base_, size_);  // see MapAligned
  munmap(base_, size_);
}

void VirtualMemory::Decommit(void* start, size_t length) {
  if (length == 0) return;
  int rc = madvise(start, length, MADV_DONTNEED);
  GCLAB_CHECK(rc == 0, "madvise(MADV_DONTNEED) failed: %s", std::strerror(errno));
}

bool VirtualMemory::AdviseHugePages() {
  if (size_ == 0) return false;
  return madvise(base_, size_, MADV_HUGEPAGE) == 0;
}

void VirtualMemory::Protect(void* start, size_t length, bool accessible) {
  if (length == 0) return;
  int rc = mprotect(start, length, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
  GCLAB_CHECK(rc == 0, "mprotect failed: %s", std::strerror(errno));
}

}  // namespace gclab::internal
