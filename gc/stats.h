// gclab: heap statistics.
//
// `Heap::stats()` reports what the heap has done so far. The counters are kept by
// different parts of the collector (the allocator counts bytes handed out, the marker
// counts what it reached, the sweeper counts what it reclaimed), so they check each
// other: right after a collection,
//
//   stats.bytes_allocated - stats.bytes_freed == stats.live_bytes
//
// and the pause of a cycle is the sum of its phases.
#ifndef GCLAB_GC_STATS_H_
#define GCLAB_GC_STATS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/time/time.h"

namespace gclab {

// The phases of one collection cycle, in the order they run (see gc/DESIGN.md).
enum class Phase : int {
  kPrepare = 0,    // the collector readies its spaces (flip, clear)
  kMark,           // roots, then the transitive closure of strong references
  kWeak,           // ephemerons and weak processing hooks (may mark more)
  kFinalize,       // finalization hooks: find dead targets, keep held values (may mark)
  kClearWeak,      // weak slots of dead objects cleared, live ones updated
  kSweep,          // dead objects destroyed and their memory reclaimed
  kVerify,         // heap verifiers (debug builds, verify_after_collection, stress verify)
};
inline constexpr int kNumPhases = 7;
std::string_view PhaseName(Phase phase);

enum class CollectionReason {
  kExplicit,         // Heap::CollectGarbage
  kAllocationBudget, // the trigger policy's budget ran out
  kHeapLimit,        // an allocation did not fit under the heap limit
  kExternalMemory,   // external memory (Heap::AdjustExternalMemory) grew past its budget
  kAddressSpace,     // a reservation of address space failed; collect and retry
  kStress,           // a stress mode's collection point (StressOptions, GCLAB_STRESS)
  kHeapSnapshot,     // Heap::WriteHeapSnapshot collects before it writes
};
std::string_view CollectionReasonName(CollectionReason reason);

// What a collection traces and reclaims. A generational collector
// (CollectorCapabilities::generational) runs both kinds; every other collector runs
// only major collections.
enum class CollectionKind {
  // The whole heap: every unreachable object is reclaimed.
  kMajor,
  // Young objects only (those allocated since the last collection, and, for a
  // collector with a nursery, not yet promoted): traced from the roots and the
  // remembered set, the old objects the write barrier saw receive a young reference.
  // Old objects survive whether reachable or not, until the next major collection.
  kMinor,
};
std::string_view CollectionKindName(CollectionKind kind);

struct PhaseTimes {
  std::array<absl::Duration, kNumPhases> time{};
  absl::Duration& operator[](Phase p) { return time[static_cast<int>(p)]; }
  absl::Duration operator[](Phase p) const { return time[static_cast<int>(p)]; }
  absl::Duration Total() const {
    absl::Duration sum;
    for (absl::Duration d : time) sum += d;
    return sum;
  }
};

struct CycleStatistics {
  uint64_t number = 0;  // 1 for the first collection
  CollectionReason reason = CollectionReason::kExplicit;
  CollectionKind kind = CollectionKind::kMajor;
  // Bytes of objects the collection kept: those found live and, after a minor
  // collection, every old object, reachable or not.
  size_t live_bytes = 0;
  size_t live_objects = 0;
  size_t freed_bytes = 0;    // bytes of objects reclaimed by this cycle
  size_t freed_objects = 0;
  size_t ephemerons_resolved = 0;  // ephemerons whose key was found alive
  size_t ephemeron_passes = 0;     // naive fixpoint passes (0 for the indexed algorithm)
  size_t fragmented_bytes = 0;     // after the sweep; see HeapStatistics
  PhaseTimes phases;
  // The cycle's pauses added up (== phases.Total()), and the longest of them: the same
  // for a cycle in one pause.
  absl::Duration pause;
  absl::Duration max_pause;
  // An incremental cycle ([incr]): marking in `steps` between the start and the final
  // pause. `marking_overrun`: the allocation budget ran out before the marking was
  // done, and the final pause did the rest.
  bool incremental = false;
  uint32_t steps = 0;
  bool marking_overrun = false;
  // Bytes allocated while it marked, all kept (allocated marked, [incr.black]) whether
  // they died meanwhile or not: the next cycle judges them. The trigger policy is told
  // live_bytes less these (PolicyInput::live_bytes), so that floating garbage does not
  // grow the heap's budget.
  size_t allocated_while_marking = 0;
};

struct HeapStatistics {
  uint64_t collections = 0;
  uint64_t minor_collections = 0;  // of `collections` (CollectionKind::kMinor)
  uint64_t bytes_allocated = 0;  // all cells ever handed out, headers included
  uint64_t bytes_freed = 0;      // all cells ever reclaimed
  size_t live_bytes = 0;         // kept by the last collection (CycleStatistics)
  size_t live_objects = 0;       // likewise
  size_t committed_bytes = 0;    // memory the heap holds from the OS now
  // After the last collection: memory of the collector's spaces that is free but bound
  // to objects of other sizes, so that not every allocation can use it. Mark-sweep
  // counts, in each page that holds live objects, the bytes those objects do not
  // occupy (the page serves one size class until all of it is dead); a compacting
  // space has none. This is what defragmenting collectors are measured against, and
  // why a non-moving heap can run out of room under its limit ([alloc.limit]).
  size_t fragmented_bytes = 0;
  size_t peak_committed_bytes = 0;
  // Memory outside the heap that heap objects own, as reported to
  // Heap::AdjustExternalMemory (linear memories' committed bytes, for one).
  size_t external_bytes = 0;
  size_t peak_external_bytes = 0;
  uint64_t external_memory_collections = 0;  // started because external memory grew
  uint64_t stress_collections = 0;           // started by a stress mode
  // Times a collection's side table (worklist, weak slots, ephemerons, weak callbacks,
  // lists of pages or of objects to destroy) found no memory and the collector took a
  // path that needs none (gc/DESIGN.md [fault]). The results are the same; the time
  // and, for weak references traced as strong, the survivors of that cycle may not be.
  uint64_t side_table_fallbacks = 0;
  // Pauses HeapOptions::record_pauses could not log for want of memory (Heap::pauses()
  // then misses them).
  uint64_t pauses_not_recorded = 0;
  // Incremental cycles started, their marking steps, those whose budget ran out
  // before the marking was done (finished in the final pause: CycleStatistics::
  // marking_overrun), and those dropped unfinished for a collection in one pause
  // ([incr.abandon]; not counted in `collections`).
  uint64_t incremental_cycles = 0;
  uint64_t incremental_steps = 0;
  // Cycles whose marking was not done when the budget ran out and were given half a
  // budget more, under the heap limit, to finish it in steps ([incr.pace]).
  uint64_t marking_extensions = 0;
  uint64_t marking_overruns = 0;
  uint64_t abandoned_incremental_cycles = 0;
  // Allocations that did not fit in the budget and went ahead without a collection,
  // the policy having grown the budget for them (TriggerPolicy::PendingAllocationBudget).
  uint64_t pending_allocation_grants = 0;
  // Every pause: a collection in one, or an incremental cycle's start, steps and
  // final pause (each its own pause).
  absl::Duration total_pause;
  absl::Duration max_pause;
  absl::Duration max_minor_pause;  // of the minor collections
  PhaseTimes total_phases;
  CycleStatistics last_cycle;
};

}  // namespace gclab

#endif  // GCLAB_GC_STATS_H_
