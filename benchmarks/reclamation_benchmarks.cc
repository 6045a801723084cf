// gclab's main benchmark: reclaiming large linear memories (WebAssembly-style), per
// collector and policy, beside the manual-free ideal. The first seed's story as a
// measurement: instances own big memories, the program keeps a few and drops the rest,
// and only the collector can give the dropped ones back.
//
//   BM_Reclaim/<collector>/<policy>/<M>MiB       and   BM_Reclaim/manual-free/<M>MiB
//       N times: instantiate an Instance with one memory of M MiB (all of it committed,
//       as an engine commits a memory's initial pages), touch the first fraction F of
//       its pages (one write per 4 KiB page), store it in a ring of K live instances,
//       dropping the one it replaces. Then drop all K and collect once. Timed: the N
//       iterations (instances_per_s); the final drop and collection are reported
//       separately (return_ms).
//       Policies:
//         naive       the heap is not told about the memories
//                     (HeapOptions::external_memory_triggers_collection = false):
//                     only the tiny heap objects count, so nothing is collected during
//                     the run and every memory stays resident until the end
//         accounting  committed bytes are external memory (the default); dead memories
//                     are unmapped by the collections it starts
//         pooled      accounting, and ReleaseStrategy::kPool: dead memories' pages are
//                     dropped with MADV_DONTNEED and their reservations reused
//       manual-free: the same loop with mmap/mprotect/munmap by hand, unmapping each
//       memory at the moment it is dropped: the physical reference.
//   BM_Exhaustion/<collector>/<naive|collect-and-retry>
//       Instantiate-and-drop instances of one page with default 10 GiB reservations
//       (8 GiB + 2 GiB guard) until R instances have been made, never keeping more than
//       one alive. Without accounting, nothing but address-space exhaustion can start a
//       collection: the naive engine fails with ResourceExhausted at the first refused
//       reservation; collect-and-retry collects and goes on. R and the limit: see
//       --exhaustion_instances and --exhaustion_budget_gib below.
//
// Counters (BM_Reclaim):
//   instances_per_s     iterations / loop time
//   pause_ms            the collections' pauses within the loop (the sweep's munmaps
//                       included)
//   ideal_mb            (K + 1) * M * F: the live memories plus the one being made
//   peak_mb             peak resident set above what the run started with, sampled
//                       after each touch (VmRSS, benchmarks/rss.h)
//   rss_ratio           peak_mb / ideal_mb
//   peak_reservations   address-space reservations held at once
//   collections         collections during the run
//   lag_iters           median number of iterations from a memory's drop to its pages
//                       going back to the OS (0: in the same iteration)
//   return_ms           from the final drop of all K to all their pages being back
//                       (one explicit collection included; manual-free: K munmaps)
//   release_gib_s       touched GiB returned per second of munmap (or madvise) time
//   resident_after_mb   resident set above the start after the final collection
//
// Flags (removed from argv before Google Benchmark sees it), or environment variables:
//   --sizes_mib=64,256,1024   GCLAB_RECLAIM_SIZES_MIB
//   --touch=0.25              GCLAB_RECLAIM_TOUCH      fraction F of pages touched
//   --live=4                  GCLAB_RECLAIM_LIVE       K
//   --iterations=N            GCLAB_RECLAIM_ITERATIONS N; by default 24 * sqrt(1024 / M):
//                             24 at 1 GiB, 48 at 256 MiB, 96 at 64 MiB
//   --exhaustion_instances=20000      GCLAB_EXHAUSTION_INSTANCES R
//   --exhaustion_budget_gib=0         GCLAB_EXHAUSTION_BUDGET_GIB: 0 = the OS's own
//                             limit (128 TiB of user address space on x86-64: about
//                             13,100 reservations of 10 GiB); N > 0 = a budget of N GiB
#include <gc.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "benchmarks/baselines.h"
#include "benchmarks/rss.h"
#include "gc/gc.h"
#include "linear_memory/linear_memory.h"

namespace gclab_bench {
namespace {

using gclab::CollectorKind;
using gclab::HandleScope;
using gclab::Heap;
using gclab::HeapOptions;
using gclab::Instance;
using gclab::LinearMemorySpace;
using gclab::Local;
using gclab::Persistent;
using gclab::ReleaseStrategy;

constexpr size_t kMiB = size_t{1} << 20;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

struct Config {
  std::vector<int64_t> sizes_mib = {64, 256, 1024};
  double touch = 0.25;
  int live = 4;
  int iterations = 0;  // 0: 24 * sqrt(1024 / M), so small sizes run long enough to time
  int64_t exhaustion_instances = 20000;
  int64_t exhaustion_budget_gib = 0;
};

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The resident set above `start` (what the run added), from one read of /proc.
size_t ResidentAbove(size_t start) {
  const size_t now = CurrentRssBytes();
  return now > start ? now - start : 0;
}

void TouchPages(uint8_t* data, size_t bytes) {
  for (size_t i = 0; i < bytes; i += 4096) data[i] = static_cast<uint8_t>(i >> 12 | 1);
}

// What every BM_Reclaim variant measures, filled in by the loop.
struct Measured {
  double loop_ms = 0;
  size_t peak_resident = 0;  // above the start
  size_t peak_reservations = 0;
  uint64_t collections = 0;
  std::vector<double> lag_iters;
  double return_ms = 0;
  double pause_ms = 0;    // collections' pauses during the loop
  double release_ms = 0;  // time inside munmap / madvise, in all
  size_t released_touched = 0;
  size_t resident_after = 0;
};

int Iterations(const Config& c, size_t mib) {
  if (c.iterations > 0) return c.iterations;
  return static_cast<int>(24 * std::max(1.0, std::sqrt(1024.0 / static_cast<double>(mib))));
}

// Untimed, before every variant: maps, touches and unmaps `chunk` bytes at a time
// until `total` bytes have been touched, so that whichever variant runs first does
// not pay alone for a cold kernel page allocator (measured: without it the first
// variant of a size ran 15-30% slower than an identical one after it).
void WarmUp(size_t chunk, size_t total) {
  for (size_t done = 0; done < total; done += chunk) {
    void* p = mmap(nullptr, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    TouchPages(static_cast<uint8_t*>(p), chunk);
    munmap(p, chunk);
  }
}
size_t WarmUpTotal(const Config& c, size_t mib, size_t touched) {
  return std::min<size_t>(size_t{1536} << 20, Iterations(c, mib) * touched / 2);
}

void Publish(benchmark::State& state, const Config& c, size_t mib, const Measured& m,
             const std::string& variant) {
  const int iterations = Iterations(c, mib);
  // Time per instantiation against the baselines of this size (x_manual-free...).
  RecordAndCompare(state, "BM_Reclaim/" + std::to_string(mib), variant,
                   m.loop_ms / 1e3 / iterations);
  const double touched_mb = static_cast<double>(mib) * c.touch;
  const double ideal = (c.live + 1) * touched_mb;
  state.counters["iterations"] = iterations;
  state.counters["instances_per_s"] = iterations / (m.loop_ms / 1e3);
  state.counters["pause_ms"] = m.pause_ms;
  state.counters["ideal_mb"] = ideal;
  state.counters["peak_mb"] = static_cast<double>(m.peak_resident) / kMiB;
  state.counters["rss_ratio"] = static_cast<double>(m.peak_resident) / kMiB / ideal;
  state.counters["peak_reservations"] = static_cast<double>(m.peak_reservations);
  state.counters["collections"] = static_cast<double>(m.collections);
  std::vector<double> lag = m.lag_iters;
  double median = -1;
  if (!lag.empty()) {
    std::nth_element(lag.begin(), lag.begin() + lag.size() / 2, lag.end());
    median = lag[lag.size() / 2];
  }
  state.counters["lag_iters"] = median;
  state.counters["return_ms"] = m.return_ms;
  state.counters["release_gib_s"] =
      m.release_ms > 0 ? static_cast<double>(m.released_touched) / kGiB / (m.release_ms / 1e3) : 0;
  state.counters["resident_after_mb"] = static_cast<double>(m.resident_after) / kMiB;
  state.SetIterationTime(m.loop_ms / 1e3);
}

void BM_Reclaim(benchmark::State& state, CollectorKind kind, std::string policy, size_t mib,
                Config c) {
  const bool naive = policy == "naive";
  const size_t bytes = mib * kMiB;
  const size_t touched = static_cast<size_t>(static_cast<double>(bytes) * c.touch) / 4096 * 4096;
  const uint32_t pages = static_cast<uint32_t>(bytes / gclab::kWasmPageSize);
  for (auto _ : state) {
    WarmUp((c.live + 1) * touched, WarmUpTotal(c, mib, touched));
    Measured m;
    HeapOptions options;
    options.collector = kind;
    options.collector_options = CollectorOptionsFromEnvironment(kind);
    options.heap_limit = size_t{64} << 20;
    options.external_memory_triggers_collection = !naive;
    std::unique_ptr<Heap> heap = Heap::Create(options).value();
    LinearMemorySpace& space = LinearMemorySpace::For(*heap);
    gclab::LinearMemoryOptions lm;
    lm.release = policy == "pooled" ? ReleaseStrategy::kPool : ReleaseStrategy::kUnmap;
    if (!space.Configure(lm).ok()) std::abort();
    // Drop times by memory id, and each memory's lag from drop to release.
    absl::flat_hash_map<uint64_t, int> dropped_at;
    int iteration = 0;
    bool final_phase = false;
    space.set_release_observer([&](const gclab::ReleaseEvent& e) {
      m.release_ms += absl::ToDoubleMilliseconds(e.duration);
      m.released_touched += touched;
      auto it = dropped_at.find(e.memory_id);
      if (it != dropped_at.end() && !final_phase) m.lag_iters.push_back(iteration - it->second);
    });
    const size_t start = CurrentRssBytes();
    std::vector<Persistent<Instance>> ring(c.live);
    std::vector<uint64_t> ring_ids(c.live, 0);
    bool failed = false;
    const auto loop_start = Clock::now();
    const int iterations = Iterations(c, mib);
    for (iteration = 0; iteration < iterations; ++iteration) {
      HandleScope scope(*heap);
      absl::StatusOr<Local<Instance>> instance =
          Instance::Create(*heap, {{.initial_pages = pages, .maximum_pages = pages}});
      if (!instance.ok()) {
        state.SkipWithError(std::string(instance.status().message()).c_str());
        failed = true;
        break;
      }
      gclab::LinearMemory* memory = (*instance)->memory(0);
      TouchPages(memory->data(), touched);
      m.peak_resident = std::max(m.peak_resident, ResidentAbove(start));
      const int slot = iteration % c.live;
      if (ring_ids[slot] != 0) dropped_at[ring_ids[slot]] = iteration;
      ring[slot] = Persistent<Instance>(*heap, *instance);
      ring_ids[slot] = memory->id();
    }
    m.loop_ms = MsSince(loop_start);
    if (failed) break;
    // The final drop: the program lets go of everything; the next collection (here an
    // explicit one, as an idle-time collection would) gives it back.
    final_phase = true;
    const auto drop = Clock::now();
    for (Persistent<Instance>& p : ring) p.Reset();
    heap->CollectGarbage();
    m.return_ms = MsSince(drop);
    m.resident_after = ResidentAbove(start);
    m.peak_reservations = space.stats().peak_reservations;
    m.collections = heap->stats().collections - 1;  // not the final explicit one
    m.pause_ms =
        absl::ToDoubleMilliseconds(heap->stats().total_pause - heap->stats().last_cycle.pause);
    if (space.stats().live != 0) {
      state.SkipWithError("memories still live after the final collection");
      break;
    }
    Publish(state, c, mib, m, std::string(gclab::CollectorName(kind)));
  }
}

// The physical reference: the same loop, each memory unmapped the moment it is
// dropped (glibc's malloc and mimalloc also mmap and munmap buffers this large). With
// `shared` the instances are std::shared_ptr<RawInstance> and the memory is unmapped
// by the destructor when the last reference goes: what reference counting gives.
struct RawInstance {
  RawInstance(void* p, size_t reservation, std::function<void(void*)> release)
      : memory(p), reservation(reservation), release(std::move(release)) {}
  ~RawInstance() { release(memory); }
  void* memory;
  size_t reservation;
  std::function<void(void*)> release;
};

void BM_ManualFree(benchmark::State& state, size_t mib, Config c, bool shared) {
  const size_t bytes = mib * kMiB;
  const size_t touched = static_cast<size_t>(static_cast<double>(bytes) * c.touch) / 4096 * 4096;
  const gclab::LinearMemoryOptions defaults;
  const size_t reservation = defaults.reservation_bytes + defaults.guard_bytes;
  for (auto _ : state) {
    WarmUp((c.live + 1) * touched, WarmUpTotal(c, mib, touched));
    Measured m;
    const size_t start = CurrentRssBytes();
    auto unmap = [&](void* p) {
      const auto t = Clock::now();
      munmap(p, reservation);
      m.release_ms += MsSince(t);
      m.released_touched += touched;
    };
    std::vector<void*> ring(c.live, nullptr);                       // manual free
    std::vector<std::shared_ptr<RawInstance>> shared_ring(c.live);  // shared_ptr
    const auto loop_start = Clock::now();
    const int iterations = Iterations(c, mib);
    for (int i = 0; i < iterations; ++i) {
      void* p =
          mmap(nullptr, reservation, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED || mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) {
        state.SkipWithError("mmap or mprotect failed");
        return;
      }
      TouchPages(static_cast<uint8_t*>(p), touched);
      m.peak_resident = std::max(m.peak_resident, ResidentAbove(start));
      const int slot = i % c.live;
      if (shared) {
        const bool drops = shared_ring[slot] != nullptr;
        shared_ring[slot] = std::make_shared<RawInstance>(p, reservation, unmap);
        if (drops) m.lag_iters.push_back(0);
      } else {
        if (ring[slot] != nullptr) {
          unmap(ring[slot]);
          m.lag_iters.push_back(0);
        }
        ring[slot] = p;
      }
    }
    m.loop_ms = MsSince(loop_start);
    const auto drop = Clock::now();
    for (void*& p : ring) {
      if (p != nullptr) unmap(p);
      p = nullptr;
    }
    for (auto& instance : shared_ring) instance.reset();
    m.return_ms = MsSince(drop);
    m.resident_after = ResidentAbove(start);
    m.peak_reservations = static_cast<size_t>(std::min(c.live + 1, iterations));
    Publish(state, c, mib, m, shared ? "shared_ptr" : "manual-free");
  }
}

// Boehm GC: an instance is a GC_MALLOC'ed object whose finalizer unmaps its memory
// (the memory is mmapped: a 1 GiB buffer in Boehm's heap would be scanned or would
// need zeroing). Boehm cannot be told about memory outside its heap, so it collects
// only as its own (tiny) heap grows: the naive engine, as a Boehm user gets it.
struct BoehmInstance {
  void* memory;
  size_t reservation;
};
BoehmInstance* boehm_ring[1000];  // static roots: Boehm scans them
struct BoehmRun {
  Measured* m;
  size_t touched;
  absl::flat_hash_map<void*, int>* dropped_at;
  int* iteration;
  bool final_phase;
  size_t reservations = 0;  // mapped now
};
BoehmRun* boehm_run = nullptr;

void BoehmFinalize(void* object, void*) {
  auto* instance = static_cast<BoehmInstance*>(object);
  const auto t = Clock::now();
  munmap(instance->memory, instance->reservation);
  BoehmRun& run = *boehm_run;
  --run.reservations;
  run.m->release_ms += MsSince(t);
  run.m->released_touched += run.touched;
  auto it = run.dropped_at->find(instance);
  if (it != run.dropped_at->end() && !run.final_phase) {
    run.m->lag_iters.push_back(*run.iteration - it->second);
  }
}

// One instantiation, out of line so that no copy of the new pointer stays in this
// frame after it returns (Boehm scans the stack conservatively).
__attribute__((noinline)) bool BoehmInstantiate(size_t bytes, size_t touched, size_t reservation,
                                                int slot,
                                                absl::flat_hash_map<void*, int>& dropped_at,
                                                int iteration) {
  void* p =
      mmap(nullptr, reservation, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED || mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) return false;
  BoehmRun& run = *boehm_run;
  ++run.reservations;
  run.m->peak_reservations = std::max(run.m->peak_reservations, run.reservations);
  auto* instance = static_cast<BoehmInstance*>(GC_MALLOC(sizeof(BoehmInstance)));
  instance->memory = p;
  instance->reservation = reservation;
  GC_register_finalizer(instance, BoehmFinalize, nullptr, nullptr, nullptr);
  TouchPages(static_cast<uint8_t*>(p), touched);
  if (boehm_ring[slot] != nullptr) dropped_at[boehm_ring[slot]] = iteration;
  boehm_ring[slot] = instance;
  return true;
}

void BM_ReclaimBoehm(benchmark::State& state, size_t mib, Config c) {
  const size_t bytes = mib * kMiB;
  const size_t touched = static_cast<size_t>(static_cast<double>(bytes) * c.touch) / 4096 * 4096;
  const gclab::LinearMemoryOptions defaults;
  const size_t reservation = defaults.reservation_bytes + defaults.guard_bytes;
  if (c.live > 1000) {
    state.SkipWithError("--live over 1000 is not supported by the Boehm baseline");
    return;
  }
  for (auto _ : state) {
    WarmUp((c.live + 1) * touched, WarmUpTotal(c, mib, touched));
    GC_gcollect();
    Measured m;
    absl::flat_hash_map<void*, int> dropped_at;
    int iteration = 0;
    BoehmRun run{&m, touched, &dropped_at, &iteration, false};
    boehm_run = &run;
    const GC_word collections = GC_get_gc_no();
    const size_t start = CurrentRssBytes();
    const auto loop_start = Clock::now();
    const int iterations = Iterations(c, mib);
    for (iteration = 0; iteration < iterations; ++iteration) {
      if (!BoehmInstantiate(bytes, touched, reservation, iteration % c.live, dropped_at,
                            iteration)) {
        state.SkipWithError("mmap or mprotect failed");
        return;
      }
      m.peak_resident = std::max(m.peak_resident, ResidentAbove(start));
    }
    m.loop_ms = MsSince(loop_start);
    m.collections = GC_get_gc_no() - collections;
    run.final_phase = true;
    const auto drop = Clock::now();
    for (int i = 0; i < c.live; ++i) boehm_ring[i] = nullptr;
    ClearStack<16 * 1024>();
    GC_gcollect();
    GC_invoke_finalizers();
    m.return_ms = MsSince(drop);
    m.resident_after = ResidentAbove(start);
    const size_t leaked = run.reservations;
    boehm_run = nullptr;
    if (leaked != 0) {
      // A stale pointer in a register or the stack kept some alive (Boehm scans
      // conservatively); they go at a later collection.
      state.counters["still_mapped"] = static_cast<double>(leaked);
    }
    Publish(state, c, mib, m, "boehm");
  }
}

void BM_Exhaustion(benchmark::State& state, CollectorKind kind, bool retry, Config c) {
  for (auto _ : state) {
    HeapOptions options;
    options.collector = kind;
    options.collector_options = CollectorOptionsFromEnvironment(kind);
    options.heap_limit = size_t{64} << 20;
    options.external_memory_triggers_collection = false;  // only exhaustion collects
    std::unique_ptr<Heap> heap = Heap::Create(options).value();
    LinearMemorySpace& space = LinearMemorySpace::For(*heap);
    gclab::LinearMemoryOptions lm;
    lm.collect_on_exhaustion = retry;
    lm.address_space_budget = static_cast<size_t>(c.exhaustion_budget_gib) << 30;
    if (!space.Configure(lm).ok()) std::abort();
    const auto start = Clock::now();
    int64_t made = 0;
    std::string failure;
    {
      Persistent<Instance> current;
      for (; made < c.exhaustion_instances; ++made) {
        HandleScope scope(*heap);
        absl::StatusOr<Local<Instance>> instance = Instance::Create(*heap, {{.initial_pages = 1}});
        if (!instance.ok()) {
          failure = std::string(instance.status().message());
          break;
        }
        (*instance)->memory(0)->data()[0] = 1;
        current = Persistent<Instance>(*heap, *instance);  // drops the previous one
      }
    }
    const double ms = MsSince(start);
    const gclab::LinearMemoryStatistics& s = space.stats();
    state.counters["instances"] = static_cast<double>(made);
    state.counters["failed_at"] = failure.empty() ? 0 : static_cast<double>(made + 1);
    state.counters["peak_reservations"] = static_cast<double>(s.peak_reservations);
    state.counters["peak_reserved_tib"] =
        static_cast<double>(s.peak_reservations) *
        static_cast<double>(lm.reservation_bytes + lm.guard_bytes) / (kGiB * 1024.0);
    state.counters["exhaustion_collections"] = static_cast<double>(s.exhaustion_collections);
    state.counters["instances_per_s"] = static_cast<double>(made) / (ms / 1e3);
    state.SetIterationTime(ms / 1e3);
    if (!failure.empty()) state.SetLabel("failed: " + failure.substr(0, 120));
    heap.reset();  // unmaps everything before the next benchmark
  }
}

std::string SizeName(size_t mib) { return std::to_string(mib) + "MiB"; }

void Register(const Config& c) {
  for (int64_t mib : c.sizes_mib) {
    const auto size = static_cast<size_t>(mib);
    // Baselines first: the gclab runs report their ratios to them (x_<baseline>).
    for (bool shared : {false, true}) {
      std::string name =
          std::string(shared ? "BM_Reclaim/shared_ptr/" : "BM_Reclaim/manual-free/") +
          SizeName(size);
      benchmark::RegisterBenchmark(name.c_str(), BM_ManualFree, size, c, shared)
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
    std::string boehm = "BM_Reclaim/boehm/" + SizeName(size);
    benchmark::RegisterBenchmark(boehm.c_str(), BM_ReclaimBoehm, size, c)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    for (CollectorKind kind : gclab::AllCollectors()) {
      for (const char* policy : {"naive", "accounting", "pooled"}) {
        std::string name = "BM_Reclaim/" + std::string(gclab::CollectorName(kind)) + "/" + policy +
                           "/" + SizeName(size);
        benchmark::RegisterBenchmark(name.c_str(), BM_Reclaim, kind, std::string(policy), size, c)
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  for (CollectorKind kind : gclab::AllCollectors()) {
    for (bool retry : {false, true}) {
      std::string name = "BM_Exhaustion/" + std::string(gclab::CollectorName(kind)) + "/" +
                         (retry ? "collect-and-retry" : "naive");
      benchmark::RegisterBenchmark(name.c_str(), BM_Exhaustion, kind, retry, c)
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

bool ParseFlag(std::string_view arg, std::string_view flag, std::string* value) {
  if (arg.substr(0, flag.size()) != flag || arg.size() <= flag.size() || arg[flag.size()] != '=') {
    return false;
  }
  *value = std::string(arg.substr(flag.size() + 1));
  return true;
}

bool Apply(Config& c, std::string_view name, const std::string& value) {
  if (name == "sizes_mib") {
    c.sizes_mib.clear();
    for (absl::string_view part : absl::StrSplit(value, ',')) {
      int64_t v;
      if (!absl::SimpleAtoi(part, &v) || v < 1 || v > 4096) return false;
      c.sizes_mib.push_back(v);
    }
    return !c.sizes_mib.empty();
  }
  if (name == "touch") return absl::SimpleAtod(value, &c.touch) && c.touch > 0 && c.touch <= 1;
  if (name == "live") return absl::SimpleAtoi(value, &c.live) && c.live >= 1 && c.live <= 1000;
  if (name == "iterations") {
    return absl::SimpleAtoi(value, &c.iterations) && c.iterations >= 1 && c.iterations <= 100000;
  }
  if (name == "exhaustion_instances") {
    return absl::SimpleAtoi(value, &c.exhaustion_instances) && c.exhaustion_instances >= 1;
  }
  if (name == "exhaustion_budget_gib") {
    return absl::SimpleAtoi(value, &c.exhaustion_budget_gib) && c.exhaustion_budget_gib >= 0;
  }
  return false;
}

}  // namespace
}  // namespace gclab_bench

int main(int argc, char** argv) {
  GC_INIT();
  gclab_bench::Config config;
  const std::pair<const char*, const char*> kFlags[] = {
      {"sizes_mib", "GCLAB_RECLAIM_SIZES_MIB"},
      {"touch", "GCLAB_RECLAIM_TOUCH"},
      {"live", "GCLAB_RECLAIM_LIVE"},
      {"iterations", "GCLAB_RECLAIM_ITERATIONS"},
      {"exhaustion_instances", "GCLAB_EXHAUSTION_INSTANCES"},
      {"exhaustion_budget_gib", "GCLAB_EXHAUSTION_BUDGET_GIB"},
  };
  for (const auto& [flag, env] : kFlags) {
    if (const char* v = std::getenv(env); v != nullptr && !gclab_bench::Apply(config, flag, v)) {
      std::fprintf(stderr, "reclamation_benchmarks: bad %s=%s\n", env, v);
      return 2;
    }
  }
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    bool ours = false;
    for (const auto& [flag, env] : kFlags) {
      std::string value;
      if (gclab_bench::ParseFlag(argv[i], std::string("--") + flag, &value)) {
        if (!gclab_bench::Apply(config, flag, value)) {
          std::fprintf(stderr, "reclamation_benchmarks: bad value in %s\n", argv[i]);
          return 2;
        }
        ours = true;
      }
    }
    if (!ours) argv[kept++] = argv[i];
  }
  argc = kept;
  gclab_bench::Register(config);
  benchmark::AddCustomContext("touch", std::to_string(config.touch));
  benchmark::AddCustomContext("live", std::to_string(config.live));
  benchmark::AddCustomContext("iterations", config.iterations > 0
                                                ? std::to_string(config.iterations)
                                                : "24 * sqrt(1024 MiB / size)");
  gclab_bench::AddCollectorOptionsContext();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
