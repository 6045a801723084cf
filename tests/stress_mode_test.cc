// Stress modes (gc/DESIGN.md [stress]): their options, when they collect, zapping, and
// the independent verifier's findings on heaps broken on purpose.
#include <cstdlib>
#include <cstring>

#include "gc/gc.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gclab {
namespace {

using testing::CollectorParamName;
using testing::Node;

TEST(StressOptionsTest, ParsesEveryItem) {
  absl::StatusOr<StressOptions> s =
      StressOptions::Parse("every=64,every-bytes=4096,random=10,seed=7,scale=4,zap,verify");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->collect_every_allocations, 64u);
  EXPECT_EQ(s->collect_every_bytes, 4096u);
  EXPECT_EQ(s->collect_randomly_every, 10u);
  EXPECT_EQ(s->random_seed, 7u);
  EXPECT_EQ(s->scale, 4u);
  EXPECT_TRUE(s->zap_freed);
  EXPECT_TRUE(s->verify);
  EXPECT_TRUE(s->collects());
  absl::StatusOr<StressOptions> none = StressOptions::Parse("");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->any());
}

TEST(StressOptionsTest, BadItemsAreNamed) {
  for (const char* bad : {"every", "every=0", "every=x", "random=-1", "zap=1", "collect", "seed="}) {
    absl::StatusOr<StressOptions> s = StressOptions::Parse(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find(std::string(bad).substr(0, 5)), std::string::npos)
        << s.status();
  }
}

TEST(StressOptionsDeathTest, AMalformedEnvironmentStopsTheProgram) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        setenv("GCLAB_STRESS", "every=64,bogus", 1);
        Heap::Create({}).IgnoreError();
      },
      "GCLAB_STRESS=every=64,bogus: gclab: unknown stress option 'bogus'");
}

class StressModeTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  std::unique_ptr<Heap> Make(StressOptions stress) {
    HeapOptions options;
    options.collector = GetParam();
    options.heap_limit = size_t{64} << 20;
    options.stress = stress;
    // The structural verifier of debug builds would see the broken heaps below first.
    options.verify_after_collection = false;
    return Heap::Create(options).value();
  }
};

TEST_P(StressModeTest, CollectsAtEveryNthAllocation) {
  StressOptions stress;
  stress.collect_every_allocations = 10;
  std::unique_ptr<Heap> heap = Make(stress);
  HandleScope scope(*heap);
  Local<Node> keep = heap->New<Node>(0);
  for (int i = 1; i < 1000; ++i) {
    Local<Node> n = heap->New<Node>(i);
    if (i % 2 == 0) keep->left = n;
  }
  // 1000 allocations: the 10th, 20th, ... 1000th each collect before taking their cell.
  EXPECT_EQ(heap->stats().stress_collections, 100u);
  EXPECT_EQ(heap->stats().last_cycle.reason, CollectionReason::kStress);
  EXPECT_EQ(keep->left->value, 998);
}

TEST_P(StressModeTest, CollectsEveryNBytesAndAtRandomReproducibly) {
  StressOptions bytes;
  bytes.collect_every_bytes = 64 * 1024;
  std::unique_ptr<Heap> heap = Make(bytes);
  {
    HandleScope scope(*heap);
    for (int i = 0; i < 4096; ++i) heap->New<testing::Blob<1000>>(i);  // 1 KiB cells and more
  }
  // 4096 cells of just over 1 KiB: at least 64 intervals of 64 KiB.
  EXPECT_GE(heap->stats().stress_collections, 64u);
  EXPECT_LE(heap->stats().stress_collections, 70u);

  auto random_collections = [&](uint64_t seed) {
    StressOptions random;
    random.collect_randomly_every = 50;
    random.random_seed = seed;
    std::unique_ptr<Heap> h = Make(random);
    HandleScope scope(*h);
    for (int i = 0; i < 10000; ++i) h->New<Node>(i);
    return h->stats().stress_collections;
  };
  const uint64_t a = random_collections(1);
  EXPECT_EQ(a, random_collections(1)) << "the same seed, the same points";
  EXPECT_GT(a, 100u);  // about 10000 / 50 = 200
  EXPECT_LT(a, 400u);
}

// A node whose constructor allocates: a stress point inside it waits for the next
// allocation outside any constructor ([alloc.ctor]).
class Pair : public GarbageCollected<Pair> {
 public:
  explicit Pair(Heap& heap) : first(heap.NewRaw<Node>(1)) {}
  void Trace(Visitor& v) const { v.Trace(first); }
  Member<Node> first;
};

TEST_P(StressModeTest, APointInsideAConstructorWaitsForTheNextAllocation) {
  StressOptions stress;
  stress.collect_every_allocations = 2;  // the 2nd allocation is the one in Pair's constructor
  std::unique_ptr<Heap> heap = Make(stress);
  HandleScope scope(*heap);
  Local<Pair> pair = heap->New<Pair>(*heap);
  EXPECT_EQ(heap->stats().stress_collections, 0u);
  EXPECT_EQ(pair->first->value, 1);
  heap->New<Node>(2);  // the deferred point
  EXPECT_EQ(heap->stats().stress_collections, 1u);
  EXPECT_EQ(pair->first->value, 1);
}

TEST_P(StressModeTest, BudgetCollectionsStillHappenWhereTheyWould) {
  // The stress counter replaces the fast path, not the budget: with a policy that
  // never collects early and a small limit, only the limit forces collections.
  StressOptions stress;
  stress.collect_every_allocations = 1000000;
  std::unique_ptr<Heap> heap = Make(stress);
  HandleScope scope(*heap);
  for (int i = 0; i < 200000; ++i) heap->New<testing::Blob<200>>(i);
  EXPECT_EQ(heap->stats().stress_collections, 0u);
  EXPECT_GT(heap->stats().collections, 0u) << "200000 * 216 bytes is over the 4 MiB budget";
}

TEST_P(StressModeTest, TheVerifierPassesOnASoundHeap) {
  StressOptions stress;
  stress.collect_every_allocations = 7;
  stress.verify = true;
  stress.zap_freed = true;
  std::unique_ptr<Heap> heap = Make(stress);
  HandleScope scope(*heap);
  Persistent<Node> root(*heap, heap->New<Node>(0), "root");
  for (int i = 1; i < 5000; ++i) {
    HandleScope inner(*heap);
    Local<Node> n = heap->New<Node>(i, Local<Node>(*heap, root->left.Get()), Local<Node>());
    if (i % 3 == 0) root->left = n;
  }
  EXPECT_GT(heap->stats().stress_collections, 600u);
  int64_t expected = 4998 - 4998 % 3;
  for (Node* n = root->left; n != nullptr; n = n->left, expected -= 3) {
    ASSERT_EQ(n->value, expected);
  }
}

// Breaks the rule that Trace reports every reference every time: the first call of
// each collection (the collector's) hides `hidden`; later calls (the verifier's) show it.
int trace_calls_this_cycle = 0;
class Liar : public GarbageCollected<Liar> {
 public:
  void Trace(Visitor& v) const {
    v.Trace(shown, "shown");
    if (trace_calls_this_cycle++ > 0) v.Trace(hidden, "hidden");
  }
  Member<Node> shown;
  Member<Node> hidden;
};

TEST_P(StressModeTest, TheVerifierNamesADanglingReferenceAndItsPath) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        StressOptions stress;
        stress.verify = true;
        std::unique_ptr<Heap> heap = Make(stress);
        Persistent<Liar> liar;
        {
          HandleScope inner(*heap);
          liar.Set(*heap, heap->New<Liar>().Get());
          liar.set_name("the liar");
          liar->shown = heap->New<Node>(1);
          liar->hidden = heap->New<Node>(2);
        }
        trace_calls_this_cycle = 0;
        heap->CollectGarbage();
      },
      "independent verifier, after collection 1: a reference to 0x[0-9a-f]+, which is not an "
      "object the collector kept .* at root 'Persistent \"the liar\"' -> .*Liar@0x[0-9a-f]+ "
      "field 'hidden'");
}

// The opposite lie: the collector's call reports `extra`, later calls forget it. The
// collector keeps an object that the re-trace cannot reach, as a collector that marks
// too much (or a barrier that keeps a stale object) would.
class Forgetful : public GarbageCollected<Forgetful> {
 public:
  void Trace(Visitor& v) const {
    if (trace_calls_this_cycle++ == 0) v.Trace(extra);
  }
  Member<Node> extra;
};

TEST_P(StressModeTest, TheVerifierNamesAnObjectKeptWithoutARoot) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        StressOptions stress;
        stress.verify = true;
        std::unique_ptr<Heap> heap = Make(stress);
        Persistent<Forgetful> forgetful;
        {
          HandleScope scope(*heap);
          forgetful.Set(*heap, heap->New<Forgetful>().Get());
          forgetful->extra = heap->New<Node>(5);
        }
        trace_calls_this_cycle = 0;
        heap->CollectGarbage();
      },
      "independent verifier, after collection 1: the collector kept .*Node@0x[0-9a-f]+, "
      "which no root reaches");
}

// A hook may keep objects alive from its finalization phase (gc/DESIGN.md
// [cycle.finalize]) without tracing them as roots: the verifier counts them as roots
// of that cycle, and they die in the next.
class OneCycleKeeper : public CollectionHook {
 public:
  void ProcessFinalization(CycleContext& context) override {
    context.MarkSlot(&kept);
    kept = nullptr;  // for this cycle only
  }
  void AfterCollection() override {}
  void* kept = nullptr;
};

TEST_P(StressModeTest, ObjectsAHookMarksAreRootsOfThatCycle) {
  StressOptions stress;
  stress.verify = true;
  std::unique_ptr<Heap> heap = Make(stress);
  OneCycleKeeper keeper;
  heap->AddCollectionHook(&keeper);
  {
    HandleScope scope(*heap);
    keeper.kept = heap->New<Node>(5).Get();
  }
  heap->CollectGarbage();
  EXPECT_EQ(heap->stats().live_objects, 1u);
  heap->CollectGarbage();
  EXPECT_EQ(heap->stats().live_objects, 0u);
  heap->RemoveCollectionHook(&keeper);
}

TEST_P(StressModeTest, ZappedCellsHoldThePattern) {
  if (GetCollectorInfo(GetParam()).capabilities.moves_objects || testing::kAddressSanitizer) {
    GTEST_SKIP() << "reads a dead cell in place: a non-moving collector, without ASan";
  }
  StressOptions stress;
  stress.zap_freed = true;
  std::unique_ptr<Heap> heap = Make(stress);
  HandleScope scope(*heap);
  Local<Node> keep = heap->New<Node>(1);  // keeps the page partly live
  const Node* dead;
  {
    HandleScope inner(*heap);
    dead = heap->New<Node>(0x1234).Get();
  }
  heap->CollectGarbage();
  ASSERT_FALSE(heap->Contains(dead));
  // The payload's first word is the free-list link; the rest is zapped.
  unsigned char bytes[sizeof(Node) - sizeof(void*)];
  std::memcpy(bytes, reinterpret_cast<const char*>(dead) + sizeof(void*), sizeof(bytes));
  for (unsigned char b : bytes) ASSERT_EQ(b, 0xdb);
  EXPECT_EQ(keep->value, 1);
}

// A page whose cells were zapped one by one (partly live) and then dies whole is zapped
// again whole: under ASan that once wrote over the poisoned cells (found by the fuzzer's
// regression corpus under --config=asan).
TEST_P(StressModeTest, APagePartlyZappedThenDeadIsZappedAgain) {
  StressOptions stress;
  stress.zap_freed = true;
  std::unique_ptr<Heap> heap = Make(stress);
  Persistent<testing::Array> array;
  {
    HandleScope scope(*heap);
    array.Set(*heap, heap->New<testing::Array>(0).Get());
    for (int i = 0; i < 4000; ++i) {
      Local<Node> n = heap->New<Node>(i);
      if (i % 2 == 0) array->slots.push_back(Member<Node>(n));
    }
  }
  heap->CollectGarbage();  // the odd nodes die: cells zapped one by one
  EXPECT_EQ(heap->stats().live_objects, 2002u);  // with the array and its slots' store
  for (size_t i = 0; i < array->slots.size(); ++i) ASSERT_EQ(array->slots[i]->value, static_cast<int64_t>(2 * i));
  array->slots.clear();
  heap->CollectGarbage();  // the rest die: whole pages zapped again
  EXPECT_EQ(heap->stats().live_objects, 2u);  // the array and its (empty) store
  HandleScope scope(*heap);
  for (int i = 0; i < 4000; ++i) heap->New<Node>(i);  // and the pages are reused
}

TEST_P(StressModeTest, UnderAsanAReadOfAZappedCellIsReported) {
  if (!testing::kAddressSanitizer || GetCollectorInfo(GetParam()).capabilities.moves_objects) {
    GTEST_SKIP() << "ASan poisons the zapped cells of a non-moving collector";
  }
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        StressOptions stress;
        stress.zap_freed = true;
        std::unique_ptr<Heap> heap = Make(stress);
        HandleScope scope(*heap);
        Local<Node> keep = heap->New<Node>(1);
        Node* dead;
        {
          HandleScope inner(*heap);
          dead = heap->New<Node>(2).Get();
        }
        heap->CollectGarbage();
        // A use after free. (The first word, `value`, holds the free-list link and is
        // not poisoned; the fields after it are.)
        Node* volatile left = dead->left.Get();
        (void)left;
      },
      "use-after-poison");
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, StressModeTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab
