// gclab: WeakRef<T>, a JavaScript-style weak reference (ECMA-262 WeakRef).
//
// A WeakRef is a heap object that refers to a target without keeping it alive.
// `Deref()` returns the target while it lives and null once a collection has found it
// unreachable. Like JavaScript's, it follows the "kept objects" rule: a target that
// `Deref()` returned, or that was just given to `Create`, stays alive until the host
// ends the current job by calling `heap.ClearKeptObjects()`. So code that checks
// `ref->Deref() != nullptr` and then uses the target in the same job never sees it
// vanish in between; and a target whose only reference is a WeakRef survives at least
// until the end of the job that created it.
//
//   gclab::Local<gclab::WeakRef<Listener>> ref =
//       gclab::WeakRef<Listener>::Create(heap, listener).value();
//   ...
//   if (Listener* l = ref->Deref()) l->OnEvent(e);   // kept alive for this job
//   heap.ClearKeptObjects();                           // the host's job ends
//
// All weak references to one object (WeakRef, WeakMember, WeakPersistent, ephemeron
// keys) are cleared in the same collection: none can still yield the object once any
// has been cleared. Errors: a null target or one that is not a live object of `heap`
// is InvalidArgument.
#ifndef GCLAB_WEAK_WEAK_REF_H_
#define GCLAB_WEAK_WEAK_REF_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "gc/gc.h"

namespace gclab {

template <typename T>
class WeakRef final : public GarbageCollected<WeakRef<T>> {
 public:
  static absl::StatusOr<Local<WeakRef>> Create(Heap& heap, T* target) {
    if (target == nullptr) {
      return absl::InvalidArgumentError("gclab: WeakRef target must not be null");
    }
    if (!heap.Contains(target)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: WeakRef target %p is not a live object of this heap", target));
    }
    EscapableHandleScope scope(heap);
    Local<T> rooted(heap, target);  // the allocation below may move it
    Local<WeakRef> ref = heap.New<WeakRef>(heap, rooted);
    heap.KeepDuringJob(rooted.Get());
    return scope.Escape(ref);
  }
  static absl::StatusOr<Local<WeakRef>> Create(Heap& heap, const Local<T>& target) {
    return Create(heap, target.Get());
  }

  // The target, or null once it has been collected. A non-null result is kept alive
  // until the heap's ClearKeptObjects().
  T* Deref() const {
    T* target = target_.Get();
    if (target != nullptr) heap_->KeepDuringJob(target);
    return target;
  }

  void Trace(Visitor& visitor) const { visitor.Trace(target_); }

  // For Heap::New; use Create, which checks the target.
  WeakRef(Heap& heap, const Local<T>& target) : heap_(&heap), target_(target) {}

 private:
  Heap* heap_;
  WeakMember<T> target_;
};

}  // namespace gclab

#endif  // GCLAB_WEAK_WEAK_REF_H_
