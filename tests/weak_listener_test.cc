// The weak-listener example (finalization/examples/weak_listener.h): a MovingAvg
// subscribed through a WeakRef wrapper is collected once its component stops, its
// wrapper is unsubscribed by the FinalizationRegistry's callback and then collected,
// and nothing else is disturbed; the leaky version (no WeakRef) keeps it alive. On
// every collector, under every scheduler that runs callbacks (several seeds of the
// randomized one).
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "finalization/examples/weak_listener.h"
#include "finalization/finalization.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gclab {
namespace {

using examples::EventSource;
using examples::ListenerMode;
using examples::ListenerRegistry;
using examples::MovingAvgComponent;
using examples::Subscription;
using testing::MakeHeap;

struct Param {
  CollectorKind collector;
  SchedulerKind scheduler;
  uint64_t seed;  // used by the randomized scheduler only
};

void PrintTo(const Param& p, std::ostream* os) {
  *os << CollectorName(p.collector) << "/" << SchedulerKindName(p.scheduler) << "/seed "
      << p.seed;
}

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  std::string name = std::string(CollectorName(info.param.collector)) + "_" +
                     std::string(SchedulerKindName(info.param.scheduler));
  if (info.param.scheduler == SchedulerKind::kRandomized) {
    name += "_seed" + std::to_string(info.param.seed);
  }
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

// Every collector with every scheduler that runs callbacks; the randomized one with
// several seeds, which vary when (after how many turns) the callback runs.
std::vector<Param> AllParams() {
  std::vector<Param> params;
  for (CollectorKind collector : AllCollectors()) {
    for (SchedulerKind scheduler : AllSchedulerKinds()) {
      if (scheduler == SchedulerKind::kNever) continue;
      int seeds = scheduler == SchedulerKind::kRandomized ? 5 : 1;
      for (int seed = 1; seed <= seeds; ++seed) {
        params.push_back({collector, scheduler, static_cast<uint64_t>(seed)});
      }
    }
  }
  return params;
}

// The randomized scheduler delays a delivery by up to this many turns (its default
// max_delay_turns); the collection that found the death is the first turn.
constexpr int kMaxPumpTurns = 3;

class WeakListenerTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override { UseHeap(MakeHeap(GetParam().collector)); }

  // Replaces the heap (before the test creates anything in it).
  void UseHeap(std::unique_ptr<Heap> heap) {
    heap_ = std::move(heap);
    queue_ = &FinalizationQueue::For(*heap_);
    ASSERT_TRUE(
        queue_->SetScheduler(CreateScheduler(GetParam().scheduler, GetParam().seed)).ok());
  }

  // The host's job ends (releasing what WeakRef::Create and Deref kept), then a
  // collection.
  void EndJobAndCollect() {
    heap_->ClearKeptObjects();
    heap_->CollectGarbage();
  }

  // Pumps host jobs until the scheduler holds no delivery; returns the turns taken.
  int PumpUntilIdle() {
    int turns = 0;
    while (queue_->scheduler().pending() > 0 && turns < 10 * kMaxPumpTurns) {
      queue_->PumpHostJobs();
      ++turns;
    }
    EXPECT_EQ(queue_->scheduler().pending(), 0u);
    EXPECT_LE(turns, kMaxPumpTurns);
    return turns;
  }

  Local<MovingAvgComponent> NewComponent(const Local<EventSource>& source,
                                         const Local<ListenerRegistry>& registry,
                                         ListenerMode mode = ListenerMode::kWeak) {
    return heap_->New<MovingAvgComponent>(*heap_, source, registry, mode);
  }

  void Start(const Local<MovingAvgComponent>& component, Subscription* subscription) {
    absl::StatusOr<Subscription> started = component->Start();
    ASSERT_TRUE(started.ok()) << started.status();
    *subscription = *started;
    ASSERT_TRUE(component->running());
    ASSERT_EQ(component->moving_avg(), subscription->listener.Get());
  }

  std::unique_ptr<Heap> heap_;
  FinalizationQueue* queue_ = nullptr;
};

TEST_P(WeakListenerTest, EventsReachEveryRunningListener) {
  HandleScope scope(*heap_);
  Local<EventSource> source = heap_->New<EventSource>();
  Local<ListenerRegistry> registry = examples::CreateListenerRegistry(*heap_);
  Local<MovingAvgComponent> a = NewComponent(source, registry);
  Local<MovingAvgComponent> b = NewComponent(source, registry);
  Subscription sub_a, sub_b;
  ASSERT_NO_FATAL_FAILURE(Start(a, &sub_a));
  ASSERT_NO_FATAL_FAILURE(Start(b, &sub_b));
  EXPECT_EQ(source->listener_count(), 2u);
  EXPECT_EQ(registry->registered(), 2u);
  EXPECT_TRUE(source->listener(0)->is_weak());

  for (double latency : {10.0, 20.0, 30.0}) EXPECT_EQ(source->Dispatch(latency), 2u);
  EXPECT_EQ(a->moving_avg()->latencies(), (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(b->moving_avg()->latencies(), (std::vector<double>{10, 20, 30}));
  EXPECT_DOUBLE_EQ(a->moving_avg()->Compute(3), 20.0);
  EXPECT_DOUBLE_EQ(a->moving_avg()->Compute(2), 25.0);
  EXPECT_DOUBLE_EQ(a->moving_avg()->Compute(100), 20.0);  // fewer events than asked
  EXPECT_DOUBLE_EQ(a->moving_avg()->Compute(0), 0.0);

  // Running listeners survive collections (and moves) with their events.
  const void* before = sub_a.listener.Get();
  const bool moves = testing::NextCollectionMoves(*heap_, before);
  EndJobAndCollect();
  PumpUntilIdle();
  if (moves) {
    EXPECT_NE(sub_a.listener.Get(), before);
  }
  ASSERT_NE(sub_a.listener.Get(), nullptr);
  ASSERT_NE(sub_b.listener.Get(), nullptr);
  EXPECT_EQ(a->moving_avg(), sub_a.listener.Get());
  EXPECT_EQ(source->listener_count(), 2u);
  EXPECT_EQ(registry->registered(), 2u);
  EXPECT_EQ(queue_->stats().found_dead, 0u);
  EXPECT_EQ(queue_->stats().delivered, 0u);

  EXPECT_EQ(source->Dispatch(40.0), 2u);
  EXPECT_EQ(a->moving_avg()->latencies(), (std::vector<double>{10, 20, 30, 40}));
  EXPECT_EQ(b->moving_avg()->event_count(), 4u);
  EXPECT_DOUBLE_EQ(b->moving_avg()->Compute(2), 35.0);
}

TEST_P(WeakListenerTest, StoppedListenerIsCollectedAndItsWrapperRemoved) {
  HandleScope scope(*heap_);
  Local<EventSource> source = heap_->New<EventSource>();
  Local<ListenerRegistry> registry = examples::CreateListenerRegistry(*heap_);
  Local<MovingAvgComponent> a = NewComponent(source, registry);
  Local<MovingAvgComponent> b = NewComponent(source, registry);
  Subscription sub_a, sub_b;
  ASSERT_NO_FATAL_FAILURE(Start(a, &sub_a));
  ASSERT_NO_FATAL_FAILURE(Start(b, &sub_b));
  EXPECT_EQ(source->Dispatch(1.0), 2u);

  a->Stop();
  EXPECT_FALSE(a->running());
  EndJobAndCollect();
  // A's MovingAvg is gone; B's is not.
  EXPECT_EQ(sub_a.listener.Get(), nullptr);
  ASSERT_NE(sub_b.listener.Get(), nullptr);
  EXPECT_EQ(queue_->stats().found_dead, 1u);
  // The wrapper and the registration were reachable (from the source, from the
  // registry) in that collection, whether or not the callback has run since.
  EXPECT_NE(sub_a.wrapper.Get(), nullptr);
  EXPECT_NE(sub_a.registration.Get(), nullptr);
  if (queue_->scheduler().pending() > 0) {
    // Not cleaned up yet: the wrapper is still subscribed, and drops what it gets.
    EXPECT_EQ(source->listener_count(), 2u);
    EXPECT_EQ(registry->pending_delivery(), 1u);
  }
  // The host-jobs scheduler runs nothing inside the collection: that case must happen.
  if (GetParam().scheduler == SchedulerKind::kHostJobs) {
    EXPECT_EQ(queue_->scheduler().pending(), 1u);
  }
  EXPECT_EQ(source->Dispatch(2.0), 1u) << "an event reached the stopped MovingAvg";
  EXPECT_EQ(sub_b.listener->latencies(), (std::vector<double>{1, 2}));

  PumpUntilIdle();
  EXPECT_EQ(queue_->stats().delivered, 1u);
  EXPECT_TRUE(queue_->errors().empty()) << queue_->errors().front();
  ASSERT_EQ(source->listener_count(), 1u) << "the dead listener's wrapper is still subscribed";
  EXPECT_EQ(source->listener(0), sub_b.wrapper.Get()) << "the wrong wrapper was removed";
  EXPECT_EQ(registry->registered(), 1u);
  EXPECT_EQ(registry->pending_delivery(), 0u);

  // Delivered: nothing holds A's wrapper or registration now.
  EndJobAndCollect();
  EXPECT_EQ(sub_a.wrapper.Get(), nullptr);
  EXPECT_EQ(sub_a.registration.Get(), nullptr);
  // B is untouched, and the source still works.
  ASSERT_NE(sub_b.listener.Get(), nullptr);
  EXPECT_NE(sub_b.wrapper.Get(), nullptr);
  EXPECT_NE(sub_b.registration.Get(), nullptr);
  EXPECT_EQ(source->Dispatch(3.0), 1u);
  EXPECT_EQ(b->moving_avg()->latencies(), (std::vector<double>{1, 2, 3}));
  EXPECT_DOUBLE_EQ(b->moving_avg()->Compute(3), 2.0);
  EXPECT_EQ(queue_->stats().delivered, 1u);
}

TEST_P(WeakListenerTest, StoppingEveryListenerEmptiesTheSourceWhichKeepsWorking) {
  HandleScope scope(*heap_);
  Local<EventSource> source = heap_->New<EventSource>();
  Local<ListenerRegistry> registry = examples::CreateListenerRegistry(*heap_);
  Local<MovingAvgComponent> a = NewComponent(source, registry);
  Local<MovingAvgComponent> b = NewComponent(source, registry);
  Subscription sub_a, sub_b;
  ASSERT_NO_FATAL_FAILURE(Start(a, &sub_a));
  ASSERT_NO_FATAL_FAILURE(Start(b, &sub_b));
  EXPECT_EQ(source->Dispatch(1.0), 2u);

  a->Stop();
  b->Stop();
  EndJobAndCollect();
  EXPECT_EQ(sub_a.listener.Get(), nullptr);
  EXPECT_EQ(sub_b.listener.Get(), nullptr);
  EXPECT_EQ(source->Dispatch(2.0), 0u);
  PumpUntilIdle();
  EXPECT_EQ(source->listener_count(), 0u);
  EXPECT_EQ(queue_->stats().found_dead, 2u);
  EXPECT_EQ(queue_->stats().delivered, 2u);
  EXPECT_TRUE(queue_->errors().empty()) << queue_->errors().front();

  EndJobAndCollect();
  for (const Subscription* sub : {&sub_a, &sub_b}) {
    EXPECT_EQ(sub->wrapper.Get(), nullptr);
    EXPECT_EQ(sub->registration.Get(), nullptr);
  }
  EXPECT_EQ(registry->registered(), 0u);

  // The source takes new listeners: restart A.
  Subscription again;
  ASSERT_NO_FATAL_FAILURE(Start(a, &again));
  EXPECT_EQ(source->listener_count(), 1u);
  EXPECT_EQ(source->Dispatch(5.0), 1u);
  EXPECT_EQ(a->moving_avg()->latencies(), std::vector<double>{5});
  EXPECT_EQ(registry->registered(), 1u);
}

TEST_P(WeakListenerTest, KeptObjectsKeepAStoppedListenerUntilTheJobEnds) {
  HandleScope scope(*heap_);
  Local<EventSource> source = heap_->New<EventSource>();
  Local<ListenerRegistry> registry = examples::CreateListenerRegistry(*heap_);
  Local<MovingAvgComponent> a = NewComponent(source, registry);
  Subscription sub_a;
  ASSERT_NO_FATAL_FAILURE(Start(a, &sub_a));
  EXPECT_EQ(source->Dispatch(1.0), 1u);  // Deref keeps the MovingAvg for this job
  a->Stop();

  heap_->CollectGarbage();  // the same job: kept
  PumpUntilIdle();
  ASSERT_NE(sub_a.listener.Get(), nullptr) << "a Deref'ed target died within its job";
  EXPECT_EQ(queue_->stats().found_dead, 0u);
  EXPECT_EQ(source->Dispatch(2.0), 1u);
  EXPECT_EQ(sub_a.listener->event_count(), 2u);

  EndJobAndCollect();
  EXPECT_EQ(sub_a.listener.Get(), nullptr);
  EXPECT_EQ(source->Dispatch(3.0), 0u);
  PumpUntilIdle();
  EXPECT_EQ(source->listener_count(), 0u);
  EXPECT_EQ(queue_->stats().delivered, 1u);
}

// The negative control: without the WeakRef (the source holds the MovingAvg through a
// strong wrapper, the article's bug), a stopped component's MovingAvg lives on and
// keeps receiving events, under the same conditions in which the weak one goes.
TEST_P(WeakListenerTest, LeakyListenerOutlivesItsComponent) {
  HandleScope scope(*heap_);
  Local<EventSource> source = heap_->New<EventSource>();
  Local<ListenerRegistry> registry = examples::CreateListenerRegistry(*heap_);
  Local<MovingAvgComponent> leaky =
      NewComponent(source, Local<ListenerRegistry>(), ListenerMode::kLeaky);
  Local<MovingAvgComponent> weak = NewComponent(source, registry);
  Subscription sub_leaky, sub_weak;
  ASSERT_NO_FATAL_FAILURE(Start(leaky, &sub_leaky));
  ASSERT_NO_FATAL_FAILURE(Start(weak, &sub_weak));
  EXPECT_FALSE(source->listener(0)->is_weak());
  EXPECT_EQ(sub_leaky.registration.Get(), nullptr) << "the leaky version registers nothing";
  EXPECT_EQ(source->Dispatch(1.0), 2u);

  leaky->Stop();
  weak->Stop();
  for (int i = 0; i < 3; ++i) {
    EndJobAndCollect();
    PumpUntilIdle();
  }
  EXPECT_EQ(sub_weak.listener.Get(), nullptr);
  ASSERT_NE(sub_leaky.listener.Get(), nullptr) << "the leaky MovingAvg was collected";
  EXPECT_EQ(source->listener_count(), 1u);
  EXPECT_EQ(source->Dispatch(2.0), 1u);
  EXPECT_EQ(sub_leaky.listener->latencies(), (std::vector<double>{1, 2}))
      << "the stopped component's MovingAvg still receives events";
  EXPECT_EQ(queue_->stats().registered, 1u);
  EXPECT_EQ(queue_->stats().delivered, 1u);
}

// Collections inside the allocations of Start (which may move the component, the
// source and the registry mid-call) and cleanup callbacks run inside them (by the
// schedulers that run callbacks at the end of a collection).
TEST_P(WeakListenerTest, ManyListenersComeAndGoWhileAllocationsCollect) {
  constexpr int kListeners = 500;
  ASSERT_NO_FATAL_FAILURE(UseHeap(MakeHeap(GetParam().collector, size_t{64} << 20,
                                           FixedBudgetPolicy::Create(4096).value())));
  HandleScope scope(*heap_);
  Local<EventSource> source = heap_->New<EventSource>();
  Local<ListenerRegistry> registry = examples::CreateListenerRegistry(*heap_);
  Local<MovingAvgComponent> survivor = NewComponent(source, registry);
  Subscription sub_survivor;
  ASSERT_NO_FATAL_FAILURE(Start(survivor, &sub_survivor));
  for (int i = 0; i < kListeners; ++i) {
    HandleScope inner(*heap_);
    Local<MovingAvgComponent> component = NewComponent(source, registry);
    Subscription sub;
    ASSERT_NO_FATAL_FAILURE(Start(component, &sub));
    // The survivor and this one; also the stopped ones that no collection has found
    // dead yet (until then a stopped listener still receives events, as in JavaScript).
    ASSERT_GE(source->Dispatch(i), 2u);
    ASSERT_EQ(component->moving_avg()->latencies(), std::vector<double>{double(i)});
    component->Stop();
    heap_->ClearKeptObjects();  // each iteration is a job
  }
  EXPECT_GE(heap_->stats().collections, 10u) << "the budget should have forced collections";
  EndJobAndCollect();
  PumpUntilIdle();
  EXPECT_EQ(queue_->stats().found_dead, static_cast<uint64_t>(kListeners));
  EXPECT_EQ(queue_->stats().delivered, static_cast<uint64_t>(kListeners));
  EXPECT_TRUE(queue_->errors().empty()) << queue_->errors().front();
  ASSERT_EQ(source->listener_count(), 1u);
  EXPECT_EQ(source->listener(0), sub_survivor.wrapper.Get());
  EXPECT_EQ(registry->registered(), 1u);
  ASSERT_NE(sub_survivor.listener.Get(), nullptr);
  EXPECT_EQ(sub_survivor.listener->event_count(), static_cast<size_t>(kListeners));
  EXPECT_DOUBLE_EQ(sub_survivor.listener->Compute(kListeners), (kListeners - 1) / 2.0);
}

TEST_P(WeakListenerTest, AWeakComponentNeedsARegistry) {
  HandleScope scope(*heap_);
  Local<EventSource> source = heap_->New<EventSource>();
  Local<MovingAvgComponent> component = NewComponent(source, Local<ListenerRegistry>());
  absl::StatusOr<Subscription> started = component->Start();
  EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition) << started.status();
  EXPECT_FALSE(component->running());
  EXPECT_EQ(source->listener_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllCollectorsAndSchedulers, WeakListenerTest,
                         ::testing::ValuesIn(AllParams()), ParamName);

}  // namespace
}  // namespace gclab
