// gclab benchmarks: ratios of every gclab run to the baselines measured in the same
// process and run.
//
// In each benchmark family the baselines (Boehm GC, glibc new/delete, mimalloc,
// std::shared_ptr, manual free...) are registered before the gclab collectors. A
// baseline reports its time per unit of work with Record(); a gclab run then publishes,
// for every baseline recorded in its family, the counter x_<baseline> = its time over
// the baseline's: 0.50 means gclab took half the baseline's time.
#ifndef GCLAB_BENCHMARKS_BASELINES_H_
#define GCLAB_BENCHMARKS_BASELINES_H_

#include <dlfcn.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "gc/gc.h"

namespace gclab_bench {

inline bool IsGclabVariant(std::string_view variant) {
  for (gclab::CollectorKind kind : gclab::AllCollectors()) {
    if (gclab::CollectorName(kind) == variant) return true;
  }
  return false;
}

// Records `seconds` (per unit of work) for `variant` of `family`: kept if it is a
// baseline, published against the recorded baselines if it is a gclab collector.
inline void RecordAndCompare(benchmark::State& state, const std::string& family,
                             const std::string& variant, double seconds) {
  using Times = std::vector<std::pair<std::string, double>>;
  static auto* families = new std::vector<std::pair<std::string, Times>>();
  Times* times = nullptr;
  for (auto& [f, t] : *families) {
    if (f == family) times = &t;
  }
  if (times == nullptr) {
    families->push_back({family, {}});
    times = &families->back().second;
  }
  if (!IsGclabVariant(variant)) {
    for (auto& [name, value] : *times) {
      if (name == variant) {
        value = seconds;
        return;
      }
    }
    times->push_back({variant, seconds});
    return;
  }
  for (const auto& [baseline, baseline_seconds] : *times) {
    if (baseline_seconds > 0) state.counters["x_" + baseline] = seconds / baseline_seconds;
  }
}

// For the Boehm GC baselines: Boehm scans the stack conservatively, so a stale copy
// of a pointer in a dead stack slot keeps its object (and all it reaches) alive.
// Overwriting `kBytes` of stack below the caller, after out-of-line work that left such
// copies, lets the next collection see what really is garbage.
template <size_t kBytes = 64 * 1024>
__attribute__((noinline)) void ClearStack() {
  volatile char buffer[kBytes];
  for (size_t i = 0; i < sizeof buffer; ++i) buffer[i] = 0;
}

// mimalloc's own API, from the Debian package, loaded with dlopen(RTLD_LOCAL): its
// shared library also exports malloc, and linking it would replace glibc's malloc
// for every other benchmark in this process. Null when it is not installed.
struct Mimalloc {
  void* (*malloc)(size_t) = nullptr;
  void (*free)(void*) = nullptr;
  void (*collect)(bool) = nullptr;

  static const Mimalloc* Get() {
    static const Mimalloc* loaded = [] {
      void* lib = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
      if (lib == nullptr) return static_cast<Mimalloc*>(nullptr);
      auto* m = new Mimalloc();
      m->malloc = reinterpret_cast<void* (*)(size_t)>(dlsym(lib, "mi_malloc"));
      m->free = reinterpret_cast<void (*)(void*)>(dlsym(lib, "mi_free"));
      m->collect = reinterpret_cast<void (*)(bool)>(dlsym(lib, "mi_collect"));
      if (m->malloc == nullptr || m->free == nullptr || m->collect == nullptr) {
        return static_cast<Mimalloc*>(nullptr);
      }
      return m;
    }();
    return loaded;
  }
};

}  // namespace gclab_bench

#endif  // GCLAB_BENCHMARKS_BASELINES_H_
