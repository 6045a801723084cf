// Incremental marking (gc/DESIGN.md [incr]), on every collector whose capabilities say
// `incremental`: the barriers that make it sound, weak references, ephemeron tables
// and finalization used while marking is in progress, the host's control of a cycle
// (Heap::StartIncrementalCollection, Step, FinishIncrementalCollection), pacing, and
// what a collector that cannot mark incrementally answers.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "finalization/finalization.h"
#include "gc/gc.h"
#include "gc/mutator_utilization.h"
#include "tests/test_types.h"
#include "weak/weak.h"

namespace gclab::testing {
namespace {

// A node that counts its destruction: a freed object is seen even where reading it
// would not show it (its cell may be handed out again).
class Tracked : public GarbageCollected<Tracked> {
 public:
  Tracked(int64_t v, int* destroyed) : value(v), destroyed_(destroyed) {}
  ~Tracked() { ++*destroyed_; }
  void Trace(Visitor& visitor) const {
    visitor.Trace(next);
    visitor.Trace(weak);
  }
  int64_t value;
  Member<Tracked> next;
  WeakMember<Tracked> weak;

 private:
  int* destroyed_;
};

class IncrementalTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void SetUp() override {
    HeapOptions options;
    options.collector = GetParam();
    options.heap_limit = size_t{256} << 20;
    options.record_pauses = true;
    // The cycles these tests start and finish are the only ones: no stress mode's
    // collections, and a budget no test reaches unless it means to.
    options.policy = FixedBudgetPolicy::Create(size_t{64} << 20).value();
    heap_ = Heap::Create(WithoutStress(options)).value();
  }
  Heap& heap() { return *heap_; }

  // A list of `n` Tracked nodes from `head`; returns its last node.
  Tracked* BuildChain(const Local<Tracked>& head, int n) {
    Local<Tracked> last = head;
    for (int i = 1; i < n; ++i) {
      Local<Tracked> next = heap().New<Tracked>(i, &destroyed_);
      last->next = next;
      last = next;
    }
    return last.Get();
  }

  std::unique_ptr<Heap> heap_;
  int destroyed_ = 0;
};

// The test the insertion barrier exists for: during marking, the only reference to an
// object the marking has not reached moves into an object that is already marked (one
// allocated during marking, which is allocated marked and never traced), and the old
// reference is cleared. Without the barrier nothing would mark the object, the sweep
// would free it, and the black holder would point at a freed cell.
TEST_P(IncrementalTest, AnObjectMovedIntoAMarkedHolderSurvives) {
  if (heap().moves_objects()) GTEST_SKIP() << "keeps raw pointers across allocations";
  HandleScope scope(heap());
  Local<Tracked> head = heap().New<Tracked>(0, &destroyed_);
  // Long enough that the start pause (roots only) and the step the allocations below
  // might take do not trace its end.
  Tracked* last = BuildChain(head, 20000);
  last->next = heap().NewRaw<Tracked>(42, &destroyed_);  // the object to move
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  ASSERT_TRUE(heap().IncrementalCollectionInProgress());
  Local<Tracked> holder = heap().New<Tracked>(-1, &destroyed_);  // allocated marked
  holder->next = last->next;  // the barrier greys it
  last->next = nullptr;       // its only other reference goes
  heap().FinishIncrementalCollection();
  EXPECT_FALSE(heap().IncrementalCollectionInProgress());
  EXPECT_EQ(destroyed_, 0);
  ASSERT_TRUE(heap().Contains(holder->next.Get()));
  EXPECT_EQ(holder->next->value, 42);
  // A full collection after it frees nothing either: everything is reachable.
  heap().CollectGarbage();
  EXPECT_EQ(destroyed_, 0);
  EXPECT_EQ(holder->next->value, 42);
}

// Likewise for a root: a Local's slot has no barrier, so the final pause visits the
// roots again. An object reached only from the chain's end is moved into a new Local.
TEST_P(IncrementalTest, AnObjectMovedIntoARootSurvives) {
  if (heap().moves_objects()) GTEST_SKIP() << "keeps raw pointers across allocations";
  HandleScope scope(heap());
  Local<Tracked> head = heap().New<Tracked>(0, &destroyed_);
  Tracked* last = BuildChain(head, 20000);
  last->next = heap().NewRaw<Tracked>(7, &destroyed_);
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  Local<Tracked> moved(heap(), last->next.Get());
  last->next = nullptr;
  heap().FinishIncrementalCollection();
  EXPECT_EQ(destroyed_, 0);
  EXPECT_EQ(moved->value, 7);
}

// The load hook: a WeakMember read while marking is in progress keeps its target for
// this cycle, although nothing else reaches it, so the reference the program just read
// is not cleared under it. Without the hook the final pause would clear the weak
// reference and free the target the program holds a pointer to.
TEST_P(IncrementalTest, AWeakReadDuringMarkingKeepsTheTarget) {
  HandleScope scope(heap());
  Local<Tracked> holder = heap().New<Tracked>(0, &destroyed_);
  holder->weak = heap().NewRaw<Tracked>(5, &destroyed_);  // reachable only weakly
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  Tracked* read = holder->weak.Get();  // a raw pointer, no allocation after it
  heap().FinishIncrementalCollection();
  EXPECT_EQ(destroyed_, 0);
  EXPECT_EQ(holder->weak.GetWithoutLoadHook(), read);
  EXPECT_EQ(read->value, 5);
  // Unread, the next cycle clears it.
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  heap().FinishIncrementalCollection();
  EXPECT_EQ(destroyed_, 1);
  EXPECT_EQ(holder->weak.GetWithoutLoadHook(), nullptr);
}

// What died before marking began is reclaimed by that cycle; what died while it
// marked may stay until the next one (floating garbage), never longer.
TEST_P(IncrementalTest, GarbageIsReclaimedByTheCycleAfterItDies) {
  HandleScope scope(heap());
  Local<Tracked> kept = heap().New<Tracked>(0, &destroyed_);
  {
    HandleScope inner(heap());
    Local<Tracked> dead_before = heap().New<Tracked>(1, &destroyed_);
    BuildChain(dead_before, 100);
  }
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  {
    HandleScope inner(heap());
    Local<Tracked> dead_during = heap().New<Tracked>(2, &destroyed_);
    BuildChain(dead_during, 100);
  }
  heap().FinishIncrementalCollection();
  EXPECT_GE(destroyed_, 100);  // the first chain; the second may float
  EXPECT_TRUE(heap().stats().last_cycle.incremental);
  EXPECT_GE(heap().stats().last_cycle.allocated_while_marking, 100 * sizeof(Tracked));
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  heap().FinishIncrementalCollection();
  EXPECT_EQ(destroyed_, 200);
  EXPECT_EQ(heap().stats().live_objects, 1u);
  EXPECT_EQ(kept->value, 0);
}

// Objects allocated while marking is in progress are allocated marked ([incr.black]):
// the cycle keeps them even if they die before it ends, and never traces them (what
// they reference was greyed by the barrier as it was stored). The next cycle judges
// them.
TEST_P(IncrementalTest, ObjectsAllocatedDuringMarkingAreKeptByThatCycle) {
  HandleScope scope(heap());
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  for (int i = 0; i < 100; ++i) heap().NewRaw<Tracked>(i, &destroyed_);
  heap().FinishIncrementalCollection();
  EXPECT_EQ(destroyed_, 0);
  EXPECT_EQ(heap().stats().last_cycle.live_objects, 100u);
  heap().CollectGarbage();
  EXPECT_EQ(destroyed_, 100);
}

// An ephemeron filed while its key was unreached, whose slot the program gives another
// key during marking, belongs to that key now: the dead key's clearing must leave it
// alone ([incr.weak]). A WeakMap's Delete moves its last entry into the hole.
TEST_P(IncrementalTest, AnEntryMovedIntoADeadKeysSlotSurvives) {
  if (heap().moves_objects()) GTEST_SKIP() << "keeps raw pointers across allocations";
  using Map = WeakMap<Tracked, Tracked>;
  HandleScope scope(heap());
  // Roots in the order the start pause greys them: the chain first (traced last), the
  // map, then the persistent key B (traced first).
  Local<Tracked> chain = heap().New<Tracked>(0, &destroyed_);
  BuildChain(chain, 20000);
  Local<Map> map = Map::New(heap());
  Tracked* a = heap().NewRaw<Tracked>(1, &destroyed_);  // reached only through the map
  ASSERT_TRUE(map->Set(a, heap().NewRaw<Tracked>(-1, &destroyed_)).ok());
  Persistent<Tracked> b(heap(), heap().NewRaw<Tracked>(2, &destroyed_));
  {
    HandleScope inner(heap());
    Local<Tracked> value = heap().New<Tracked>(-2, &destroyed_);
    ASSERT_TRUE(map->Set(b.Get(), value.Get()).ok());
  }
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  // One step of the smallest work traces B, the map and its entries (A's is filed
  // under A, unreached), and only the start of the chain.
  ASSERT_TRUE(heap().Step(absl::Nanoseconds(1)));
  EXPECT_TRUE(map->Delete(a));  // B's entry moves into A's slot; A is garbage now
  heap().FinishIncrementalCollection();
  EXPECT_EQ(map->size(), 1u);
  Tracked* value = map->Get(b.Get());
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(value->value, -2);
}

// A heap destroyed, or asked for a retaining path, while it marks drops the cycle
// first: keys of unresolved ephemerons get their header words back before anything
// reads an object's type ([incr.abandon]).
TEST_P(IncrementalTest, DestructionAndRetainingPathsDuringMarking) {
  using Map = WeakMap<Tracked, Tracked>;
  {
    HandleScope scope(heap());
    Local<Tracked> chain = heap().New<Tracked>(0, &destroyed_);
    BuildChain(chain, 20000);
    Local<Map> map = Map::New(heap());
    Local<Tracked> key = heap().New<Tracked>(1, &destroyed_);
    for (int i = 0; i < 100; ++i) {
      // Keys reached only through the map: pending once the map is traced.
      ASSERT_TRUE(map->Set(heap().NewRaw<Tracked>(i, &destroyed_), nullptr).ok());
    }
    ASSERT_TRUE(map->Set(key.Get(), nullptr).ok());
    ASSERT_TRUE(heap().StartIncrementalCollection().ok());
    ASSERT_TRUE(heap().Step(absl::Nanoseconds(1)));
    absl::StatusOr<RetainingPath> path = heap().FindRetainingPath(key.Get());
    ASSERT_TRUE(path.ok()) << path.status();
    EXPECT_FALSE(heap().IncrementalCollectionInProgress());
    ASSERT_TRUE(heap().StartIncrementalCollection().ok());
    ASSERT_TRUE(heap().Step(absl::Nanoseconds(1)));
  }
  heap_.reset();  // with the cycle in progress
  EXPECT_EQ(destroyed_, 20000 + 1 + 100);
}

// [incr.lazy] An incremental cycle counts what it freed at once but leaves pages with
// survivors (and no destructors) to be swept later: by idle steps, or by allocation on
// demand. Until then their dead objects are not objects.
TEST_P(IncrementalTest, LazySweepingCountsAtOnceAndSweepsLater) {
  if (heap().moves_objects()) GTEST_SKIP() << "keeps raw pointers to dead objects";
  HandleScope scope(heap());
  constexpr size_t kPairs = 20000;
  Local<Array> kept = heap().New<Array>(kPairs);
  std::vector<Node*> dead;  // every other node: each page half live
  for (size_t i = 0; i < kPairs; ++i) {
    kept->slots[i] = heap().NewRaw<Node>(1);
    dead.push_back(heap().NewRaw<Node>(2));
  }
  auto finish_marking = [&] {
    ASSERT_TRUE(heap().StartIncrementalCollection().ok());
    while (heap().IncrementalCollectionInProgress()) heap().Step(absl::Milliseconds(1));
  };
  finish_marking();
  const HeapStatistics& stats = heap().stats();
  EXPECT_EQ(stats.last_cycle.freed_objects, kPairs);
  EXPECT_EQ(stats.bytes_allocated - stats.bytes_freed, stats.live_bytes);
  for (Node* node : dead) ASSERT_FALSE(heap().Contains(node));
  for (size_t i = 0; i < kPairs; ++i) ASSERT_TRUE(heap().Contains(kept->slots[i].Get()));
  // Idle time sweeps it, in pauses of their own.
  ASSERT_TRUE(heap().Step(absl::Nanoseconds(1)));  // one page, and more are left
  while (heap().Step(absl::Milliseconds(1))) {
  }
  size_t sweeps = 0;
  for (const Pause& p : heap().pauses()) sweeps += p.kind == PauseKind::kSweep;
  EXPECT_GE(sweeps, 2u);
  // Again, swept this time by allocation: the dead cells are found on demand.
  for (size_t i = 0; i < kPairs; i += 2) kept->slots[i] = nullptr;
  finish_marking();
  const size_t pauses_before = heap().pauses().size();
  for (size_t i = 0; i < kPairs; i += 2) kept->slots[i] = heap().NewRaw<Node>(3);
  size_t sweeps_by_allocation = 0;
  for (size_t i = pauses_before; i < heap().pauses().size(); ++i) {
    sweeps_by_allocation += heap().pauses()[i].kind == PauseKind::kSweep;
  }
  EXPECT_GE(sweeps_by_allocation, 1u);
  for (size_t i = 0; i < kPairs; ++i) ASSERT_EQ(kept->slots[i]->value, i % 2 == 0 ? 3 : 1);
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, kPairs + 2);  // the nodes, the array and its store
}

// A collection in one pause, asked for during a cycle, drops the cycle and reclaims
// everything unreachable, floating garbage included.
TEST_P(IncrementalTest, AFullCollectionDuringMarkingReclaimsEverything) {
  HandleScope scope(heap());
  Local<Tracked> kept = heap().New<Tracked>(0, &destroyed_);
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  {
    HandleScope inner(heap());
    Local<Tracked> garbage = heap().New<Tracked>(1, &destroyed_);
    BuildChain(garbage, 1000);
  }
  const uint64_t before = heap().stats().collections;
  heap().CollectGarbage();
  EXPECT_FALSE(heap().IncrementalCollectionInProgress());
  EXPECT_EQ(heap().stats().collections, before + 1);
  EXPECT_EQ(heap().stats().abandoned_incremental_cycles, 1u);
  EXPECT_FALSE(heap().stats().last_cycle.incremental);
  EXPECT_EQ(destroyed_, 1000);
  EXPECT_EQ(heap().stats().live_objects, 1u);
  EXPECT_EQ(heap().pauses().back().kind, PauseKind::kAtomic);
}

// A minor collection asked for during a cycle is major: the cycle's start took away
// the marks a generational collector's minor collections rely on ([incr.gen]). It
// reclaims garbage that was old, which no minor collection would; the next minor
// collection asked for is minor again.
TEST_P(IncrementalTest, AMinorCollectionAskedForDuringMarkingIsMajor) {
  HandleScope scope(heap());
  Local<Tracked> kept = heap().New<Tracked>(0, &destroyed_);
  {
    HandleScope inner(heap());
    Local<Tracked> old_garbage = heap().New<Tracked>(1, &destroyed_);
    BuildChain(old_garbage, 1000);
    heap().CollectGarbage(CollectionKind::kMinor);  // old now, on a generational collector
  }
  EXPECT_EQ(destroyed_, 0);
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  heap().CollectGarbage(CollectionKind::kMinor);
  EXPECT_FALSE(heap().IncrementalCollectionInProgress());
  EXPECT_EQ(heap().stats().abandoned_incremental_cycles, 1u);
  EXPECT_EQ(heap().stats().last_cycle.kind, CollectionKind::kMajor);
  EXPECT_EQ(destroyed_, 1000);
  heap().CollectGarbage(CollectionKind::kMinor);
  EXPECT_EQ(heap().stats().last_cycle.kind, heap().capabilities().generational
                                                ? CollectionKind::kMinor
                                                : CollectionKind::kMajor);
  EXPECT_EQ(kept->value, 0);
  EXPECT_EQ(heap().stats().live_objects, 1u);
}

// Heap::Step marks in bounded steps and ends the cycle with its final pause; the log
// shows start, steps, final.
TEST_P(IncrementalTest, StepsFinishTheCycle) {
  HandleScope scope(heap());
  Local<Tracked> head = heap().New<Tracked>(0, &destroyed_);
  BuildChain(head, 50000);
  const uint64_t before = heap().stats().collections;
  EXPECT_FALSE(heap().Step(absl::Milliseconds(1)));  // no cycle: nothing to do
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  EXPECT_EQ(heap().StartIncrementalCollection().code(), absl::StatusCode::kFailedPrecondition);
  // A zero budget takes one step of 16 KiB; 50,000 nodes take many.
  int calls = 0;
  while (heap().Step(absl::ZeroDuration())) ++calls;
  EXPECT_GE(calls, 10);
  EXPECT_EQ(heap().stats().collections, before + 1);
  EXPECT_EQ(heap().stats().live_objects, 50000u);
  EXPECT_EQ(destroyed_, 0);
  absl::Span<const Pause> pauses = heap().pauses();
  // Start, steps, final, then sweep pauses (here: memory returned to the OS) if any.
  size_t final = pauses.size();
  while (final > 0 && pauses[final - 1].kind == PauseKind::kSweep) --final;
  ASSERT_GE(final, 3u);
  EXPECT_EQ(pauses[final - 1].kind, PauseKind::kFinal);
  size_t i = final - 1;
  while (i > 0 && pauses[i - 1].kind == PauseKind::kStep) --i;
  ASSERT_GE(i, 1u);
  EXPECT_EQ(pauses[i - 1].kind, PauseKind::kStart);
  EXPECT_GE(final - 1 - i, 1u);  // at least one step between them
  EXPECT_GE(heap().stats().last_cycle.steps, 2u);
}

// Weak references, ephemeron tables and finalization registrations made, read and
// dropped while marking is in progress keep their semantics: a live target or key is
// never cleared, a dead one is by the next full collection, each registration is
// delivered once.
TEST_P(IncrementalTest, WeakStructuresUsedDuringMarking) {
  using Map = WeakMap<Tracked, Tracked>;
  using Registry = FinalizationRegistry<Tracked>;
  HandleScope scope(heap());
  FinalizationQueue& queue = FinalizationQueue::For(heap());
  std::vector<int64_t> delivered;
  Local<Registry> registry =
      Registry::Create(heap(), [&](Local<Tracked> held) { delivered.push_back(held->value); });
  Local<Map> map = Map::New(heap());
  std::vector<Persistent<Tracked>> live_keys;
  std::vector<Persistent<WeakRef<Tracked>>> refs;
  // Entries, registrations and weak refs made before the cycle, half of them to die.
  auto populate = [&](int base) {
    for (int i = 0; i < 200; ++i) {
      HandleScope inner(heap());
      Local<Tracked> key = heap().New<Tracked>(base + i, &destroyed_);
      Local<Tracked> value = heap().New<Tracked>(-(base + i), &destroyed_);
      ASSERT_TRUE(map->Set(key.Get(), value.Get()).ok());
      Local<Tracked> held = heap().New<Tracked>(base + i, &destroyed_);
      ASSERT_TRUE(registry->Register(key.Get(), held.Get()).ok());
      refs.emplace_back(heap(), WeakRef<Tracked>::Create(heap(), key).value().Get());
      if (i % 2 == 0) live_keys.emplace_back(heap(), key.Get());
    }
  };
  populate(0);
  ASSERT_TRUE(heap().StartIncrementalCollection().ok());
  populate(1000);  // during marking
  // Reads and deletions during marking, with steps between them.
  for (size_t i = 0; i < live_keys.size(); ++i) {
    Tracked* value = map->Get(live_keys[i].Get());
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(value->value, -live_keys[i]->value);
    if (i % 5 == 0) EXPECT_TRUE(map->Delete(live_keys[i].Get()));
    if (i % 10 == 0) heap().Step(absl::Microseconds(20));
  }
  for (Persistent<WeakRef<Tracked>>& ref : refs) (void)ref->Deref();
  heap().ClearKeptObjects();
  heap().FinishIncrementalCollection();
  // The next full collection settles everything that died during the cycle.
  heap().CollectGarbage();
  for (int i = 0; i < 100 && queue.scheduler().pending() > 0; ++i) queue.PumpHostJobs();
  EXPECT_EQ(map->size(), live_keys.size() - (live_keys.size() + 4) / 5);
  for (size_t i = 0; i < live_keys.size(); ++i) {
    Tracked* value = map->Get(live_keys[i].Get());
    if (i % 5 == 0) {
      EXPECT_EQ(value, nullptr);
    } else {
      ASSERT_NE(value, nullptr);
      EXPECT_EQ(value->value, -live_keys[i]->value);
    }
  }
  size_t cleared = 0;
  for (Persistent<WeakRef<Tracked>>& ref : refs) cleared += ref->Deref() == nullptr;
  EXPECT_EQ(cleared, 200u);  // the dead half of 400 keys
  std::sort(delivered.begin(), delivered.end());
  ASSERT_EQ(delivered.size(), 200u);
  EXPECT_EQ(std::adjacent_find(delivered.begin(), delivered.end()), delivered.end());
  for (int64_t v : delivered) EXPECT_EQ(v % 2, 1);  // the odd keys died
}

// [incr.pace] Without a host's help the heap starts cycles by itself and steps them
// from allocation; they end where the budget does, one collection per budget. On a
// generational collector ([incr.gen]) the collections are minor ones until the old
// generation nears its limit, and its major ones are those cycles: the program here
// makes garbage that dies young and garbage that dies old.
TEST_P(IncrementalTest, AllocationStartsAndPacesCycles) {
  HeapOptions options;
  options.collector = GetParam();
  options.record_pauses = true;
  options.policy = FixedBudgetPolicy::Create(size_t{2} << 20).value();
  auto heap = Heap::Create(WithoutStress(options)).value();
  HandleScope scope(*heap);
  Local<Array> live = heap->New<Array>(20000);
  for (size_t i = 0; i < live->slots.size(); ++i) live->slots[i] = heap->NewRaw<Node>(1);
  // 32 MiB of nodes, about 16 budgets; one in 8 is kept until 20,000 later ones have
  // replaced it.
  Local<Array> ring = heap->New<Array>(20000);
  for (size_t i = 0; i < (size_t{32} << 20) / 32; ++i) {
    Node* node = heap->NewRaw<Node>(2);
    if (i % 8 == 0) ring->slots[(i / 8) % ring->slots.size()] = node;
  }
  const HeapStatistics& stats = heap->stats();
  const uint64_t majors = stats.collections - stats.minor_collections;
  if (heap->capabilities().generational) {
    EXPECT_GE(stats.minor_collections, 2u);
    EXPECT_GE(majors, 2u);
  } else {
    EXPECT_GE(stats.collections, 14u);
    EXPECT_LE(stats.collections, 18u);
  }
  // Every major collection was one of the cycles: none ran in one pause.
  EXPECT_GE(stats.incremental_cycles, majors);
  EXPECT_GT(stats.incremental_steps, majors);
  EXPECT_EQ(stats.abandoned_incremental_cycles, 0u);
  for (const Pause& pause : heap->pauses()) {
    if (pause.collection == CollectionKind::kMajor) EXPECT_NE(pause.kind, PauseKind::kAtomic);
  }
  EXPECT_EQ(stats.last_cycle.reason, CollectionReason::kAllocationBudget);
  for (size_t i = 0; i < live->slots.size(); ++i) ASSERT_EQ(live->slots[i]->value, 1);
}

// [incr.pace] The option marking-rate sets how much the marking traces per byte the
// program allocates: at a higher rate a cycle starts later and overlaps less of the
// program's allocation. Malformed or out-of-range rates are refused.
TEST_P(IncrementalTest, TheMarkingRateSetsHowLongMarkingOverlapsTheProgram) {
  auto allocated_while_marking = [&](const char* rate) {
    HeapOptions options;
    options.collector = GetParam();
    options.collector_options = {{"marking-rate", rate}};
    options.policy = FixedBudgetPolicy::Create(size_t{4} << 20).value();
    auto heap = Heap::Create(WithoutStress(options)).value();
    HandleScope scope(*heap);
    // 2 MiB live, then garbage until a few cycles have ended.
    Local<Array> live = heap->New<Array>(65536);
    for (size_t i = 0; i < live->slots.size(); ++i) live->slots[i] = heap->NewRaw<Node>(5);
    // Garbage, one node in 8 of it kept until 65,536 later ones replace it (so that on
    // a generational collector the old generation grows, and major collections come).
    Local<Array> ring = heap->New<Array>(65536);
    for (size_t i = 0;
         heap->stats().incremental_cycles < 4 || heap->IncrementalCollectionInProgress(); ++i) {
      Node* node = heap->NewRaw<Node>(6);
      if (i % 8 == 0) ring->slots[(i / 8) % ring->slots.size()] = node;
    }
    for (size_t i = 0; i < live->slots.size(); ++i) EXPECT_EQ(live->slots[i]->value, 5);
    EXPECT_EQ(heap->stats().marking_overruns, 0u) << rate;
    return heap->stats().last_cycle.allocated_while_marking;
  };
  const size_t slow = allocated_while_marking("2");
  const size_t fast = allocated_while_marking("32");
  // The marking's room is 1.5 x live / rate: 16 times smaller at 32 than at 2.
  EXPECT_GT(fast, 0u);
  EXPECT_LT(fast * 4, slow) << "rate 2: " << slow << " bytes, rate 32: " << fast;

  HeapOptions options;
  options.collector = GetParam();
  for (const char* bad : {"0", "257", "x", "4K", "-1", ""}) {
    options.collector_options = {{"marking-rate", bad}};
    absl::StatusOr<std::unique_ptr<Heap>> heap = Heap::Create(options);
    EXPECT_EQ(heap.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    if (!heap.ok()) {
      EXPECT_NE(heap.status().message().find("marking-rate"), std::string::npos)
          << heap.status();
    }
  }
}

// A cycle whose marking is not done when the budget runs out gets half a budget more,
// once, with faster steps; where the heap limit leaves no room for that, the final
// pause finishes the marking. The statistics count both.
TEST_P(IncrementalTest, AnOverrunGetsMoreRoomOrIsFinishedInTheFinalPause) {
  if (heap().capabilities().generational) {
    GTEST_SKIP() << "a generational collector's first collection is minor, and a major "
                    "one's marking is estimated from the old generation the minor ones left";
  }
  for (const size_t limit : {size_t{256} << 20, size_t{24} << 20}) {
    HeapOptions options;
    options.collector = GetParam();
    options.heap_limit = limit;
    options.policy = FixedBudgetPolicy::Create(size_t{16} << 20).value();
    auto heap = Heap::Create(WithoutStress(options)).value();
    HandleScope scope(*heap);
    // 8 MiB of live data made before any collection: the first cycle's estimate of its
    // marking work (what the last cycle kept: nothing) is far too low.
    Local<Array> live = heap->New<Array>(250000);
    for (size_t i = 0; i < live->slots.size(); ++i) live->slots[i] = heap->NewRaw<Node>(3);
    while (heap->stats().collections == 0) heap->NewRaw<Node>(4);
    const HeapStatistics& stats = heap->stats();
    EXPECT_TRUE(stats.last_cycle.incremental);
    if (limit > (size_t{32} << 20)) {
      EXPECT_EQ(stats.marking_extensions, 1u);
      EXPECT_FALSE(stats.last_cycle.marking_overrun);
      EXPECT_EQ(stats.marking_overruns, 0u);
    } else {
      // 8 MiB live + 16 MiB allocated fill the 24 MiB limit: no room to extend.
      EXPECT_EQ(stats.marking_extensions, 0u);
      EXPECT_TRUE(stats.last_cycle.marking_overrun);
      EXPECT_EQ(stats.marking_overruns, 1u);
    }
    for (size_t i = 0; i < live->slots.size(); ++i) ASSERT_EQ(live->slots[i]->value, 3);
  }
}

INSTANTIATE_TEST_SUITE_P(Incremental, IncrementalTest, ::testing::ValuesIn(CollectorsWith(&CollectorCapabilities::incremental)),
                         CollectorParamName);

// A collector that cannot mark incrementally says so, and collects as before.
TEST(IncrementalCapabilityTest, OtherCollectorsRefuseToStartACycle) {
  for (CollectorKind kind : AllCollectors()) {
    if (GetCollectorInfo(kind).capabilities.incremental) continue;
    auto heap = MakeHeap(kind);
    absl::Status s = heap->StartIncrementalCollection();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << kind.name();
    EXPECT_FALSE(heap->IncrementalCollectionInProgress());
    EXPECT_FALSE(heap->Step(absl::Milliseconds(1)));
    heap->FinishIncrementalCollection();  // nothing in progress: nothing happens
    EXPECT_EQ(heap->stats().collections, 0u);
  }
}

}  // namespace
}  // namespace gclab::testing
