// Bad input stops with a clear message instead of corrupting memory. Checks marked
// "debug" exist only in GCLAB_DEBUG builds (--config=debug, asan, ubsan); the others
// are always on.
#include <gtest/gtest.h>

#include "gc/gc.h"
#include "gc/internal/check.h"
#include "tests/test_types.h"

namespace gclab::testing {
namespace {

class MisuseDeathTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

#define REQUIRE_DEBUG_CHECKS()                                              \
  if (!internal::kDebugChecks) GTEST_SKIP() << "needs a GCLAB_DEBUG build " \
                                               "(--config=debug/asan/ubsan)"

TEST_P(MisuseDeathTest, MemberIntoAnotherHeap) {
  REQUIRE_DEBUG_CHECKS();
  EXPECT_DEATH(
      {
        auto a = MakeHeap(GetParam());
        auto b = MakeHeap(GetParam());
        HandleScope sa(*a);
        HandleScope sb(*b);
        Local<Node> mine = a->New<Node>(1);
        Local<Node> theirs = b->New<Node>(2);
        mine->left = theirs.Get();
        a->CollectGarbage();
      },
      "not a live object of this heap");
}

TEST_P(MisuseDeathTest, MemberToANonHeapObject) {
  REQUIRE_DEBUG_CHECKS();
  EXPECT_DEATH(
      {
        auto heap = MakeHeap(GetParam());
        HandleScope scope(*heap);
        alignas(16) static char fake[64] = {};
        Local<Node> node = heap->New<Node>(1);
        node->left = reinterpret_cast<Node*>(fake + 16);
        heap->CollectGarbage();
      },
      "not a live object of this heap");
}

TEST_P(MisuseDeathTest, PersistentUsedAfterHeapDestroyed) {
  EXPECT_DEATH(
      {
        Persistent<Node> p;
        {
          auto heap = MakeHeap(GetParam());
          p.Set(*heap, heap->NewRaw<Node>(1));
        }
        (void)p.Get();
      },
      "Persistent handle was used after its Heap was destroyed");
}

TEST_P(MisuseDeathTest, LocalUsedAfterHeapDestroyed) {
  REQUIRE_DEBUG_CHECKS();
  EXPECT_DEATH(
      {
        Local<Node> local;
        {
          auto heap = MakeHeap(GetParam());
          HandleScope scope(*heap);
          local = heap->New<Node>(1);
        }
        (void)local.Get();
      },
      "Local handle was used after its Heap was destroyed");
}

TEST_P(MisuseDeathTest, LocalUsedAfterItsScopeClosed) {
  REQUIRE_DEBUG_CHECKS();
  EXPECT_DEATH(
      {
        auto heap = MakeHeap(GetParam());
        Local<Node> local;
        {
          HandleScope scope(*heap);
          local = heap->New<Node>(1);
        }
        (void)local.Get();
      },
      "Local handle was used after its HandleScope was closed");
}

TEST_P(MisuseDeathTest, LocalWithoutHandleScope) {
  EXPECT_DEATH(
      {
        auto heap = MakeHeap(GetParam());
        heap->New<Node>(1);
      },
      "no HandleScope open");
}

class AllocatingHook : public CollectionHook {
 public:
  explicit AllocatingHook(Heap& heap) : heap_(heap) {}
  void ClearWeak(CycleContext&) override {
    for (int i = 0; i < 100000; ++i) heap_.NewRaw<Node>(i);
  }
  Heap& heap_;
};

TEST_P(MisuseDeathTest, AllocationDuringCollection) {
  EXPECT_DEATH(
      {
        auto heap = MakeHeap(GetParam());
        AllocatingHook hook(*heap);
        heap->AddCollectionHook(&hook);
        heap->CollectGarbage();
      },
      "allocation during a garbage collection");
}

class CollectingHook : public CollectionHook {
 public:
  explicit CollectingHook(Heap& heap) : heap_(heap) {}
  void ProcessFinalization(CycleContext&) override { heap_.CollectGarbage(); }
  Heap& heap_;
};

TEST_P(MisuseDeathTest, CollectionDuringCollection) {
  EXPECT_DEATH(
      {
        auto heap = MakeHeap(GetParam());
        CollectingHook hook(*heap);
        heap->AddCollectionHook(&hook);
        heap->CollectGarbage();
      },
      "collection was started during a collection");
}

TEST_P(MisuseDeathTest, OutOfMemoryWithDefaultHandlerAborts) {
  EXPECT_DEATH(
      {
        auto heap = MakeHeap(GetParam(), size_t{2} << 20);
        HandleScope scope(*heap);
        for (uint32_t i = 0; i < 100000; ++i) heap->New<Blob<1000>>(i);
      },
      "out of memory: cannot allocate [0-9]+ bytes in the [a-z-]+ heap");
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, MisuseDeathTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab::testing
