// gclab internal: a vector of trivially copyable elements stored in fixed-size
// chunks, for the collector's per-cycle side tables (pending ephemerons and their
// keys, weak slots).
//
// A collection fills these tables from empty, to sizes it cannot know beforehand
// (millions of entries when a big ephemeron table is traced). A std::vector doubles
// and copies everything each time; a chunked vector only adds a chunk, and never
// moves an element, so growing costs nothing but the chunk's first touch. clear()
// keeps the chunks that the filling since the last clear() used and frees the rest:
// a heap whose cycles keep the same shape reuses warm memory, and one whose tables
// shrank gives the memory back one cycle later.
//
// Chunks are side-table memory (internal/side_table.h): TryPushBack returns false, and
// changes nothing, when no memory is left for a new chunk; the collector then takes a
// path that needs none (gc/DESIGN.md [fault]).
#ifndef GCLAB_GC_INTERNAL_CHUNKED_VECTOR_H_
#define GCLAB_GC_INTERNAL_CHUNKED_VECTOR_H_

#include <cstddef>
#include <type_traits>

#include "gc/internal/side_table.h"

namespace gclab::internal {

template <typename T, size_t kChunkBytes = size_t{64} * 1024>
class ChunkedVector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "ChunkedVector holds plain records: it neither constructs nor destroys them");

  static constexpr size_t FloorPowerOfTwo(size_t n) {
    size_t p = 1;
    while (p * 2 <= n) p *= 2;
    return p;
  }

 public:
  // Elements per chunk: a power of two, so an index splits with a shift and a mask.
  static_assert(sizeof(T) <= kChunkBytes, "an element larger than a chunk");
  static constexpr size_t kPerChunk = FloorPowerOfTwo(kChunkBytes / sizeof(T));

  ChunkedVector() = default;
  ChunkedVector(const ChunkedVector&) = delete;
  ChunkedVector& operator=(const ChunkedVector&) = delete;
  ~ChunkedVector() {
    for (T* chunk : chunks_) FreeSideTable(chunk);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Chunks held now (for tests and statistics).
  size_t chunk_count() const { return chunks_.size(); }

  // Appends `value`; false, with nothing changed, when a new chunk was needed and no
  // memory was left for it.
  [[nodiscard]] bool TryPushBack(const T& value) {
    if (size_ == chunks_.size() * kPerChunk && !AddChunk()) return false;
    chunks_[size_ / kPerChunk][size_ % kPerChunk] = value;
    ++size_;
    return true;
  }
  T& operator[](size_t i) { return chunks_[i / kPerChunk][i % kPerChunk]; }
  const T& operator[](size_t i) const { return chunks_[i / kPerChunk][i % kPerChunk]; }
  T& back() { return (*this)[size_ - 1]; }
  void pop_back() {
    high_water_ = high_water();
    --size_;
  }

  // Empties the vector. Keeps as many chunks as its largest size since the last
  // clear() needed, and frees the others.
  void clear() {
    size_t used = (high_water() + kPerChunk - 1) / kPerChunk;
    for (size_t c = used; c < chunks_.size(); ++c) FreeSideTable(chunks_[c]);
    chunks_.resize(used);
    if (used == 0) SideVector<T*>().swap(chunks_);  // shrinking never allocates
    size_ = 0;
    high_water_ = 0;
  }

  // Calls f(element) for every element, in order.
  template <typename F>
  void ForEach(F&& f) {
    size_t left = size_;
    for (size_t c = 0; left > 0; ++c) {
      const size_t n = left < kPerChunk ? left : kPerChunk;
      T* chunk = chunks_[c];
      for (size_t i = 0; i < n; ++i) f(chunk[i]);
      left -= n;
    }
  }

 private:
  size_t high_water() const { return size_ > high_water_ ? size_ : high_water_; }
  bool AddChunk() {
    if (!TryGrow(chunks_, 4)) return false;
    void* chunk = TryAllocateSideTable(kPerChunk * sizeof(T), "collector side table chunk");
    if (chunk == nullptr) return false;
    chunks_.push_back(static_cast<T*>(chunk));
    return true;
  }

  SideVector<T*> chunks_;
  size_t size_ = 0;
  size_t high_water_ = 0;  // largest size_ before a pop_back() since the last clear()
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_CHUNKED_VECTOR_H_
