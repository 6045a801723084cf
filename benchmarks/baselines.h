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
#include <cstdio>
#include <cstdlib>
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

// GCLAB_COLLECTOR_OPTIONS="nursery-max=4M,nursery=1M": options (HeapOptions::
// collector_options) for every gclab heap a suite makes, each one given to the
// collectors that read it (CollectorInfo::options), so a researcher can sweep an option
// without editing a benchmark. A name no registered collector reads, or an entry
// without '=', stops the program with a message. Suites record the variable in their
// JSON context (AddCollectorOptionsContext).
inline gclab::CollectorOptions CollectorOptionsFromEnvironment(gclab::CollectorKind kind) {
  gclab::CollectorOptions out;
  const char* text = std::getenv("GCLAB_COLLECTOR_OPTIONS");
  if (text == nullptr) return out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (entry.empty()) continue;
    const size_t equals = entry.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      std::fprintf(stderr, "GCLAB_COLLECTOR_OPTIONS: '%.*s' is not name=value\n",
                   static_cast<int>(entry.size()), entry.data());
      std::exit(2);
    }
    const std::string name(entry.substr(0, equals));
    // An option line reads "name: meaning".
    auto reads = [&name](gclab::CollectorKind k) {
      for (std::string_view line : gclab::GetCollectorInfo(k).options) {
        if (line.substr(0, name.size() + 1) == name + ":") return true;
      }
      return false;
    };
    bool anyone = false;
    for (gclab::CollectorKind k : gclab::AllCollectors()) anyone = anyone || reads(k);
    if (!anyone) {
      std::fprintf(stderr, "GCLAB_COLLECTOR_OPTIONS: no registered collector reads '%s'\n",
                   name.c_str());
      std::exit(2);
    }
    if (reads(kind)) out[name] = std::string(entry.substr(equals + 1));
  }
  return out;
}

inline void AddCollectorOptionsContext() {
  if (const char* text = std::getenv("GCLAB_COLLECTOR_OPTIONS")) {
    benchmark::AddCustomContext("gclab_collector_options", text);
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
