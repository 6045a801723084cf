// gclab: hooks into the collection cycle, for subsystems built on the heap.
//
// Subsystems built on the heap (the finalization queue, and a program's own) register a
// CollectionHook, and every collector runs the hooks at the same points of the same
// cycle (gc/DESIGN.md gives the contract). Weak references, ephemerons and the weak
// callbacks of WeakMap, WeakSet and FinalizationRegistry need no hook: they are part
// of every collector's cycle (gc/internal/collector.h, [cycle.weak], [cycle.clear]).
//
//   1. Prepare      collector readies its spaces
//   2. Mark         TraceRoots() of every hook, handles, persistents; closure
//   3. Weak         ProcessWeak() of every hook, repeated (with closure) until no hook
//                   reports progress: ephemerons resolve here
//   4. Finalize     ProcessFinalization() of every hook: dead targets are known now;
//                   held values that must survive are marked (closure follows)
//   5. ClearWeak    the collector clears weak slots to dead objects and updates those
//                   to live ones, clears dead ephemerons and runs weak callbacks;
//                   then ClearWeak() of every hook
//   6. Sweep        the collector reclaims dead objects
//   then AfterCollection() of every hook, outside the pause's critical part.
//
// A hook must not allocate or start a collection from any of these callbacks.
#ifndef GCLAB_GC_COLLECTION_HOOK_H_
#define GCLAB_GC_COLLECTION_HOOK_H_

#include <string_view>

#include "gc/visitor.h"

namespace gclab {

namespace internal {
class Collector;
}

// What a hook may ask of the collector during a cycle.
class CycleContext {
 public:
  // `hook_marker`, if given, is the visitor MarkSlot and marking_visitor() use instead of
  // the collector's own: the heap passes one that also records what hooks keep alive,
  // as roots for the independent verifier (gc/DESIGN.md [stress.verify]).
  explicit CycleContext(internal::Collector& collector, Visitor* hook_marker = nullptr)
      : collector_(collector), hook_marker_(hook_marker) {}

  // True when the object has been found reachable so far in this cycle. Valid from
  // the Weak phase on; `payload` may be the object's old or current address.
  bool IsAlive(const void* payload) const;

  // The object's address after this cycle (differs only under moving collectors).
  // Only for objects that are alive.
  template <typename T>
  T* CurrentAddress(T* payload) const {
    return static_cast<T*>(CurrentAddressUntyped(payload));
  }

  // Marks the object in `*slot` reachable (and rewrites the slot if it moves); the
  // heap traces what it references before the phase ends.
  void MarkSlot(void** slot);

  // A visitor that marks like MarkSlot, for tracing through an object's own fields.
  Visitor& marking_visitor();

  // True when this collection may have moved objects (address-keyed tables rehash).
  bool moves_objects() const;

 private:
  void* CurrentAddressUntyped(void* payload) const;
  internal::Collector& collector_;
  Visitor* hook_marker_;
};

class CollectionHook {
 public:
  virtual ~CollectionHook() = default;
  // How retaining paths (Heap::FindRetainingPath) name the roots this hook traces.
  virtual std::string_view name() const { return "collection hook"; }
  virtual void TraceRoots(Visitor&) {}
  // Returns true if it marked anything; the heap then drains and calls again.
  virtual bool ProcessWeak(CycleContext&) { return false; }
  virtual void ProcessFinalization(CycleContext&) {}
  virtual void ClearWeak(CycleContext&) {}
  virtual void AfterCollection() {}
};

}  // namespace gclab

#endif  // GCLAB_GC_COLLECTION_HOOK_H_
