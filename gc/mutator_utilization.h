// gclab: the pauses of a heap, and minimum mutator utilization.
//
// A heap created with HeapOptions::record_pauses logs every pause it makes: when it
// began (on std::chrono::steady_clock), how long it lasted, and what it was
// (`Heap::pauses()`). A collection in one pause is one PauseKind::kAtomic; an
// incremental collector (incremental-mark-sweep) logs the start of a cycle, its
// marking steps, its final pause and its lazy sweeping apart (gc/DESIGN.md [incr]).
//
// The longest pause says how bad the worst moment was; minimum mutator utilization
// (Cheng and Blelloch, PLDI 2001) says how often such moments come. For a window of w
// milliseconds it is the least share of w that the program got, over every window of
// that length inside the run: 0 for every window no longer than the longest pause,
// however rare; 0.75 for long windows of a collector that pauses 1 ms in every 4.
//
//   HeapOptions options;
//   options.record_pauses = true;
//   auto heap = Heap::Create(options).value();
//   const auto begin = std::chrono::steady_clock::now();
//   RunProgram(*heap);
//   const auto end = std::chrono::steady_clock::now();
//   absl::StatusOr<double> mmu = MinimumMutatorUtilization(
//       heap->pauses(), begin, end, absl::Milliseconds(10));  // 0.0 to 1.0
#ifndef GCLAB_GC_MUTATOR_UTILIZATION_H_
#define GCLAB_GC_MUTATOR_UTILIZATION_H_

#include <chrono>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "gc/stats.h"

namespace gclab {

// What a pause did.
enum class PauseKind {
  kAtomic,  // a whole collection, marking to sweep, in one pause
  kStart,   // an incremental cycle's start: its roots
  kStep,    // a bounded step of incremental marking
  kFinal,   // an incremental cycle's final pause: roots again, the rest, weak processing
  kSweep,   // lazy sweeping done in a pause of its own (and, ahead of a generational
            // collector's incremental major cycle, clearing the marks its sweeps left)
};
std::string_view PauseKindName(PauseKind kind);

struct Pause {
  std::chrono::steady_clock::time_point start;
  absl::Duration duration;
  PauseKind kind = PauseKind::kAtomic;
  CollectionKind collection = CollectionKind::kMajor;  // of the cycle it belongs to
};

// The minimum, over every window of length `window` inside [begin, end], of the share
// of the window outside `pauses`; a window longer than the run is the whole run.
// `pauses` in the order they began, not overlapping (as Heap::pauses() logs them);
// the parts of pauses outside [begin, end] do not count. Exact: the worst window
// starts where a pause does (or at an end of the run), and every such window is
// measured, in O(n log n) for n pauses. InvalidArgument if `window` is not positive, `end` is
// before `begin`, or `pauses` are out of order or overlap.
absl::StatusOr<double> MinimumMutatorUtilization(absl::Span<const Pause> pauses,
                                                 std::chrono::steady_clock::time_point begin,
                                                 std::chrono::steady_clock::time_point end,
                                                 absl::Duration window);

}  // namespace gclab

#endif  // GCLAB_GC_MUTATOR_UTILIZATION_H_
