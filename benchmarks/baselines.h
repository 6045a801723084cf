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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
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

// A byte count as 4194304, 64K, 4M or 2G; none if it is not one.
inline std::optional<size_t> ParseBytes(std::string_view v) {
  uint64_t scale = 1;
  if (!v.empty() && (v.back() == 'K' || v.back() == 'M' || v.back() == 'G')) {
    scale = v.back() == 'K' ? 1 << 10 : v.back() == 'M' ? 1 << 20 : uint64_t{1} << 30;
    v.remove_suffix(1);
  }
  uint64_t n = 0;
  if (v.empty() || !absl::SimpleAtoi(std::string(v), &n) || n > (uint64_t{1} << 50) / scale) {
    return std::nullopt;
  }
  return static_cast<size_t>(n * scale);
}

// GCLAB_HEAP_LIMIT: the heap limit of every gclab heap of the program benchmarks
// (HeapOptions::heap_limit: live bytes plus allocation, the most the heap may hold),
// and Boehm's maximum heap size (GC_set_max_heap_size), instead of the suite's own:
// benchmarks/heap_sweep.py runs programs at fixed heap sizes with it. BYTES as in
// GCLAB_POLICY. Unset or empty: `fallback`. A malformed value stops the program.
inline size_t HeapLimitFromEnvironment(size_t fallback) {
  const char* text = std::getenv("GCLAB_HEAP_LIMIT");
  if (text == nullptr || *text == '\0') return fallback;
  const std::optional<size_t> n = ParseBytes(text);
  if (!n) {
    std::fprintf(stderr, "GCLAB_HEAP_LIMIT=%s: not a byte count (4194304, 64K, 4M, 2G)\n", text);
    std::exit(2);
  }
  return *n;
}

// GCLAB_POLICY: the trigger policy (gc/policy.h) of every gclab heap a suite makes, a
// fresh one per heap (MemBalancer measures its heap): "growth=F" or "growth=F,min=BYTES"
// (GrowthFactorPolicy; min 4M when not given), "membalancer=C" or
// "membalancer=C,min=BYTES" (MemBalancerPolicy), "fixed=BYTES" (FixedBudgetPolicy);
// BYTES as 4194304, 64K or 4M. Unset or empty: null, the heap's default,
// GrowthFactorPolicy(2.0, 4 MiB). A malformed value stops the program with a message.
inline std::shared_ptr<gclab::TriggerPolicy> PolicyFromEnvironment() {
  const char* text = std::getenv("GCLAB_POLICY");
  if (text == nullptr || *text == '\0') return nullptr;
  auto fail = [text](const char* why) {
    std::fprintf(stderr,
                 "GCLAB_POLICY=%s: %s (growth=F[,min=BYTES], membalancer=C[,min=BYTES], "
                 "fixed=BYTES)\n",
                 text, why);
    std::exit(2);
  };
  auto bytes = [&](std::string_view v) {
    const std::optional<size_t> n = ParseBytes(v);
    if (!n) fail("not a byte count");
    return *n;
  };
  std::string_view spec = text;
  size_t min_heap = size_t{4} << 20;
  if (const size_t comma = spec.find(','); comma != std::string_view::npos) {
    const std::string_view rest = spec.substr(comma + 1);
    if (rest.substr(0, 4) != "min=") fail("the only second item is min=BYTES");
    min_heap = bytes(rest.substr(4));
    spec = spec.substr(0, comma);
  }
  const size_t equals = spec.find('=');
  if (equals == std::string_view::npos) fail("expected name=value");
  const std::string_view name = spec.substr(0, equals);
  const std::string_view value = spec.substr(equals + 1);
  absl::StatusOr<std::shared_ptr<gclab::TriggerPolicy>> policy =
      absl::InvalidArgumentError("unknown policy");
  double number = 0;
  if (name == "growth" && absl::SimpleAtod(std::string(value), &number)) {
    policy = gclab::GrowthFactorPolicy::Create(number, min_heap);
  } else if (name == "membalancer" && absl::SimpleAtod(std::string(value), &number)) {
    policy = gclab::MemBalancerPolicy::Create(number, min_heap);
  } else if (name == "fixed") {
    policy = gclab::FixedBudgetPolicy::Create(bytes(value));
  }
  if (!policy.ok()) fail(std::string(policy.status().message()).c_str());
  return *policy;
}

// The policy the suite's gclab heaps use, for its JSON context.
inline std::string PolicyDescription() {
  std::shared_ptr<gclab::TriggerPolicy> policy = PolicyFromEnvironment();
  return policy == nullptr ? "GrowthFactorPolicy(2.0, 4 MiB) (default)" : policy->name();
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
