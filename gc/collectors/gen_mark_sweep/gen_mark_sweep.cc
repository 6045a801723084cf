// gclab: the generational mark-sweep collector (README.md here; gc/DESIGN.md [gen]).
// The collector is GenMarkSweepCollector (gen_mark_sweep.h): mark-sweep's space with
// sticky marks. This file only registers it, with its nursery options.
#include "gc/collectors/gen_mark_sweep/gen_mark_sweep.h"
#include "gc/internal/collector_registry.h"

namespace gclab::internal {
namespace {

const CollectorRegistrar kRegistrar(NurseryRegistration<GenMarkSweepCollector>(
    {.name = "gen-mark-sweep",
     .summary = "generational, non-moving: sticky mark bits, object-remembering barrier",
     .folder = "gc/collectors/gen_mark_sweep",
     .capabilities = {.write_barrier = true, .generational = true}},
    /*default_nursery=*/uint64_t{4} << 20, /*default_nursery_max=*/uint64_t{64} << 20));

}  // namespace
}  // namespace gclab::internal
