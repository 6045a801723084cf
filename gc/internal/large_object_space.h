// gclab internal: the large-object space, shared by every collector.
//
// Objects whose cell exceeds kMaxSmallCell get a mapping of their own. They never
// move (copying them would cost more than it saves); a collection marks them and the
// sweep unmaps the unmarked ones, returning their memory to the OS at once. Each
// mapping starts with a prefix word holding the cell size and the mark bit:
//
//   [ prefix (8 bytes) ][ ObjectHeader ][ payload ... ]
#ifndef GCLAB_GC_INTERNAL_LARGE_OBJECT_SPACE_H_
#define GCLAB_GC_INTERNAL_LARGE_OBJECT_SPACE_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/container/flat_hash_set.h"
#include "gc/internal/object_header.h"

namespace gclab::internal {

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

  // A cell of `cell_size` bytes, or null when the OS refuses the mapping.
  ObjectHeader* Allocate(size_t cell_size);

  bool Contains(const void* payload) const {
    return objects_.contains(ObjectHeader::FromPayload(payload));
  }

  static size_t CellSize(const ObjectHeader* header) { return *Prefix(header) >> 1; }
  static bool IsMarked(const ObjectHeader* header) { return *Prefix(header) & 1; }
  // Sets the mark; true if it was clear (the caller then traces the object).
  static bool Mark(ObjectHeader* header) {
    uint64_t& prefix = *Prefix(header);
    if (prefix & 1) return false;
    prefix |= 1;
    return true;
  }

  // Destroys and unmaps unmarked objects; clears the marks of the rest.
  SweepResult Sweep();

  void ForEachObject(const std::function<void(ObjectHeader*, size_t)>& f) const {
    for (ObjectHeader* h : objects_) f(h, CellSize(h));
  }

  size_t committed_bytes() const { return committed_; }
  size_t object_count() const { return objects_.size(); }

 private:
  static uint64_t* Prefix(const ObjectHeader* header) {
    return reinterpret_cast<uint64_t*>(const_cast<ObjectHeader*>(header)) - 1;
  }
  static size_t MappedSize(const ObjectHeader* header);

  absl::flat_hash_set<ObjectHeader*> objects_;
  size_t committed_ = 0;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_LARGE_OBJECT_SPACE_H_
