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

}  // namespace gclab
