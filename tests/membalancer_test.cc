// MemBalancerPolicy (gc/policy.h): its rule on inputs made by hand, its measurements on
// a real heap of every collector, and the pending-allocation hook of every policy.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "gc/gc.h"
#include "tests/test_types.h"

namespace gclab::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

PolicyInput Major(size_t live, size_t external, size_t allocated, absl::Duration mutator,
                  absl::Duration pause) {
  PolicyInput input;
  input.kind = CollectionKind::kMajor;
  input.live_bytes = live;
  input.live_bytes_after_last_major_collection = live;
  input.external_bytes = external;
  input.bytes_allocated_since_last_collection = allocated;
  input.mutator_time_since_last_collection = mutator;
  input.last_pause = pause;
  input.collections = 1;
  return input;
}

TEST(MemBalancerTest, TheSquareRootRule) {
  auto policy = std::make_shared<MemBalancerPolicy>(3e-10, 4 * kMiB, /*smoothing=*/0.5);
  // 100 MiB left, 50 MiB allocated in a second of the program's time, collected in
  // 0.1 s: g = 50 MiB/s, s = 1000 MiB/s, E = sqrt(M g / (c s)).
  const size_t budget = policy->NextBudget(
      Major(100 * kMiB, 0, 50 * kMiB, absl::Seconds(1), absl::Milliseconds(100)));
  const double m = 100.0 * kMiB;
  const double expected = std::sqrt(m * (50.0 * kMiB) / (3e-10 * (m / 0.1)));
  EXPECT_NEAR(static_cast<double>(budget), expected, 1.0);
  EXPECT_NEAR(policy->allocation_rate(), 50.0 * kMiB, 1.0);
  EXPECT_NEAR(policy->collection_speed(), m / 0.1, 1.0);
  EXPECT_EQ(policy->headroom(), budget);
  // External memory counts in M, and gets the same headroom as its budget.
  const size_t with_external = policy->NextBudget(
      Major(100 * kMiB, 300 * kMiB, 50 * kMiB, absl::Seconds(1), absl::Milliseconds(100)));
  EXPECT_GT(with_external, budget);
  EXPECT_EQ(policy->ExternalBudget(Major(100 * kMiB, 300 * kMiB, 0, {}, {})), with_external);
  // Allocating four times as fast (smoothed: half the old rate, half the new) grows
  // the headroom by the square root of the rate's growth.
  auto fresh = std::make_shared<MemBalancerPolicy>(3e-10, 4 * kMiB, 0.0);
  const double slow = static_cast<double>(fresh->NextBudget(
      Major(100 * kMiB, 0, 50 * kMiB, absl::Seconds(1), absl::Milliseconds(100))));
  const double fast = static_cast<double>(fresh->NextBudget(
      Major(100 * kMiB, 0, 200 * kMiB, absl::Seconds(1), absl::Milliseconds(100))));
  EXPECT_NEAR(fast / slow, 2.0, 0.01);
  // A smaller c grows the heap more.
  auto roomy = std::make_shared<MemBalancerPolicy>(3e-11, 4 * kMiB, 0.0);
  EXPECT_GT(roomy->NextBudget(
                Major(100 * kMiB, 0, 50 * kMiB, absl::Seconds(1), absl::Milliseconds(100))),
            static_cast<size_t>(3 * slow));
}

TEST(MemBalancerTest, MinorCollectionsSpendTheHeadroomAndSmallHeapsGetTheMinimum) {
  auto policy = std::make_shared<MemBalancerPolicy>(3e-10, 4 * kMiB, 0.5);
  const size_t budget = policy->NextBudget(
      Major(100 * kMiB, 0, 50 * kMiB, absl::Seconds(1), absl::Milliseconds(100)));
  PolicyInput minor = Major(110 * kMiB, 0, 4 * kMiB, absl::Milliseconds(80), absl::Milliseconds(1));
  minor.kind = CollectionKind::kMinor;
  minor.live_bytes_after_last_major_collection = 100 * kMiB;
  EXPECT_EQ(policy->NextBudget(minor), budget - 10 * kMiB);
  // Before anything is measured: the heap may double, and never below the minimum.
  auto unmeasured = std::make_shared<MemBalancerPolicy>(3e-10, 4 * kMiB, 0.5);
  EXPECT_EQ(unmeasured->NextBudget(Major(10 * kMiB, 0, 0, {}, {})), 10 * kMiB);
  EXPECT_EQ(unmeasured->NextBudget(Major(kMiB, 0, 0, {}, {})), 3 * kMiB);
}

TEST(MemBalancerTest, LargeAllocationsGrowTheBudgetInsteadOfCollecting) {
  auto policy = std::make_shared<MemBalancerPolicy>(3e-10, 4 * kMiB, 0.5);
  const size_t e = policy->NextBudget(
      Major(100 * kMiB, 0, 50 * kMiB, absl::Seconds(1), absl::Milliseconds(100)));
  EXPECT_EQ(policy->PendingAllocationBudget(e / 2, 1000), e / 2 - 1000);
  EXPECT_EQ(policy->PendingAllocationBudget(e / 8, 1000), 0u);  // small: collect
  auto unmeasured = std::make_shared<MemBalancerPolicy>(3e-10, 4 * kMiB, 0.5);
  EXPECT_EQ(unmeasured->PendingAllocationBudget(100 * kMiB, 0), 0u);
}

TEST(MemBalancerTest, BadParametersAreRefused) {
  for (double c : {0.0, -1.0, std::nan(""), static_cast<double>(INFINITY)}) {
    EXPECT_EQ(MemBalancerPolicy::Create(c, 4 * kMiB).status().code(),
              absl::StatusCode::kInvalidArgument)
        << c;
  }
  EXPECT_EQ(MemBalancerPolicy::Create(3e-10, 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MemBalancerPolicy::Create(3e-10, 4 * kMiB, 1.0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MemBalancerPolicy::Create(3e-10, 4 * kMiB).ok());
}

class MemBalancerHeapTest : public ::testing::TestWithParam<CollectorKind> {};

// On a real heap the policy measures the program's allocation rate and the collector's
// speed, and the budgets it gives keep the program's data alive on every collector.
TEST_P(MemBalancerHeapTest, MeasuresAndBalances) {
  auto policy = std::make_shared<MemBalancerPolicy>(3e-10, kMiB, 0.5);
  HeapOptions options;
  options.collector = GetParam();
  options.policy = policy;
  auto heap = Heap::Create(WithoutStress(options)).value();
  HandleScope scope(*heap);
  Local<Array> live = heap->New<Array>(50000);
  for (size_t i = 0; i < live->slots.size(); ++i) live->slots[i] = heap->NewRaw<Node>(1);
  for (int i = 0; i < 500000; ++i) heap->NewRaw<Node>(2);
  heap->CollectGarbage();
  EXPECT_GT(policy->allocation_rate(), 0.0);
  EXPECT_GT(policy->collection_speed(), 0.0);
  EXPECT_GT(policy->headroom(), 0u);
  EXPECT_GE(heap->stats().collections, 2u);
  for (size_t i = 0; i < live->slots.size(); ++i) ASSERT_EQ(live->slots[i]->value, 1);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, MemBalancerHeapTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

// Any policy may grow the budget for an allocation that does not fit in it: the
// allocation then goes ahead without a collection, and the statistics count it.
TEST(PendingAllocationTest, APolicyMayGrowTheBudgetForALargeAllocation) {
  class Granting : public TriggerPolicy {
   public:
    std::string name() const override { return "granting"; }
    size_t InitialBudget(size_t) override { return kMiB; }
    size_t NextBudget(const PolicyInput&) override { return kMiB; }
    size_t PendingAllocationBudget(size_t bytes, size_t remaining) override {
      ++asked;
      return bytes - remaining;
    }
    int asked = 0;
  };
  for (bool grant : {true, false}) {
    HeapOptions options;
    auto granting = std::make_shared<Granting>();
    if (grant) {
      options.policy = granting;
    } else {
      options.policy = FixedBudgetPolicy::Create(kMiB).value();
    }
    auto heap = Heap::Create(WithoutStress(options)).value();
    HandleScope scope(*heap);
    using Big = Blob<(size_t{2} << 20)>;  // 2 MiB: more than the budget
    for (uint32_t i = 0; i < 8; ++i) {
      Local<Big> big = heap->New<Big>(i);
      EXPECT_TRUE(big->Intact());
    }
    if (grant) {
      EXPECT_EQ(heap->stats().collections, 0u);
      EXPECT_EQ(heap->stats().pending_allocation_grants, 8u);
      EXPECT_EQ(granting->asked, 8);
    } else {
      EXPECT_GE(heap->stats().collections, 7u);
      EXPECT_EQ(heap->stats().pending_allocation_grants, 0u);
    }
  }
}

}  // namespace
}  // namespace gclab::testing
