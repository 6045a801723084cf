// Randomized stress test of finalization against an oracle, on every collector under
// every scheduler: millions of registrations, unregistrations (before and after their
// targets die), tokens that die, collections at random points and host pumps. The
// oracle knows which targets are unreachable and which registrations were removed;
// each registration must end delivered exactly once, or dropped by the scheduler that
// said so (through the drop observer), or unregistered, and never delivered while its
// target was reachable. GCLAB_STRESS_SEED=<n> reproduces a run.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "finalization/finalization.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gclab {
namespace {

using testing::MakeHeap;
using testing::Node;
using NodeRegistry = FinalizationRegistry<Node>;

// The randomized scheduler here also drops a tenth of the deliveries.
enum class Sched { kAfterCollection, kHostJobs, kRandomizedDropping, kNever };
using Param = std::tuple<CollectorKind, Sched>;

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  static const char* kNames[] = {"after_collection", "host_jobs", "randomized_dropping", "never"};
  std::string name = std::string(CollectorName(std::get<0>(info.param))) + "_" +
                     kNames[static_cast<int>(std::get<1>(info.param))];
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

uint64_t StressSeed() {
  const char* env = std::getenv("GCLAB_STRESS_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20261121;
}

class FinalizationStressTest : public ::testing::TestWithParam<Param> {};

TEST_P(FinalizationStressTest, EveryRegistrationHasExactlyOneFate) {
  const auto [collector, sched] = GetParam();
  const uint64_t seed = StressSeed();
  SCOPED_TRACE("GCLAB_STRESS_SEED=" + std::to_string(seed));
  // About a million registrations per run (100 thousand under sanitizers and stress).
  const int kSteps = testing::Reduced() ? 150000 : 1500000;
  constexpr int kTokens = 64;

  std::unique_ptr<Heap> heap = MakeHeap(collector);
  FinalizationQueue& queue = FinalizationQueue::For(*heap);
  switch (sched) {
    case Sched::kAfterCollection:
      ASSERT_TRUE(queue.SetScheduler(std::make_unique<AfterEachCollectionScheduler>()).ok());
      break;
    case Sched::kHostJobs:
      ASSERT_TRUE(queue.SetScheduler(std::make_unique<HostJobScheduler>()).ok());
      break;
    case Sched::kRandomizedDropping: {
      RandomizedScheduler::Options options;
      options.seed = seed;
      options.drop_probability = 0.1;
      ASSERT_TRUE(queue.SetScheduler(RandomizedScheduler::Create(options).value()).ok());
      break;
    }
    case Sched::kNever:
      ASSERT_TRUE(queue.SetScheduler(std::make_unique<NeverScheduler>()).ok());
      break;
  }

  // --- The oracle.
  enum class Fate : uint8_t { kWaiting, kUnregistered, kDelivered, kDropped };
  struct Reg {
    uint32_t target;
    int16_t token;  // -1 none, -2 the target itself, else a pool token
    Fate fate;
  };
  std::vector<Reg> regs;
  struct Target {
    uint32_t first_reg, reg_count;
    bool alive;
  };
  std::vector<Target> targets;
  std::vector<Persistent<Node>> target_roots;   // by target id; reset when it dies
  std::vector<uint32_t> live_targets;           // ids, for picking one at random
  std::vector<Persistent<Node>> tokens(kTokens);
  std::vector<std::vector<uint32_t>> token_regs(kTokens);  // registrations per pool token
  uint64_t violations = 0;
  std::string first_violation;
  auto violate = [&](const std::string& what) {
    if (violations++ == 0) first_violation = what;
  };
  auto settle = [&](uint32_t reg, Fate fate, const char* how) {
    if (reg >= regs.size()) return violate(std::string(how) + " an unknown registration");
    Reg& r = regs[reg];
    if (r.fate != Fate::kWaiting) {
      return violate(std::string(how) + " registration " + std::to_string(reg) +
                     " which already had its fate");
    }
    if (targets[r.target].alive) {
      return violate(std::string(how) + " registration " + std::to_string(reg) +
                     " whose target is reachable");
    }
    r.fate = fate;
  };

  HandleScope scope(*heap);
  Local<NodeRegistry> registry = NodeRegistry::Create(*heap, [&](Local<Node> held) {
    settle(static_cast<uint32_t>(held->value), Fate::kDelivered, "delivered");
  });
  queue.set_drop_observer([&](const DroppedDelivery& d) {
    settle(static_cast<uint32_t>(static_cast<const Node*>(d.held_object)->value), Fate::kDropped,
           "dropped");
  });
  for (int t = 0; t < kTokens; ++t) tokens[t] = Persistent<Node>(*heap, heap->New<Node>(-t));

  // Unregisters with `token` (a live object) and checks the answer: true exactly when
  // some registration made with it is still waiting.
  auto unregister = [&](const void* token, auto&& each_reg) {
    bool expected = false;
    each_reg([&](Reg& r) {
      if (r.fate == Fate::kWaiting) {
        expected = true;
        r.fate = Fate::kUnregistered;
      }
    });
    absl::StatusOr<bool> removed = registry->Unregister(token);
    if (!removed.ok()) return violate("Unregister failed: " + removed.status().ToString());
    if (*removed != expected) violate("Unregister answered " + std::to_string(*removed));
  };

  std::mt19937_64 rng(seed);
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  for (int step = 0; step < kSteps && violations == 0; ++step) {
    int op = static_cast<int>(rng() % 100);
    if (op < 45) {
      // A new target with one or two registrations. Allocation-triggered collections
      // happen here, at arbitrary points of the run.
      HandleScope inner(*heap);
      uint32_t id = static_cast<uint32_t>(targets.size());
      Local<Node> target = heap->New<Node>(id);
      uint32_t count = 1 + static_cast<uint32_t>(rng() % 2);
      targets.push_back({static_cast<uint32_t>(regs.size()), count, true});
      target_roots.emplace_back(*heap, target);
      live_targets.push_back(id);
      for (uint32_t k = 0; k < count; ++k) {
        uint32_t reg = static_cast<uint32_t>(regs.size());
        Local<Node> held = heap->New<Node>(reg);
        int16_t token = -1;
        if (chance(30)) token = -2;
        else if (chance(30)) token = static_cast<int16_t>(rng() % kTokens);
        const void* token_ptr = token == -2 ? target.Get() : token >= 0 ? tokens[token].Get() : nullptr;
        absl::Status s = registry->Register(target.Get(), held.Get(), token_ptr);
        if (!s.ok()) {
          violate("Register failed: " + s.ToString());
          break;
        }
        regs.push_back({id, token, Fate::kWaiting});
        if (token >= 0) token_regs[token].push_back(reg);
      }
    } else if (op < 85) {
      // A live target becomes unreachable.
      if (live_targets.empty()) continue;
      size_t pick = rng() % live_targets.size();
      uint32_t id = live_targets[pick];
      live_targets[pick] = live_targets.back();
      live_targets.pop_back();
      targets[id].alive = false;
      target_roots[id].Reset();
    } else if (op < 90) {
      // Unregister through a live target used as its own token.
      if (live_targets.empty()) continue;
      uint32_t id = live_targets[rng() % live_targets.size()];
      const Target& t = targets[id];
      unregister(target_roots[id].Get(), [&](auto&& f) {
        for (uint32_t r = t.first_reg; r < t.first_reg + t.reg_count; ++r) {
          if (regs[r].token == -2) f(regs[r]);
        }
      });
    } else if (op < 94) {
      // Unregister through a pool token: removes registrations whose targets are alive,
      // and dead ones not yet delivered.
      int token = static_cast<int>(rng() % kTokens);
      unregister(tokens[token].Get(), [&](auto&& f) {
        for (uint32_t r : token_regs[token]) f(regs[r]);
      });
      token_regs[token].clear();
    } else if (op < 96) {
      // A pool token dies and is replaced: its registrations can no longer be removed.
      int token = static_cast<int>(rng() % kTokens);
      token_regs[token].clear();
      HandleScope inner(*heap);
      tokens[token] = Persistent<Node>(*heap, heap->New<Node>(-token));
    } else if (op < 98) {
      queue.PumpHostJobs();
    } else if (chance(5)) {
      heap->CollectGarbage();
    }
  }
  ASSERT_EQ(violations, 0u) << first_violation;

  // Everything dies; then every registration must have its fate.
  for (uint32_t id : live_targets) {
    targets[id].alive = false;
    target_roots[id].Reset();
  }
  live_targets.clear();
  for (int round = 0; round < 10 && (round < 2 || queue.scheduler().pending() > 0); ++round) {
    heap->CollectGarbage();
    for (int i = 0; i < 5; ++i) queue.PumpHostJobs();
  }
  ASSERT_EQ(violations, 0u) << first_violation;
  ASSERT_EQ(queue.scheduler().pending(), 0u);

  uint64_t counts[4] = {};
  for (const Reg& r : regs) ++counts[static_cast<int>(r.fate)];
  EXPECT_EQ(counts[static_cast<int>(Fate::kWaiting)], 0u) << "registrations never settled";
  const FinalizationStatistics& stats = queue.stats();
  EXPECT_EQ(stats.registered, regs.size());
  EXPECT_EQ(stats.delivered, counts[static_cast<int>(Fate::kDelivered)]);
  EXPECT_EQ(stats.dropped, counts[static_cast<int>(Fate::kDropped)]);
  EXPECT_EQ(stats.unregistered, counts[static_cast<int>(Fate::kUnregistered)]);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(registry->registered(), 0u);
  EXPECT_EQ(registry->pending_delivery(), 0u);
  switch (sched) {
    case Sched::kNever:
      EXPECT_EQ(stats.delivered, 0u);
      break;
    case Sched::kRandomizedDropping:
      EXPECT_GT(stats.dropped, 0u);
      EXPECT_GT(stats.delivered, 0u);
      break;
    default:
      EXPECT_EQ(stats.dropped, 0u);
      break;
  }
  EXPECT_GT(stats.unregistered, 0u);
  // Unregistering after death but before delivery must have happened too.
  if (sched != Sched::kAfterCollection && sched != Sched::kNever) {
    EXPECT_GT(stats.cancelled, 0u);
  }
  ::testing::Test::RecordProperty("registrations", std::to_string(regs.size()));
}

INSTANTIATE_TEST_SUITE_P(
    AllCollectorsAndSchedulers, FinalizationStressTest,
    ::testing::Combine(::testing::ValuesIn(AllCollectors()),
                       ::testing::Values(Sched::kAfterCollection, Sched::kHostJobs,
                                         Sched::kRandomizedDropping, Sched::kNever)),
    ParamName);

}  // namespace
}  // namespace gclab
