// Conformance tests for the heap: every test runs on every collector.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gc/gc.h"
#include "tests/test_types.h"

namespace gclab::testing {
namespace {

class HeapTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void SetUp() override { heap_ = MakeHeap(GetParam()); }
  Heap& heap() { return *heap_; }
  std::unique_ptr<Heap> heap_;
};

constexpr size_t kNodeCell = internal::CellSizeFor(sizeof(Node));

TEST_P(HeapTest, UnrootedObjectsAreReclaimed) {
  {
    HandleScope scope(heap());
    for (int i = 0; i < 1000; ++i) heap().New<Node>(i);
    heap().CollectGarbage();
    EXPECT_EQ(heap().stats().live_objects, 1000u);  // the scope still roots them
    EXPECT_EQ(heap().stats().live_bytes, 1000 * kNodeCell);
  }
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 0u);
  EXPECT_EQ(heap().stats().live_bytes, 0u);
}

TEST_P(HeapTest, ReachableThroughMembersSurvive) {
  Persistent<Node> root;
  {
    HandleScope scope(heap());
    Local<Node> head = heap().New<Node>(0);
    root.Set(heap(), head.Get());
    Local<Node> tail = head;
    for (int i = 1; i < 100; ++i) {
      Local<Node> next = heap().New<Node>(i);
      tail->left = next;
      tail = next;
    }
    for (int i = 0; i < 50; ++i) heap().New<Node>(-1);  // garbage
  }
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 100u);
  int expected = 0;
  for (Node* n = root.Get(); n != nullptr; n = n->left) EXPECT_EQ(n->value, expected++);
  EXPECT_EQ(expected, 100);
  root.Reset();
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 0u);
}

TEST_P(HeapTest, CyclesAreReclaimedWhenUnreachable) {
  Persistent<Node> keep;
  {
    HandleScope scope(heap());
    Local<Node> a = heap().New<Node>(1);
    Local<Node> b = heap().New<Node>(2);
    a->left = b;
    b->left = a;
    a->right = a;  // self-loop
    Local<Node> c = heap().New<Node>(3);
    Local<Node> d = heap().New<Node>(4);
    c->left = d;
    d->left = c;
    keep.Set(heap(), c.Get());
  }
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 2u);
  EXPECT_EQ(keep->value, 3);
  EXPECT_EQ(keep->left->value, 4);
  EXPECT_EQ(keep->left->left.Get(), keep.Get());
}

TEST_P(HeapTest, LongListCollectsWithoutRecursion) {
  // Marking a 10-million-element list must not recurse on the C stack.
  const int kLength = testing::Reduced() ? 1'000'000 : 10'000'000;
  auto heap = MakeHeap(GetParam(), size_t{2} << 30);
  // Built back to front: each new node points at the previous head, so no raw pointer
  // is held across an allocation.
  Persistent<Node> list;
  for (int i = 0; i < kLength; ++i) {
    HandleScope scope(*heap);
    Local<Node> previous(*heap, list.Get());
    Local<Node> node = heap->New<Node>(kLength - 1 - i, previous, Local<Node>());
    list.Set(*heap, node.Get());
  }
  heap->CollectGarbage();
  EXPECT_EQ(heap->stats().live_objects, static_cast<size_t>(kLength));
  int64_t count = 0;
  for (Node* n = list.Get(); n != nullptr; n = n->left) {
    ASSERT_EQ(n->value, count);
    ++count;
  }
  EXPECT_EQ(count, kLength);
  list.Reset();
  heap->CollectGarbage();
  EXPECT_EQ(heap->stats().live_objects, 0u);
}

TEST_P(HeapTest, WideObjectKeepsEveryElement) {
  constexpr size_t kWidth = 100'000;
  HandleScope scope(heap());
  Local<Array> array = heap().New<Array>(kWidth);
  for (size_t i = 0; i < kWidth; ++i) {
    Node* n = heap().NewRaw<Node>(static_cast<int64_t>(i));
    array->slots[i] = n;
  }
  heap().CollectGarbage();
  // The nodes, the array and its slots' store (a HeapVector's, a large object).
  EXPECT_EQ(heap().stats().live_objects, kWidth + 2);
  for (size_t i = 0; i < kWidth; ++i) ASSERT_EQ(array->slots[i]->value, static_cast<int64_t>(i));
}

TEST_P(HeapTest, BalancedTreeSurvivesRepeatedCollections) {
  struct Build {
    static Local<Node> Tree(Heap& heap, int depth, int64_t* next_id) {
      EscapableHandleScope scope(heap);
      Local<Node> left, right;
      if (depth > 0) {
        left = Tree(heap, depth - 1, next_id);
        right = Tree(heap, depth - 1, next_id);
      }
      return scope.Escape(heap.New<Node>((*next_id)++, left, right));
    }
    static int64_t Sum(const Node* n) {
      return n == nullptr ? 0 : n->value + Sum(n->left) + Sum(n->right);
    }
  };
  HandleScope scope(heap());
  int64_t next_id = 0;
  Local<Node> tree = Build::Tree(heap(), 14, &next_id);
  const int64_t count = next_id;
  const int64_t expected_sum = count * (count - 1) / 2;
  for (int round = 0; round < 3; ++round) {
    int64_t garbage_id = 0;
    Build::Tree(heap(), 10, &garbage_id);  // garbage after this scope's next collection
    heap().CollectGarbage();
    EXPECT_EQ(Build::Sum(tree.Get()), expected_sum);
  }
  EXPECT_EQ(heap().stats().live_objects, static_cast<size_t>(count) + 3 * 2047);
  EXPECT_EQ(heap().local_handle_count(), 4u);  // tree + three escaped garbage roots
}

TEST_P(HeapTest, ObjectsOfManySizesStayIntact) {
  HandleScope scope(heap());
  std::vector<Local<Blob<8>>> small;
  std::vector<Local<Blob<200>>> medium;
  std::vector<Local<Blob<3000>>> big;
  std::vector<Local<Blob<40000>>> large;      // large-object space
  std::vector<Local<Blob<1000000>>> huge;     // large-object space, 1 MB
  for (uint32_t i = 0; i < 300; ++i) {
    HandleScope garbage(heap());
    heap().New<Blob<8>>(i);
    heap().New<Blob<3000>>(i);
    heap().New<Blob<40000>>(i);
  }
  for (uint32_t i = 0; i < 200; ++i) {
    small.push_back(heap().New<Blob<8>>(i));
    medium.push_back(heap().New<Blob<200>>(i));
    if (i % 4 == 0) big.push_back(heap().New<Blob<3000>>(i));
    if (i % 20 == 0) large.push_back(heap().New<Blob<40000>>(i));
    if (i % 100 == 0) huge.push_back(heap().New<Blob<1000000>>(i));
    if (i % 50 == 0) heap().CollectGarbage();
  }
  heap().CollectGarbage();
  heap().CollectGarbage();
  auto check = [](const auto& handles, uint32_t stride) {
    for (size_t k = 0; k < handles.size(); ++k) {
      ASSERT_TRUE(handles[k]->Intact());
      ASSERT_EQ(handles[k]->id(), k * stride);
    }
  };
  check(small, 1);
  check(medium, 1);
  check(big, 4);
  check(large, 20);
  check(huge, 100);
  EXPECT_EQ(heap().stats().live_objects, 200u + 200u + 50u + 10u + 2u);
  size_t expected_bytes = 200 * internal::CellSizeFor(sizeof(Blob<8>)) +
                          200 * internal::CellSizeFor(sizeof(Blob<200>)) +
                          50 * internal::CellSizeFor(sizeof(Blob<3000>)) +
                          10 * internal::CellSizeFor(sizeof(Blob<40000>)) +
                          2 * internal::CellSizeFor(sizeof(Blob<1000000>));
  // Exact for a bump allocator; a collector with size classes rounds small cells up.
  EXPECT_GE(heap().stats().live_bytes, expected_bytes);
  EXPECT_LE(heap().stats().live_bytes, expected_bytes * 5 / 4);
}

// A dead large object's mapping is kept for reuse until the next collection, which
// returns it if nothing took it (gc/internal/large_object_space.h): memory comes back
// within two collections, and what is kept counts as committed meanwhile.
TEST_P(HeapTest, LargeObjectMemoryIsReturned) {
  {
    HandleScope scope(heap());
    for (uint32_t i = 0; i < 20; ++i) heap().New<Blob<1000000>>(i);
    EXPECT_GE(heap().stats().committed_bytes, 20u * 1000000u);
  }
  heap().CollectGarbage();
  EXPECT_LE(heap().stats().committed_bytes, (size_t{32} << 20) + 4u * 1000000u);
  heap().CollectGarbage();
  EXPECT_LT(heap().stats().committed_bytes, 4u * 1000000u);
  EXPECT_GE(heap().stats().peak_committed_bytes, 20u * 1000000u);
}

// The kernel's transparent huge page mode, the bracketed word of
// /sys/kernel/mm/transparent_hugepage/enabled ("always", "madvise", "never"), or ""
// without transparent huge pages.
std::string TransparentHugePageMode() {
  std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(file, line);
  const size_t open = line.find('[');
  const size_t close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  return line.substr(open + 1, close - open - 1);
}

// The AnonHugePages bytes of the mapping that holds `address` (/proc/self/smaps).
size_t HugePageBytesOfMapping(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto where = reinterpret_cast<uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2 &&
        line.find(':') > line.find('-')) {
      inside = where >= start && where < end;
      continue;
    }
    size_t kib = 0;
    if (inside && std::sscanf(line.c_str(), "AnonHugePages: %zu kB", &kib) == 1) {
      return kib << 10;
    }
  }
  return 0;
}

// HeapOptions::huge_pages: the small objects' memory comes in huge pages from a kernel
// that gives them on request, and (where it gives them only on request) not when the
// heap asks for none; the objects are the same either way.
TEST_P(HeapTest, HugePagesBackSmallObjectsWhenAsked) {
  const std::string mode = TransparentHugePageMode();
  if (mode != "always" && mode != "madvise") {
    GTEST_SKIP() << "this kernel gives no transparent huge pages (mode \"" << mode << "\")";
  }
  for (bool huge : {true, false}) {
    HeapOptions options;
    options.collector = GetParam();
    options.huge_pages = huge;
    auto heap_or = Heap::Create(WithoutStress(options));
    ASSERT_TRUE(heap_or.ok()) << heap_or.status();
    Heap& heap = **heap_or;
    HandleScope scope(heap);
    // 16 MiB of nodes in a list, most of it filled before any collection.
    constexpr int64_t kNodes = (int64_t{16} << 20) / static_cast<int64_t>(kNodeCell);
    Local<Node> head = heap.New<Node>(0);
    for (int64_t i = 1; i < kNodes; ++i) {
      Local<Node> node = heap.New<Node>(i);
      node->left = head;
      head = node;
    }
    const size_t huge_bytes = HugePageBytesOfMapping(head.Get());
    if (huge) {
      EXPECT_GT(huge_bytes, 0u) << "no huge page under 16 MiB of small objects";
    } else if (mode == "madvise") {
      EXPECT_EQ(huge_bytes, 0u);
    }
    heap.CollectGarbage();
    int64_t expected = kNodes - 1;
    for (const Node* n = head.Get(); n != nullptr; n = n->left.Get()) {
      ASSERT_EQ(n->value, expected--);
    }
    EXPECT_EQ(expected, -1);
  }
}

TEST(HeapOptionsDeathTest, AMalformedHugePagesVariableStopsTheProgram) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        setenv("GCLAB_HUGE_PAGES", "sometimes", 1);
        Heap::Create({}).IgnoreError();
      },
      "GCLAB_HUGE_PAGES=sometimes: expected 0, 1, off or on");
}

// A vector that grows by doubling, dropped and grown again after each collection,
// gets its stores from the mappings the last one released instead of new ones.
TEST_P(HeapTest, ALargeObjectReusesTheMappingOfADeadOneOfItsSize) {
  // No stress: zapping (StressOptions::zap_freed) unmaps dead large objects at once.
  HeapOptions options;
  options.collector = GetParam();
  auto heap_or = Heap::Create(WithoutStress(options));
  ASSERT_TRUE(heap_or.ok());
  Heap& heap = **heap_or;
  const void* first;
  {
    HandleScope scope(heap);
    first = heap.New<Blob<1000000>>(1).Get();
  }
  heap.CollectGarbage();
  const size_t kept = heap.stats().committed_bytes;
  EXPECT_GE(kept, 1000000u);  // the kept mapping
  HandleScope scope(heap);
  Local<Blob<1000000>> second = heap.New<Blob<1000000>>(2);
  EXPECT_EQ(static_cast<const void*>(second.Get()), first);
  EXPECT_TRUE(second->Intact());
  // Taken, so not counted twice (the object's pages instead of the whole mapping); an
  // object of another size gets a fresh mapping.
  EXPECT_LE(heap.stats().committed_bytes, kept);
  EXPECT_GE(heap.stats().committed_bytes, 1000000u);
  Local<Blob<40000>> other = heap.New<Blob<40000>>(3);
  EXPECT_NE(static_cast<const void*>(other.Get()), first);
  heap.CollectGarbage();
  EXPECT_TRUE(second->Intact());
  EXPECT_TRUE(other->Intact());
}

TEST_P(HeapTest, HandlesAndMembersFollowMovedObjects) {
  HandleScope scope(heap());
  Local<Node> local = heap().New<Node>(7);
  Persistent<Node> persistent(heap(), heap().New<Node>(8));
  local->left = persistent.Get();
  persistent->left = local;
  const void* before_local = local.Get();
  const void* before_persistent = persistent.Get();
  const bool local_moves = testing::NextCollectionMoves(heap(), before_local);
  const bool persistent_moves = testing::NextCollectionMoves(heap(), before_persistent);
  heap().CollectGarbage();
  if (heap().moves_objects()) {
    if (local_moves) EXPECT_NE(local.Get(), before_local);
    if (persistent_moves) EXPECT_NE(persistent.Get(), before_persistent);
  } else {
    EXPECT_EQ(local.Get(), before_local);
    EXPECT_EQ(persistent.Get(), before_persistent);
  }
  EXPECT_EQ(local->value, 7);
  EXPECT_EQ(persistent->value, 8);
  EXPECT_EQ(local->left.Get(), persistent.Get());
  EXPECT_EQ(persistent->left.Get(), local.Get());
  EXPECT_TRUE(heap().Contains(local.Get()));
  EXPECT_TRUE(heap().Contains(persistent.Get()));
}

TEST_P(HeapTest, DestructorsRunOnceForDeadObjectsOnly) {
  int destroyed = 0;
  {
    HandleScope scope(heap());
    Local<Counted> keep = heap().New<Counted>(&destroyed, std::string(100, 'k'));
    for (int i = 0; i < 500; ++i) heap().New<Counted>(&destroyed, "a string too long for SSO!");
    {
      HandleScope inner(heap());
      for (int i = 0; i < 500; ++i) heap().New<Counted>(&destroyed, "short");
    }
    heap().CollectGarbage();
    EXPECT_EQ(destroyed, 0 + 500);  // the inner scope's objects
    heap().CollectGarbage();
    EXPECT_EQ(destroyed, 500);
    // Non-trivial members survive relocation.
    EXPECT_EQ(keep->text(), std::string(100, 'k'));
    EXPECT_EQ(keep->numbers().size(), 100u);
    EXPECT_EQ(keep->numbers()[99], 7);
  }
  heap().CollectGarbage();
  EXPECT_EQ(destroyed, 1001);
  heap().CollectGarbage();
  EXPECT_EQ(destroyed, 1001);
}

TEST_P(HeapTest, HeapDestructionRunsRemainingDestructors) {
  int destroyed = 0;
  {
    auto heap = MakeHeap(GetParam());
    HandleScope scope(*heap);
    for (int i = 0; i < 10; ++i) heap->New<Counted>(&destroyed, "x");
    Persistent<Counted> p(*heap, heap->New<Counted>(&destroyed, "y"));
    heap->CollectGarbage();
    EXPECT_EQ(destroyed, 0);
  }
  EXPECT_EQ(destroyed, 11);
}

TEST_P(HeapTest, StatisticsAddUp) {
  for (int round = 0; round < 5; ++round) {
    HandleScope scope(heap());
    for (int i = 0; i < 10000; ++i) {
      Local<Node> n = heap().New<Node>(i);
      if (i % 3 == 0) heap().New<Blob<100>>(static_cast<uint32_t>(i));
      if (i % 1000 == 0) heap().New<Blob<50000>>(static_cast<uint32_t>(i));
    }
    heap().CollectGarbage();
    const HeapStatistics& s = heap().stats();
    // Stress runs (GCLAB_STRESS) add collections of their own.
    EXPECT_EQ(s.collections - s.stress_collections, static_cast<uint64_t>(round + 1));
    EXPECT_EQ(s.bytes_allocated - s.bytes_freed, s.live_bytes);
    EXPECT_EQ(s.live_objects, 10000u + 3334u + 10u);
    EXPECT_EQ(s.last_cycle.pause, s.last_cycle.phases.Total());
    EXPECT_GE(s.total_pause, s.last_cycle.pause);
    EXPECT_GE(s.max_pause, s.last_cycle.pause);
    EXPECT_GT(s.last_cycle.phases[Phase::kMark], absl::ZeroDuration());
    EXPECT_EQ(s.last_cycle.reason, CollectionReason::kExplicit);
    EXPECT_GE(s.committed_bytes, s.live_bytes);
  }
  heap().CollectGarbage();
  const HeapStatistics& s = heap().stats();
  EXPECT_EQ(s.live_bytes, 0u);
  EXPECT_EQ(s.bytes_allocated, s.bytes_freed);
  EXPECT_EQ(s.last_cycle.freed_bytes, s.bytes_allocated - (s.bytes_freed - s.last_cycle.freed_bytes));
}

TEST_P(HeapTest, FixedBudgetPolicyCollectsEveryBudget) {
  // Counts the policy's collections.
  auto heap = testing::MakeHeapWithoutStress(GetParam(), size_t{64} << 20,
                                             FixedBudgetPolicy::Create(1 << 20).value());
  HandleScope scope(*heap);
  // 16 MiB of garbage in 32-byte... Node cells: expect about 16 collections.
  const size_t kObjects = (size_t{16} << 20) / kNodeCell;
  for (size_t i = 0; i < kObjects; ++i) heap->NewRaw<Node>(static_cast<int64_t>(i));
  EXPECT_GE(heap->stats().collections, 15u);
  EXPECT_LE(heap->stats().collections, 17u);
  EXPECT_EQ(heap->stats().last_cycle.reason, CollectionReason::kAllocationBudget);
}

TEST_P(HeapTest, GrowthFactorPolicyScalesWithLiveSize) {
  auto heap = testing::MakeHeapWithoutStress(GetParam(), size_t{256} << 20,
                                             GrowthFactorPolicy::Create(2.0, 1 << 20).value());
  HandleScope scope(*heap);
  Local<Array> live = heap->New<Array>(200'000);  // 200k nodes live: ~10 MiB
  for (size_t i = 0; i < live->slots.size(); ++i) {
    live->slots[i] = heap->NewRaw<Node>(static_cast<int64_t>(i));
  }
  heap->CollectGarbage();
  size_t live_bytes = heap->stats().live_bytes;
  // The policy's collections are the major ones (a generational collector runs minor
  // ones between them, policy.h); without generations, all of them.
  auto majors = [&] { return heap->stats().collections - heap->stats().minor_collections; };
  uint64_t before = majors();
  // Allocating 10x the live size of garbage takes about 10 collections at factor 2.
  size_t garbage = 10 * live_bytes / kNodeCell;
  for (size_t i = 0; i < garbage; ++i) heap->NewRaw<Node>(1);
  uint64_t collections = majors() - before;
  if (heap->capabilities().generational) {
    // Minor collections reclaim the garbage while it is young: the old generation does
    // not grow, so the policy's size for the next major collection is never reached.
    EXPECT_EQ(collections, 0u);
    EXPECT_GE(heap->stats().minor_collections, 1u);
  } else {
    EXPECT_GE(collections, 9u);
    EXPECT_LE(collections, 11u);
  }
}

TEST_P(HeapTest, HeapLimitIsAStatusForTryNew) {
  auto heap = MakeHeap(GetParam(), size_t{4} << 20);
  HandleScope scope(*heap);
  Local<Array> live = heap->New<Array>(0);
  absl::Status failure;
  size_t allocated = 0;
  for (size_t i = 0; i < 1'000'000; ++i) {
    absl::StatusOr<Local<Blob<1000>>> blob = heap->TryNew<Blob<1000>>(static_cast<uint32_t>(i));
    if (!blob.ok()) {
      failure = blob.status();
      break;
    }
    ++allocated;
  }
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_NE(failure.message().find("heap limit"), std::string::npos) << failure;
  EXPECT_GT(allocated, 3000u);
  EXPECT_LT(allocated, 4200u);
  EXPECT_LE(heap->stats().live_bytes, size_t{4} << 20);
  // A single object above the limit fails too; the heap stays usable afterwards.
  EXPECT_EQ(heap->TryNew<Blob<5000000>>(1u).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_P(HeapTest, HeapIsUsableAfterOutOfMemory) {
  auto heap = MakeHeap(GetParam(), size_t{4} << 20);
  heap->set_out_of_memory_handler([](const absl::Status& status) {
    throw std::runtime_error(std::string(status.message()));
  });
  {
    HandleScope scope(*heap);
    bool threw = false;
    try {
      for (uint32_t i = 0; i < 1'000'000; ++i) heap->New<Blob<1000>>(i);
    } catch (const std::runtime_error& e) {
      threw = true;
      EXPECT_NE(std::string(e.what()).find("out of memory"), std::string::npos);
    }
    EXPECT_TRUE(threw);
  }
  heap->CollectGarbage();
  EXPECT_EQ(heap->stats().live_objects, 0u);
  HandleScope scope(*heap);
  for (uint32_t i = 0; i < 2000; ++i) ASSERT_TRUE(heap->TryNew<Blob<1000>>(i).ok());
}

TEST_P(HeapTest, GarbageChurnStaysUnderTheLimit) {
  auto heap = MakeHeap(GetParam(), size_t{8} << 20);
  HandleScope scope(*heap);
  Local<Node> keep = heap->New<Node>(42);
  // 100x the limit of garbage: collections must keep up.
  for (size_t i = 0; i < (size_t{800} << 20) / 64; ++i) heap->NewRaw<Blob<40>>(1u);
  EXPECT_EQ(keep->value, 42);
  EXPECT_GE(heap->stats().collections, 100u);
  EXPECT_LE(heap->stats().peak_committed_bytes, size_t{24} << 20);
}

TEST_P(HeapTest, ConstructorsMayAllocate) {
  struct Parent : GarbageCollected<Parent> {
    explicit Parent(Heap& heap) {
      for (int i = 0; i < 8; ++i) children.push_back(heap.NewRaw<Node>(i));
    }
    void Trace(Visitor& v) const { v.Trace(children); }
    HeapVector<Member<Node>> children;
  };
  auto heap = MakeHeap(GetParam(), size_t{64} << 20, FixedBudgetPolicy::Create(4096).value());
  HandleScope scope(*heap);
  std::vector<Local<Parent>> parents;
  for (int i = 0; i < 2000; ++i) parents.push_back(heap->New<Parent>(*heap));
  heap->CollectGarbage();
  for (const auto& p : parents) {
    for (int i = 0; i < 8; ++i) ASSERT_EQ(p->children[i]->value, i);
  }
  EXPECT_EQ(heap->stats().live_objects, 2000u * 10u);  // each parent, its store, 8 nodes
}

TEST_P(HeapTest, ThrowingConstructorLeavesHeapConsistent) {
  struct Throws : GarbageCollected<Throws> {
    explicit Throws(bool do_throw) {
      if (do_throw) throw std::runtime_error("constructor failed");
    }
    void Trace(Visitor&) const {}
    std::string payload = "non-trivial";
  };
  HandleScope scope(heap());
  for (int i = 0; i < 100; ++i) {
    EXPECT_THROW(heap().New<Throws>(true), std::runtime_error);
    heap().New<Throws>(false);
  }
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 100u);
}

TEST_P(HeapTest, PersistentHandlesCopyAssignAndReset) {
  Persistent<Node> a(heap(), heap().NewRaw<Node>(1));
  EXPECT_EQ(heap().persistent_handle_count(), 1u);
  {
    Persistent<Node> b = a;
    Persistent<Node> c;
    c = b;
    EXPECT_EQ(heap().persistent_handle_count(), 3u);
    a.Reset();
    heap().CollectGarbage();
    EXPECT_EQ(heap().stats().live_objects, 1u);
    EXPECT_EQ(c->value, 1);
    c = nullptr;
    EXPECT_EQ(heap().persistent_handle_count(), 1u);
  }
  EXPECT_EQ(heap().persistent_handle_count(), 0u);
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 0u);
}

TEST_P(HeapTest, PersistentOutlivingItsHeapCanBeDestroyed) {
  Persistent<Node> survivor;
  {
    auto heap = MakeHeap(GetParam());
    HandleScope scope(*heap);
    survivor.Set(*heap, heap->New<Node>(1).Get());
  }
  // Destroying an orphaned handle is fine; using it is not (see the death tests).
}

TEST_P(HeapTest, ContainsKnowsHeapObjects) {
  HandleScope scope(heap());
  Local<Node> n = heap().New<Node>(1);
  Local<Blob<50000>> big = heap().New<Blob<50000>>(1u);
  int on_stack = 0;
  auto other = MakeHeap(GetParam());
  HandleScope other_scope(*other);
  Local<Node> foreign = other->New<Node>(2);
  EXPECT_TRUE(heap().Contains(n.Get()));
  EXPECT_TRUE(heap().Contains(big.Get()));
  // Interior pointers are not objects, on any collector.
  Local<Blob<100>> medium = heap().New<Blob<100>>(2u);
  for (size_t offset : {8, 16, 24, 64}) {
    EXPECT_FALSE(heap().Contains(reinterpret_cast<char*>(medium.Get()) + offset)) << offset;
  }
  EXPECT_FALSE(heap().Contains(reinterpret_cast<char*>(big.Get()) + 16));
  EXPECT_TRUE(heap().Contains(medium.Get()));
  heap().CollectGarbage();
  EXPECT_TRUE(heap().Contains(medium.Get()));
  EXPECT_TRUE(heap().Contains(n.Get()));
  EXPECT_FALSE(heap().Contains(reinterpret_cast<char*>(medium.Get()) + 16));
  EXPECT_FALSE(heap().Contains(&on_stack));
  EXPECT_FALSE(heap().Contains(nullptr));
  EXPECT_FALSE(heap().Contains(foreign.Get()));
  EXPECT_TRUE(other->Contains(foreign.Get()));
}

// A hook that records the phases it sees and exercises CycleContext.
class RecordingHook : public CollectionHook {
 public:
  explicit RecordingHook(Heap& heap) : heap_(heap) {}
  void TraceRoots(Visitor& visitor) override {
    calls.push_back("roots");
    visitor.Trace(hook_root);
  }
  bool ProcessWeak(CycleContext& context) override {
    calls.push_back("weak");
    if (probe) probe_alive_in_weak = context.IsAlive(probe);
    return false;
  }
  void ProcessFinalization(CycleContext& context) override {
    calls.push_back("finalize");
    // Keep `rescued` alive although nothing else reaches it (as a finalization
    // registry keeps a held value).
    if (rescued) {
      rescued_was_alive = context.IsAlive(rescued);
      void* slot = rescued;
      context.MarkSlot(&slot);
      rescued = static_cast<Node*>(slot);
    }
  }
  void ClearWeak(CycleContext& context) override {
    calls.push_back("clear");
    if (probe) {
      probe = context.IsAlive(probe) ? context.CurrentAddress(probe) : nullptr;
    }
    if (rescued) rescued_alive_after = context.IsAlive(rescued);
  }
  void AfterCollection() override { calls.push_back("after"); }

  Heap& heap_;
  std::vector<std::string> calls;
  Member<Node> hook_root;
  Node* probe = nullptr;    // a weak pointer maintained by hand
  Node* rescued = nullptr;
  bool probe_alive_in_weak = false;
  bool rescued_was_alive = true;
  bool rescued_alive_after = false;
};

TEST_P(HeapTest, HooksRunInPhaseOrder) {
  // Records every call of the hook, and holds unrooted objects across allocations: no
  // stress collections, and no verifier calling TraceRoots once more.
  std::unique_ptr<Heap> owned =
      testing::MakeHeapWithoutStress(GetParam(), size_t{256} << 20, nullptr);
  Heap& h = *owned;
  RecordingHook hook(h);
  h.AddCollectionHook(&hook);
  {
    HandleScope scope(h);
    hook.hook_root = h.NewRaw<Node>(1);
    hook.probe = h.NewRaw<Node>(2);
    hook.rescued = h.NewRaw<Node>(3);
    Local<Node> rescued_child = h.New<Node>(4);
    hook.rescued->left = rescued_child;
  }
  h.CollectGarbage();
  // The weak fixpoint runs again after finalization: what it kept alive may be keys.
  EXPECT_EQ(hook.calls, (std::vector<std::string>{"roots", "weak", "finalize", "weak", "clear",
                                                  "after"}));
  EXPECT_FALSE(hook.probe_alive_in_weak);
  EXPECT_EQ(hook.probe, nullptr);             // cleared: nothing kept it alive
  EXPECT_FALSE(hook.rescued_was_alive);       // dead before the finalize phase...
  EXPECT_TRUE(hook.rescued_alive_after);      // ...kept alive by it, with its child
  EXPECT_EQ(h.stats().live_objects, 3u);  // hook_root, rescued, rescued's child
  EXPECT_EQ(hook.hook_root->value, 1);
  EXPECT_EQ(hook.rescued->value, 3);
  EXPECT_EQ(hook.rescued->left->value, 4);

  hook.calls.clear();
  hook.rescued = nullptr;
  {
    HandleScope scope(h);
    Local<Node> strong = h.New<Node>(5);
    hook.probe = strong.Get();
    h.CollectGarbage();
    EXPECT_TRUE(hook.probe_alive_in_weak);
    EXPECT_EQ(hook.probe, strong.Get());      // updated to the current address
  }
  h.RemoveCollectionHook(&hook);
}

// Allocation inside constructors may go past the budget, but must not stop the heap
// from collecting afterwards (it once left semispace's bump buffer at the heap limit).
TEST_P(HeapTest, AllocatingConstructorsDoNotDisableCollection) {
  struct Parent : GarbageCollected<Parent> {
    // Most bytes are allocated inside the constructor, so the budget mostly runs out
    // there.
    explicit Parent(Heap& heap) {
      for (auto& c : children) c = heap.NewRaw<Node>(1);
    }
    void Trace(Visitor& v) const {
      for (const auto& c : children) v.Trace(c);
    }
    Member<Node> children[15];
  };
  auto heap = MakeHeap(GetParam(), size_t{1} << 30, FixedBudgetPolicy::Create(1 << 20).value());
  HandleScope scope(*heap);
  // 64 MiB of garbage in 1 MiB budgets: about 64 collections, little memory.
  const size_t kCell = internal::CellSizeFor(sizeof(Parent)) + 15 * kNodeCell;
  for (size_t i = 0; i < (size_t{64} << 20) / kCell; ++i) heap->NewRaw<Parent>(*heap);
  EXPECT_GE(heap->stats().collections, 50u);
  EXPECT_LE(heap->stats().peak_committed_bytes, size_t{16} << 20);
}

// Large objects spend the same budget as small ones.
TEST_P(HeapTest, LargeObjectsCountTowardTheBudget) {
  // Counts the policy's collections.
  auto heap = testing::MakeHeapWithoutStress(GetParam(), size_t{1} << 30,
                                             FixedBudgetPolicy::Create(8 << 20).value());
  HandleScope scope(*heap);
  Local<Node> keep = heap->New<Node>(5);
  // 80 MiB of garbage, half small and half large: about 10 collections. A small
  // object first, so that large ones are allocated while a bump buffer is open.
  for (int i = 0; i < 20; ++i) {
    heap->NewRaw<Blob<40>>(1u);
    for (int k = 0; k < 4; ++k) heap->NewRaw<Blob<(1 << 19) - 64>>(static_cast<uint32_t>(k));
    for (int k = 0; k < (2 << 20) / 64 - 1; ++k) heap->NewRaw<Blob<40>>(1u);
  }
  if (heap->capabilities().generational) {
    // Minor collections reclaim the garbage young: the old generation never grows by
    // the budget, which is what calls a major collection (policy.h).
    EXPECT_EQ(heap->stats().collections, heap->stats().minor_collections);
    EXPECT_GE(heap->stats().minor_collections, 1u);
  } else {
    EXPECT_GE(heap->stats().collections, 9u);
    EXPECT_LE(heap->stats().collections, 11u);
  }
  EXPECT_EQ(keep->value, 5);
}

TEST_P(HeapTest, PeakCommittedBytesIsAPeak) {
  // What stays committed depends on which collections ran: only the explicit one.
  std::unique_ptr<Heap> owned =
      testing::MakeHeapWithoutStress(GetParam(), size_t{256} << 20, nullptr);
  Heap& h = *owned;
  {
    HandleScope scope(h);
    Local<Array> array = h.New<Array>(1'000'000);
    for (size_t i = 0; i < array->slots.size(); ++i) {
      array->slots[i] = h.NewRaw<Node>(static_cast<int64_t>(i));
    }
  }
  h.CollectGarbage();
  h.CollectGarbage();  // which returns the array store's mapping, kept for reuse by the first
  const size_t kLive = 1'000'000 * kNodeCell;
  EXPECT_GE(h.stats().peak_committed_bytes, kLive);
  EXPECT_LT(h.stats().committed_bytes, kLive);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, HeapTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

TEST(HeapOptionsTest, RejectsBadOptions) {
  HeapOptions options;
  options.heap_limit = 1000;
  EXPECT_EQ(Heap::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.heap_limit = size_t{1} << 50;
  EXPECT_EQ(Heap::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GrowthFactorPolicy::Create(1.0, 1 << 20).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GrowthFactorPolicy::Create(std::nan(""), 1 << 20).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedBudgetPolicy::Create(10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCollectorKind("no-such-collector").status().code(),
            absl::StatusCode::kInvalidArgument);
  for (CollectorKind kind : AllCollectors()) {
    EXPECT_EQ(ParseCollectorKind(CollectorName(kind)).value(), kind);
  }
}



}  // namespace
}  // namespace gclab::testing
