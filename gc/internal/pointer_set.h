// gclab internal: a set of pointers in side-table memory (internal/side_table.h), for
// the large-object space's index of its objects.
//
// Open addressing with linear probing, at most half full; deletion shifts the probe run
// back instead of leaving tombstones. Unlike absl's and the standard containers, it
// reports a failed allocation by returning false with the set unchanged: absl's hash
// tables are not safe against an allocator that throws.
#ifndef GCLAB_GC_INTERNAL_POINTER_SET_H_
#define GCLAB_GC_INTERNAL_POINTER_SET_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gc/internal/side_table.h"

namespace gclab::internal {

template <typename T>
class PointerSet {
 public:
  PointerSet() = default;
  PointerSet(const PointerSet&) = delete;
  PointerSet& operator=(const PointerSet&) = delete;
  ~PointerSet() { FreeSideTable(slots_); }

  size_t size() const { return size_; }

  bool contains(const T* p) const {
    if (size_ == 0) return false;
    for (size_t i = Home(p);; i = (i + 1) & mask_) {
      if (slots_[i] == nullptr) return false;
      if (slots_[i] == p) return true;
    }
  }

  // Adds `p` (not null, not present); false, with the set unchanged, when the set had
  // to grow and no memory was left for it.
  [[nodiscard]] bool TryInsert(T* p) {
    if ((size_ + 1) * 2 > capacity() && !TryResize(capacity() == 0 ? 16 : capacity() * 2)) {
      return false;
    }
    Place(p);
    ++size_;
    return true;
  }

  // Removes `p`, which must be present. Never allocates.
  void Erase(const T* p) {
    size_t hole = Home(p);
    while (slots_[hole] != p) hole = (hole + 1) & mask_;
    EraseAt(hole);
  }

  // f(T*) for every element, once; f returns true to keep it and false to remove it.
  // Never allocates. The scan starts at an empty slot, so that no probe run wraps
  // around it: a removal shifts only elements the scan has not reached yet.
  template <typename F>
  void Filter(F&& f) {
    if (size_ == 0) return;
    size_t start = 0;
    while (slots_[start] != nullptr) ++start;  // exists: at most half full
    for (size_t k = 1; k <= mask_ + 1;) {
      const size_t i = (start + k) & mask_;
      T* p = slots_[i];
      if (p == nullptr || f(p)) {
        ++k;
        continue;
      }
      EraseAt(i);  // slot i now holds the next of its run, or nothing: look again
    }
  }

  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < capacity(); ++i) {
      if (slots_[i] != nullptr) f(slots_[i]);
    }
  }

 private:
  size_t capacity() const { return slots_ == nullptr ? 0 : mask_ + 1; }
  size_t Home(const T* p) const {
    uint64_t x = reinterpret_cast<uintptr_t>(p);
    x ^= x >> 29;
    x *= 0x9e3779b97f4a7c15ull;
    return static_cast<size_t>(x >> 32) & mask_;
  }
  void Place(T* p) {
    size_t i = Home(p);
    while (slots_[i] != nullptr) i = (i + 1) & mask_;
    slots_[i] = p;
  }
  void EraseAt(size_t hole) {
    for (size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
      T* p = slots_[j];
      if (p == nullptr) break;
      const size_t home = Home(p);
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = p;
        hole = j;
      }
    }
    slots_[hole] = nullptr;
    --size_;
  }
  bool TryResize(size_t capacity) {
    void* memory = TryAllocateSideTable(capacity * sizeof(T*), "large-object index");
    if (memory == nullptr) return false;
    T** old = slots_;
    const size_t old_capacity = this->capacity();
    slots_ = static_cast<T**>(memory);
    std::memset(slots_, 0, capacity * sizeof(T*));
    mask_ = capacity - 1;
    for (size_t i = 0; i < old_capacity; ++i) {
      if (old[i] != nullptr) Place(old[i]);
    }
    FreeSideTable(old);
    return true;
  }

  T** slots_ = nullptr;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_POINTER_SET_H_
