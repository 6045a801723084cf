// Conformance tests for the heap: every test runs on every collector.
#include <gtest/gtest.h>

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

TEST_P(HeapTest, UnrootedObjectsAreReclaimed) {
  {
    HandleScope scope(heap());
    for (int i = 0; i < 1000; ++i) heap().New<Node>(i);
    heap().CollectGarbage();
    EXPECT_EQ(heap().stats().live_objects, 1000u);  // the scope still roots them
  }
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 0u);
  EXPECT_EQ(heap().stats().live_bytes, 0u);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, HeapTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab::testing
