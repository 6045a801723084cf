#include "gc/internal/chunk_table.h"

#include <sys/mman.h>

#include "absl/synchronization/mutex.h"
#include "gc/fault_injection.h"
#include "gc/internal/check.h"

namespace gclab::internal {

std::atomic<ChunkTable::Leaf*> ChunkTable::roots_[size_t{1} << kRootBits];

namespace {
absl::Mutex leaf_mutex(absl::kConstInit);  // serializes the creation of leaves
}  // namespace

ChunkTable::Leaf* ChunkTable::LeafFor(uintptr_t address, bool create) {
  std::atomic<Leaf*>& root = roots_[address >> (kChunkBits + kLeafBits)];
  Leaf* leaf = root.load(std::memory_order_acquire);
  if (leaf != nullptr || !create) return leaf;
  absl::MutexLock lock(&leaf_mutex);
  leaf = root.load(std::memory_order_acquire);
  if (leaf != nullptr) return leaf;
  if (!AllowMemoryRequest("chunk-table leaf")) return nullptr;
  // Zero pages read as null owners; only the entries of registered chunks get touched.
  void* p = mmap(nullptr, sizeof(Leaf), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  leaf = static_cast<Leaf*>(p);
  root.store(leaf, std::memory_order_release);
  return leaf;
}

void ChunkTable::Set(uintptr_t start, size_t size, Collector* owner) {
  for (uintptr_t a = start; a < start + size; a += kChunkSize) {
    Leaf* leaf = LeafFor(a, false);
    leaf->owners[(a >> kChunkBits) & ((size_t{1} << kLeafBits) - 1)].store(
        owner, std::memory_order_relaxed);
  }
}

bool ChunkTable::Register(const void* start, size_t size, Collector* owner) {
  const auto s = reinterpret_cast<uintptr_t>(start);
  GCLAB_CHECK(s % kChunkSize == 0 && size % kChunkSize == 0,
              "ChunkTable::Register of a range that is not whole chunks");
  if (size == 0) return true;
  if (((s + size - 1) >> kAddressBits) != 0) return false;
  // Every leaf first, so that a refusal leaves nothing registered.
  const size_t leaf_span = kChunkSize << kLeafBits;
  for (uintptr_t a = s / leaf_span * leaf_span; a < s + size; a += leaf_span) {
    if (LeafFor(a, true) == nullptr) return false;
  }
  Set(s, size, owner);
  return true;
}

void ChunkTable::Unregister(const void* start, size_t size) {
  Set(reinterpret_cast<uintptr_t>(start), size, nullptr);
}

}  // namespace gclab::internal
