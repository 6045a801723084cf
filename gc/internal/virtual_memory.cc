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

absl::StatusOr<VirtualMemory> VirtualMemory::Reserve(size_t size, size_t alignment) {
  size = RoundUp(size, kOsPageSize);
  if (alignment < kOsPageSize) alignment = kOsPageSize;
  size_t mapping_size = size + alignment - kOsPageSize;
  void* p = MAP_FAILED;
  errno = ENOMEM;  // what a refused request says (gc/fault_injection.h)
  if (AllowMemoryRequest("address-space reservation")) {
    p = mmap(nullptr, mapping_size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  }
  if (p == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "gclab: cannot reserve %d bytes of address space: %s", mapping_size,
        std::strerror(errno)));
  }
  // ASan keeps its shadow across munmap: a mapping that reuses the range of one whose
  // cells were poisoned (StressOptions::zap_freed) would start out poisoned.
  UnpoisonMemory(p, mapping_size);
  VirtualMemory vm;
  vm.mapping_ = static_cast<char*>(p);
  vm.mapping_size_ = mapping_size;
  vm.base_ = reinterpret_cast<char*>(
      RoundUp(reinterpret_cast<uintptr_t>(vm.mapping_), alignment));
  vm.size_ = size;
  return vm;
}

VirtualMemory::VirtualMemory(VirtualMemory&& other) noexcept { *this = std::move(other); }

VirtualMemory& VirtualMemory::operator=(VirtualMemory&& other) noexcept {
  if (this != &other) {
    if (mapping_ != nullptr) Unmap();
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

VirtualMemory::~VirtualMemory() {
  if (mapping_ != nullptr) Unmap();
}

void VirtualMemory::Unmap() {
  UnpoisonMemory(mapping_, mapping_size_);  // see Reserve
  munmap(mapping_, mapping_size_);
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
