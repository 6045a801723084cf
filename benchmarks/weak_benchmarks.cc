// gclab benchmarks for weak references and ephemerons, on every collector, beside the
// baselines a C++ programmer would use instead where there is one.
//
//   BM_EphemeronChain/<collector>/<indexed|naive>/<N>
//       The adversarial chain for ephemeron resolution. N keys K_0..K_{N-1} (16-byte
//       cells) and one WeakMap<Key, ChainValue> with the entries K_i -> V_i, where V_i
//       (a 24-byte cell) holds a Member to K_{i+1} (V_{N-1} holds null). Only K_0 and
//       the table are rooted, so K_{i+1} is alive exactly because the entry of K_i is.
//       Entries are inserted from K_{N-1} down to K_0, so the table traces them in that
//       order and the naive fixpoint (HeapOptions::ephemeron_algorithm =
//       kNaiveFixpoint) resolves exactly one link per pass over the unresolved
//       entries: quadratic. The indexed algorithm (the default) is linear.
//       Timed: one full CollectGarbage() (Iterations(1); the build is untimed). The
//       heap is warmed first (a garbage pass of the chain's size and a collection, so
//       the timed collection does not pay for first-touch page faults) and does not
//       collect while the chain is built (FixedBudgetPolicy of the heap limit). After
//       the collection the table must hold N entries and walking the chain from K_0
//       with Get must reach N keys, in order; otherwise the run reports an error.
//       Sizes: indexed 10^4, 10^5, 10^6, 2.8x10^6; naive 10^4 and 10^5 (10^6 takes
//       far too long). Change with --chain_sizes=LIST / --naive_chain_sizes=LIST (or
//       GCLAB_CHAIN_SIZES / GCLAB_NAIVE_CHAIN_SIZES), e.g.
//       --naive_chain_sizes=10000,100000,1000000.
//   BM_EphemeronChain/boehm/<N>
//       The same chain in Boehm's heap (keys through disappearing links, values
//       strongly: Boehm has no ephemerons) and one timed GC_gcollect(): what one
//       collection over the same live graph costs there. gclab runs report x_boehm.
//   BM_WhippetEphemerons/<collector>
//       The shape of Whippet's benchmarks/ephemerons.c: a chain of N links, link i an
//       EphemeronPair<Key, Box> whose key is a fresh Key and whose value is a Box
//       holding the previous link's key; the pairs are held in a strongly linked list
//       (one Link cell per pair: Whippet's ephemerons carry the list link themselves).
//       Only the newest key (the head key) and the list are rooted. Build the chain,
//       walk it (length N), collect, walk (N), drop the head key, collect, walk (0:
//       every key is now dead, so every pair reads null). The walk checks, as
//       Whippet's does, that each live pair's key is the key the previous value led
//       to. Timed: all of it, build and walks included, as Whippet times its thread
//       (default trigger policy, so the build collects as the heap grows). N =
//       2.8x10^6 (--whippet_length=N or GCLAB_WHIPPET_LENGTH). On a collector that
//       marks incrementally each of the two collections is a cycle of its own
//       driven by Heap::Step in 1 ms slices, as a host's idle time drives one
//       (CollectFully); final_pause_live_ms and final_pause_dead_ms are the two
//       cycles' final pauses (on an atomic collector, the whole collection), and
//       clear_weak_live_ms and clear_weak_dead_ms the ClearWeak phase in them.
//   BM_WhippetEphemerons/shared_ptr, BM_WhippetEphemerons/boehm
//       Baselines for the same chain. shared_ptr: a table of {weak_ptr<Key>,
//       shared_ptr<Box>} whose keys' deleters queue their entries for removal (what
//       careful C++ without ephemerons gives; reference counting frees the chain at
//       the drop, no collection). Boehm: entries hold the key through a
//       disappearing link and the value strongly, so the chain outlives its head key
//       (links_alive_after_drop = N - 1): Boehm has no ephemerons.
//   BM_WeakRefChurn/<collector>, BM_WeakRefChurn/shared_ptr, BM_WeakRefChurn/boehm
//       Create a WeakRef to a fresh 16-byte object, Deref it, drop both; one benchmark
//       iteration is a job of 1000 of these ended by heap.ClearKeptObjects(), as a
//       host ends a job (so each target is garbage from then on). The baseline does
//       make_shared, a weak_ptr, lock(), and drops them (the object dies at once);
//       Boehm: GC_MALLOC'ed target, a disappearing link to it, and a read of the link.
//       items_per_second counts WeakRefs (weak_ptrs).
//   BM_WeakMapSetGet/<collector>, BM_WeakMapSetGet/flat_hash_map
//       N = 100000 keys and N values, rooted (in a heap object holding Members). Per
//       iteration: a fresh WeakMap, Set(key_i, value_i) for every i, then Get(key_i)
//       for every i, each checked. The baseline does the same with an
//       absl::flat_hash_map<const void*, void*> over malloc'ed objects (strong
//       references). items_per_second counts Set and Get calls (2N per iteration);
//       set_ns and get_ns are per call. The map dies after each iteration outside the
//       timed region (gclab: a collection, which also frees the dead table's
//       malloc'ed storage). --weakmap_keys=N or GCLAB_WEAKMAP_KEYS.
//
// Counters:
//   ns_per_link          EphemeronChain: collection time / N (also items_per_second)
//   mark_ms              phases mark + weak + finalize of the timed collection
//   clear_weak_ms        phase clear-weak (weak slots, table compaction/re-index)
//   pause_ms             the whole pause of the timed collection(s) (WeakRefChurn: per job)
//   ephemeron_passes     naive fixpoint passes (0 for indexed)
//   ephemerons_resolved  ephemerons whose key was found alive
//   build_ms, gc_live_ms, gc_dead_ms, walk_ms   Whippet: the parts of the run
//   collections          collections during the timed region (WeakRefChurn: per job)
//   peak_rss_mb, rss_start_mb   as in gc_benchmarks (rss.h)
//
// Running:
//   bazel run -c opt //benchmarks:weak_benchmarks -- --benchmark_out=/tmp/weak.json
//   python3 benchmarks/summarize.py /tmp/weak.json
// Quick run: --chain_sizes=10000 --naive_chain_sizes=10000 --whippet_length=100000
#include <benchmark/benchmark.h>
#include <gc.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "benchmarks/baselines.h"
#include "benchmarks/rss.h"
#include "gc/gc.h"
#include "weak/weak.h"

namespace gclab_bench {
namespace {

using gclab::CollectorKind;
using gclab::EphemeronAlgorithm;
using gclab::HandleScope;
using gclab::Heap;
using gclab::Local;
using gclab::Member;
using gclab::Persistent;
using gclab::Phase;

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kBigHeapLimit = size_t{8} << 30;  // the semispace heap reserves twice
constexpr size_t kChurnHeapLimit = 256 * kMiB;
constexpr size_t kSetGetHeapLimit = size_t{1} << 30;
constexpr int64_t kChurnJob = 1000;  // WeakRefs per job (per benchmark iteration)

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}
double ToMs(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

struct Config {
  std::vector<int64_t> chain_sizes = {10'000, 100'000, 1'000'000, 2'800'000};
  std::vector<int64_t> naive_chain_sizes = {10'000, 100'000};
  int64_t whippet_length = 2'800'000;
  int64_t weakmap_keys = 100'000;
};

absl::StatusOr<std::unique_ptr<Heap>> CreateHeap(
    CollectorKind kind, size_t limit,
    EphemeronAlgorithm algorithm = EphemeronAlgorithm::kIndexed,
    std::shared_ptr<gclab::TriggerPolicy> policy = nullptr, bool record_pauses = false) {
  gclab::HeapOptions options;
  options.record_pauses = record_pauses;
  options.collector = kind;
  options.collector_options = CollectorOptionsFromEnvironment(kind);
  options.heap_limit = limit;
  options.ephemeron_algorithm = algorithm;
  options.policy = std::move(policy);
  return Heap::Create(options);
}

std::string AlgorithmName(EphemeronAlgorithm algorithm) {
  return algorithm == EphemeronAlgorithm::kIndexed ? "indexed" : "naive";
}

// ---------------------------------------------------------------------------------
// Heap object types.

// A key, or any small object: a 16-byte cell.
class Key final : public gclab::GarbageCollected<Key> {
 public:
  explicit Key(int64_t id) noexcept : id(id) {}
  void Trace(gclab::Visitor&) const {}
  int64_t id;
};
static_assert(gclab::internal::CellSizeFor(sizeof(Key)) == 16);

// BM_EphemeronChain's value: the link to the next key. A 24-byte cell.
class ChainValue final : public gclab::GarbageCollected<ChainValue> {
 public:
  ChainValue(int64_t id, const Local<Key>& next) noexcept : next(next), id(id) {}
  void Trace(gclab::Visitor& visitor) const { visitor.Trace(next); }
  Member<Key> next;
  int64_t id;
};
static_assert(gclab::internal::CellSizeFor(sizeof(ChainValue)) == 24);

using ChainMap = gclab::WeakMap<Key, ChainValue>;

// Whippet's Box: one reference. A 16-byte cell.
class Box final : public gclab::GarbageCollected<Box> {
 public:
  explicit Box(const Local<Key>& obj) noexcept : obj(obj) {}
  void Trace(gclab::Visitor& visitor) const { visitor.Trace(obj); }
  Member<Key> obj;
};

using WhippetPair = gclab::EphemeronPair<Key, Box>;

// A cell of the strong list that holds the pairs (Whippet's ephemeron chain link).
class Link final : public gclab::GarbageCollected<Link> {
 public:
  Link(const Local<WhippetPair>& ephemeron, const Local<Link>& next) noexcept
      : ephemeron(ephemeron), next(next) {}
  void Trace(gclab::Visitor& visitor) const {
    visitor.Trace(ephemeron);
    visitor.Trace(next);
  }
  Member<WhippetPair> ephemeron;
  Member<Link> next;
};

// Roots for many keys: an array of Members in one heap object.
class KeyArray final : public gclab::GarbageCollected<KeyArray> {
 public:
  void Trace(gclab::Visitor& visitor) const { visitor.Trace(items); }
  gclab::HeapVector<Member<Key>> items;
};

// ---------------------------------------------------------------------------------
// BM_EphemeronChain

void PublishCycle(benchmark::State& state, const gclab::CycleStatistics& cycle) {
  state.counters["mark_ms"] = ToMs(cycle.phases[Phase::kMark] + cycle.phases[Phase::kWeak] +
                                   cycle.phases[Phase::kFinalize]);
  state.counters["clear_weak_ms"] = ToMs(cycle.phases[Phase::kClearWeak]);
  state.counters["pause_ms"] = ToMs(cycle.pause);
  state.counters["ephemeron_passes"] = static_cast<double>(cycle.ephemeron_passes);
  state.counters["ephemerons_resolved"] = static_cast<double>(cycle.ephemerons_resolved);
}

// Walks the chain from `key` with Get; returns the number of keys reached, or -1 if
// a value is missing or the keys are not K_0, K_1, ... in order.
int64_t WalkChainMap(const ChainMap& map, Key* key, int64_t limit) {
  int64_t length = 0;
  while (key != nullptr) {
    if (key->id != length || length >= limit) return -1;
    ChainValue* value = map.Get(key);
    if (value == nullptr || value->id != length) return -1;
    ++length;
    key = value->next.Get();
  }
  return length;
}

void BM_EphemeronChain(benchmark::State& state, CollectorKind kind,
                       EphemeronAlgorithm algorithm) {
  const int64_t n = state.range(0);
  // Collect only when asked: the timed collection is the only one that sees the chain.
  auto policy = gclab::FixedBudgetPolicy::Create(kBigHeapLimit);
  auto heap_or = CreateHeap(kind, kBigHeapLimit, algorithm,
                            policy.ok() ? *policy : nullptr);
  if (!heap_or.ok()) {
    state.SkipWithError(std::string(heap_or.status().message()).c_str());
    return;
  }
  Heap& heap = **heap_or;
  HandleScope scope(heap);
  const double rss_start_mb = CurrentRssMb();

  // Warm the heap: fault in as much memory as the chain needs, and collect it, so
  // that the timed collection copies (semispace) or marks (mark-sweep) into memory
  // that has been touched before, as in a heap that has been running for a while.
  for (int64_t i = 0; i < n; ++i) {
    benchmark::DoNotOptimize(heap.NewRaw<Key>(i));
    benchmark::DoNotOptimize(heap.NewRaw<ChainValue>(i, Local<Key>()));
  }
  heap.CollectGarbage();

  // Build: entries inserted from K_{N-1} down to K_0, the worst order for the naive
  // scan. `head` roots the newest key; the older ones are alive through the table.
  Local<ChainMap> map = ChainMap::New(heap);
  Persistent<Key> head;
  for (int64_t i = n - 1; i >= 0; --i) {
    HandleScope step(heap);
    Local<Key> next(heap, head.Get());  // K_{i+1}, or null
    Local<Key> key = heap.New<Key>(i);
    Local<ChainValue> value = heap.New<ChainValue>(i, next);
    if (absl::Status s = map->Set(key.Get(), value.Get()); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    head.Set(heap, key.Get());
  }
  if (map->size() != static_cast<size_t>(n)) {
    state.SkipWithError("the table does not hold N entries after the build");
    return;
  }

  ResetPeakRss();
  double collect_ms = 0;
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    heap.CollectGarbage();
    collect_ms = MsSince(start);
  }
  const double peak_rss_mb = PeakRssMb();

  const gclab::CycleStatistics cycle = heap.stats().last_cycle;
  const size_t size = map->size();
  const int64_t length = WalkChainMap(*map, head.Get(), n);
  if (size != static_cast<size_t>(n) || length != n) {
    state.SkipWithError(
        absl::StrCat("after the collection the table holds ", size, " entries and the chain has ",
                     length, " keys (-1: broken); expected ", n)
            .c_str());
    return;
  }
  if (cycle.ephemerons_resolved != static_cast<size_t>(n)) {
    state.SkipWithError(absl::StrCat("ephemerons_resolved is ", cycle.ephemerons_resolved,
                                     ", expected ", n)
                            .c_str());
    return;
  }
  state.counters["ns_per_link"] = collect_ms * 1e6 / static_cast<double>(n);
  PublishCycle(state, cycle);
  state.counters["peak_rss_mb"] = peak_rss_mb;
  state.counters["rss_start_mb"] = rss_start_mb;
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(absl::StrCat("N=", n));
  RecordAndCompare(state, absl::StrCat("BM_EphemeronChain/", n),
                   std::string(gclab::CollectorName(kind)), collect_ms / 1e3);
}

// ---------------------------------------------------------------------------------
// BM_WhippetEphemerons

struct WalkResult {
  int64_t length = 0;  // pairs whose key is alive, each the key the previous value led to
  int64_t dead = 0;    // pairs whose key died (both fields must read null)
  std::string error;
};

// Whippet's ephemeron_chain_length: from the head key, each live pair's key must be the
// expected one, and its value (a Box) leads to the next expected key.
WalkResult WalkWhippetChain(Link* link, Key* key) {
  WalkResult r;
  for (; link != nullptr; link = link->next.Get()) {
    WhippetPair* pair = link->ephemeron.Get();
    Key* k = pair->key();
    if (k == nullptr) {
      ++r.dead;
      if (pair->value() != nullptr && r.error.empty()) {
        r.error = "a pair whose key died still has a value";
      }
      continue;
    }
    if (k != key) {
      if (r.error.empty()) r.error = absl::StrCat("link ", r.length + r.dead, ": unexpected key");
      continue;
    }
    Box* box = pair->value();
    if (box == nullptr || box->obj.Get() == nullptr) {
      if (r.error.empty()) r.error = "a live pair has no value";
      continue;
    }
    key = box->obj.Get();
    ++r.length;
  }
  return r;
}

// A full collection, as a host asks for one: in one pause, or on a collector that
// marks incrementally, a cycle of its own driven by Heap::Step in 1 ms slices, as
// idle time would drive it (a cycle the allocation budget started is stepped to its
// end first, so that the new one starts after the caller's last change). Returns the cycle's
// final pause (its only pause on an atomic collector), from the pause log.
absl::Duration CollectFully(Heap& heap) {
  if (!heap.capabilities().incremental) {
    heap.CollectGarbage();
    return heap.stats().last_cycle.pause;
  }
  while (heap.IncrementalCollectionInProgress()) heap.Step(absl::Milliseconds(1));
  if (absl::Status s = heap.StartIncrementalCollection(); !s.ok()) {
    std::fprintf(stderr, "StartIncrementalCollection: %s\n", std::string(s.message()).c_str());
    std::abort();
  }
  while (heap.IncrementalCollectionInProgress()) heap.Step(absl::Milliseconds(1));
  absl::Span<const gclab::Pause> pauses = heap.pauses();
  for (size_t i = pauses.size(); i-- > 0;) {
    if (pauses[i].kind == gclab::PauseKind::kFinal) return pauses[i].duration;
  }
  return absl::ZeroDuration();
}

void BM_WhippetEphemerons(benchmark::State& state, CollectorKind kind, int64_t n) {
  // Default trigger policy; the pause log for the final pauses of incremental cycles.
  auto heap_or = CreateHeap(kind, kBigHeapLimit, EphemeronAlgorithm::kIndexed, nullptr,
                            /*record_pauses=*/true);
  if (!heap_or.ok()) {
    state.SkipWithError(std::string(heap_or.status().message()).c_str());
    return;
  }
  Heap& heap = **heap_or;
  const double rss_start_mb = CurrentRssMb();
  ResetPeakRss();
  Persistent<Key> head_key;
  Persistent<Link> head;
  double build_ms = 0, gc_live_ms = 0, gc_dead_ms = 0, walk_ms = 0;
  absl::Duration final_live, final_dead;
  WalkResult built, live, dead;
  gclab::CycleStatistics live_cycle, dead_cycle;
  for (auto _ : state) {
    Clock::time_point t = Clock::now();
    head_key.Set(heap, nullptr);
    head.Set(heap, nullptr);
    {
      HandleScope scope(heap);
      head_key.Set(heap, heap.New<Key>(0).Get());
    }
    for (int64_t i = 0; i < n; ++i) {
      HandleScope scope(heap);
      Local<Key> previous_key(heap, head_key.Get());
      Local<Link> previous_link(heap, head.Get());
      Local<Box> box = heap.New<Box>(previous_key);
      Local<Key> key = heap.New<Key>(i + 1);
      auto pair = WhippetPair::Create(heap, key, box);
      if (!pair.ok()) {
        state.SkipWithError(std::string(pair.status().message()).c_str());
        return;
      }
      Local<Link> link = heap.New<Link>(*pair, previous_link);
      head_key.Set(heap, key.Get());
      head.Set(heap, link.Get());
    }
    build_ms = MsSince(t);

    t = Clock::now();
    built = WalkWhippetChain(head.Get(), head_key.Get());
    walk_ms = MsSince(t);

    t = Clock::now();
    final_live = CollectFully(heap);
    gc_live_ms = MsSince(t);
    live_cycle = heap.stats().last_cycle;

    t = Clock::now();
    live = WalkWhippetChain(head.Get(), head_key.Get());
    walk_ms += MsSince(t);

    head_key.Reset();
    t = Clock::now();
    final_dead = CollectFully(heap);
    gc_dead_ms = MsSince(t);
    dead_cycle = heap.stats().last_cycle;

    t = Clock::now();
    dead = WalkWhippetChain(head.Get(), nullptr);
    walk_ms += MsSince(t);
  }
  const double peak_rss_mb = PeakRssMb();
  const gclab::HeapStatistics& stats = heap.stats();

  auto check = [&](const WalkResult& r, const char* when, int64_t want_length) {
    if (!r.error.empty()) return absl::StrCat(when, ": ", r.error);
    if (r.length != want_length || r.length + r.dead != n) {
      return absl::StrCat(when, ": chain length ", r.length, " (", r.dead,
                          " dead pairs), expected ", want_length, " of ", n);
    }
    return std::string();
  };
  for (std::string error : {check(built, "after the build", n),
                            check(live, "after collecting with the head key", n),
                            check(dead, "after dropping the head key", 0)}) {
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  state.counters["build_ms"] = build_ms;
  state.counters["gc_live_ms"] = gc_live_ms;
  state.counters["gc_dead_ms"] = gc_dead_ms;
  state.counters["walk_ms"] = walk_ms;
  state.counters["collections"] = static_cast<double>(stats.collections);
  state.counters["pause_ms"] = ToMs(stats.total_pause);
  state.counters["max_pause_ms"] = ToMs(stats.max_pause);
  state.counters["ephemerons_resolved"] = static_cast<double>(live_cycle.ephemerons_resolved);
  state.counters["final_pause_live_ms"] = ToMs(final_live);
  state.counters["final_pause_dead_ms"] = ToMs(final_dead);
  state.counters["clear_weak_live_ms"] = ToMs(live_cycle.phases[Phase::kClearWeak]);
  state.counters["clear_weak_dead_ms"] = ToMs(dead_cycle.phases[Phase::kClearWeak]);
  state.counters["peak_rss_mb"] = peak_rss_mb;
  state.counters["rss_start_mb"] = rss_start_mb;
  state.counters["links_alive_after_drop"] = static_cast<double>(dead.length);
  state.SetLabel(absl::StrCat("N=", n));
  RecordAndCompare(state, "BM_WhippetEphemerons", std::string(gclab::CollectorName(kind)),
                   (build_ms + gc_live_ms + gc_dead_ms + walk_ms) / 1e3);
}

// The same chain with std::shared_ptr, as a careful C++ programmer writes a
// weak-keyed table without ephemerons: entry i holds key i through a weak_ptr and its
// value through a shared_ptr, and each key's deleter queues its entry for removal.
// Dropping the head key frees its entry's value, which frees the next key, and so on:
// the queue turns the cascade into a loop (a recursive one would overflow the stack
// at this length). (Purging expired entries pass after pass instead is quadratic on
// this chain: 53 s for 200,000 links, measured.) Timed like the gclab run: build,
// walk, walk, drop the head key and drain the queue, count what is left.
struct SpKey {
  int64_t id;
};
struct SpBox {
  std::shared_ptr<SpKey> previous;  // strong: what makes the chain a chain
};
struct SpEntry {
  std::weak_ptr<SpKey> key;
  std::shared_ptr<SpBox> value;
};

// Walks from the head key through the table: key k is entry k - 1's key.
int64_t WalkSharedChain(const std::vector<SpEntry>& table, std::shared_ptr<SpKey> key) {
  int64_t length = 0;
  while (key != nullptr && key->id >= 1 && static_cast<size_t>(key->id) <= table.size()) {
    const SpEntry& e = table[static_cast<size_t>(key->id - 1)];
    if (e.key.lock() != key || e.value == nullptr) break;
    ++length;
    key = e.value->previous;
  }
  return length;
}

void BM_WhippetEphemeronsSharedPtr(benchmark::State& state, int64_t n) {
  const double rss_start_mb = CurrentRssMb();
  ResetPeakRss();
  double total_ms = 0;
  int64_t built = 0, live = 0, left = 0;
  for (auto _ : state) {
    Clock::time_point t = Clock::now();
    std::vector<SpEntry> table;
    table.reserve(static_cast<size_t>(n));
    std::vector<int64_t> dead;  // ids of keys whose deleter ran
    auto make_key = [&dead](int64_t id) {
      return std::shared_ptr<SpKey>(new SpKey{id}, [&dead](SpKey* k) {
        dead.push_back(k->id);
        delete k;
      });
    };
    std::shared_ptr<SpKey> head_key = make_key(0);
    for (int64_t i = 0; i < n; ++i) {
      auto box = std::make_shared<SpBox>(SpBox{head_key});
      auto key = make_key(i + 1);
      table.push_back({key, box});
      head_key = std::move(key);
    }
    built = WalkSharedChain(table, head_key);
    live = WalkSharedChain(table, head_key);
    head_key.reset();
    while (!dead.empty()) {
      const int64_t id = dead.back();
      dead.pop_back();
      if (id >= 1) table[static_cast<size_t>(id - 1)].value.reset();  // may queue id - 1
    }
    left = 0;
    for (const SpEntry& e : table) left += e.value != nullptr;
    total_ms = MsSince(t);
  }
  if (built != n || live != n || left != 0) {
    state.SkipWithError(absl::StrCat("shared_ptr chain: built ", built, ", live ", live,
                                     ", entries left after the drop ", left)
                            .c_str());
    return;
  }
  state.counters["links_alive_after_drop"] = static_cast<double>(left);
  state.counters["peak_rss_mb"] = PeakRssMb();
  state.counters["rss_start_mb"] = rss_start_mb;
  state.SetLabel(absl::StrCat("N=", n));
  RecordAndCompare(state, "BM_WhippetEphemerons", "shared_ptr", total_ms / 1e3);
}

// Boehm GC has disappearing links but no ephemerons. The table's entries hold the key
// through a disappearing link and the value strongly, so value i keeps key i+1
// alive: after the head key is dropped and the heap collected, the rest of the chain
// stays. Measured: the links still alive after one collection (and the time).
struct BoehmKey {
  int64_t id;
};
struct BoehmBox {
  BoehmKey* previous;
};
struct BoehmEntry {
  GC_hidden_pointer key;  // a disappearing link: cleared when the key dies
  BoehmBox* value;
};
BoehmEntry* boehm_table = nullptr;  // static root
BoehmKey* boehm_head_key = nullptr;

__attribute__((noinline)) void BuildBoehmChain(int64_t n) {
  boehm_table = static_cast<BoehmEntry*>(GC_MALLOC(sizeof(BoehmEntry) * static_cast<size_t>(n)));
  boehm_head_key = static_cast<BoehmKey*>(GC_MALLOC_ATOMIC(sizeof(BoehmKey)));
  boehm_head_key->id = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto* box = static_cast<BoehmBox*>(GC_MALLOC(sizeof(BoehmBox)));
    box->previous = boehm_head_key;
    auto* key = static_cast<BoehmKey*>(GC_MALLOC_ATOMIC(sizeof(BoehmKey)));
    key->id = i + 1;
    BoehmEntry& e = boehm_table[i];
    e.key = GC_HIDE_POINTER(key);
    e.value = box;
    GC_general_register_disappearing_link(reinterpret_cast<void**>(&e.key), key);
    boehm_head_key = key;
  }
}

int64_t BoehmLiveLinks(int64_t n) {
  int64_t alive = 0;
  for (int64_t i = 0; i < n; ++i) alive += boehm_table[i].key != 0;
  return alive;
}

// BM_EphemeronChain/boehm: the same adversarial chain in Boehm's heap (entries built
// from K_{N-1} down to K_0, key through a disappearing link, value strongly), and one
// timed GC_gcollect(). Boehm has no ephemerons: it marks the values as ordinary
// references, so this is what one collection over the same live graph costs there.
__attribute__((noinline)) void BuildBoehmAdversarialChain(int64_t n) {
  boehm_table = static_cast<BoehmEntry*>(GC_MALLOC(sizeof(BoehmEntry) * static_cast<size_t>(n)));
  BoehmKey* next = nullptr;
  for (int64_t i = n - 1; i >= 0; --i) {
    auto* box = static_cast<BoehmBox*>(GC_MALLOC(sizeof(BoehmBox)));
    box->previous = next;  // value i leads to key i + 1
    auto* key = static_cast<BoehmKey*>(GC_MALLOC_ATOMIC(sizeof(BoehmKey)));
    key->id = i;
    BoehmEntry& e = boehm_table[n - 1 - i];
    e.key = GC_HIDE_POINTER(key);
    e.value = box;
    GC_general_register_disappearing_link(reinterpret_cast<void**>(&e.key), key);
    next = key;
  }
  boehm_head_key = next;  // K_0
}

void BM_EphemeronChainBoehm(benchmark::State& state) {
  const int64_t n = state.range(0);
  GC_gcollect_and_unmap();
  const double rss_start_mb = CurrentRssMb();
  BuildBoehmAdversarialChain(n);
  ClearStack();
  GC_gcollect();  // warm, as the gclab heap is
  ResetPeakRss();
  double collect_ms = 0;
  for (auto _ : state) {
    const Clock::time_point start = Clock::now();
    GC_gcollect();
    collect_ms = MsSince(start);
  }
  const int64_t live = BoehmLiveLinks(n);
  state.counters["peak_rss_mb"] = PeakRssMb();
  state.counters["rss_start_mb"] = rss_start_mb;
  boehm_table = nullptr;
  boehm_head_key = nullptr;
  GC_gcollect_and_unmap();
  if (live != n) {
    state.SkipWithError(absl::StrCat("Boehm chain: ", live, " of ", n, " keys alive").c_str());
    return;
  }
  state.counters["ns_per_link"] = collect_ms * 1e6 / static_cast<double>(n);
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(absl::StrCat("N=", n));
  RecordAndCompare(state, absl::StrCat("BM_EphemeronChain/", n), "boehm", collect_ms / 1e3);
}

void BM_WhippetEphemeronsBoehm(benchmark::State& state, int64_t n) {
  GC_gcollect_and_unmap();
  const double rss_start_mb = CurrentRssMb();
  ResetPeakRss();
  double total_ms = 0;
  int64_t live = 0, after_drop = 0;
  for (auto _ : state) {
    Clock::time_point t = Clock::now();
    BuildBoehmChain(n);
    ClearStack();
    GC_gcollect();
    live = BoehmLiveLinks(n);
    boehm_head_key = nullptr;
    ClearStack();
    GC_gcollect();
    after_drop = BoehmLiveLinks(n);
    total_ms = MsSince(t);
    boehm_table = nullptr;
  }
  GC_gcollect_and_unmap();
  state.counters["links_alive_after_drop"] = static_cast<double>(after_drop);
  state.counters["peak_rss_mb"] = PeakRssMb();
  state.counters["rss_start_mb"] = rss_start_mb;
  if (live != n) {
    state.SkipWithError(absl::StrCat("Boehm chain: ", live, " of ", n, " links alive").c_str());
    return;
  }
  state.SetLabel(absl::StrCat("N=", n, "; no ephemerons: ", after_drop,
                              " links survive the drop"));
  RecordAndCompare(state, "BM_WhippetEphemerons", "boehm", total_ms / 1e3);
}

// ---------------------------------------------------------------------------------
// BM_WeakRefChurn

// 16 bytes of payload, like gc_benchmarks' Small: a 24-byte cell.
class Small final : public gclab::GarbageCollected<Small> {
 public:
  explicit Small(int64_t v) noexcept : a(v), b(v + 1) {}
  void Trace(gclab::Visitor&) const {}
  int64_t a;
  int64_t b;
};

void BM_WeakRefChurnGclab(benchmark::State& state, CollectorKind kind) {
  auto heap_or = CreateHeap(kind, kChurnHeapLimit);
  if (!heap_or.ok()) {
    state.SkipWithError(std::string(heap_or.status().message()).c_str());
    return;
  }
  Heap& heap = **heap_or;
  int64_t missing = 0;
  const Clock::time_point start = Clock::now();
  for (auto _ : state) {
    for (int64_t i = 0; i < kChurnJob; ++i) {
      HandleScope scope(heap);
      Local<Small> target = heap.New<Small>(i);
      auto ref = gclab::WeakRef<Small>::Create(heap, target);
      if (!ref.ok()) {
        state.SkipWithError(std::string(ref.status().message()).c_str());
        return;
      }
      Small* got = (*ref)->Deref();
      missing += got == nullptr;  // kept for the job: never null
      benchmark::DoNotOptimize(got);
    }
    heap.ClearKeptObjects();  // the job ends; the targets are garbage now
  }
  if (missing != 0) {
    state.SkipWithError(absl::StrCat(missing, " Deref() calls returned null").c_str());
    return;
  }
  // Per iteration (per job of kChurnJob WeakRefs), as gc_benchmarks' Meter does.
  const gclab::HeapStatistics& stats = heap.stats();
  state.counters["collections"] = benchmark::Counter(static_cast<double>(stats.collections),
                                                     benchmark::Counter::kAvgIterations);
  state.counters["pause_ms"] =
      benchmark::Counter(ToMs(stats.total_pause), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(state.iterations() * kChurnJob);
  RecordAndCompare(state, "BM_WeakRefChurn", std::string(gclab::CollectorName(kind)),
                   MsSince(start) / 1e3 / static_cast<double>(state.iterations()));
}

struct PlainSmall {
  explicit PlainSmall(int64_t v) : a(v), b(v + 1) {}
  int64_t a;
  int64_t b;
};

void BM_WeakRefChurnSharedPtr(benchmark::State& state) {
  int64_t missing = 0;
  const Clock::time_point start = Clock::now();
  for (auto _ : state) {
    for (int64_t i = 0; i < kChurnJob; ++i) {
      std::shared_ptr<PlainSmall> target = std::make_shared<PlainSmall>(i);
      std::weak_ptr<PlainSmall> ref = target;
      std::shared_ptr<PlainSmall> got = ref.lock();
      missing += got == nullptr;
      benchmark::DoNotOptimize(got.get());
    }
  }
  if (missing != 0) {
    state.SkipWithError(absl::StrCat(missing, " lock() calls returned null").c_str());
    return;
  }
  state.SetItemsProcessed(state.iterations() * kChurnJob);
  RecordAndCompare(state, "BM_WeakRefChurn", "shared_ptr",
                   MsSince(start) / 1e3 / static_cast<double>(state.iterations()));
}

// Boehm GC's weak references: a disappearing link (a hidden pointer in a GC_MALLOC'ed
// cell, registered with GC_general_register_disappearing_link) to a GC_MALLOC'ed
// target; "deref" reveals the pointer. Both become garbage at once.
void BM_WeakRefChurnBoehm(benchmark::State& state) {
  GC_gcollect_and_unmap();
  int64_t missing = 0;
  const GC_word collections = GC_get_gc_no();
  const Clock::time_point start = Clock::now();
  for (auto _ : state) {
    for (int64_t i = 0; i < kChurnJob; ++i) {
      auto* target = static_cast<PlainSmall*>(GC_MALLOC(sizeof(PlainSmall)));
      target->a = i;
      target->b = i + 1;
      auto* link = static_cast<GC_hidden_pointer*>(GC_MALLOC_ATOMIC(sizeof(GC_hidden_pointer)));
      *link = GC_HIDE_POINTER(target);
      GC_general_register_disappearing_link(reinterpret_cast<void**>(link), target);
      auto* got = static_cast<PlainSmall*>(GC_REVEAL_POINTER(*link));
      missing += got == nullptr;
      benchmark::DoNotOptimize(got);
    }
  }
  const double seconds = MsSince(start) / 1e3;
  if (missing != 0) {
    state.SkipWithError(absl::StrCat(missing, " links read null").c_str());
    return;
  }
  state.counters["collections"] = benchmark::Counter(
      static_cast<double>(GC_get_gc_no() - collections), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(state.iterations() * kChurnJob);
  RecordAndCompare(state, "BM_WeakRefChurn", "boehm",
                   seconds / static_cast<double>(state.iterations()));
  GC_gcollect_and_unmap();
}

// ---------------------------------------------------------------------------------
// BM_WeakMapSetGet

using SetGetMap = gclab::WeakMap<Key, Key>;

void PublishSetGet(benchmark::State& state, int64_t n, double set_ms, double get_ms) {
  const double calls = static_cast<double>(state.iterations()) * static_cast<double>(n);
  if (calls > 0) {
    state.counters["set_ns"] = set_ms * 1e6 / calls;
    state.counters["get_ns"] = get_ms * 1e6 / calls;
  }
  state.SetItemsProcessed(state.iterations() * 2 * n);
  state.SetLabel(absl::StrCat("N=", n));
}

void BM_WeakMapSetGetGclab(benchmark::State& state, CollectorKind kind, int64_t n) {
  auto heap_or = CreateHeap(kind, kSetGetHeapLimit);
  if (!heap_or.ok()) {
    state.SkipWithError(std::string(heap_or.status().message()).c_str());
    return;
  }
  Heap& heap = **heap_or;
  HandleScope scope(heap);
  Local<KeyArray> keys = heap.New<KeyArray>();
  Local<KeyArray> values = heap.New<KeyArray>();
  if (!keys->items.TryReserve(static_cast<size_t>(n)) ||
      !values->items.TryReserve(static_cast<size_t>(n))) {
    state.SkipWithError("no room in the heap for the keys' lists");
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    HandleScope step(heap);
    Local<Key> key = heap.New<Key>(i);
    Local<Key> value = heap.New<Key>(-i);
    keys->items.push_back(key);
    values->items.push_back(value);
  }
  heap.CollectGarbage();  // a settled heap; nothing allocates in the timed region

  double set_ms = 0, get_ms = 0;
  int64_t wrong = 0;
  for (auto _ : state) {
    {
      HandleScope iteration(heap);
      Local<SetGetMap> map = SetGetMap::New(heap);
      // Nothing below allocates in the heap: raw pointers stay valid.
      SetGetMap* m = map.Get();
      const gclab::HeapVector<Member<Key>>& k = keys->items;
      const gclab::HeapVector<Member<Key>>& v = values->items;
      Clock::time_point t = Clock::now();
      for (int64_t i = 0; i < n; ++i) {
        if (!m->Set(k[i].Get(), v[i].Get()).ok()) ++wrong;
      }
      set_ms += MsSince(t);
      t = Clock::now();
      for (int64_t i = 0; i < n; ++i) wrong += m->Get(k[i].Get()) != v[i].Get();
      get_ms += MsSince(t);
      state.PauseTiming();
      wrong += m->size() != static_cast<size_t>(n);
    }
    // The map is garbage: collecting frees its entry arrays, which are malloc'ed and
    // do not count toward the heap's budget (so no collection would come by itself).
    heap.CollectGarbage();
    state.ResumeTiming();
  }
  if (wrong != 0) {
    state.SkipWithError(absl::StrCat(wrong, " Set/Get calls failed or returned the wrong value")
                            .c_str());
    return;
  }
  PublishSetGet(state, n, set_ms, get_ms);
}

void BM_WeakMapSetGetFlatHashMap(benchmark::State& state, int64_t n) {
  std::vector<std::unique_ptr<PlainSmall>> keys, values;
  for (int64_t i = 0; i < n; ++i) {
    keys.push_back(std::make_unique<PlainSmall>(i));
    values.push_back(std::make_unique<PlainSmall>(-i));
  }
  double set_ms = 0, get_ms = 0;
  int64_t wrong = 0;
  for (auto _ : state) {
    {
      absl::flat_hash_map<const void*, void*> map;
      Clock::time_point t = Clock::now();
      for (int64_t i = 0; i < n; ++i) map.insert_or_assign(keys[i].get(), values[i].get());
      set_ms += MsSince(t);
      t = Clock::now();
      for (int64_t i = 0; i < n; ++i) {
        auto it = map.find(keys[i].get());
        void* got = it == map.end() ? nullptr : it->second;
        wrong += got != values[i].get();
      }
      get_ms += MsSince(t);
      state.PauseTiming();
      wrong += map.size() != static_cast<size_t>(n);
    }  // the map is destroyed untimed, as the WeakMap is collected untimed
    state.ResumeTiming();
  }
  if (wrong != 0) {
    state.SkipWithError(absl::StrCat(wrong, " lookups returned the wrong value").c_str());
    return;
  }
  PublishSetGet(state, n, set_ms, get_ms);
}

// ---------------------------------------------------------------------------------
// Flags, registration and main.

[[noreturn]] void Usage(std::string_view source, std::string_view text, std::string_view want) {
  std::fprintf(stderr, "weak_benchmarks: %.*s must be %.*s, got \"%.*s\"\n",
               static_cast<int>(source.size()), source.data(), static_cast<int>(want.size()),
               want.data(), static_cast<int>(text.size()), text.data());
  std::exit(2);
}

int64_t ParseCount(std::string_view source, std::string_view text) {
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(copy.c_str(), &end, 10);
  if (copy.empty() || errno != 0 || *end != '\0' || value < 1 || value > 100'000'000) {
    Usage(source, text, "an integer from 1 to 100000000");
  }
  return static_cast<int64_t>(value);
}

// A comma-separated list of counts; "" is an empty list (none of this kind).
std::vector<int64_t> ParseSizes(std::string_view source, std::string_view text) {
  std::vector<int64_t> sizes;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    sizes.push_back(ParseCount(source, text.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) Usage(source, "", "a count after the last comma");
  }
  return sizes;
}

// --name=value flags (removed from argv) override the environment variables; both
// override the defaults.
Config ParseConfig(int* argc, char** argv) {
  struct Option {
    const char* flag;
    const char* env;
    bool list;
    void* target;
  };
  Config config;
  const Option options[] = {
      {"--chain_sizes=", "GCLAB_CHAIN_SIZES", true, &config.chain_sizes},
      {"--naive_chain_sizes=", "GCLAB_NAIVE_CHAIN_SIZES", true, &config.naive_chain_sizes},
      {"--whippet_length=", "GCLAB_WHIPPET_LENGTH", false, &config.whippet_length},
      {"--weakmap_keys=", "GCLAB_WEAKMAP_KEYS", false, &config.weakmap_keys},
  };
  auto apply = [](const Option& o, std::string_view source, std::string_view text) {
    if (o.list) {
      *static_cast<std::vector<int64_t>*>(o.target) = ParseSizes(source, text);
    } else {
      *static_cast<int64_t*>(o.target) = ParseCount(source, text);
    }
  };
  for (const Option& o : options) {
    if (const char* text = std::getenv(o.env); text != nullptr) apply(o, o.env, text);
  }
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string_view arg = argv[i];
    bool used = false;
    for (const Option& o : options) {
      std::string_view flag = o.flag;
      if (arg.substr(0, flag.size()) == flag) {
        apply(o, flag.substr(0, flag.size() - 1), arg.substr(flag.size()));
        used = true;
      }
    }
    if (!used) argv[kept++] = argv[i];
  }
  *argc = kept;
  argv[kept] = nullptr;
  return config;
}

void RegisterBenchmarks(const Config& config) {
  // Baselines first in each family: the gclab runs report their ratios to them.
  if (!config.chain_sizes.empty()) {
    auto* b = benchmark::RegisterBenchmark("BM_EphemeronChain/boehm", BM_EphemeronChainBoehm);
    for (int64_t n : config.chain_sizes) b->Arg(n);
    b->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
  }
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string collector(gclab::CollectorName(kind));
    for (EphemeronAlgorithm algorithm :
         {EphemeronAlgorithm::kIndexed, EphemeronAlgorithm::kNaiveFixpoint}) {
      const std::vector<int64_t>& sizes = algorithm == EphemeronAlgorithm::kIndexed
                                              ? config.chain_sizes
                                              : config.naive_chain_sizes;
      if (sizes.empty()) continue;
      const std::string name =
          "BM_EphemeronChain/" + collector + "/" + AlgorithmName(algorithm);
      auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_EphemeronChain, kind, algorithm);
      for (int64_t n : sizes) b->Arg(n);
      b->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
    }
  }
  // Baselines first in each family: the gclab runs report their ratios to them.
  benchmark::RegisterBenchmark("BM_WhippetEphemerons/shared_ptr", BM_WhippetEphemeronsSharedPtr,
                               config.whippet_length)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_WhippetEphemerons/boehm", BM_WhippetEphemeronsBoehm,
                               config.whippet_length)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1)
      ->UseRealTime();
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_WhippetEphemerons/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_WhippetEphemerons, kind,
                                 config.whippet_length)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_WeakRefChurn/shared_ptr", BM_WeakRefChurnSharedPtr)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_WeakRefChurn/boehm", BM_WeakRefChurnBoehm)
      ->Unit(benchmark::kMicrosecond);
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_WeakRefChurn/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_WeakRefChurnGclab, kind)
        ->Unit(benchmark::kMicrosecond);
  }
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_WeakMapSetGet/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_WeakMapSetGetGclab, kind, config.weakmap_keys)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("BM_WeakMapSetGet/flat_hash_map", BM_WeakMapSetGetFlatHashMap,
                               config.weakmap_keys)
      ->Unit(benchmark::kMillisecond);
}

std::string JoinSizes(const std::vector<int64_t>& sizes) {
  return sizes.empty() ? "none" : absl::StrJoin(sizes, ",");
}

}  // namespace
}  // namespace gclab_bench

int main(int argc, char** argv) {
  GC_INIT();
  const gclab_bench::Config config = gclab_bench::ParseConfig(&argc, argv);
  gclab_bench::RegisterBenchmarks(config);
  benchmark::AddCustomContext("chain_sizes", gclab_bench::JoinSizes(config.chain_sizes));
  benchmark::AddCustomContext("naive_chain_sizes",
                              gclab_bench::JoinSizes(config.naive_chain_sizes));
  benchmark::AddCustomContext("whippet_length", std::to_string(config.whippet_length));
  benchmark::AddCustomContext("weakmap_keys", std::to_string(config.weakmap_keys));
  gclab_bench::AddCollectorOptionsContext();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
