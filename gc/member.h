// gclab: Member<T>, a traced reference from one heap object to another.
//
// A garbage-collected object names the objects it references in `Member<T>` fields and
// reports them from its `Trace(Visitor&)` method. Collectors read and, when they move
// objects, rewrite these fields; a field that is not traced is invisible to the
// collector and will dangle.
//
//   class Node : public gclab::GarbageCollected<Node> {
//    public:
//     void Trace(gclab::Visitor& v) const { v.Trace(next); }
//     gclab::Member<Node> next;
//   };
//
// A Member is a plain pointer in size and cost. It is valid only inside an object that
// lives in a gclab heap: a Member on the C++ stack or in a malloc'ed struct is not a
// root; use `Local<T>` or `Persistent<T>` (handles.h) there. A Member must point into
// the heap that holds its owner; debug builds stop with a message at the next
// collection if it points anywhere else.
#ifndef GCLAB_GC_MEMBER_H_
#define GCLAB_GC_MEMBER_H_

#include <cstddef>
#include <type_traits>

namespace gclab {

class Visitor;
template <typename T>
class Local;

template <typename T>
class Member {
 public:
  Member() = default;
  Member(std::nullptr_t) {}  // NOLINT: implicit like a pointer
  Member(T* object) : raw_(object) {}  // NOLINT: implicit like a pointer
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  Member(const Member<U>& other) : raw_(static_cast<T*>(other.Get())) {}  // NOLINT
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  Member(const Local<U>& handle) : raw_(static_cast<T*>(handle.Get())) {}  // NOLINT

  Member& operator=(T* object) {
    raw_ = object;
    return *this;
  }
  Member& operator=(std::nullptr_t) {
    raw_ = nullptr;
    return *this;
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  Member& operator=(const Local<U>& handle) {
    raw_ = static_cast<T*>(handle.Get());
    return *this;
  }

  T* Get() const { return static_cast<T*>(raw_); }
  T* operator->() const { return Get(); }
  T& operator*() const { return *Get(); }
  operator T*() const { return Get(); }  // NOLINT: reads like a pointer
  explicit operator bool() const { return raw_ != nullptr; }

 private:
  friend class Visitor;
  // Stored untyped so that collectors can rewrite it through a void** slot.
  void* raw_ = nullptr;
};

}  // namespace gclab

#endif  // GCLAB_GC_MEMBER_H_
