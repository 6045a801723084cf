// gclab: GarbageCollected<T>, the base of every class allocated in a gclab heap.
//
// Deriving from GarbageCollected<T> declares that T lives in a gclab heap, is created
// only by `Heap::New<T>` / `MakeGarbageCollected<T>` (never by `new` or on the stack),
// and has a `void Trace(Visitor&) const` method (visitor.h).
//
// Rules a class must follow, because collectors may move and reclaim it:
//   - alignof(T) <= 8.
//   - T is movable by its move constructor: a moving collector relocates an object
//     that has a destructor by move-constructing it at its new address and destroying
//     the old one, as std::vector relocates its elements. So the destructor also runs
//     on moved-from objects; a destructor with side effects must check that its
//     object was not moved from. An object with a trivial destructor is relocated by
//     memcpy (its Members are plain pointers; their copy constructors, which call the
//     write hook, would only slow the copy down); specialize RelocateByMove<T> to
//     std::true_type for such a type whose move constructor must run anyway. Do not
//     store a pointer to `this`, or to one of the object's own fields, inside the
//     object.
//   - The destructor runs when the object is reclaimed (unless T is trivially
//     destructible, in which case nothing runs). It may release non-heap resources
//     (a std::vector's buffer, a file descriptor) but must not touch other heap
//     objects: they may already be gone.
//   - The constructor may allocate other heap objects and store them into its Members:
//     no collection starts while any constructor of a heap object is running.
#ifndef GCLAB_GC_GARBAGE_COLLECTED_H_
#define GCLAB_GC_GARBAGE_COLLECTED_H_

#include <type_traits>

#include "gc/visitor.h"

namespace gclab {

// See the rules above: true to relocate a trivially destructible T by its move
// constructor instead of memcpy.
template <typename T>
struct RelocateByMove : std::false_type {};

template <typename T>
class GarbageCollected {
 public:
  using IsGarbageCollectedTypeMarker = void;

  // Heap objects are created by the heap only.
  void* operator new(size_t) = delete;
  void* operator new[](size_t) = delete;

 protected:
  GarbageCollected() = default;
};

template <typename T, typename = void>
struct IsGarbageCollectedType : std::false_type {};
template <typename T>
struct IsGarbageCollectedType<T, std::void_t<typename T::IsGarbageCollectedTypeMarker>>
    : std::true_type {};

}  // namespace gclab

#endif  // GCLAB_GC_GARBAGE_COLLECTED_H_
