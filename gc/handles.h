// gclab: roots. Local<T> in a HandleScope, and Persistent<T>.
//
// Local<T> is a scoped root: a slot on the heap's handle stack, released when the
// innermost HandleScope open at its creation closes. It is cheap (a pointer store)
// and meant for C++ locals and arguments. To return a Local out of a function that
// opens its own scope, use an EscapableHandleScope:
//
//   gclab::Local<Node> MakeTree(gclab::Heap& heap, int depth) {
//     gclab::EscapableHandleScope scope(heap);
//     gclab::Local<Node> node = heap.New<Node>();
//     if (depth > 0) {
//       node->left = MakeTree(heap, depth - 1);
//       node->right = MakeTree(heap, depth - 1);
//     }
//     return scope.Escape(node);
//   }
//
// Persistent<T> is a root with an arbitrary lifetime: a global, a field of a non-heap
// C++ object, a registry of host objects. It costs a linked-list insertion. Do not put
// a Persistent inside a heap object: that object would keep its target alive forever
// (use a Member).
//
// WeakPersistent<T> is the weak counterpart of Persistent (a weak root): it does not
// keep its object alive and reads null once a collection has found the object
// unreachable, in the same collection that clears every other weak reference to it.
//
// All are updated when a moving collector moves their object. Debug builds stop with
// a message when a Local is used after its scope closed or after its heap was
// destroyed; a Persistent used after its heap was destroyed always stops.
#ifndef GCLAB_GC_HANDLES_H_
#define GCLAB_GC_HANDLES_H_

#include "gc/heap.h"

namespace gclab {

namespace internal {
// Liveness of heaps by id, for debug checks of handles that outlive their heap.
bool IsHeapAlive(uint64_t heap_id);
}  // namespace internal

class HandleScope {
 public:
  explicit HandleScope(Heap& heap) : heap_(heap), mark_(heap.handles_.Save()) {
    heap.handles_.EnterScope();
  }
  ~HandleScope() {
    heap_.handles_.Restore(mark_);
    heap_.handles_.LeaveScope();
  }
  HandleScope(const HandleScope&) = delete;
  HandleScope& operator=(const HandleScope&) = delete;

 private:
  Heap& heap_;
  internal::HandleArea::Mark mark_;
};

template <typename T>
class Local {
 public:
  Local() = default;
  // Roots `object` in the innermost HandleScope of `heap`.
  GCLAB_INLINE Local(Heap& heap, T* object) : slot_(heap.PushHandle(object)) {
    if constexpr (internal::kDebugChecks) heap_id_ = heap.id_;
  }
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  Local(const Local<U>& other)  // NOLINT: upcast like a pointer
      : slot_(other.slot_) {
    if constexpr (internal::kDebugChecks) heap_id_ = other.heap_id_;
  }

  T* Get() const {
    if (slot_ == nullptr) return nullptr;
    if constexpr (internal::kDebugChecks) {
      GCLAB_CHECK(internal::IsHeapAlive(heap_id_),
                  "a Local handle was used after its Heap was destroyed");
      GCLAB_CHECK(*slot_ != internal::kZappedHandle,
                  "a Local handle was used after its HandleScope was closed");
    }
    return static_cast<T*>(*slot_);
  }
  T* operator->() const { return Get(); }
  T& operator*() const { return *Get(); }
  explicit operator bool() const { return slot_ != nullptr && Get() != nullptr; }
  bool IsEmpty() const { return slot_ == nullptr; }

 private:
  template <typename U>
  friend class Local;
  friend class EscapableHandleScope;
  friend class Heap;

  void** slot_ = nullptr;
  uint64_t heap_id_ = 0;  // used by debug checks only
};

class EscapableHandleScope {
 public:
  // Reserves, in the enclosing scope, the slot that Escape() fills.
  GCLAB_INLINE explicit EscapableHandleScope(Heap& heap)
      : heap_(heap), escape_slot_(heap.PushHandle(nullptr)), scope_(heap) {}

  // Returns a Local in the enclosing scope for the same object. Call at most once.
  template <typename T>
  Local<T> Escape(const Local<T>& value) {
    GCLAB_CHECK(!escaped_, "EscapableHandleScope::Escape called twice");
    escaped_ = true;
    *escape_slot_ = value.Get();
    Local<T> result;
    result.slot_ = escape_slot_;
    if constexpr (internal::kDebugChecks) result.heap_id_ = heap_.id_;
    return result;
  }

 private:
  Heap& heap_;
  void** escape_slot_;
  bool escaped_ = false;
  HandleScope scope_;
};

// Persistent (kWeak = false) and WeakPersistent (true): one implementation, two lists.
template <typename T, bool kWeak>
class BasicPersistent : private internal::PersistentNode {
 public:
  BasicPersistent() = default;
  BasicPersistent(std::nullptr_t) {}  // NOLINT
  BasicPersistent(Heap& heap, T* object) { Set(heap, object); }
  BasicPersistent(Heap& heap, const Local<T>& handle) { Set(heap, handle.Get()); }
  // A named root: retaining paths (Heap::FindRetainingPath) show the name, so a user
  // finds which global keeps an object alive. `name` must be a string literal or
  // outlive the handle.
  BasicPersistent(Heap& heap, T* object, const char* name) : BasicPersistent(heap, object) {
    name_ = name;
  }
  BasicPersistent(Heap& heap, const Local<T>& handle, const char* name)
      : BasicPersistent(heap, handle.Get(), name) {}
  BasicPersistent(const BasicPersistent& other) { CopyFrom(other); }
  BasicPersistent& operator=(const BasicPersistent& other) {
    if (this != &other) {
      Unlink();
      CopyFrom(other);
    }
    return *this;
  }
  ~BasicPersistent() = default;  // PersistentNode unlinks

  // Points the handle at `object` (may be null) in `heap`.
  void Set(Heap& heap, T* object) {
    CheckUsable();
    Unlink();
    raw_ = object;
    if (object != nullptr) Link(kWeak ? &heap.weak_persistents_ : &heap.persistents_);
  }
  // Re-points a handle that already belongs to a heap (or clears it with null).
  BasicPersistent& operator=(T* object) {
    CheckUsable();
    if (object == nullptr) {
      Reset();
    } else {
      GCLAB_CHECK(list_ != nullptr,
                  "assigning an object to an empty Persistent: use Set(heap, object)");
      raw_ = object;
    }
    return *this;
  }
  BasicPersistent& operator=(const Local<T>& handle) { return *this = handle.Get(); }
  void Reset() {
    CheckUsable();
    Unlink();
    raw_ = nullptr;
  }

  T* Get() const {
    CheckUsable();
    return static_cast<T*>(raw_);
  }
  T* operator->() const { return Get(); }
  T& operator*() const { return *Get(); }
  explicit operator bool() const { return Get() != nullptr; }

  const char* name() const { return name_; }
  void set_name(const char* name) { name_ = name; }

 private:
  void CopyFrom(const BasicPersistent& other) {
    other.CheckUsable();
    orphaned_ = false;
    raw_ = other.raw_;
    name_ = other.name_;
    if (other.list_ != nullptr) Link(other.list_);
  }
};

template <typename T>
using Persistent = BasicPersistent<T, false>;
template <typename T>
using WeakPersistent = BasicPersistent<T, true>;

template <typename T, typename... Args>
Local<T> Heap::New(Args&&... args) {
  T* object = Allocate<T>(true, std::forward<Args>(args)...);
  return Local<T>(*this, object);
}

template <typename T, typename... Args>
absl::StatusOr<Local<T>> Heap::TryNew(Args&&... args) {
  T* object = Allocate<T>(false, std::forward<Args>(args)...);
  if (object == nullptr) return OutOfMemory(internal::CellSizeFor(sizeof(T)));
  return Local<T>(*this, object);
}

}  // namespace gclab

#endif  // GCLAB_GC_HANDLES_H_
