// gclab: finalization schedulers, which decide when (and whether) cleanup callbacks run.
//
// The collector only finds that a registered target died and hands the registration
// to the heap's FinalizationQueue (queue.h) as a `Delivery`. When the callback runs is
// the scheduler's choice, and it is deliberately a pluggable, nondeterministic one:
// ECMA-262 promises nothing about the timing or order of FinalizationRegistry
// callbacks, nor that they run at all, and code that depends on either is wrong in a
// way an in-order scheduler never shows. Run your tests under `RandomizedScheduler`
// with several seeds to find such code; a failing seed reproduces the run.
//
//   gclab::RandomizedScheduler::Options options;
//   options.seed = 42;              // reproduces the run
//   options.drop_probability = 0.1;
//   auto scheduler = gclab::RandomizedScheduler::Create(options).value();
//   gclab::RandomizedScheduler* randomized = scheduler.get();
//   absl::Status s = gclab::FinalizationQueue::For(heap).SetScheduler(std::move(scheduler));
//   ... run the program; then say what happened:
//   std::puts(randomized->Report().c_str());
//
// Turns. The queue offers the scheduler a *turn* at the end of every collection
// (`Turn::kAfterCollection`) and whenever the host pumps its job queue
// (`FinalizationQueue::PumpHostJobs`, `Turn::kHostJobs`). On a turn the scheduler
// returns the deliveries to run now, in order, and those it discards. A scheduler
// never runs callbacks itself and never sees registries or held values: only
// `Delivery` records, so any policy is safe to write.
//
// Writing one: derive from FinalizationScheduler (or BatchingScheduler, which keeps
// the pending deliveries in a vector and leaves only TakeTurn to write). Every delivery passed to Enqueue
// must eventually be returned exactly once, in `run` or `drop`, or be kept forever
// (then its held value stays alive forever). The queue skips deliveries that became
// stale (unregistered after the target died, or their registry was collected).
//
// Memory. Delivery lists are side-table memory (gc/internal/side_table.h): counted
// for fault injection, and std::bad_alloc when there is none. Enqueue and TakeTurn
// must either complete or throw std::bad_alloc having changed nothing (reserve first,
// then move); the queue then keeps the deliveries and offers them again at the next
// turn (gc/DESIGN.md [fault]), so that no registration is lost.
#ifndef GCLAB_FINALIZATION_SCHEDULER_H_
#define GCLAB_FINALIZATION_SCHEDULER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gc/internal/side_table.h"

namespace gclab {

// One registration whose target died, waiting for its callback.
struct Delivery {
  uint32_t registry = 0;    // the registry's id in its heap (1, 2, ... in creation order)
  uint32_t slot = 0;        // internal: where the registration lives in the registry
  uint32_t generation = 0;  // internal: detects a slot reused after unregistering
  // Heap-wide order in which collections found the deaths (wraps after 2^32; only for
  // telling orders apart).
  uint32_t sequence = 0;
};

// A list of deliveries, in side-table memory.
using DeliveryList = internal::SideVector<Delivery>;

enum class Turn {
  kAfterCollection,  // a collection has just ended
  kHostJobs,         // the host pumps its job queue (FinalizationQueue::PumpHostJobs)
};

class FinalizationScheduler {
 public:
  virtual ~FinalizationScheduler() = default;
  virtual std::string_view name() const = 0;
  // Deliveries found by the collection that just ended, in the order it found them.
  // The scheduler takes them all out of `found` and leaves it empty; swapping vectors
  // (when it holds none) is the cheap way, since millions may arrive at once.
  virtual void Enqueue(DeliveryList& found) = 0;
  // Appends to `run` the deliveries to run now, in order, and to `drop` those that will
  // never run.
  virtual void TakeTurn(Turn turn, DeliveryList& run, DeliveryList& drop) = 0;
  // Deliveries enqueued and not yet returned from a turn.
  virtual size_t pending() const = 0;
};

// Base of the schedulers that hold deliveries in one vector until a turn takes them.
class BatchingScheduler : public FinalizationScheduler {
 public:
  void Enqueue(DeliveryList& found) override { TakeAll(found, pending_); }
  size_t pending() const override { return pending_.size(); }

 protected:
  // Appends `from` to `to` and empties `from`; swaps when `to` is empty, so that a batch
  // of millions is never copied and both vectors keep their capacity for the next one.
  static void TakeAll(DeliveryList& from, DeliveryList& to);
  DeliveryList pending_;
};

// Runs every delivery at the end of the collection that found it, in the order found:
// the most predictable choice, and the one that hides order bugs. (Callbacks then run
// inside whatever allocation triggered the collection, as Boehm GC runs finalizers.)
class AfterEachCollectionScheduler final : public BatchingScheduler {
 public:
  std::string_view name() const override { return "after-collection"; }
  void TakeTurn(Turn turn, DeliveryList& run, DeliveryList& drop) override;
};

// A JavaScript engine's behaviour: nothing runs inside the collector's caller; when
// the host pumps its jobs, each registry with dead targets gets one cleanup job (in
// the order the registries first had one), which delivers all of that registry's
// pending registrations. The queue ends every job with Heap::ClearKeptObjects.
class HostJobScheduler final : public BatchingScheduler {
 public:
  std::string_view name() const override { return "host-jobs"; }
  void TakeTurn(Turn turn, DeliveryList& run, DeliveryList& drop) override;
};

// Seeded nondeterminism, reproducible from the seed. Each delivery is, when enqueued,
// either dropped (with probability `drop_probability`; it never runs, as when an engine
// shuts down) or given a random delay of 0 to `max_delay_turns` turns. On each turn the
// deliveries that are due are shuffled, across and within registries, and run.
// Report() and events() say what it did.
class RandomizedScheduler final : public FinalizationScheduler {
 public:
  struct Options {
    uint64_t seed = 1;
    double drop_probability = 0.0;  // in [0, 1]
    uint32_t max_delay_turns = 3;
    // Which turns count: with both (the default) a program that never pumps host jobs
    // still sees its callbacks.
    bool turn_after_collection = true;
    bool turn_on_host_jobs = true;
    // How many events events() keeps (the counters always count everything).
    size_t event_log_limit = 100000;
  };
  enum class Action { kRun, kDropped };
  struct Event {
    uint64_t turn;
    Action action;
    Delivery delivery;
    uint32_t delay;  // turns it waited
  };

  // Options are checked: a probability outside [0, 1] is InvalidArgument.
  static absl::StatusOr<std::unique_ptr<RandomizedScheduler>> Create(Options options);
  explicit RandomizedScheduler(Options options);

  std::string_view name() const override { return "randomized"; }
  void Enqueue(DeliveryList& found) override;
  void TakeTurn(Turn turn, DeliveryList& run, DeliveryList& drop) override;
  size_t pending() const override { return waiting_.size() + to_drop_.size(); }

  const Options& options() const { return options_; }
  uint64_t turns() const { return turn_; }
  uint64_t ran() const { return ran_; }
  uint64_t dropped() const { return dropped_; }
  // Deliveries that ran in a different order than they were found, counted per turn
  // against the sorted order of that turn's batch.
  uint64_t reordered() const { return reordered_; }
  uint64_t delayed() const { return delayed_; }
  // The first `event_log_limit` runs and drops, in the order they happened.
  const std::vector<Event>& events() const { return events_; }
  // A summary: the seed, the options and the counters.
  std::string Report() const;

 private:
  struct Waiting {
    Delivery delivery;
    uint64_t due;
    uint64_t enqueued;
  };
  void Log(Action action, const Delivery& d, uint32_t delay);

  Options options_;
  std::mt19937_64 rng_;
  uint64_t turn_ = 0;
  internal::SideVector<Waiting> waiting_;
  internal::SideVector<Waiting> to_drop_;
  std::vector<Event> events_;
  uint64_t ran_ = 0, dropped_ = 0, reordered_ = 0, delayed_ = 0;
};

// Callbacks never run: every delivery is dropped at the next turn, releasing its held
// value. A conforming engine may behave so; code must still work.
class NeverScheduler final : public BatchingScheduler {
 public:
  std::string_view name() const override { return "never"; }
  void TakeTurn(Turn turn, DeliveryList& run, DeliveryList& drop) override;
};

// The built-in schedulers by name, for tests, benchmarks and command lines:
// "after-collection", "host-jobs", "randomized" (seed 1, no drops), "never".
enum class SchedulerKind { kAfterCollection, kHostJobs, kRandomized, kNever };
const std::vector<SchedulerKind>& AllSchedulerKinds();
std::string_view SchedulerKindName(SchedulerKind kind);
absl::StatusOr<SchedulerKind> ParseSchedulerKind(std::string_view name);
// `seed` is used by kRandomized only.
std::unique_ptr<FinalizationScheduler> CreateScheduler(SchedulerKind kind, uint64_t seed = 1);

}  // namespace gclab

#endif  // GCLAB_FINALIZATION_SCHEDULER_H_
