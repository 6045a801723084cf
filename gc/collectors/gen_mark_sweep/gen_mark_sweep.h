// gclab: the generational mark-sweep collector, on sticky mark bits (README.md here;
// gc/DESIGN.md [gen]).
//
// The space is mark-sweep's, constructed with sticky marks: a mark that outlives the
// sweep makes an object old. Minor collections mark from the roots and the remembered
// set and stop at old objects; the write barrier (MarkSweepCollector::WriteBarrier)
// remembers each old object that receives a young reference. Registered twice: as
// gen-mark-sweep (gen_mark_sweep.cc), whose major collections run in one pause, and
// as incremental-gen-mark-sweep (../incremental_gen_mark_sweep), whose major
// collections are marked in steps (gc/DESIGN.md [incr.gen]).
#ifndef GCLAB_GC_COLLECTORS_GEN_MARK_SWEEP_GEN_MARK_SWEEP_H_
#define GCLAB_GC_COLLECTORS_GEN_MARK_SWEEP_GEN_MARK_SWEEP_H_

#include "gc/collectors/mark_sweep/mark_sweep.h"
#include "gc/internal/nursery_sizing.h"

namespace gclab::internal {

class GenMarkSweepCollector final : public MarkSweepCollector {
 public:
  GenMarkSweepCollector(AllocationState& alloc, NurserySizing nursery)
      : MarkSweepCollector(alloc, /*sticky_marks=*/true) {
    set_nursery_sizing(nursery);
  }
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_COLLECTORS_GEN_MARK_SWEEP_GEN_MARK_SWEEP_H_
