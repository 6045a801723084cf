// gclab example: a weak listener goes away by itself (weak_listener.h), narrated.
//
// A component subscribes a MovingAvg to an event source through a WeakRef wrapper and
// registers it with a FinalizationRegistry. Once the component stops, the MovingAvg is
// collected, the wrapper drops the events it still receives, and the registry's
// callback takes the wrapper off the source. For contrast, the leaky version (the
// source holds the MovingAvg strongly) keeps a stopped component's MovingAvg alive.
//
//   bazel run //finalization/examples:weak_listener                       # semispace, host-jobs
//   bazel run //finalization/examples:weak_listener -- mark-sweep randomized
//
// Exits 1 if anything happens other than what the pattern promises.
#include <cstdio>
#include <memory>
#include <string>

#include "finalization/examples/weak_listener.h"
#include "finalization/finalization.h"
#include "gc/gc.h"

namespace {

using gclab::examples::EventSource;
using gclab::examples::ListenerMode;
using gclab::examples::ListenerRegistry;
using gclab::examples::MovingAvg;
using gclab::examples::MovingAvgComponent;
using gclab::examples::Subscription;

template <typename T>
const char* Fate(const gclab::WeakPersistent<T>& watch) {
  return watch.Get() != nullptr ? "alive" : "collected";
}

int failures = 0;

void Expect(bool ok, const char* what) {
  if (ok) return;
  std::printf("   UNEXPECTED: %s\n", what);
  ++failures;
}

}  // namespace

int main(int argc, char** argv) {
  gclab::HeapOptions options;
  options.collector = gclab::CollectorKind::kSemispace;
  gclab::SchedulerKind scheduler_kind = gclab::SchedulerKind::kHostJobs;
  if (argc > 1) {
    absl::StatusOr<gclab::CollectorKind> kind = gclab::ParseCollectorKind(argv[1]);
    if (!kind.ok()) {
      std::fprintf(stderr, "usage: weak_listener [COLLECTOR [SCHEDULER]]\n%s\n",
                   kind.status().ToString().c_str());
      return 2;
    }
    options.collector = *kind;
  }
  if (argc > 2) {
    absl::StatusOr<gclab::SchedulerKind> kind = gclab::ParseSchedulerKind(argv[2]);
    if (!kind.ok()) {
      std::fprintf(stderr, "usage: weak_listener [COLLECTOR [SCHEDULER]]\n%s\n",
                   kind.status().ToString().c_str());
      return 2;
    }
    scheduler_kind = *kind;
  }
  bool runs_callbacks = scheduler_kind != gclab::SchedulerKind::kNever;

  // The heap is declared first so that it outlives every handle below.
  std::unique_ptr<gclab::Heap> heap = gclab::Heap::Create(options).value();
  gclab::FinalizationQueue& queue = gclab::FinalizationQueue::For(*heap);
  if (absl::Status s = queue.SetScheduler(gclab::CreateScheduler(scheduler_kind)); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  std::printf("Weak listeners on a %s heap; cleanup callbacks run by the %s scheduler.\n\n",
              std::string(heap->collector_name()).c_str(),
              std::string(queue.scheduler().name()).c_str());

  gclab::HandleScope scope(*heap);
  gclab::Local<EventSource> source = heap->New<EventSource>();
  gclab::Local<ListenerRegistry> registry = gclab::examples::CreateListenerRegistry(*heap);
  gclab::Local<MovingAvgComponent> component =
      heap->New<MovingAvgComponent>(*heap, source, registry);

  std::printf("1. start: the component creates a MovingAvg; the source gets a wrapper that\n"
              "   reaches it through a WeakRef, and the registry watches the MovingAvg.\n");
  Subscription watch = component->Start().value();
  std::printf("   source listeners: %zu, registrations: %zu\n", source->listener_count(),
              registry->registered());

  std::printf("2. dispatch 12, 15 and 6 ms.\n");
  for (double latency : {12.0, 15.0, 6.0}) {
    Expect(source->Dispatch(latency) == 1, "an event did not reach the running MovingAvg");
  }
  MovingAvg* avg = component->moving_avg();
  std::printf("   the MovingAvg recorded %zu events; average of the last 3: %.2f ms, of the "
              "last 2: %.2f ms\n",
              avg->event_count(), avg->Compute(3), avg->Compute(2));
  Expect(avg->event_count() == 3 && avg->Compute(3) == 11.0 && avg->Compute(2) == 10.5,
         "wrong events recorded");

  std::printf("3. stop: the component drops its MovingAvg; only the WeakRef refers to it.\n");
  component->Stop();

  std::printf("4. end the job (ClearKeptObjects: Deref kept the MovingAvg alive until now)\n"
              "   and collect.\n");
  heap->ClearKeptObjects();
  heap->CollectGarbage();
  std::printf("   MovingAvg: %s; wrapper: %s\n", Fate(watch.listener), Fate(watch.wrapper));
  if (queue.stats().delivered > 0) {
    std::printf("   source listeners: %zu: the cleanup callback ran at the end of the "
                "collection\n",
                source->listener_count());
  } else {
    std::printf("   source listeners: %zu; cleanup callbacks waiting: %zu\n",
                source->listener_count(), queue.scheduler().pending());
  }
  Expect(watch.listener.Get() == nullptr, "the stopped MovingAvg survived the collection");
  Expect(watch.wrapper.Get() != nullptr, "the wrapper died while the source might hold it");

  size_t reached = source->Dispatch(30.0);
  std::printf("5. dispatch 30 ms: reached %zu listeners%s.\n", reached,
              source->listener_count() > 0 ? " (the wrapper's WeakRef is empty)" : "");
  Expect(reached == 0, "an event reached a stopped MovingAvg");

  std::printf("6. pump host jobs until the scheduler holds nothing.\n");
  int turns = 0;
  size_t ran = 0;
  while (queue.scheduler().pending() > 0 && turns < 10) {
    ran += queue.PumpHostJobs();
    ++turns;
  }
  if (turns == 0) {
    std::printf("   nothing waits; source listeners: %zu\n", source->listener_count());
  } else {
    std::printf("   %d turn%s, %zu callback%s run; source listeners: %zu\n", turns,
                turns == 1 ? "" : "s", ran, ran == 1 ? "" : "s", source->listener_count());
  }
  if (runs_callbacks) {
    Expect(source->listener_count() == 0, "the cleanup callback did not remove the wrapper");
  } else {
    std::printf("   (this scheduler never runs callbacks: the empty wrapper stays, but the\n"
                "   MovingAvg is gone all the same)\n");
  }

  std::printf("7. collect again.\n");
  heap->CollectGarbage();
  std::printf("   wrapper: %s; registration: %s\n", Fate(watch.wrapper),
              Fate(watch.registration));
  Expect(watch.registration.Get() == nullptr, "the registration outlived its delivery");
  if (runs_callbacks) Expect(watch.wrapper.Get() == nullptr, "the wrapper was not collected");

  const gclab::FinalizationStatistics& stats = queue.stats();
  std::printf("   finalization: %llu registered, %llu found dead, %llu delivered, %llu dropped; "
              "%zu callback errors\n",
              static_cast<unsigned long long>(stats.registered),
              static_cast<unsigned long long>(stats.found_dead),
              static_cast<unsigned long long>(stats.delivered),
              static_cast<unsigned long long>(stats.dropped), queue.errors().size());
  Expect(queue.errors().empty(), "a cleanup callback failed");
  Expect(stats.delivered == (runs_callbacks ? 1u : 0u), "wrong number of callbacks run");

  std::printf("\nFor contrast, the leaky version: the source holds the MovingAvg strongly.\n");
  gclab::Local<MovingAvgComponent> leaky = heap->New<MovingAvgComponent>(
      *heap, source, gclab::Local<ListenerRegistry>(), ListenerMode::kLeaky);
  std::printf("8. start, dispatch 20 ms, stop, end the job and collect.\n");
  Subscription leaky_watch = leaky->Start().value();
  Expect(source->Dispatch(20.0) == 1, "an event did not reach the leaky MovingAvg");
  leaky->Stop();
  heap->ClearKeptObjects();
  heap->CollectGarbage();
  for (int i = 0; i < 10 && queue.scheduler().pending() > 0; ++i) queue.PumpHostJobs();
  std::printf("   MovingAvg: %s; source listeners: %zu\n", Fate(leaky_watch.listener),
              source->listener_count());
  Expect(leaky_watch.listener.Get() != nullptr, "the leaky MovingAvg was collected");
  reached = source->Dispatch(25.0);
  std::printf("9. dispatch 25 ms: reached %zu listener. The stopped component's MovingAvg\n"
              "   has %zu events, and will record more for as long as the source lives.\n",
              reached,
              leaky_watch.listener.Get() ? leaky_watch.listener->event_count() : size_t{0});
  Expect(reached == 1, "the leaky MovingAvg stopped receiving events");

  std::printf("\n%s\n", failures == 0 ? "All as expected." : "Something went wrong.");
  return failures == 0 ? 0 : 1;
}
