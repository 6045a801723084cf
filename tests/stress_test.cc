// Randomised stress test: random graph mutations and collections, checked against a
// plain reachability oracle after every collection:
//   - nothing reachable was freed or corrupted (every reachable object's id, checksum
//     and edges match the oracle; ASan builds also catch any access to freed memory);
//   - nothing unreachable is still counted live after a full collection.
// Reproducible: GCLAB_STRESS_SEED=<n> reruns one seed; failures print their seed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "gc/gc.h"
#include "tests/test_types.h"

namespace gclab::testing {
namespace {

constexpr int kFields = 4;

uint64_t Checksum(uint64_t id) { return id * 0x9E3779B97F4A7C15ull ^ 0xC0FFEE; }

class StressNode : public GarbageCollected<StressNode> {
 public:
  StressNode(uint64_t id, size_t padding) : id(id), check(Checksum(id)), padding(padding) {}
  void Trace(Visitor& visitor) const {
    for (const auto& f : fields) visitor.Trace(f);
  }
  uint64_t id;
  uint64_t check;
  size_t padding;
  Member<StressNode> fields[kFields];
};

// Large variant, so the large-object space is stressed too.
class BigStressNode : public StressNode {
 public:
  BigStressNode(uint64_t id, size_t padding) : StressNode(id, padding) {
    for (size_t i = 0; i < sizeof(bytes); ++i) bytes[i] = static_cast<uint8_t>(id + i);
  }
  uint8_t bytes[12000];
};

struct OracleNode {
  uint64_t edges[kFields] = {0, 0, 0, 0};  // 0: null
  bool big = false;
};

class Stress {
 public:
  Stress(CollectorKind kind, uint64_t seed) : rng_(seed) {
    HeapOptions options;
    options.collector = kind;
    options.heap_limit = size_t{512} << 20;
    options.policy = FixedBudgetPolicy::Create(32 << 10).value();  // collect often
    heap_ = Heap::Create(options).value();
  }

  void Run(int steps) {
    for (int step = 0; step < steps && !::testing::Test::HasFatalFailure(); ++step) {
      int op = Uniform(100);
      if (op < 35 || roots_.empty()) {
        Allocate();
      } else if (op < 65) {
        SetEdge();
      } else if (op < 75) {
        ClearEdge();
      } else if (op < 82) {
        AddRoot();
      } else if (op < 89) {
        DropRoot();
      } else if (op < 99 || Uniform(8) != 0) {
        CheckSomePath();
      } else {
        heap_->CollectGarbage();  // explicit; the budget triggers many more
        CheckAgainstOracle();
      }
    }
    heap_->CollectGarbage();
    CheckAgainstOracle();
    std::printf("seed done: %d oracle checks, %llu collections, %zu objects live, %llu allocated\n",
                checks_, static_cast<unsigned long long>(heap_->stats().collections),
                heap_->stats().live_objects, static_cast<unsigned long long>(next_id_ - 1));
  }

 private:
  int Uniform(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // A random object reachable from the roots, found by a short random walk. The
  // returned pointer is valid until the next allocation.
  StressNode* RandomReachable() {
    if (roots_.empty()) return nullptr;
    StressNode* node = roots_[Uniform(static_cast<int>(roots_.size()))].Get();
    int steps = Uniform(6);
    for (int i = 0; i < steps; ++i) {
      StressNode* next = node->fields[Uniform(kFields)].Get();
      if (next == nullptr) break;
      node = next;
    }
    return node;
  }

  void Allocate() {
    HandleScope scope(*heap_);
    uint64_t id = next_id_++;
    bool big = Uniform(200) == 0;
    Local<StressNode> fresh = big ? Local<StressNode>(heap_->New<BigStressNode>(id, 0))
                                  : heap_->New<StressNode>(id, 0);
    oracle_[id].big = big;
    StressNode* parent = RandomReachable();  // after the allocation: pointer is fresh
    if (parent == nullptr || Uniform(4) == 0) {
      roots_.emplace_back(*heap_, fresh);
      root_ids_.push_back(id);
    } else {
      int f = Uniform(kFields);
      parent->fields[f] = fresh;
      oracle_[parent->id].edges[f] = id;
    }
  }

  void SetEdge() {
    StressNode* from = RandomReachable();
    StressNode* to = RandomReachable();
    int f = Uniform(kFields);
    from->fields[f] = to;
    oracle_[from->id].edges[f] = to->id;
  }

  void ClearEdge() {
    StressNode* from = RandomReachable();
    int f = Uniform(kFields);
    from->fields[f] = nullptr;
    oracle_[from->id].edges[f] = 0;
  }

  void AddRoot() {
    if (roots_.size() > 64) return;
    StressNode* node = RandomReachable();
    roots_.emplace_back(*heap_, node);
    root_ids_.push_back(node->id);
  }

  void DropRoot() {
    size_t i = static_cast<size_t>(Uniform(static_cast<int>(roots_.size())));
    roots_[i] = roots_.back();
    roots_.pop_back();
    root_ids_[i] = root_ids_.back();
    root_ids_.pop_back();
  }

  void CheckNode(const StressNode* node) {
    ASSERT_TRUE(heap_->Contains(node));
    auto it = oracle_.find(node->id);
    ASSERT_NE(it, oracle_.end()) << "object id " << node->id << " unknown to the oracle";
    ASSERT_EQ(node->check, Checksum(node->id)) << "object " << node->id << " corrupted";
    for (int f = 0; f < kFields; ++f) {
      const StressNode* target = node->fields[f].Get();
      ASSERT_EQ(target == nullptr ? 0 : target->id, it->second.edges[f])
          << "edge " << f << " of object " << node->id;
    }
    if (it->second.big) {
      auto* big = static_cast<const BigStressNode*>(node);
      for (size_t i = 0; i < sizeof(big->bytes); i += 997) {
        ASSERT_EQ(big->bytes[i], static_cast<uint8_t>(node->id + i));
      }
    }
  }

  void CheckSomePath() {
    StressNode* node = RandomReachable();
    CheckNode(node);
  }

  void CheckAgainstOracle() {
    // Oracle reachability from the root ids.
    absl::flat_hash_set<uint64_t> reachable;
    std::vector<uint64_t> stack(root_ids_.begin(), root_ids_.end());
    while (!stack.empty()) {
      uint64_t id = stack.back();
      stack.pop_back();
      if (!reachable.insert(id).second) continue;
      for (uint64_t e : oracle_[id].edges) {
        if (e != 0) stack.push_back(e);
      }
    }
    // Heap traversal from the real roots, checking every object on the way.
    absl::flat_hash_set<const StressNode*> seen;
    std::vector<const StressNode*> work;
    for (size_t i = 0; i < roots_.size(); ++i) {
      ASSERT_EQ(roots_[i]->id, root_ids_[i]);
      work.push_back(roots_[i].Get());
    }
    while (!work.empty()) {
      const StressNode* node = work.back();
      work.pop_back();
      if (!seen.insert(node).second) continue;
      CheckNode(node);
      if (::testing::Test::HasFatalFailure()) return;
      for (const auto& f : node->fields) {
        if (f) work.push_back(f.Get());
      }
    }
    ASSERT_EQ(seen.size(), reachable.size());
    ASSERT_EQ(heap_->stats().live_objects, reachable.size())
        << "after a full collection the heap counts unreachable objects as live";
    const HeapStatistics& s = heap_->stats();
    ASSERT_EQ(s.bytes_allocated - s.bytes_freed, s.live_bytes);
    // Forget the dead: they can never be reached again.
    for (auto it = oracle_.begin(); it != oracle_.end();) {
      if (!reachable.contains(it->first)) {
        oracle_.erase(it++);
      } else {
        ++it;
      }
    }
    ++checks_;
  }

  std::mt19937_64 rng_;
  std::unique_ptr<Heap> heap_;
  std::vector<Persistent<StressNode>> roots_;
  std::vector<uint64_t> root_ids_;
  absl::flat_hash_map<uint64_t, OracleNode> oracle_;
  uint64_t next_id_ = 1;
  int checks_ = 0;
};

class StressTest : public ::testing::TestWithParam<CollectorKind> {};

TEST_P(StressTest, RandomMutationsMatchOracle) {
  std::vector<uint64_t> seeds = {1, 2, 3, 20261121};
  if (const char* env = std::getenv("GCLAB_STRESS_SEED")) seeds = {std::strtoull(env, nullptr, 10)};
  const int kSteps = kSanitized ? 60'000 : 150'000;
  for (uint64_t seed : seeds) {
    SCOPED_TRACE("GCLAB_STRESS_SEED=" + std::to_string(seed));
    Stress stress(GetParam(), seed);
    stress.Run(kSteps);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, StressTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab::testing
