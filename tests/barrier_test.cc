// The write and load hooks of gc/DESIGN.md [barrier]: every kind of Member store and
// every weak load reaches the collector of the heap that owns the slot, with the slot,
// its holder, the old value and the new value, and nothing else reaches it.
//
// The collectors here are mark-sweep and semispace with recording barriers, registered
// by this test binary alone (the registry takes any collector a program links in).
#include <memory>
#include <utility>
#include <vector>

#include "gc/collectors/mark_sweep/mark_sweep.h"
#include "gc/collectors/semispace/semispace.h"
#include "gc/gc.h"
#include "gc/internal/barrier.h"
#include "gc/internal/collector_registry.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"
#include "weak/weak.h"

namespace gclab {
namespace {

using testing::Node;

struct Store {
  void** slot;
  void* holder;
  void* old_value;
  void* new_value;
};
struct Load {
  const void* slot;
  void* value;
};

// What a barrier saw. The test reads it through the heap's collector name.
struct Log {
  std::vector<Store> stores;
  std::vector<Load> loads;
  void Clear() {
    stores.clear();
    loads.clear();
  }
};

template <typename Base>
class Recording final : public Base {
 public:
  explicit Recording(internal::AllocationState& alloc, Log* log) : Base(alloc), log_(log) {}
  void WriteBarrier(void** slot, void* old_value, void* new_value) override {
    log_->stores.push_back({slot, this->HolderOf(slot), old_value, new_value});
  }
  void LoadBarrier(void* const* slot, void* value) override {
    log_->loads.push_back({slot, value});
  }

 private:
  Log* log_;
};

// One log per heap would need the heap to name it; the tests below use one heap of a
// recording collector at a time, except MultipleHeaps, which uses two collectors.
Log mark_sweep_log;
Log semispace_log;

template <typename Base>
internal::CollectorRegistration RecordingRegistration(const char* name, bool moves, Log* log) {
  internal::CollectorRegistration r;
  r.info.name = name;
  r.info.summary = "a test collector whose barriers record what they see";
  r.info.folder = "tests";
  r.info.capabilities.moves_objects = moves;
  r.info.capabilities.write_barrier = true;
  r.info.capabilities.load_barrier = true;
  r.factory = [log](internal::AllocationState& alloc, const CollectorOptions&)
      -> absl::StatusOr<std::unique_ptr<internal::Collector>> {
    return std::make_unique<Recording<Base>>(alloc, log);
  };
  return r;
}

const internal::CollectorRegistrar kMarkSweep(
    RecordingRegistration<internal::MarkSweepCollector>("recording-mark-sweep", false,
                                                        &mark_sweep_log));
const internal::CollectorRegistrar kSemispace(
    RecordingRegistration<internal::SemispaceCollector>("recording-semispace", true,
                                                        &semispace_log));

// A holder with one Member of each kind, and a large one.
class Holder : public GarbageCollected<Holder> {
 public:
  Holder() = default;
  explicit Holder(Node* n) : strong(n) {}
  void Trace(Visitor& v) const {
    v.Trace(strong);
    v.Trace(weak);
  }
  Member<Node> strong;
  WeakMember<Node> weak;
};

class Big : public GarbageCollected<Big> {
 public:
  void Trace(Visitor& v) const {
    for (const Member<Node>& m : slots) v.Trace(m);
  }
  Member<Node> slots[4096];  // 32 KiB: a large object
};

struct Param {
  const char* collector;
  Log* log;
};

class BarrierTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    HeapOptions options;
    options.collector = GetParam().collector;
    options.stress = StressOptions{};
    heap_ = Heap::Create(options).value();
    log().Clear();
  }
  void TearDown() override {
    heap_.reset();
    log().Clear();
  }
  Heap& heap() { return *heap_; }
  Log& log() { return *GetParam().log; }

  // The one store recorded since the last call.
  Store OnlyStore() {
    EXPECT_EQ(log().stores.size(), 1u);
    Store s = log().stores.empty() ? Store{} : log().stores.back();
    log().stores.clear();
    return s;
  }

  std::unique_ptr<Heap> heap_;
};

void ExpectStore(const Store& s, const void* slot, const void* holder, const void* old_value,
                 const void* new_value) {
  EXPECT_EQ(s.slot, slot);
  EXPECT_EQ(s.holder, holder);
  EXPECT_EQ(s.old_value, old_value);
  EXPECT_EQ(s.new_value, new_value);
}

TEST_P(BarrierTest, EveryKindOfStoreReachesTheHookWithSlotHolderOldAndNew) {
  HandleScope scope(heap());
  Local<Node> a = heap().New<Node>(1);
  Local<Node> b = heap().New<Node>(2);
  log().Clear();  // Node's constructor stored two nulls

  // Construction from a pointer, in the holder's constructor.
  Local<Holder> h = heap().New<Holder>(a.Get());
  ASSERT_EQ(log().stores.size(), 1u);  // `weak` is default-constructed: nothing stored
  ExpectStore(OnlyStore(), &h->strong, h.Get(), nullptr, a.Get());

  h->strong = b.Get();  // assignment from a pointer
  ExpectStore(OnlyStore(), &h->strong, h.Get(), a.Get(), b.Get());
  h->strong = a;  // from a Local
  ExpectStore(OnlyStore(), &h->strong, h.Get(), b.Get(), a.Get());
  h->strong = nullptr;  // from null
  ExpectStore(OnlyStore(), &h->strong, h.Get(), a.Get(), nullptr);
  h->weak = b;  // a WeakMember
  ExpectStore(OnlyStore(), &h->weak, h.Get(), nullptr, b.Get());

  Local<Holder> g = heap().New<Holder>();
  log().Clear();
  g->strong = h->weak;  // converting assignment (a weak load, then a store)
  ExpectStore(OnlyStore(), &g->strong, g.Get(), nullptr, b.Get());
  h->strong = g->strong;  // copy assignment
  ExpectStore(OnlyStore(), &h->strong, h.Get(), nullptr, b.Get());
  g->strong = std::move(h->strong);  // move assignment: a copy
  ExpectStore(OnlyStore(), &g->strong, g.Get(), b.Get(), b.Get());
  EXPECT_EQ(h->strong.Get(), b.Get());

  // Copy and move construction, placed inside a heap object.
  class Pair : public GarbageCollected<Pair> {
   public:
    Pair(const Member<Node>& copy_from, Member<Node>&& move_from)
        : copied(copy_from), moved(std::move(move_from)) {}
    void Trace(Visitor& v) const {
      v.Trace(copied);
      v.Trace(moved);
    }
    Member<Node> copied;
    Member<Node> moved;
  };
  Local<Pair> pair = heap().New<Pair>(g->strong, std::move(h->strong));
  ASSERT_EQ(log().stores.size(), 2u);
  ExpectStore(log().stores[0], &pair->copied, pair.Get(), nullptr, b.Get());
  ExpectStore(log().stores[1], &pair->moved, pair.Get(), nullptr, b.Get());
  log().Clear();

  // A Member outside every heap (on the stack) reaches no collector.
  Member<Node> on_stack = a.Get();
  on_stack = b.Get();
  EXPECT_TRUE(log().stores.empty());
}

TEST_P(BarrierTest, StoresIntoALargeObjectNameItAsTheirHolder) {
  HandleScope scope(heap());
  Local<Node> a = heap().New<Node>(1);
  Local<Big> big = heap().New<Big>();
  log().Clear();
  big->slots[0] = a;
  ExpectStore(OnlyStore(), &big->slots[0], big.Get(), nullptr, a.Get());
  big->slots[4095] = a;  // past the object's first chunk
  ExpectStore(OnlyStore(), &big->slots[4095], big.Get(), nullptr, a.Get());
}

TEST_P(BarrierTest, WeakLoadsReachTheLoadHook) {
  HandleScope scope(heap());
  Local<Node> a = heap().New<Node>(1);
  Local<Holder> h = heap().New<Holder>();
  h->weak = a;
  log().Clear();
  EXPECT_EQ(h->weak.Get(), a.Get());
  ASSERT_EQ(log().loads.size(), 1u);
  EXPECT_EQ(log().loads[0].slot, static_cast<const void*>(&h->weak));
  EXPECT_EQ(log().loads[0].value, a.Get());
  log().Clear();
  (void)h->strong.Get();  // a strong read is not a weak load
  EXPECT_TRUE(log().loads.empty());

  Local<WeakRef<Node>> ref = WeakRef<Node>::Create(heap(), a).value();
  log().Clear();
  EXPECT_EQ(ref->Deref(), a.Get());
  ASSERT_EQ(log().loads.size(), 1u);
  EXPECT_EQ(log().loads[0].value, a.Get());
}

TEST_P(BarrierTest, TheHookSurvivesACollectionThatMovesTheHolder) {
  HandleScope scope(heap());
  Local<Node> a = heap().New<Node>(1);
  Local<Holder> h = heap().New<Holder>();
  heap().CollectGarbage();
  log().Clear();
  h->strong = a;  // h may have moved: the hook sees its new address
  ExpectStore(OnlyStore(), &h->strong, h.Get(), nullptr, a.Get());
}

TEST_P(BarrierTest, StoresIntoAnotherHeapReachOnlyItsCollector) {
  HeapOptions options;
  options.collector = CollectorKind::kMarkSweep;  // needs no barrier
  options.stress = StressOptions{};
  std::unique_ptr<Heap> plain = Heap::Create(options).value();
  HandleScope scope(heap());
  HandleScope plain_scope(*plain);
  Local<Node> p = plain->New<Node>(1);
  p->left = plain->New<Node>(2);
  p->left = nullptr;
  EXPECT_TRUE(log().stores.empty());

  // And two heaps whose collectors both record: each sees its own stores.
  Param other = GetParam().log == &mark_sweep_log ? Param{"recording-semispace", &semispace_log}
                                                   : Param{"recording-mark-sweep", &mark_sweep_log};
  options.collector = other.collector;
  std::unique_ptr<Heap> second = Heap::Create(options).value();
  HandleScope second_scope(*second);
  Local<Node> x = second->New<Node>(1);
  Local<Node> mine = heap().New<Node>(2);
  log().Clear();
  other.log->Clear();
  x->left = x;
  mine->right = mine;
  ASSERT_EQ(other.log->stores.size(), 1u);
  EXPECT_EQ(other.log->stores[0].slot, reinterpret_cast<void**>(&x->left));
  EXPECT_EQ(other.log->stores[0].holder, x.Get());
  ExpectStore(OnlyStore(), &mine->right, mine.Get(), nullptr, mine.Get());
  other.log->Clear();
}

TEST(MemberPlacementTest, DebugBuildsStopOnAMemberOutsideEveryHeapObject) {
  if constexpr (!internal::kDebugChecks) {
    GTEST_SKIP() << "a GCLAB_DEBUG check (--config=debug, asan, ubsan)";
  } else {
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";
    HeapOptions options;
    options.stress = StressOptions{};
    std::unique_ptr<Heap> heap = Heap::Create(options).value();
    HandleScope scope(*heap);
    Local<Node> node = heap->New<Node>(1);
    Member<Node> temporary = node;  // on the stack: allowed
    (void)temporary;
    auto in_malloc = std::make_unique<Member<Node>>();  // null: nothing to see yet
    EXPECT_DEATH(*in_malloc = node, "lies outside every heap object");
    std::vector<Member<Node>> list;
    EXPECT_DEATH(list.push_back(node.Get()), "HeapVector");
  }
}

TEST(BarrierFastPathTest, IsOffWhileNoHeapNeedsABarrier) {
  // The fast path reads one count: heaps of collectors without barriers leave it at 0.
  EXPECT_EQ(internal::write_barrier_heaps.load(), 0u);
  HeapOptions options;
  options.stress = StressOptions{};
  {
    std::unique_ptr<Heap> heap = Heap::Create(options).value();
    EXPECT_EQ(internal::write_barrier_heaps.load(), 0u);
    options.collector = "recording-mark-sweep";
    std::unique_ptr<Heap> recording = Heap::Create(options).value();
    EXPECT_EQ(internal::write_barrier_heaps.load(), 1u);
    EXPECT_EQ(internal::load_barrier_heaps.load(), 1u);
  }
  EXPECT_EQ(internal::write_barrier_heaps.load(), 0u);
  EXPECT_EQ(internal::load_barrier_heaps.load(), 0u);
}

TEST(CollectorRegistryTest, NamesAndOptionsAreChecked) {
  HeapOptions options;
  options.collector = "no-such-collector";
  absl::StatusOr<std::unique_ptr<Heap>> heap = Heap::Create(options);
  ASSERT_EQ(heap.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(heap.status().message().find("mark-sweep"), std::string_view::npos)
      << heap.status();  // the message lists what is registered
  options.collector = CollectorKind::kMarkSweep;
  options.collector_options["nursery-bytes"] = "4M";
  heap = Heap::Create(options);
  ASSERT_EQ(heap.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(heap.status().message().find("nursery-bytes"), std::string_view::npos);
  EXPECT_EQ(ParseCollectorKind("semispace").value(), CollectorKind::kSemispace);
  EXPECT_FALSE(ParseCollectorKind("").ok());
  // Every registered collector, this binary's two included, in name order.
  const std::vector<CollectorKind>& all = AllCollectors();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](CollectorKind a, CollectorKind b) {
    return a.name() < b.name();
  }));
  EXPECT_NE(std::find(all.begin(), all.end(), CollectorKind("recording-semispace")), all.end());
  EXPECT_TRUE(GetCollectorInfo(CollectorKind::kSemispace).capabilities.moves_objects);
}

TEST(CollectorRegistryTest, ByteSizeOptionsReadSuffixesAndRejectTheRest) {
  CollectorOptions options;
  EXPECT_EQ(internal::ByteSizeOption("x", options, "nursery-bytes", 7).value(), 7u);
  options["nursery-bytes"] = "4M";
  EXPECT_EQ(internal::ByteSizeOption("x", options, "nursery-bytes", 7).value(), 4u << 20);
  options["nursery-bytes"] = "64k";
  EXPECT_EQ(internal::ByteSizeOption("x", options, "nursery-bytes", 7).value(), 64u << 10);
  options["nursery-bytes"] = "4096";
  EXPECT_EQ(internal::ByteSizeOption("x", options, "nursery-bytes", 7).value(), 4096u);
  for (const char* bad : {"", "M", "4 M", "-1", "4T", "99999999999999999999G"}) {
    options["nursery-bytes"] = bad;
    absl::StatusOr<uint64_t> v = internal::ByteSizeOption("x", options, "nursery-bytes", 7);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(internal::RejectUnknownOptions("x", options, {"nursery-bytes"}).ok());
  EXPECT_FALSE(internal::RejectUnknownOptions("x", options, {}).ok());
}

INSTANTIATE_TEST_SUITE_P(Recording, BarrierTest,
                         ::testing::Values(Param{"recording-mark-sweep", &mark_sweep_log},
                                           Param{"recording-semispace", &semispace_log}),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return info.param.log == &mark_sweep_log ? "mark_sweep" : "semispace";
                         });

}  // namespace
}  // namespace gclab
