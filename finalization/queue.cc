#include "finalization/queue.h"

#include <exception>
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
  auto queue = std::unique_ptr<FinalizationQueue>(new FinalizationQueue(heap));
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
  uint32_t id = next_registry_id_++;
  cached_id_ = 0;  // the map may rehash
  registries_.emplace(id, Registry{registry, ops});
  return id;
}

const FinalizationQueue::Registry* FinalizationQueue::FindRegistry(uint32_t id) {
  if (id != cached_id_) {
    auto it = registries_.find(id);
    if (it == registries_.end()) return nullptr;
    cached_id_ = id;
    cached_ = &it->second;
  }
  return cached_;
}

void FinalizationQueue::ClearWeak(CycleContext& context) {
  // Registries' weak callbacks have run (they precede the hooks' ClearWeak): their dead
  // targets are in found_. Now forget the registries that died themselves, and follow
  // the ones that moved.
  cached_id_ = 0;
  for (auto it = registries_.begin(); it != registries_.end();) {
    if (context.IsAlive(it->second.payload)) {
      it->second.payload = context.CurrentAddress(it->second.payload);
      ++it;
    } else {
      ++stats_.registries_collected;
      registries_.erase(it++);
    }
  }
}

void FinalizationQueue::AfterCollection() {
  stats_.found_dead += found_.size();
  if (!found_.empty()) {
    scheduler_->Enqueue(found_);
    GCLAB_CHECK(found_.empty(), "the %s finalization scheduler's Enqueue left deliveries behind",
                std::string(scheduler_->name()).c_str());
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
    scheduler_->TakeTurn(turn, run_, drop_);
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
  for (std::vector<Delivery>* v : {&run_, &drop_, &found_}) {
    if (v->capacity() > (size_t{1} << 16) && v->size() < v->capacity() / 4) {
      std::vector<Delivery>().swap(*v);
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
    errors_.push_back(std::move(status));
  }
}

}  // namespace gclab
