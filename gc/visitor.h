// gclab: Visitor, through which an object reports its references to the collector.
//
// Every garbage-collected class has a method
//
//   void Trace(gclab::Visitor& visitor) const;
//
// that calls `visitor.Trace(field)` once for each `Member<T>` field (and for each
// element of any container of Members it owns). It must report every reference, must
// not allocate, and must not depend on anything but the object's own fields: a
// collector may call it on an object that is being copied or that is about to die.
//
// Collectors, heap verifiers and diagnostic tools implement Visitor; a user only calls
// it. `VisitSlot` receives the address of the field, so a moving collector can rewrite
// the field in place.
#ifndef GCLAB_GC_VISITOR_H_
#define GCLAB_GC_VISITOR_H_

#include "gc/member.h"

namespace gclab {

class Visitor {
 public:
  virtual ~Visitor() = default;

  template <typename T>
  void Trace(const Member<T>& member) {
    if (member.raw_ != nullptr) VisitSlot(const_cast<void**>(&member.raw_));
  }

  // `*slot` is a non-null pointer to the payload of a heap object. Implementations may
  // overwrite `*slot` (a moving collector stores the new address there).
  virtual void VisitSlot(void** slot) = 0;
};

}  // namespace gclab

#endif  // GCLAB_GC_VISITOR_H_
