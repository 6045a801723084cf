// gclab: the incremental mark-sweep collector (README.md here; gc/DESIGN.md [incr]).
//
// mark-sweep's space, marked in steps between the program's work: the heap runs the
// cycle (a start pause for the roots, steps paced by allocation and Heap::Step, a
// final pause), and the space supplies the step (MarkSweepCollector::MarkStep), the
// insertion barrier and the weak-load hook (WriteBarrier, LoadBarrier), and black
// allocation (MarkFreeCells). This file only registers it, with its one option,
// marking-rate.
#include "gc/collectors/mark_sweep/mark_sweep.h"
#include "gc/internal/collector_registry.h"

namespace gclab::internal {
namespace {

const CollectorRegistrar kRegistrar(IncrementalRegistration<MarkSweepCollector>(
    {
        .name = "incremental-mark-sweep",
        .summary = "non-moving, incremental marking: Dijkstra insertion barrier, black allocation",
        .folder = "gc/collectors/incremental_mark_sweep",
        .capabilities = {.incremental = true},
    },
    /*default_rate=*/16));

}  // namespace
}  // namespace gclab::internal
