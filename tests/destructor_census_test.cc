// Destructor census, on every collector: objects of every size class and of the
// large-object space, with and without destructors, alive and dead across many
// collections. Each destructor must run exactly once, and only after its object died
// (garbage_collected.h, gc/DESIGN.md [cycle.sweep]); live objects keep their contents
// whether or not a collector moved them.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "gc/gc.h"
#include "tests/test_types.h"

namespace gclab::testing {
namespace {

// What the test knows of each object it made, and what the destructors reported.
struct Census {
  std::vector<int> destroyed;  // destructor runs per object
  std::vector<bool> released;  // the test dropped its last reference
  int destroyed_while_referenced = 0;

  int Add() {
    destroyed.push_back(0);
    released.push_back(false);
    return static_cast<int>(destroyed.size()) - 1;
  }
};

// N bytes of pattern derived from the object's id.
template <size_t N>
struct Pattern {
  explicit Pattern(int id) {
    for (size_t i = 0; i < N; ++i) bytes[i] = static_cast<uint8_t>(id * 131 + i * 7);
  }
  bool Intact(int id) const {
    for (size_t i = 0; i < N; ++i) {
      if (bytes[i] != static_cast<uint8_t>(id * 131 + i * 7)) return false;
    }
    return true;
  }
  uint8_t bytes[N];
};

// With a destructor and a std::vector (heap memory of its own, so a double destruction
// is a double free under ASan). A moving collector relocates by move construction plus
// destruction of the source: the moved-from object does not count.
template <size_t N>
class WithDestructor : public GarbageCollected<WithDestructor<N>> {
 public:
  WithDestructor(Census* census, int id) : census_(census), id_(id), vector_(8, id), pattern_(id) {}
  WithDestructor(WithDestructor&& other) noexcept
      : census_(std::exchange(other.census_, nullptr)),
        id_(other.id_),
        vector_(std::move(other.vector_)),
        pattern_(other.pattern_) {}
  ~WithDestructor() {
    if (census_ == nullptr) return;
    ++census_->destroyed[id_];
    if (!census_->released[id_]) ++census_->destroyed_while_referenced;
  }
  void Trace(Visitor&) const {}
  int id() const { return id_; }
  bool Intact() const {
    return vector_.size() == 8 && vector_[0] == id_ && vector_[7] == id_ && pattern_.Intact(id_);
  }

 private:
  Census* census_;
  int id_;
  std::vector<int> vector_;
  Pattern<N> pattern_;
};

// The smallest cells with a destructor: no room for a pointer, so the census is a
// global one (set by the test) and a moved-from object has the id -1.
Census* tiny_census = nullptr;

template <size_t N>
class Tiny : public GarbageCollected<Tiny<N>> {
 public:
  Tiny(Census*, int id) : id_(id), pattern_(id) {}
  Tiny(Tiny&& other) noexcept : id_(std::exchange(other.id_, -1)), pattern_(other.pattern_) {}
  ~Tiny() {
    if (id_ < 0) return;
    ++tiny_census->destroyed[id_];
    if (!tiny_census->released[id_]) ++tiny_census->destroyed_while_referenced;
  }
  void Trace(Visitor&) const {}
  int id() const { return id_; }
  bool Intact() const { return pattern_.Intact(id_); }

 private:
  int id_;
  Pattern<N> pattern_;
};

// Trivially destructible: the collector may skip it in the sweep.
template <size_t N>
class Plain : public GarbageCollected<Plain<N>> {
 public:
  Plain(Census*, int id) : id_(id), pattern_(id) {}
  void Trace(Visitor&) const {}
  int id() const { return id_; }
  bool Intact() const { return pattern_.Intact(id_); }

 private:
  int id_;
  Pattern<N> pattern_;
};

template <typename T>
constexpr size_t kCell = internal::CellSizeFor(sizeof(T));

// For each size class S, a type whose cell is exactly S bytes, with and without a
// destructor; and the first large objects with and without one.
template <size_t S>
struct ForClass {
  using Trivial = Plain<S - 12>;
  using Destructible = std::conditional_t<(S >= 56), WithDestructor<S - 48>, Tiny<S - 12>>;
  static_assert(kCell<Trivial> == S && kCell<Destructible> == S);
};
static_assert(kCell<WithDestructor<8160>> > internal::kMaxSmallCell);
static_assert(kCell<Plain<8192>> > internal::kMaxSmallCell);

// The objects of one type that the test still holds.
template <typename T>
struct Pool {
  using Type = T;
  std::vector<Persistent<T>> held;
  std::vector<int> ids;
};

template <size_t... I>
auto MakePools(std::index_sequence<I...>)
    -> std::tuple<Pool<typename ForClass<internal::kSizeClasses[I]>::Trivial>...,
                  Pool<typename ForClass<internal::kSizeClasses[I]>::Destructible>...,
                  Pool<WithDestructor<8160>>, Pool<WithDestructor<40000>>, Pool<Plain<8192>>,
                  Pool<Plain<70000>>>;
// Every size class, and the large-object space.
using Pools = decltype(MakePools(std::make_index_sequence<internal::kNumSizeClasses>()));

class DestructorCensusTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void SetUp() override { tiny_census = &census_; }
  void TearDown() override { tiny_census = nullptr; }

  template <typename F>
  void ForEachPool(F&& f) {
    std::apply([&](auto&... pool) { (f(pool), ...); }, pools_);
  }

  // Allocates `count` objects of the pools' types, each rooted by a Persistent.
  void Allocate(Heap& heap, int count) {
    for (int i = 0; i < count; ++i) {
      size_t which = rng_() % std::tuple_size_v<Pools>;
      size_t index = 0;
      ForEachPool([&](auto& pool) {
        if (index++ != which) return;
        using T = typename std::decay_t<decltype(pool)>::Type;
        HandleScope scope(heap);
        int id = census_.Add();
        Local<T> object = heap.New<T>(&census_, id);
        pool.held.emplace_back(heap, object);
        pool.ids.push_back(id);
      });
    }
  }

  // Drops about one held object in `one_in`.
  void Release(int one_in) {
    ForEachPool([&](auto& pool) {
      for (size_t i = 0; i < pool.held.size();) {
        if (rng_() % one_in != 0) {
          ++i;
          continue;
        }
        census_.released[pool.ids[i]] = true;
        pool.held[i] = std::move(pool.held.back());
        pool.held.pop_back();
        pool.ids[i] = pool.ids.back();
        pool.ids.pop_back();
      }
    });
  }

  // After a full collection: every held object intact and never destroyed, every
  // released object of a type with a destructor destroyed exactly once.
  void CheckAfterCollection(const char* when) {
    SCOPED_TRACE(when);
    ASSERT_EQ(census_.destroyed_while_referenced, 0);
    ForEachPool([&](auto& pool) {
      for (size_t i = 0; i < pool.held.size(); ++i) {
        ASSERT_EQ(pool.held[i]->id(), pool.ids[i]);
        ASSERT_TRUE(pool.held[i]->Intact()) << "object " << pool.ids[i];
      }
    });
    for (size_t id = 0; id < census_.destroyed.size(); ++id) {
      ASSERT_LE(census_.destroyed[id], 1) << "object " << id << " destroyed twice";
      if (!census_.released[id]) {
        ASSERT_EQ(census_.destroyed[id], 0) << "object " << id;
      }
    }
  }

  // Released objects with destructors that have not been destroyed.
  int Undestroyed(const std::vector<bool>& has_destructor) const {
    int n = 0;
    for (size_t id = 0; id < census_.destroyed.size(); ++id) {
      if (census_.released[id] && has_destructor[id] && census_.destroyed[id] != 1) ++n;
    }
    return n;
  }

  Census census_;
  Pools pools_;
  std::mt19937 rng_{12345};
};

template <typename T>
constexpr bool kHasDestructor = !std::is_trivially_destructible_v<T>;

TEST_P(DestructorCensusTest, EachDestructorRunsOnceAndOnlyAfterDeath) {
  std::vector<bool> has_destructor;
  {
    std::unique_ptr<Heap> heap = MakeHeap(GetParam());
    const int rounds = kSanitized ? 12 : 30;
    for (int round = 0; round < rounds; ++round) {
      const size_t before = census_.destroyed.size();
      Allocate(*heap, 200);
      // Which of the new ids have destructors: read back from the pools.
      has_destructor.resize(census_.destroyed.size(), false);
      ForEachPool([&](auto& pool) {
        using T = typename std::decay_t<decltype(pool)>::Type;
        for (int id : pool.ids) {
          if (static_cast<size_t>(id) >= before) has_destructor[id] = kHasDestructor<T>;
        }
      });
      Release(3);
      heap->CollectGarbage();
      CheckAfterCollection("after a collection");
      if (HasFatalFailure()) return;
      // A full collection reclaims everything released before it.
      ASSERT_EQ(Undestroyed(has_destructor), 0) << "round " << round;
      if (round % 5 == 4) {
        heap->CollectGarbage();  // survivors collected again (moved again, if moving)
        CheckAfterCollection("after a second collection");
        if (HasFatalFailure()) return;
      }
    }
    // Everything still held dies with the heap.
    ForEachPool([&](auto& pool) {
      for (int id : pool.ids) census_.released[id] = true;
      for (auto& p : pool.held) p.Reset();
    });
  }
  for (size_t id = 0; id < census_.destroyed.size(); ++id) {
    EXPECT_EQ(census_.destroyed[id], has_destructor[id] ? 1 : 0) << "object " << id;
  }
  EXPECT_EQ(census_.destroyed_while_referenced, 0);
}

// The outside suite's reproducer: a rooted large object with a std::vector member.
struct Big : GarbageCollected<Big> {
  explicit Big(int* destroyed) : destroyed(destroyed) {}
  ~Big() { ++*destroyed; }
  void Trace(Visitor&) const {}
  int* destroyed;
  std::vector<int> v = std::vector<int>(1000, 7);
  char pad[16 << 10];
};

TEST_P(DestructorCensusTest, RootedLargeObjectSurvivesCollections) {
  int destroyed = 0;
  {
    std::unique_ptr<Heap> heap = MakeHeap(GetParam());
    HandleScope scope(*heap);
    Local<Big> big = heap->New<Big>(&destroyed);
    for (int i = 0; i < 3; ++i) {
      heap->CollectGarbage();
      EXPECT_EQ(destroyed, 0);
      EXPECT_EQ(big->v.size(), 1000u);
      EXPECT_EQ(big->v[0], 7);
    }
  }
  EXPECT_EQ(destroyed, 1);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, DestructorCensusTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab::testing
