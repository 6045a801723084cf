// Linear memories on every collector: grow semantics and limits, views and instances
// keeping memories alive, release (resident memory drops, as /proc/self/statm shows)
// by munmap and by the pool, external-memory accounting, collect-and-retry on
// exhaustion, and retaining paths that name the holder (the first seed's story).
#include "linear_memory/linear_memory.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gclab {
namespace {

using testing::CollectorParamName;
using testing::MakeHeap;
using testing::WithoutStress;

constexpr size_t kMiB = size_t{1} << 20;
constexpr uint32_t kPagesPerMiB = kMiB / kWasmPageSize;

// Resident bytes of the process, from /proc/self/statm (its second field, in pages).
size_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

void Touch(LinearMemory* memory, size_t bytes) {
  for (size_t i = 0; i < bytes; i += 4096) memory->data()[i] = static_cast<uint8_t>(i >> 12 | 1);
}

// Small reservations keep the tests' address space modest; a few tests use the
// default 8 GiB + 2 GiB.
LinearMemoryOptions SmallReservations(ReleaseStrategy release = ReleaseStrategy::kUnmap) {
  LinearMemoryOptions options;
  options.reservation_bytes = 128 * kMiB;
  options.guard_bytes = kWasmPageSize;
  options.release = release;
  return options;
}

// A heap object standing for the seed's global object: it holds what "the program"
// stores in globals.
class App : public GarbageCollected<App> {
 public:
  static constexpr std::string_view kTypeName = "App";
  void Trace(Visitor& visitor) const {
    visitor.Trace(cached_instance, "cachedInstance");
    visitor.Trace(scratch);  // unnamed: the path shows its offset
  }
  Member<Instance> cached_instance;
  Member<Instance> scratch;
};

class LinearMemoryTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  void SetUp() override {
    heap_ = MakeHeap(GetParam());
    space().set_release_observer(
        [this](const ReleaseEvent& e) { released_.push_back(e.memory_id); });
  }
  LinearMemorySpace& space() { return LinearMemorySpace::For(*heap_); }
  std::vector<uint64_t> released_;  // declared first: the heap's destruction reports too
  std::unique_ptr<Heap> heap_;
};

TEST_P(LinearMemoryTest, CreateGrowAndLimits) {
  HandleScope scope(*heap_);
  Local<LinearMemory> m =
      LinearMemory::Create(*heap_, {.initial_pages = 2, .maximum_pages = 5}).value();
  EXPECT_EQ(m->pages(), 2u);
  EXPECT_EQ(m->maximum_pages(), 5u);
  EXPECT_EQ(m->byte_length(), 2 * kWasmPageSize);
  for (size_t i = 0; i < m->byte_length(); i += 997) ASSERT_EQ(m->data()[i], 0) << i;
  uint8_t* data = m->data();
  m->data()[100] = 7;

  EXPECT_EQ(m->Grow(0).value(), 2u);  // grow(0) reports the size, changes nothing
  EXPECT_EQ(m->Grow(2).value(), 2u);  // previous size
  EXPECT_EQ(m->pages(), 4u);
  EXPECT_EQ(m->data(), data) << "the memory must not move when it grows";
  EXPECT_EQ(m->data()[100], 7);
  EXPECT_EQ(m->data()[4 * kWasmPageSize - 1], 0);  // new pages are zero

  absl::StatusOr<uint32_t> past = m->Grow(2);  // 6 > 5
  EXPECT_EQ(past.status().code(), absl::StatusCode::kOutOfRange) << past.status();
  EXPECT_EQ(m->pages(), 4u) << "a failed grow leaves the memory unchanged";
  EXPECT_EQ(m->data()[100], 7);
  EXPECT_EQ(m->Grow(UINT32_MAX).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(m->Grow(1).value(), 4u);
  EXPECT_EQ(m->Grow(1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(m->pages(), 5u);

  // Descriptors.
  EXPECT_EQ(LinearMemory::Create(*heap_, {.initial_pages = 3, .maximum_pages = 2}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LinearMemory::Create(*heap_, {.initial_pages = 0, .maximum_pages = kMaxWasmPages + 1})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // No maximum: as much as a 32-bit memory and the default 8 GiB reservation allow.
  Local<LinearMemory> open = LinearMemory::Create(*heap_, {.initial_pages = 0}).value();
  EXPECT_EQ(open->maximum_pages(), kMaxWasmPages);
  EXPECT_EQ(open->byte_length(), 0u);
  EXPECT_EQ(open->Grow(kPagesPerMiB).value(), 0u);
  EXPECT_EQ(heap_->external_memory(), 5 * kWasmPageSize + kMiB);
  EXPECT_EQ(space().stats().committed_bytes, heap_->external_memory());
}

TEST_P(LinearMemoryTest, MaximumMustFitTheReservation) {
  ASSERT_TRUE(space().Configure(SmallReservations()).ok());
  HandleScope scope(*heap_);
  absl::StatusOr<Local<LinearMemory>> too_big =
      LinearMemory::Create(*heap_, {.initial_pages = 1, .maximum_pages = 129 * kPagesPerMiB});
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument) << too_big.status();
  Local<LinearMemory> m = LinearMemory::Create(*heap_, {.initial_pages = 1}).value();
  EXPECT_EQ(m->maximum_pages(), 128 * kPagesPerMiB);
  EXPECT_EQ(space().stats().reserved_bytes, 128 * kMiB + kWasmPageSize);
}

TEST_P(LinearMemoryTest, AccessPastTheEndFaults) {
  EXPECT_DEATH(
      {
        HandleScope scope(*heap_);
        Local<LinearMemory> m = LinearMemory::Create(*heap_, {.initial_pages = 1}).value();
        volatile uint8_t* p = m->data();
        p[kWasmPageSize] = 1;  // the first uncommitted byte
      },
      "");
}

TEST_P(LinearMemoryTest, BadConfigurationIsRefused) {
  LinearMemoryOptions o = SmallReservations();
  o.reservation_bytes = 100000;
  EXPECT_EQ(space().Configure(o).code(), absl::StatusCode::kInvalidArgument);
  o = SmallReservations();
  o.reservation_bytes = 0;
  EXPECT_EQ(space().Configure(o).code(), absl::StatusCode::kInvalidArgument);
  o = SmallReservations();
  o.guard_bytes = 100;
  EXPECT_EQ(space().Configure(o).code(), absl::StatusCode::kInvalidArgument);
  o = SmallReservations();
  o.address_space_budget = o.reservation_bytes;  // no room for the guard
  EXPECT_EQ(space().Configure(o).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(space().options().reservation_bytes, LinearMemoryOptions{}.reservation_bytes)
      << "a refused configuration changes nothing";
  EXPECT_EQ(ParseReleaseStrategy("pool").value(), ReleaseStrategy::kPool);
  EXPECT_FALSE(ParseReleaseStrategy("free").ok());
}

TEST_P(LinearMemoryTest, ViewsReadAndWriteAndCheckTheirRange) {
  HandleScope scope(*heap_);
  Local<LinearMemory> m = LinearMemory::Create(*heap_, {.initial_pages = 1}).value();
  Local<Int32View> all = Int32View::Create(*heap_, m).value();
  EXPECT_EQ(all->length(), kWasmPageSize / 4);
  all->Set(3, -5);
  Local<Uint8View> bytes = Uint8View::Create(*heap_, m, 12, 4).value();
  EXPECT_EQ(bytes->Get(0), 0xfb);  // -5 little-endian
  EXPECT_EQ(bytes->Get(3), 0xff);
  Local<Float64View> f = Float64View::Create(*heap_, m, 64).value();
  f->Set(0, 2.5);
  EXPECT_EQ(f->span()[0], 2.5);
  EXPECT_EQ(Int32View::Create(*heap_, m, 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Uint8View::Create(*heap_, m, kWasmPageSize + 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Uint8View::Create(*heap_, m, 16, kWasmPageSize).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_DEATH(all->Get(kWasmPageSize / 4), "out of range");
  // A view made after a grow sees the new end; an older one keeps its length.
  m->Grow(1).value();
  EXPECT_EQ(Int32View::Create(*heap_, m).value()->length(), 2 * kWasmPageSize / 4);
  EXPECT_EQ(all->length(), kWasmPageSize / 4);
  EXPECT_EQ(all->Get(3), -5);
}

TEST_P(LinearMemoryTest, ViewsKeepTheMemoryAlive) {
  Persistent<Uint8View> view;
  uint64_t id;
  {
    HandleScope scope(*heap_);
    Local<LinearMemory> m = LinearMemory::Create(*heap_, {.initial_pages = 1}).value();
    id = m->id();
    view.Set(*heap_, Uint8View::Create(*heap_, m).value().Get());
    view->Set(10, 99);
  }
  heap_->CollectGarbage();
  heap_->CollectGarbage();
  EXPECT_TRUE(released_.empty());
  EXPECT_EQ(space().stats().live, 1u);
  EXPECT_EQ(view->Get(10), 99);
  EXPECT_EQ(view->memory()->id(), id);
  view.Reset();
  heap_->CollectGarbage();
  EXPECT_EQ(released_, std::vector<uint64_t>{id});
  EXPECT_EQ(space().stats().live, 0u);
  EXPECT_EQ(heap_->external_memory(), 0u);
}

// The seed: the instance is alive, the program "frees" its memory by dropping every
// view and the buffer; nothing is returned. Only dropping the instance frees it.
TEST_P(LinearMemoryTest, DroppingViewsFreesNothingDroppingTheInstanceFreesItAll) {
  for (ReleaseStrategy release : {ReleaseStrategy::kUnmap, ReleaseStrategy::kPool}) {
    SCOPED_TRACE(std::string(ReleaseStrategyName(release)));
    ASSERT_TRUE(space().Configure(SmallReservations(release)).ok());
    constexpr size_t kBytes = 64 * kMiB;
    Persistent<Instance> instance;
    {
      HandleScope scope(*heap_);
      instance.Set(*heap_,
                   Instance::Create(*heap_, {{.initial_pages = 64 * kPagesPerMiB}}).value().Get());
      Local<Uint8View> heap_u8 =
          Uint8View::Create(*heap_, Local<LinearMemory>(*heap_, instance->memory(0))).value();
      Local<Int32View> heap_32 =
          Int32View::Create(*heap_, Local<LinearMemory>(*heap_, instance->memory(0))).value();
      for (size_t i = 0; i < kBytes; i += 4096) heap_u8->Set(i, 1);
      heap_32->Set(1, 5);
    }
    const size_t touched = ResidentBytes();
    heap_->CollectGarbage();  // the views are garbage now; the memory is not
    EXPECT_TRUE(released_.empty());
    EXPECT_GT(ResidentBytes() + 8 * kMiB, touched) << "dropping views must free nothing";
    EXPECT_EQ(instance->memory(0)->data()[4], 5);

    instance.Reset();
    heap_->CollectGarbage();
    ASSERT_EQ(released_.size(), 1u);
    const size_t after = ResidentBytes();
    EXPECT_GE(touched, after + kBytes - 8 * kMiB)
        << "resident " << touched / kMiB << " MiB before the drop, " << after / kMiB
        << " MiB after";
    EXPECT_EQ(space().stats().released_bytes, kBytes * (release == ReleaseStrategy::kPool ? 2 : 1));
    released_.clear();
  }
}

TEST_P(LinearMemoryTest, PooledReservationsAreReusedZeroed) {
  LinearMemoryOptions o = SmallReservations(ReleaseStrategy::kPool);
  o.pool_capacity = 1;
  ASSERT_TRUE(space().Configure(o).ok());
  {
    HandleScope scope(*heap_);
    for (int i = 0; i < 2; ++i) {
      Local<LinearMemory> m = LinearMemory::Create(*heap_, {.initial_pages = 4}).value();
      std::memset(m->data(), 0xab, m->byte_length());
    }
  }
  heap_->CollectGarbage();
  EXPECT_EQ(space().stats().pooled, 1u) << "one pooled, the other past capacity unmapped";
  EXPECT_EQ(space().stats().reservations, 1u);
  HandleScope scope(*heap_);
  Local<LinearMemory> again = LinearMemory::Create(*heap_, {.initial_pages = 8}).value();
  EXPECT_EQ(space().stats().pool_reuses, 1u);
  EXPECT_EQ(space().stats().pooled, 0u);
  for (size_t i = 0; i < again->byte_length(); i += 511) {
    ASSERT_EQ(again->data()[i], 0) << "a reused reservation leaked a dead memory's bytes at " << i;
  }
  // The pooled pages were made inaccessible again: only the new size is committed.
  EXPECT_DEATH(static_cast<volatile uint8_t*>(again->data())[8 * kWasmPageSize] = 1, "");
}

TEST_P(LinearMemoryTest, MemoriesSurviveMovesAndKeepTheirAddress) {
  HandleScope scope(*heap_);
  Local<Instance> instance =
      Instance::Create(*heap_, {{.initial_pages = 1}, {.initial_pages = 2, .maximum_pages = 3}})
          .value();
  ASSERT_EQ(instance->memory_count(), 2u);
  Local<Uint8View> view =
      Uint8View::Create(*heap_, Local<LinearMemory>(*heap_, instance->memory(1))).value();
  view->Set(5, 55);
  uint8_t* data = instance->memory(1)->data();
  const uint64_t id = instance->memory(1)->id();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 1000; ++j) heap_->New<testing::Node>(j);  // garbage to move past
    heap_->CollectGarbage();
  }
  EXPECT_EQ(instance->memory(1)->id(), id);
  EXPECT_EQ(instance->memory(1)->data(), data);
  EXPECT_EQ(view->memory(), instance->memory(1));
  EXPECT_EQ(view->Get(5), 55);
  EXPECT_EQ(instance->memory(1)->Grow(1).value(), 2u);
  EXPECT_TRUE(released_.empty());
  EXPECT_EQ(space().stats().live, 2u);
}

// Accounting: a loop that instantiates and drops stays bounded only because committed
// bytes count toward starting collections.
TEST_P(LinearMemoryTest, AccountingStartsCollectionsAndBoundsTheLoop) {
  HeapOptions options;
  options.collector = GetParam();
  heap_ = Heap::Create(WithoutStress(options)).value();  // counts every collection's reason
  ASSERT_TRUE(space().Configure(SmallReservations()).ok());
  size_t peak_live = 0;
  for (int i = 0; i < 40; ++i) {
    HandleScope scope(*heap_);
    Local<Instance> instance =
        Instance::Create(*heap_, {{.initial_pages = 16 * kPagesPerMiB}}).value();
    Touch(instance->memory(0), kMiB);
    peak_live = std::max<size_t>(peak_live, space().stats().live);
  }
  const HeapStatistics& s = heap_->stats();
  EXPECT_GE(s.external_memory_collections, 5u);
  EXPECT_EQ(s.collections, s.external_memory_collections) << "the heap objects are tiny";
  // The default budget is 64 MiB of growth: at most 64/16 dead memories wait, plus
  // the one being made.
  EXPECT_LE(peak_live, 6u);
  EXPECT_LE(s.peak_external_bytes, (64 + 16 + 16) * kMiB);
  EXPECT_LE(space().stats().peak_reservations, 6u);
}

TEST_P(LinearMemoryTest, WithoutAccountingTheLoopGrowsUntilSomethingCollects) {
  HeapOptions options;
  options.collector = GetParam();
  options.external_memory_triggers_collection = false;
  std::unique_ptr<Heap> heap = Heap::Create(WithoutStress(options)).value();
  ASSERT_TRUE(LinearMemorySpace::For(*heap).Configure(SmallReservations()).ok());
  for (int i = 0; i < 40; ++i) {
    HandleScope scope(*heap);
    Local<Instance> instance =
        Instance::Create(*heap, {{.initial_pages = 16 * kPagesPerMiB}}).value();
    Touch(instance->memory(0), 64 * 1024);
  }
  const LinearMemoryStatistics& s = LinearMemorySpace::For(*heap).stats();
  EXPECT_EQ(heap->stats().collections, 0u);
  EXPECT_EQ(s.live, 40u) << "nothing told the collector";
  EXPECT_EQ(heap->stats().external_bytes, 40 * 16 * kMiB) << "but the bytes are counted";
  heap->CollectGarbage();
  EXPECT_EQ(s.live, 0u);
  EXPECT_EQ(s.reservations, 0u);
}

TEST_P(LinearMemoryTest, ExhaustionCollectsAndRetries) {
  LinearMemoryOptions o = SmallReservations();
  o.address_space_budget = 4 * (o.reservation_bytes + o.guard_bytes);
  ASSERT_TRUE(space().Configure(o).ok());
  {
    HandleScope scope(*heap_);
    for (int i = 0; i < 4; ++i) LinearMemory::Create(*heap_, {.initial_pages = 1}).value();
  }
  // Four dead memories hold the whole budget; the fifth needs a collection first.
  HandleScope scope(*heap_);
  Local<LinearMemory> fifth = LinearMemory::Create(*heap_, {.initial_pages = 1}).value();
  EXPECT_EQ(fifth->pages(), 1u);
  EXPECT_EQ(space().stats().exhaustion_collections, 1u);
  EXPECT_EQ(heap_->stats().last_cycle.reason, CollectionReason::kAddressSpace);
  EXPECT_EQ(space().stats().released, 4u);
  // Live memories cannot be collected: then it is ResourceExhausted, after one try.
  std::vector<Local<LinearMemory>> live;
  for (int i = 0; i < 3; ++i)
    live.push_back(LinearMemory::Create(*heap_, {.initial_pages = 1}).value());
  absl::StatusOr<Local<LinearMemory>> none = LinearMemory::Create(*heap_, {.initial_pages = 1});
  ASSERT_EQ(none.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(none.status().message()).find("even after a full collection"),
            std::string::npos)
      << none.status();
  EXPECT_EQ(space().stats().failed_reservations, 1u);
  EXPECT_EQ(space().stats().exhaustion_collections, 2u);
}

TEST_P(LinearMemoryTest, WithoutCollectAndRetryExhaustionFailsAtOnce) {
  LinearMemoryOptions o = SmallReservations();
  o.address_space_budget = 2 * (o.reservation_bytes + o.guard_bytes);
  o.collect_on_exhaustion = false;
  ASSERT_TRUE(space().Configure(o).ok());
  {
    HandleScope scope(*heap_);
    for (int i = 0; i < 2; ++i) LinearMemory::Create(*heap_, {.initial_pages = 1}).value();
  }
  HandleScope scope(*heap_);
  absl::StatusOr<Local<LinearMemory>> third = LinearMemory::Create(*heap_, {.initial_pages = 1});
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  EXPECT_EQ(heap_->stats().collections, 0u);
  EXPECT_EQ(space().stats().failed_reservations, 1u);
  heap_->CollectGarbage();  // what the naive engine never did
  EXPECT_TRUE(LinearMemory::Create(*heap_, {.initial_pages = 1}).ok());
}

// Engine-sized reservations: 8 GiB plus a 2 GiB guard each, the default.
TEST_P(LinearMemoryTest, DefaultReservationsAreTenGiB) {
  HandleScope scope(*heap_);
  std::vector<Local<LinearMemory>> memories;
  for (int i = 0; i < 8; ++i)
    memories.push_back(LinearMemory::Create(*heap_, {.initial_pages = 1}).value());
  EXPECT_EQ(space().stats().reserved_bytes, 8 * (size_t{10} << 30));
  EXPECT_EQ(space().stats().peak_reservations, 8u);
}

// "Why is it alive?": the seed's forgotten global, found by name.
TEST_P(LinearMemoryTest, RetainingPathNamesTheForgottenGlobal) {
  Persistent<App> window;
  uint64_t id;
  {
    HandleScope scope(*heap_);
    Local<App> app = heap_->New<App>();
    window = Persistent<App>(*heap_, app, "window");
    Local<Instance> instance = Instance::Create(*heap_, {{.initial_pages = 1}}).value();
    app->cached_instance = instance.Get();
    id = instance->memory(0)->id();
  }
  heap_->CollectGarbage();
  EXPECT_TRUE(released_.empty()) << "the global keeps it";
  LinearMemory* memory = window->cached_instance->memory(0);
  absl::StatusOr<RetainingPath> path = heap_->FindRetainingPath(memory);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->root_kind, RootKind::kPersistent);
  EXPECT_EQ(path->root_name, "window");
  ASSERT_EQ(path->steps.size(), 3u) << path->ToString();
  EXPECT_EQ(path->steps[0].type_name, "App");
  EXPECT_EQ(path->steps[1].type_name, "Instance");
  EXPECT_EQ(path->steps[1].field, "cachedInstance");
  EXPECT_EQ(path->steps[2].type_name, "LinearMemory");
  EXPECT_EQ(path->steps[2].field, "memories[]");
  EXPECT_EQ(path->steps[2].object, memory);
  EXPECT_NE(path->ToString().find("Persistent \"window\""), std::string::npos) << path->ToString();
  EXPECT_NE(path->ToString().find(".cachedInstance -> Instance"), std::string::npos)
      << path->ToString();

  // The fix: clear the forgotten field; the memory goes.
  window->cached_instance = nullptr;
  EXPECT_EQ(heap_->FindRetainingPath(memory).status().code(), absl::StatusCode::kNotFound);
  heap_->CollectGarbage();
  EXPECT_EQ(released_, std::vector<uint64_t>{id});
}

TEST_P(LinearMemoryTest, RetainingPathThroughLocalsViewsAndUnnamedFields) {
  HandleScope scope(*heap_);
  Local<App> app = heap_->New<App>();
  Local<Uint8View> view;
  {
    EscapableHandleScope inner(*heap_);
    Local<Instance> instance = Instance::Create(*heap_, {{.initial_pages = 1}}).value();
    app->scratch = instance.Get();
    view = inner.Escape(
        Uint8View::Create(*heap_, Local<LinearMemory>(*heap_, instance->memory(0))).value());
  }
  // Two paths reach the memory: Local -> App -> Instance -> memory, and Local -> view
  // -> memory. The shorter one is reported.
  LinearMemory* memory = view->memory();
  absl::StatusOr<RetainingPath> path = heap_->FindRetainingPath(memory);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->root_kind, RootKind::kLocal);
  ASSERT_EQ(path->steps.size(), 2u) << path->ToString();
  EXPECT_EQ(path->steps[0].object, view.Get());
  EXPECT_EQ(path->steps[1].field, "memory");

  // Through an unnamed field: its offset.
  absl::StatusOr<RetainingPath> unnamed = heap_->FindRetainingPath(app->scratch.Get());
  ASSERT_TRUE(unnamed.ok()) << unnamed.status();
  ASSERT_EQ(unnamed->steps.size(), 2u) << unnamed->ToString();
  EXPECT_EQ(unnamed->steps[0].object, app.Get());
  EXPECT_EQ(unnamed->steps[1].field, "+" + std::to_string(offsetof(App, scratch)));

  int on_stack = 0;
  EXPECT_EQ(heap_->FindRetainingPath(&on_stack).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(heap_->FindRetainingPath(nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(LinearMemoryTest, DestroyingTheHeapReleasesEveryMemory) {
  int released = 0;
  {
    std::unique_ptr<Heap> heap = MakeHeap(GetParam());
    LinearMemorySpace::For(*heap).set_release_observer([&](const ReleaseEvent&) { ++released; });
    HandleScope scope(*heap);
    Persistent<Instance> keep(*heap, Instance::Create(*heap, {{.initial_pages = 16}}).value());
    LinearMemory::Create(*heap, {.initial_pages = 1}).value();
  }
  EXPECT_EQ(released, 2);
}

TEST_P(LinearMemoryTest, UnbalancedExternalReportStops) {
  heap_->AdjustExternalMemory(100);
  EXPECT_DEATH(heap_->AdjustExternalMemory(-101), "every release must match an earlier report");
  EXPECT_EQ(heap_->AdjustExternalMemory(-100), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, LinearMemoryTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab
