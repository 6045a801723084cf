// gclab: Visitor, through which an object reports its references to the collector.
//
// Every garbage-collected class has a method
//
//   void Trace(gclab::Visitor& visitor) const;
//
// that reports each reference it holds, once per collection:
//
//   visitor.Trace(member);                   // Member<T>: keeps the target alive
//   visitor.Trace(member, "parent");         // the same, named for retaining paths
//   visitor.Trace(weak_member);              // WeakMember<T>: cleared when it dies
//   visitor.TraceEphemeron(key, value);      // value kept alive only while key is
//   visitor.RegisterWeakCallback(&F, this);  // F(context, this) after weak clearing
//   visitor.TraceExternalMemory(data, bytes, "name");  // memory it owns off the heap
//
// It must report every reference, must not allocate, and must not depend on anything
// but the object's own fields: a collector may call it on an object that is being
// copied or that is about to die.
//
// Collectors, heap verifiers and diagnostic tools implement Visitor; a user only calls
// it. The Visit methods receive the address of the field, so a moving collector can
// rewrite the field in place.
#ifndef GCLAB_GC_VISITOR_H_
#define GCLAB_GC_VISITOR_H_

#include <cstddef>
#include <utility>

#include "gc/member.h"

namespace gclab {

class CycleContext;

// Called in the ClearWeak phase of a collection in which `object` survived, with the
// object's current address; weak fields it reported are already cleared or updated.
// For containers of weak references (tables) that must drop their dead entries.
using WeakCallback = void (*)(CycleContext& context, void* object);

class Visitor {
 public:
  virtual ~Visitor() = default;

  template <typename T>
  void Trace(const Member<T>& member) {
    if (member.raw_ != nullptr) VisitSlot(const_cast<void**>(&member.raw_));
  }

  // The same, naming the field for diagnostics: a retaining path (Heap::
  // FindRetainingPath) shows "Instance.memory" instead of a field offset. Collectors
  // treat it exactly as the unnamed form. `field_name` must be a string literal (or
  // live as long as the heap).
  template <typename T>
  void Trace(const Member<T>& member, const char* field_name) {
    if (member.raw_ != nullptr) VisitNamedSlot(const_cast<void**>(&member.raw_), field_name);
  }

  template <typename T>
  void Trace(const WeakMember<T>& member) {
    if (member.raw_ != nullptr) VisitWeakSlot(const_cast<void**>(&member.raw_));
  }

  // An ephemeron: `value` is reachable through this pair only while `key` is reachable
  // some other way. When the key dies, both fields are cleared.
  template <typename K, typename V>
  void TraceEphemeron(const WeakMember<K>& key, const Member<V>& value) {
    if (key.raw_ != nullptr) {
      VisitEphemeron(const_cast<void**>(&key.raw_), const_cast<void**>(&value.raw_));
    }
  }

  // A field that traces itself: a HeapVector (heap_vector.h), or a struct of Members
  // with its own `void Trace(Visitor&) const`.
  template <typename T>
  auto Trace(const T& field) -> decltype(field.Trace(std::declval<Visitor&>())) {
    field.Trace(*this);
  }

  // The same, naming the field for retaining paths (a HeapVector's elements show as
  // "field_name[]").
  template <typename T>
  auto Trace(const T& field, const char* field_name)
      -> decltype(field.Trace(std::declval<Visitor&>(), field_name)) {
    field.Trace(*this, field_name);
  }

  void RegisterWeakCallback(WeakCallback callback, const void* object) {
    VisitWeakCallback(callback, const_cast<void*>(object));
  }

  // Memory outside the heap that the object owns: `bytes` from `data` (a buffer, a
  // LinearMemory's committed pages). Collectors ignore it; a heap snapshot shows it as
  // a native node under the object (heap_snapshot.h). `name` must be a string literal
  // (or live as long as the heap).
  void TraceExternalMemory(const void* data, size_t bytes, const char* name) {
    VisitExternalMemory(data, bytes, name);
  }

  // `*slot` is a non-null pointer to the payload of a heap object. Implementations may
  // overwrite `*slot` (a moving collector stores the new address there).
  virtual void VisitSlot(void** slot) = 0;
  // A strong reference with a field name; the default forgets the name.
  virtual void VisitNamedSlot(void** slot, const char* field_name) {
    (void)field_name;
    VisitSlot(slot);
  }
  // A weak reference. The default, for visitors that check rather than collect,
  // treats it like a strong one.
  virtual void VisitWeakSlot(void** slot) { VisitSlot(slot); }
  // An ephemeron; `*key_slot` is non-null, `*value_slot` may be null. The default
  // visits both fields.
  virtual void VisitEphemeron(void** key_slot, void** value_slot) {
    VisitWeakSlot(key_slot);
    if (*value_slot != nullptr) VisitSlot(value_slot);
  }
  virtual void VisitWeakCallback(WeakCallback, void*) {}
  virtual void VisitExternalMemory(const void* data, size_t bytes, const char* name) {
    (void)data, (void)bytes, (void)name;
  }
};

}  // namespace gclab

#endif  // GCLAB_GC_VISITOR_H_
