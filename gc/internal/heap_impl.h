// gclab internal: the heap's implementation, which runs the collection cycle.
#ifndef GCLAB_GC_INTERNAL_HEAP_IMPL_H_
#define GCLAB_GC_INTERNAL_HEAP_IMPL_H_

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gc/heap.h"
#include "gc/internal/collector.h"

namespace gclab::internal {

class PhaseTimer;

class HeapImpl {
 public:
  HeapImpl(Heap& heap, HeapOptions options);
  ~HeapImpl();

  absl::Status Init();

  ObjectHeader* AllocateSlow(size_t cell_size, bool abort_on_oom);
  // A collection of the kind the reason calls for (KindFor), or of `kind`: a
  // collector that is not generational runs a major one either way. In one pause: an
  // incremental cycle in progress is abandoned first ([incr.abandon]).
  void Collect(CollectionReason reason);
  void Collect(CollectionReason reason, CollectionKind kind);

  // --- Incremental cycles (gc/DESIGN.md [incr]), for a collector whose capabilities
  // say `incremental`.
  // Starts one now (Heap::StartIncrementalCollection); FailedPrecondition if the
  // collector cannot, or a cycle is in progress, or a collection may not start here.
  absl::Status StartIncremental(CollectionReason reason);
  // Heap::Step: marking for about `budget` of time; the final pause if marking is done.
  // True while a cycle is still in progress.
  bool Step(absl::Duration budget);
  // The final pause now, if a cycle is in progress (Heap::FinishIncrementalCollection).
  void FinishIncremental() {
    if (marking_) FinalPause(/*overrun=*/false, /*pause_open=*/false);
    while (AfterCycleWorkPending()) LazySweepStep(SIZE_MAX);
  }
  bool marking() const { return marking_; }
  // [incr.abandon] Drops a cycle in progress (the heap's destructor, FindRetainingPath).
  void AbandonIncrementalIfAny() {
    if (marking_) AbandonIncremental();
  }
  size_t AdjustExternal(int64_t delta);
  size_t external_bytes() const { return external_bytes_; }
  const HeapStatistics& UpdatedStats();
  const SideVector<Pause>& pauses() const { return pauses_; }  // HeapOptions::record_pauses

  Collector& collector() { return *collector_; }
  const Collector& collector() const { return *collector_; }
  const HeapOptions& options() const { return options_; }
  bool in_collection() const { return in_collection_; }

  void Keep(void* object);
  void ClearKept() { kept_.clear(); }
  size_t kept_count() const { return kept_.size(); }

  HeapAttachment* attachment(const void* key) const;
  void set_attachment(const void* key, std::unique_ptr<HeapAttachment> value);
  void DestroyAttachments();

  void AddHook(CollectionHook* hook);
  // Heap::AddEventListener, RemoveEventListener (gc_events.h).
  void AddListener(GcEventListener* listener);
  void RemoveListener(GcEventListener* listener);
  // A stretch of `phase` of the current cycle ended: the listeners hear of it.
  void NotePhase(Phase phase, std::chrono::steady_clock::time_point start,
                 std::chrono::steady_clock::time_point end);
  // Heap::RegisterWeakContainer.
  void AddWeakContainer(void* object, WeakCallback callback);
  void RemoveHook(CollectionHook* hook);
  void set_out_of_memory_handler(Heap::OutOfMemoryHandler handler) {
    oom_handler_ = std::move(handler);
  }
  absl::Status OutOfMemoryStatus(size_t cell_size) const;
  // No memory for a side table an API call needed (gc/DESIGN.md [fault]): calls the
  // out-of-memory handler with ResourceExhausted naming `what`, then stops the
  // program if the handler returned.
  [[noreturn]] void SideTableExhausted(const char* what, size_t bytes);
  // The out-of-memory handler with `status`, then a stop if it returned ([alloc.oom]).
  [[noreturn]] void ReportOutOfMemory(const absl::Status& status);

  absl::StatusOr<RetainingPath> FindRetainingPath(const void* object);
  absl::Status WriteHeapSnapshot(std::ostream& out, HeapSnapshotSummary* summary);

  // Checks every object and root; stops with a message on the first broken one.
  // Valid outside a cycle. Returns the number of objects checked.
  size_t Verify();
  // Re-traces the heap with the independent verifier (internal/independent_verifier.h)
  // and compares with what the collector kept; stops with a message on a difference.
  // Returns the number of objects reached.
  // `hook_marked`: what hooks marked during the cycle (also roots of the cycle).
  // `weak_may_be_strong`: a side table of the cycle fell back ([fault]).
  // `old_objects`: before a minor collection, the objects that were old (it keeps
  // them whether reachable or not, so they are roots of the re-trace).
  // `floating_garbage`: an incremental cycle, which may keep what died while it marked
  // ([incr.float]).
  size_t VerifyIndependently(uint64_t cycle, std::vector<void*>& hook_marked,
                             bool weak_may_be_strong, std::vector<void*>& old_objects,
                             bool floating_garbage);
  // Before a minor collection: every reference from an old object that the write
  // barrier did not remember to a young one stops the program with a message naming
  // the holder, its field and the target (gc/DESIGN.md [gen.verify]).
  void VerifyRememberedSet(uint64_t cycle);

 private:
  uint64_t allocated_since_collection() const {
    return heap_.alloc_.bytes_allocated - bytes_at_last_collection_;
  }
  // Major unless the collector is generational, the reason is the allocation budget
  // or a stress point, the old generation has not reached the policy's limit, and the
  // collector does not ask for one ([gen.policy]).
  CollectionKind KindFor(CollectionReason reason) const;
  uint64_t BudgetRemaining() const;
  uint64_t HardRemaining() const;
  ObjectHeader* TryAllocate(size_t cell_size, uint64_t allowed);
  void SetBudget(size_t budget);
  // policy.h PendingAllocationBudget: the bytes the policy adds to the budget for an
  // allocation of `cell_size` bytes the budget has no room for, or 0 to collect first.
  size_t PendingAllocationGrant(size_t cell_size);
  // Stress modes: counts the allocation and collects at the points the options ask
  // for (gc/DESIGN.md [stress]).
  void StressAllocation(size_t cell_size);
  void VisitRoots(Visitor& visitor);
  // ClearWeak phase: the callback of every registered weak container still alive,
  // with its current address; the dead ones are forgotten.
  void ProcessWeakContainers(CycleContext& context);
  // Weak hooks and naive ephemeron passes, each followed by a drain, until none
  // makes progress.
  void RunWeakFixpoint(CycleContext& context);
  // Peak memory is sampled where it can grow: slow-path allocations (new pages, new
  // buffers, large objects) and the end of marking.
  void SamplePeakCommitted();

  // The phases of a cycle, shared by atomic and incremental ones. BeginCycle:
  // prepare, and the roots visited (the Mark phase is running when it returns).
  // FinishCycle: from the end of marking to the end (weak processing, finalization,
  // clearing, sweep, policy, verification), then the pause `kind` ends and the hooks'
  // AfterCollection runs.
  void BeginCycle(CollectionReason reason, CollectionKind kind, bool incremental,
                  PhaseTimer& timer);
  // Calls `f` on every event listener, as part of the collection: a listener that
  // uses the heap stops the program (in_collection_).
  template <typename F>
  void Notify(F f) {
    if (listeners_.empty()) return;
    const bool was_in_collection = std::exchange(in_collection_, true);
    for (GcEventListener* listener : listeners_) f(*listener);
    in_collection_ = was_in_collection;
  }
  void FinishCycle(PhaseTimer& timer, PauseKind kind);
  // Pauses: their time is what the cycle's phases gained in them.
  void BeginPause();
  void EndPause(PauseKind kind);
  // [incr.pace] The fast path's trigger: the budget's end, or before it the next
  // incremental event (the start of marking, the next step).
  void UpdateTrigger();
  // From the allocation slow path, for an allocation of `request` bytes: starts
  // marking, or takes a step, when due.
  void IncrementalWork(size_t request);
  // One step of `budget` bytes of tracing; with `finish_when_done`, the final pause
  // in the same pause if it finished the marking.
  void IncrementalStep(size_t budget, bool finish_when_done);
  // The final pause ([incr.final]). `overrun`: the budget ran out before marking was
  // done. `pause_open`: a step's pause goes on into this one.
  void FinalPause(bool overrun, bool pause_open);
  void AbandonIncremental();
  // [incr.lazy] Sweeps pages of about `budget` bytes left by the last cycle, or once
  // they are swept returns that much memory to the OS, as a pause.
  void LazySweepStep(size_t budget);
  bool AfterCycleWorkPending() const { return collector_->sweep_pending() || release_pending_; }
  // Logs a sweep pause that began at `start` and counts it in the statistics.
  void EndSweepPause(std::chrono::steady_clock::time_point start);
  // Logs a pause of the current cycle's kind (or `of`) and counts it in the heap's
  // totals and in each of `cycles`.
  void RecordPause(std::chrono::steady_clock::time_point start, absl::Duration pause,
                   PauseKind kind, std::initializer_list<CycleStatistics*> cycles,
                   std::optional<CollectionKind> of = std::nullopt);
  // [incr.gen] A step that clears the marks a sticky-mark collector's sweeps left, ahead
  // of its incremental major cycle, as a pause.
  void ClearMarksStep();
  void SetBarriersForMarking(bool on);

  Heap& heap_;
  HeapOptions options_;
  std::unique_ptr<Collector> collector_;
  // Side-table memory (internal/side_table.h), grown only by API calls, which call
  // SideTableExhausted when it fails.
  SideVector<CollectionHook*> hooks_;
  SideVector<GcEventListener*> listeners_;  // Heap::AddEventListener
  // The GC log and trace file the options asked for (gc_events.h), listening too.
  std::vector<std::unique_ptr<GcEventListener>> own_listeners_;
  std::chrono::steady_clock::time_point created_;
  // When the last collection ended, and the heap's total pause then: the program's
  // own time since, for the policy (PolicyInput::mutator_time_since_last_collection).
  std::chrono::steady_clock::time_point last_collection_end_;
  absl::Duration pause_at_last_collection_end_;
  SideVector<std::pair<const void*, std::unique_ptr<HeapAttachment>>> attachments_;
  SideVector<void*> kept_;  // KeepDuringJob roots
  struct WeakContainer {
    void* object;
    WeakCallback callback;
  };
  SideVector<WeakContainer> weak_containers_;  // Heap::RegisterWeakContainer
  Heap::OutOfMemoryHandler oom_handler_;
  HeapStatistics stats_;
  SideVector<Pause> pauses_;
  // The cycle in progress (or the last one), from BeginCycle to FinishCycle.
  struct Cycle {
    CycleStatistics stats;
    uint64_t allocated_since = 0;  // bytes allocated between the last cycle and this one
    size_t fallbacks_before = 0;   // side-table fallbacks when it began
    uint64_t marking_began_at = 0;  // bytes_allocated when incremental marking began
    // [gen.verify] Before a minor collection under stress verification: the old objects.
    std::vector<void*> old_objects;
  };
  Cycle cycle_;
  std::chrono::steady_clock::time_point pause_start_;
  absl::Duration phases_before_pause_;
  // [incr] Incremental cycles: the collector can mark incrementally, marking is in
  // progress, and where the fast path's counter starts marking and takes its next step.
  bool incremental_ = false;
  bool marking_ = false;
  uint64_t mark_start_at_ = UINT64_MAX;
  uint64_t next_step_at_ = UINT64_MAX;
  uint64_t allocated_at_last_step_ = 0;
  double marking_rate_ = 1.0;  // [incr.pace] bytes to trace per byte allocated
  bool marking_done_ = false;  // a step found nothing left to trace
  size_t marking_debt_ = 0;    // bytes of tracing owed beyond the last step's cap
  // [incr.lazy] Memory to return to the OS after an incremental cycle, keeping this.
  bool release_pending_ = false;
  size_t release_keep_ = 0;
  bool budget_extended_ = false;  // this cycle's budget was extended once
  // [incr.gen] Bytes the last minor collection promoted (its kept bytes less the
  // collection's before it): a generational collector's next one is predicted to
  // promote as much.
  size_t last_promotion_ = 0;
  // [incr.gen] Where the clearing steps ahead of a predicted major cycle begin, and
  // whether they are done (or there is nothing to clear: no major cycle is due).
  uint64_t clear_start_at_ = UINT64_MAX;
  bool marks_cleared_ = true;
  uint64_t bytes_at_last_collection_ = 0;
  // The allocation budget ends here. The fast path's AllocationState::trigger is the
  // same, except under an allocation-driven stress mode, where it is 0 so that every
  // allocation reaches the slow path and is counted.
  uint64_t budget_end_ = 0;
  // The kept bytes at which the next collection is major: the live bytes of the last
  // collection plus the policy's budget. A generational collector's budget_end_ is at
  // most a nursery away ([gen.policy]).
  size_t old_limit_ = 0;
  uint64_t bytes_at_last_major_ = 0;
  size_t live_after_last_major_ = 0;
  StressOptions stress_;
  uint64_t stress_allocations_ = 0;  // since the last stress collection
  uint64_t stress_bytes_ = 0;        // likewise
  uint64_t stress_random_ = 0;     // xorshift state
  bool stress_pending_ = false;    // a point fell inside a constructor
  size_t external_bytes_ = 0;
  size_t external_trigger_ = 0;  // collect when external_bytes_ reaches it
  bool in_collection_ = false;
  bool counted_in_barriers_ = false;  // in write_barrier_heaps / load_barrier_heaps
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_HEAP_IMPL_H_
