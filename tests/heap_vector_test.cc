// HeapVector: Members kept in a heap-allocated backing store, on every collector.
#include <string>

#include "gc/gc.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gclab {
namespace {

using testing::Node;

template <typename T>
class Holder : public GarbageCollected<Holder<T>> {
 public:
  void Trace(Visitor& v) const { v.Trace(items); }
  HeapVector<T> items;
};
using Nodes = Holder<Member<Node>>;
using WeakNodes = Holder<WeakMember<Node>>;

// An element with a weak key, a value kept alive only through it, and a destructor.
struct Entry {
  WeakMember<Node> key;
  Member<Node> value;
  std::string label;
  void Trace(Visitor& v) const { v.TraceEphemeron(key, value); }
};
using Entries = Holder<Entry>;

class HeapVectorTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void SetUp() override { heap_ = testing::MakeHeapWithoutStress(GetParam(), size_t{64} << 20, nullptr); }
  Heap& heap() { return *heap_; }
  std::unique_ptr<Heap> heap_;
};

TEST_P(HeapVectorTest, GrowsAndKeepsItsElementsAliveAcrossCollections) {
  HandleScope scope(heap());
  Local<Nodes> h = heap().New<Nodes>();
  const int n = testing::Reduced() ? 3000 : 30000;  // the store ends up a large object
  for (int i = 0; i < n; ++i) {
    Node* node = heap().NewRaw<Node>(i);
    ASSERT_TRUE(h->items.TryReserve(heap(), h->items.size() + 1));
    h->items.push_back(node);  // TryReserve did not collect: `node` is still valid
    if (i % 1000 == 0) heap().CollectGarbage();
  }
  heap().CollectGarbage();
  ASSERT_EQ(h->items.size(), static_cast<size_t>(n));
  EXPECT_GE(h->items.capacity(), h->items.size());
  for (int i = 0; i < n; ++i) ASSERT_EQ(h->items[i]->value, i);
  // The nodes and the current store are live; every earlier store is garbage.
  EXPECT_EQ(heap().stats().live_objects, static_cast<size_t>(n) + 2);
}

TEST_P(HeapVectorTest, DroppedElementsNoLongerKeepTheirTargets) {
  HandleScope scope(heap());
  Local<Nodes> h = heap().New<Nodes>();
  for (int i = 0; i < 100; ++i) {
    Node* node = heap().NewRaw<Node>(i);
    ASSERT_TRUE(h->items.TryReserve(heap(), h->items.size() + 1));
    h->items.push_back(node);
  }
  h->items.pop_back();
  h->items.Truncate(10);
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 10u + 2);
  const size_t before = h->items.capacity();
  h->items.TryShrink(heap());
  EXPECT_LT(h->items.capacity(), before);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(h->items[i]->value, i);
  h->items.clear();
  h->items.TryShrink(heap());
  EXPECT_EQ(h->items.capacity(), 0u);
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 1u);
}

TEST_P(HeapVectorTest, WeakElementsAreClearedWhenTheirTargetsDie) {
  HandleScope scope(heap());
  Local<WeakNodes> h = heap().New<WeakNodes>();
  Local<Node> kept = heap().New<Node>(7);
  ASSERT_TRUE(h->items.TryReserve(heap(), 2));
  h->items.push_back(kept.Get());
  h->items.push_back(heap().NewRaw<Node>(8));
  heap().CollectGarbage();
  EXPECT_EQ(h->items[0].Get(), kept.Get());
  EXPECT_EQ(h->items[1].Get(), nullptr);
}

TEST_P(HeapVectorTest, ElementsThatTraceThemselvesAreEphemeronsWithDestructors) {
  HandleScope scope(heap());
  Local<Entries> h = heap().New<Entries>();
  Local<Node> key = heap().New<Node>(1);
  ASSERT_TRUE(h->items.TryReserve(heap(), 2));
  Entry live{key.Get(), heap().NewRaw<Node>(10), std::string(100, 'a')};
  h->items.push_back(live);
  Entry dead{heap().NewRaw<Node>(2), nullptr, std::string(100, 'b')};
  dead.value = heap().NewRaw<Node>(20);  // only the dead key leads here
  h->items.push_back(dead);
  live = Entry{};
  dead = Entry{};
  heap().CollectGarbage();
  EXPECT_EQ(h->items[0].key.Get(), key.Get());
  ASSERT_NE(h->items[0].value.Get(), nullptr);
  EXPECT_EQ(h->items[0].value->value, 10);
  EXPECT_EQ(h->items[0].label, std::string(100, 'a'));  // moved intact
  EXPECT_EQ(h->items[1].key.Get(), nullptr);
  EXPECT_EQ(h->items[1].value.Get(), nullptr);
  // key, its value, the holder and its store.
  EXPECT_EQ(heap().stats().live_objects, 4u);
}

TEST_P(HeapVectorTest, GrowingNeverCollectsAndFailsOnlyAtTheHeapLimit) {
  std::unique_ptr<Heap> small = testing::MakeHeapWithoutStress(GetParam(), size_t{2} << 20, nullptr);
  HandleScope scope(*small);
  Local<Nodes> h = small->New<Nodes>();
  const uint64_t collections = small->stats().collections;
  size_t n = 0;
  while (h->items.TryReserve(*small, n + 1)) {
    h->items.push_back(nullptr);
    ++n;
  }
  EXPECT_EQ(small->stats().collections, collections);  // it never collected
  EXPECT_EQ(h->items.size(), n);  // the failed growth changed nothing
  EXPECT_GT(n, 1000u);
  // The garbage of earlier stores is reclaimed by the next collection.
  small->CollectGarbage();
  EXPECT_LE(small->stats().live_bytes, (size_t{1} << 20) + 64 * 1024);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, HeapVectorTest, ::testing::ValuesIn(AllCollectors()),
                         testing::CollectorParamName);

}  // namespace
}  // namespace gclab
