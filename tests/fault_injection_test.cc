// Fault injection (gc/fault_injection.h, gc/DESIGN.md [fault]): a realistic workload
// runs once to count its requests for memory from the OS, then once more for each of
// them with that request failing. Each failure must surface as a ResourceExhausted
// status or the out-of-memory handler (or be absorbed by a collection and a retry),
// and the heap must stay consistent: the independent verifier passes after every
// collection, the objects built survive intact, every finalization registration is
// delivered exactly once, and the program goes on allocating.
#include <string>
#include <vector>

#include "finalization/finalization.h"
#include "gc/fault_injection.h"
#include "gc/gc.h"
#include "gtest/gtest.h"
#include "linear_memory/linear_memory.h"
#include "tests/test_types.h"
#include "weak/weak.h"

namespace gclab {
namespace {

using testing::Blob;
using testing::CollectorParamName;
using testing::Node;
using NodeRegistry = FinalizationRegistry<Node>;

struct OutOfMemoryThrown {
  absl::Status status;
};

// What a run saw: the failures that reached it, and whether the heap was made.
struct Outcome {
  bool created = false;
  std::vector<std::string> failures;  // "TryNew: <message>" and the like
};

constexpr int kListLength = 30000;  // 32-byte cells: several mark-sweep pages
constexpr int kRegistrations = 100;

Outcome RunWorkload(CollectorKind kind) {
  Outcome outcome;
  HeapOptions options;
  options.collector = kind;
  options.heap_limit = size_t{64} << 20;
  StressOptions stress;
  stress.verify = true;  // the independent verifier after every collection
  options.stress = stress;
  absl::StatusOr<std::unique_ptr<Heap>> created = Heap::Create(options);
  if (!created.ok()) {
    EXPECT_EQ(created.status().code(), absl::StatusCode::kResourceExhausted) << created.status();
    EXPECT_NE(created.status().message().find("cannot reserve"), std::string::npos)
        << created.status();
    outcome.failures.push_back("Heap::Create: " + std::string(created.status().message()));
    return outcome;
  }
  outcome.created = true;
  Heap& heap = **created;
  heap.set_out_of_memory_handler([](const absl::Status& s) { throw OutOfMemoryThrown{s}; });
  EXPECT_TRUE(
      FinalizationQueue::For(heap).SetScheduler(std::make_unique<AfterEachCollectionScheduler>()).ok());
  auto note = [&](const std::string& what, const absl::Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << what << ": " << s;
    EXPECT_FALSE(s.message().empty());
    outcome.failures.push_back(what + ": " + std::string(s.message()));
  };

  int delivered = 0;
  std::vector<int64_t> values;  // the list's values, head first
  {
    HandleScope scope(heap);
    Local<NodeRegistry> registry =
        NodeRegistry::Create(heap, [&](Local<Node> held) { delivered += held->value == 7; });
    Local<WeakMap<Node, Node>> map = WeakMap<Node, Node>::New(heap);
    Persistent<Node> list;
    for (int i = 0; i < kListLength; ++i) {
      HandleScope inner(heap);
      absl::StatusOr<Local<Node>> n = heap.TryNew<Node>(i, Local<Node>(heap, list.Get()), Local<Node>());
      if (!n.ok()) {
        note("TryNew<Node>", n.status());
        continue;
      }
      list.Set(heap, n->Get());
      values.insert(values.begin(), i);
    }
    // Large objects, through TryNew (a status) and New (the handler).
    std::vector<Persistent<Blob<20000>>> big;
    for (uint32_t k = 0; k < 4; ++k) {
      HandleScope inner(heap);
      if (k % 2 == 0) {
        absl::StatusOr<Local<Blob<20000>>> b = heap.TryNew<Blob<20000>>(k);
        if (b.ok()) {
          big.emplace_back(heap, *b);
        } else {
          note("TryNew<Blob<20000>>", b.status());
        }
      } else {
        try {
          big.emplace_back(heap, heap.New<Blob<20000>>(k));
        } catch (const OutOfMemoryThrown& e) {
          note("New<Blob<20000>> (out-of-memory handler)", e.status);
        }
      }
    }
    // Registrations whose targets die, each with a held value; WeakMap entries.
    for (int i = 0; i < kRegistrations; ++i) {
      HandleScope inner(heap);
      Local<Node> target = heap.New<Node>(i);
      Local<Node> held = heap.New<Node>(7);
      EXPECT_TRUE(registry->Register(target.Get(), held.Get()).ok());
      Local<Node> value = heap.New<Node>(i);
      EXPECT_TRUE(map->Set(list.Get(), value.Get()).ok());
    }
    // A linear memory: a reservation, a commit, and a commit on Grow.
    absl::StatusOr<Local<LinearMemory>> memory =
        LinearMemory::Create(heap, {.initial_pages = 2, .maximum_pages = 8});
    if (memory.ok()) {
      (*memory)->data()[1000] = 42;
      absl::StatusOr<uint32_t> grown = (*memory)->Grow(2);
      if (!grown.ok()) note("LinearMemory::Grow", grown.status());
      EXPECT_EQ((*memory)->data()[1000], 42);
      EXPECT_EQ((*memory)->pages(), grown.ok() ? 4u : 2u);
    } else {
      note("LinearMemory::Create", memory.status());
    }

    heap.CollectGarbage();  // verified
    EXPECT_EQ(delivered, kRegistrations) << "every registration, exactly once";
    size_t k = 0;
    for (Node* n = list.Get(); n != nullptr; n = n->left, ++k) {
      EXPECT_LT(k, values.size());
      if (k >= values.size()) break;
      EXPECT_EQ(n->value, values[k]);
    }
    EXPECT_EQ(k, values.size());
    for (size_t b = 0; b < big.size(); ++b) EXPECT_TRUE(big[b]->Intact());
    if (list.Get() != nullptr) {
      EXPECT_NE(map->Get(list.Get()), nullptr);
    }
  }
  // The program goes on: more objects, more collections, nothing lost.
  {
    HandleScope scope(heap);
    Local<Node> more = heap.New<Node>(1);
    heap.CollectGarbage();
    EXPECT_EQ(more->value, 1);
  }
  heap.CollectGarbage();
  EXPECT_EQ(delivered, kRegistrations) << "no registration delivered twice";
  return outcome;
}

class FaultInjectionTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void TearDown() override { FaultInjection::Reset(); }
};

TEST_P(FaultInjectionTest, EveryRequestOfAWorkloadMayFail) {
  FaultInjection::Reset();
  Outcome clean = RunWorkload(GetParam());
  const uint64_t requests = FaultInjection::requests();
  ASSERT_TRUE(clean.created);
  EXPECT_TRUE(clean.failures.empty());
  // Reservations, pages, large objects, the linear memory's reservation and commits.
  ASSERT_GE(requests, 8u);
  int surfaced = 0;
  for (uint64_t n = 1; n <= requests; ++n) {
    SCOPED_TRACE("request " + std::to_string(n) + " of " + std::to_string(requests) + " failed");
    FaultInjection::FailNth(n);
    Outcome outcome = RunWorkload(GetParam());
    EXPECT_EQ(FaultInjection::failures(), 1u) << "the same workload makes the same requests";
    for (const std::string& f : outcome.failures) {
      ++surfaced;
      ::testing::Test::RecordProperty("request_" + std::to_string(n), f);
    }
  }
  // Some failures are absorbed (a collection and a retry); the rest reached the user.
  EXPECT_GT(surfaced, 0);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, FaultInjectionTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab
