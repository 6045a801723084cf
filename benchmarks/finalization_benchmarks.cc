// gclab benchmarks for finalization, on every collector and scheduler, beside Boehm GC's
// finalizers (what a C or C++ programmer would use instead).
//
//   BM_WhippetFinalizers/<collector>/<scheduler>/<default-policy|fixed-heap>
//       The shape of Whippet's benchmarks/finalizers.c: a really linked list of N pairs
//       (a Pair cell: car, cdr), each pair's car a fresh SmallObject carrying its index,
//       and for each pair a registration with the pair as target and its car as held
//       value. Only the list's head is rooted. Then: collect and deliver (the list is
//       alive: 0 deliveries expected); drop the head; collect and deliver (N expected).
//       Every delivery is checked: the held SmallObject's index must be in range and not
//       seen before, and each round's count must be as expected, or the run reports an
//       error. "Deliver" is what the scheduler does: after-collection runs callbacks at
//       the end of the collection; host-jobs and randomized (seed 1, no drops) run them
//       when the benchmark pumps host jobs until the scheduler is empty.
//       Timed: all of it, build included, as Whippet times its thread. Two heap
//       configurations: default-policy (gclab's default trigger policy, so the build
//       collects as the heap grows: five times at this size), and fixed-heap (a fixed
//       budget of 1 GiB, as Whippet runs it: a 1 GB heap at multiplier 2.5 is what gives
//       3,125,000 links, and then its build never collects either). N = 3,125,000
//       (--finalizers=N or GCLAB_FINALIZERS).
//   BM_WhippetFinalizers/boehm
//       The same with GC_MALLOC'ed pairs and GC_register_finalizer_no_order on each pair
//       (client data: its car), finalizers run on demand by GC_invoke_finalizers().
//   BM_WhippetFinalizers/shared_ptr
//       The same list of std::shared_ptr pairs whose deleters deliver their car; the
//       head is dropped and the list unlinked in a loop. Reference counting: no
//       collection, deliveries at the drop.
//   BM_WhippetFinalizers/mimalloc
//       The same list in mimalloc (mi_malloc, loaded with dlopen); at the drop the
//       program walks it, delivers each car and frees: finalization by hand, the floor.
//   BM_SchedulerBugs/<scheduler>
//       Three small programs with bugs users write against finalization (order,
//       timing, cleanups assumed to run), each run under the scheduler once per seed
//       1..200 (--bug_seeds=S): the fraction of seeds in which each bug shows, and
//       the cost of a program run. See the code for the programs.
//   BM_RegisterUnregister/<collector>
//       Register a live target with a held value and a token, then Unregister(token):
//       the cost of the bookkeeping alone (batches of 1000; no collection in between
//       is forced). items_per_second counts register+unregister pairs.
//
// Counters:
//   ns_per_finalizer      the whole run / N
//   build_ms              allocation of the list plus N registrations
//   gc_live_ms, gc_dead_ms    the two explicit collections (after-collection includes
//                         the callbacks run at their end)
//   deliver_ms            pumping host jobs after each collection
//   collections           collections during the run (the build's included)
//   peak_rss_mb           as in gc_benchmarks (rss.h)
#include <gc.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "benchmarks/baselines.h"
#include "benchmarks/rss.h"
#include "finalization/finalization.h"
#include "gc/gc.h"

namespace gclab_bench {
namespace {

using gclab::CollectorKind;
using gclab::GarbageCollected;
using gclab::HandleScope;
using gclab::Heap;
using gclab::Local;
using gclab::Member;
using gclab::Persistent;
using gclab::SchedulerKind;
using gclab::Visitor;

constexpr size_t kHeapLimit = size_t{4} << 30;  // the semispace heap reserves twice
constexpr size_t kWhippetHeap = size_t{1} << 30;
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

class SmallObject : public GarbageCollected<SmallObject> {
 public:
  explicit SmallObject(int64_t i) : index(i) {}
  void Trace(Visitor&) const {}
  int64_t index;
};

class Pair : public GarbageCollected<Pair> {
 public:
  Pair(const Local<SmallObject>& a, const Local<Pair>& d) : car(a), cdr(d) {}
  void Trace(Visitor& visitor) const {
    visitor.Trace(car);
    visitor.Trace(cdr);
  }
  Member<SmallObject> car;
  Member<Pair> cdr;
};

using Registry = gclab::FinalizationRegistry<SmallObject>;

// Counts deliveries and checks each one.
struct DeliveryCheck {
  explicit DeliveryCheck(int64_t n) : seen(static_cast<size_t>(n), false) {}
  void Deliver(int64_t index) {
    if (index < 0 || index >= static_cast<int64_t>(seen.size())) {
      if (error.empty()) error = absl::StrCat("delivery of an unknown index ", index);
      return;
    }
    if (seen[index]) {
      if (error.empty()) error = absl::StrCat("index ", index, " delivered twice");
      return;
    }
    seen[index] = true;
    ++count;
  }
  std::vector<bool> seen;
  int64_t count = 0;
  std::string error;
};

// The parts of one run, and the counters every variant reports from them.
struct RunTimes {
  double build_ms = 0, gc_live_ms = 0, gc_dead_ms = 0, deliver_ms = 0;
};

// `variant`: the collector, or the baseline; gclab runs get x_<baseline> counters.
void PublishRun(benchmark::State& state, int64_t n, const RunTimes& t, const std::string& variant) {
  const double total_ms = t.build_ms + t.gc_live_ms + t.gc_dead_ms + t.deliver_ms;
  RecordAndCompare(state, "BM_WhippetFinalizers", variant, total_ms / 1e3);
  state.counters["ns_per_finalizer"] = total_ms * 1e6 / static_cast<double>(n);
  state.counters["build_ms"] = t.build_ms;
  state.counters["gc_live_ms"] = t.gc_live_ms;
  state.counters["gc_dead_ms"] = t.gc_dead_ms;
  state.counters["deliver_ms"] = t.deliver_ms;
  state.counters["peak_rss_mb"] = PeakRssMb();
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_WhippetFinalizersGclab(benchmark::State& state, CollectorKind kind,
                               SchedulerKind scheduler, bool fixed_heap, int64_t n) {
  gclab::HeapOptions options;
  options.collector = kind;
  options.collector_options = CollectorOptionsFromEnvironment(kind);
  options.heap_limit = kHeapLimit;
  if (fixed_heap) options.policy = gclab::FixedBudgetPolicy::Create(kWhippetHeap).value();
  auto heap_or = Heap::Create(options);
  if (!heap_or.ok()) {
    state.SkipWithError(std::string(heap_or.status().message()).c_str());
    return;
  }
  Heap& heap = **heap_or;
  gclab::FinalizationQueue& queue = gclab::FinalizationQueue::For(heap);
  if (absl::Status s = queue.SetScheduler(gclab::CreateScheduler(scheduler, 1)); !s.ok()) {
    state.SkipWithError(std::string(s.message()).c_str());
    return;
  }
  ResetPeakRss();
  double build_ms = 0, gc_live_ms = 0, gc_dead_ms = 0, deliver_ms = 0;
  int64_t live_round = -1, dead_round = -1;
  std::string error;
  uint64_t collections = 0;
  auto deliver_all = [&] {
    Clock::time_point t = Clock::now();
    while (queue.scheduler().pending() > 0) queue.PumpHostJobs();
    deliver_ms += MsSince(t);
  };
  for (auto _ : state) {
    DeliveryCheck check(n);
    const uint64_t collections_before = heap.stats().collections;
    Persistent<Registry> registry;
    Persistent<Pair> head;
    Clock::time_point t = Clock::now();
    {
      HandleScope scope(heap);
      registry = Persistent<Registry>(
          heap, Registry::Create(heap, [&check](Local<SmallObject> car) {
            check.Deliver(car->index);
          }));
    }
    for (int64_t i = 0; i < n; ++i) {
      HandleScope scope(heap);
      Local<Pair> tail(heap, head.Get());
      Local<SmallObject> car = heap.New<SmallObject>(i);
      Local<Pair> pair = heap.New<Pair>(car, tail);
      absl::Status s = registry->Register(pair.Get(), car.Get());
      if (!s.ok()) {
        state.SkipWithError(std::string(s.message()).c_str());
        return;
      }
      head.Set(heap, pair.Get());
    }
    build_ms = MsSince(t);

    t = Clock::now();
    heap.CollectGarbage();
    gc_live_ms = MsSince(t);
    deliver_all();
    live_round = check.count;

    head.Reset();
    t = Clock::now();
    heap.CollectGarbage();
    gc_dead_ms = MsSince(t);
    deliver_all();
    dead_round = check.count - live_round;
    error = check.error;
    collections = heap.stats().collections - collections_before;
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  if (live_round != 0 || dead_round != n) {
    state.SkipWithError(absl::StrCat("delivered ", live_round, " while the list was alive and ",
                                     dead_round, " after dropping it; expected 0 and ", n)
                            .c_str());
    return;
  }
  PublishRun(state, n, {build_ms, gc_live_ms, gc_dead_ms, deliver_ms},
             std::string(gclab::CollectorName(kind)));
  state.counters["collections"] = static_cast<double>(collections);
}

// --- Boehm GC: the same list, GC_register_finalizer_no_order on each pair.
struct BoehmPair {
  int64_t* car;
  BoehmPair* cdr;
};

DeliveryCheck* boehm_check = nullptr;

void BoehmFinalize(void* object, void* client_data) {
  auto* pair = static_cast<BoehmPair*>(object);
  auto* car = static_cast<int64_t*>(client_data);
  if (pair->car != car) {
    if (boehm_check->error.empty()) boehm_check->error = "a pair's car is not its client data";
    return;
  }
  boehm_check->Deliver(*car);
}

// The root lives in Boehm's static roots (a global), not on the stack, so dropping it
// really drops it.
BoehmPair* boehm_head = nullptr;

// Out of line, and followed by ClearStack(): Boehm scans the stack conservatively, and
// a stale copy of the newest pair's address in a dead stack slot would keep the whole
// list alive.
__attribute__((noinline)) void BuildBoehmList(int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    auto* car = static_cast<int64_t*>(GC_MALLOC_ATOMIC(sizeof(int64_t)));
    *car = i;
    auto* pair = static_cast<BoehmPair*>(GC_MALLOC(sizeof(BoehmPair)));
    pair->car = car;
    pair->cdr = boehm_head;
    GC_register_finalizer_no_order(pair, BoehmFinalize, car, nullptr, nullptr);
    boehm_head = pair;
  }
}

void BM_WhippetFinalizersBoehm(benchmark::State& state, int64_t n) {
  GC_set_finalize_on_demand(1);
  ResetPeakRss();
  double build_ms = 0, gc_live_ms = 0, gc_dead_ms = 0, deliver_ms = 0;
  int64_t live_round = -1, dead_round = -1;
  std::string error;
  for (auto _ : state) {
    DeliveryCheck check(n);
    boehm_check = &check;
    boehm_head = nullptr;
    Clock::time_point t = Clock::now();
    BuildBoehmList(n);
    ClearStack();
    build_ms = MsSince(t);
    t = Clock::now();
    GC_gcollect();
    gc_live_ms = MsSince(t);
    t = Clock::now();
    GC_invoke_finalizers();
    deliver_ms = MsSince(t);
    live_round = check.count;
    boehm_head = nullptr;
    ClearStack();
    t = Clock::now();
    GC_gcollect();
    gc_dead_ms = MsSince(t);
    t = Clock::now();
    while (GC_should_invoke_finalizers()) GC_invoke_finalizers();
    deliver_ms += MsSince(t);
    dead_round = check.count - live_round;
    error = check.error;
    boehm_check = nullptr;
  }
  GC_set_finalize_on_demand(0);
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  // Boehm scans the stack conservatively: a stale copy of a pointer can keep a few
  // pairs alive, so it is checked for at least 99.9% rather than exactly N. Under
  // AddressSanitizer (fake stack frames) the whole list may stay reachable; the
  // smoke test then only checks what was delivered, and `undelivered` says the rest.
  if (live_round != 0 || (!kAddressSanitizer && dead_round < n - n / 1000)) {
    state.SkipWithError(absl::StrCat("boehm delivered ", live_round, " while the list was alive "
                                     "and ", dead_round, " after dropping it; expected 0 and ", n)
                            .c_str());
    return;
  }
  PublishRun(state, n, {build_ms, gc_live_ms, gc_dead_ms, deliver_ms}, "boehm");
  state.counters["undelivered"] = static_cast<double>(n - dead_round);
}

// The baselines that finalize at the drop, with no collection: `build(check)` makes the
// list of N pairs and returns what drops it, delivering every car to `check`. Timed:
// the build (build_ms) and the drop, deliveries included (deliver_ms).
template <typename Build>
void RunDropBaseline(benchmark::State& state, int64_t n, const char* variant, Build build) {
  ResetPeakRss();
  double build_ms = 0, deliver_ms = 0;
  std::string error;
  int64_t delivered = 0;
  for (auto _ : state) {
    DeliveryCheck check(n);
    Clock::time_point t = Clock::now();
    auto drop = build(check);
    build_ms = MsSince(t);
    t = Clock::now();
    drop();
    deliver_ms = MsSince(t);
    delivered = check.count;
    error = check.error;
  }
  if (!error.empty() || delivered != n) {
    state.SkipWithError(
        absl::StrCat(variant, ": ", delivered, " of ", n, " delivered ", error).c_str());
    return;
  }
  PublishRun(state, n, {build_ms, 0, 0, deliver_ms}, variant);
}

// std::shared_ptr: each pair's deleter is its "finalizer" and gets the car (the held
// value) when the pair's last reference goes. The list is unlinked in a loop when the
// head is dropped (destroying it recursively would overflow the stack).
struct SpSmall {
  int64_t index;
};
struct SpPair {
  std::shared_ptr<SpSmall> car;
  std::shared_ptr<SpPair> cdr;
};

void BM_WhippetFinalizersSharedPtr(benchmark::State& state, int64_t n) {
  RunDropBaseline(state, n, "shared_ptr", [n](DeliveryCheck& check) {
    std::shared_ptr<SpPair> head;
    for (int64_t i = 0; i < n; ++i) {
      auto car = std::make_shared<SpSmall>(SpSmall{i});
      head = std::shared_ptr<SpPair>(new SpPair{car, std::move(head)}, [&check](SpPair* pair) {
        check.Deliver(pair->car->index);
        delete pair;
      });
    }
    return [head = std::move(head)]() mutable {
      while (head != nullptr) head = std::move(head->cdr);  // one pair at a time
    };
  });
}

// mimalloc with manual cleanup: the program knows when the list dies, walks it, runs
// each pair's cleanup with its car and frees both: the cost of finalization done by
// hand, the floor.
struct RawSmall {
  int64_t index;
};
struct RawPair {
  RawSmall* car;
  RawPair* cdr;
};

void BM_WhippetFinalizersMimalloc(benchmark::State& state, int64_t n) {
  const Mimalloc* mi = Mimalloc::Get();
  if (mi == nullptr) {
    state.SkipWithError("libmimalloc.so.2 is not installed");
    return;
  }
  RunDropBaseline(state, n, "mimalloc", [n, mi](DeliveryCheck& check) {
    RawPair* head = nullptr;
    for (int64_t i = 0; i < n; ++i) {
      auto* car = static_cast<RawSmall*>(mi->malloc(sizeof(RawSmall)));
      car->index = i;
      auto* pair = static_cast<RawPair*>(mi->malloc(sizeof(RawPair)));
      *pair = RawPair{car, head};
      head = pair;
    }
    return [head, mi, &check]() mutable {
      while (head != nullptr) {
        RawPair* next = head->cdr;
        check.Deliver(head->car->index);
        mi->free(head->car);
        mi->free(head);
        head = next;
      }
    };
  });
}

void BM_RegisterUnregister(benchmark::State& state, CollectorKind kind) {
  gclab::HeapOptions options;
  options.collector = kind;
  options.collector_options = CollectorOptionsFromEnvironment(kind);
  auto heap_or = Heap::Create(options);
  if (!heap_or.ok()) {
    state.SkipWithError(std::string(heap_or.status().message()).c_str());
    return;
  }
  Heap& heap = **heap_or;
  HandleScope scope(heap);
  Local<Registry> registry = Registry::Create(heap, [](Local<SmallObject>) {});
  constexpr int kBatch = 1000;
  std::vector<Persistent<SmallObject>> objects;
  for (int i = 0; i < 2 * kBatch; ++i) {
    HandleScope inner(heap);
    objects.emplace_back(heap, heap.New<SmallObject>(i));
  }
  int64_t failures = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      SmallObject* target = objects[i].Get();
      SmallObject* held = objects[kBatch + i].Get();
      failures += !registry->Register(target, held, target).ok();
    }
    for (int i = 0; i < kBatch; ++i) {
      absl::StatusOr<bool> removed = registry->Unregister(objects[i].Get());
      failures += !removed.ok() || !*removed;
    }
  }
  if (failures != 0) {
    state.SkipWithError(absl::StrCat(failures, " registrations failed").c_str());
    return;
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

int64_t FinalizerCount() {
  int64_t n = 3'125'000;
  if (const char* env = std::getenv("GCLAB_FINALIZERS"); env != nullptr) n = std::atoll(env);
  return n;
}

// ---------------------------------------------------------------------------------
// BM_SchedulerBugs: which scheduler exposes which user bug, over many seeds.
//
// Three small programs, each with a bug a user writes against FinalizationRegistry:
//   order    a writer registers 20 chunks and its cleanup assumes chunk n is flushed
//            right after chunk n - 1 (creation order)
//   timing   it reads the cleanups' effect right after CollectGarbage() returns
//   lost     it assumes every cleanup has run once the host has pumped its jobs until
//            the scheduler is empty (an engine may drop them, at shutdown for one)
// Each program runs once per seed (1..S, --bug_seeds=S); the counters say in what
// fraction of the seeds the bug showed (1.0: always, 0: never) and what one program
// run costs (us_per_program: on one heap reused for every seed).

struct BugOutcome {
  bool order = false, timing = false, lost = false;
};

std::unique_ptr<gclab::FinalizationScheduler> MakeBugScheduler(const std::string& which,
                                                               uint64_t seed) {
  if (which == "randomized-dropping") {
    gclab::RandomizedScheduler::Options options;
    options.seed = seed;
    options.drop_probability = 0.1;
    return gclab::RandomizedScheduler::Create(options).value();
  }
  return gclab::CreateScheduler(gclab::ParseSchedulerKind(which).value(), seed);
}

BugOutcome RunBugPrograms(Heap* heap, const std::string& which, uint64_t seed) {
  BugOutcome out;
  gclab::FinalizationQueue& queue = gclab::FinalizationQueue::For(*heap);
  if (!queue.SetScheduler(MakeBugScheduler(which, seed)).ok()) std::abort();
  HandleScope scope(*heap);
  std::vector<int64_t> journal;
  bool in_order = true;
  auto registry = gclab::FinalizationRegistry<SmallObject>::Create(
      *heap, [&](Local<SmallObject> chunk) {
        if (!journal.empty() && chunk->index != journal.back() + 1) in_order = false;
        journal.push_back(chunk->index);
      });
  constexpr int kChunks = 20;
  {
    HandleScope inner(*heap);
    for (int i = 0; i < kChunks; ++i) {
      Local<SmallObject> target = heap->New<SmallObject>(-1);
      Local<SmallObject> held = heap->New<SmallObject>(i);
      if (!registry->Register(target.Get(), held.Get()).ok()) std::abort();
    }
  }
  heap->CollectGarbage();
  out.timing = journal.size() != static_cast<size_t>(kChunks);  // read right away
  for (int i = 0; i < 100 && queue.scheduler().pending() > 0; ++i) queue.PumpHostJobs();
  out.order = !in_order;
  out.lost = journal.size() != static_cast<size_t>(kChunks);
  return out;
}

void BM_SchedulerBugs(benchmark::State& state, std::string which, int64_t seeds) {
  int64_t order = 0, timing = 0, lost = 0;
  double ms = 0;
  // One heap for every seed (a fresh scheduler and registry each time), so the cost
  // is the programs' and not heap creation's, which depends on glibc's adaptive
  // mmap threshold and so on what ran before in the process.
  auto heap = Heap::Create().value();
  for (int64_t seed = 1; seed <= 20; ++seed) {  // untimed warm-up
    RunBugPrograms(heap.get(), which, static_cast<uint64_t>(1'000'000 + seed));
  }
  for (auto _ : state) {
    order = timing = lost = 0;
    const Clock::time_point t = Clock::now();
    for (int64_t seed = 1; seed <= seeds; ++seed) {
      BugOutcome o = RunBugPrograms(heap.get(), which, static_cast<uint64_t>(seed));
      order += o.order;
      timing += o.timing;
      lost += o.lost;
    }
    ms = MsSince(t);
  }
  const auto n = static_cast<double>(seeds);
  state.counters["order_bug_exposed"] = static_cast<double>(order) / n;
  state.counters["timing_bug_exposed"] = static_cast<double>(timing) / n;
  state.counters["lost_bug_exposed"] = static_cast<double>(lost) / n;
  state.counters["us_per_program"] = ms * 1e3 / n;
  state.SetLabel("seeds 1.." + std::to_string(seeds));
}

void RegisterBenchmarks(int64_t n, int64_t bug_seeds) {
  for (const char* which :
       {"after-collection", "host-jobs", "randomized", "randomized-dropping", "never"}) {
    const std::string name = std::string("BM_SchedulerBugs/") + which;
    benchmark::RegisterBenchmark(name.c_str(), BM_SchedulerBugs, std::string(which), bug_seeds)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->UseRealTime();
  }
  // Baselines first: the gclab runs report their ratios to them (x_<baseline>).
  benchmark::RegisterBenchmark("BM_WhippetFinalizers/boehm", BM_WhippetFinalizersBoehm, n)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_WhippetFinalizers/shared_ptr", BM_WhippetFinalizersSharedPtr, n)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_WhippetFinalizers/mimalloc", BM_WhippetFinalizersMimalloc, n)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1)
      ->UseRealTime();
  for (CollectorKind kind : gclab::AllCollectors()) {
    for (SchedulerKind scheduler :
         {SchedulerKind::kAfterCollection, SchedulerKind::kHostJobs, SchedulerKind::kRandomized}) {
      for (bool fixed_heap : {false, true}) {
        const std::string name =
            "BM_WhippetFinalizers/" + std::string(gclab::CollectorName(kind)) + "/" +
            std::string(gclab::SchedulerKindName(scheduler)) +
            (fixed_heap ? "/fixed-heap" : "/default-policy");
        benchmark::RegisterBenchmark(name.c_str(), BM_WhippetFinalizersGclab, kind, scheduler,
                                     fixed_heap, n)
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1)
            ->UseRealTime();
      }
    }
  }
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_RegisterUnregister/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_RegisterUnregister, kind)
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace gclab_bench

int main(int argc, char** argv) {
  GC_INIT();
  int64_t n = gclab_bench::FinalizerCount();
  int64_t bug_seeds = 200;
  // --finalizers=N (removed from argv) overrides GCLAB_FINALIZERS; --bug_seeds=S.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 13) == "--finalizers=") {
      n = std::atoll(argv[i] + 13);
    } else if (arg.substr(0, 12) == "--bug_seeds=") {
      bug_seeds = std::atoll(argv[i] + 12);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (n < 1 || n > 100'000'000) {
    std::fprintf(stderr, "finalization_benchmarks: --finalizers must be 1 to 100000000\n");
    return 2;
  }
  if (bug_seeds < 1 || bug_seeds > 1'000'000) {
    std::fprintf(stderr, "finalization_benchmarks: --bug_seeds must be 1 to 1000000\n");
    return 2;
  }
  gclab_bench::RegisterBenchmarks(n, bug_seeds);
  benchmark::AddCustomContext("finalizers", std::to_string(n));
  gclab_bench::AddCollectorOptionsContext();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
