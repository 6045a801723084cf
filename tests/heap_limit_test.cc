// The heap limit under fragmentation, on every collector.
//
// `HeapOptions::heap_limit` caps the bytes of objects (gc/DESIGN.md [alloc.limit]):
// while live bytes plus a request fit under it, the request must succeed, unless a
// collector that does not move objects has its free memory split among pages bound to
// other size classes; then the status says so and the statistics count the
// fragmentation. These tests build the pattern that splits a non-moving heap: fill the
// whole heap with small objects, keep one in 8,192, and allocate objects of another
// size.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gc/gc.h"
#include "tests/test_types.h"

namespace gclab::testing {
namespace {

// Smaller under sanitizers and stress runs (Reduced), where every fill's collections
// cost more than the fill: the pattern, and what the tests check of it, are the same.
const size_t kLimit = Reduced() ? size_t{16} << 20 : size_t{64} << 20;
using Medium = Blob<2000>;  // a 2 KiB size class
constexpr size_t kMediumCell = internal::CellSizeFor(sizeof(Medium));
// How far under the limit TryNew may fail: one object and its size-class rounding.
constexpr size_t kSlack = 2 * kMediumCell;

// A small object of another size class than Node's.
class Wide : public GarbageCollected<Wide> {
 public:
  explicit Wide(int64_t v) : value(v) {}
  void Trace(Visitor& v) const { v.Trace(left); }
  int64_t value;
  int64_t pad[3] = {};
  Member<Wide> left;
};
static_assert(internal::CellSizeFor(sizeof(Wide)) != internal::CellSizeFor(sizeof(Node)));

class HeapLimitTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void SetUp() override { heap_ = MakeHeap(GetParam(), kLimit); }

  // Fills the heap with small objects of type T (with a `left` Member to another T)
  // until TryNew fails, keeps one in `keep_one_in` of them alive in `kept`, drops the
  // rest and collects.
  template <typename T>
  void FillAndKeepSparse(size_t keep_one_in, std::vector<Persistent<T>>& kept) {
    Persistent<T> head;
    size_t count = 0;
    for (;; ++count) {
      HandleScope scope(*heap_);
      absl::StatusOr<Local<T>> object = heap_->TryNew<T>(static_cast<int64_t>(count));
      if (!object.ok()) {
        ASSERT_EQ(object.status().code(), absl::StatusCode::kResourceExhausted);
        break;
      }
      (*object)->left = head.Get();
      head.Set(*heap_, object->Get());
    }
    // The whole heap was full of them (less the survivors of earlier fills).
    ASSERT_GT(count * internal::CellSizeFor(sizeof(T)), kLimit / 2);
    size_t index = 0;
    for (T* n = head.Get(); n != nullptr; n = n->left.Get(), ++index) {
      if (index % keep_one_in == 0) kept.emplace_back(*heap_, n);
    }
    for (Persistent<T>& k : kept) k->left = nullptr;
    head.Reset();
    heap_->CollectGarbage();
  }

  // Allocates Medium objects, all kept alive, until TryNew fails; returns the status
  // and sets `usable` to the bytes they took (cells as the allocator counts them).
  absl::Status FillWithMedium(size_t* usable = nullptr) {
    const uint64_t before = heap_->stats().bytes_allocated;
    for (uint32_t i = 0;; ++i) {
      HandleScope scope(*heap_);
      absl::StatusOr<Local<Medium>> blob = heap_->TryNew<Medium>(i);
      if (!blob.ok()) {
        if (usable != nullptr) *usable = heap_->stats().bytes_allocated - before;
        return blob.status();
      }
      medium_.emplace_back(*heap_, *blob);
    }
  }

  std::unique_ptr<Heap> heap_;
  std::vector<Persistent<Node>> kept_;
  std::vector<Persistent<Medium>> medium_;
};

// The outside suite's case: 8 KiB live after the fill (2 KiB reduced), then 2 KiB
// objects. Every collector must hand out nearly all of the limit (mark-sweep stopped
// at 55%).
TEST_P(HeapLimitTest, SparseSurvivorsLeaveTheLimitUsable) {
  FillAndKeepSparse(8192, kept_);
  const HeapStatistics& after = heap_->stats();
  const size_t live = after.live_bytes;
  EXPECT_LE(live, size_t{16} << 10);
  EXPECT_LE(after.fragmented_bytes + live, after.committed_bytes);
  if (!heap_->capabilities().compacts) {
    // Every page that held the small objects is pinned by a survivor.
    EXPECT_GT(after.fragmented_bytes, kLimit / 2) << "a non-moving heap is fragmented now";
  }

  size_t usable = 0;
  absl::Status failure = FillWithMedium(&usable);
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  // All of the limit but one object at most. (Nothing is garbage: the bytes
  // allocated are the cells of the objects kept.)
  EXPECT_GE(usable + live + kSlack, kLimit) << "only " << usable << " bytes of "
                                                 << kLimit - live << " were usable";
  EXPECT_NE(failure.message().find("heap limit"), std::string::npos) << failure;
  for (size_t i = 0; i < medium_.size(); i += 97) ASSERT_TRUE(medium_[i]->Intact());
}

// Two complete turnovers into other size classes, each leaving sparse survivors:
// a non-moving collector may now run out of pages before the limit, but then the
// status says why (fragmentation, with the bytes free in other classes) and the heap
// goes on. A collector that compacts (CollectorCapabilities::compacts) uses the whole limit.
TEST_P(HeapLimitTest, FragmentationIsReportedNotHidden) {
  FillAndKeepSparse(8192, kept_);
  std::vector<Persistent<Wide>> wide_kept;
  FillAndKeepSparse(8192, wide_kept);
  const size_t live = heap_->stats().live_bytes;
  ASSERT_LE(live, size_t{64} << 10);

  size_t usable = 0;
  absl::Status failure = FillWithMedium(&usable);
  ASSERT_EQ(failure.code(), absl::StatusCode::kResourceExhausted);
  if (heap_->capabilities().compacts) {
    EXPECT_GE(usable + live + kSlack, kLimit) << failure;
  }
  if (usable + live + kSlack < kLimit) {
    // Out of room before the limit: the message names fragmentation and its size.
    EXPECT_NE(failure.message().find("fragment"), std::string::npos) << failure;
    EXPECT_NE(failure.message().find("under the heap limit"), std::string::npos) << failure;
    EXPECT_GT(heap_->stats().fragmented_bytes, kLimit / 2);
  }
  // The heap goes on: dropping the medium objects makes room again.
  const size_t before = medium_.size();
  medium_.clear();
  heap_->CollectGarbage();
  EXPECT_TRUE(FillWithMedium().code() == absl::StatusCode::kResourceExhausted);
  EXPECT_GE(medium_.size(), before);
  for (size_t i = 0; i < kept_.size(); ++i) EXPECT_EQ(kept_[i]->left.Get(), nullptr);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, HeapLimitTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab::testing
