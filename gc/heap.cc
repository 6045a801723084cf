#include "gc/heap.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "gc/internal/heap_impl.h"

namespace gclab {

namespace internal {

namespace {

// Ids of live heaps, for the debug checks of handles that outlive their heap.
absl::Mutex live_heaps_mutex(absl::kConstInit);
absl::flat_hash_set<uint64_t>* live_heaps = nullptr;
std::atomic<uint64_t> next_heap_id{1};

class PhaseTimer {
 public:
  explicit PhaseTimer(PhaseTimes& times) : times_(times) {}
  void Start(Phase phase) {
    auto now = std::chrono::steady_clock::now();
    if (running_) times_[current_] += absl::FromChrono(now - start_);
    current_ = phase;
    start_ = now;
    running_ = true;
  }
  void Stop() {
    if (running_) times_[current_] += absl::FromChrono(std::chrono::steady_clock::now() - start_);
    running_ = false;
  }

 private:
  PhaseTimes& times_;
  Phase current_ = Phase::kPrepare;
  std::chrono::steady_clock::time_point start_;
  bool running_ = false;
};

}  // namespace

bool IsHeapAlive(uint64_t heap_id) {
  absl::MutexLock lock(&live_heaps_mutex);
  return live_heaps != nullptr && live_heaps->contains(heap_id);
}

HeapImpl::HeapImpl(Heap& heap, HeapOptions options)
    : heap_(heap), options_(std::move(options)) {}

HeapImpl::~HeapImpl() = default;

absl::Status HeapImpl::Init() {
  if (options_.heap_limit < (size_t{1} << 20) || options_.heap_limit > (size_t{1} << 40)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: heap_limit must be between 1 MiB and 1 TiB, got %d bytes",
        options_.heap_limit));
  }
  if (options_.policy == nullptr) {
    options_.policy = std::make_shared<GrowthFactorPolicy>(2.0, size_t{4} << 20);
  }
  collector_ = CreateCollector(options_.collector, heap_.alloc_);
  if (collector_ == nullptr) {
    return absl::InvalidArgumentError("gclab: unknown collector kind");
  }
  if (absl::Status s = collector_->Init(options_.heap_limit); !s.ok()) return s;
  collector_->set_ephemeron_algorithm(options_.ephemeron_algorithm);
  heap_.track_finalizable_ = collector_->needs_finalizable_registry();
  heap_.moving_ = collector_->moves_objects();
  SetBudget(options_.policy->InitialBudget(options_.heap_limit));
  PolicyInput initial;
  initial.heap_limit = options_.heap_limit;
  external_trigger_ = options_.policy->ExternalBudget(initial);
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
      !in_collection_ && heap_.constructing_ == 0) {
    Collect(CollectionReason::kExternalMemory);
  }
  return external_bytes_;
}

void HeapImpl::SetBudget(size_t budget) {
  size_t room = options_.heap_limit > stats_.live_bytes ? options_.heap_limit - stats_.live_bytes : 0;
  budget = std::min(budget, room);
  bytes_at_last_collection_ = heap_.alloc_.bytes_allocated;
  heap_.alloc_.trigger = bytes_at_last_collection_ + budget;
}

uint64_t HeapImpl::BudgetRemaining() const {
  const AllocationState& a = heap_.alloc_;
  return a.trigger > a.bytes_allocated ? a.trigger - a.bytes_allocated : 0;
}

uint64_t HeapImpl::HardRemaining() const {
  uint64_t used = stats_.live_bytes + allocated_since_collection();
  return options_.heap_limit > used ? options_.heap_limit - used : 0;
}

ObjectHeader* HeapImpl::TryAllocate(size_t cell_size, uint64_t allowed) {
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
  if (!a.free_list_mode) {
    a.limit = a.top + std::min<uint64_t>(static_cast<uint64_t>(a.limit - a.top), BudgetRemaining());
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
  ObjectHeader* header = nullptr;
  if (cell_size <= UINT32_MAX) {
    header = TryAllocate(cell_size, std::min(BudgetRemaining(), HardRemaining()));
    if (header == nullptr) {
      if (heap_.constructing_ == 0) {
        Collect(BudgetRemaining() < cell_size ? CollectionReason::kAllocationBudget
                                              : CollectionReason::kHeapLimit);
        uint64_t allowed = std::min(HardRemaining(), std::max<uint64_t>(BudgetRemaining(), cell_size));
        header = TryAllocate(cell_size, allowed);
      } else {
        // Inside a heap object's constructor no collection may start (the object is
        // half-built and unrooted): go past the budget, up to the heap limit.
        header = TryAllocate(cell_size, HardRemaining());
      }
    }
  }
  if (header == nullptr) {
    absl::Status status = OutOfMemoryStatus(cell_size);
    if (abort_on_oom) {
      if (oom_handler_) oom_handler_(status);
      Fatal(__FILE__, __LINE__, "%s", std::string(status.message()).c_str());
    }
  }
  return header;
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
    progress = collector_->ProcessEphemeronsNaive();
    for (CollectionHook* hook : hooks_) progress |= hook->ProcessWeak(context);
    collector_->Drain();
  }
}

void HeapImpl::Keep(void* object) {
  GCLAB_CHECK(!in_collection_, "KeepDuringJob during a collection");
  GCLAB_DCHECK(collector_->Contains(object),
               "KeepDuringJob(%p): not a live object of this heap", object);
  kept_.push_back(object);
}

void HeapImpl::Collect(CollectionReason reason) {
  GCLAB_CHECK(!in_collection_,
              "a collection was started during a collection (from a Trace method, a "
              "destructor or a collection hook)");
  GCLAB_CHECK(heap_.constructing_ == 0,
              "a collection was started from a heap object's constructor");
  in_collection_ = true;
  heap_.alloc_.FlushBump();
  const uint64_t allocated_since = allocated_since_collection();

  CycleStatistics cycle;
  cycle.number = stats_.collections + 1;
  cycle.reason = reason;
  PhaseTimer timer(cycle.phases);

  timer.Start(Phase::kPrepare);
  collector_->ResetWeakState();
  collector_->Prepare();

  timer.Start(Phase::kMark);
  Visitor& marker = collector_->marking_visitor();
  VisitRoots(marker);
  collector_->Drain();

  CycleContext context(*collector_);
  timer.Start(Phase::kWeak);
  RunWeakFixpoint(context);

  timer.Start(Phase::kFinalize);
  for (CollectionHook* hook : hooks_) hook->ProcessFinalization(context);
  collector_->Drain();
  RunWeakFixpoint(context);  // what finalization kept alive may be ephemeron keys

  timer.Start(Phase::kClearWeak);
  // Weak roots follow the same rule as weak fields: one place clears or updates them.
  heap_.weak_persistents_.ForEachSlot([&](void** slot) { collector_->RecordWeakSlot(slot); });
  collector_->ClearWeakReferences(context);
  for (CollectionHook* hook : hooks_) hook->ClearWeak(context);

  SamplePeakCommitted();  // both spaces of a copying collector are in use now

  timer.Start(Phase::kSweep);
  cycle.live_bytes = collector_->marked_bytes();
  cycle.live_objects = collector_->marked_objects();
  SweepResult swept = collector_->Sweep();
  cycle.freed_bytes = swept.freed_bytes;
  cycle.freed_objects = swept.freed_objects;
  cycle.ephemerons_resolved = collector_->ephemerons_resolved();
  cycle.ephemeron_passes = collector_->ephemeron_passes();
  cycle.fragmented_bytes = collector_->fragmented_bytes();

  stats_.collections = cycle.number;
  stats_.bytes_freed += swept.freed_bytes;
  stats_.live_bytes = cycle.live_bytes;
  stats_.live_objects = cycle.live_objects;
  stats_.fragmented_bytes = cycle.fragmented_bytes;

  if (reason == CollectionReason::kExternalMemory) ++stats_.external_memory_collections;

  PolicyInput input;
  input.live_bytes = cycle.live_bytes;
  input.heap_limit = options_.heap_limit;
  input.external_bytes = external_bytes_;  // what the sweep's destructors left
  input.bytes_allocated_since_last_collection = allocated_since;
  input.collections = cycle.number;
  input.last_pause = cycle.phases.Total();
  size_t budget = options_.policy->NextBudget(input);
  SetBudget(budget);
  external_trigger_ = external_bytes_ + options_.policy->ExternalBudget(input);
  collector_->ReleaseMemory(budget);

  if (options_.verify_after_collection) {
    timer.Start(Phase::kVerify);
    size_t checked = Verify();
    GCLAB_CHECK(checked == cycle.live_objects,
                "heap verifier: found %zu objects after collection %llu, marking found %zu",
                checked, static_cast<unsigned long long>(cycle.number), cycle.live_objects);
  }
  timer.Stop();

  cycle.pause = cycle.phases.Total();
  stats_.total_pause += cycle.pause;
  stats_.max_pause = std::max(stats_.max_pause, cycle.pause);
  for (int p = 0; p < kNumPhases; ++p) stats_.total_phases.time[p] += cycle.phases.time[p];
  stats_.last_cycle = cycle;
  in_collection_ = false;

  // AfterCollection may run user code (finalization callbacks) that adds or removes
  // hooks, or collects again: iterate over a copy.
  std::vector<CollectionHook*> hooks = hooks_;
  for (CollectionHook* hook : hooks) {
    if (std::find(hooks_.begin(), hooks_.end(), hook) != hooks_.end()) hook->AfterCollection();
  }
}

const HeapStatistics& HeapImpl::UpdatedStats() {
  heap_.alloc_.FlushBump();
  stats_.bytes_allocated = heap_.alloc_.bytes_allocated;
  stats_.committed_bytes = collector_->committed_bytes();
  stats_.external_bytes = external_bytes_;
  SamplePeakCommitted();
  return stats_;
}

void HeapImpl::AddHook(CollectionHook* hook) {
  GCLAB_CHECK(!in_collection_, "a collection hook was added during a collection");
  GCLAB_CHECK(std::find(hooks_.begin(), hooks_.end(), hook) == hooks_.end(),
              "a collection hook was added twice");
  hooks_.push_back(hook);
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
    GCLAB_CHECK(cell_size >= header->type()->cell_size && cell_size % kAllocationGranule == 0,
                "heap verifier: %s at %p has a cell of %zu bytes, its type needs %zu",
                std::string(header->type()->name).c_str(), header->payload(), cell_size,
                header->type()->cell_size);
    visitor.set_holder(header);
    header->type()->trace(header->payload(), visitor);
    ++objects;
  });
  return objects;
}

}  // namespace internal

bool CycleContext::IsAlive(const void* payload) const { return collector_.IsAlive(payload); }

void* CycleContext::CurrentAddressUntyped(void* payload) const {
  return collector_.CurrentAddress(payload);
}

void CycleContext::MarkSlot(void** slot) {
  if (*slot != nullptr) collector_.marking_visitor().VisitSlot(slot);
}

Visitor& CycleContext::marking_visitor() { return collector_.marking_visitor(); }

bool CycleContext::moves_objects() const { return collector_.moves_objects(); }

absl::StatusOr<std::unique_ptr<Heap>> Heap::Create(HeapOptions options) {
  std::unique_ptr<Heap> heap(new Heap());
  heap->impl_ = std::make_unique<internal::HeapImpl>(*heap, std::move(options));
  if (absl::Status s = heap->impl_->Init(); !s.ok()) {
    heap->impl_.reset();
    return s;
  }
  heap->id_ = internal::next_heap_id.fetch_add(1);
  {
    absl::MutexLock lock(&internal::live_heaps_mutex);
    if (internal::live_heaps == nullptr) {
      internal::live_heaps = new absl::flat_hash_set<uint64_t>();
    }
    internal::live_heaps->insert(heap->id_);
  }
  return heap;
}

Heap::~Heap() {
  GCLAB_CHECK(impl_ == nullptr || !impl_->in_collection(),
              "a Heap was destroyed during its own collection");
  {
    absl::MutexLock lock(&internal::live_heaps_mutex);
    if (internal::live_heaps != nullptr) internal::live_heaps->erase(id_);
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

void Heap::CollectGarbage(CollectionReason reason) { impl_->Collect(reason); }

size_t Heap::AdjustExternalMemory(int64_t delta_bytes) {
  return impl_->AdjustExternal(delta_bytes);
}

size_t Heap::external_memory() const { return impl_->external_bytes(); }

const HeapStatistics& Heap::stats() { return impl_->UpdatedStats(); }

CollectorKind Heap::collector_kind() const { return impl_->options().collector; }

std::string_view Heap::collector_name() const { return impl_->collector().name(); }

bool Heap::moves_objects() const { return impl_->collector().moves_objects(); }

const HeapOptions& Heap::options() const { return impl_->options(); }

bool Heap::Contains(const void* payload) const {
  return payload != nullptr && impl_->collector().Contains(payload);
}

void Heap::set_out_of_memory_handler(OutOfMemoryHandler handler) {
  impl_->set_out_of_memory_handler(std::move(handler));
}

void Heap::AddCollectionHook(CollectionHook* hook) { impl_->AddHook(hook); }

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

std::string_view CollectionReasonName(CollectionReason reason) {
  switch (reason) {
    case CollectionReason::kExplicit: return "explicit";
    case CollectionReason::kAllocationBudget: return "allocation-budget";
    case CollectionReason::kHeapLimit: return "heap-limit";
    case CollectionReason::kExternalMemory: return "external-memory";
    case CollectionReason::kAddressSpace: return "address-space";
  }
  return "unknown";
}

}  // namespace gclab
