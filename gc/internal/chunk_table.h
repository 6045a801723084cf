// gclab internal: which collector owns an address, process-wide.
//
// The write barrier's slow path gets only a slot's address (a Member does not know its
// heap), and any number of heaps may live in a process, each with its own collector.
// Every range of memory that holds objects (a collector's pages or halves, each large
// object) is registered here by 256 KiB chunk, so that finding the owner of an address
// is two dependent loads: a root table of leaves, then the leaf's entry.
//
// For that, every registered range is chunk-aligned and a whole number of chunks
// (VirtualMemory::Reserve with kChunkSize, LargeObjectSpace's mappings), so no chunk is
// ever shared by two heaps, or by a heap and memory that is not one. Leaves are mapped
// on first use and kept for the life of the process (a leaf covers 16 GiB of address
// space in 512 KiB of table, touched only where heaps are).
//
// Thread safety: heaps on different threads register and look up concurrently. An
// entry is written only by the heap whose range it covers, while no other thread can
// hold a pointer into that range; lookups are relaxed loads.
#ifndef GCLAB_GC_INTERNAL_CHUNK_TABLE_H_
#define GCLAB_GC_INTERNAL_CHUNK_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace gclab::internal {

class Collector;

inline constexpr size_t kChunkBits = 18;
inline constexpr size_t kChunkSize = size_t{1} << kChunkBits;  // 256 KiB

class ChunkTable {
 public:
  // Addresses at or above 2^48 are never registered (x86-64 and AArch64 user space).
  static constexpr size_t kAddressBits = 48;
  static constexpr size_t kLeafBits = 16;
  static constexpr size_t kRootBits = kAddressBits - kChunkBits - kLeafBits;

  // Marks [start, start + size) as `owner`'s; both chunk-aligned. False, with nothing
  // registered, when no memory is left for a leaf (a counted OS request,
  // gc/fault_injection.h) or the range lies beyond kAddressBits.
  static bool Register(const void* start, size_t size, Collector* owner);
  // Forgets [start, start + size), registered before by Register.
  static void Unregister(const void* start, size_t size);

  // The collector whose objects' memory holds `address`, or null.
  static Collector* Owner(const void* address) {
    const auto a = reinterpret_cast<uintptr_t>(address);
    if (a >> kAddressBits) return nullptr;
    Leaf* leaf = roots_[a >> (kChunkBits + kLeafBits)].load(std::memory_order_acquire);
    if (leaf == nullptr) return nullptr;
    return leaf->owners[(a >> kChunkBits) & ((size_t{1} << kLeafBits) - 1)].load(
        std::memory_order_relaxed);
  }

 private:
  struct Leaf {
    std::atomic<Collector*> owners[size_t{1} << kLeafBits];
  };
  static Leaf* LeafFor(uintptr_t address, bool create);
  static void Set(uintptr_t start, size_t size, Collector* owner);

  static std::atomic<Leaf*> roots_[size_t{1} << kRootBits];
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_CHUNK_TABLE_H_
