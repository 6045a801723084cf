// gclab: the generational mark-sweep collector with incremental major collections
// (README.md here; gc/DESIGN.md [incr.gen]).
//
// gen-mark-sweep's collector (../gen_mark_sweep/gen_mark_sweep.h): minor collections
// in one pause, as there; major ones run by the heap as incremental cycles (a start
// pause, steps, a final pause, lazy sweeping), with the pieces incremental-mark-sweep
// uses, since the space is the same. This file only registers it, with the nursery
// options and marking-rate.
#include "gc/collectors/gen_mark_sweep/gen_mark_sweep.h"
#include "gc/internal/collector_registry.h"

namespace gclab::internal {
namespace {

const CollectorRegistrar kRegistrar(NurseryRegistration<GenMarkSweepCollector>(
    {.name = "incremental-gen-mark-sweep",
     .summary = "generational, non-moving: sticky mark bits; major collections marked in "
                "steps (Dijkstra insertion barrier, black allocation)",
     .folder = "gc/collectors/incremental_gen_mark_sweep",
     .capabilities = {.write_barrier = true, .generational = true, .incremental = true}},
    /*default_nursery=*/uint64_t{4} << 20, /*default_nursery_max=*/uint64_t{64} << 20,
    /*default_rate=*/16));

}  // namespace
}  // namespace gclab::internal
