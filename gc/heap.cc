#include "gc/heap.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "gc/internal/barrier.h"
#include "gc/internal/chunk_table.h"
#include "gc/internal/collector_registry.h"
#include "gc/internal/heap_impl.h"
#include "gc/internal/gc_trace.h"
#include "gc/internal/independent_verifier.h"
#include "gc/internal/pointer_set.h"

namespace gclab {

namespace internal {

namespace {

// Ids of live heaps, for the debug checks of handles that outlive their heap.
absl::Mutex live_heaps_mutex(absl::kConstInit);
// Ids of the heaps alive now (ids start at 1); side-table memory, never throwing.
PointerMap<uint64_t, bool>* live_heaps = nullptr;
std::atomic<uint64_t> next_heap_id{1};

// The visitor hooks mark with (CycleContext) during a verified cycle: marks through the
// collector's visitor, then records where the object is now.
class HookMarkRecorder final : public Visitor {
 public:
  explicit HookMarkRecorder(Visitor& marker) : marker_(marker) {}
  void VisitSlot(void** slot) override {
    marker_.VisitSlot(slot);
    marked_.push_back(*slot);
  }
  void VisitWeakSlot(void** slot) override { marker_.VisitWeakSlot(slot); }
  void VisitEphemeron(void** key_slot, void** value_slot) override {
    marker_.VisitEphemeron(key_slot, value_slot);
  }
  void VisitWeakCallback(WeakCallback callback, void* object) override {
    marker_.VisitWeakCallback(callback, object);
  }
  std::vector<void*>& marked() { return marked_; }

 private:
  Visitor& marker_;
  std::vector<void*> marked_;
};

// [incr.pace] Incremental marking traces the collector's marking_rate() bytes per byte
// allocated (more if it started late; the option marking-rate, 16 by default), in a
// step every kStepInterval bytes of allocation; a step traces at least kMinStepWork
// bytes, which is also the unit of Heap::Step. Marking starts where, at that rate, the
// work expected (what the last cycle kept, and at least kMinMarkingWork) would be done
// with half of it again to spare before the budget's end.
constexpr uint64_t kStepInterval = 16 << 10;
constexpr size_t kMinStepWork = 16 << 10;
// A step traces at most kMaxStepWork bytes; what allocation owes beyond it (a large
// object's worth) is paid by the steps that follow, one at each slow-path allocation.
constexpr size_t kMaxStepWork = 256 << 10;
constexpr size_t kMinMarkingWork = 256 << 10;
// [incr.lazy] Bytes of pages a sweep step sweeps per byte allocated since the last.
constexpr size_t kSweepRate = 8;
// A sweep step's bytes of pages (or of memory to return to the OS) are clamped to
// these: at least a mark-sweep page, and at most two, so that a step stays short.
constexpr size_t kMinSweepWork = 256 << 10;
constexpr size_t kMaxSweepWork = 512 << 10;
// [incr.gen] Bytes of pages whose marks a clearing step clears: 128 pages, whose bitmaps
// (1/64 of a page each) are half a MiB of memset.
constexpr size_t kClearWork = 32 << 20;
// [stress.incr] The work of the step an incremental cycle takes at every allocation
// under an allocation-driven stress mode.
constexpr size_t kStressStepWork = 512;

// A switch from the environment: `fallback` when `name` is unset or empty, on for 1 or
// "on", off for 0 or "off". Any other value stops the program: a comparison of the two
// settings must not quietly run one. HeapOptions::huge_pages when unset is
// GCLAB_HUGE_PAGES (on by default), trace_gc is GCLAB_TRACE_GC (off by default).
bool SwitchFromEnvironment(const char* name, bool fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  const std::string_view value = text;
  if (value == "1" || value == "on") return true;
  if (value == "0" || value == "off") return false;
  Fatal(__FILE__, __LINE__, "%s=%s: expected 0, 1, off or on", name, text);
}

}  // namespace

// Times the phases of a cycle into `times`, and tells the heap's event listeners of
// each stretch of a phase as it ends (gc_events.h).
class PhaseTimer {
 public:
  PhaseTimer(PhaseTimes& times, HeapImpl& heap) : times_(times), heap_(heap) {}
  void Start(Phase phase) {
    auto now = std::chrono::steady_clock::now();
    if (running_) End(now);
    current_ = phase;
    start_ = now;
    running_ = true;
  }
  void Stop() {
    if (running_) End(std::chrono::steady_clock::now());
    running_ = false;
  }

 private:
  void End(std::chrono::steady_clock::time_point now) {
    times_[current_] += absl::FromChrono(now - start_);
    heap_.NotePhase(current_, start_, now);
  }

  PhaseTimes& times_;
  HeapImpl& heap_;
  Phase current_ = Phase::kPrepare;
  std::chrono::steady_clock::time_point start_;
  bool running_ = false;
};

bool IsHeapAlive(uint64_t heap_id) {
  absl::MutexLock lock(&live_heaps_mutex);
  return live_heaps != nullptr && live_heaps->find(heap_id) != nullptr;
}

HeapImpl::HeapImpl(Heap& heap, HeapOptions options)
    : heap_(heap), options_(std::move(options)) {}

HeapImpl::~HeapImpl() {
  if (marking_) AbandonIncremental();
  if (counted_in_barriers_) {
    const CollectorCapabilities& capabilities = collector_->info().capabilities;
    if (capabilities.write_barrier) write_barrier_heaps.fetch_sub(1);
    if (capabilities.load_barrier) load_barrier_heaps.fetch_sub(1);
  }
}

absl::Status HeapImpl::Init() {
  if (options_.heap_limit < (size_t{1} << 20) || options_.heap_limit > (size_t{1} << 40)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: heap_limit must be between 1 MiB and 1 TiB, got %d bytes",
        options_.heap_limit));
  }
  if (options_.policy == nullptr) {
    options_.policy = std::make_shared<GrowthFactorPolicy>(2.0, size_t{4} << 20);
  }
  if (!options_.stress.has_value()) options_.stress = StressOptions::FromEnvironment();
  created_ = std::chrono::steady_clock::now();
  last_collection_end_ = created_;
  stress_ = *options_.stress;
  stress_random_ = (stress_.random_seed * 0x9E3779B97F4A7C15ull) | 1;  // xorshift needs non-zero
  const CollectorRegistration* registration = FindRegistration(options_.collector);
  if (registration == nullptr) return ParseCollectorKind(options_.collector.name()).status();
  auto collector = registration->factory(heap_.alloc_, options_.collector_options);
  if (!collector.ok()) return collector.status();
  collector_ = *std::move(collector);
  collector_->set_info(&registration->info);
  collector_->set_heap(&heap_);
  if (!options_.huge_pages.has_value()) {
    options_.huge_pages = SwitchFromEnvironment("GCLAB_HUGE_PAGES", true);
  }
  collector_->set_huge_pages(*options_.huge_pages);
  if (absl::Status s = collector_->Init(options_.heap_limit); !s.ok()) return s;
  // The barriers' fast paths turn on while a heap that needs them lives ([barrier]).
  const CollectorCapabilities& capabilities = registration->info.capabilities;
  if (capabilities.write_barrier) write_barrier_heaps.fetch_add(1);
  if (capabilities.load_barrier) load_barrier_heaps.fetch_add(1);
  counted_in_barriers_ = true;
  collector_->weak().set_algorithm(options_.ephemeron_algorithm);
  collector_->set_zap_freed(stress_.zap_freed);
  incremental_ = capabilities.incremental;
  heap_.track_finalizable_ = collector_->needs_finalizable_registry();
  heap_.moving_ = collector_->moves_objects();
  SetBudget(options_.policy->InitialBudget(options_.heap_limit));
  PolicyInput initial;
  initial.heap_limit = options_.heap_limit;
  external_trigger_ = options_.policy->ExternalBudget(initial);
  // gc_events.h: the GC log and the trace file, from the options or the environment;
  // last, so that a heap that fails to start truncates no trace file.
  if (!options_.trace_gc.has_value()) {
    options_.trace_gc = SwitchFromEnvironment("GCLAB_TRACE_GC", false);
  }
  if (!options_.trace_file.has_value()) {
    const char* path = std::getenv("GCLAB_TRACE_FILE");
    options_.trace_file = path != nullptr ? path : "";
  }
  if (*options_.trace_gc) {
    std::unique_ptr<GcEventListener> log = MakeGcLog(stderr, created_);
    AddListener(log.get());
    own_listeners_.push_back(std::move(log));
  }
  if (!options_.trace_file->empty()) {
    absl::StatusOr<std::unique_ptr<GcEventListener>> trace = MakeChromeTrace(*options_.trace_file);
    if (!trace.ok()) return trace.status();
    AddListener(trace->get());
    own_listeners_.push_back(*std::move(trace));
  }
  return absl::OkStatus();
}

size_t HeapImpl::AdjustExternal(int64_t delta) {
  if (delta < 0) {
    const auto decrease = static_cast<size_t>(-(delta + 1)) + 1;
    GCLAB_CHECK(decrease <= external_bytes_,
                "AdjustExternalMemory(%lld) with only %zu external bytes reported: every "
                "release must match an earlier report",
                static_cast<long long>(delta), external_bytes_);
    external_bytes_ -= decrease;
    return external_bytes_;
  }
  external_bytes_ += static_cast<size_t>(delta);
  stats_.peak_external_bytes = std::max(stats_.peak_external_bytes, external_bytes_);
  if (options_.external_memory_triggers_collection && external_bytes_ >= external_trigger_ &&
      heap_.CanCollectNow()) {
    Collect(CollectionReason::kExternalMemory);
  }
  return external_bytes_;
}

void HeapImpl::SetBudget(size_t budget) {
  size_t room = options_.heap_limit > stats_.live_bytes ? options_.heap_limit - stats_.live_bytes : 0;
  budget = std::min(budget, room);
  bytes_at_last_collection_ = heap_.alloc_.bytes_allocated;
  old_limit_ = stats_.live_bytes + budget;
  // [gen.policy] A generational collector collects a nursery later at most; whether
  // minor or major depends on the old generation (KindFor).
  const size_t nursery = collector_->nursery_bytes();
  budget_end_ = bytes_at_last_collection_ + (nursery != 0 ? std::min(nursery, budget) : budget);
  // [incr.pace] An incremental collector starts marking before the budget's end, with
  // room for the marking at its rate and half again.
  if (incremental_) {
    const double work = static_cast<double>(std::max(stats_.live_bytes, kMinMarkingWork));
    const auto marking_room = static_cast<uint64_t>(1.5 * work / collector_->marking_rate());
    if (nursery != 0) {
      // [incr.gen] Minor collections while, after the next one (which is predicted to
      // promote what the last one did), the old generation would still have room under
      // its limit for the marking, and for the steps before it that clear the marks
      // the sweeps left (they say "old": twice as much allocation as those steps
      // need); then, instead of that minor collection, a major one marked in steps.
      // No minor collection runs while it marks, so what the program allocates
      // meanwhile is old at once: its room, past the nursery's end if need be, is
      // within the policy's budget; except after a minor collection that promoted
      // more than the prediction left room for, when the cycle gets its room past the
      // limit, up to what that collection promoted (an atomic major collection would
      // have come after it too), rather than run in one pause.
      const uint64_t clearing = 2 * kStepInterval * (collector_->committed_bytes() / kClearWork + 1);
      const uint64_t needed = marking_room + clearing;
      if (collector_->NeedsMajorCollection() || budget <= needed + last_promotion_) {
        uint64_t room = std::min<uint64_t>(budget, std::max<uint64_t>(nursery, needed));
        if (room < needed) {
          room = std::max<uint64_t>(room, std::min<uint64_t>({needed, last_promotion_, HardRemaining()}));
        }
        // A room short of both keeps a quarter of it for the clearing.
        const uint64_t clear_room = std::min<uint64_t>(clearing, room / 4);
        budget_end_ = bytes_at_last_collection_ + room;
        mark_start_at_ = budget_end_ - std::min<uint64_t>(marking_room, room - clear_room);
        clear_start_at_ = mark_start_at_ - std::min(clearing, mark_start_at_ - bytes_at_last_collection_);
      } else {
        mark_start_at_ = UINT64_MAX;
        clear_start_at_ = UINT64_MAX;
      }
      marks_cleared_ = false;
    } else {
      mark_start_at_ = budget_end_ - std::min(marking_room, budget_end_ - bytes_at_last_collection_);
    }
    next_step_at_ = bytes_at_last_collection_ + kStepInterval;  // [incr.lazy] sweep steps
  }
  UpdateTrigger();
}

void HeapImpl::UpdateTrigger() {
  uint64_t trigger = budget_end_;
  if (marking_) {
    trigger = std::min(trigger, next_step_at_);
  } else if (incremental_) {
    trigger = std::min(trigger, mark_start_at_);
    if (AfterCycleWorkPending()) trigger = std::min(trigger, next_step_at_);
    if (!marks_cleared_) trigger = std::min(trigger, std::max(clear_start_at_, next_step_at_));
  }
  heap_.alloc_.trigger = stress_.collects() ? 0 : trigger;
}

CollectionKind HeapImpl::KindFor(CollectionReason reason) const {
  if (!collector_->info().capabilities.generational) return CollectionKind::kMajor;
  if (reason != CollectionReason::kAllocationBudget && reason != CollectionReason::kStress) {
    return CollectionKind::kMajor;
  }
  if (collector_->NeedsMajorCollection() || stats_.live_bytes >= old_limit_) {
    return CollectionKind::kMajor;
  }
  return CollectionKind::kMinor;
}

uint64_t HeapImpl::BudgetRemaining() const {
  const AllocationState& a = heap_.alloc_;
  return budget_end_ > a.bytes_allocated ? budget_end_ - a.bytes_allocated : 0;
}

uint64_t HeapImpl::HardRemaining() const {
  uint64_t used = stats_.live_bytes + allocated_since_collection();
  return options_.heap_limit > used ? options_.heap_limit - used : 0;
}

ObjectHeader* HeapImpl::TryAllocate(size_t cell_size, uint64_t allowed) {
  // The bump buffer's bytes are counted first, every time: a collection before a
  // retry may run finalization callbacks that allocate through the fast path, and a
  // collector that starts a new buffer (AllocateSmall) counts from its new top.
  heap_.alloc_.FlushBump();
  if (cell_size > allowed) return nullptr;
  size_t allocated = cell_size;
  ObjectHeader* header = cell_size <= kMaxSmallCell
                             ? collector_->AllocateSmall(cell_size, allowed, &allocated)
                             : collector_->AllocateLarge(cell_size);
  if (header == nullptr) return nullptr;
  AllocationState& a = heap_.alloc_;
  a.bytes_allocated += allocated;
  // A bump buffer never reaches past the budget, whatever `allowed` was: large
  // objects and allocations beyond the budget (in constructors) shrink it, so the
  // fast path comes back here, and collects, once the budget is spent.
  // Under an allocation-driven stress mode the buffer is empty: every allocation
  // comes back here to be counted.
  if (!a.free_list_mode) {
    a.limit = stress_.collects() ? a.top
                                 : a.top + std::min<uint64_t>(static_cast<uint64_t>(a.limit - a.top),
                                                              BudgetRemaining());
  }
  SamplePeakCommitted();
  return header;
}

void HeapImpl::SamplePeakCommitted() {
  stats_.peak_committed_bytes =
      std::max(stats_.peak_committed_bytes, collector_->committed_bytes());
}

ObjectHeader* HeapImpl::AllocateSlow(size_t cell_size, bool abort_on_oom) {
  GCLAB_CHECK(!in_collection_,
              "allocation during a garbage collection (from a Trace method, a destructor "
              "or a collection hook)");
  heap_.alloc_.FlushBump();
  if (stress_.collects()) StressAllocation(cell_size);
  if (incremental_ && heap_.constructing_ == 0) IncrementalWork(cell_size);
  ObjectHeader* header = nullptr;
  if (cell_size <= UINT32_MAX) {
    // [incr.lazy] An allocation that sweeps pages on demand is a sweep pause.
    const bool sweeping = collector_->sweep_pending();
    const uint64_t swept_before = sweeping ? collector_->pages_swept_lazily() : 0;
    const auto sweep_start = sweeping ? std::chrono::steady_clock::now()
                                      : std::chrono::steady_clock::time_point{};
    header = TryAllocate(cell_size, std::min(BudgetRemaining(), HardRemaining()));
    if (sweeping && collector_->pages_swept_lazily() != swept_before) EndSweepPause(sweep_start);
    if (header == nullptr) {
      if (heap_.constructing_ == 0) {
        const uint64_t extension = (budget_end_ - bytes_at_last_collection_) / 2;
        if (marking_ && !marking_done_ && !budget_extended_ && BudgetRemaining() < cell_size &&
            HardRemaining() >= extension + cell_size) {
          // [incr.pace] The budget ran out before the marking was done: half a budget
          // more, once, under the heap limit, marking four times as fast, rather than
          // a final pause that does the rest of the marking.
          budget_extended_ = true;
          ++stats_.marking_extensions;
          budget_end_ += extension;
          marking_rate_ *= 4;
          UpdateTrigger();
        } else if (marking_) {
          // [incr.pace] The budget ran out: the final pause, which does the rest of
          // the marking if the steps did not finish it.
          FinalPause(/*overrun=*/!marking_done_, /*pause_open=*/false);
        } else if (const size_t grant = PendingAllocationGrant(cell_size); grant != 0) {
          // policy.h: the policy grows the budget for this allocation rather than
          // collect for it.
          budget_end_ += grant;
          ++stats_.pending_allocation_grants;
          UpdateTrigger();
        } else {
          Collect(BudgetRemaining() < cell_size ? CollectionReason::kAllocationBudget
                                                : CollectionReason::kHeapLimit);
        }
        auto allowed = [&] {
          return std::min(HardRemaining(), std::max<uint64_t>(BudgetRemaining(), cell_size));
        };
        header = TryAllocate(cell_size, allowed());
        if (header == nullptr && (stats_.last_cycle.kind == CollectionKind::kMinor ||
                                  stats_.last_cycle.incremental)) {
          // [gen.policy] Old garbage may be what fills the heap, and [incr.float] an
          // incremental cycle keeps what died while it marked: a full collection
          // before giving up.
          Collect(CollectionReason::kHeapLimit, CollectionKind::kMajor);
          header = TryAllocate(cell_size, allowed());
        }
      } else {
        // Inside a heap object's constructor no collection may start (the object is
        // half-built and unrooted): go past the budget, up to the heap limit.
        header = TryAllocate(cell_size, HardRemaining());
      }
    }
  }
  if (header == nullptr && abort_on_oom) ReportOutOfMemory(OutOfMemoryStatus(cell_size));
  return header;
}

size_t HeapImpl::PendingAllocationGrant(size_t cell_size) {
  const uint64_t remaining = BudgetRemaining();
  if (remaining >= cell_size || HardRemaining() < cell_size) return 0;
  const size_t grant = options_.policy->PendingAllocationBudget(cell_size, remaining);
  if (remaining + grant < cell_size) return 0;  // not enough: a collection, as without
  return static_cast<size_t>(std::min<uint64_t>(grant, HardRemaining()));
}

void HeapImpl::StressAllocation(size_t cell_size) {
  ++stress_allocations_;
  stress_bytes_ += cell_size;
  // With scale=K an interval is at least 1/K of what the last collection found live,
  // so the stress work per allocation stays near K objects however large the heap.
  auto interval = [&](uint64_t n, uint64_t live) {
    return stress_.scale != 0 ? std::max<uint64_t>(n, live / stress_.scale) : n;
  };
  bool due = stress_pending_;
  if (stress_.collect_every_allocations != 0 &&
      stress_allocations_ >= interval(stress_.collect_every_allocations, stats_.live_objects)) {
    due = true;
  }
  if (stress_.collect_every_bytes != 0 &&
      stress_bytes_ >= interval(stress_.collect_every_bytes, stats_.live_bytes)) {
    due = true;
  }
  if (stress_.collect_randomly_every != 0) {
    stress_random_ ^= stress_random_ << 13;
    stress_random_ ^= stress_random_ >> 7;
    stress_random_ ^= stress_random_ << 17;
    if (stress_random_ % interval(stress_.collect_randomly_every, stats_.live_objects) == 0) {
      due = true;
    }
  }
  if (!due) return;
  if (heap_.constructing_ > 0) {  // [alloc.ctor]: at the next allocation outside one
    stress_pending_ = true;
    return;
  }
  stress_pending_ = false;
  stress_allocations_ = stress_bytes_ = 0;
  if (!incremental_) {
    Collect(CollectionReason::kStress);
    return;
  }
  // [stress.incr] On an incremental collector each point ends a collection too: the
  // final pause of the cycle in progress (or, at the first point, a collection in one
  // pause); and starts the next cycle, whose marking then runs in small steps, one at
  // every allocation (IncrementalWork), with the program's work between them.
  if (marking_) {
    FinalPause(/*overrun=*/false, /*pause_open=*/false);
    // [stress.incr] On a generational collector the next point is a collection in one
    // pause, minor while the old generation allows, so that minor collections are
    // tested too.
    if (collector_->info().capabilities.generational) return;
  } else {
    Collect(CollectionReason::kStress);
  }
  (void)StartIncremental(CollectionReason::kStress);
}

absl::Status HeapImpl::OutOfMemoryStatus(size_t cell_size) const {
  if (cell_size > UINT32_MAX) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "gclab: out of memory: a single object of %d bytes exceeds the 4 GiB object limit",
        cell_size));
  }
  // [alloc.limit]: either the request does not fit under the limit, or it does and
  // the collector found no place for it (the OS refused memory, or a non-moving
  // space is fragmented). TryAllocate refused for the first reason exactly when this
  // comparison says so.
  const uint64_t used = stats_.live_bytes + allocated_since_collection();
  if (cell_size > HardRemaining()) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "gclab: out of memory: cannot allocate %d bytes in the %s heap: %d bytes of objects "
        "are in use after a full collection and the heap limit is %d bytes",
        cell_size, collector_->name(), used, options_.heap_limit));
  }
  return absl::ResourceExhaustedError(absl::StrFormat(
      "gclab: out of memory: cannot allocate %d bytes in the %s heap, although %d bytes of "
      "objects in use after a full collection are under the heap limit of %d bytes: %s",
      cell_size, collector_->name(), used, options_.heap_limit,
      collector_->DescribeAllocationFailure(cell_size)));
}

void HeapImpl::VisitRoots(Visitor& visitor) {
  heap_.handles_.ForEachSlot([&](void** slot) {
    if (*slot != nullptr) visitor.VisitSlot(slot);
  });
  heap_.persistents_.ForEachSlot([&](void** slot) { visitor.VisitSlot(slot); });
  for (void*& object : kept_) visitor.VisitSlot(&object);
  for (CollectionHook* hook : hooks_) hook->TraceRoots(visitor);
}

void HeapImpl::RunWeakFixpoint(CycleContext& context) {
  for (bool progress = true; progress;) {
    progress = collector_->weak().ProcessNaive();
    for (CollectionHook* hook : hooks_) progress |= hook->ProcessWeak(context);
    collector_->Drain();
  }
}

void HeapImpl::Keep(void* object) {
  GCLAB_CHECK(!in_collection_, "KeepDuringJob during a collection");
  GCLAB_DCHECK(collector_->Contains(object),
               "KeepDuringJob(%p): not a live object of this heap", object);
  if (!TryPushBack(kept_, object)) SideTableExhausted("a KeepDuringJob entry", sizeof(void*));
}

void HeapImpl::SideTableExhausted(const char* what, size_t bytes) {
  ReportOutOfMemory(absl::ResourceExhaustedError(absl::StrFormat(
      "gclab: out of memory: cannot allocate %d bytes for %s (malloc refused them)", bytes, what)));
}

void HeapImpl::ReportOutOfMemory(const absl::Status& status) {
  if (oom_handler_) oom_handler_(status);
  Fatal(__FILE__, __LINE__, "%s", std::string(status.message()).c_str());
}

void HeapImpl::Collect(CollectionReason reason) { Collect(reason, KindFor(reason)); }

void HeapImpl::Collect(CollectionReason reason, CollectionKind kind) {
  GCLAB_CHECK(!in_collection_,
              "a collection was started during a collection (from a Trace method, a "
              "destructor or a collection hook)");
  GCLAB_CHECK(heap_.constructing_ == 0,
              "a collection was started from a heap object's constructor");
  // [incr.abandon] A collection in one pause reclaims everything unreachable now, which
  // an incremental cycle in progress would not (it keeps what died while it marked).
  if (marking_) AbandonIncremental();
  // A minor collection needs what a major one leaves: [gen.sticky] an abandoned cycle
  // cleared the marks that say what is old, [fault] a remembered set that lost an
  // entry no longer says what old objects reference. Either makes it major.
  if (!collector_->info().capabilities.generational || collector_->NeedsMajorCollection()) {
    kind = CollectionKind::kMajor;
  }
  in_collection_ = true;
  BeginPause();
  PhaseTimer timer(cycle_.stats.phases, *this);
  BeginCycle(reason, kind, /*incremental=*/false, timer);
  collector_->Drain();
  FinishCycle(timer, PauseKind::kAtomic);
}

void HeapImpl::BeginPause() {
  pause_start_ = std::chrono::steady_clock::now();
  phases_before_pause_ = cycle_.stats.phases.Total();
}

void HeapImpl::EndPause(PauseKind kind) {
  // The pause is what the phases gained in it: the log's durations add up to
  // total_pause, and an atomic cycle's one pause is its `pause`.
  RecordPause(pause_start_, cycle_.stats.phases.Total() - phases_before_pause_, kind,
              {&cycle_.stats});
}

void HeapImpl::RecordPause(std::chrono::steady_clock::time_point start, absl::Duration pause,
                           PauseKind kind, std::initializer_list<CycleStatistics*> cycles,
                           std::optional<CollectionKind> of) {
  const CollectionKind collection = of.value_or(cycle_.stats.kind);
  const Pause entry{start, pause, kind, collection};
  if (options_.record_pauses && !TryPushBack(pauses_, entry)) ++stats_.pauses_not_recorded;
  Notify([&](GcEventListener& l) { l.OnPause(heap_, entry); });
  for (CycleStatistics* cycle : cycles) {
    cycle->pause += pause;
    cycle->max_pause = std::max(cycle->max_pause, pause);
  }
  stats_.total_pause += pause;
  stats_.max_pause = std::max(stats_.max_pause, pause);
  if (collection == CollectionKind::kMinor) {
    stats_.max_minor_pause = std::max(stats_.max_minor_pause, pause);
  }
}

void HeapImpl::BeginCycle(CollectionReason reason, CollectionKind kind, bool incremental,
                          PhaseTimer& timer) {
  heap_.alloc_.FlushBump();
  cycle_.stats = CycleStatistics{};
  cycle_.stats.number = stats_.collections + 1;
  cycle_.stats.reason = reason;
  cycle_.stats.kind = kind;
  cycle_.stats.incremental = incremental;
  cycle_.allocated_since = allocated_since_collection();
  cycle_.old_objects.clear();
  phases_before_pause_ = absl::ZeroDuration();
  if (!listeners_.empty()) {
    GcCycleStart start;
    start.heap = &heap_;
    start.number = cycle_.stats.number;
    start.kind = kind;
    start.reason = reason;
    start.incremental = incremental;
    start.time = std::chrono::steady_clock::now();
    start.heap_bytes = stats_.live_bytes + cycle_.allocated_since;
    start.heap_limit = options_.heap_limit;
    start.external_bytes = external_bytes_;
    Notify([&](GcEventListener& l) { l.OnCycleStart(start); });
  }

  // [gen.verify] What a minor collection relies on, checked before it starts.
  if (kind == CollectionKind::kMinor) {
    if (kDebugChecks || stress_.verify || options_.verify_after_collection) {
      timer.Start(Phase::kVerify);
      VerifyRememberedSet(cycle_.stats.number);
    }
    if (stress_.verify) {
      collector_->ForEachObject([&](ObjectHeader* header, size_t) {
        if (!collector_->IsYoung(header->payload())) cycle_.old_objects.push_back(header->payload());
      });
    }
  }

  timer.Start(Phase::kPrepare);
  cycle_.fallbacks_before = collector_->side_table_fallbacks();
  collector_->weak().Reset(collector_->moves_objects());
  collector_->Prepare(kind);

  timer.Start(Phase::kMark);
  VisitRoots(collector_->marking_visitor());
}

void HeapImpl::FinishCycle(PhaseTimer& timer, PauseKind pause_kind) {
  CycleStatistics& cycle = cycle_.stats;
  const CollectionKind kind = cycle.kind;
  const CollectionReason reason = cycle.reason;
  // What hooks mark from here on is a root of this cycle that no root slot shows; the
  // independent verifier needs to know it.
  HookMarkRecorder recorder(collector_->marking_visitor());
  CycleContext context(*collector_, stress_.verify ? &recorder : nullptr);
  timer.Start(Phase::kWeak);
  RunWeakFixpoint(context);

  timer.Start(Phase::kFinalize);
  for (CollectionHook* hook : hooks_) hook->ProcessFinalization(context);
  collector_->Drain();
  RunWeakFixpoint(context);  // what finalization kept alive may be ephemeron keys

  timer.Start(Phase::kClearWeak);
  // Weak roots follow the same rule as weak fields: one place clears or updates them.
  heap_.weak_persistents_.ForEachSlot([&](void** slot) { collector_->weak().RecordWeakSlot(slot); });
  collector_->weak().ClearWeakReferences(context);
  ProcessWeakContainers(context);
  for (CollectionHook* hook : hooks_) hook->ClearWeak(context);

  SamplePeakCommitted();  // both spaces of a copying collector are in use now

  timer.Start(Phase::kSweep);
  cycle.live_bytes = collector_->marked_bytes();
  cycle.live_objects = collector_->marked_objects();
  // [incr.lazy] An incremental cycle leaves what it can to be swept after it.
  SweepResult swept = cycle.incremental ? collector_->SweepLazily() : collector_->Sweep();
  cycle.freed_bytes = swept.freed_bytes;
  cycle.freed_objects = swept.freed_objects;
  cycle.ephemerons_resolved = collector_->weak().ephemerons_resolved();
  cycle.ephemeron_passes = collector_->weak().ephemeron_passes();
  cycle.fragmented_bytes = collector_->fragmented_bytes();

  const size_t live_before = stats_.live_bytes;
  stats_.collections = cycle.number;
  // [incr.gen] What a minor collection promoted: the estimate of what the next one
  // will. After a major one, none yet.
  last_promotion_ = 0;
  if (kind == CollectionKind::kMinor) {
    ++stats_.minor_collections;
    if (cycle.live_bytes > live_before) last_promotion_ = cycle.live_bytes - live_before;
  }
  stats_.bytes_freed += swept.freed_bytes;
  stats_.live_bytes = cycle.live_bytes;
  stats_.live_objects = cycle.live_objects;
  stats_.fragmented_bytes = cycle.fragmented_bytes;

  if (reason == CollectionReason::kExternalMemory) ++stats_.external_memory_collections;
  if (reason == CollectionReason::kStress) ++stats_.stress_collections;

  if (kind == CollectionKind::kMajor) {
    bytes_at_last_major_ = heap_.alloc_.bytes_allocated;
    live_after_last_major_ = cycle.live_bytes;
  }
  PolicyInput input;
  input.kind = kind;
  input.live_bytes = cycle.live_bytes;
  input.live_bytes_after_last_major_collection = live_after_last_major_;
  if (cycle.incremental) {
    // [incr.float] What was allocated while marking is kept unjudged: not live data.
    input.live_bytes -= std::min(input.live_bytes, cycle.allocated_while_marking);
    input.live_bytes_after_last_major_collection = input.live_bytes;
  }
  input.bytes_allocated_since_last_major_collection = heap_.alloc_.bytes_allocated - bytes_at_last_major_;
  input.heap_limit = options_.heap_limit;
  input.external_bytes = external_bytes_;  // what the sweep's destructors left
  input.bytes_allocated_since_last_collection = cycle_.allocated_since;
  input.collections = cycle.number;
  input.last_pause = cycle.phases.Total();
  // The program's time: since the last collection ended, less the pauses since (this
  // pause's so far included).
  {
    const absl::Duration wall = absl::FromChrono(std::chrono::steady_clock::now() - last_collection_end_);
    const absl::Duration paused = (stats_.total_pause - pause_at_last_collection_end_) +
                                  (cycle.phases.Total() - phases_before_pause_);
    input.mutator_time_since_last_collection = std::max(absl::ZeroDuration(), wall - paused);
  }
  size_t budget = options_.policy->NextBudget(input);
  if (cycle.incremental) {
    // [incr.lazy] Returning memory to the OS (a system call per page) waits for the
    // sweep steps, which do it a few pages at a time.
    release_keep_ = budget;
    release_pending_ = true;
  } else {
    collector_->ReleaseMemory(budget);
    release_pending_ = false;
  }
  SetBudget(budget);
  external_trigger_ = external_bytes_ + options_.policy->ExternalBudget(input);

  if (options_.verify_after_collection) {
    timer.Start(Phase::kVerify);
    size_t checked = Verify();
    GCLAB_CHECK(checked == cycle.live_objects,
                "heap verifier: found %zu objects after collection %llu, marking found %zu",
                checked, static_cast<unsigned long long>(cycle.number), cycle.live_objects);
  }
  if (stress_.verify) {
    timer.Start(Phase::kVerify);
    size_t reached = VerifyIndependently(
        cycle.number, recorder.marked(),
        collector_->side_table_fallbacks() != cycle_.fallbacks_before, cycle_.old_objects,
        cycle.incremental);
    GCLAB_CHECK(reached == cycle.live_objects,
                "independent verifier: reached %zu objects after collection %llu, the "
                "collector counted %zu live",
                reached, static_cast<unsigned long long>(cycle.number), cycle.live_objects);
  }
  timer.Stop();

  EndPause(pause_kind);
  last_collection_end_ = std::chrono::steady_clock::now();  // also the end heard below
  pause_at_last_collection_end_ = stats_.total_pause;
  for (int p = 0; p < kNumPhases; ++p) stats_.total_phases.time[p] += cycle.phases.time[p];
  stats_.last_cycle = cycle;
  if (!listeners_.empty()) {
    GcCycleEnd end;
    end.heap = &heap_;
    end.time = last_collection_end_;
    end.bytes_before = live_before + cycle_.allocated_since;
    end.bytes_after = cycle.live_bytes;
    end.next_limit = old_limit_;
    end.external_bytes = external_bytes_;
    end.stats = &stats_.last_cycle;
    Notify([&](GcEventListener& l) { l.OnCycleEnd(end); });
  }
  in_collection_ = false;

  // AfterCollection may run user code (finalization callbacks) that adds or removes
  // hooks, or collects again: iterate over a copy, on the stack unless there are many.
  absl::InlinedVector<CollectionHook*, 16, SideTableAllocator<CollectionHook*>> hooks;
  try {
    hooks.assign(hooks_.begin(), hooks_.end());
  } catch (const std::bad_alloc&) {
    SideTableExhausted("the list of collection hooks to run", hooks_.size() * sizeof(void*));
  }
  for (CollectionHook* hook : hooks) {
    if (std::find(hooks_.begin(), hooks_.end(), hook) != hooks_.end()) hook->AfterCollection();
  }
}

void HeapImpl::SetBarriersForMarking(bool on) {
  // [incr.barrier] The hooks' fast paths count this heap while it marks (unless its
  // registration already asks for the hooks all the time).
  const CollectorCapabilities& capabilities = collector_->info().capabilities;
  const int delta = on ? 1 : -1;
  if (!capabilities.write_barrier) write_barrier_heaps.fetch_add(static_cast<uint32_t>(delta));
  if (!capabilities.load_barrier) load_barrier_heaps.fetch_add(static_cast<uint32_t>(delta));
}

absl::Status HeapImpl::StartIncremental(CollectionReason reason) {
  if (!incremental_) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "gclab: the %s collector does not mark incrementally (CollectorCapabilities::"
        "incremental)", collector_->name()));
  }
  if (marking_) {
    return absl::FailedPreconditionError("gclab: an incremental collection is in progress");
  }
  if (in_collection_ || heap_.constructing_ != 0) {
    return absl::FailedPreconditionError(
        "gclab: a collection may not start here (during a collection or in a heap "
        "object's constructor)");
  }
  in_collection_ = true;
  BeginPause();
  PhaseTimer timer(cycle_.stats.phases, *this);
  // [incr.start] The start pause marks what the roots hold and nothing more: the
  // marking of everything else is the steps'.
  BeginCycle(reason, CollectionKind::kMajor, /*incremental=*/true, timer);
  cycle_.marking_began_at = heap_.alloc_.bytes_allocated;
  release_pending_ = false;  // the memory this cycle does not need, it returns
  collector_->BeginIncrementalMarking();
  SetBarriersForMarking(true);
  marking_ = true;
  timer.Stop();
  in_collection_ = false;
  ++stats_.incremental_cycles;
  EndPause(PauseKind::kStart);

  // [incr.pace] The marking's expected work (what the last cycle kept) must be done
  // before the budget's end, with half again to spare: each allocated byte pays for
  // its share of it, and at least the collector's marking_rate() bytes. [incr.gen] On
  // a generational collector the young objects are part of the work too: what was
  // allocated since the last (minor) collection may all be reachable.
  const uint64_t now = heap_.alloc_.bytes_allocated;
  const size_t young = collector_->nursery_bytes() != 0 ? allocated_since_collection() : 0;
  const double work = static_cast<double>(std::max(stats_.live_bytes + young, kMinMarkingWork));
  const double room = budget_end_ > now ? static_cast<double>(budget_end_ - now) : 1.0;
  marking_rate_ = std::max(collector_->marking_rate(), 1.5 * work / room);
  marking_done_ = false;
  marking_debt_ = 0;
  budget_extended_ = false;
  allocated_at_last_step_ = now;
  next_step_at_ = now + kStepInterval;
  UpdateTrigger();
  return absl::OkStatus();
}

void HeapImpl::IncrementalWork(size_t request) {
  const uint64_t now = heap_.alloc_.bytes_allocated;
  if (!marking_) {
    if (AfterCycleWorkPending() && now >= next_step_at_) {
      // [incr.lazy] A sweep step: pages of kSweepRate bytes per byte allocated since
      // the last step, clamped, so that the sweep is done long before marking starts
      // again.
      const uint64_t since = now - (next_step_at_ - kStepInterval);
      LazySweepStep(std::clamp<size_t>(static_cast<size_t>(since) * kSweepRate, kMinSweepWork,
                                       kMaxSweepWork));
    } else if (!marks_cleared_ && now >= clear_start_at_ && now >= next_step_at_) {
      ClearMarksStep();  // [incr.gen]
    }
    // An allocation that would take the heap past the start of marking starts it
    // first, even one that reaches past the budget's end: that cycle gets the
    // extension below, not a collection in one pause.
    if (now + request >= mark_start_at_) {
      (void)StartIncremental(CollectionReason::kAllocationBudget);
    } else {
      UpdateTrigger();  // allocation may have finished the sweep: the trigger moves on
    }
    return;
  }
  if (stress_.collects()) {
    // [stress.incr] A step at every allocation, until the marking is done.
    if (!marking_done_) IncrementalStep(kStressStepWork, /*finish_when_done=*/false);
    return;
  }
  if (now < next_step_at_) return;
  if (marking_done_ && !collector_->HasMarkingWork()) {
    // Nothing grey since the marking was done: no step, no pause.
    allocated_at_last_step_ = now;
    next_step_at_ = now + kStepInterval;
    UpdateTrigger();
    return;
  }
  const double owed = marking_rate_ * static_cast<double>(now - allocated_at_last_step_) +
                      static_cast<double>(marking_debt_);
  const size_t work = std::clamp(static_cast<size_t>(owed), kMinStepWork, kMaxStepWork);
  marking_debt_ = owed > static_cast<double>(work) ? static_cast<size_t>(owed) - work : 0;
  IncrementalStep(work, /*finish_when_done=*/false);
  if (marking_ && marking_debt_ != 0 && !marking_done_) {
    next_step_at_ = heap_.alloc_.bytes_allocated;  // the next slow-path allocation
    UpdateTrigger();
  }
}

void HeapImpl::IncrementalStep(size_t budget, bool finish_when_done) {
  in_collection_ = true;
  BeginPause();
  bool done;
  {
    PhaseTimer timer(cycle_.stats.phases, *this);
    timer.Start(Phase::kMark);
    done = collector_->MarkStep(budget);
    timer.Stop();
  }
  ++cycle_.stats.steps;
  ++stats_.incremental_steps;
  allocated_at_last_step_ = heap_.alloc_.bytes_allocated;
  next_step_at_ = allocated_at_last_step_ + kStepInterval;
  if (done) {
    marking_done_ = true;
    if (finish_when_done) {
      // The final pause follows at once: for the program it is the same pause.
      FinalPause(/*overrun=*/false, /*pause_open=*/true);
      return;
    }
    // [incr.pace] Paced by allocation, the cycle ends where the budget does, as a
    // collection in one pause would: a collection per budget, whatever the collector.
    // Until then the barrier greys what the program stores (objects allocated before
    // the cycle, stored into new ones), and the steps go on tracing it.
  }
  in_collection_ = false;
  EndPause(PauseKind::kStep);
  UpdateTrigger();
}

void HeapImpl::FinalPause(bool overrun, bool pause_open) {
  GCLAB_CHECK(heap_.constructing_ == 0,
              "a collection was started from a heap object's constructor");
  in_collection_ = true;
  if (!pause_open) BeginPause();
  PhaseTimer timer(cycle_.stats.phases, *this);
  // [incr.final] Root slots have no barrier: they are visited again, and what they
  // reach now is marked with the rest.
  timer.Start(Phase::kMark);
  VisitRoots(collector_->marking_visitor());
  collector_->Drain();
  collector_->EndIncrementalMarking();
  SetBarriersForMarking(false);
  marking_ = false;
  cycle_.stats.allocated_while_marking =
      static_cast<size_t>(heap_.alloc_.bytes_allocated - cycle_.marking_began_at);
  if (overrun) {
    cycle_.stats.marking_overrun = true;
    ++stats_.marking_overruns;
  }
  FinishCycle(timer, PauseKind::kFinal);
}

bool HeapImpl::Step(absl::Duration budget) {
  GCLAB_CHECK(!in_collection_, "Heap::Step during a collection");
  if (heap_.constructing_ != 0) return marking_ || AfterCycleWorkPending();
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(budget);
  if (!marking_) {
    // [incr.lazy] Idle time sweeps what the last cycle left, a page at a time.
    if (!AfterCycleWorkPending()) return false;
    do {
      LazySweepStep(1);
    } while (AfterCycleWorkPending() && std::chrono::steady_clock::now() < deadline);
    return AfterCycleWorkPending();
  }
  // Steps of kMinStepWork bytes until the time is spent or the marking done; the
  // final pause may then go past the deadline.
  do {
    IncrementalStep(kMinStepWork, /*finish_when_done=*/true);
  } while (marking_ && std::chrono::steady_clock::now() < deadline);
  return marking_ || AfterCycleWorkPending();
}

void HeapImpl::LazySweepStep(size_t budget) {
  in_collection_ = true;
  const auto start = std::chrono::steady_clock::now();
  if (collector_->sweep_pending()) {
    collector_->SweepStep(budget);
  } else if (release_pending_) {
    release_pending_ = !collector_->ReleaseMemoryStep(release_keep_, budget);
  }
  EndSweepPause(start);
  in_collection_ = false;
  next_step_at_ = heap_.alloc_.bytes_allocated + kStepInterval;
  UpdateTrigger();
}

void HeapImpl::ClearMarksStep() {
  // [incr.gen] Logged as a sweep pause of the major cycle to come: it undoes what the
  // sweeps left, the marks that say "old". Its time is that cycle's preparation, which
  // has not begun: it counts in the heap's totals only.
  in_collection_ = true;
  const auto start = std::chrono::steady_clock::now();
  marks_cleared_ = collector_->ClearMarksStep(kClearWork);
  const absl::Duration pause = absl::FromChrono(std::chrono::steady_clock::now() - start);
  stats_.total_phases[Phase::kPrepare] += pause;
  RecordPause(start, pause, PauseKind::kSweep, {}, CollectionKind::kMajor);
  in_collection_ = false;
  next_step_at_ = heap_.alloc_.bytes_allocated + kStepInterval;
  UpdateTrigger();
}

void HeapImpl::EndSweepPause(std::chrono::steady_clock::time_point start) {
  // A pause after its cycle ended: its time is the cycle's sweep time too, so that a
  // cycle's pause is still the sum of its phases.
  const absl::Duration pause = absl::FromChrono(std::chrono::steady_clock::now() - start);
  cycle_.stats.phases[Phase::kSweep] += pause;
  stats_.last_cycle.phases[Phase::kSweep] += pause;
  stats_.total_phases[Phase::kSweep] += pause;
  RecordPause(start, pause, PauseKind::kSweep, {&cycle_.stats, &stats_.last_cycle});
}

void HeapImpl::AbandonIncremental() {
  collector_->weak().Abandon();
  collector_->AbandonIncrementalMarking();
  SetBarriersForMarking(false);
  marking_ = false;
  ++stats_.abandoned_incremental_cycles;
  UpdateTrigger();
}

const HeapStatistics& HeapImpl::UpdatedStats() {
  heap_.alloc_.FlushBump();
  stats_.bytes_allocated = heap_.alloc_.bytes_allocated;
  stats_.committed_bytes = collector_->committed_bytes();
  stats_.external_bytes = external_bytes_;
  stats_.side_table_fallbacks = collector_->side_table_fallbacks();
  SamplePeakCommitted();
  return stats_;
}

void HeapImpl::AddHook(CollectionHook* hook) {
  GCLAB_CHECK(!in_collection_, "a collection hook was added during a collection");
  GCLAB_CHECK(std::find(hooks_.begin(), hooks_.end(), hook) == hooks_.end(),
              "a collection hook was added twice");
  if (!TryPushBack(hooks_, hook)) {
    SideTableExhausted("a collection hook's registration", sizeof(hook));
  }
}

void HeapImpl::AddListener(GcEventListener* listener) {
  GCLAB_CHECK(!in_collection_, "an event listener was added during a collection");
  GCLAB_CHECK(listener != nullptr, "AddEventListener(null)");
  GCLAB_CHECK(std::find(listeners_.begin(), listeners_.end(), listener) == listeners_.end(),
              "an event listener was added twice");
  if (!TryPushBack(listeners_, listener)) {
    SideTableExhausted("an event listener's registration", sizeof(listener));
  }
}

void HeapImpl::RemoveListener(GcEventListener* listener) {
  GCLAB_CHECK(!in_collection_, "an event listener was removed during a collection");
  auto it = std::find(listeners_.begin(), listeners_.end(), listener);
  GCLAB_CHECK(it != listeners_.end(), "RemoveEventListener of a listener not added");
  listeners_.erase(it);
}

void HeapImpl::NotePhase(Phase phase, std::chrono::steady_clock::time_point start,
                         std::chrono::steady_clock::time_point end) {
  if (listeners_.empty()) return;
  GcPhase event;
  event.heap = &heap_;
  event.number = cycle_.stats.number;
  event.phase = phase;
  event.start = start;
  event.duration = absl::FromChrono(end - start);
  Notify([&](GcEventListener& l) { l.OnPhase(event); });
}

void HeapImpl::AddWeakContainer(void* object, WeakCallback callback) {
  GCLAB_CHECK(!in_collection_, "a weak container was registered during a collection");
  if (!TryPushBack(weak_containers_, {object, callback})) {
    SideTableExhausted("a weak container's registration", sizeof(WeakContainer));
  }
}

void HeapImpl::ProcessWeakContainers(CycleContext& context) {
  // In place, dropping the dead: needs no memory ([fault]).
  size_t kept = 0;
  for (size_t i = 0; i < weak_containers_.size(); ++i) {
    WeakContainer c = weak_containers_[i];
    c.object = collector_->SurvivorAddress(c.object);
    if (c.object == nullptr) continue;
    c.callback(context, c.object);
    weak_containers_[kept++] = c;
  }
  weak_containers_.resize(kept);
}

HeapAttachment* HeapImpl::attachment(const void* key) const {
  for (const auto& [k, value] : attachments_) {
    if (k == key) return value.get();
  }
  return nullptr;
}

void HeapImpl::set_attachment(const void* key, std::unique_ptr<HeapAttachment> value) {
  GCLAB_CHECK(attachment(key) == nullptr, "a heap attachment was set twice under one key");
  GCLAB_CHECK(value != nullptr, "a heap attachment must not be null");
  if (!TryGrow(attachments_, 4)) {
    SideTableExhausted("a heap attachment's registration", sizeof(attachments_[0]));
  }
  attachments_.emplace_back(key, std::move(value));
}

void HeapImpl::DestroyAttachments() {
  // Last set, first destroyed; one attachment's destructor may still use an earlier one.
  while (!attachments_.empty()) {
    std::unique_ptr<HeapAttachment> last = std::move(attachments_.back().second);
    attachments_.pop_back();
    last.reset();
  }
}

void HeapImpl::RemoveHook(CollectionHook* hook) {
  GCLAB_CHECK(!in_collection_, "a collection hook was removed during a collection");
  auto it = std::find(hooks_.begin(), hooks_.end(), hook);
  GCLAB_CHECK(it != hooks_.end(), "removing a collection hook that was not added");
  hooks_.erase(it);
}

namespace {

class VerifyingVisitor final : public Visitor {
 public:
  explicit VerifyingVisitor(const Collector& collector) : collector_(collector) {}
  void set_holder(const ObjectHeader* holder) { holder_ = holder; }
  void VisitSlot(void** slot) override {
    void* target = *slot;
    if (!collector_.Contains(target)) {
      Fatal(__FILE__, __LINE__,
            "heap verifier: %s at %p (slot %p) references %p, which is not a live object "
            "of this heap",
            holder_ != nullptr ? std::string(holder_->type()->name).c_str() : "a root",
            holder_ != nullptr ? holder_->payload() : nullptr, static_cast<void*>(slot),
            target);
    }
    const ObjectHeader* header = ObjectHeader::FromPayload(target);
    GCLAB_CHECK(!header->is_forwarded() && header->type() != nullptr,
                "heap verifier: object %p has a corrupt header", target);
  }

 private:
  const Collector& collector_;
  const ObjectHeader* holder_ = nullptr;
};

}  // namespace

namespace {

// [gen.verify] Visits the fields of one old object that is not in the remembered set.
class RememberedSetVerifier final : public Visitor {
 public:
  RememberedSetVerifier(const Collector& collector, uint64_t cycle)
      : collector_(collector), cycle_(cycle) {}
  void set_holder(const ObjectHeader* holder) { holder_ = holder; }
  void VisitSlot(void** slot) override { Check(slot, nullptr); }
  void VisitNamedSlot(void** slot, const char* field) override { Check(slot, field); }
  void VisitWeakSlot(void** slot) override { Check(slot, "(a weak reference)"); }
  void VisitEphemeron(void** key_slot, void** value_slot) override {
    Check(key_slot, "(an ephemeron key)");
    Check(value_slot, "(an ephemeron value)");
  }

 private:
  void Check(void** slot, const char* field) const {
    void* target = *slot;
    if (target == nullptr || !collector_.IsYoung(target)) return;
    Fatal(__FILE__, __LINE__,
          "remembered-set verifier, before minor collection %llu: the old object %s@%p "
          "holds a reference to the young object %s@%p in %s%s (slot %p), but the "
          "write barrier did not remember it: a minor collection would free or move the "
          "young object under it. Was the store made through a Member (gc/DESIGN.md "
          "[barrier])?",
          static_cast<unsigned long long>(cycle_), std::string(holder_->type()->name).c_str(),
          holder_->payload(), std::string(ObjectHeader::FromPayload(target)->type()->name).c_str(),
          target, field != nullptr ? "field " : "an unnamed field",
          field != nullptr ? field : "", static_cast<void*>(slot));
  }

  const Collector& collector_;
  uint64_t cycle_;
  const ObjectHeader* holder_ = nullptr;
};

}  // namespace

void HeapImpl::VerifyRememberedSet(uint64_t cycle) {
  RememberedSetVerifier visitor(*collector_, cycle);
  collector_->ForEachObject([&](ObjectHeader* header, size_t) {
    if (collector_->IsYoung(header->payload()) || collector_->IsRemembered(header->payload())) {
      return;
    }
    visitor.set_holder(header);
    header->type()->trace(header->payload(), visitor);
  });
}

size_t HeapImpl::Verify() {
  VerifyingVisitor visitor(*collector_);
  heap_.handles_.ForEachSlot([&](void** slot) {
    if (*slot != nullptr) visitor.VisitSlot(slot);
  });
  heap_.persistents_.ForEachSlot([&](void** slot) { visitor.VisitSlot(slot); });
  size_t objects = 0;
  collector_->ForEachObject([&](ObjectHeader* header, size_t cell_size) {
    GCLAB_CHECK(!header->is_forwarded() && header->type() != nullptr,
                "heap verifier: object at %p has a corrupt header", header->payload());
    GCLAB_CHECK(cell_size >= CellSizeOf(header) && cell_size % kAllocationGranule == 0,
                "heap verifier: %s at %p has a cell of %zu bytes, its type needs %zu",
                std::string(header->type()->name).c_str(), header->payload(), cell_size,
                CellSizeOf(header));
    visitor.set_holder(header);
    header->type()->trace(header->payload(), visitor);
    ++objects;
  });
  return objects;
}

size_t HeapImpl::VerifyIndependently(uint64_t cycle, std::vector<void*>& hook_marked,
                                     bool weak_may_be_strong, std::vector<void*>& old_objects,
                                     bool floating_garbage) {
  IndependentVerifier verifier(*collector_, cycle);
  verifier.set_weak_may_be_strong(weak_may_be_strong);
  verifier.set_floating_garbage(floating_garbage);
  // A minor collection keeps every old object; they never move in one.
  Visitor& old = verifier.Roots("old object (a minor collection keeps every one)");
  for (void*& object : old_objects) old.VisitSlot(&object);
  // Objects a hook marked during the cycle (a finalization hook keeping held state it
  // does not otherwise trace): the collector kept them for that reason. They were
  // recorded at their address after marking, which is where they are now.
  Visitor& marked = verifier.Roots("marked by a collection hook during the cycle");
  for (void*& object : hook_marked) marked.VisitSlot(&object);
  // Roots in the order retaining paths use: named persistents first.
  heap_.persistents_.ForEachNamedSlot([&](void** slot, const char* name) {
    verifier.Roots(name != nullptr ? absl::StrFormat("Persistent \"%s\"", name) : "Persistent")
        .VisitSlot(slot);
  });
  Visitor& locals = verifier.Roots("Local");
  heap_.handles_.ForEachSlot([&](void** slot) {
    if (*slot != nullptr) locals.VisitSlot(slot);
  });
  Visitor& kept = verifier.Roots("kept object (KeepDuringJob)");
  for (void*& object : kept_) kept.VisitSlot(&object);
  for (CollectionHook* hook : hooks_) hook->TraceRoots(verifier.Roots(std::string(hook->name())));
  heap_.weak_persistents_.ForEachNamedSlot([&](void** slot, const char* name) {
    verifier.WeakRoot(slot, name != nullptr ? absl::StrFormat("WeakPersistent \"%s\"", name)
                                            : "WeakPersistent");
  });
  return verifier.Run();
}

}  // namespace internal

bool CycleContext::IsAlive(const void* payload) const { return collector_.IsAlive(payload); }

void* CycleContext::CurrentAddressUntyped(void* payload) const {
  return collector_.CurrentAddress(payload);
}

void CycleContext::MarkSlot(void** slot) {
  if (*slot != nullptr) marking_visitor().VisitSlot(slot);
}

Visitor& CycleContext::marking_visitor() {
  return hook_marker_ != nullptr ? *hook_marker_ : collector_.marking_visitor();
}

bool CycleContext::moves_objects() const { return collector_.moves_objects(); }

absl::StatusOr<std::unique_ptr<Heap>> Heap::Create(HeapOptions options) {
  // The heap's own state (the Heap, its HeapImpl, the collector object, the default
  // policy) comes from malloc: one counted request for all of it ([fault]), and a
  // refusal of any of it is a status.
  const absl::Status exhausted = absl::ResourceExhaustedError(
      "gclab: cannot allocate the heap's own state (malloc refused it)");
  if (!internal::AllowMemoryRequest("heap state")) return exhausted;
  try {
    std::unique_ptr<Heap> heap(new Heap());
    heap->impl_ = std::make_unique<internal::HeapImpl>(*heap, std::move(options));
    if (absl::Status s = heap->impl_->Init(); !s.ok()) {
      heap->impl_.reset();
      return s;
    }
    heap->id_ = internal::next_heap_id.fetch_add(1);
    absl::MutexLock lock(&internal::live_heaps_mutex);
    if (internal::live_heaps == nullptr) {
      internal::live_heaps = new internal::PointerMap<uint64_t, bool>();
    }
    if (!internal::live_heaps->TryInsert(heap->id_, true)) {
      heap->id_ = 0;  // not registered: ~Heap must not look for it
      return exhausted;
    }
    return heap;
  } catch (const std::bad_alloc&) {
    return exhausted;
  }
}

Heap::~Heap() {
  GCLAB_CHECK(impl_ == nullptr || !impl_->in_collection(),
              "a Heap was destroyed during its own collection");
  // An incremental cycle in progress is dropped before anything reads an object.
  if (impl_ != nullptr) impl_->AbandonIncrementalIfAny();
  {
    absl::MutexLock lock(&internal::live_heaps_mutex);
    if (internal::live_heaps != nullptr && id_ != 0) internal::live_heaps->erase(id_);
  }
  if (impl_ != nullptr) impl_->DestroyAttachments();
  persistents_.OrphanAll();
  // Destroy every remaining object that has a destructor.
  if (impl_ != nullptr) {
    impl_->collector().ForEachObject([](internal::ObjectHeader* header, size_t) {
      const internal::TypeInfo* type = header->type();
      if (type->finalize != nullptr) type->finalize(header->payload());
    });
  }
}

void** Heap::PushHandleSlow(void* object) {
  if (!handles_.NextBlock()) {
    SideTableExhausted("a block of Local handles",
                       internal::HandleArea::kBlockSlots * sizeof(void*));
  }
  return handles_.Push(object);
}

void Heap::SideTableExhausted(const char* what, size_t bytes) {
  impl_->SideTableExhausted(what, bytes);
}

internal::ObjectHeader* Heap::AllocateSlow(size_t cell_size, bool abort_on_oom) {
  return impl_->AllocateSlow(cell_size, abort_on_oom);
}

bool Heap::IsOldAddress(const void* object) const {
  return impl_->collector().IsOldAddress(object);
}

void Heap::StaleObject(const void* object, const char* what) const {
  internal::Fatal(__FILE__, __LINE__,
                  "%s called through a stale pointer %p: the object moved in an allocation "
                  "made after the pointer was read (allocate the arguments into Locals first)",
                  what, object);
}

void Heap::RegisterFinalizable(void* payload) { impl_->collector().RegisterFinalizable(payload); }

absl::Status Heap::OutOfMemory(size_t cell_size) { return impl_->OutOfMemoryStatus(cell_size); }

void Heap::CollectGarbage(CollectionReason reason) {
  impl_->Collect(reason, CollectionKind::kMajor);
}

void Heap::CollectGarbage(CollectionKind kind, CollectionReason reason) {
  impl_->Collect(reason, kind);
}

void Heap::AddEventListener(GcEventListener* listener) { impl_->AddListener(listener); }

void Heap::RemoveEventListener(GcEventListener* listener) { impl_->RemoveListener(listener); }

absl::Status Heap::StartIncrementalCollection() {
  return impl_->StartIncremental(CollectionReason::kExplicit);
}

bool Heap::Step(absl::Duration budget) { return impl_->Step(budget); }

void Heap::FinishIncrementalCollection() { impl_->FinishIncremental(); }

bool Heap::IncrementalCollectionInProgress() const { return impl_->marking(); }

bool Heap::InYoungGeneration(const void* object) const {
  return impl_->collector().IsYoung(object);
}

size_t Heap::AdjustExternalMemory(int64_t delta_bytes) {
  return impl_->AdjustExternal(delta_bytes);
}

size_t Heap::external_memory() const { return impl_->external_bytes(); }

const HeapStatistics& Heap::stats() { return impl_->UpdatedStats(); }

absl::Span<const Pause> Heap::pauses() const { return impl_->pauses(); }

CollectorKind Heap::collector_kind() const { return impl_->options().collector; }

std::string_view Heap::collector_name() const { return impl_->collector().name(); }

bool Heap::moves_objects() const { return impl_->collector().moves_objects(); }

bool Heap::CanCollectNow() const { return !impl_->in_collection() && constructing_ == 0; }

Heap* Heap::Of(const void* address) {
  internal::Collector* collector = internal::ChunkTable::Owner(address);
  return collector != nullptr ? collector->heap() : nullptr;
}

const CollectorCapabilities& Heap::capabilities() const {
  return impl_->collector().info().capabilities;
}

const HeapOptions& Heap::options() const { return impl_->options(); }

bool Heap::Contains(const void* payload) const {
  return payload != nullptr && impl_->collector().Contains(payload);
}

void Heap::set_out_of_memory_handler(OutOfMemoryHandler handler) {
  impl_->set_out_of_memory_handler(std::move(handler));
}

void Heap::AddCollectionHook(CollectionHook* hook) { impl_->AddHook(hook); }

void Heap::RegisterWeakContainer(const void* object, WeakCallback callback) {
  impl_->AddWeakContainer(const_cast<void*>(object), callback);
}

void Heap::KeepDuringJob(void* object) {
  if (object != nullptr) impl_->Keep(object);
}

void Heap::ClearKeptObjects() { impl_->ClearKept(); }

HeapAttachment* Heap::attachment(const void* key) const { return impl_->attachment(key); }

void Heap::set_attachment(const void* key, std::unique_ptr<HeapAttachment> value) {
  impl_->set_attachment(key, std::move(value));
}

size_t Heap::kept_object_count() const { return impl_->kept_count(); }

void Heap::RemoveCollectionHook(CollectionHook* hook) { impl_->RemoveHook(hook); }

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kPrepare: return "prepare";
    case Phase::kMark: return "mark";
    case Phase::kWeak: return "weak";
    case Phase::kFinalize: return "finalize";
    case Phase::kClearWeak: return "clear-weak";
    case Phase::kSweep: return "sweep";
    case Phase::kVerify: return "verify";
  }
  return "unknown";
}

std::string_view CollectionKindName(CollectionKind kind) {
  return kind == CollectionKind::kMinor ? "minor" : "major";
}

std::string_view CollectionReasonName(CollectionReason reason) {
  switch (reason) {
    case CollectionReason::kExplicit: return "explicit";
    case CollectionReason::kAllocationBudget: return "allocation-budget";
    case CollectionReason::kHeapLimit: return "heap-limit";
    case CollectionReason::kExternalMemory: return "external-memory";
    case CollectionReason::kAddressSpace: return "address-space";
    case CollectionReason::kStress: return "stress";
    case CollectionReason::kHeapSnapshot: return "heap-snapshot";
  }
  return "unknown";
}

}  // namespace gclab
