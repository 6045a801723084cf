// gclab: trigger policies, which decide when to collect and how far the heap may grow.
//
// After every collection the heap asks its policy for an allocation budget: how many
// bytes the program may allocate before the next collection starts. The heap limit
// (HeapOptions::heap_limit) is a hard cap on top of any policy: when live bytes plus
// the budget would pass it, the budget is cut; when even a collection cannot make room
// for an allocation, the allocation fails (see Heap::TryNew).
//
//   // Collect after every 8 MiB of allocation, whatever the live size:
//   options.policy = gclab::FixedBudgetPolicy::Create(8 << 20).value();
//   // Let the heap grow to 3x the live size, but never collect below 16 MiB:
//   options.policy = gclab::GrowthFactorPolicy::Create(3.0, 16 << 20).value();
//
// A researcher's own policy implements TriggerPolicy; it sees the statistics of the
// cycle that just ended (PolicyInput) and may keep state between cycles.
//
// Generational collectors. The budget is how far the heap may grow before the next
// *major* collection: for a collector that is not generational every allocated byte
// stays until the next collection, so that is the allocation between collections; a
// generational one runs a minor collection every nursery (a collector option) or
// budget, whichever is smaller, and the budget bounds the growth of what they keep,
// the old generation. The first
// collection that starts with the kept bytes past the last collection's live bytes
// plus the budget is major. So after a minor collection a policy answers what is left
// of the growth it allowed at the last major one (both policies here do, from the
// *_last_major_collection fields); a policy that hands out a fresh budget after every
// minor collection postpones major collections until the heap limit forces one.
//
// External memory. Heap objects that own big buffers outside the heap (a linear
// memory's committed pages) report them with Heap::AdjustExternalMemory. A few bytes
// of heap object can own a gigabyte: counted as heap allocation they would never
// trigger a collection in time. So external memory has its own budget, asked of the
// policy after every collection (ExternalBudget): when the external bytes grow past
// what the last collection left plus this budget, the heap collects. The default rule,
// V8's: a collection once external memory grows by 64 MiB or by an eighth of what was
// live, whichever is more, so dead buffers add at most about 1/8 to the live ones.
#ifndef GCLAB_GC_POLICY_H_
#define GCLAB_GC_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gc/stats.h"

namespace gclab {

struct PolicyInput {
  // The collection that just ended. After a minor one, live_bytes counts every old
  // object, reachable or not (CycleStatistics::live_bytes).
  CollectionKind kind = CollectionKind::kMajor;
  size_t live_bytes = 0;        // kept by the collection that just ended
  size_t heap_limit = 0;        // HeapOptions::heap_limit
  size_t external_bytes = 0;    // external memory after the collection (see above)
  uint64_t bytes_allocated_since_last_collection = 0;
  // As of the last major collection (this one, if it was major). The growth of the
  // old generation since then is live_bytes - live_bytes_after_last_major_collection.
  size_t live_bytes_after_last_major_collection = 0;
  uint64_t bytes_allocated_since_last_major_collection = 0;
  absl::Duration last_pause;    // of the collection that just ended: its pauses added up
  uint64_t collections = 0;     // number completed, including this one
  // The program's own time since the last collection ended (wall time less every pause
  // since, this collection's included): with bytes_allocated_since_last_collection, its
  // allocation rate.
  absl::Duration mutator_time_since_last_collection;
};

class TriggerPolicy {
 public:
  virtual ~TriggerPolicy() = default;
  virtual std::string name() const = 0;
  // Budget before the first collection.
  virtual size_t InitialBudget(size_t heap_limit) = 0;
  // Budget after a collection.
  virtual size_t NextBudget(const PolicyInput& input) = 0;
  // Bytes of external memory that may be added before the next collection; asked
  // with external_bytes = 0 before the first one. DefaultExternalBudget unless
  // overridden.
  virtual size_t ExternalBudget(const PolicyInput& input) {
    return DefaultExternalBudget(input.external_bytes);
  }

  // An allocation of `bytes` does not fit in the `remaining` bytes of the budget: how
  // many bytes to add to the budget so that it goes ahead without a collection (0, the
  // default: collect first). For a program that allocates large objects in a row, each
  // larger than what a collection leaves of the budget, so that the heap grows for them
  // instead of collecting before each (MMTk's on_pending_allocation). The heap limit
  // still caps the budget; not asked while an incremental cycle marks.
  virtual size_t PendingAllocationBudget(size_t bytes, size_t remaining) {
    (void)bytes, (void)remaining;
    return 0;
  }

  static constexpr size_t kMinExternalBudget = size_t{64} << 20;
  // max(64 MiB, live external / 8).
  static size_t DefaultExternalBudget(size_t live_external_bytes) {
    size_t eighth = live_external_bytes / 8;
    return eighth > kMinExternalBudget ? eighth : kMinExternalBudget;
  }
};

// Collects after every `budget_bytes` of allocation (a generational collector: a
// major collection once the old generation has grown by `budget_bytes`, minor ones
// every nursery).
class FixedBudgetPolicy final : public TriggerPolicy {
 public:
  static absl::StatusOr<std::shared_ptr<TriggerPolicy>> Create(size_t budget_bytes);
  explicit FixedBudgetPolicy(size_t budget_bytes) : budget_(budget_bytes) {}
  std::string name() const override;
  size_t InitialBudget(size_t) override { return budget_; }
  size_t NextBudget(const PolicyInput& input) override;

 private:
  size_t budget_;
};

// Lets the heap grow to `factor` times the live size (at least `min_heap_bytes`)
// before collecting again: the classic space-time trade-off knob. For a generational
// collector, the live size of the last major collection sets the size at which the
// next major one starts.
class GrowthFactorPolicy final : public TriggerPolicy {
 public:
  static absl::StatusOr<std::shared_ptr<TriggerPolicy>> Create(double factor,
                                                               size_t min_heap_bytes);
  GrowthFactorPolicy(double factor, size_t min_heap_bytes)
      : factor_(factor), min_heap_(min_heap_bytes) {}
  std::string name() const override;
  size_t InitialBudget(size_t) override { return min_heap_; }
  size_t NextBudget(const PolicyInput& input) override;

 private:
  double factor_;
  size_t min_heap_;
};

// MemBalancer (Kirisame, Shenoy, Panchekha, "Optimal heap limits for reducing browser
// memory use", OOPSLA 2022), as V8 and Whippet use it: after a major collection the
// heap may grow by E = sqrt(M x g / (c x s)) before the next, where M is what the
// collection left (live heap bytes plus external bytes), g the program's allocation
// rate (bytes per second of its own time, smoothed over collections), s the
// collector's speed (bytes of M per second of major collection, smoothed), and c the
// constant that trades time for memory, per byte: a smaller c grows the heap more and
// collects less often. V8's default is 3e-10: a heap of 100 MiB allocating 50 MiB/s
// and collected at 1 GiB/s may grow by about 125 MiB. The square root spends memory where it buys the most time: a heap that
// allocates fast, or whose collections are slow, gets more room; between heaps the
// total memory for a given total time is minimal when every heap follows the rule.
// E is the budget of heap allocation and of external growth alike (external memory
// counts in M; each budget at least min_heap_bytes). Until it has measured g and s it lets the heap double, as the default
// GrowthFactorPolicy; at least `min_heap_bytes`, as that one. After a minor
// collection, what is left of the growth E allowed. An allocation larger than a
// quarter of E goes ahead without a collection (PendingAllocationBudget): collecting
// for it would find at most about E of garbage.
//
//   options.policy = gclab::MemBalancerPolicy::Create(/*c=*/3e-10, 4 << 20).value();
class MemBalancerPolicy final : public TriggerPolicy {
 public:
  // `smoothing`: the weight of the past in the smoothed rates, 0 to below 1 (each
  // collection's sample counts 1 - smoothing). InvalidArgument for c not positive and
  // finite, min_heap_bytes under 4096, or smoothing out of range.
  static absl::StatusOr<std::shared_ptr<TriggerPolicy>> Create(double c, size_t min_heap_bytes,
                                                               double smoothing = 0.5);
  MemBalancerPolicy(double c, size_t min_heap_bytes, double smoothing)
      : c_(c), min_heap_(min_heap_bytes), smoothing_(smoothing) {}
  std::string name() const override;
  size_t InitialBudget(size_t) override { return min_heap_; }
  size_t NextBudget(const PolicyInput& input) override;
  size_t ExternalBudget(const PolicyInput& input) override;
  size_t PendingAllocationBudget(size_t bytes, size_t remaining) override;

  // The smoothed rates, bytes per second (0 until measured), and the last E.
  double allocation_rate() const { return allocation_rate_; }
  double collection_speed() const { return collection_speed_; }
  size_t headroom() const { return headroom_; }

 private:
  double Smooth(double old_value, double sample) const {
    return old_value == 0 ? sample : smoothing_ * old_value + (1 - smoothing_) * sample;
  }

  double c_;
  size_t min_heap_;
  double smoothing_;
  double allocation_rate_ = 0;
  double collection_speed_ = 0;
  size_t headroom_ = 0;      // E, as of the last major collection
  size_t heap_target_ = 0;   // live heap bytes at which the next major collection comes
};

}  // namespace gclab

#endif  // GCLAB_GC_POLICY_H_
