// gclab internal: the storage of WeakMap and WeakSet, an array of entries and an
// index from key address to entry.
//
// The index is an open-addressing table with linear probing. A slot holds an entry's
// position in the array and the top 32 bits of its key's hash; the slot a key probes
// first is given by the top bits of that hash (Fibonacci hashing), so a lookup costs
// one cache miss in the index and one in the entry array, whose entry it needs anyway
// for the value. Deletion shifts the probe run back instead of leaving tombstones.
//
// A moving collection changes every key's address, so after it the table rebuilds its
// index (Compact, called from the table's weak callback), and the same rebuild runs
// when entries die or the index grows. The rebuild keeps the index's memory when its
// size stays, and prefetches the slots of the entries a few places ahead, so that
// with millions of entries it is bound by memory bandwidth rather than by one cache
// miss after another. (It was measured against a counting sort of the entries by home
// slot, which streams through the index, on the 2.8-million-entry chain of
// benchmarks/weak_benchmarks.cc: the two take the same time, and this needs no
// scratch memory.)
//
// The entries hold Members, so they live in the heap (HeapEntries, a HeapVector: the
// write hook sees every store into them, gc/DESIGN.md [barrier]); the index holds
// none and is side-table memory (gc/internal/side_table.h). Adding an entry that finds
// no memory fails and changes nothing (WeakMap::Set and WeakSet::Add return
// ResourceExhausted); Compact, which runs inside a collection, never needs memory: if
// a smaller index cannot be allocated it rebuilds the one it has, and the entries'
// store shrinks at the next Remove instead.
#ifndef GCLAB_WEAK_INTERNAL_ENTRY_TABLE_H_
#define GCLAB_WEAK_INTERNAL_ENTRY_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <new>

#include "gc/heap.h"
#include "gc/heap_vector.h"
#include "gc/internal/check.h"
#include "gc/internal/side_table.h"

namespace gclab::weak_internal {

// The entries of a table in a heap object: a HeapVector that grows in `heap` without
// collecting.
template <typename Entry>
class HeapEntries {
 public:
  explicit HeapEntries(Heap& heap) : heap_(&heap) {}
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  Entry& operator[](size_t i) { return entries_[i]; }
  const Entry& operator[](size_t i) const { return entries_[i]; }
  const Entry* begin() const { return entries_.begin(); }
  const Entry* end() const { return entries_.end(); }
  [[nodiscard]] bool TryReserve(size_t n) { return entries_.TryReserve(*heap_, n); }
  void push_back(const Entry& e) { entries_.push_back(e); }
  void pop_back() { entries_.pop_back(); }
  void Truncate(size_t n) { entries_.Truncate(n); }
  void Shrink() { entries_.TryShrink(*heap_); }
  size_t storage_bytes() const { return entries_.storage_bytes(); }
  void Trace(Visitor& visitor) const { visitor.Trace(entries_, "entries"); }

 private:
  Heap* heap_;
  HeapVector<Entry> entries_;
};

// `Entry` has a field `key` whose GetWithoutLoadHook() returns the key's address (null
// once the collector cleared it), and `Storage` holds the entries (HeapEntries, or
// anything with its interface).
template <typename Entry, typename Storage = HeapEntries<Entry>>
class EntryTable {
 public:
  template <typename... Args>
  explicit EntryTable(Args&&... storage_args) : entries_(std::forward<Args>(storage_args)...) {}

  Entry* Find(const void* key) {
    const size_t slot = FindSlot(key);
    return slot == kNotFound ? nullptr : &entries_[slots_[slot].entry];
  }
  const Entry* Find(const void* key) const {
    const size_t slot = FindSlot(key);
    return slot == kNotFound ? nullptr : &entries_[slots_[slot].entry];
  }

  // Returns the entry for `key`, adding a blank one; null, with the table unchanged,
  // when there is no memory to add it.
  Entry* TryFindOrAdd(void* key) {
    const size_t slot = FindSlot(key);
    if (slot != kNotFound) return &entries_[slots_[slot].entry];
    GCLAB_CHECK(entries_.size() < kMaxEntries, "a WeakMap or WeakSet of 2^31 entries is full");
    const size_t n = entries_.size() + 1;
    if (!entries_.TryReserve(n)) return nullptr;
    const bool grow_index = n > MaxLoad(slots_.size());
    if (grow_index && !TryAllocateIndex(n)) return nullptr;
    Entry blank;
    blank.key = static_cast<decltype(blank.key.GetWithoutLoadHook())>(key);
    entries_.push_back(blank);  // within capacity: cannot fail
    if (grow_index) {
      IndexEntries(n);  // the new entry too
    } else {
      Insert({static_cast<uint32_t>(n - 1), Tag(key)});
    }
    return &entries_[n - 1];
  }

  bool Remove(const void* key) {
    size_t slot = FindSlot(key);
    if (slot == kNotFound) return false;
    const uint32_t entry = slots_[slot].entry;
    EraseSlot(slot);
    const auto last = static_cast<uint32_t>(entries_.size() - 1);
    if (entry != last) {
      // The last entry fills the hole; its slot is repointed.
      entries_[entry] = std::move(entries_[last]);
      const void* moved = entries_[entry].key.GetWithoutLoadHook();
      const uint32_t tag = Tag(moved);
      for (size_t i = Home(tag);; i = (i + 1) & mask()) {
        if (slots_[i].entry == last) {
          slots_[i].entry = entry;
          break;
        }
      }
    }
    entries_.pop_back();
    entries_.Shrink();  // at most a quarter used: a smaller store (Compact cannot)
    return true;
  }

  size_t size() const { return entries_.size(); }
  const Storage& entries() const { return entries_; }
  void Trace(Visitor& visitor) const { entries_.Trace(visitor); }
  // Slots in the index (for tests).
  size_t index_capacity() const { return slots_.size(); }

  // After weak clearing: drops entries whose key died, and re-indexes if anything
  // moved or was dropped.
  void Compact(bool moved) {
    size_t kept = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].key) {
        if (kept != i) entries_[kept] = std::move(entries_[i]);
        ++kept;
      }
    }
    const bool dropped = kept != entries_.size();
    entries_.Truncate(kept);  // the store stays; the next Remove may shrink it
    if (!dropped && !moved) return;
    // A smaller index, or, without memory for one, the one there is (it has room for
    // every entry kept, since it had for all of them).
    if (!TryAllocateIndex(kept)) ClearIndex();
    IndexEntries(kept);
  }

 private:
  struct Slot {
    uint32_t entry;  // index in entries_, or kEmpty
    uint32_t tag;    // top 32 bits of the key's hash
  };
  static constexpr uint32_t kEmpty = ~uint32_t{0};
  static constexpr size_t kMaxEntries = size_t{1} << 31;
  static constexpr size_t kNotFound = ~size_t{0};
  static constexpr size_t kMinCapacity = 8;

  static uint32_t Tag(const void* key) {
    uint64_t x = reinterpret_cast<uintptr_t>(key);
    x ^= x >> 29;
    x *= 0x9e3779b97f4a7c15ull;  // 2^64 / golden ratio
    return static_cast<uint32_t>(x >> 32);
  }
  // At most 3/4 full.
  static size_t MaxLoad(size_t capacity) { return capacity - capacity / 4; }
  size_t mask() const { return slots_.size() - 1; }
  size_t Home(uint32_t tag) const { return tag >> (32 - capacity_bits_); }

  size_t FindSlot(const void* key) const {
    if (entries_.empty()) return kNotFound;
    const uint32_t tag = Tag(key);
    for (size_t i = Home(tag);; i = (i + 1) & mask()) {
      const Slot s = slots_[i];
      if (s.entry == kEmpty) return kNotFound;
      if (s.tag == tag && entries_[s.entry].key.GetWithoutLoadHook() == key) return i;
    }
  }

  void Insert(Slot slot) {
    size_t i = Home(slot.tag);
    while (slots_[i].entry != kEmpty) i = (i + 1) & mask();
    slots_[i] = slot;
  }

  // Backward-shift deletion: later members of the probe run move up into the hole
  // when their home allows it, so every key stays reachable from its home.
  void EraseSlot(size_t hole) {
    for (size_t j = (hole + 1) & mask();; j = (j + 1) & mask()) {
      const Slot s = slots_[j];
      if (s.entry == kEmpty) break;
      const size_t home = Home(s.tag);
      // s may move to the hole only if the hole lies on its probe path: between its
      // home and j, cyclically.
      if (((j - home) & mask()) >= ((j - hole) & mask())) {
        slots_[hole] = s;
        hole = j;
      }
    }
    slots_[hole].entry = kEmpty;
  }

  // Gives the index the capacity `n` entries need, empty (none for no entries); false,
  // with the index unchanged, when that takes memory there is none of. Keeps the
  // index's memory when its size stays.
  bool TryAllocateIndex(size_t n) {
    if (n == 0) {
      internal::SideVector<Slot>().swap(slots_);
      capacity_bits_ = 0;
      return true;
    }
    size_t capacity = kMinCapacity;
    int bits = 3;
    while (MaxLoad(capacity) < n) {
      capacity *= 2;
      ++bits;
    }
    if (slots_.size() != capacity) {
      try {
        internal::SideVector<Slot>(capacity, Slot{kEmpty, 0}).swap(slots_);
      } catch (const std::bad_alloc&) {
        return false;
      }
    } else {
      ClearIndex();
    }
    capacity_bits_ = bits;
    return true;
  }
  void ClearIndex() {
    for (Slot& s : slots_) s.entry = kEmpty;
  }

  // Indexes the first `n` entries into an empty index with room for them.
  void IndexEntries(size_t n) {
    // One insert per entry, into an index of up to tens of megabytes: a cache (and
    // TLB) miss each. The home slot of the entry kAhead places on is prefetched, so
    // that many misses are under way at once instead of one.
    constexpr size_t kAhead = 16;
    uint32_t tags[kAhead];
    for (size_t i = 0; i < n && i < kAhead; ++i) {
      tags[i] = Tag(entries_[i].key.GetWithoutLoadHook());
      __builtin_prefetch(&slots_[Home(tags[i])], /*rw=*/1);
    }
    for (size_t i = 0; i < n; ++i) {
      const uint32_t tag = tags[i % kAhead];
      if (i + kAhead < n) {
        const uint32_t ahead = Tag(entries_[i + kAhead].key.GetWithoutLoadHook());
        tags[i % kAhead] = ahead;
        __builtin_prefetch(&slots_[Home(ahead)], /*rw=*/1);
      }
      Insert({static_cast<uint32_t>(i), tag});
    }
  }

  Storage entries_;
  internal::SideVector<Slot> slots_;  // a power of two in size, or empty
  int capacity_bits_ = 0;
};

}  // namespace gclab::weak_internal

#endif  // GCLAB_WEAK_INTERNAL_ENTRY_TABLE_H_
