// gclab benchmarks: allocation throughput, GCBench, binary-trees and quads on every collector,
// side by side with the baselines a user would pick instead.
//
// Every benchmark runs once per gclab collector (AllCollectors()) and once per
// baseline, in one binary, so one run gives a comparable table:
//
//   BM_Alloc/<collector>        2^20 small objects per iteration (a 16-byte payload, a
//                               24-byte cell), made with NewRaw and garbage at once
//   BM_Alloc/bump-pointer       32-byte objects (the reference loop) bumped
//                               through a 4 MiB buffer
//   BM_GCBench/<collector>      Ellis, Kovac and Boehm's GCBench: a stretch tree of
//   BM_GCBench/new-delete       depth 18, a long-lived tree of depth 16 and a 500,000
//   BM_GCBench/boehm            double array, then temporary trees of depth 4..16 built
//   BM_GCBench/mimalloc         top-down and bottom-up.
//   BM_GCBench/mimalloc-dlopen
//   BM_GCBench/shared_ptr
//   BM_BinaryTrees/<collector>  the Benchmarks Game's binary-trees, maximum depth 21 by
//   BM_BinaryTrees/new-delete   default (--binary_trees_depth=N or the environment
//   BM_BinaryTrees/boehm        variable GCLAB_BINARY_TREES_DEPTH=N; the flag wins).
//   BM_BinaryTrees/mimalloc
//   BM_BinaryTrees/mimalloc-dlopen
//   BM_BinaryTrees/shared_ptr
//   BM_Quads/<collector>        after Whippet's quads: a long-lived quad tree of depth
//   BM_Quads/new-delete         10 (GCLAB_QUADS_DEPTH), then 10 rounds of 256 MiB
//   BM_Quads/boehm              (GCLAB_QUADS_GARBAGE_MIB) of depth-3 garbage trees,
//   BM_Quads/mimalloc           the live tree validated after each round.
//   BM_HeapSnapshot/<collector> Heap::WriteHeapSnapshot of a heap of 2^20 - 1 objects (a
//                               binary tree of depth 19, GCLAB_SNAPSHOT_DEPTH), beside
//                               a full collection of the same heap: 5 rounds of each,
//                               medians (counters below)
//   BM_MachineStalls            a control, no memory manager: fixed chunks of work for
//                               10 s (GCLAB_STALL_SECONDS), timed one by one; the longest (max_stall_ms) and
//                               how many took over 0.5 and 1 ms are the machine's own
//                               stalls, the floor under every max_pause_ms
//   BM_UsableHeap/<collector>/<turnovers>
//                               how much of a 64 MiB heap limit (GCLAB_USABLE_HEAP_MIB)
//                               is usable under
//                               fragmentation: `turnovers` times, fill the heap with
//                               small objects (a 32-byte, then a 48-byte class) and
//                               keep one in 8,192 alive; then allocate 2 KiB objects,
//                               all kept, until TryNew fails. A capacity figure, not a
//                               speed one (gc/DESIGN.md [alloc.limit]).
//
// Baselines: new-delete is glibc's malloc; boehm is GC_MALLOC; mimalloc is the
// new-delete program in gc_benchmarks_mimalloc, this source linked against Debian's
// libmimalloc, with new and delete sent to it as mimalloc-new-delete.h does: what a
// program that uses mimalloc gets, run in a process of its own (BM_LinkedMimalloc);
// mimalloc-dlopen calls mi_malloc/mi_free through pointers from dlopen in this process,
// the suite's earlier baseline, kept for comparison (BM_Alloc/mimalloc is that one too);
// shared_ptr is std::make_shared nodes whose
// trees die when their last reference goes (reference counting, no collector).
//
// The programs are written once, as templates over a "trees" policy (GclabTrees,
// BoehmTrees, NewDeleteTrees, MimallocTrees, SharedPtrTrees), so every memory manager
// runs the same algorithm. In each family the baselines run first, and each gclab run
// reports its program time over each baseline's, measured in the same process, as
// counters x_new-delete, x_boehm, x_mimalloc, x_mimalloc-dlopen, x_shared_ptr (below 1:
// gclab faster).
// gclab runs use the default trigger policy (GrowthFactorPolicy(2.0, 4 MiB)), or the
// one GCLAB_POLICY names (baselines.h: GCLAB_POLICY=membalancer=3e-10); the programs
// get a 4 GiB heap limit, or GCLAB_HEAP_LIMIT's (which also caps Boehm's heap:
// benchmarks/heap_sweep.py), BM_Alloc 256 MiB.
//
// Counters (per benchmark iteration, i.e. per complete program run; BM_Alloc: per
// 2^20 allocations):
//   collections    gclab collections, or Boehm's (GC_get_gc_no)
//   pause_ms       total pause; for Boehm, its total full-collection time (1 ms steps)
//   max_pause_ms   longest single pause (gclab only)
//   mmu_<N>ms      minimum mutator utilization of the program's run over windows of 1,
//                  2, 5, 10 and 50 ms, from the heap's pause log (gclab only;
//                  gc/mutator_utilization.h)
//   pause_p50_ms, pause_p95_ms, pause_p99_ms, pause_p999_ms  the median and 95th,
//                  99th and 99.9th percentiles of every pause in the log (gclab
//                  only): collections in one pause, and an incremental cycle's
//                  start, steps, final pause and sweeps, each a pause
//   max_<kind>_ms  the longest pause of each kind that occurred: atomic, start, step,
//                  final, sweep (PauseKind, gc/mutator_utilization.h)
//   marking_overruns  incremental cycles whose marking the final pause had to finish
//                  (incremental collectors only)
//   minor_collections, minor_pause_p50_ms, minor_pause_max_ms, major_pause_max_ms
//                  (generational only; the last, the longest pause of a major collection)
//   peak_rss_mb    the process's peak resident set during the run (rss.h)
//   rss_start_mb   the resident set when the run started: what earlier benchmarks left
// BM_HeapSnapshot's counters: objects; collection_ms, a full collection of the heap;
// snapshot_ms, a snapshot written to a stream that discards it (the snapshot's own
// full collection included); x_collection, snapshot_ms over collection_ms (the issue's
// target: at most 2); write_ms, the snapshot less its collection; file_ms, one
// snapshot written to a file in TEST_TMPDIR or /tmp; snapshot_mb, its size. The
// benchmark's time is snapshot_ms.
// BM_UsableHeap's counters: usable_pct, the 2 KiB objects' bytes over the room the
// limit left after the sparse fills (100: all of it); fragmented_mb, the heap's
// fragmented bytes after the last sparse fill (HeapStatistics::fragmented_bytes);
// live_kb, what the survivors hold; committed_mb, what the heap held from the OS at
// the end, against the 64 MiB limit.
// Setup and teardown (creating and destroying a gclab heap, freeing the long-lived
// data of new/delete, emptying the Boehm heap) are outside the timed region.
//
// Running:
//   bazel run //benchmarks:gc_benchmarks -- --benchmark_out=/tmp/gc.json
//       (the output file's format is JSON by default)
//   python3 benchmarks/summarize.py /tmp/gc.json
// Quick run: --binary_trees_depth=12 --benchmark_filter='GCBench|BinaryTrees'.
// For the cleanest peak-RSS numbers run one benchmark per process (a Boehm heap and
// glibc's arenas never give everything back) and pass every JSON file to summarize.py.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <ostream>
#include <streambuf>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "benchmarks/baselines.h"
#include "benchmarks/rss.h"
#include "gc/gc.h"

// Boehm GC. /usr/include/gc.h forwards to <gc/gc.h>; when the gclab root is on the -I
// path (a plain g++ command line rather than Bazel's -iquote), that name finds gclab's
// own gc/gc.h instead. Boehm's gc_typed.h includes "gc.h" relative to its own
// directory, so it reaches Boehm's header whatever the include path.
#include <gc.h>
#if !defined(GC_MALLOC)
#include <gc/gc_typed.h>
#endif
#if !defined(GC_MALLOC)
#error "Boehm GC's gc.h was not found (install libgc-dev)"
#endif

#ifdef GCLAB_BENCH_LINKED_MIMALLOC
// gc_benchmarks_mimalloc: what mimalloc-new-delete.h does, the header mimalloc's
// documentation asks a C++ program to include once. new and delete call mimalloc
// directly instead of through malloc and free (which the linked library replaces too).
// Debian ships the header in libmimalloc-dev; these declarations are all it takes.
extern "C" void* mi_new(size_t size);
extern "C" void mi_free(void* p) noexcept;
extern "C" void mi_free_size(void* p, size_t size) noexcept;
void* operator new(size_t size) { return mi_new(size); }
void* operator new[](size_t size) { return mi_new(size); }
void operator delete(void* p) noexcept { mi_free(p); }
void operator delete[](void* p) noexcept { mi_free(p); }
void operator delete(void* p, size_t size) noexcept { mi_free_size(p, size); }
void operator delete[](void* p, size_t size) noexcept { mi_free_size(p, size); }
#endif

namespace gclab_bench {
namespace {

using gclab::CollectorKind;

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kAllocHeapLimit = 256 * kMiB;
// The programs' heap limit: 4 GiB, or GCLAB_HEAP_LIMIT's (baselines.h), read once.
size_t ProgramHeapLimit() {
  static const size_t limit = HeapLimitFromEnvironment(size_t{4} << 30);
  return limit;
}

double ToMs(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

[[noreturn]] void OutOfMemory(const char* what) {
  std::fprintf(stderr, "gc_benchmarks: out of memory in %s\n", what);
  std::abort();
}

// ---------------------------------------------------------------------------------
// Measurements shared by every benchmark.

// Collects peak RSS and collector statistics over the iterations of one run and
// publishes them as counters. Call Start() and Stop() with the timer paused.
class Meter {
 public:
  void Start() {
    rss_start_mb_ = std::max(rss_start_mb_, CurrentRssMb());
    ResetPeakRss();
    started_ = std::chrono::steady_clock::now();
  }
  void Stop() {
    peak_rss_mb_ = std::max(peak_rss_mb_, PeakRssMb());
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }
  // Wall time between each Start and the following Stop, in all.
  double seconds() const { return seconds_; }

  void AddHeapStats(const gclab::HeapStatistics& stats, bool incremental) {
    AddCollections(stats.collections, ToMs(stats.total_pause));
    has_max_pause_ = true;
    max_pause_ms_ = std::max(max_pause_ms_, ToMs(stats.max_pause));
    if (incremental) {
      has_overruns_ = true;
      marking_overruns_ += static_cast<double>(stats.marking_overruns);
    }
  }
  // Where the program ran, in the iteration whose heap is torn down next.
  void SetProgramWindow(std::chrono::steady_clock::time_point begin,
                        std::chrono::steady_clock::time_point end) {
    program_begin_ = begin;
    program_end_ = end;
  }
  // A gclab heap's pause log (HeapOptions::record_pauses): the minor collections'
  // pauses, for their distribution, and the minimum mutator utilization of the
  // program's run (the least over iterations).
  void AddPauses(absl::Span<const gclab::Pause> pauses, bool generational) {
    has_minor_ = has_minor_ || generational;
    for (const gclab::Pause& p : pauses) {
      const double ms = absl::ToDoubleMilliseconds(p.duration);
      pauses_ms_.push_back(ms);
      const auto kind = static_cast<size_t>(p.kind);
      kind_seen_[kind] = true;
      kind_max_ms_[kind] = std::max(kind_max_ms_[kind], ms);
      if (!generational) continue;
      if (p.collection == gclab::CollectionKind::kMinor) {
        minor_pauses_ms_.push_back(ms);
      } else {
        major_pause_max_ms_ = std::max(major_pause_max_ms_, ms);
        has_major_ = true;
      }
    }
    for (size_t i = 0; i < kMmuWindowsMs.size(); ++i) {
      absl::StatusOr<double> mmu = gclab::MinimumMutatorUtilization(
          pauses, program_begin_, program_end_, absl::Milliseconds(kMmuWindowsMs[i]));
      if (!mmu.ok()) {
        std::fprintf(stderr, "gc_benchmarks: %s\n", std::string(mmu.status().message()).c_str());
        std::abort();
      }
      mmu_[i] = has_mmu_ ? std::min(mmu_[i], *mmu) : *mmu;
    }
    has_mmu_ = true;
  }
  void AddCollections(uint64_t collections, double pause_ms) {
    has_collections_ = true;
    collections_ += static_cast<double>(collections);
    pause_ms_ += pause_ms;
  }

  void Publish(benchmark::State& state) const {
    if (has_collections_) {
      state.counters["collections"] =
          benchmark::Counter(collections_, benchmark::Counter::kAvgIterations);
      state.counters["pause_ms"] =
          benchmark::Counter(pause_ms_, benchmark::Counter::kAvgIterations);
    }
    if (has_max_pause_) state.counters["max_pause_ms"] = max_pause_ms_;
    if (!pauses_ms_.empty()) {
      std::vector<double> sorted = pauses_ms_;
      std::sort(sorted.begin(), sorted.end());
      state.counters["pause_p50_ms"] = sorted[sorted.size() / 2];
      state.counters["pause_p95_ms"] = sorted[sorted.size() * 95 / 100];
      state.counters["pause_p99_ms"] = sorted[sorted.size() * 99 / 100];
      state.counters["pause_p999_ms"] = sorted[sorted.size() * 999 / 1000];
      constexpr std::array<const char*, 5> kKinds = {"atomic", "start", "step", "final", "sweep"};
      for (size_t k = 0; k < kKinds.size(); ++k) {
        if (kind_seen_[k]) state.counters[std::string("max_") + kKinds[k] + "_ms"] = kind_max_ms_[k];
      }
    }
    if (has_overruns_) {
      state.counters["marking_overruns"] =
          benchmark::Counter(marking_overruns_, benchmark::Counter::kAvgIterations);
    }
    if (has_minor_ && !minor_pauses_ms_.empty()) {
      std::vector<double> sorted = minor_pauses_ms_;
      std::sort(sorted.begin(), sorted.end());
      state.counters["minor_collections"] = benchmark::Counter(
          static_cast<double>(sorted.size()), benchmark::Counter::kAvgIterations);
      state.counters["minor_pause_p50_ms"] = sorted[sorted.size() / 2];
      state.counters["minor_pause_max_ms"] = sorted.back();
    }
    if (has_minor_ && has_major_) state.counters["major_pause_max_ms"] = major_pause_max_ms_;
    if (has_mmu_) {
      for (size_t i = 0; i < kMmuWindowsMs.size(); ++i) {
        state.counters["mmu_" + std::to_string(kMmuWindowsMs[i]) + "ms"] = mmu_[i];
      }
    }
    state.counters["peak_rss_mb"] = peak_rss_mb_;
    state.counters["rss_start_mb"] = rss_start_mb_;
  }

 private:
  bool has_collections_ = false;
  bool has_max_pause_ = false;
  bool has_minor_ = false;
  std::vector<double> minor_pauses_ms_;
  bool has_major_ = false;
  double major_pause_max_ms_ = 0;
  std::vector<double> pauses_ms_;                 // every logged pause
  std::array<double, 5> kind_max_ms_{};           // by PauseKind
  std::array<bool, 5> kind_seen_{};
  bool has_overruns_ = false;
  double marking_overruns_ = 0;
  double collections_ = 0;
  double pause_ms_ = 0;
  double max_pause_ms_ = 0;
  double peak_rss_mb_ = 0;
  double rss_start_mb_ = 0;
  double seconds_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point program_begin_;
  std::chrono::steady_clock::time_point program_end_;
  // Minimum mutator utilization over windows of these lengths (mmu_<N>ms counters).
  static constexpr std::array<int, 5> kMmuWindowsMs = {1, 2, 5, 10, 50};
  std::array<double, 5> mmu_{};
  bool has_mmu_ = false;
};

absl::StatusOr<std::unique_ptr<gclab::Heap>> CreateHeap(CollectorKind kind, size_t limit) {
  gclab::HeapOptions options;
  options.collector = kind;
  options.heap_limit = limit;
  options.collector_options = CollectorOptionsFromEnvironment(kind);
  options.policy = PolicyFromEnvironment();
  options.record_pauses = true;  // minor pause distribution and MMU (Meter::AddPauses)
  return gclab::Heap::Create(options);
}

// ---------------------------------------------------------------------------------
// BM_Alloc: small-object allocation throughput.

constexpr int64_t kAllocBatch = int64_t{1} << 20;  // allocations per iteration

// A 16-byte payload: with gclab's 8-byte header, a 24-byte cell. (The bump-pointer
// baseline writes 32 bytes per object: a 16-byte header as a simple allocator would.)
class Small final : public gclab::GarbageCollected<Small> {
 public:
  explicit Small(int64_t v) noexcept : a(v), b(v + 1) {}
  void Trace(gclab::Visitor&) const {}
  int64_t a;
  int64_t b;
};
static_assert(sizeof(Small) == 16);


void BM_AllocGclab(benchmark::State& state, CollectorKind kind) {
  auto heap = CreateHeap(kind, kAllocHeapLimit);
  if (!heap.ok()) {
    state.SkipWithError(std::string(heap.status().message()).c_str());
    return;
  }
  Meter meter;
  meter.Start();
  for (auto _ : state) {
    for (int64_t i = 0; i < kAllocBatch; ++i) {
      Small* object = (*heap)->NewRaw<Small>(i);  // garbage at once
      benchmark::DoNotOptimize(object);
    }
  }
  meter.AddHeapStats((*heap)->stats(), (*heap)->capabilities().incremental);
  meter.Stop();
  state.SetItemsProcessed(state.iterations() * kAllocBatch);
  state.SetBytesProcessed(state.iterations() * kAllocBatch *
                         static_cast<int64_t>(gclab::internal::CellSizeFor(sizeof(Small))));
  meter.Publish(state);
  RecordAndCompare(state, "BM_Alloc", std::string(gclab::CollectorName(kind)),
                   meter.seconds() / static_cast<double>(state.iterations()));
}

// The baselines' loops: the same 16-byte payload, freed at once where the allocator
// needs it (the gclab objects are garbage at once too).
struct SmallPlain {
  int64_t a;
  int64_t b;
};

template <typename AllocateAndDrop>
void AllocBaselineLoop(benchmark::State& state, const std::string& variant,
                       AllocateAndDrop allocate_and_drop) {
  Meter meter;
  meter.Start();
  for (auto _ : state) {
    for (int64_t i = 0; i < kAllocBatch; ++i) allocate_and_drop(i);
  }
  meter.Stop();
  state.SetItemsProcessed(state.iterations() * kAllocBatch);
  meter.Publish(state);
  RecordAndCompare(state, "BM_Alloc", variant,
                   meter.seconds() / static_cast<double>(state.iterations()));
}

void BM_AllocNewDelete(benchmark::State& state) {
  AllocBaselineLoop(state, "new-delete", [](int64_t i) {
    auto* object = new SmallPlain{i, i + 1};
    benchmark::DoNotOptimize(object);
    delete object;
  });
}

void BM_AllocMimalloc(benchmark::State& state) {
  const Mimalloc* mi = Mimalloc::Get();
  if (mi == nullptr) {
    state.SkipWithError("libmimalloc.so.2 is not installed");
    return;
  }
  AllocBaselineLoop(state, "mimalloc", [mi](int64_t i) {
    auto* object = ::new (mi->malloc(sizeof(SmallPlain))) SmallPlain{i, i + 1};
    benchmark::DoNotOptimize(object);
    mi->free(object);
  });
}

void BM_AllocBoehm(benchmark::State& state) {
  GC_gcollect_and_unmap();
  AllocBaselineLoop(state, "boehm", [](int64_t i) {
    void* memory = GC_MALLOC(sizeof(SmallPlain));
    if (memory == nullptr) OutOfMemory("GC_MALLOC");
    auto* object = ::new (memory) SmallPlain{i, i + 1};
    benchmark::DoNotOptimize(object);
  });
  GC_gcollect_and_unmap();
}

void BM_AllocSharedPtr(benchmark::State& state) {
  AllocBaselineLoop(state, "shared_ptr", [](int64_t i) {
    auto object = std::make_shared<SmallPlain>(SmallPlain{i, i + 1});
    benchmark::DoNotOptimize(object.get());
  });
}

// What a bump allocator writes for the same object: a header (type word, size, flags)
// and the payload.
struct BumpObject {
  uintptr_t type;
  uint32_t size;
  uint32_t flags;
  int64_t a;
  int64_t b;
};
static_assert(sizeof(BumpObject) == 32);
constexpr size_t kBumpBufferBytes = 4 * kMiB;
const char kBumpTypeTag = 0;

void BM_AllocBumpPointer(benchmark::State& state) {
  Meter meter;
  meter.Start();
  std::unique_ptr<BumpObject[]> buffer(new BumpObject[kBumpBufferBytes / sizeof(BumpObject)]);
  std::memset(static_cast<void*>(buffer.get()), 0, kBumpBufferBytes);  // fault it in, untimed
  char* const begin = reinterpret_cast<char*>(buffer.get());
  char* const end = begin + kBumpBufferBytes;
  char* top = begin;
  for (auto _ : state) {
    for (int64_t i = 0; i < kAllocBatch; ++i) {
      if (__builtin_expect(static_cast<size_t>(end - top) < sizeof(BumpObject), 0)) top = begin;
      auto* object = ::new (top) BumpObject{reinterpret_cast<uintptr_t>(&kBumpTypeTag),
                                            sizeof(BumpObject), 0, i, i + 1};
      top += sizeof(BumpObject);
      benchmark::DoNotOptimize(object);
    }
  }
  meter.Stop();
  state.SetItemsProcessed(state.iterations() * kAllocBatch);
  state.SetBytesProcessed(state.iterations() * kAllocBatch * 32);
  meter.Publish(state);
  RecordAndCompare(state, "BM_Alloc", "bump-pointer",
                   meter.seconds() / static_cast<double>(state.iterations()));
}

// ---------------------------------------------------------------------------------
// Tree nodes. GCBench's nodes carry two ints; binary-trees' carry nothing.

struct NoPayload {};
struct GCBenchPayload {
  int32_t i = 0;
  int32_t j = 0;
};

constexpr int kArraySize = 500000;  // GCBench's long-lived array of doubles

template <typename Payload>
class GcNode final : public gclab::GarbageCollected<GcNode<Payload>> {
 public:
  GcNode() noexcept = default;
  // Reads the handles after the allocation, so the children may have moved.
  GcNode(const gclab::Local<GcNode>& l, const gclab::Local<GcNode>& r) noexcept
      : left(l), right(r) {}
  void Trace(gclab::Visitor& visitor) const {
    visitor.Trace(left);
    visitor.Trace(right);
  }
  gclab::Member<GcNode> left;
  gclab::Member<GcNode> right;
  [[no_unique_address]] Payload payload;
};
static_assert(sizeof(GcNode<NoPayload>) == 16);      // 32-byte cell
static_assert(sizeof(GcNode<GCBenchPayload>) == 24);  // 48-byte cell

// GCBench fills half of its array (from 1: GCBench's 1.0/0 is left out).
void FillArray(double* values) {
  for (int i = 1; i < kArraySize / 2; ++i) values[i] = 1.0 / i;
}

// 4 MB of doubles: goes to the large-object space.
class GcDoubleArray final : public gclab::GarbageCollected<GcDoubleArray> {
 public:
  GcDoubleArray() noexcept { FillArray(values); }
  void Trace(gclab::Visitor&) const {}
  double values[kArraySize];
};

// For Boehm and new/delete.
template <typename Payload>
struct PlainNode {
  PlainNode* left = nullptr;
  PlainNode* right = nullptr;
  [[no_unique_address]] Payload payload;
};

constexpr int64_t TreeSize(int depth) { return (int64_t{1} << (depth + 1)) - 1; }

// Nodes of a tree in which every node has two children or none (binary-trees'
// itemCheck). Never allocates, so raw pointers are fine.
template <typename Node>
int64_t CountNodes(const Node* node) {
  if (!node->left) return 1;
  return 1 + CountNodes<Node>(node->left) + CountNodes<Node>(node->right);
}

// ---------------------------------------------------------------------------------
// Trees policies: how each memory manager builds and drops the programs' trees.
//
//   Handle                  holds a node across allocations
//   ArrayHandle             holds GCBench's array
//   Scope(trees)            bounds the lifetime of handles made inside it
//   NewNode()               a childless node
//   MakeTree(depth)         a complete tree, built bottom-up
//   Populate(depth, node)   gives `node` a complete subtree of `depth`, top-down
//   Root(handle)            a raw pointer, valid until the next allocation
//   Drop(handle)            the tree is garbage now (new/delete frees it)
//   NewArray(), ArrayAt(), DropArray()

template <typename Payload>
class GclabTrees {
 public:
  using Node = GcNode<Payload>;
  using Handle = gclab::Local<Node>;
  using ArrayHandle = gclab::Local<GcDoubleArray>;

  class Scope {
   public:
    explicit Scope(GclabTrees& trees) : scope_(trees.heap_) {}

   private:
    gclab::HandleScope scope_;
  };

  explicit GclabTrees(gclab::Heap& heap) : heap_(heap) {}

  Handle NewNode() { return heap_.New<Node>(); }

  Handle MakeTree(int depth) {
    if (depth <= 0) return heap_.New<Node>();
    gclab::EscapableHandleScope scope(heap_);
    Handle left = MakeTree(depth - 1);
    Handle right = MakeTree(depth - 1);
    return scope.Escape(heap_.New<Node>(left, right));
  }

  // As GCBench writes it: node->left = new Node; node->right = new Node; recurse.
  void Populate(int depth, const Handle& node) {
    if (depth <= 0) return;
    --depth;
    // Raw pointers stored straight into a Member, before the next allocation.
    Node* left = heap_.NewRaw<Node>();
    node->left = left;
    Node* right = heap_.NewRaw<Node>();
    node->right = right;
    if (depth == 0) return;
    gclab::HandleScope scope(heap_);
    Populate(depth, Handle(heap_, node->left.Get()));
    Populate(depth, Handle(heap_, node->right.Get()));
  }

  static const Node* Root(const Handle& handle) { return handle.Get(); }
  static void Drop(Handle&) {}

  ArrayHandle NewArray() { return heap_.New<GcDoubleArray>(); }
  static double ArrayAt(const ArrayHandle& array, int i) { return array->values[i]; }
  static void DropArray(ArrayHandle&) {}

 private:
  gclab::Heap& heap_;
};

// Tree building for the baselines with plain pointers; `Derived::NewNode()` allocates.
template <typename Payload, typename Derived>
class PlainTrees {
 public:
  using Node = PlainNode<Payload>;
  using Handle = Node*;
  using ArrayHandle = double*;

  struct Scope {
    explicit Scope(Derived&) {}
  };

  Handle MakeTree(int depth) {
    if (depth <= 0) return self().NewNode();
    Node* left = MakeTree(depth - 1);
    Node* right = MakeTree(depth - 1);
    Node* node = self().NewNode();
    node->left = left;
    node->right = right;
    return node;
  }

  void Populate(int depth, Node* node) {
    if (depth <= 0) return;
    --depth;
    node->left = self().NewNode();
    node->right = self().NewNode();
    Populate(depth, node->left);
    Populate(depth, node->right);
  }

  static const Node* Root(Node* node) { return node; }
  static double ArrayAt(const ArrayHandle& array, int i) { return array[i]; }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

template <typename Payload>
class BoehmTrees : public PlainTrees<Payload, BoehmTrees<Payload>> {
 public:
  using Base = PlainTrees<Payload, BoehmTrees<Payload>>;
  using typename Base::ArrayHandle;
  using typename Base::Handle;
  using typename Base::Node;

  Handle NewNode() {
    void* memory = GC_MALLOC(sizeof(Node));
    if (memory == nullptr) OutOfMemory("GC_MALLOC");
    return ::new (memory) Node();
  }

  static void Drop(Handle& node) { node = nullptr; }  // no stale copy for the scanner

  ArrayHandle NewArray() {
    void* memory = GC_MALLOC_ATOMIC(sizeof(double) * kArraySize);  // no pointers inside
    if (memory == nullptr) OutOfMemory("GC_MALLOC_ATOMIC");
    auto* values = static_cast<double*>(memory);
    FillArray(values);
    return values;
  }
  static void DropArray(ArrayHandle& array) { array = nullptr; }
};

template <typename Payload>
class NewDeleteTrees : public PlainTrees<Payload, NewDeleteTrees<Payload>> {
 public:
  using Base = PlainTrees<Payload, NewDeleteTrees<Payload>>;
  using typename Base::ArrayHandle;
  using typename Base::Handle;
  using typename Base::Node;

  Handle NewNode() { return new Node(); }

  static void Drop(Handle& node) {
    DeleteTree(node);
    node = nullptr;
  }

  ArrayHandle NewArray() {
    auto* values = new double[kArraySize];
    FillArray(values);
    return values;
  }
  static void DropArray(ArrayHandle& array) {
    delete[] array;
    array = nullptr;
  }

 private:
  static void DeleteTree(Node* node) {
    if (node == nullptr) return;
    DeleteTree(node->left);
    DeleteTree(node->right);
    delete node;
  }
};

template <typename Payload>
class MimallocTrees : public PlainTrees<Payload, MimallocTrees<Payload>> {
 public:
  using Base = PlainTrees<Payload, MimallocTrees<Payload>>;
  using typename Base::ArrayHandle;
  using typename Base::Handle;
  using typename Base::Node;

  Handle NewNode() {
    void* memory = mi_->malloc(sizeof(Node));
    if (memory == nullptr) OutOfMemory("mi_malloc");
    return ::new (memory) Node();
  }
  void Drop(Handle& node) {
    DeleteTree(node);
    node = nullptr;
  }
  ArrayHandle NewArray() {
    auto* values = static_cast<double*>(mi_->malloc(sizeof(double) * kArraySize));
    if (values == nullptr) OutOfMemory("mi_malloc");
    FillArray(values);
    return values;
  }
  void DropArray(ArrayHandle& array) {
    mi_->free(array);
    array = nullptr;
  }

 private:
  void DeleteTree(Node* node) {
    if (node == nullptr) return;
    DeleteTree(node->left);
    DeleteTree(node->right);
    mi_->free(node);
  }
  const Mimalloc* mi_ = Mimalloc::Get();
};

// Reference counting with std::shared_ptr (make_shared: one allocation per node, with
// its control block), what a C++ programmer reaches for instead of a collector. A
// tree dies when its last shared_ptr goes: Drop is reset().
template <typename Payload>
struct SharedNode {
  // Converts to a raw pointer for CountNodes, like the other nodes' fields.
  struct Ref : std::shared_ptr<SharedNode> {
    using std::shared_ptr<SharedNode>::shared_ptr;
    Ref(std::shared_ptr<SharedNode> p) : std::shared_ptr<SharedNode>(std::move(p)) {}  // NOLINT
    operator const SharedNode*() const { return this->get(); }  // NOLINT
  };
  Ref left;
  Ref right;
  [[no_unique_address]] Payload payload;
};

template <typename Payload>
class SharedPtrTrees {
 public:
  using Node = SharedNode<Payload>;
  using Handle = typename Node::Ref;
  using ArrayHandle = std::shared_ptr<double[]>;
  struct Scope {
    explicit Scope(SharedPtrTrees&) {}
  };

  Handle NewNode() { return std::make_shared<Node>(); }
  Handle MakeTree(int depth) {
    Handle node = NewNode();
    if (depth > 0) {
      node->left = MakeTree(depth - 1);
      node->right = MakeTree(depth - 1);
    }
    return node;
  }
  void Populate(int depth, const Handle& node) {
    if (depth <= 0) return;
    --depth;
    node->left = NewNode();
    node->right = NewNode();
    Populate(depth, node->left);
    Populate(depth, node->right);
  }
  static const Node* Root(const Handle& node) { return node.get(); }
  static void Drop(Handle& node) { node.reset(); }
  ArrayHandle NewArray() {
    ArrayHandle values(new double[kArraySize]);
    FillArray(values.get());
    return values;
  }
  static double ArrayAt(const ArrayHandle& array, int i) { return array[i]; }
  static void DropArray(ArrayHandle& array) { array.reset(); }
};

// ---------------------------------------------------------------------------------
// The programs, written once over a trees policy. Each returns what must outlive the
// timed region (the long-lived data, dropped untimed) and whether its checks passed.

constexpr int kStretchTreeDepth = 18;
constexpr int kLongLivedTreeDepth = 16;
constexpr int kMinTreeDepth = 4;
constexpr int kMaxTreeDepth = 16;

constexpr int64_t NumIters(int depth) {
  return 2 * TreeSize(kStretchTreeDepth) / TreeSize(depth);
}

template <typename Trees>
struct GCBenchSurvivors {
  bool ok = false;
  typename Trees::Handle long_lived{};
  typename Trees::ArrayHandle array{};
  void Drop(Trees& trees) {
    trees.Drop(long_lived);
    trees.DropArray(array);
  }
};

template <typename Trees>
void TimeConstruction(Trees& trees, int depth) {
  const int64_t iterations = NumIters(depth);
  for (int64_t i = 0; i < iterations; ++i) {  // top-down
    typename Trees::Scope scope(trees);
    typename Trees::Handle tree = trees.NewNode();
    trees.Populate(depth, tree);
    trees.Drop(tree);
  }
  for (int64_t i = 0; i < iterations; ++i) {  // bottom-up
    typename Trees::Scope scope(trees);
    typename Trees::Handle tree = trees.MakeTree(depth);
    trees.Drop(tree);
  }
}

template <typename Trees>
GCBenchSurvivors<Trees> RunGCBench(Trees& trees) {
  GCBenchSurvivors<Trees> out;
  {  // Stretch the memory space quickly.
    typename Trees::Scope scope(trees);
    typename Trees::Handle stretch = trees.MakeTree(kStretchTreeDepth);
    trees.Drop(stretch);
  }
  out.long_lived = trees.NewNode();
  trees.Populate(kLongLivedTreeDepth, out.long_lived);
  out.array = trees.NewArray();
  for (int depth = kMinTreeDepth; depth <= kMaxTreeDepth; depth += 2) {
    TimeConstruction(trees, depth);
  }
  out.ok = CountNodes(trees.Root(out.long_lived)) == TreeSize(kLongLivedTreeDepth) &&
           trees.ArrayAt(out.array, 1000) == 1.0 / 1000;
  return out;
}

// `text` (from `source`, a flag or a variable) as an integer in [min, max]; stops the
// program with a message otherwise.
int64_t IntegerOrExit(const char* text, const char* source, int64_t min, int64_t max) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text, &end, 10);
  if (errno != 0 || *end != '\0' || value < min || value > max) {
    std::fprintf(stderr, "gc_benchmarks: %s must be an integer from %lld to %lld, got \"%s\"\n",
                 source, static_cast<long long>(min), static_cast<long long>(max), text);
    std::exit(2);
  }
  return value;
}

constexpr int kBinaryTreesMinDepth = 4;
constexpr int kBinaryTreesDefaultDepth = 21;
constexpr int kBinaryTreesMaxDepth = 24;  // the stretch tree then fills 2 GiB

template <typename Trees>
struct BinaryTreesSurvivors {
  bool ok = false;
  typename Trees::Handle long_lived{};
  void Drop(Trees& trees) { trees.Drop(long_lived); }
};

template <typename Trees>
int64_t BuildCheckDrop(Trees& trees, int depth) {
  typename Trees::Scope scope(trees);
  typename Trees::Handle tree = trees.MakeTree(depth);
  const int64_t nodes = CountNodes(trees.Root(tree));
  trees.Drop(tree);
  return nodes;
}

template <typename Trees>
BinaryTreesSurvivors<Trees> RunBinaryTrees(Trees& trees, int n) {
  BinaryTreesSurvivors<Trees> out;
  const int max_depth = std::max(kBinaryTreesMinDepth + 2, n);
  const int stretch_depth = max_depth + 1;
  bool ok = BuildCheckDrop(trees, stretch_depth) == TreeSize(stretch_depth);
  out.long_lived = trees.MakeTree(max_depth);
  for (int depth = kBinaryTreesMinDepth; depth <= max_depth; depth += 2) {
    const int64_t iterations = int64_t{1} << (max_depth - depth + kBinaryTreesMinDepth);
    int64_t check = 0;
    for (int64_t i = 0; i < iterations; ++i) check += BuildCheckDrop(trees, depth);
    ok = ok && check == iterations * TreeSize(depth);
  }
  out.ok = ok && CountNodes(trees.Root(out.long_lived)) == TreeSize(max_depth);
  return out;
}

// ---------------------------------------------------------------------------------
// Memory managers: set up before an iteration and torn down after it, untimed.

class GclabSystem {
 public:
  explicit GclabSystem(CollectorKind kind) : kind_(kind) {}

  absl::Status Setup() {
    auto heap = CreateHeap(kind_, ProgramHeapLimit());
    if (!heap.ok()) return heap.status();
    heap_ = std::move(*heap);
    return absl::OkStatus();
  }
  template <typename Payload>
  GclabTrees<Payload> MakeTrees() {
    return GclabTrees<Payload>(*heap_);
  }
  gclab::Heap& heap() { return *heap_; }
  void Teardown(Meter& meter) {
    meter.AddHeapStats(heap_->stats(), heap_->capabilities().incremental);
    meter.AddPauses(heap_->pauses(), heap_->capabilities().generational);
    heap_.reset();
  }

 private:
  CollectorKind kind_;
  std::unique_ptr<gclab::Heap> heap_;
};

class BoehmSystem {
 public:
  absl::Status Setup() {
    ReleaseMemory();  // start from an empty heap, as a new gclab heap does
    gc_no_ = GC_get_gc_no();
    gc_time_ms_ = GC_get_full_gc_total_time();
    return absl::OkStatus();
  }
  template <typename Payload>
  BoehmTrees<Payload> MakeTrees() {
    return BoehmTrees<Payload>();
  }
  void Teardown(Meter& meter) {
    meter.AddCollections(GC_get_gc_no() - gc_no_,
                         static_cast<double>(GC_get_full_gc_total_time() - gc_time_ms_));
    ReleaseMemory();  // give the memory back for the benchmarks that follow
  }

 private:
  // One call unmaps the blocks that were free before it; the blocks its collection
  // frees are unmapped by the next call (as observed with libgc 8.2).
  static void ReleaseMemory() {
    GC_gcollect_and_unmap();
    GC_gcollect_and_unmap();
  }

  GC_word gc_no_ = 0;
  unsigned long gc_time_ms_ = 0;
};

class NewDeleteSystem {
 public:
  absl::Status Setup() { return absl::OkStatus(); }
  template <typename Payload>
  NewDeleteTrees<Payload> MakeTrees() {
    return NewDeleteTrees<Payload>();
  }
  void Teardown(Meter&) { malloc_trim(0); }
};

class MimallocSystem {
 public:
  absl::Status Setup() {
    if (Mimalloc::Get() == nullptr) {
      return absl::UnavailableError(
          "libmimalloc.so.2 is not installed (apt-get install libmimalloc2.0)");
    }
    return absl::OkStatus();
  }
  template <typename Payload>
  MimallocTrees<Payload> MakeTrees() {
    return MimallocTrees<Payload>();
  }
  void Teardown(Meter&) { Mimalloc::Get()->collect(true); }
};

class SharedPtrSystem {
 public:
  absl::Status Setup() { return absl::OkStatus(); }
  template <typename Payload>
  SharedPtrTrees<Payload> MakeTrees() {
    return SharedPtrTrees<Payload>();
  }
  void Teardown(Meter&) { malloc_trim(0); }
};

// Runs `program` once per benchmark iteration on what `make_trees(system)` returns (a
// trees or quads policy with a Scope); the program returns its survivors, with `ok`
// and a Drop() outside the timed region.
template <typename System, typename MakeTrees, typename Program>
void RunProgram(benchmark::State& state, const std::string& family, const std::string& variant,
                System& system, const MakeTrees& make_trees, const Program& program) {
  Meter meter;
  double program_ms = 0;
  for (auto _ : state) {
    state.PauseTiming();
    if (absl::Status status = system.Setup(); !status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
    bool ok;
    {
      auto trees = make_trees(system);
      typename decltype(trees)::Scope scope(trees);
      meter.Start();
      state.ResumeTiming();
      const auto start = std::chrono::steady_clock::now();
      auto survivors = program(trees);
      const auto end = std::chrono::steady_clock::now();
      program_ms += std::chrono::duration<double, std::milli>(end - start).count();
      meter.SetProgramWindow(start, end);
      state.PauseTiming();
      ok = survivors.ok;
      survivors.Drop(trees);
    }
    system.Teardown(meter);
    meter.Stop();
    state.ResumeTiming();
    if (!ok) {
      state.SkipWithError("the program's self-check failed (wrong node count or data)");
      return;
    }
  }
  meter.Publish(state);
  const double ms = program_ms / static_cast<double>(std::max<int64_t>(1, state.iterations()));
  RecordAndCompare(state, family, variant, ms / 1e3);
}

// `args` construct the System (a collector kind for gclab; nothing for baselines).
// `variant` is the benchmark's name after the family (a collector or a baseline).
template <typename System, typename... Args>
void BM_GCBench(benchmark::State& state, std::string variant, Args... args) {
  System system(args...);
  RunProgram(
      state, "BM_GCBench", variant, system,
      [](System& s) { return s.template MakeTrees<GCBenchPayload>(); },
      [](auto& trees) { return RunGCBench(trees); });
}

template <typename System, typename... Args>
void BM_BinaryTrees(benchmark::State& state, std::string variant, int depth, Args... args) {
  System system(args...);
  state.SetLabel("depth=" + std::to_string(std::max(kBinaryTreesMinDepth + 2, depth)));
  RunProgram(
      state, "BM_BinaryTrees", variant, system,
      [](System& s) { return s.template MakeTrees<NoPayload>(); },
      [depth](auto& trees) { return RunBinaryTrees(trees, depth); });
}

// ---------------------------------------------------------------------------------
// BM_Quads: after Whippet's quads benchmark. A long-lived tree of quads (four children
// each) of depth GCLAB_QUADS_DEPTH (10 by default: 1,398,101 nodes), then rounds of
// garbage: quad trees of depth 3 (85 nodes each), GCLAB_QUADS_GARBAGE_MIB (256) MiB of
// them per round counted as Whippet counts them (32 bytes of children per node), ten
// rounds, the live tree validated after each. The generational case at its purest: a
// large old structure that only a major collection needs to trace, and young garbage.

constexpr int kQuadsGarbageDepth = 3;
constexpr int kQuadsRounds = 10;

int64_t QuadTreeSize(int depth) { return depth < 0 ? 0 : 4 * QuadTreeSize(depth - 1) + 1; }

struct QuadsSize {
  int depth = 10;
  int64_t garbage_trees_per_round = 0;
};

// An environment variable as an integer in [min, max], or `fallback` when unset.
int64_t EnvInteger(const char* name, int64_t fallback, int64_t min, int64_t max) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return IntegerOrExit(text, name, min, max);
}

QuadsSize QuadsSizeFromEnvironment() {
  QuadsSize size;
  size.depth = static_cast<int>(EnvInteger("GCLAB_QUADS_DEPTH", 10, 1, 12));
  const int64_t mib = EnvInteger("GCLAB_QUADS_GARBAGE_MIB", 256, 1, 16384);
  size.garbage_trees_per_round =
      std::max<int64_t>(1, (mib << 20) / (QuadTreeSize(kQuadsGarbageDepth) * 4 * 8));
  return size;
}

class GcQuad final : public gclab::GarbageCollected<GcQuad> {
 public:
  void Trace(gclab::Visitor& visitor) const {
    for (const gclab::Member<GcQuad>& kid : kids) visitor.Trace(kid);
  }
  gclab::Member<GcQuad> kids[4];
};

struct PlainQuad {
  PlainQuad* kids[4] = {};
};

int64_t CountQuads(const PlainQuad* quad) {
  if (quad == nullptr) return 0;
  int64_t n = 1;
  for (const PlainQuad* kid : quad->kids) n += CountQuads(kid);
  return n;
}
int64_t CountQuads(const GcQuad* quad) {
  if (quad == nullptr) return 0;
  int64_t n = 1;
  for (const gclab::Member<GcQuad>& kid : quad->kids) n += CountQuads(kid.Get());
  return n;
}

// What RunQuads leaves: nothing (it drops its live tree, in the timed region).
struct QuadsSurvivors {
  bool ok = false;
  template <typename Quads>
  void Drop(Quads&) {}
};

// The program, on `Quads`: Tree Make(depth), void Drop(Tree&), const Node* Root(Tree).
template <typename Quads>
QuadsSurvivors RunQuads(Quads& quads, const QuadsSize& size) {
  auto live = quads.Make(size.depth);
  bool ok = CountQuads(quads.Root(live)) == QuadTreeSize(size.depth);
  for (int round = 0; round < kQuadsRounds; ++round) {
    for (int64_t i = 0; i < size.garbage_trees_per_round; ++i) {
      typename Quads::Scope scope(quads);
      auto garbage = quads.Make(kQuadsGarbageDepth);
      quads.Drop(garbage);
    }
    ok = ok && CountQuads(quads.Root(live)) == QuadTreeSize(size.depth);
  }
  quads.Drop(live);
  return {ok};
}

class GclabQuads {
 public:
  using Tree = gclab::Local<GcQuad>;
  class Scope {
   public:
    explicit Scope(GclabQuads& quads) : scope_(quads.heap_) {}

   private:
    gclab::HandleScope scope_;
  };
  explicit GclabQuads(gclab::Heap& heap) : heap_(heap) {}
  Tree Make(int depth) {
    if (depth < 0) return Tree();
    gclab::EscapableHandleScope scope(heap_);
    Tree kids[4];
    for (Tree& kid : kids) kid = Make(depth - 1);
    Tree quad = heap_.New<GcQuad>();
    for (int i = 0; i < 4; ++i) quad->kids[i] = kids[i];
    return scope.Escape(quad);
  }
  static void Drop(Tree&) {}
  static const GcQuad* Root(const Tree& tree) { return tree.Get(); }

 private:
  gclab::Heap& heap_;
};

// Plain pointers: `allocate` returns memory for a PlainQuad; `release`, if not null,
// frees a dropped tree node by node (new/delete, mimalloc); Boehm leaves it to its
// collector.
class PlainQuads {
 public:
  using Tree = PlainQuad*;
  struct Scope {
    explicit Scope(PlainQuads&) {}
  };
  PlainQuads(void* (*allocate)(size_t), void (*release)(void*))
      : allocate_(allocate), release_(release) {}
  Tree Make(int depth) {
    if (depth < 0) return nullptr;
    PlainQuad* kids[4];
    for (PlainQuad*& kid : kids) kid = Make(depth - 1);
    void* memory = allocate_(sizeof(PlainQuad));
    if (memory == nullptr) OutOfMemory("a quad");
    auto* quad = ::new (memory) PlainQuad();
    for (int i = 0; i < 4; ++i) quad->kids[i] = kids[i];
    return quad;
  }
  void Drop(Tree& tree) {
    if (release_ != nullptr) Release(tree);
    tree = nullptr;
  }
  static const PlainQuad* Root(Tree tree) { return tree; }

 private:
  void Release(PlainQuad* quad) {
    if (quad == nullptr) return;
    for (PlainQuad* kid : quad->kids) Release(kid);
    quad->~PlainQuad();
    release_(quad);
  }
  void* (*allocate_)(size_t);
  void (*release_)(void*);
};

void* NewQuadMemory(size_t size) { return ::operator new(size); }
void DeleteQuadMemory(void* p) { ::operator delete(p); }
void* BoehmQuadMemory(size_t size) { return GC_MALLOC(size); }

// Quads on `system`, as RunProgram runs the tree programs.
template <typename System, typename MakeQuads>
void RunQuadsBenchmark(benchmark::State& state, const std::string& variant, System& system,
                       const MakeQuads& make_quads) {
  const QuadsSize size = QuadsSizeFromEnvironment();
  state.SetLabel("depth=" + std::to_string(size.depth));
  RunProgram(state, "BM_Quads", variant, system, make_quads,
             [&size](auto& quads) { return RunQuads(quads, size); });
}

void BM_QuadsNewDelete(benchmark::State& state) {
  NewDeleteSystem system;
  RunQuadsBenchmark(state, "new-delete", system,
                    [](NewDeleteSystem&) { return PlainQuads(NewQuadMemory, DeleteQuadMemory); });
}
void BM_QuadsBoehm(benchmark::State& state) {
  BoehmSystem system;
  RunQuadsBenchmark(state, "boehm", system,
                    [](BoehmSystem&) { return PlainQuads(BoehmQuadMemory, nullptr); });
}
void BM_QuadsGclab(benchmark::State& state, CollectorKind kind) {
  GclabSystem system(kind);
  RunQuadsBenchmark(state, std::string(gclab::CollectorName(kind)), system,
                    [](GclabSystem& s) { return GclabQuads(s.heap()); });
}

// ---------------------------------------------------------------------------------
// mimalloc as its users link it. A program linked against libmimalloc gets mimalloc's
// malloc, free, new and delete for everything it allocates; this binary built again with
// -l:libmimalloc.so.2 (gc_benchmarks_mimalloc, beside this one) runs the new-delete
// program of a family in a process of its own, and BM_*/mimalloc reports its time.

// True if this process's malloc is mimalloc's (the binary was linked against it).
bool MallocIsMimalloc() {
  using InHeap = bool (*)(const void*);
  auto in_heap = reinterpret_cast<InHeap>(dlsym(RTLD_DEFAULT, "mi_is_in_heap_region"));
  if (in_heap == nullptr) return false;
  void* probe = std::malloc(64);
  const bool mine = in_heap(probe);
  std::free(probe);
  return mine;
}

// The child's side: `--linked_child=GCBench`, `=BinaryTrees` or `=Quads` runs that
// program once on new/delete and prints "<seconds> <peak RSS MiB> <RSS MiB at its start> <1 if its
// self-check passed>".
int RunLinkedChild(std::string_view program, int depth) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's malloc replaces every other: the child still runs the program
  // (new and delete go to mimalloc), for the smoke test, which measures nothing.
  constexpr bool kSanitizerOwnsMalloc = true;
#else
  constexpr bool kSanitizerOwnsMalloc = false;
#endif
  if (!kSanitizerOwnsMalloc && !MallocIsMimalloc()) {
    std::fprintf(stderr,
                 "gc_benchmarks: --linked_child needs the binary linked against mimalloc "
                 "(gc_benchmarks_mimalloc); this one's malloc is not mimalloc's\n");
    return 3;
  }
  auto run = [](auto& trees, const auto& program_fn) {
    typename std::remove_reference_t<decltype(trees)>::Scope scope(trees);
    const double rss_start = CurrentRssMb();
    ResetPeakRss();
    const auto start = std::chrono::steady_clock::now();
    auto survivors = program_fn(trees);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double peak = PeakRssMb();
    survivors.Drop(trees);
    std::printf("%.9f %.3f %.3f %d\n", seconds, peak, rss_start, survivors.ok ? 1 : 0);
  };
  if (program == "GCBench") {
    NewDeleteTrees<GCBenchPayload> trees;
    run(trees, [](auto& t) { return RunGCBench(t); });
  } else if (program == "BinaryTrees") {
    NewDeleteTrees<NoPayload> trees;
    run(trees, [depth](auto& t) { return RunBinaryTrees(t, depth); });
  } else if (program == "Quads") {
    PlainQuads quads(NewQuadMemory, DeleteQuadMemory);
    const QuadsSize size = QuadsSizeFromEnvironment();
    run(quads, [&size](auto& q) { return RunQuads(q, size); });
  } else {
    std::fprintf(stderr,
                 "gc_benchmarks: --linked_child must be GCBench, BinaryTrees or Quads, got '%s'\n",
                 std::string(program).c_str());
    return 2;
  }
  return 0;
}

// The parent's side: runs gc_benchmarks_mimalloc from this binary's folder.
void BM_LinkedMimalloc(benchmark::State& state, std::string family, std::string program,
                       int depth) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    state.SkipWithError("cannot read /proc/self/exe to find gc_benchmarks_mimalloc");
    return;
  }
  self[n] = '\0';
  std::string child(self);
  child = child.substr(0, child.rfind('/') + 1) + "gc_benchmarks_mimalloc";
  const std::string command = "'" + child + "' --linked_child=" + program +
                              " --binary_trees_depth=" + std::to_string(depth);
  if (program == "BinaryTrees") {
    state.SetLabel("depth=" + std::to_string(std::max(kBinaryTreesMinDepth + 2, depth)));
  } else if (program == "Quads") {
    state.SetLabel("depth=" + std::to_string(QuadsSizeFromEnvironment().depth));
  }
  double seconds = 0, peak_rss_mb = 0, rss_start_mb = 0;
  for (auto _ : state) {
    FILE* pipe = popen(command.c_str(), "r");
    double s = 0, rss = 0, start = 0;
    int ok = 0;
    const int read =
        pipe != nullptr ? std::fscanf(pipe, "%lf %lf %lf %d", &s, &rss, &start, &ok) : 0;
    const int status = pipe != nullptr ? pclose(pipe) : -1;
    if (read != 4 || status != 0) {
      state.SkipWithError(("running " + child +
                           " failed (is libmimalloc2.0 installed, and was it built?)")
                              .c_str());
      return;
    }
    if (ok != 1) {
      state.SkipWithError("the program's self-check failed (wrong node count or data)");
      return;
    }
    state.SetIterationTime(s);
    seconds += s;
    peak_rss_mb = std::max(peak_rss_mb, rss);
    rss_start_mb = std::max(rss_start_mb, start);
  }
  state.counters["peak_rss_mb"] = peak_rss_mb;
  state.counters["rss_start_mb"] = rss_start_mb;
  RecordAndCompare(state, family, "mimalloc",
                   seconds / static_cast<double>(std::max<int64_t>(1, state.iterations())));
}

// ---------------------------------------------------------------------------------
// Registration and main.

// --binary_trees_depth=N (removed from argv), else GCLAB_BINARY_TREES_DEPTH, else 21.
int BinaryTreesDepth(int* argc, char** argv) {
  constexpr std::string_view kFlag = "--binary_trees_depth=";
  const char* text = std::getenv("GCLAB_BINARY_TREES_DEPTH");
  const char* source = "GCLAB_BINARY_TREES_DEPTH";
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, kFlag.size()) == kFlag) {
      text = argv[i] + kFlag.size();
      source = "--binary_trees_depth";
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  argv[kept] = nullptr;
  if (text == nullptr || *text == '\0') return kBinaryTreesDefaultDepth;
  return static_cast<int>(IntegerOrExit(text, source, 1, kBinaryTreesMaxDepth));
}

// ---------------------------------------------------------------------------------
// BM_UsableHeap: the heap limit under fragmentation.

// 64 MiB; GCLAB_USABLE_HEAP_MIB=N for another size (the smoke test's 16).
size_t UsableHeapLimit() {
  static const size_t limit = [] {
    const char* text = std::getenv("GCLAB_USABLE_HEAP_MIB");
    if (text == nullptr || *text == '\0') return 64 * kMiB;
    return static_cast<size_t>(IntegerOrExit(text, "GCLAB_USABLE_HEAP_MIB", 4, 4096)) * kMiB;
  }();
  return limit;
}

// Two small classes (32- and 48-byte cells) and a 2 KiB one.
template <size_t kPad>
class Chained final : public gclab::GarbageCollected<Chained<kPad>> {
 public:
  explicit Chained(int64_t v) noexcept : value(v) {}
  void Trace(gclab::Visitor& v) const { v.Trace(next); }
  int64_t value;
  int64_t pad[kPad] = {};
  gclab::Member<Chained> next;
};
static_assert(gclab::internal::CellSizeFor(sizeof(Chained<1>)) == 32);
static_assert(gclab::internal::CellSizeFor(sizeof(Chained<3>)) == 48);
using Medium = Chained<252>;  // a 2 KiB cell

// Fills the heap with T until TryNew fails; keeps one in 8,192 in `kept`.
template <typename T>
void FillSparse(gclab::Heap& heap, std::vector<gclab::Persistent<T>>& kept) {
  gclab::Persistent<T> head;
  for (int64_t i = 0;; ++i) {
    gclab::HandleScope scope(heap);
    absl::StatusOr<gclab::Local<T>> object = heap.TryNew<T>(i);
    if (!object.ok()) break;
    (*object)->next = head.Get();
    head.Set(heap, object->Get());
  }
  int64_t index = 0;
  for (T* n = head.Get(); n != nullptr; n = n->next.Get(), ++index) {
    if (index % 8192 == 0) kept.emplace_back(heap, n);
  }
  for (gclab::Persistent<T>& k : kept) k->next = nullptr;
  head.Reset();
  heap.CollectGarbage();
}

void BM_UsableHeap(benchmark::State& state, CollectorKind kind) {
  const int turnovers = static_cast<int>(state.range(0));
  double usable_pct = 0, fragmented_mb = 0, live_kb = 0, committed_mb = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto heap = CreateHeap(kind, UsableHeapLimit());
    if (!heap.ok()) {
      state.SkipWithError(std::string(heap.status().message()).c_str());
      return;
    }
    gclab::Heap& h = **heap;
    state.ResumeTiming();
    std::vector<gclab::Persistent<Chained<1>>> kept_small;
    std::vector<gclab::Persistent<Chained<3>>> kept_wide;
    FillSparse(h, kept_small);
    if (turnovers > 1) FillSparse(h, kept_wide);
    const gclab::HeapStatistics after = h.stats();
    std::vector<gclab::Persistent<Medium>> medium;
    for (int64_t i = 0;; ++i) {
      gclab::HandleScope scope(h);
      absl::StatusOr<gclab::Local<Medium>> object = h.TryNew<Medium>(i);
      if (!object.ok()) break;
      medium.emplace_back(h, *object);
    }
    const uint64_t usable = h.stats().bytes_allocated - after.bytes_allocated;
    usable_pct = 100.0 * static_cast<double>(usable) /
                 static_cast<double>(UsableHeapLimit() - after.live_bytes);
    fragmented_mb = static_cast<double>(after.fragmented_bytes) / kMiB;
    live_kb = static_cast<double>(after.live_bytes) / 1024;
    committed_mb = static_cast<double>(h.stats().committed_bytes) / kMiB;
    state.PauseTiming();
    medium.clear();
    kept_small.clear();
    kept_wide.clear();
    heap->reset();
    state.ResumeTiming();
  }
  state.counters["usable_pct"] = usable_pct;
  state.counters["fragmented_mb"] = fragmented_mb;
  state.counters["live_kb"] = live_kb;
  state.counters["committed_mb"] = committed_mb;
}

// ---------------------------------------------------------------------------------
// BM_HeapSnapshot: a DevTools heap snapshot against a full collection of one heap.

class SnapshotNode final : public gclab::GarbageCollected<SnapshotNode> {
 public:
  static constexpr std::string_view kTypeName = "TreeNode";
  void Trace(gclab::Visitor& visitor) const {
    visitor.Trace(left, "left");
    visitor.Trace(right, "right");
  }
  gclab::Member<SnapshotNode> left;
  gclab::Member<SnapshotNode> right;
  int64_t value = 0;
};

gclab::Local<SnapshotNode> MakeSnapshotTree(gclab::Heap& heap, int depth) {
  gclab::EscapableHandleScope scope(heap);
  gclab::Local<SnapshotNode> node = heap.New<SnapshotNode>();
  node->value = depth;
  if (depth > 0) {
    gclab::Local<SnapshotNode> left = MakeSnapshotTree(heap, depth - 1);
    node->left = left.Get();
    gclab::Local<SnapshotNode> right = MakeSnapshotTree(heap, depth - 1);
    node->right = right.Get();
  }
  return scope.Escape(node);
}

// Counts what is written and keeps none of it.
class DiscardingBuffer final : public std::streambuf {
 public:
  size_t bytes() const { return bytes_; }

 protected:
  std::streamsize xsputn(const char*, std::streamsize n) override {
    bytes_ += static_cast<size_t>(n);
    return n;
  }
  int overflow(int c) override {
    ++bytes_;
    return c;
  }

 private:
  size_t bytes_ = 0;
};

int SnapshotDepth() {
  const char* text = std::getenv("GCLAB_SNAPSHOT_DEPTH");
  if (text == nullptr || *text == '\0') return 19;
  char* end = nullptr;
  const long depth = std::strtol(text, &end, 10);
  if (*end != '\0' || depth < 1 || depth > 24) {
    std::fprintf(stderr, "gc_benchmarks: GCLAB_SNAPSHOT_DEPTH must be 1..24, got '%s'\n", text);
    std::exit(2);
  }
  return static_cast<int>(depth);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void BM_HeapSnapshot(benchmark::State& state, CollectorKind kind) {
  using Clock = std::chrono::steady_clock;
  const int depth = SnapshotDepth();
  const size_t objects = (size_t{1} << (depth + 1)) - 1;
  auto heap = CreateHeap(kind, ProgramHeapLimit());
  if (!heap.ok()) {
    state.SkipWithError(std::string(heap.status().message()).c_str());
    return;
  }
  gclab::Heap& h = **heap;
  gclab::Persistent<SnapshotNode> tree;
  {
    gclab::HandleScope scope(h);
    tree = gclab::Persistent<SnapshotNode>(h, MakeSnapshotTree(h, depth), "tree");
  }
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/gclab_bench_" + std::to_string(getpid()) +
      ".heapsnapshot";
  std::vector<double> collection_ms, snapshot_ms, write_ms;
  double file_ms = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    for (int round = 0; round < 5; ++round) {
      auto begin = Clock::now();
      h.CollectGarbage();
      collection_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
      DiscardingBuffer discard;
      std::ostream out(&discard);
      gclab::HeapSnapshotSummary summary;
      begin = Clock::now();
      const absl::Status status = h.WriteHeapSnapshot(out, &summary);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
      if (!status.ok() || summary.object_nodes != objects || discard.bytes() != summary.bytes_written) {
        state.SkipWithError(("snapshot: " + status.ToString() + ", " +
                             std::to_string(summary.object_nodes) + " objects")
                                .c_str());
        return;
      }
      snapshot_ms.push_back(ms);
      write_ms.push_back(ms - absl::ToDoubleMilliseconds(h.stats().last_cycle.pause));
      bytes = summary.bytes_written;
    }
    const auto begin = Clock::now();
    const absl::Status status = h.WriteHeapSnapshot(path);
    file_ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
    std::remove(path.c_str());
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      return;
    }
    state.SetIterationTime(Median(snapshot_ms) / 1000);
  }
  state.counters["objects"] = static_cast<double>(objects);
  state.counters["collection_ms"] = Median(collection_ms);
  state.counters["snapshot_ms"] = Median(snapshot_ms);
  state.counters["x_collection"] = Median(snapshot_ms) / Median(collection_ms);
  state.counters["write_ms"] = Median(write_ms);
  state.counters["file_ms"] = file_ms;
  state.counters["snapshot_mb"] = static_cast<double>(bytes) / kMiB;
}

// The machine's own stalls, the floor under every "longest pause" above: for
// 10 seconds the program does nothing but fixed chunks of work (2,048 random
// read-modify-writes in a 64 MiB array, tens of microseconds), with no collector and
// no allocation, and times each chunk. A chunk that takes a millisecond was stopped
// by something outside the program (the hypervisor, the kernel, the other core's
// work); a collector's pause in the same run can be that long for the same reason.
// GCLAB_STALL_SECONDS=S runs it for S seconds instead (the smoke test's 0.2).
double StallSeconds() {
  const char* text = std::getenv("GCLAB_STALL_SECONDS");
  if (text == nullptr || *text == '\0') return 10;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (*end != '\0' || !(seconds > 0 && seconds <= 3600)) {
    std::fprintf(stderr, "gc_benchmarks: GCLAB_STALL_SECONDS must be a number of seconds in "
                         "(0, 3600], got '%s'\n", text);
    std::exit(2);
  }
  return seconds;
}

void BM_MachineStalls(benchmark::State& state) {
  const double stall_seconds = StallSeconds();
  using Clock = std::chrono::steady_clock;
  std::vector<uint64_t> memory(size_t{8} << 20);  // 64 MiB, touched before timing
  for (size_t i = 0; i < memory.size(); ++i) memory[i] = i;
  const size_t mask = memory.size() - 1;
  uint64_t x = 88172645463325252ULL;
  std::vector<double> chunks_us;
  chunks_us.reserve(1 << 20);
  for (auto _ : state) {
    chunks_us.clear();
    const auto end = Clock::now() + std::chrono::duration<double>(stall_seconds);
    for (auto now = Clock::now(); now < end;) {
      for (int i = 0; i < 2048; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
        memory[x & mask] += x;
      }
      const auto after = Clock::now();
      chunks_us.push_back(std::chrono::duration<double, std::micro>(after - now).count());
      now = after;
    }
  }
  benchmark::DoNotOptimize(memory.data());
  std::vector<double>& sorted = chunks_us;
  std::sort(sorted.begin(), sorted.end());
  auto over = [&](double us) {
    return static_cast<double>(sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), us));
  };
  state.counters["chunks"] = static_cast<double>(sorted.size());
  state.counters["chunk_p50_us"] = sorted[sorted.size() / 2];
  state.counters["max_stall_ms"] = sorted.back() / 1000;
  state.counters["stalls_over_0.5ms"] = over(500);
  state.counters["stalls_over_1ms"] = over(1000);
  state.counters["seconds"] = stall_seconds;
}

void RegisterBenchmarks(int binary_trees_depth) {
  // Baselines first in each family: the gclab runs report their ratios to them.
  benchmark::RegisterBenchmark("BM_MachineStalls", BM_MachineStalls)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_Alloc/bump-pointer", BM_AllocBumpPointer)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Alloc/new-delete", BM_AllocNewDelete)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Alloc/boehm", BM_AllocBoehm)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Alloc/mimalloc", BM_AllocMimalloc)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Alloc/shared_ptr", BM_AllocSharedPtr)
      ->Unit(benchmark::kMillisecond);
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_Alloc/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_AllocGclab, kind)
        ->Unit(benchmark::kMillisecond);
  }

  benchmark::RegisterBenchmark("BM_GCBench/new-delete", BM_GCBench<NewDeleteSystem>,
                               std::string("new-delete"))
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_GCBench/boehm", BM_GCBench<BoehmSystem>,
                               std::string("boehm"))
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_GCBench/mimalloc", BM_LinkedMimalloc, std::string("BM_GCBench"),
                               std::string("GCBench"), binary_trees_depth)
      ->Unit(benchmark::kMillisecond)
      ->UseManualTime()
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_GCBench/mimalloc-dlopen", BM_GCBench<MimallocSystem>,
                               std::string("mimalloc-dlopen"))
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_GCBench/shared_ptr", BM_GCBench<SharedPtrSystem>,
                               std::string("shared_ptr"))
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);

  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_GCBench/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_GCBench<GclabSystem, CollectorKind>,
                                 std::string(gclab::CollectorName(kind)), kind)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
  const int depth = binary_trees_depth;
  benchmark::RegisterBenchmark("BM_BinaryTrees/new-delete", BM_BinaryTrees<NewDeleteSystem>,
                               std::string("new-delete"), depth)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_BinaryTrees/boehm", BM_BinaryTrees<BoehmSystem>,
                               std::string("boehm"), depth)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_BinaryTrees/mimalloc", BM_LinkedMimalloc, std::string("BM_BinaryTrees"),
                               std::string("BinaryTrees"), depth)
      ->Unit(benchmark::kMillisecond)
      ->UseManualTime()
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_BinaryTrees/mimalloc-dlopen", BM_BinaryTrees<MimallocSystem>,
                               std::string("mimalloc-dlopen"), depth)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_BinaryTrees/shared_ptr", BM_BinaryTrees<SharedPtrSystem>,
                               std::string("shared_ptr"), depth)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_BinaryTrees/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_BinaryTrees<GclabSystem, CollectorKind>,
                                 std::string(gclab::CollectorName(kind)), depth, kind)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
  benchmark::RegisterBenchmark("BM_Quads/new-delete", BM_QuadsNewDelete)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_Quads/boehm", BM_QuadsBoehm)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("BM_Quads/mimalloc", BM_LinkedMimalloc, std::string("BM_Quads"),
                               std::string("Quads"), depth)
      ->Unit(benchmark::kMillisecond)
      ->UseManualTime()
      ->Iterations(1);
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_Quads/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_QuadsGclab, kind)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_HeapSnapshot/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_HeapSnapshot, kind)
        ->Unit(benchmark::kMillisecond)
        ->UseManualTime()
        ->Iterations(1);
  }
  for (CollectorKind kind : gclab::AllCollectors()) {
    const std::string name = "BM_UsableHeap/" + std::string(gclab::CollectorName(kind));
    benchmark::RegisterBenchmark(name.c_str(), BM_UsableHeap, kind)
        ->Arg(1)
        ->Arg(2)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
}

}  // namespace
}  // namespace gclab_bench

int main(int argc, char** argv) {
  GC_INIT();
  GC_start_performance_measurement();
  if (const size_t limit = gclab_bench::HeapLimitFromEnvironment(0); limit != 0) {
    // Boehm at the same fixed heap size as the gclab heaps: past it, its allocation
    // fails, and the program says so and exits, as a gclab heap's does.
    GC_set_max_heap_size(limit);
    GC_set_oom_fn([](size_t bytes) -> void* {
      std::fprintf(stderr, "boehm: out of memory at the maximum heap size (%zu bytes asked)\n",
                   bytes);
      std::_Exit(3);
    });
  }
  const int depth = gclab_bench::BinaryTreesDepth(&argc, argv);
  constexpr std::string_view kChild = "--linked_child=";
  if (argc == 2 && std::string_view(argv[1]).substr(0, kChild.size()) == kChild) {
    return gclab_bench::RunLinkedChild(std::string_view(argv[1]).substr(kChild.size()), depth);
  }
  gclab_bench::RegisterBenchmarks(depth);
  benchmark::AddCustomContext("binary_trees_depth", std::to_string(depth));
  benchmark::AddCustomContext("gclab_policy", gclab_bench::PolicyDescription());
  gclab_bench::AddCollectorOptionsContext();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
