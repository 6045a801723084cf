#include "gc/policy.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace gclab {

absl::StatusOr<std::shared_ptr<TriggerPolicy>> FixedBudgetPolicy::Create(size_t budget_bytes) {
  if (budget_bytes < 4096) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: FixedBudgetPolicy needs a budget of at least 4096 bytes, got %d",
        budget_bytes));
  }
  return std::shared_ptr<TriggerPolicy>(std::make_shared<FixedBudgetPolicy>(budget_bytes));
}

std::string FixedBudgetPolicy::name() const {
  return absl::StrFormat("fixed-budget(%d)", budget_);
}

absl::StatusOr<std::shared_ptr<TriggerPolicy>> GrowthFactorPolicy::Create(
    double factor, size_t min_heap_bytes) {
  if (!(factor > 1.0) || !std::isfinite(factor)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: GrowthFactorPolicy needs a finite factor above 1.0, got %g", factor));
  }
  if (min_heap_bytes < 4096) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: GrowthFactorPolicy needs min_heap_bytes of at least 4096, got %d",
        min_heap_bytes));
  }
  return std::shared_ptr<TriggerPolicy>(
      std::make_shared<GrowthFactorPolicy>(factor, min_heap_bytes));
}

std::string GrowthFactorPolicy::name() const {
  return absl::StrFormat("growth-factor(%g, min %d)", factor_, min_heap_);
}

size_t FixedBudgetPolicy::NextBudget(const PolicyInput& input) {
  if (input.kind == CollectionKind::kMajor) return budget_;
  // What the old generation grew by since the last major collection is spent.
  const size_t grown = input.live_bytes > input.live_bytes_after_last_major_collection
                           ? input.live_bytes - input.live_bytes_after_last_major_collection
                           : 0;
  return grown < budget_ ? budget_ - grown : 0;
}

size_t GrowthFactorPolicy::NextBudget(const PolicyInput& input) {
  double target = static_cast<double>(input.live_bytes_after_last_major_collection) * factor_;
  size_t heap = std::max(min_heap_, static_cast<size_t>(std::min(target, 1e18)));
  // After a minor collection live_bytes includes what it promoted: the room left.
  return heap > input.live_bytes ? heap - input.live_bytes : 0;
}

absl::StatusOr<std::shared_ptr<TriggerPolicy>> MemBalancerPolicy::Create(double c,
                                                                         size_t min_heap_bytes,
                                                                         double smoothing) {
  if (!(c > 0) || !std::isfinite(c)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("gclab: MemBalancerPolicy needs a positive, finite c, got %g", c));
  }
  if (min_heap_bytes < 4096) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: MemBalancerPolicy needs min_heap_bytes of at least 4096, got %d", min_heap_bytes));
  }
  if (!(smoothing >= 0 && smoothing < 1)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: MemBalancerPolicy needs a smoothing from 0 to below 1, got %g", smoothing));
  }
  return std::shared_ptr<TriggerPolicy>(
      std::make_shared<MemBalancerPolicy>(c, min_heap_bytes, smoothing));
}

std::string MemBalancerPolicy::name() const {
  return absl::StrFormat("membalancer(c %g, min %d)", c_, min_heap_);
}

size_t MemBalancerPolicy::NextBudget(const PolicyInput& input) {
  const double seconds = absl::ToDoubleSeconds(input.mutator_time_since_last_collection);
  if (seconds > 0) {
    allocation_rate_ = Smooth(allocation_rate_,
                              static_cast<double>(input.bytes_allocated_since_last_collection) / seconds);
  }
  if (input.kind == CollectionKind::kMajor) {
    const double m = static_cast<double>(input.live_bytes + input.external_bytes);
    const double pause = absl::ToDoubleSeconds(input.last_pause);
    // A major collection's speed: what it left, per second of its pauses.
    if (pause > 0 && m > 0) collection_speed_ = Smooth(collection_speed_, m / pause);
    double e = static_cast<double>(input.live_bytes);  // doubling, until measured
    if (allocation_rate_ > 0 && collection_speed_ > 0) {
      e = std::sqrt(m * allocation_rate_ / (c_ * collection_speed_));
    }
    headroom_ = static_cast<size_t>(std::min(e, 1e18));
    heap_target_ = std::max(min_heap_, input.live_bytes + headroom_);
  }
  // After a minor collection live_bytes includes what it promoted: the room left.
  return heap_target_ > input.live_bytes ? heap_target_ - input.live_bytes : 0;
}

size_t MemBalancerPolicy::ExternalBudget(const PolicyInput& input) {
  // Before the first collection nothing is measured: the default rule.
  if (input.collections == 0) return DefaultExternalBudget(input.external_bytes);
  return std::max<size_t>(headroom_, min_heap_);
}

size_t MemBalancerPolicy::PendingAllocationBudget(size_t bytes, size_t remaining) {
  // Nothing is measured before the first major collection: collect, as by default.
  if (headroom_ == 0) return 0;
  return bytes > headroom_ / 4 && bytes > remaining ? bytes - remaining : 0;
}

}  // namespace gclab
