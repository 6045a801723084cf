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
  absl::Duration last_pause;    // of the collection that just ended
  uint64_t collections = 0;     // number completed, including this one
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

}  // namespace gclab

#endif  // GCLAB_GC_POLICY_H_
