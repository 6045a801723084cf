// gclab internal: the large-object space, shared by every collector.
//
// Objects whose cell exceeds kMaxSmallCell get a mapping of their own. They never
// move (copying them would cost more than it saves); a collection marks them and the
// sweep releases the unmarked ones. Each mapping is a whole number of 256 KiB chunks,
// chunk-aligned, and registered in the ChunkTable as its collector's (chunk_table.h)
// while an object lives in it; only the pages the object touches cost memory. It
// starts with a prefix word holding the cell size, the mark bit, the worklist-overflow
// bit and the remembered bit (generational collectors):
//
//   [ prefix (8 bytes) ][ ObjectHeader ][ payload ... ]
//
// The space's index of its objects (for Contains and the sweep) is a PointerSet in
// side-table memory: an allocation it has no room for fails like a refused mapping.
//
// A released mapping is kept, up to kMaxKeptMappings of them and kMaxKeptBytes, for
// an allocation of the same number of chunks before the next sweep, which unmaps the
// ones still unused: a program that grows a vector by doubling, drops it and does it
// again (a WeakMap filled per request) would otherwise pay a fresh mapping, and a
// kernel page fault and zeroing per page, for every store, where malloc reuses its
// freed blocks below glibc's 32 MiB mmap threshold. A kept mapping's pages stay
// resident, and it counts in committed_bytes() at its whole size; it is poisoned under ASan and unregistered
// from the ChunkTable, and under StressOptions::zap_freed nothing is kept, so a use of
// a dead large object still faults.
#ifndef GCLAB_GC_INTERNAL_LARGE_OBJECT_SPACE_H_
#define GCLAB_GC_INTERNAL_LARGE_OBJECT_SPACE_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "gc/internal/object_header.h"
#include "gc/internal/pointer_set.h"

namespace gclab::internal {

class Collector;

struct SweepResult {
  size_t freed_bytes = 0;
  size_t freed_objects = 0;
  SweepResult& operator+=(const SweepResult& other) {
    freed_bytes += other.freed_bytes;
    freed_objects += other.freed_objects;
    return *this;
  }
};

class LargeObjectSpace {
 public:
  LargeObjectSpace() = default;
  LargeObjectSpace(const LargeObjectSpace&) = delete;
  LargeObjectSpace& operator=(const LargeObjectSpace&) = delete;
  ~LargeObjectSpace();

  // A cell of `cell_size` bytes, or null when the OS refuses the mapping or no memory
  // is left to index it.
  ObjectHeader* Allocate(size_t cell_size);

  bool Contains(const void* payload) const {
    return objects_.contains(ObjectHeader::FromPayload(payload));
  }
  // The payload of the large object whose cell holds `address`, or null. Linear in
  // the chunks between the object's start and `address`.
  void* HolderOf(const void* address) const;
  // The collector whose objects these are, for the ChunkTable.
  void set_owner(Collector* owner) { owner_ = owner; }

  // The prefix word before the header: cell size << 3 | remembered << 2 |
  // overflowed << 1 | marked.
  static size_t CellSize(const ObjectHeader* header) { return *Prefix(header) >> kFlagBits; }
  static bool IsMarked(const ObjectHeader* header) { return *Prefix(header) & kMarkedBit; }
  // Sets the mark; true if it was clear (the caller then traces the object).
  static bool Mark(ObjectHeader* header) { return SetFlag(header, kMarkedBit); }
  // [fault] A marked object that its collector's worklist had no room for: flagged
  // here, and handed to f(header) by TakeOverflowed, which clears the flag first.
  static void SetOverflowed(ObjectHeader* header) { *Prefix(header) |= kOverflowedBit; }
  template <typename F>
  void TakeOverflowed(F&& f) {
    objects_.ForEach([&](ObjectHeader* h) {
      if ((*Prefix(h) & kOverflowedBit) == 0) return;
      *Prefix(h) &= ~kOverflowedBit;
      f(h);
    });
  }

  // In a generational collector's remembered set ([gen.remember]): Remember sets the
  // bit and returns true if it was clear.
  static bool IsRemembered(const ObjectHeader* header) { return *Prefix(header) & kRememberedBit; }
  static bool Remember(ObjectHeader* header) { return SetFlag(header, kRememberedBit); }
  static void Forget(ObjectHeader* header) { *Prefix(header) &= ~kRememberedBit; }

  // Destroys and releases unmarked objects; clears the marks of the rest, unless
  // `keep_marks` (sticky mark bits: a marked object is old, [gen.sticky]). Unmaps the
  // mappings kept since the previous sweep and keeps the ones this sweep released
  // (see above).
  SweepResult Sweep(bool keep_marks = false);
  // False: released mappings are unmapped at once (StressOptions::zap_freed).
  void set_keep_released(bool keep) { keep_released_ = keep; }
  // Clears every mark and remembered bit (a sticky-mark collector's major collection).
  void ClearMarks() {
    objects_.ForEach([](ObjectHeader* h) { *Prefix(h) &= ~(kMarkedBit | kRememberedBit); });
  }

  void ForEachObject(const std::function<void(ObjectHeader*, size_t)>& f) const {
    objects_.ForEach([&](ObjectHeader* h) { f(h, CellSize(h)); });
  }

  // The pages the objects use, and the kept mappings' whole sizes (an upper bound of
  // what they hold resident until reused or unmapped).
  size_t committed_bytes() const { return committed_ + kept_bytes_; }
  size_t object_count() const { return objects_.size(); }
  // Released mappings kept for reuse, and the bytes they span.
  size_t kept_mappings() const { return kept_count_; }
  size_t kept_bytes() const { return kept_bytes_; }

 private:
  static constexpr uint64_t kMarkedBit = 1;
  static constexpr uint64_t kOverflowedBit = 2;
  static constexpr uint64_t kRememberedBit = 4;
  static constexpr int kFlagBits = 3;
  static uint64_t* Prefix(const ObjectHeader* header) {
    return reinterpret_cast<uint64_t*>(const_cast<ObjectHeader*>(header)) - 1;
  }
  // Sets `flag` in the prefix; true if it was clear.
  static bool SetFlag(ObjectHeader* header, uint64_t flag) {
    uint64_t& prefix = *Prefix(header);
    if (prefix & flag) return false;
    prefix |= flag;
    return true;
  }
  static constexpr size_t kMaxKeptMappings = 16;
  static constexpr size_t kMaxKeptBytes = size_t{32} << 20;
  struct KeptMapping {
    char* start;
    size_t size;  // whole chunks
  };
  // A kept mapping of `chunked` bytes, unregistered and poisoned; null if none.
  char* TakeKept(size_t chunked);
  // Keeps the released mapping of `header` if there is room, or unmaps it.
  void Release(ObjectHeader* header);
  void UnmapKept();
  void Unmap(ObjectHeader* header);

  Collector* owner_ = nullptr;
  PointerSet<ObjectHeader> objects_;
  size_t committed_ = 0;
  // Fixed storage: the sweep needs no memory ([fault]).
  KeptMapping kept_[kMaxKeptMappings];
  size_t kept_count_ = 0;
  size_t kept_bytes_ = 0;
  bool keep_released_ = true;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_LARGE_OBJECT_SPACE_H_
