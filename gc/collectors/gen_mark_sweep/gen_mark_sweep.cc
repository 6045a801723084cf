// gclab: the generational mark-sweep collector, on sticky mark bits (README.md here;
// gc/DESIGN.md [gen]).
//
// The space is mark-sweep's, constructed with sticky marks: a mark that outlives the
// sweep makes an object old. Minor collections mark from the roots and the remembered
// set and stop at old objects; the write barrier (MarkSweepCollector::WriteBarrier)
// remembers each old object that receives a young reference. This file only registers
// it and reads its option.
#include <memory>

#include "gc/collectors/mark_sweep/mark_sweep.h"
#include "gc/internal/collector_registry.h"

namespace gclab::internal {
namespace {

class GenMarkSweepCollector final : public MarkSweepCollector {
 public:
  GenMarkSweepCollector(AllocationState& alloc, NurserySizing nursery)
      : MarkSweepCollector(alloc, /*sticky_marks=*/true) {
    set_nursery_sizing(nursery);
  }
};

const CollectorRegistrar kRegistrar(NurseryRegistration<GenMarkSweepCollector>(
    {.name = "gen-mark-sweep",
     .summary = "generational, non-moving: sticky mark bits, object-remembering barrier",
     .folder = "gc/collectors/gen_mark_sweep",
     .capabilities = {.write_barrier = true, .generational = true}},
    /*default_nursery=*/uint64_t{4} << 20, /*default_nursery_max=*/uint64_t{64} << 20));

}  // namespace
}  // namespace gclab::internal
