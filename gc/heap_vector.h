// gclab: HeapVector<T>, a growable array of Members whose storage is a heap object.
//
// A heap object that holds a variable number of references keeps them in a HeapVector
// field, never in a std::vector: a Member outside every heap object is invisible to
// the write hook (gc/DESIGN.md [barrier]), so a generational or incremental collector
// would miss the stores into it, and debug builds stop with a message when a Member
// outside the heap is given an object. The backing store is a garbage-collected object
// of its own, traced through the vector, that the collector may move like any other.
//
//   class Scene : public gclab::GarbageCollected<Scene> {
//    public:
//     absl::Status Add(gclab::Heap& heap, Shape* shape) {
//       if (!shapes_.TryPushBack(shape)) {  // grows the store without collecting
//         return absl::ResourceExhaustedError("no room for the scene's shapes");
//       }
//       return absl::OkStatus();
//     }
//     // The vector, never its elements one by one: its store is a heap object that
//     // only the vector's Trace keeps alive.
//     void Trace(gclab::Visitor& v) const { v.Trace(shapes_); }
//    private:
//     gclab::HeapVector<gclab::Member<Shape>> shapes_;
//   };
//
// Elements are Member<U>, WeakMember<U>, or a struct of them with a
// `void Trace(Visitor&) const` (a WeakMap's entry: a weak key and a value). Growth is
// the only step that allocates, in the heap that holds the vector (Heap::Of), and it
// never collects (Heap::NewWithoutCollecting): `this`, the holder and raw pointers stay
// valid across it, so a method of the holder, or its constructor, can grow the vector
// and go on. It fails only when the heap limit leaves no room without a collection:
// the Try methods then return false with the vector unchanged, and push_back and
// Resize stop the program with a message. Storage doubles; elements past size() are
// kept null; shrinking happens when asked (TryShrink).
#ifndef GCLAB_GC_HEAP_VECTOR_H_
#define GCLAB_GC_HEAP_VECTOR_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "gc/heap.h"
#include "gc/internal/check.h"
#include "gc/member.h"
#include "gc/visitor.h"

namespace gclab {

namespace internal {

template <typename U>
void TraceElement(Visitor& visitor, const Member<U>& m) {
  visitor.Trace(m);
}
template <typename U>
void TraceElement(Visitor& visitor, const WeakMember<U>& m) {
  visitor.Trace(m);
}
template <typename E>
auto TraceElement(Visitor& visitor, const E& e) -> decltype(e.Trace(visitor)) {
  e.Trace(visitor);
}

// The storage of a HeapVector: a variable-size heap object ([obj.variable]) holding
// `capacity` elements, every one of them constructed (the unused ones null).
template <typename T>
class HeapVectorBacking final : public GarbageCollected<HeapVectorBacking<T>> {
 public:
  static constexpr bool kGclabVariableSize = true;
  static constexpr std::string_view kTypeName = kHeapVectorStoreTypeName;

  HeapVectorBacking(size_t cell_size, uint32_t capacity) noexcept
      : cell_size_(cell_size), capacity_(capacity) {
    for (uint32_t i = 0; i < capacity_; ++i) ::new (&data()[i]) T();
  }
  // A moving collector relocates a backing whose elements have destructors by moving
  // each element (gc/garbage_collected.h); the others by memcpy.
  HeapVectorBacking(HeapVectorBacking&& other) noexcept
      : cell_size_(other.cell_size_), capacity_(other.capacity_) {
    for (uint32_t i = 0; i < capacity_; ++i) ::new (&data()[i]) T(std::move(other.data()[i]));
  }
  ~HeapVectorBacking() {
    if constexpr (!std::is_trivially_destructible_v<T>) {
      for (uint32_t i = 0; i < capacity_; ++i) data()[i].~T();
    }
  }
  HeapVectorBacking(const HeapVectorBacking&) = delete;
  HeapVectorBacking& operator=(const HeapVectorBacking&) = delete;

  void Trace(Visitor& visitor) const {
    for (uint32_t i = 0; i < capacity_; ++i) TraceElement(visitor, data()[i]);
  }

  uint32_t capacity() const { return capacity_; }
  size_t cell_size() const { return cell_size_; }
  T* data() { return reinterpret_cast<T*>(this + 1); }
  const T* data() const { return reinterpret_cast<const T*>(this + 1); }

 private:
  uint64_t cell_size_;  // first field of a variable-size type: its cell size
  uint32_t capacity_;
};

}  // namespace internal

template <typename T>
class HeapVector {
  using Backing = internal::HeapVectorBacking<T>;
  static_assert(alignof(T) <= 8, "HeapVector elements need alignment of at most 8");

 public:
  HeapVector() = default;
  // One owner per backing store: a HeapVector moves (its holder being relocated by
  // move construction, gc/garbage_collected.h) but is not copied.
  HeapVector(HeapVector&& other) noexcept
      : backing_(other.backing_), size_(std::exchange(other.size_, 0)) {
    other.backing_ = nullptr;
  }
  HeapVector(const HeapVector&) = delete;
  HeapVector& operator=(const HeapVector&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return backing_ ? backing_->capacity() : 0; }
  // Bytes of heap the store takes (its cell, as allocated), 0 without one.
  size_t storage_bytes() const {
    return backing_ ? backing_->cell_size() : 0;
  }

  T* data() { return backing_ ? backing_->data() : nullptr; }
  const T* data() const { return backing_ ? backing_->data() : nullptr; }
  T& operator[](size_t i) {
    GCLAB_DCHECK(i < size_, "HeapVector index %zu out of range (size %zu)", i, size());
    return data()[i];
  }
  const T& operator[](size_t i) const {
    GCLAB_DCHECK(i < size_, "HeapVector index %zu out of range (size %zu)", i, size());
    return data()[i];
  }
  T& back() { return (*this)[size_ - 1]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

  // Room for `n` elements, growing the storage in `heap` (at least doubling) if it has
  // less; false, with nothing changed, when the heap limit leaves no room without a
  // collection. Never collects, so nothing moves.
  [[nodiscard]] bool TryReserve(size_t n) { return TryReserve(HolderHeap(), n); }
  [[nodiscard]] bool TryReserve(Heap& heap, size_t n) {
    if (n <= capacity()) return true;
    GCLAB_CHECK(n <= kMaxCapacity, "a HeapVector of %zu elements is too large", n);
    size_t grown = capacity() < 4 ? 4 : capacity() * 2;
    if (grown < n) grown = n;
    if (grown > kMaxCapacity) grown = kMaxCapacity;
    return Reallocate(heap, grown);
  }
  // Gives memory back: an empty vector drops its store (which allocates nothing, so
  // it may run inside a collection, from a weak callback); one that uses at most a
  // quarter of a store of more than 16 gets a smaller store, or keeps the one it has
  // when there is no room for one (not inside a collection).
  void TryShrink(Heap& heap) {
    if (size_ == 0) {
      backing_ = nullptr;
      return;
    }
    const size_t cap = capacity();
    if (cap <= 16 || size_ > cap / 4) return;
    (void)Reallocate(heap, size_ * 2);
  }

  // Appends, growing the store if it is full; false, with nothing changed, when the
  // heap limit leaves no room for a larger one.
  [[nodiscard]] bool TryPushBack(const T& value) {
    if (size_ == capacity() && !TryReserve(size_ + 1)) return false;
    data()[size_++] = value;
    return true;
  }
  void push_back(const T& value) {
    GCLAB_CHECK(TryPushBack(value),
                "HeapVector::push_back: the heap limit leaves no room for a larger store "
                "(TryPushBack reports it instead)");
  }
  // Grows to `n` null elements, or drops the elements from `n` on.
  void Resize(size_t n) {
    if (n < size_) {
      Truncate(n);
      return;
    }
    GCLAB_CHECK(TryReserve(n), "HeapVector::Resize(%zu): the heap limit leaves no room", n);
    size_ = static_cast<uint32_t>(n);
  }
  // Removes the element at `position`, shifting the later ones down (as std::vector).
  T* erase(T* position) {
    GCLAB_DCHECK(position >= begin() && position < end(), "HeapVector::erase out of range");
    for (T* p = position; p + 1 < end(); ++p) *p = std::move(*(p + 1));
    pop_back();
    return position;
  }
  void pop_back() {
    GCLAB_DCHECK(size_ > 0, "HeapVector::pop_back on an empty vector");
    data()[--size_] = T();
  }
  // Drops the elements from `n` on (n <= size()); they become null.
  void Truncate(size_t n) {
    GCLAB_DCHECK(n <= size_, "HeapVector::Truncate(%zu) past its size %zu", n, size());
    for (size_t i = n; i < size_; ++i) data()[i] = T();
    size_ = static_cast<uint32_t>(n);
  }
  void clear() { Truncate(0); }

  // `field_name` names the vector in retaining paths: "memories" shows its elements
  // as "memories[]" (the store itself is not a step).
  void Trace(Visitor& visitor, const char* field_name = "store") const {
    visitor.Trace(backing_, field_name);
  }

 private:
  static constexpr size_t kMaxCapacity = (size_t{1} << 32) - 1;

  Heap& HolderHeap() const {
    Heap* heap = Heap::Of(this);
    GCLAB_CHECK(heap != nullptr,
                "a HeapVector at %p is not inside a heap object: it belongs in a field of one",
                static_cast<const void*>(this));
    return *heap;
  }

  bool Reallocate(Heap& heap, size_t capacity) {
    Backing* grown = internal::NewVariable<Backing>(heap, sizeof(Backing) + capacity * sizeof(T),
                                                    static_cast<uint32_t>(capacity));
    if (grown == nullptr) return false;
    // Nothing moved (no collection), so the old store is where it was.
    for (size_t i = 0; i < size_; ++i) grown->data()[i] = std::move(data()[i]);
    backing_ = grown;
    return true;
  }

  Member<Backing> backing_;
  uint32_t size_ = 0;
};

}  // namespace gclab

#endif  // GCLAB_GC_HEAP_VECTOR_H_
