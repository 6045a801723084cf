// Fault injection (gc/fault_injection.h, gc/DESIGN.md [fault]): a realistic workload
// runs once to count its requests for memory from the OS, then once more for each of
// them with that request failing. Each failure must surface as a ResourceExhausted
// status or the out-of-memory handler (or be absorbed by a collection and a retry),
// and the heap must stay consistent: the independent verifier passes after every
// collection, the objects built survive intact, every finalization registration is
// delivered exactly once, and the program goes on allocating.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "finalization/finalization.h"
#include "gc/fault_injection.h"
#include "gc/gc.h"
#include "gtest/gtest.h"
#include "linear_memory/linear_memory.h"
#include "tests/test_types.h"
#include "weak/weak.h"

namespace gclab {
namespace {

using testing::Array;
using testing::Blob;
using testing::CollectorParamName;
using testing::Counted;
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

// 32-byte cells: several mark-sweep pages (fewer under sanitizers and stress, where
// the walk's hundred-odd runs cost the most).
const int kListLength = testing::Reduced() ? 6000 : 30000;
constexpr int kRegistrations = 100;
constexpr int kWidth = 5000;        // one object with this many references: a deep worklist
constexpr int kTableEntries = 300;  // WeakMap and WeakSet entries, half with dead keys
constexpr int kCounted = 100;       // objects with destructors, live and dead each

// The workload touches every kind of request gclab makes: the heap's reservations,
// pages and large objects, a linear memory's reservation and commits, and side tables
// from malloc (handle blocks, the marking worklist, weak slots, ephemerons whose keys
// are reached after them, weak callbacks, KeepDuringJob entries, WeakMap and WeakSet
// entries, the list of objects to destroy). When the out-of-memory handler fires, the
// rest of the workload is skipped, as it would be in a program; everything built
// before it must still hold.
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
    EXPECT_TRUE(absl::StartsWith(created.status().message(), "gclab: cannot"))
        << created.status();
    outcome.failures.push_back("Heap::Create: " + std::string(created.status().message()));
    return outcome;
  }
  outcome.created = true;
  Heap& heap = **created;
  heap.set_out_of_memory_handler([](const absl::Status& s) { throw OutOfMemoryThrown{s}; });
  auto note = [&](const std::string& what, const absl::Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << what << ": " << s;
    EXPECT_TRUE(absl::StartsWith(s.message(), "gclab: ")) << what << ": " << s;
    outcome.failures.push_back(what + ": " + std::string(s.message()) + " [" +
                               FaultInjection::last_failed_request() + "]");
  };

  // What the workload built, for the checks after it, however far it got.
  int delivered = 0;
  int registered = 0;
  int destroyed = 0;
  int dead_counted = 0;
  std::vector<int64_t> values;  // the list's values, head first
  Persistent<NodeRegistry> registry;
  Persistent<Node> list;
  Persistent<Array> wide;
  std::vector<Persistent<Blob<20000>>> big;
  Persistent<WeakMap<Node, Node>> map;
  Persistent<WeakSet<Node>> set;
  std::vector<std::pair<int, int64_t>> map_entries;  // wide->slots index, value
  int set_entries = 0;
  Persistent<Counted> counted;
  int live_counted = 0;
  try {
    HandleScope scope(heap);
    absl::Status scheduled =
        FinalizationQueue::For(heap).SetScheduler(std::make_unique<AfterEachCollectionScheduler>());
    EXPECT_TRUE(scheduled.ok()) << scheduled;
    registry.Set(heap, NodeRegistry::Create(heap, [&](Local<Node> held) {
                         delivered += held->value == 7;
                       }).Get());
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
    // One object with kWidth children, all made in one scope (two blocks of handles).
    {
      HandleScope inner(heap);
      Local<Array> array = heap.New<Array>(kWidth);
      std::vector<Local<Node>> children;
      for (int i = 0; i < kWidth; ++i) children.push_back(heap.New<Node>(i));
      for (int i = 0; i < kWidth; ++i) array->slots[i] = children[i];
      wide.Set(heap, array.Get());
    }
    // Tables: keys that live (children of `wide`, reached after the tables or before)
    // and keys that die.
    Local<WeakMap<Node, Node>> m = WeakMap<Node, Node>::New(heap);
    map.Set(heap, m.Get());
    Local<WeakSet<Node>> ws = WeakSet<Node>::New(heap);
    set.Set(heap, ws.Get());
    for (int i = 0; i < kTableEntries; ++i) {
      HandleScope inner(heap);
      const bool live = i % 2 == 0;
      Local<Node> key = live ? Local<Node>(heap, wide->slots[i * 7 % kWidth].Get()) : heap.New<Node>(-i);
      Local<Node> value = heap.New<Node>(1000 + i);
      absl::Status s = map->Set(key.Get(), value.Get());
      if (s.ok()) {
        if (live) map_entries.push_back({i * 7 % kWidth, 1000 + i});
      } else {
        note("WeakMap::Set", s);
      }
      s = set->Add(key.Get());
      if (s.ok()) {
        set_entries += live;
      } else {
        note("WeakSet::Add", s);
      }
    }
    // Registrations whose targets die, each with a held value; half with the target
    // as unregister token, and one in ten of those unregistered.
    for (int i = 0; i < kRegistrations; ++i) {
      HandleScope inner(heap);
      Local<Node> target = heap.New<Node>(i);
      Local<Node> held = heap.New<Node>(7);
      const void* token = i % 2 == 0 ? target.Get() : nullptr;
      absl::Status s = registry->Register(target.Get(), held.Get(), token);
      if (!s.ok()) {
        note("FinalizationRegistry::Register", s);
        continue;
      }
      ++registered;
      if (i % 20 == 0) {
        absl::StatusOr<bool> removed = registry->Unregister(target.Get());
        EXPECT_TRUE(removed.ok() && *removed);
        --registered;
      }
    }
    // Objects with destructors: a live chain, and as many that die.
    for (int i = 0; i < kCounted; ++i) {
      HandleScope inner(heap);
      Local<Counted> c = heap.New<Counted>(&destroyed, "live");
      c->next = counted.Get();
      counted.Set(heap, c.Get());
      ++live_counted;
      heap.New<Counted>(&destroyed, "dead");
      ++dead_counted;
    }
    // WeakRefs read in this job: KeepDuringJob entries.
    for (int i = 0; i < 40; ++i) {
      HandleScope inner(heap);
      absl::StatusOr<Local<WeakRef<Node>>> ref = WeakRef<Node>::Create(heap, heap.New<Node>(i));
      EXPECT_TRUE(ref.ok()) << ref.status();
      if (ref.ok()) {
        EXPECT_EQ((*ref)->Deref()->value, i);
      }
    }
    heap.ClearKeptObjects();
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
    // An instance with two memories: its list of memories.
    absl::StatusOr<Local<Instance>> instance = Instance::Create(heap, {{1, 2}, {1, 2}});
    if (instance.ok()) {
      EXPECT_EQ((*instance)->memory_count(), 2u);
    } else {
      note("Instance::Create", instance.status());
    }
    heap.CollectGarbage();  // verified
  } catch (const OutOfMemoryThrown& e) {
    note("out-of-memory handler", e.status);
  }

  // Whatever the workload got through, the heap is consistent and holds what it built.
  heap.CollectGarbage();  // verified
  EXPECT_EQ(delivered, registered) << "every registration, exactly once";
  size_t k = 0;
  for (Node* n = list.Get(); n != nullptr; n = n->left, ++k) {
    EXPECT_LT(k, values.size());
    if (k >= values.size()) break;
    EXPECT_EQ(n->value, values[k]);
  }
  EXPECT_EQ(k, values.size());
  for (size_t b = 0; b < big.size(); ++b) EXPECT_TRUE(big[b]->Intact());
  if (wide.Get() != nullptr) {
    for (int i = 0; i < kWidth; ++i) EXPECT_EQ(wide->slots[i]->value, i);
    if (map.Get() != nullptr) {
      EXPECT_EQ(map->size(), map_entries.size()) << "dead keys' entries are gone";
      for (const auto& [slot, value] : map_entries) {
        Node* v = map->Get(wide->slots[slot].Get());
        EXPECT_NE(v, nullptr);
        if (v != nullptr) {
          EXPECT_EQ(v->value, value);
        }
      }
    }
    if (set.Get() != nullptr) {
      EXPECT_EQ(set->size(), static_cast<size_t>(set_entries));
    }
  }
  EXPECT_EQ(destroyed, dead_counted) << "the dead destroyed once, the live not at all";
  int chain = 0;
  for (Counted* c = counted.Get(); c != nullptr; c = c->next) {
    EXPECT_EQ(c->text(), "live");
    ++chain;
  }
  EXPECT_EQ(chain, live_counted);
  // The program goes on: more objects, more collections, nothing lost.
  {
    HandleScope scope(heap);
    Local<Node> more = heap.New<Node>(1);
    heap.CollectGarbage();
    EXPECT_EQ(more->value, 1);
  }
  heap.CollectGarbage();
  EXPECT_EQ(delivered, registered) << "no registration delivered twice";
  created->reset();  // destroys the live ones: every destructor ran exactly once
  EXPECT_EQ(destroyed, dead_counted + live_counted);
  return outcome;
}

class FaultInjectionTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void TearDown() override { FaultInjection::Reset(); }
};

TEST_P(FaultInjectionTest, EveryRequestOfAWorkloadMayFail) {
  // The process-wide table of live heaps is allocated by the first Heap::Create: a
  // heap made and dropped first, so that every run of the workload makes the same
  // requests.
  ASSERT_TRUE(Heap::Create().ok());
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

// A collection in which malloc refuses every request: each side table the cycle
// fills takes its fallback (gc/DESIGN.md [fault]). The marking worklist overflows
// (20000 children of one object, where the worklist has room for far fewer), weak
// slots and ephemerons beyond their tables' chunks are kept as strong, weak callbacks
// beyond their list are found by re-tracing, reached keys beyond their queue by a scan,
// and objects whose destructor could not be listed by a walk. The collection completes
// with the verifier on, nothing live is lost or changed, and the next collection, with
// memory again, clears what the first kept.
TEST_P(FaultInjectionTest, ACollectionWithNoMemoryForItsSideTablesStillCollects) {
  constexpr int kWide = 20000;
  constexpr int kSets = 24;        // weak callbacks: more than the list has room for
  constexpr int kSetKeys = 500;    // weak slots: more than one chunk holds
  constexpr int kMapKeys = 2000;   // ephemerons whose keys are reached after them
  constexpr int kRegistered = 50;
  HeapOptions options;
  options.collector = GetParam();
  StressOptions stress;
  stress.verify = true;
  options.stress = stress;
  absl::StatusOr<std::unique_ptr<Heap>> created = Heap::Create(options);
  ASSERT_TRUE(created.ok()) << created.status();
  Heap& heap = **created;
  int delivered = 0;
  int destroyed = 0;
  int dead_counted = 0;
  int live_counted = 0;
  {
    HandleScope scope(heap);
    ASSERT_TRUE(FinalizationQueue::For(heap)
                    .SetScheduler(std::make_unique<AfterEachCollectionScheduler>())
                    .ok());
    Local<NodeRegistry> registry =
        NodeRegistry::Create(heap, [&](Local<Node>) { ++delivered; });
    // One ordinary collection first, with a little of everything, so that the side
    // tables exist but are small.
    {
      // A key reached only after its table was traced, whichever order the collector
      // traces roots in: pending for a while, so its tables get their first chunks.
      HandleScope inner(heap);
      Local<WeakMap<Node, Node>> first = WeakMap<Node, Node>::New(heap);
      Local<Array> holders = heap.New<Array>(1);
      {
        HandleScope key_scope(heap);  // the key is no root of its own
        holders->slots[0] = heap.New<Node>(1).Get();
      }
      Local<WeakMap<Node, Node>> last = WeakMap<Node, Node>::New(heap);
      for (const Local<WeakMap<Node, Node>>& m : {first, last}) {
        ASSERT_TRUE(m->Set(holders->slots[0].Get(), heap.New<Node>(2).Get()).ok());
      }
      heap.CollectGarbage();
    }
    // The graph: tables first (so that their keys are pending when traced), then the
    // object that reaches the keys.
    Local<WeakMap<Node, Node>> map = WeakMap<Node, Node>::New(heap);
    std::vector<Local<WeakSet<Node>>> set_list;
    for (int s = 0; s < kSets; ++s) set_list.push_back(WeakSet<Node>::New(heap));
    Local<Array> wide = heap.New<Array>(kWide);
    for (int i = 0; i < kWide; ++i) {
      HandleScope inner(heap);  // the children are reached through `wide` only
      wide->slots[i] = heap.New<Node>(i).Get();
    }
    // A table on each side of `wide` among the roots, so that its keys are pending
    // when the table is traced, whichever order the collector takes roots in.
    Local<WeakMap<Node, Node>> map2 = WeakMap<Node, Node>::New(heap);
    for (int i = 0; i < kMapKeys; ++i) {
      HandleScope inner(heap);
      Local<WeakMap<Node, Node>>& m = i % 2 == 0 ? map : map2;
      ASSERT_TRUE(m->Set(wide->slots[i].Get(), heap.New<Node>(-i).Get()).ok());
      ASSERT_TRUE(m->Set(heap.New<Node>(0).Get(), heap.New<Node>(0).Get()).ok());  // dies
    }
    for (int s = 0; s < kSets; ++s) {
      for (int i = 0; i < kSetKeys; ++i) {
        HandleScope inner(heap);
        ASSERT_TRUE(set_list[s]->Add(wide->slots[(s * kSetKeys + i) % kWide].Get()).ok());
        ASSERT_TRUE(set_list[s]->Add(heap.New<Node>(0).Get()).ok());  // dies
      }
    }
    std::vector<Local<Blob<20000>>> big;
    for (uint32_t b = 0; b < 3; ++b) big.push_back(heap.New<Blob<20000>>(b));
    for (int i = 0; i < kRegistered; ++i) {
      HandleScope inner(heap);
      ASSERT_TRUE(registry->Register(heap.New<Node>(i).Get(), heap.New<Node>(7).Get()).ok());
    }
    Persistent<Counted> chain(heap, heap.New<Counted>(&destroyed, "live"));
    ++live_counted;

    FaultInjection::FailFrom(1);  // malloc is exhausted from here on
    // Objects with destructors allocated now: a copying collector's list of them
    // cannot grow. (Allocation itself may fail where it needs a new page.)
    for (int i = 0; i < 100; ++i) {
      HandleScope inner(heap);
      absl::StatusOr<Local<Counted>> dead = heap.TryNew<Counted>(&destroyed, "dead");
      if (dead.ok()) ++dead_counted;
      absl::StatusOr<Local<Counted>> live = heap.TryNew<Counted>(&destroyed, "live");
      if (live.ok()) {
        (*live)->next = chain.Get();
        chain.Set(heap, live->Get());
        ++live_counted;
      }
    }
    const uint64_t fallbacks_before = heap.stats().side_table_fallbacks;
    heap.CollectGarbage();  // verified; every fallback it takes
    const uint64_t refused = FaultInjection::failures();
    FaultInjection::Reset();
    EXPECT_GT(refused, 0u);
    EXPECT_GT(heap.stats().side_table_fallbacks, fallbacks_before);
    RecordProperty("side_table_fallbacks",
                   std::to_string(heap.stats().side_table_fallbacks - fallbacks_before));

    // Nothing live lost or changed; the dead destroyed exactly once.
    auto check_live = [&] {
      for (int i = 0; i < kWide; ++i) ASSERT_EQ(wide->slots[i]->value, i);
      for (int i = 0; i < kMapKeys; ++i) {
        Node* v = (i % 2 == 0 ? map : map2)->Get(wide->slots[i].Get());
        ASSERT_NE(v, nullptr) << i;
        ASSERT_EQ(v->value, -i);
      }
      for (int s = 0; s < kSets; ++s) {
        for (int i = 0; i < kSetKeys; ++i) {
          ASSERT_TRUE(set_list[s]->Has(wide->slots[(s * kSetKeys + i) % kWide].Get()));
        }
      }
      for (const Local<Blob<20000>>& b : big) EXPECT_TRUE(b->Intact());
      int n = 0;
      for (Counted* c = chain.Get(); c != nullptr; c = c->next, ++n) EXPECT_EQ(c->text(), "live");
      EXPECT_EQ(n, live_counted);
      EXPECT_EQ(destroyed, dead_counted);
    };
    check_live();
    // With memory again, the next collection is exact: what the first kept as strong
    // is gone, and every registration was delivered once.
    heap.CollectGarbage();
    check_live();
    EXPECT_EQ(map->size() + map2->size(), static_cast<size_t>(kMapKeys));
    for (int s = 0; s < kSets; ++s) EXPECT_EQ(set_list[s]->size(), static_cast<size_t>(kSetKeys));
    EXPECT_EQ(delivered, kRegistered);
  }
  created->reset();  // the live ones now: every destructor ran exactly once
  EXPECT_EQ(destroyed, dead_counted + live_counted);
}

// A scheduler with no memory to take the deliveries a collection found keeps none of
// them and loses none: the queue offers them again after the next collection.
TEST_P(FaultInjectionTest, DeliveriesTheSchedulerHadNoMemoryForComeLater) {
  // Counts deliveries at given collections: no stress collections in between.
  std::unique_ptr<Heap> owned = testing::MakeHeapWithoutStress(GetParam(), size_t{256} << 20, nullptr);
  Heap& heap = *owned;
  RandomizedScheduler::Options randomized;
  randomized.max_delay_turns = 0;  // every delivery runs at the first turn after it
  absl::StatusOr<std::unique_ptr<RandomizedScheduler>> scheduler =
      RandomizedScheduler::Create(randomized);
  ASSERT_TRUE(scheduler.ok());
  ASSERT_TRUE(FinalizationQueue::For(heap).SetScheduler(std::move(*scheduler)).ok());
  int delivered = 0;
  HandleScope scope(heap);
  Local<NodeRegistry> registry = NodeRegistry::Create(heap, [&](Local<Node>) { ++delivered; });
  auto register_dying = [&](int n) {
    for (int i = 0; i < n; ++i) {
      HandleScope inner(heap);
      ASSERT_TRUE(registry->Register(heap.New<Node>(i).Get(), heap.New<Node>(7).Get()).ok());
    }
  };
  // The queue's and the scheduler's lists get room for 100 deliveries.
  register_dying(100);
  heap.CollectGarbage();
  ASSERT_EQ(delivered, 100);
  // 300 deaths: more than the scheduler has room for, with malloc refusing everything
  // from the moment the collection found them.
  register_dying(300);
  FinalizationQueue::For(heap).ReserveDead(300);  // the collection can note them all
  FaultInjection::FailFrom(1);
  heap.CollectGarbage();
  const uint64_t refused = FaultInjection::failures();
  FaultInjection::Reset();
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(delivered, 100) << "no memory to schedule them: none ran";
  EXPECT_EQ(FinalizationQueue::For(heap).stats().found_dead, 400u);
  heap.CollectGarbage();  // memory again: offered, scheduled and run
  EXPECT_EQ(delivered, 400);
  heap.CollectGarbage();
  EXPECT_EQ(delivered, 400) << "none twice";
}

// A collection that finds deaths with no memory to note them keeps the registrations
// ready and notes them after a later collection: every one is delivered, once.
// (Run on a heap whose first collection is the one without memory.)
TEST_P(FaultInjectionTest, DeathsACollectionHadNoMemoryToNoteAreDeliveredLater) {
  // Counts deliveries at given collections: no stress collections in between.
  std::unique_ptr<Heap> owned = testing::MakeHeapWithoutStress(GetParam(), size_t{256} << 20, nullptr);
  Heap& heap = *owned;
  int delivered = 0;
  HandleScope scope(heap);
  Local<NodeRegistry> registry = NodeRegistry::Create(heap, [&](Local<Node>) { ++delivered; });
  for (int i = 0; i < 200; ++i) {
    HandleScope inner(heap);
    Local<Node> target = heap.New<Node>(i);
    // Half with the target as token: the token index is rebuilt when they die.
    ASSERT_TRUE(registry->Register(target.Get(), heap.New<Node>(7).Get(),
                                   i % 2 == 0 ? target.Get() : nullptr)
                    .ok());
  }
  FaultInjection::FailFrom(1);
  heap.CollectGarbage();
  heap.CollectGarbage();  // still no memory: they wait
  FaultInjection::Reset();
  EXPECT_EQ(delivered, 0);
  // The targets without a token died. Those that are their own token were kept: a
  // token is a weak slot, and with no memory for the weak-slot table it was traced as
  // strong.
  EXPECT_EQ(registry->pending_delivery(), 100u);
  heap.CollectGarbage();
  EXPECT_EQ(delivered, 200);
  EXPECT_EQ(registry->pending_delivery(), 0u);
  heap.CollectGarbage();
  EXPECT_EQ(delivered, 200) << "none twice";
  EXPECT_EQ(FinalizationQueue::For(heap).stats().found_dead, 200u);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, FaultInjectionTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab
