// gclab internal: a hash map and a hash set keyed by pointers or integer ids, in
// side-table memory (internal/side_table.h): the large-object space's index of its
// objects, a finalization registry's unregister tokens, a queue's registries.
//
// Open addressing with linear probing, at most half full; deletion shifts the probe run
// back instead of leaving tombstones. The zero key (null) marks an empty slot and may
// not be stored. Unlike absl's and the standard containers, growing reports a failed
// allocation by returning false with the table unchanged: absl's hash tables are not
// safe against an allocator that throws. Removing and clearing never allocate.
#ifndef GCLAB_GC_INTERNAL_POINTER_SET_H_
#define GCLAB_GC_INTERNAL_POINTER_SET_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "gc/internal/check.h"
#include "gc/internal/side_table.h"

namespace gclab::internal {

template <typename K, typename V>
class PointerMap {
 public:
  struct Entry {
    K key;
    V value;
  };

  PointerMap() = default;
  PointerMap(const PointerMap&) = delete;
  PointerMap& operator=(const PointerMap&) = delete;
  PointerMap(PointerMap&& other) noexcept
      : slots_(other.slots_), mask_(other.mask_), size_(other.size_) {
    other.slots_ = nullptr;
    other.mask_ = other.size_ = 0;
  }
  ~PointerMap() { FreeSideTable(slots_); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  V* find(K key) {
    if (size_ == 0) return nullptr;
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == K{}) return nullptr;
      if (slots_[i].key == key) return &slots_[i].value;
    }
  }
  const V* find(K key) const { return const_cast<PointerMap*>(this)->find(key); }

  // Adds `key` (not zero, not present); false, with the map unchanged, when the map
  // had to grow and no memory was left for it. Never grows while fewer entries are
  // stored than were at any time since the last growth (clear() keeps the memory).
  [[nodiscard]] bool TryInsert(K key, V value) {
    GCLAB_DCHECK(key != K{}, "PointerMap: the zero key is reserved");
    if ((size_ + 1) * 2 > capacity() && !TryResize(capacity() == 0 ? 16 : capacity() * 2)) {
      return false;
    }
    Place({key, value});
    ++size_;
    return true;
  }

  // Removes `key`; false if it was not there.
  bool erase(K key) {
    if (size_ == 0) return false;
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == K{}) return false;
      if (slots_[i].key == key) {
        EraseAt(i);
        return true;
      }
    }
  }

  void clear() {
    for (size_t i = 0; i < capacity(); ++i) slots_[i].key = K{};
    size_ = 0;
  }

  // f(Entry&) for every entry, once; f returns true to keep it and false to remove it.
  // The scan starts at an empty slot, so that no probe run wraps around it: a removal
  // shifts only entries the scan has not reached yet.
  template <typename F>
  void Filter(F&& f) {
    if (size_ == 0) return;
    size_t start = 0;
    while (slots_[start].key != K{}) ++start;  // exists: at most half full
    for (size_t k = 1; k <= mask_ + 1;) {
      const size_t i = (start + k) & mask_;
      if (slots_[i].key == K{} || f(slots_[i])) {
        ++k;
        continue;
      }
      EraseAt(i);  // slot i now holds the next of its run, or nothing: look again
    }
  }

  // f(Entry&) for every entry; f must not insert or remove.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < capacity(); ++i) {
      if (slots_[i].key != K{}) f(slots_[i]);
    }
  }

 private:
  size_t capacity() const { return slots_ == nullptr ? 0 : mask_ + 1; }
  size_t Home(K key) const {
    uint64_t x;
    if constexpr (std::is_pointer_v<K>) {
      x = reinterpret_cast<uintptr_t>(key);
    } else {
      x = static_cast<uint64_t>(key);
    }
    x ^= x >> 29;
    x *= 0x9e3779b97f4a7c15ull;  // 2^64 / golden ratio
    return static_cast<size_t>(x >> 32) & mask_;
  }
  void Place(const Entry& e) {
    size_t i = Home(e.key);
    while (slots_[i].key != K{}) i = (i + 1) & mask_;
    slots_[i] = e;
  }
  void EraseAt(size_t hole) {
    for (size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
      const Entry e = slots_[j];
      if (e.key == K{}) break;
      const size_t home = Home(e.key);
      // e may move to the hole only if the hole lies on its probe path.
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = e;
        hole = j;
      }
    }
    slots_[hole].key = K{};
    --size_;
  }
  bool TryResize(size_t capacity) {
    void* memory = TryAllocateSideTable(capacity * sizeof(Entry), "hash table");
    if (memory == nullptr) return false;
    Entry* old = slots_;
    const size_t old_capacity = this->capacity();
    slots_ = static_cast<Entry*>(memory);
    for (size_t i = 0; i < capacity; ++i) new (&slots_[i]) Entry{K{}, V{}};
    mask_ = capacity - 1;
    for (size_t i = 0; i < old_capacity; ++i) {
      if (old[i].key != K{}) Place(old[i]);
    }
    FreeSideTable(old);
    return true;
  }

  static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V> &&
                    std::is_trivially_destructible_v<V>,
                "PointerMap holds plain keys and values");
  Entry* slots_ = nullptr;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// A set of T*, on the same table.
template <typename T>
class PointerSet {
 public:
  size_t size() const { return map_.size(); }
  bool contains(const T* p) const { return map_.find(const_cast<T*>(p)) != nullptr; }
  [[nodiscard]] bool TryInsert(T* p) { return map_.TryInsert(p, Empty{}); }
  void Erase(const T* p) { map_.erase(const_cast<T*>(p)); }
  // f(T*) for every element, once; false from f removes it. Never allocates.
  template <typename F>
  void Filter(F&& f) {
    map_.Filter([&](typename Map::Entry& e) { return f(e.key); });
  }
  template <typename F>
  void ForEach(F&& f) const {
    map_.ForEach([&](const typename Map::Entry& e) { f(e.key); });
  }

 private:
  struct Empty {};
  using Map = PointerMap<T*, Empty>;
  Map map_;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_POINTER_SET_H_
