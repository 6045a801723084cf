// Minimum mutator utilization (gc/mutator_utilization.h) on pause logs made by hand,
// against a brute-force scan, and the pause log of real heaps (every collector).
#include "gc/mutator_utilization.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "gc/gc.h"
#include "tests/test_types.h"

namespace gclab::testing {
namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point kBegin{};

Clock::time_point At(double ms) {
  return kBegin + std::chrono::nanoseconds(static_cast<int64_t>(ms * 1e6));
}
Pause PauseAt(double start_ms, double length_ms) {
  return Pause{At(start_ms), absl::Nanoseconds(static_cast<int64_t>(length_ms * 1e6))};
}
double Mmu(const std::vector<Pause>& pauses, double run_ms, double window_ms) {
  absl::StatusOr<double> mmu = MinimumMutatorUtilization(
      pauses, kBegin, At(run_ms), absl::Nanoseconds(static_cast<int64_t>(window_ms * 1e6)));
  EXPECT_TRUE(mmu.ok()) << mmu.status();
  return mmu.value_or(-1);
}

TEST(MinimumMutatorUtilizationTest, NoPausesIsFullUtilization) {
  EXPECT_DOUBLE_EQ(Mmu({}, 100, 1), 1.0);
  EXPECT_DOUBLE_EQ(Mmu({}, 100, 1000), 1.0);
}

TEST(MinimumMutatorUtilizationTest, OnePause) {
  // 5 ms of pause from 10 ms into a run of 100 ms.
  const std::vector<Pause> pauses = {PauseAt(10, 5)};
  EXPECT_DOUBLE_EQ(Mmu(pauses, 100, 1), 0.0);
  EXPECT_DOUBLE_EQ(Mmu(pauses, 100, 5), 0.0);
  EXPECT_DOUBLE_EQ(Mmu(pauses, 100, 10), 0.5);
  EXPECT_DOUBLE_EQ(Mmu(pauses, 100, 50), 0.9);
  EXPECT_DOUBLE_EQ(Mmu(pauses, 100, 100), 0.95);
  EXPECT_DOUBLE_EQ(Mmu(pauses, 100, 400), 0.95);  // longer than the run: the run
}

TEST(MinimumMutatorUtilizationTest, PeriodicPauses) {
  // 1 ms of pause in every 4 ms, for 400 ms.
  std::vector<Pause> pauses;
  for (int i = 0; i < 100; ++i) pauses.push_back(PauseAt(4.0 * i, 1));
  EXPECT_DOUBLE_EQ(Mmu(pauses, 400, 1), 0.0);
  EXPECT_DOUBLE_EQ(Mmu(pauses, 400, 2), 0.5);
  EXPECT_DOUBLE_EQ(Mmu(pauses, 400, 4), 0.75);
  EXPECT_NEAR(Mmu(pauses, 400, 6), 4.0 / 6.0, 1e-12);  // two pauses fit in 5 ms
  EXPECT_DOUBLE_EQ(Mmu(pauses, 400, 8), 0.75);
}

TEST(MinimumMutatorUtilizationTest, PausesPartlyOutsideTheRunCountOnlyInside) {
  // A pause from -2 to 3 ms and one from 98 to 104 ms, in a run of 100 ms.
  const std::vector<Pause> pauses = {PauseAt(-2, 5), PauseAt(98, 6)};
  EXPECT_DOUBLE_EQ(Mmu(pauses, 100, 10), 0.7);
  EXPECT_DOUBLE_EQ(Mmu(pauses, 100, 100), 0.95);
}

// The exact answer against the worst of many windows placed on a fine grid: never
// above it (the grid's windows are among those measured), and close to it.
TEST(MinimumMutatorUtilizationTest, MatchesABruteForceScan) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<Pause> pauses;
    double t = std::uniform_real_distribution<double>(0, 3)(random);
    while (t < 200) {
      const double length = std::uniform_real_distribution<double>(0.01, 4)(random);
      pauses.push_back(PauseAt(t, length));
      t += length + std::exponential_distribution<double>(0.3)(random);
    }
    for (double window : {0.5, 1.0, 2.0, 5.0, 10.0, 50.0}) {
      const double exact = Mmu(pauses, 200, window);
      double scanned = 1.0;
      const double step = 0.005;
      for (double start = 0; start + window <= 200 + 1e-9; start += step) {
        double inside = 0;
        for (const Pause& p : pauses) {
          const double a = std::chrono::duration<double, std::milli>(p.start - kBegin).count();
          const double b = a + absl::ToDoubleMilliseconds(p.duration);
          inside += std::max(0.0, std::min(b, start + window) - std::max(a, start));
        }
        scanned = std::min(scanned, (window - inside) / window);
      }
      EXPECT_LE(exact, scanned + 1e-9) << "trial " << trial << ", window " << window;
      EXPECT_NEAR(exact, scanned, 2 * step / window + 1e-9)
          << "trial " << trial << ", window " << window;
    }
  }
}

TEST(MinimumMutatorUtilizationTest, BadInputIsAnError) {
  const std::vector<Pause> pauses = {PauseAt(10, 5)};
  EXPECT_EQ(
      MinimumMutatorUtilization(pauses, kBegin, At(100), absl::ZeroDuration()).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      MinimumMutatorUtilization(pauses, At(100), kBegin, absl::Milliseconds(1)).status().code(),
      absl::StatusCode::kInvalidArgument);
  const std::vector<Pause> overlapping = {PauseAt(10, 5), PauseAt(12, 1)};
  EXPECT_EQ(MinimumMutatorUtilization(overlapping, kBegin, At(100), absl::Milliseconds(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

class PauseLogTest : public ::testing::TestWithParam<CollectorKind> {};

// A heap that records pauses logs every one, in order, not overlapping, with the
// collection's kind and its duration: one per collection in one pause, and for an
// incremental cycle its start, its steps and its final pause (gc/DESIGN.md [incr]). One
// that does not record logs nothing.
TEST_P(PauseLogTest, EveryPauseInOrder) {
  for (bool record : {true, false}) {
    HeapOptions options;
    options.collector = GetParam();
    options.heap_limit = size_t{64} << 20;
    options.record_pauses = record;
    auto heap_or = Heap::Create(WithoutStress(options));
    ASSERT_TRUE(heap_or.ok()) << heap_or.status();
    Heap& heap = **heap_or;
    const Clock::time_point begin = Clock::now();
    HandleScope scope(heap);
    Local<Node> kept = heap.New<Node>(1);
    for (int i = 0; i < 200000; ++i) {
      HandleScope inner(heap);
      Local<Node> node = heap.New<Node>(i);
      if (i % 1000 == 0) kept->left = node;  // old to young, now and then
      // A cycle started by the host midway, so that one runs on a generational
      // collector too, whose major collections this program would not bring on.
      if (i == 100000 && heap.capabilities().incremental) (void)heap.StartIncrementalCollection();
    }
    heap.CollectGarbage();
    const Clock::time_point end = Clock::now();
    const HeapStatistics& stats = heap.stats();
    ASSERT_GE(stats.collections, 2u);
    if (!record) {
      EXPECT_TRUE(heap.pauses().empty());
      continue;
    }
    EXPECT_EQ(stats.pauses_not_recorded, 0u);
    absl::Span<const Pause> pauses = heap.pauses();
    absl::Duration total;
    absl::Duration longest;
    uint64_t minor = 0;
    uint64_t ends = 0;  // pauses that end a collection
    uint64_t starts = 0;
    uint64_t steps = 0;
    bool in_cycle = false;  // an incremental cycle's start was logged, not its end
    for (size_t i = 0; i < pauses.size(); ++i) {
      switch (pauses[i].kind) {
        case PauseKind::kAtomic:  // drops an incremental cycle in progress
          in_cycle = false;
          ++ends;
          break;
        case PauseKind::kStart:
          EXPECT_FALSE(in_cycle);
          in_cycle = true;
          ++starts;
          break;
        case PauseKind::kStep:
          EXPECT_TRUE(in_cycle);
          ++steps;
          break;
        case PauseKind::kFinal:
          EXPECT_TRUE(in_cycle);
          in_cycle = false;
          ++ends;
          break;
        case PauseKind::kSweep:
          break;
      }
      if (!heap.capabilities().incremental) EXPECT_EQ(pauses[i].kind, PauseKind::kAtomic);
      EXPECT_GE(pauses[i].start, begin);
      EXPECT_LE(pauses[i].start + absl::ToChronoNanoseconds(pauses[i].duration), end);
      if (i > 0) {
        EXPECT_GE(pauses[i].start,
                  pauses[i - 1].start + absl::ToChronoNanoseconds(pauses[i - 1].duration));
      }
      total += pauses[i].duration;
      longest = std::max(longest, pauses[i].duration);
      minor += pauses[i].collection == CollectionKind::kMinor;
    }
    EXPECT_EQ(ends, stats.collections);
    EXPECT_EQ(starts, stats.incremental_cycles);
    EXPECT_LE(steps, stats.incremental_steps);  // a step that ends the marking may run on
                                                // into the final pause, logged as one
    if (heap.capabilities().incremental) {
      EXPECT_GE(starts, 1u);
      EXPECT_GE(steps, 1u);
    }
    EXPECT_EQ(total, stats.total_pause);
    EXPECT_EQ(longest, stats.max_pause);
    EXPECT_EQ(minor, stats.minor_collections);
    EXPECT_EQ(pauses.back().collection, CollectionKind::kMajor);  // CollectGarbage
    // Over the whole run, utilization is the time outside pauses.
    const double run_ms = std::chrono::duration<double, std::milli>(end - begin).count();
    absl::StatusOr<double> whole = MinimumMutatorUtilization(
        pauses, begin, end, absl::Milliseconds(run_ms * 2));
    ASSERT_TRUE(whole.ok());
    EXPECT_NEAR(*whole, 1.0 - absl::ToDoubleMilliseconds(total) / run_ms, 1e-6);
    // A window no longer than the longest pause sees no mutator at all.
    absl::StatusOr<double> short_window =
        MinimumMutatorUtilization(pauses, begin, end, longest);
    ASSERT_TRUE(short_window.ok());
    EXPECT_DOUBLE_EQ(*short_window, 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, PauseLogTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab::testing
