// Generational collection (gc/DESIGN.md [gen]) on every collector whose registration
// says generational: minor collections keep what only an old object references, for
// every kind of store the write barrier sees, and weak references, ephemerons and
// finalization work across generations. Each barrier test fails when the barrier is
// removed: the young object is then reclaimed (or left behind) by the minor collection,
// its destructor runs, and the old object's field no longer names a live object; the
// remembered-set verifier, on in these heaps, stops the program first.
//
// CollectionKind on every collector: a minor collection asked of a collector that is
// not generational is a major one.
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "finalization/finalization.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"
#include "weak/weak.h"

namespace gclab {
namespace {

using testing::Array;
using testing::Counted;
using testing::Node;

// An old object's weak reference to what may be a young one.
class WeakHolder : public GarbageCollected<WeakHolder> {
 public:
  void Trace(Visitor& visitor) const { visitor.Trace(target); }
  WeakMember<Node> target;
};

class GenerationalTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void SetUp() override {
    HeapOptions options;
    options.collector = GetParam();
    options.verify_after_collection = true;  // also checks the remembered set ([gen.verify])
    heap_ = Heap::Create(testing::WithoutStress(options)).value();
    queue_ = &FinalizationQueue::For(*heap_);
  }

  Heap& heap() { return *heap_; }
  // Everything reachable now becomes old.
  void Minor() {
    heap_->CollectGarbage(CollectionKind::kMinor);
    ASSERT_EQ(heap_->stats().last_cycle.kind, CollectionKind::kMinor);
  }
  Counted* NewYoung(const std::string& text) { return heap_->NewRaw<Counted>(&destroyed_, text); }
  // `field` of an old object holds the only reference to a young Counted `text`: a minor
  // collection keeps it, with its contents.
  void ExpectKept(const Member<Counted>& field, const std::string& text) {
    const uint64_t minors = heap_->stats().minor_collections;
    Minor();
    EXPECT_EQ(heap_->stats().minor_collections, minors + 1);
    EXPECT_EQ(destroyed_, 0) << "the young object was reclaimed";
    ASSERT_NE(field.Get(), nullptr);
    EXPECT_TRUE(heap_->Contains(field.Get())) << "the old object's field is stale";
    EXPECT_EQ(field->text(), text);
    EXPECT_EQ(field->numbers().size(), 100u);
  }

  std::unique_ptr<Heap> heap_;
  FinalizationQueue* queue_ = nullptr;
  int destroyed_ = 0;
};

TEST_P(GenerationalTest, AssignmentFromAPointer) {
  HandleScope scope(heap());
  Local<Counted> old = heap().New<Counted>(&destroyed_, "old");
  Minor();
  old->next = NewYoung("young");
  ExpectKept(old->next, "young");
}

TEST_P(GenerationalTest, CopyAssignmentFromAYoungObjectsMember) {
  HandleScope scope(heap());
  Local<Counted> old = heap().New<Counted>(&destroyed_, "old");
  Minor();
  Local<Counted> young_holder = heap().New<Counted>(&destroyed_, "holder");
  young_holder->next = NewYoung("young");
  old->next = young_holder->next;  // copy
  young_holder->next = nullptr;
  ExpectKept(old->next, "young");
}

TEST_P(GenerationalTest, MoveAssignment) {
  HandleScope scope(heap());
  Local<Counted> old = heap().New<Counted>(&destroyed_, "old");
  Minor();
  Local<Counted> young_holder = heap().New<Counted>(&destroyed_, "holder");
  young_holder->next = NewYoung("young");
  old->next = std::move(young_holder->next);
  young_holder->next = nullptr;
  ExpectKept(old->next, "young");
}

TEST_P(GenerationalTest, ConstructionInAnOldHeapVectorsStore) {
  HandleScope scope(heap());
  Local<Array> old = heap().New<Array>(0);
  ASSERT_TRUE(old->slots.TryReserve(8));
  Minor();  // the store is old now, with room for 8
  const size_t store_bytes = old->slots.storage_bytes();
  Node* young = heap().NewRaw<Node>(7);  // (allocated first: it may move `old`)
  old->slots.push_back(young);           // copy-constructed in the old store
  EXPECT_EQ(old->slots.storage_bytes(), store_bytes);
  Minor();
  ASSERT_TRUE(heap().Contains(old->slots[0].Get()));
  EXPECT_EQ(old->slots[0]->value, 7);
}

TEST_P(GenerationalTest, HeapVectorGrowthIntoANewStore) {
  HandleScope scope(heap());
  Local<Array> old = heap().New<Array>(0);
  Minor();
  // The first element needs a store: a young one, which the old vector now names.
  for (int i = 0; i < 20; ++i) {
    Node* young = heap().NewRaw<Node>(i);
    old->slots.push_back(young);
  }
  Minor();
  ASSERT_EQ(old->slots.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(heap().Contains(old->slots[i].Get()));
    EXPECT_EQ(old->slots[i]->value, i);
  }
}

TEST_P(GenerationalTest, WeakMapSetIntoAnOldMap) {
  HandleScope scope(heap());
  Local<WeakMap<Node, Counted>> map = WeakMap<Node, Counted>::New(heap());
  Local<Node> old_key = heap().New<Node>(1);
  Minor();
  Local<Node> young_key = heap().New<Node>(2);
  Counted* for_old = NewYoung("for the old key");
  ASSERT_TRUE(map->Set(old_key.Get(), for_old).ok());
  Counted* for_young = NewYoung("for the young key");
  ASSERT_TRUE(map->Set(young_key.Get(), for_young).ok());
  Minor();
  EXPECT_EQ(destroyed_, 0);
  ASSERT_NE(map->Get(old_key.Get()), nullptr);
  EXPECT_EQ(map->Get(old_key.Get())->text(), "for the old key");
  ASSERT_NE(map->Get(young_key.Get()), nullptr);
  EXPECT_EQ(map->Get(young_key.Get())->text(), "for the young key");
}

TEST_P(GenerationalTest, RegisterIntoAnOldRegistry) {
  using Registry = FinalizationRegistry<Node>;
  std::vector<int64_t> delivered;
  HandleScope scope(heap());
  Local<Registry> registry =
      Registry::Create(heap(), [&](Local<Node> held) { delivered.push_back(held->value); });
  Minor();
  {
    HandleScope inner(heap());
    Local<Node> target = heap().New<Node>(0);
    // The held value's only reference is the old registry's (in a new chunk or an old one).
    Node* held = heap().NewRaw<Node>(41);
    ASSERT_TRUE(registry->Register(target.Get(), held).ok());
    Minor();  // the target is alive: nothing is delivered, the held value must survive
  }
  heap().CollectGarbage();  // the target dies
  for (int i = 0; i < 100 && queue_->scheduler().pending() > 0; ++i) queue_->PumpHostJobs();
  EXPECT_EQ(delivered, std::vector<int64_t>{41});
}

TEST_P(GenerationalTest, YoungKeysOfAnOldWeakMapDieInAMinorCollection) {
  HandleScope scope(heap());
  Local<WeakMap<Node, Counted>> map = WeakMap<Node, Counted>::New(heap());
  Minor();
  {
    HandleScope inner(heap());
    for (int i = 0; i < 10; ++i) {
      Local<Node> key = heap().New<Node>(i);
      Counted* value = NewYoung("value");
      ASSERT_TRUE(map->Set(key.Get(), value).ok());
    }
  }
  ASSERT_EQ(map->size(), 10u);
  Minor();
  EXPECT_EQ(map->size(), 0u);
  EXPECT_EQ(destroyed_, 10);  // the values died with their keys
}

TEST_P(GenerationalTest, AYoungTargetInAnOldRegistryIsDeliveredAfterAMinorCollection) {
  using Registry = FinalizationRegistry<Node>;
  std::vector<int64_t> delivered;
  HandleScope scope(heap());
  Local<Registry> registry =
      Registry::Create(heap(), [&](Local<Node> held) { delivered.push_back(held->value); });
  Local<Node> held = heap().New<Node>(5);
  Minor();
  {
    HandleScope inner(heap());
    Local<Node> target = heap().New<Node>(0);
    ASSERT_TRUE(registry->Register(target.Get(), held.Get()).ok());
  }
  Minor();
  for (int i = 0; i < 100 && queue_->scheduler().pending() > 0; ++i) queue_->PumpHostJobs();
  EXPECT_EQ(delivered, std::vector<int64_t>{5});
}

TEST_P(GenerationalTest, AnEphemeronChainAcrossGenerations) {
  HandleScope scope(heap());
  Local<WeakMap<Node, Node>> map = WeakMap<Node, Node>::New(heap());
  {
    HandleScope keys(heap());
    Local<Node> first = heap().New<Node>(1);
    Minor();  // the map and the first key are old
    {
      HandleScope inner(heap());
      Local<Node> second = heap().New<Node>(2);
      ASSERT_TRUE(map->Set(first.Get(), second.Get()).ok());             // old key, young value
      Node* third = heap().NewRaw<Node>(3);
      ASSERT_TRUE(map->Set(second.Get(), third).ok());  // young key and value
    }
    Minor();  // reached through the chain only: first -> second -> third
    Node* second = map->Get(first.Get());
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->value, 2);
    ASSERT_NE(map->Get(second), nullptr);
    EXPECT_EQ(map->Get(second)->value, 3);
  }
  // The chain's start is old garbage now, which a minor collection keeps, and with it
  // the chain,
  Minor();
  EXPECT_EQ(map->size(), 2u);
  heap().CollectGarbage();  // and a major one does not
  EXPECT_EQ(map->size(), 0u);
}

TEST_P(GenerationalTest, AnOldObjectsWeakMemberToAYoungObjectIsClearedWhenItDies) {
  HandleScope scope(heap());
  Local<WeakHolder> dies = heap().New<WeakHolder>();
  Local<WeakHolder> lives = heap().New<WeakHolder>();
  Minor();
  Local<Node> kept = heap().New<Node>(8);
  lives->target = kept.Get();
  dies->target = heap().NewRaw<Node>(9);
  Minor();
  EXPECT_EQ(dies->target.Get(), nullptr);
  ASSERT_NE(lives->target.Get(), nullptr);
  EXPECT_EQ(lives->target.Get()->value, 8);
}

TEST_P(GenerationalTest, AMinorCollectionKeepsOldGarbageUntilAMajorOne) {
  HandleScope scope(heap());
  {
    HandleScope inner(heap());
    Local<Counted> old = heap().New<Counted>(&destroyed_, "old");
    Minor();
  }
  const size_t live_objects = heap().stats().live_objects;
  Minor();
  EXPECT_EQ(destroyed_, 0);
  EXPECT_EQ(heap().stats().live_objects, live_objects);
  heap().CollectGarbage();
  EXPECT_EQ(destroyed_, 1);
  EXPECT_EQ(heap().stats().last_cycle.kind, CollectionKind::kMajor);
}

TEST_P(GenerationalTest, AllocationRunsMinorCollectionsAndOldGarbageNeverFailsAnAllocation) {
  // A small heap filled with old garbage: the minor collections cannot reclaim it, and
  // an allocation that does not fit gets a major collection before it fails.
  HeapOptions options;
  options.collector = GetParam();
  options.heap_limit = size_t{8} << 20;
  options.collector_options = {{"nursery", "256K"}};
  std::unique_ptr<Heap> small = Heap::Create(testing::WithoutStress(options)).value();
  HandleScope scope(*small);
  for (int round = 0; round < 6; ++round) {
    HandleScope inner(*small);
    Local<Array> list = small->New<Array>(0);
    // 4 MiB of nodes that live long enough to be promoted, then become garbage.
    for (int i = 0; i < (4 << 20) / 32; ++i) {
      Node* node = small->NewRaw<Node>(i);  // first: the collection it may run moves `list`
      ASSERT_TRUE(list->slots.TryPushBack(node)) << "round " << round;
    }
  }
  const HeapStatistics& stats = small->stats();
  EXPECT_GE(stats.minor_collections, 10u);
  EXPECT_GE(stats.collections - stats.minor_collections, 2u);
}

TEST_P(GenerationalTest, TheRememberedSetVerifierNamesAnUnrememberedOldToYoungEdge) {
  HandleScope scope(heap());
  Local<Node> old = heap().New<Node>(1);
  Minor();
  Node* young = heap().NewRaw<Node>(2);
  // A store the barrier does not see: the Member's bits written directly.
  static_assert(sizeof(Member<Node>) == sizeof(void*));
  std::memcpy(static_cast<void*>(&old->left), &young, sizeof(void*));
  EXPECT_DEATH(heap().CollectGarbage(CollectionKind::kMinor),
               "remembered-set verifier.*the old object [a-z:]*Node@0x[0-9a-f]+ holds a "
               "reference to the young object [a-z:]*Node@0x[0-9a-f]+");
  old->left = nullptr;
}

TEST_P(GenerationalTest, ASecondHeapsBarrierWorksToo) {
  // Only one heap's nursery stores skip the hook inline (gc/DESIGN.md
  // [barrier.exempt]); a second heap's go through the slow path, which must still
  // remember an old holder of a young object.
  HeapOptions options;
  options.collector = GetParam();
  options.verify_after_collection = true;
  std::unique_ptr<Heap> second = Heap::Create(testing::WithoutStress(options)).value();
  HandleScope scope(*second);
  Local<Counted> old = second->New<Counted>(&destroyed_, "old");
  second->CollectGarbage(CollectionKind::kMinor);
  Local<Counted> young_holder = second->New<Counted>(&destroyed_, "holder");
  young_holder->next = second->NewRaw<Counted>(&destroyed_, "young");  // into the nursery
  old->next = young_holder->next;
  young_holder->next = nullptr;
  second->CollectGarbage(CollectionKind::kMinor);
  EXPECT_EQ(destroyed_, 0);
  ASSERT_TRUE(second->Contains(old->next.Get()));
  EXPECT_EQ(old->next->text(), "young");
}

TEST_P(GenerationalTest, TheNurseryOptionIsChecked) {
  HeapOptions options;
  options.collector = GetParam();
  options.collector_options = {{"nursery", "1M"}};
  EXPECT_TRUE(Heap::Create(options).ok());
  options.collector_options = {{"nursery", "16K"}};
  absl::StatusOr<std::unique_ptr<Heap>> small = Heap::Create(options);
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(small.status().message().find("between 64K and 4G"), std::string::npos)
      << small.status();
  options.collector_options = {{"nursery", "4 M"}};
  EXPECT_EQ(Heap::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.collector_options = {{"nursery-bytes", "4M"}};
  EXPECT_EQ(Heap::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.collector_options = {{"nursery", "1M"}, {"nursery-max", "64M"}};
  EXPECT_TRUE(Heap::Create(options).ok());
  options.collector_options = {{"nursery-max", "8G"}};
  EXPECT_EQ(Heap::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.collector_options = {{"nursery", "1M"}, {"nursery-max", "512K"}};
  absl::StatusOr<std::unique_ptr<Heap>> inverted = Heap::Create(options);
  EXPECT_EQ(inverted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(inverted.status().message().find("below its nursery"), std::string::npos)
      << inverted.status();
}

// [gen.nursery.size] A nursery that survives whole doubles, up to nursery-max; one
// whose objects all die halves, down to nursery. Seen through the number of minor
// collections that a given allocation takes.
TEST_P(GenerationalTest, TheNurseryGrowsWhileItSurvivesAndShrinksWhileItDies) {
  constexpr size_t kMiB = size_t{1} << 20;
  HeapOptions options;
  options.collector = GetParam();
  options.heap_limit = 256 * kMiB;
  options.policy = FixedBudgetPolicy::Create(64 * kMiB).value();  // the nursery decides
  options.collector_options = {{"nursery", "256K"}, {"nursery-max", "4M"}};
  std::unique_ptr<Heap> heap = Heap::Create(testing::WithoutStress(options)).value();
  HandleScope scope(*heap);
  // Allocates `bytes` in 32-byte nodes; kept in a list when `keep`. The minor
  // collections it took.
  auto allocate = [&](size_t bytes, bool keep) {
    const uint64_t before = heap->stats().minor_collections;
    HandleScope inner(*heap);
    Local<Node> list;
    for (size_t i = 0; i < bytes / 32; ++i) {
      if (!keep) {
        heap->NewRaw<Node>(static_cast<int64_t>(i));  // garbage at once: no handle holds it
        continue;
      }
      Local<Node> node = heap->New<Node>(static_cast<int64_t>(i));
      node->left = list.Get();
      list = node;
    }
    return heap->stats().minor_collections - before;
  };
  // 16 MiB kept: 64 minor collections at 256K each; growing, 256K + 512K + ... + 4M
  // covers 8 MiB in 5, and 4M each after that.
  const uint64_t growing = allocate(16 * kMiB, /*keep=*/true);
  EXPECT_GE(growing, 5u);
  EXPECT_LE(growing, 12u) << "the nursery did not grow";
  heap->CollectGarbage();  // the list is garbage now
  // Garbage only: the nursery halves back to 256K within a few collections, after which
  // 8 MiB takes about 32 of them.
  allocate(32 * kMiB, /*keep=*/false);
  const uint64_t shrunk = allocate(8 * kMiB, /*keep=*/false);
  EXPECT_GE(shrunk, 24u) << "the nursery did not shrink back";
  EXPECT_LE(shrunk, 40u);
}

INSTANTIATE_TEST_SUITE_P(Generational, GenerationalTest,
                         ::testing::ValuesIn(testing::CollectorsWith(&CollectorCapabilities::generational)),
                         testing::CollectorParamName);

class CollectionKindTest : public ::testing::TestWithParam<CollectorKind> {};

TEST_P(CollectionKindTest, AMinorCollectionIsMajorUnlessTheCollectorIsGenerational) {
  std::unique_ptr<Heap> heap =
      Heap::Create(testing::WithoutStress(HeapOptions{.collector = GetParam()})).value();
  heap->CollectGarbage(CollectionKind::kMinor);
  const bool generational = heap->capabilities().generational;
  EXPECT_EQ(heap->stats().last_cycle.kind,
            generational ? CollectionKind::kMinor : CollectionKind::kMajor);
  EXPECT_EQ(heap->stats().minor_collections, generational ? 1u : 0u);
  heap->CollectGarbage();
  EXPECT_EQ(heap->stats().last_cycle.kind, CollectionKind::kMajor);
  EXPECT_EQ(CollectionKindName(CollectionKind::kMinor), "minor");
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, CollectionKindTest, ::testing::ValuesIn(AllCollectors()),
                         testing::CollectorParamName);

}  // namespace
}  // namespace gclab
