#include "finalization/queue.h"

#include <exception>
#include <new>
#include <string>

#include "absl/strings/str_format.h"

namespace gclab {

namespace {
// The address that names the queue among the heap's attachments.
const char kQueueKey = 0;
constexpr size_t kKeptErrors = 100;
}  // namespace

FinalizationQueue& FinalizationQueue::For(Heap& heap) {
  if (HeapAttachment* existing = heap.attachment(&kQueueKey)) {
    return *static_cast<FinalizationQueue*>(existing);
  }
  // The queue itself is side-table memory too ([fault]): refused, the heap's
  // out-of-memory handler.
  std::unique_ptr<FinalizationQueue> queue = internal::TryMakeSideObject(
      "finalization queue",
      [&] { return std::unique_ptr<FinalizationQueue>(new FinalizationQueue(heap)); });
  if (queue == nullptr) heap.SideTableExhausted("the heap's finalization queue", sizeof(FinalizationQueue));
  FinalizationQueue* raw = queue.get();
  heap.set_attachment(&kQueueKey, std::move(queue));
  return *raw;
}

FinalizationQueue::FinalizationQueue(Heap& heap)
    : heap_(heap), scheduler_(std::make_unique<AfterEachCollectionScheduler>()) {
  heap_.AddCollectionHook(this);
}

FinalizationQueue::~FinalizationQueue() { heap_.RemoveCollectionHook(this); }

absl::Status FinalizationQueue::SetScheduler(std::unique_ptr<FinalizationScheduler> scheduler) {
  if (scheduler == nullptr) {
    return absl::InvalidArgumentError("gclab: the finalization scheduler must not be null");
  }
  if (in_turn_) {
    return absl::FailedPreconditionError(
        "gclab: the finalization scheduler cannot be replaced from a cleanup callback");
  }
  if (scheduler_->pending() > 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "gclab: the %s finalization scheduler still holds %d deliveries; replacing it would "
        "lose them (pump its turns first)",
        scheduler_->name(), scheduler_->pending()));
  }
  scheduler_ = std::move(scheduler);
  return absl::OkStatus();
}

uint32_t FinalizationQueue::AddRegistry(void* registry,
                                        const finalization_internal::RegistryOps* ops) {
  GCLAB_CHECK(next_registry_id_ != 0, "more than 2^32 finalization registries in one heap");
  const uint32_t id = next_registry_id_;
  cached_id_ = 0;  // the map may rehash
  if (!registries_.TryInsert(id, Registry{registry, ops})) {
    heap_.SideTableExhausted("a finalization registry's entry in its queue", sizeof(Registry));
  }
  ++next_registry_id_;
  return id;
}

const FinalizationQueue::Registry* FinalizationQueue::FindRegistry(uint32_t id) {
  if (id != cached_id_) {
    const Registry* found = registries_.find(id);
    if (found == nullptr) return nullptr;
    cached_id_ = id;
    cached_ = found;
  }
  return cached_;
}

void FinalizationQueue::ClearWeak(CycleContext& context) {
  // Registries' weak callbacks have run (they precede the hooks' ClearWeak): their dead
  // targets are in found_. Now forget the registries that died themselves, and follow
  // the ones that moved.
  cached_id_ = 0;
  registries_.Filter([&](auto& entry) {
    Registry& r = entry.value;
    if (!context.IsAlive(r.payload)) {
      ++stats_.registries_collected;
      return false;
    }
    r.payload = context.CurrentAddress(r.payload);
    return true;
  });
}

void FinalizationQueue::AfterCollection() {
  if (lost_) {
    // Deaths a collection found but had no memory to note ([fault]): now, outside the
    // collection, the registries report them again (and keep them if memory is still
    // short, for the next collection).
    lost_ = false;
    registries_.ForEach([&](auto& entry) { entry.value.ops->requeue(entry.value.payload); });
  }
  if (!found_.empty()) {
    try {
      scheduler_->Enqueue(found_);
      GCLAB_CHECK(found_.empty(),
                  "the %s finalization scheduler's Enqueue left deliveries behind",
                  std::string(scheduler_->name()).c_str());
    } catch (const std::bad_alloc&) {
      // The scheduler had no memory to take them and changed nothing
      // (scheduler.h): they stay in found_ and are offered after the next collection.
    }
  }
  RunTurn(Turn::kAfterCollection);
}

size_t FinalizationQueue::PumpHostJobs() { return RunTurn(Turn::kHostJobs); }

size_t FinalizationQueue::RunTurn(Turn turn) {
  if (in_turn_) {
    // A callback collected: that collection's turn follows this one.
    if (turn == Turn::kAfterCollection) collection_during_turn_ = true;
    return 0;
  }
  in_turn_ = true;
  size_t ran = 0;
  for (;;) {
    collection_during_turn_ = false;
    run_.clear();
    drop_.clear();
    try {
      scheduler_->TakeTurn(turn, run_, drop_);
    } catch (const std::bad_alloc&) {
      break;  // the scheduler changed nothing (scheduler.h): they wait for the next turn
    }
    for (const Delivery& d : drop_) DropOne(d);
    // run_ is not touched by nested turns (there are none), so iterate it directly.
    uint32_t job = 0;
    for (const Delivery& d : run_) {
      if (turn == Turn::kHostJobs && job != 0 && d.registry != job) heap_.ClearKeptObjects();
      job = d.registry;
      ran += RunOne(d) ? 1 : 0;
    }
    if (turn == Turn::kHostJobs && job != 0) heap_.ClearKeptObjects();
    if (!collection_during_turn_) break;
    turn = Turn::kAfterCollection;
  }
  in_turn_ = false;
  // A burst of millions of deaths leaves large buffers behind; give them back.
  for (DeliveryList* v : {&run_, &drop_, &found_}) {
    if (v->capacity() > (size_t{1} << 16) && v->size() < v->capacity() / 4) {
      try {
        DeliveryList(v->begin(), v->end()).swap(*v);  // found_ may still hold some
      } catch (const std::bad_alloc&) {  // keeps the larger buffer
      }
    }
  }
  return ran;
}

bool FinalizationQueue::RunOne(const Delivery& d) {
  const Registry* found = FindRegistry(d.registry);
  if (found == nullptr) {
    ++stats_.cancelled;  // the registry was collected
    return false;
  }
  const Registry registry = *found;  // a collection in the callback may change the map
  absl::Status status;
  finalization_internal::RunResult result;
  {
    HandleScope scope(heap_);
    try {
      result = registry.ops->run(registry.payload, d, &status);
    } catch (const std::exception& e) {
      result = finalization_internal::RunResult::kRan;
      status = absl::UnknownError(
          absl::StrFormat("gclab: a finalization cleanup callback threw: %s", e.what()));
    } catch (...) {
      result = finalization_internal::RunResult::kRan;
      status = absl::UnknownError("gclab: a finalization cleanup callback threw");
    }
  }
  if (result == finalization_internal::RunResult::kStale) {
    ++stats_.cancelled;
    return false;
  }
  ++stats_.delivered;
  if (!status.ok()) {
    ++stats_.failed;
    ReportError(std::move(status));
  }
  return true;
}

void FinalizationQueue::DropOne(const Delivery& d) {
  const Registry* registry = FindRegistry(d.registry);
  if (registry == nullptr) {
    ++stats_.cancelled;
    return;
  }
  const void* held = nullptr;
  if (!registry->ops->drop(registry->payload, d, &held)) {
    ++stats_.cancelled;
    return;
  }
  ++stats_.dropped;
  if (drop_observer_) drop_observer_(DroppedDelivery{d, held});
}

void FinalizationQueue::ReportError(absl::Status status) {
  if (error_handler_) {
    error_handler_(status);
  } else if (errors_.size() < kKeptErrors) {
    try {
      errors_.push_back(std::move(status));
    } catch (const std::bad_alloc&) {  // a diagnostic; stats().failed still counts it
    }
  }
}

}  // namespace gclab
