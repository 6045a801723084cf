// gclab: watching the collector. Events for hosts, a GC log, and traces for Perfetto.
//
// A runtime that embeds gclab wants to see its collections where it sees everything
// else: in its own log, its tracing system, its metrics. A GcEventListener added to a
// heap hears every collection as it happens: its start (kind, reason, the heap's
// bytes and limit), each phase of it (gc/DESIGN.md's phases, each with its start and
// length; an incremental cycle's phases come in pieces, one per pause), each pause
// (its kind: atomic, start, step, final, sweep), and its end (bytes before and after,
// the next limit, external memory, the cycle's statistics).
//
//   class Meter : public gclab::GcEventListener {
//    public:
//     void OnCycleEnd(const gclab::GcCycleEnd& end) override {
//       freed += end.bytes_before - end.bytes_after;
//     }
//     size_t freed = 0;
//   };
//   Meter meter;
//   heap->AddEventListener(&meter);      // until RemoveEventListener or the heap dies
//
// Listeners are called during the collection, and their time counts in the pause.
// They may do I/O, but must not use the heap: not allocate in it, collect, or add or
// remove listeners (what reaches the heap's slow paths stops the program with a
// message).
//
// Two listeners come with gclab, for any program, switched on by the environment (or
// by HeapOptions::trace_gc and trace_file, which win):
//
//   GCLAB_TRACE_GC=1 ./my_program        # one line per collection on stderr, as V8's
//                                        # --trace-gc and Go's GODEBUG=gctrace=1 print
//   [gclab 1 #12 1234.5 ms] major (allocation-budget, incremental) 120.3 -> 80.1 MiB,
//     limit 160.2 MiB, external 0.0 MiB; 15 pauses 0.420 ms (start, 13 steps, final),
//     longest 0.090 ms; phases: prepare 0.010, mark 3.200, weak 0.100, sweep 0.050 ms
//
// (heap 1, its 12th collection, 1234.5 ms after the heap was created; one line.)
//
//   GCLAB_TRACE_FILE=gc.json ./my_program   # Chrome trace events: open in Perfetto
//                                           # (ui.perfetto.dev) or chrome://tracing
//
// The trace has one track per heap: each pause is a slice named by its kind, with the
// collection's phases in it as nested slices, and counters of the heap's live and
// external bytes after each collection. Every heap of the process writes to the same
// file (a JSON array of events, closed when the process exits).
#ifndef GCLAB_GC_GC_EVENTS_H_
#define GCLAB_GC_GC_EVENTS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "gc/mutator_utilization.h"
#include "gc/stats.h"

namespace gclab {

class Heap;

struct GcCycleStart {
  const Heap* heap = nullptr;
  uint64_t number = 0;  // CycleStatistics::number
  CollectionKind kind = CollectionKind::kMajor;
  CollectionReason reason = CollectionReason::kExplicit;
  bool incremental = false;  // a cycle of steps ([incr]), not a collection in one pause
  std::chrono::steady_clock::time_point time;
  // Bytes of objects now: what the last collection kept plus what was allocated since.
  size_t heap_bytes = 0;
  size_t heap_limit = 0;      // HeapOptions::heap_limit
  size_t external_bytes = 0;  // Heap::external_memory()
};

// One stretch of one phase: an atomic collection's phases come one each, in order; an
// incremental cycle's marking comes once per pause that marks.
struct GcPhase {
  const Heap* heap = nullptr;
  uint64_t number = 0;  // of the collection it belongs to
  Phase phase = Phase::kPrepare;
  std::chrono::steady_clock::time_point start;
  absl::Duration duration;
};

struct GcCycleEnd {
  const Heap* heap = nullptr;
  std::chrono::steady_clock::time_point time;
  // Bytes of objects before it (as in GcCycleStart) and after it (those it kept).
  size_t bytes_before = 0;
  size_t bytes_after = 0;
  // Kept bytes at which the next major collection comes: the kept bytes plus the
  // trigger policy's next budget.
  size_t next_limit = 0;
  size_t external_bytes = 0;
  // Its statistics, pauses and phases included (the lazy sweep's pauses that follow
  // are reported by OnPause only).
  const CycleStatistics* stats = nullptr;
};

class GcEventListener {
 public:
  virtual ~GcEventListener() = default;
  virtual void OnCycleStart(const GcCycleStart& start) { (void)start; }
  virtual void OnPhase(const GcPhase& phase) { (void)phase; }
  // Every pause, as Heap::pauses() logs it (whether or not HeapOptions::record_pauses).
  virtual void OnPause(const Heap& heap, const Pause& pause) { (void)heap, (void)pause; }
  virtual void OnCycleEnd(const GcCycleEnd& end) { (void)end; }
};

}  // namespace gclab

#endif  // GCLAB_GC_GC_EVENTS_H_
