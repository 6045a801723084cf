// gclab: Member<T> and WeakMember<T>, traced references from one heap object to
// another.
//
// A garbage-collected object names the objects it references in `Member<T>` fields and
// reports them from its `Trace(Visitor&)` method. Collectors read and, when they move
// objects, rewrite these fields; a field that is not traced is invisible to the
// collector and will dangle.
//
//   class Node : public gclab::GarbageCollected<Node> {
//    public:
//     void Trace(gclab::Visitor& v) const { v.Trace(next); v.Trace(cache); }
//     gclab::Member<Node> next;       // keeps its target alive
//     gclab::WeakMember<Node> cache;  // does not; null once the target dies
//   };
//
// A WeakMember does not keep its target alive. When a collection finds the target
// unreachable through strong references, every WeakMember, WeakPersistent and WeakRef
// to it is cleared to null in that same collection (gc/DESIGN.md, [cycle.clear]).
//
// Both are a plain pointer in size; every store also calls the write hook (below).
// They are valid only inside an object that lives in a gclab heap: a Member on the
// C++ stack or in a malloc'ed struct is not a root; use `Local<T>` or `Persistent<T>`
// (handles.h) there, and a HeapVector (heap_vector.h) for a variable number of
// Members in an object. Debug builds stop with a message when a Member outside every
// heap object (a temporary on the stack aside) is given an object. A Member must
// point into the heap that holds its owner; debug builds stop with a message at the
// next collection if it points anywhere else.
#ifndef GCLAB_GC_MEMBER_H_
#define GCLAB_GC_MEMBER_H_

#include <cstddef>
#include <type_traits>

#include "gc/internal/barrier.h"

namespace gclab {

class Visitor;
template <typename T>
class Local;

// One template, two kinds of reference (as cppgc's BasicMember): kWeak decides how
// Visitor::Trace reports the field, and whether reading it goes through the load hook.
//
// Every store into a Member (construction from a value, copy and move construction and
// assignment, assignment from a pointer, null or a Local) first calls the write hook
// with the slot, the value it held and the value it gets; every read of a WeakMember's
// target calls the load hook (gc/DESIGN.md [barrier]). Both cost one load and a branch
// while no heap's collector wants them. A move is a copy: the source keeps its value.
template <typename T, bool kWeak>
class BasicMember {
 public:
  BasicMember() = default;
  BasicMember(std::nullptr_t) {}  // NOLINT: implicit like a pointer
  GCLAB_INLINE BasicMember(T* object) { Init(object); }  // NOLINT: implicit like a pointer
  GCLAB_INLINE BasicMember(const BasicMember& other) { Init(other.raw_); }
  template <typename U, bool kOtherWeak,
            typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  GCLAB_INLINE BasicMember(const BasicMember<U, kOtherWeak>& other) {  // NOLINT
    Init(static_cast<T*>(other.Get()));
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  GCLAB_INLINE BasicMember(const Local<U>& handle) {  // NOLINT
    Init(static_cast<T*>(handle.Get()));
  }

  GCLAB_INLINE BasicMember& operator=(const BasicMember& other) {
    Store(other.raw_);
    return *this;
  }
  template <typename U, bool kOtherWeak,
            typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  GCLAB_INLINE BasicMember& operator=(const BasicMember<U, kOtherWeak>& other) {
    Store(static_cast<T*>(other.Get()));
    return *this;
  }
  GCLAB_INLINE BasicMember& operator=(T* object) {
    Store(object);
    return *this;
  }
  GCLAB_INLINE BasicMember& operator=(std::nullptr_t) {
    Store(nullptr);
    return *this;
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  GCLAB_INLINE BasicMember& operator=(const Local<U>& handle) {
    Store(static_cast<T*>(handle.Get()));
    return *this;
  }

  T* Get() const {
    if constexpr (kWeak) internal::LoadBarrier(&raw_, raw_);
    return static_cast<T*>(raw_);
  }
  // The pointer, without the load hook: for comparing addresses (a table's probe) and
  // for code that runs inside a collection. What it returns must not be kept.
  T* GetWithoutLoadHook() const { return static_cast<T*>(raw_); }
  // A strong Member read as the result of a weak lookup (a WeakMap's value, reached
  // through its weak key): the read goes through the load hook too.
  T* GetThroughLoadHook() const {
    internal::LoadBarrier(&raw_, raw_);
    return static_cast<T*>(raw_);
  }
  T* operator->() const { return Get(); }
  T& operator*() const { return *Get(); }
  operator T*() const { return Get(); }  // NOLINT: reads like a pointer
  explicit operator bool() const { return raw_ != nullptr; }

 private:
  friend class Visitor;
  GCLAB_INLINE void Init(void* value) {
    internal::WriteBarrier(&raw_, nullptr, value);
    raw_ = value;
  }
  GCLAB_INLINE void Store(void* value) {
    internal::WriteBarrier(&raw_, raw_, value);
    raw_ = value;
  }

  // Stored untyped so that collectors can rewrite it through a void** slot.
  void* raw_ = nullptr;
};

template <typename T>
using Member = BasicMember<T, false>;
template <typename T>
using WeakMember = BasicMember<T, true>;

}  // namespace gclab

#endif  // GCLAB_GC_MEMBER_H_
