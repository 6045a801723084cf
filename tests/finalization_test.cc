// Finalization registries, the queue and its schedulers, on every collector.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "finalization/finalization.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"
#include "weak/weak.h"

namespace gclab {
namespace {

using testing::Array;
using testing::MakeHeap;
using testing::Node;

using Param = std::tuple<CollectorKind, SchedulerKind>;
using NodeRegistry = FinalizationRegistry<Node>;

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  std::string name = std::string(CollectorName(std::get<0>(info.param))) + "_" +
                     std::string(SchedulerKindName(std::get<1>(info.param)));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

class FinalizationTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    heap_ = MakeHeap(collector());
    queue_ = &FinalizationQueue::For(*heap_);
    ASSERT_TRUE(queue_->SetScheduler(CreateScheduler(scheduler_kind(), /*seed=*/7)).ok());
  }
  CollectorKind collector() const { return std::get<0>(GetParam()); }
  SchedulerKind scheduler_kind() const { return std::get<1>(GetParam()); }
  bool runs_callbacks() const { return scheduler_kind() != SchedulerKind::kNever; }

  // Gives the scheduler turns until it holds nothing (the randomized one delays by up to
  // three turns).
  void Drain() {
    for (int i = 0; i < 100 && queue_->scheduler().pending() > 0; ++i) queue_->PumpHostJobs();
    ASSERT_EQ(queue_->scheduler().pending(), 0u);
  }
  void CollectAndDrain() {
    heap_->CollectGarbage();
    Drain();
  }

  // A registry whose callback records the held nodes' values.
  Local<NodeRegistry> RecordingRegistry() {
    return NodeRegistry::Create(*heap_, [this](Local<Node> held) {
      delivered_.push_back(held->value);
    });
  }

  std::unique_ptr<Heap> heap_;
  FinalizationQueue* queue_ = nullptr;
  std::vector<int64_t> delivered_;
};

// Tests of what callbacks may do and see: every scheduler that runs callbacks.
class FinalizationCallbackTest : public FinalizationTest {};

TEST_P(FinalizationTest, DeliversTheHeldValueAfterTheTargetDies) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  {
    HandleScope inner(*heap_);
    Local<Node> target = heap_->New<Node>(1);
    Local<Node> held = heap_->New<Node>(42);
    ASSERT_TRUE(registry->Register(target.Get(), held.Get()).ok());
  }
  EXPECT_EQ(registry->registered(), 1u);
  CollectAndDrain();
  const FinalizationStatistics& stats = queue_->stats();
  EXPECT_EQ(stats.registered, 1u);
  EXPECT_EQ(stats.found_dead, 1u);
  EXPECT_EQ(registry->registered(), 0u);
  EXPECT_EQ(registry->pending_delivery(), 0u);
  if (runs_callbacks()) {
    EXPECT_EQ(delivered_, std::vector<int64_t>{42});
    EXPECT_EQ(stats.delivered, 1u);
    EXPECT_EQ(stats.dropped, 0u);
  } else {
    EXPECT_TRUE(delivered_.empty());
    EXPECT_EQ(stats.dropped, 1u);
  }
}

TEST_P(FinalizationTest, LiveTargetsAreNeverDelivered) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  Local<Node> target = heap_->New<Node>(1);
  for (int i = 0; i < 10; ++i) {
    HandleScope inner(*heap_);
    Local<Node> held_value = heap_->New<Node>(i);
    ASSERT_TRUE(registry->Register(target.Get(), held_value.Get()).ok());
  }
  for (int i = 0; i < 3; ++i) CollectAndDrain();
  EXPECT_TRUE(delivered_.empty());
  EXPECT_EQ(registry->registered(), 10u);
  EXPECT_EQ(queue_->stats().found_dead, 0u);
}

TEST_P(FinalizationTest, EachRegistrationIsDeliveredAtMostOnce) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  {
    HandleScope inner(*heap_);
    Local<Node> target = heap_->New<Node>(1);
    // One target registered three times: three registrations, each delivered once.
    for (int i = 0; i < 3; ++i) {
      Local<Node> held_value = heap_->New<Node>(i);
      ASSERT_TRUE(registry->Register(target.Get(), held_value.Get()).ok());
    }
  }
  for (int i = 0; i < 4; ++i) CollectAndDrain();
  std::sort(delivered_.begin(), delivered_.end());
  if (runs_callbacks()) {
    EXPECT_EQ(delivered_, (std::vector<int64_t>{0, 1, 2}));
  } else {
    EXPECT_EQ(queue_->stats().dropped, 3u);
  }
  EXPECT_EQ(queue_->stats().found_dead, 3u);
}

TEST_P(FinalizationTest, HeldValueLivesUntilDeliveredAndNoLonger) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  WeakPersistent<Node> held_watch;
  {
    HandleScope inner(*heap_);
    Local<Node> target = heap_->New<Node>(1);
    Local<Node> held = heap_->New<Node>(7);
    held_watch = WeakPersistent<Node>(*heap_, held);
    ASSERT_TRUE(registry->Register(target.Get(), held.Get()).ok());
  }
  heap_->CollectGarbage();  // the target dies; only the registry holds the held value
  if (queue_->scheduler().pending() > 0) {
    EXPECT_NE(held_watch.Get(), nullptr) << "a pending held value must stay alive";
    EXPECT_EQ(registry->pending_delivery(), 1u);
  }
  Drain();
  heap_->CollectGarbage();  // delivered (or dropped): nothing holds it now
  EXPECT_EQ(held_watch.Get(), nullptr);
}

TEST_P(FinalizationTest, UnregisterBeforeDeathPreventsDelivery) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  Local<Node> token = heap_->New<Node>(0);
  {
    HandleScope inner(*heap_);
    Local<Node> target = heap_->New<Node>(1);
    for (int i = 0; i < 3; ++i) {
      Local<Node> held_value = heap_->New<Node>(i);
      ASSERT_TRUE(registry->Register(target.Get(), held_value.Get(), token.Get()).ok());
    }
    Local<Node> held_value = heap_->New<Node>(99);
    ASSERT_TRUE(registry->Register(target.Get(), held_value.Get()).ok());  // no token
    absl::StatusOr<bool> removed = registry->Unregister(token.Get());
    ASSERT_TRUE(removed.ok());
    EXPECT_TRUE(*removed);
    EXPECT_EQ(registry->registered(), 1u);
    removed = registry->Unregister(token.Get());
    ASSERT_TRUE(removed.ok());
    EXPECT_FALSE(*removed) << "the token's registrations are gone";
  }
  CollectAndDrain();
  EXPECT_EQ(queue_->stats().unregistered, 3u);
  EXPECT_EQ(queue_->stats().found_dead, 1u);
  if (runs_callbacks()) {
    EXPECT_EQ(delivered_, std::vector<int64_t>{99});
  }
}

TEST_P(FinalizationTest, UnregisterAfterDeathBeforeDeliveryPreventsDelivery) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  Local<Node> token = heap_->New<Node>(0);
  {
    HandleScope inner(*heap_);
    Local<Node> target = heap_->New<Node>(1);
    Local<Node> held_value = heap_->New<Node>(5);
    ASSERT_TRUE(registry->Register(target.Get(), held_value.Get(), token.Get()).ok());
  }
  heap_->CollectGarbage();
  bool still_pending = registry->pending_delivery() == 1;
  absl::StatusOr<bool> removed = registry->Unregister(token.Get());
  ASSERT_TRUE(removed.ok());
  // Schedulers that deliver or drop at the end of the collection leave nothing to remove.
  EXPECT_EQ(*removed, still_pending);
  Drain();
  if (still_pending) {
    EXPECT_TRUE(delivered_.empty());
    EXPECT_EQ(queue_->stats().cancelled, 1u);
    EXPECT_EQ(queue_->stats().unregistered, 1u);
  }
  // The schedulers that hold deliveries past the collection must reach this case.
  if (scheduler_kind() == SchedulerKind::kHostJobs ||
      scheduler_kind() == SchedulerKind::kRandomized) {
    EXPECT_TRUE(still_pending);
  }
}

TEST_P(FinalizationTest, TokensAreHeldWeakly) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  Persistent<Node> target;
  WeakPersistent<Node> token_watch;
  {
    HandleScope inner(*heap_);
    target = Persistent<Node>(*heap_, heap_->New<Node>(1));
    Local<Node> token = heap_->New<Node>(2);
    token_watch = WeakPersistent<Node>(*heap_, token);
    Local<Node> held_value = heap_->New<Node>(3);
    ASSERT_TRUE(registry->Register(target.Get(), held_value.Get(), token.Get()).ok());
  }
  CollectAndDrain();
  EXPECT_EQ(token_watch.Get(), nullptr) << "the registry must not keep its token alive";
  EXPECT_EQ(registry->registered(), 1u);
  // A new object, perhaps at the dead token's address, is not that token.
  Local<Node> other = heap_->New<Node>(4);
  absl::StatusOr<bool> removed = registry->Unregister(other.Get());
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(*removed);
  target.Reset();
  CollectAndDrain();
  if (runs_callbacks()) {
    EXPECT_EQ(delivered_, std::vector<int64_t>{3});
  }
}

TEST_P(FinalizationTest, TokensSurviveMoves) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  Local<Node> token = heap_->New<Node>(0);
  Local<Node> target = heap_->New<Node>(1);
  for (int i = 0; i < 100; ++i) {
    HandleScope inner(*heap_);
    Local<Node> t = i % 2 == 0 ? target : heap_->New<Node>(i);
    Local<Node> held_value = heap_->New<Node>(i);
    ASSERT_TRUE(registry->Register(t.Get(), held_value.Get(),
                                   i % 3 == 0 ? token.Get() : t.Get())
                    .ok());
  }
  const void* before = token.Get();
  const bool moves = testing::NextCollectionMoves(*heap_, before);
  CollectAndDrain();  // one collection: a second would flip the semispace back
  if (moves) {
    EXPECT_NE(token.Get(), before);
  }
  // Registrations 0, 6, 12, ..., 96 used the token and their target is alive.
  EXPECT_EQ(registry->registered(), 50u);
  absl::StatusOr<bool> removed = registry->Unregister(token.Get());
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_EQ(registry->registered(), 50u - 17u);
  // Registrations that used the live target as their token: 2, 4, 8, 10, ...
  removed = registry->Unregister(target.Get());
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_EQ(registry->registered(), 0u);
}

TEST_P(FinalizationTest, CollectedRegistryDeliversNothing) {
  HandleScope scope(*heap_);
  {
    HandleScope inner(*heap_);
    Local<NodeRegistry> registry = RecordingRegistry();
    Local<Node> target = heap_->New<Node>(1);
    Local<Node> held_value = heap_->New<Node>(2);
    ASSERT_TRUE(registry->Register(target.Get(), held_value.Get()).ok());
  }
  CollectAndDrain();
  EXPECT_TRUE(delivered_.empty());
  EXPECT_EQ(queue_->live_registries(), 0u);
  EXPECT_EQ(queue_->stats().registries_collected, 1u);
  EXPECT_EQ(queue_->stats().delivered, 0u);
}

TEST_P(FinalizationTest, RegistryCollectedWhileDeliveriesWaitDeliversNothing) {
  HandleScope scope(*heap_);
  Persistent<NodeRegistry> registry;
  {
    HandleScope inner(*heap_);
    registry = Persistent<NodeRegistry>(*heap_, RecordingRegistry());
    Local<Node> target = heap_->New<Node>(1);
    Local<Node> held_value = heap_->New<Node>(2);
    ASSERT_TRUE(registry->Register(target.Get(), held_value.Get()).ok());
  }
  heap_->CollectGarbage();
  bool waiting = queue_->scheduler().pending() > 0;
  registry.Reset();
  CollectAndDrain();
  if (waiting) {
    EXPECT_TRUE(delivered_.empty());
    EXPECT_EQ(queue_->stats().cancelled, 1u);
  }
}

TEST_P(FinalizationCallbackTest, CallbacksMayAllocateRegisterCollectAndDeref) {
  HandleScope scope(*heap_);
  Persistent<Node> survivor(*heap_, heap_->New<Node>(100));
  Persistent<WeakRef<Node>> weak(*heap_, WeakRef<Node>::Create(*heap_, survivor.Get()).value());
  int generations = 0;
  Persistent<NodeRegistry> registry;
  registry = Persistent<NodeRegistry>(
      *heap_, NodeRegistry::Create(*heap_, [&](Local<Node> held) -> absl::Status {
        delivered_.push_back(held->value);
        EXPECT_NE(weak->Deref(), nullptr);
        if (held->value < 3) {
          // Allocate, register a new short-lived target, and collect from the callback.
          Local<Node> next_target = heap_->New<Node>(held->value + 1000);
          Local<Node> next_held = heap_->New<Node>(held->value + 1);
          absl::Status s = registry->Register(next_target.Get(), next_held.Get(), held.Get());
          if (!s.ok()) return s;
          absl::StatusOr<bool> none = registry->Unregister(next_held.Get());
          if (!none.ok() || *none) return absl::InternalError("unexpected unregister");
          ++generations;
          heap_->CollectGarbage();
        }
        return absl::OkStatus();
      }));
  {
    HandleScope inner(*heap_);
    Local<Node> dying = heap_->New<Node>(1);
    Local<Node> held_value = heap_->New<Node>(0);
    ASSERT_TRUE(registry->Register(dying.Get(), held_value.Get()).ok());
  }
  for (int i = 0; i < 10 && delivered_.size() < 4; ++i) CollectAndDrain();
  EXPECT_EQ(delivered_, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(generations, 3);
  EXPECT_TRUE(queue_->errors().empty()) << queue_->errors().front();
}

TEST_P(FinalizationCallbackTest, FailingCallbacksDoNotLoseOthers) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = NodeRegistry::Create(*heap_, [&](Local<Node> held) {
    delivered_.push_back(held->value);
    if (held->value % 3 == 1) return absl::DataLossError("callback failed on purpose");
    if (held->value % 3 == 2) throw std::runtime_error("callback threw on purpose");
    return absl::OkStatus();
  });
  {
    HandleScope inner(*heap_);
    for (int i = 0; i < 30; ++i) {
      Local<Node> dying = heap_->New<Node>(-i);
      Local<Node> held_value = heap_->New<Node>(i);
      ASSERT_TRUE(registry->Register(dying.Get(), held_value.Get()).ok());
    }
  }
  CollectAndDrain();
  std::sort(delivered_.begin(), delivered_.end());
  ASSERT_EQ(delivered_.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(delivered_[i], i);
  EXPECT_EQ(queue_->stats().delivered, 30u);
  EXPECT_EQ(queue_->stats().failed, 20u);
  ASSERT_EQ(queue_->errors().size(), 20u);
  size_t threw = 0;
  for (const absl::Status& e : queue_->errors()) {
    if (e.code() == absl::StatusCode::kUnknown) {
      ++threw;
      EXPECT_NE(std::string(e.message()).find("threw on purpose"), std::string::npos) << e;
    } else {
      EXPECT_EQ(e.code(), absl::StatusCode::kDataLoss);
    }
  }
  EXPECT_EQ(threw, 10u);
}

// A holder of weak references of every kind to one object.
class WeakHolder : public GarbageCollected<WeakHolder> {
 public:
  void Trace(Visitor& visitor) const { visitor.Trace(weak); }
  WeakMember<Node> weak;
};

TEST_P(FinalizationCallbackTest, WeakReferencesAreClearedBeforeAnyCallbackRuns) {
  HandleScope scope(*heap_);
  Local<WeakHolder> holder = heap_->New<WeakHolder>();
  Local<WeakMap<Node, Node>> by_target = WeakMap<Node, Node>::New(*heap_);
  Local<WeakMap<Node, Node>> by_held = WeakMap<Node, Node>::New(*heap_);
  Persistent<WeakRef<Node>> ref;
  WeakPersistent<Node> weak_root;
  int checked = 0;
  Local<NodeRegistry> registry = NodeRegistry::Create(*heap_, [&](Local<Node> held) {
    // The target died: every weak reference to it reads null already, in every kind.
    EXPECT_EQ(ref->Deref(), nullptr);
    EXPECT_EQ(weak_root.Get(), nullptr);
    EXPECT_EQ(holder->weak.Get(), nullptr);
    EXPECT_EQ(by_target->size(), 0u);
    // The held value is alive, and so is the ephemeron entry it keys.
    EXPECT_EQ(by_held->size(), 1u);
    EXPECT_TRUE(by_held->Has(held.Get()));
    EXPECT_EQ(by_held->Get(held.Get())->value, 77);
    ++checked;
  });
  {
    HandleScope inner(*heap_);
    Local<Node> target = heap_->New<Node>(1);
    Local<Node> held = heap_->New<Node>(2);
    ref = Persistent<WeakRef<Node>>(*heap_, WeakRef<Node>::Create(*heap_, target).value());
    weak_root = WeakPersistent<Node>(*heap_, target);
    holder->weak = target;
    Local<Node> value = heap_->New<Node>(3);
    ASSERT_TRUE(by_target->Set(target.Get(), value.Get()).ok());
    Local<Node> held_entry = heap_->New<Node>(77);
    ASSERT_TRUE(by_held->Set(held.Get(), held_entry.Get()).ok());
    ASSERT_TRUE(registry->Register(target.Get(), held.Get()).ok());
  }
  heap_->ClearKeptObjects();  // WeakRef::Create kept the target for this job
  CollectAndDrain();
  EXPECT_EQ(checked, 1);
  heap_->CollectGarbage();  // delivered: the held value and its entry go now
  EXPECT_EQ(by_held->size(), 0u);
}

TEST_P(FinalizationTest, HeldValuesOfAnyType) {
  HandleScope scope(*heap_);
  std::vector<std::string> seen;
  Local<FinalizationRegistry<std::string>> registry = FinalizationRegistry<std::string>::Create(
      *heap_, [&](std::string held) { seen.push_back(std::move(held)); });
  {
    HandleScope inner(*heap_);
    for (int i = 0; i < 5; ++i) {
      Local<Node> dying = heap_->New<Node>(i);
      ASSERT_TRUE(registry->Register(dying.Get(), "file-" + std::to_string(i)).ok());
    }
  }
  CollectAndDrain();
  std::sort(seen.begin(), seen.end());
  if (runs_callbacks()) {
    EXPECT_EQ(seen, (std::vector<std::string>{"file-0", "file-1", "file-2", "file-3", "file-4"}));
  } else {
    EXPECT_TRUE(seen.empty());
  }
}

TEST_P(FinalizationTest, BadInputIsAnErrorAndRegistersNothing) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  Local<Node> target = heap_->New<Node>(1);
  Local<Node> held = heap_->New<Node>(2);
  Node on_stack(3);
  std::unique_ptr<Heap> other = MakeHeap(collector());
  HandleScope other_scope(*other);
  Local<Node> foreign = other->New<Node>(4);

  auto expect_invalid = [](const absl::Status& s, std::string_view words) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(std::string(s.message()).find(words), std::string::npos) << s;
  };
  expect_invalid(registry->Register(nullptr, held.Get()), "must not be null");
  expect_invalid(registry->Register(&on_stack, held.Get()), "not a live object");
  expect_invalid(registry->Register(foreign.Get(), held.Get()), "not a live object");
  expect_invalid(registry->Register(target.Get(), target.Get()), "its own held value");
  expect_invalid(registry->Register(target.Get(), &on_stack), "held value");
  expect_invalid(registry->Register(target.Get(), foreign.Get()), "held value");
  expect_invalid(registry->Register(target.Get(), held.Get(), &on_stack), "unusable unregister token");
  expect_invalid(registry->Register(target.Get(), held.Get(), foreign.Get()), "unusable unregister token");
  expect_invalid(registry->Unregister(nullptr).status(), "unusable token");
  expect_invalid(registry->Unregister(&on_stack).status(), "unusable token");
  EXPECT_EQ(registry->registered(), 0u);
  EXPECT_EQ(queue_->stats().registered, 0u);

  // A null held value is allowed (JavaScript's `undefined`).
  EXPECT_TRUE(registry->Register(target.Get(), nullptr).ok());
  EXPECT_EQ(registry->registered(), 1u);
}

TEST_P(FinalizationCallbackTest, HostJobsEndWithClearKeptObjects) {
  HandleScope scope(*heap_);
  Persistent<Node> survivor(*heap_, heap_->New<Node>(100));
  Persistent<WeakRef<Node>> weak(*heap_, WeakRef<Node>::Create(*heap_, survivor.Get()).value());
  heap_->ClearKeptObjects();
  size_t kept_in_callback = 0;
  Local<NodeRegistry> registry = NodeRegistry::Create(*heap_, [&](Local<Node>) {
    EXPECT_NE(weak->Deref(), nullptr);
    kept_in_callback = heap_->kept_object_count();
  });
  {
    HandleScope inner(*heap_);
    Local<Node> dying = heap_->New<Node>(1);
    Local<Node> held_value = heap_->New<Node>(2);
    ASSERT_TRUE(registry->Register(dying.Get(), held_value.Get()).ok());
  }
  CollectAndDrain();
  EXPECT_GE(kept_in_callback, 1u);
  if (scheduler_kind() == SchedulerKind::kHostJobs) {
    EXPECT_EQ(heap_->kept_object_count(), 0u) << "a host job ends with ClearKeptObjects";
  }
}

TEST_P(FinalizationTest, SchedulerCannotBeReplacedWhileItHoldsDeliveries) {
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  {
    HandleScope inner(*heap_);
    Local<Node> dying = heap_->New<Node>(1);
    Local<Node> held_value = heap_->New<Node>(2);
    ASSERT_TRUE(registry->Register(dying.Get(), held_value.Get()).ok());
  }
  heap_->CollectGarbage();
  absl::Status s = queue_->SetScheduler(std::make_unique<AfterEachCollectionScheduler>());
  if (queue_->scheduler().pending() > 0) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  } else {
    EXPECT_TRUE(s.ok()) << s;
  }
  EXPECT_EQ(queue_->SetScheduler(nullptr).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(FinalizationTest, DestroyingTheHeapDiscardsPendingDeliveries) {
  int ran = 0;
  Persistent<NodeRegistry> registry;  // orphaned, not used, once the heap is gone
  {
    HandleScope scope(*heap_);
    registry = Persistent<NodeRegistry>(
        *heap_, NodeRegistry::Create(*heap_, [&](Local<Node>) { ++ran; }));
    Local<Node> target = heap_->New<Node>(1);
    for (int i = 0; i < 100; ++i) {
      HandleScope inner(*heap_);
      Local<Node> dying = heap_->New<Node>(i);
      Local<Node> held = heap_->New<Node>(i);
      ASSERT_TRUE(registry->Register(dying.Get(), held.Get(), target.Get()).ok());
    }
  }
  heap_->CollectGarbage();
  const int ran_at_collection = ran;
  const bool waiting = queue_->scheduler().pending() > 0;
  heap_.reset();  // the queue, its scheduler and the registry go with the heap
  queue_ = nullptr;
  EXPECT_EQ(ran, ran_at_collection) << "no callback runs while the heap is destroyed";
  if (scheduler_kind() == SchedulerKind::kHostJobs) {
    EXPECT_TRUE(waiting);
  }
}

TEST_P(FinalizationTest, ManyRegistrationsAcrossManyCollections) {
  constexpr int kCount = testing::kSanitized ? 20000 : 200000;
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  Local<Array> keep = heap_->New<Array>(kCount);
  for (int i = 0; i < kCount; ++i) {
    HandleScope inner(*heap_);
    Local<Node> target = heap_->New<Node>(i);
    if (i % 2 == 0) keep->slots[i] = target;
    Local<Node> held_value = heap_->New<Node>(i);
    ASSERT_TRUE(registry->Register(target.Get(), held_value.Get()).ok());
  }
  CollectAndDrain();
  EXPECT_EQ(queue_->stats().found_dead, static_cast<uint64_t>(kCount / 2));
  EXPECT_EQ(registry->registered(), static_cast<size_t>(kCount / 2));
  if (runs_callbacks()) {
    ASSERT_EQ(delivered_.size(), static_cast<size_t>(kCount / 2));
    std::sort(delivered_.begin(), delivered_.end());
    for (size_t i = 0; i < delivered_.size(); ++i) ASSERT_EQ(delivered_[i], int64_t(2 * i + 1));
  }
}

// Registrations live in chunks of growing sizes (32, 64, ... 4096, then 4096 each):
// token chains that cross chunks, unregistration, delivery and the reuse of freed slots
// land on the right registrations wherever the chunk boundaries fall.
TEST_P(FinalizationTest, RegistrationsAcrossChunksOfGrowingSizes) {
  constexpr int kCount = 9000;  // past the first chunk of 4096 after the doubling ones
  constexpr int kTokens = 7;    // registration i has token i % 7: chains cross every chunk
  HandleScope scope(*heap_);
  Local<NodeRegistry> registry = RecordingRegistry();
  Local<Array> tokens = heap_->New<Array>(kTokens);
  for (int t = 0; t < kTokens; ++t) tokens->slots[t] = heap_->New<Node>(-t);
  // Every target is kept until token 3 is unregistered (a stress mode may collect at
  // any allocation), then only every fifth.
  Local<Array> keep = heap_->New<Array>(kCount);
  for (int i = 0; i < kCount; ++i) {
    HandleScope inner(*heap_);
    Local<Node> target = heap_->New<Node>(i);
    keep->slots[i] = target;
    Local<Node> held_value = heap_->New<Node>(i);
    ASSERT_TRUE(
        registry->Register(target.Get(), held_value.Get(), tokens->slots[i % kTokens].Get()).ok());
  }
  const std::vector<size_t> cells = registry->StorageCells();
  // Token 3's registrations are withdrawn: none of them is delivered.
  ASSERT_TRUE(*registry->Unregister(tokens->slots[3].Get()));
  for (int i = 0; i < kCount; ++i) {
    if (i % 5 != 0) keep->slots[i] = nullptr;
  }
  CollectAndDrain();
  int64_t expected_dead = 0;
  std::vector<int64_t> expected;
  for (int i = 0; i < kCount; ++i) {
    if (i % kTokens == 3 || i % 5 == 0) continue;
    ++expected_dead;
    expected.push_back(i);
  }
  EXPECT_EQ(queue_->stats().found_dead, static_cast<uint64_t>(expected_dead));
  if (runs_callbacks()) {
    std::sort(delivered_.begin(), delivered_.end());
    EXPECT_EQ(delivered_, expected);
    // The delivered registrations' and token 3's slots are reused: as many new ones fit
    // in the chunks there are.
    const int free_slots = kCount - static_cast<int>(registry->registered());
    for (int i = 0; i < free_slots; ++i) {
      HandleScope inner(*heap_);
      Local<Node> target = heap_->New<Node>(i);
      Local<Node> held_value = heap_->New<Node>(i);
      ASSERT_TRUE(registry->Register(target.Get(), held_value.Get(), tokens->slots[0].Get()).ok());
    }
    EXPECT_EQ(registry->StorageCells(), cells);
    // Token 0 now names old live registrations and the new dead ones alike.
    ASSERT_TRUE(*registry->Unregister(tokens->slots[0].Get()));
    delivered_.clear();
    CollectAndDrain();
    EXPECT_TRUE(delivered_.empty());
  }
  // The live targets stay registered: dropping them delivers each exactly once, token
  // 0's excepted (unregistered above when callbacks run).
  delivered_.clear();
  for (int i = 0; i < kCount; ++i) keep->slots[i] = nullptr;
  CollectAndDrain();
  if (runs_callbacks()) {
    std::vector<int64_t> rest;
    for (int i = 0; i < kCount; i += 5) {
      if (i % kTokens != 3 && i % kTokens != 0) rest.push_back(i);
    }
    std::sort(delivered_.begin(), delivered_.end());
    EXPECT_EQ(delivered_, rest);
  }
}

// A method called through a raw pointer read before an allocation that moved the
// object would change the old copy: the registration or entry would be lost. It stops.
TEST(StaleObjectDeathTest, RegistryAndTableMethodsThroughAMovedPointerStop) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  // In GCLAB_DEBUG builds the old semispace half is PROT_NONE between collections, so
  // the stale read itself faults first; otherwise the check's message is the death.
  const char* expected = internal::kDebugChecks ? "" : "stale pointer";
  auto run = [](auto&& misuse) {
    HeapOptions options;
    options.collector = CollectorKind::kSemispace;
    // One collection moves everything once, between the read and the use.
    std::unique_ptr<Heap> heap = Heap::Create(testing::WithoutStress(options)).value();
    HandleScope scope(*heap);
    Local<Node> key = heap->New<Node>(1);
    Local<Node> held = heap->New<Node>(2);
    Local<NodeRegistry> registry = NodeRegistry::Create(*heap, [](Local<Node>) {});
    Local<WeakMap<Node, Node>> map = WeakMap<Node, Node>::New(*heap);
    NodeRegistry* stale_registry = registry.Get();
    WeakMap<Node, Node>* stale_map = map.Get();
    heap->CollectGarbage();  // everything moves
    misuse(stale_registry, stale_map, key.Get(), held.Get());
  };
  EXPECT_DEATH(run([](NodeRegistry* r, WeakMap<Node, Node>*, Node* k, Node* h) {
                 r->Register(k, h).IgnoreError();
               }),
               expected);
  EXPECT_DEATH(run([](NodeRegistry*, WeakMap<Node, Node>* m, Node* k, Node* h) {
                 m->Set(k, h).IgnoreError();
               }),
               expected);
}

INSTANTIATE_TEST_SUITE_P(
    AllCollectorsAndSchedulers, FinalizationTest,
    ::testing::Combine(::testing::ValuesIn(AllCollectors()), ::testing::ValuesIn(AllSchedulerKinds())),
    ParamName);

INSTANTIATE_TEST_SUITE_P(
    AllCollectorsAndCallbackSchedulers, FinalizationCallbackTest,
    ::testing::Combine(::testing::ValuesIn(AllCollectors()),
                       ::testing::Values(SchedulerKind::kAfterCollection, SchedulerKind::kHostJobs,
                                         SchedulerKind::kRandomized)),
    ParamName);

}  // namespace
}  // namespace gclab
