// gclab: FinalizationQueue, the heap's single queue of finalization deliveries.
//
// Every heap that uses finalization has one queue (created on first use by
// `FinalizationQueue::For(heap)` and owned by the heap). It follows the guardian
// model: in a collection the registries (registry.h) find which registered targets
// died and hand each such registration to this queue as a `Delivery`; the collector
// does nothing else. After the collection the queue gives the deliveries to its
// scheduler (scheduler.h), and whenever the scheduler says so, runs their callbacks
// outside the collector, each in its own HandleScope.
//
//   gclab::FinalizationQueue& queue = gclab::FinalizationQueue::For(heap);
//   absl::Status s = queue.SetScheduler(std::make_unique<gclab::HostJobScheduler>());
//   ...
//   heap.CollectGarbage();   // finds dead targets; runs nothing with host-jobs
//   queue.PumpHostJobs();    // the host's job loop: cleanup callbacks run here
//
// Guarantees:
// - Each registration is delivered at most once. A delivery whose registration was
//   unregistered after its target died, or whose registry was collected, is skipped
//   (counted as `cancelled`).
// - A callback may allocate, collect, register, unregister and dereference weak
//   references. Callbacks are never nested: a collection inside a callback enqueues
//   what it finds, and its turn runs after the current callbacks finish.
// - A callback that returns an error or throws is reported to the error handler and
//   the remaining deliveries still run.
// - When the heap is destroyed, pending deliveries are discarded without running.
//
// Statistics count every registration's fate: registered = unregistered (before or
// after the target died) + delivered + dropped + cancelled by a dead registry + still
// waiting (registered, or found dead and pending).
#ifndef GCLAB_FINALIZATION_QUEUE_H_
#define GCLAB_FINALIZATION_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <vector>

#include "absl/status/status.h"
#include "finalization/scheduler.h"
#include "gc/gc.h"
#include "gc/internal/pointer_set.h"

namespace gclab {

struct FinalizationStatistics {
  uint64_t registered = 0;      // successful Register calls
  uint64_t unregistered = 0;    // registrations removed by Unregister (alive or dead target)
  uint64_t found_dead = 0;      // registrations whose target a collection found dead
  uint64_t delivered = 0;       // callbacks run (including those that failed)
  uint64_t failed = 0;          // callbacks that returned an error or threw
  uint64_t dropped = 0;         // discarded by the scheduler; never run
  uint64_t cancelled = 0;       // skipped: unregistered after death, or registry collected
  uint64_t registries_collected = 0;
};

// What a drop observer sees (FinalizationQueue::set_drop_observer).
struct DroppedDelivery {
  Delivery delivery;
  // The held value if it is a heap object, valid during the observer call; else null.
  const void* held_object = nullptr;
};

namespace finalization_internal {

enum class RunResult { kStale, kRan };

// How the queue reaches a registry of any held-value type (registry.h fills it in).
struct RegistryOps {
  // Runs the callback for `d`, or returns kStale if the registration is gone.
  RunResult (*run)(void* registry, const Delivery& d, absl::Status* status);
  // Discards `d`; false if it was stale. `*held_object` as in DroppedDelivery.
  bool (*drop)(void* registry, const Delivery& d, const void** held_object);
  // Reports again, with NoteDead, the registrations whose death could not be noted
  // for want of memory (gc/DESIGN.md [fault]).
  void (*requeue)(void* registry);
};

}  // namespace finalization_internal

class FinalizationQueue final : public HeapAttachment, private CollectionHook {
 public:
  using ErrorHandler = std::function<void(const absl::Status&)>;

  // The heap's queue; created on first use with an AfterEachCollectionScheduler.
  static FinalizationQueue& For(Heap& heap);
  ~FinalizationQueue() override;

  // Replaces the scheduler. FailedPrecondition if the current one still holds
  // deliveries (they would be lost) or if called from a callback.
  absl::Status SetScheduler(std::unique_ptr<FinalizationScheduler> scheduler);
  FinalizationScheduler& scheduler() { return *scheduler_; }

  // The host's job loop calls this between jobs: a kHostJobs turn. Each cleanup job
  // (the run of one registry's callbacks) ends with Heap::ClearKeptObjects. Returns
  // the number of callbacks run; 0 when called from inside a callback.
  size_t PumpHostJobs();

  // Errors from callbacks (a non-OK status, or an exception, as kUnknown with its
  // what()). The default handler keeps the first 100 in errors().
  void set_error_handler(ErrorHandler handler) { error_handler_ = std::move(handler); }
  const std::vector<absl::Status>& errors() const { return errors_; }

  // Told of every dropped delivery (for tools and tests that account for each one).
  void set_drop_observer(std::function<void(const DroppedDelivery&)> observer) {
    drop_observer_ = std::move(observer);
  }

  const FinalizationStatistics& stats() const { return stats_; }
  size_t live_registries() const { return registries_.size(); }
  Heap& heap() { return heap_; }

  // --- For FinalizationRegistry (registry.h).
  // The new registry's id; calls the heap's out-of-memory handler when there is no
  // memory to list it.
  uint32_t AddRegistry(void* registry, const finalization_internal::RegistryOps* ops);
  // From a registry's weak callback: registration (slot, generation) has a dead target.
  // A registry about to report up to `n` deaths: one allocation instead of doublings.
  void ReserveDead(size_t n) {
    (void)internal::TryReserve(found_, found_.size() + n);  // without memory, NoteDead copes
  }
  // False when there was no memory to note it (inside a collection, which cannot
  // fail): the registry keeps the registration ready and reports it again after the
  // collection, from `requeue` ([fault]).
  [[nodiscard]] bool NoteDead(uint32_t registry, uint32_t slot, uint32_t generation) {
    if (!internal::TryPushBack(found_, Delivery{registry, slot, generation, next_sequence_})) {
      lost_ = true;
      return false;
    }
    ++next_sequence_;
    ++stats_.found_dead;
    return true;
  }
  FinalizationStatistics& mutable_stats() { return stats_; }

 private:
  explicit FinalizationQueue(Heap& heap);

  // CollectionHook.
  void ClearWeak(CycleContext& context) override;
  void AfterCollection() override;

  struct Registry;
  // The registry with this id, or null if it was collected. Cached: deliveries come
  // in runs of one registry.
  const Registry* FindRegistry(uint32_t id);
  size_t RunTurn(Turn turn);
  bool RunOne(const Delivery& d);
  void DropOne(const Delivery& d);
  void ReportError(absl::Status status);

  struct Registry {
    void* payload;
    const finalization_internal::RegistryOps* ops;
  };

  Heap& heap_;
  std::unique_ptr<FinalizationScheduler> scheduler_;
  internal::PointerMap<uint32_t, Registry> registries_;  // by id; ids start at 1
  uint32_t cached_id_ = 0;  // 0: nothing cached (ids start at 1)
  const Registry* cached_ = nullptr;
  uint32_t next_registry_id_ = 1;
  uint32_t next_sequence_ = 1;
  // Side-table memory. found_: found by the current collection (and any that the
  // scheduler had no memory to take yet).
  DeliveryList found_;
  DeliveryList run_, drop_;
  bool lost_ = false;  // a NoteDead failed: some registry must requeue
  bool in_turn_ = false;
  bool collection_during_turn_ = false;
  ErrorHandler error_handler_;
  std::vector<absl::Status> errors_;
  std::function<void(const DroppedDelivery&)> drop_observer_;
  FinalizationStatistics stats_;
};

}  // namespace gclab

#endif  // GCLAB_FINALIZATION_QUEUE_H_
