// gc/internal/chunked_vector.h: the collector's per-cycle side tables.
#include "gc/internal/chunked_vector.h"

#include <cstdint>
#include <vector>

#include "gc/fault_injection.h"
#include "gtest/gtest.h"

namespace {

using gclab::internal::ChunkedVector;

// 4 elements per chunk, so a few dozen elements cross many chunk boundaries.
using Small = ChunkedVector<uint64_t, 32>;
static_assert(Small::kPerChunk == 4);
// A chunk size that is not a multiple of the element rounds down to a power of two.
static_assert(ChunkedVector<uint64_t, 100>::kPerChunk == 8);

TEST(ChunkedVectorTest, KeepsOrderAndValuesAcrossChunks) {
  Small v;
  EXPECT_TRUE(v.empty());
  for (uint64_t i = 0; i < 37; ++i) ASSERT_TRUE(v.TryPushBack(i * 3));
  ASSERT_EQ(v.size(), 37u);
  EXPECT_EQ(v.chunk_count(), 10u);
  for (uint64_t i = 0; i < 37; ++i) EXPECT_EQ(v[i], i * 3) << i;
  std::vector<uint64_t> seen;
  v.ForEach([&](uint64_t& x) { seen.push_back(x); });
  ASSERT_EQ(seen.size(), 37u);
  for (uint64_t i = 0; i < 37; ++i) EXPECT_EQ(seen[i], i * 3);
  v[5] = 1000;
  EXPECT_EQ(v[5], 1000u);
  EXPECT_EQ(v.back(), 36u * 3);
}

TEST(ChunkedVectorTest, ElementsNeverMoveWhenItGrows) {
  Small v;
  ASSERT_TRUE(v.TryPushBack(7));
  const uint64_t* first = &v[0];
  for (uint64_t i = 0; i < 1000; ++i) ASSERT_TRUE(v.TryPushBack(i));
  EXPECT_EQ(&v[0], first);
  EXPECT_EQ(*first, 7u);
}

TEST(ChunkedVectorTest, UsedAsAStack) {
  Small v;
  for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(v.TryPushBack(i));
  for (uint64_t i = 10; i-- > 0;) {
    EXPECT_EQ(v.back(), i);
    v.pop_back();
  }
  EXPECT_TRUE(v.empty());
  ASSERT_TRUE(v.TryPushBack(42));
  EXPECT_EQ(v.back(), 42u);
  EXPECT_EQ(v.size(), 1u);
}

TEST(ChunkedVectorTest, ClearKeepsWhatTheLastFillingUsedAndFreesTheRest) {
  Small v;
  for (uint64_t i = 0; i < 40; ++i) ASSERT_TRUE(v.TryPushBack(i));  // 10 chunks
  v.clear();
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.chunk_count(), 10u);  // the same shape next time reuses them
  for (uint64_t i = 0; i < 9; ++i) ASSERT_TRUE(v.TryPushBack(i));  // needs 3 of them
  v.clear();
  EXPECT_EQ(v.chunk_count(), 3u);
  // A peak that pop_back() took back down still counts.
  for (uint64_t i = 0; i < 20; ++i) ASSERT_TRUE(v.TryPushBack(i));
  for (int i = 0; i < 18; ++i) v.pop_back();
  v.clear();
  EXPECT_EQ(v.chunk_count(), 5u);
  v.clear();  // nothing used since: everything goes
  EXPECT_EQ(v.chunk_count(), 0u);
  for (uint64_t i = 0; i < 6; ++i) ASSERT_TRUE(v.TryPushBack(i + 100));
  for (uint64_t i = 0; i < 6; ++i) EXPECT_EQ(v[i], i + 100);
}

TEST(ChunkedVectorTest, APushThatFindsNoMemoryChangesNothing) {
  Small v;
  for (uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(v.TryPushBack(i));  // two full chunks
  // The next push needs a third chunk: either growing the list of chunks or the chunk
  // itself may be refused, whichever request comes first.
  for (uint64_t fail = 1; fail <= 2; ++fail) {
    gclab::FaultInjection::FailNth(fail);
    const bool pushed = v.TryPushBack(99);
    const uint64_t failures = gclab::FaultInjection::failures();
    gclab::FaultInjection::Reset();
    if (failures == 0) {  // that request was not made: the push went through
      ASSERT_TRUE(pushed);
      v.pop_back();
      continue;
    }
    EXPECT_FALSE(pushed);
    EXPECT_EQ(v.size(), 8u);
    for (uint64_t i = 0; i < 8; ++i) EXPECT_EQ(v[i], i);
  }
  ASSERT_TRUE(v.TryPushBack(99));  // memory again: the same push succeeds
  EXPECT_EQ(v.size(), 9u);
  EXPECT_EQ(v.back(), 99u);
}

}  // namespace
