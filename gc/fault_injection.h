// gclab: fault injection, a test hook that makes gclab's requests for memory fail.
//
// Every request gclab makes to the operating system for memory is counted, in order,
// process-wide, and a test can make the Nth one fail as the OS would (ENOMEM), to check
// that each failure surfaces as an absl::Status or the heap's out-of-memory handler and
// leaves the heap consistent (tests/fault_injection_test.cc walks every request of a
// workload). The requests counted, and what a user sees when each fails
// (gc/DESIGN.md [fault]):
//   - a heap's reservations (its spaces and mark bitmaps): Heap::Create returns
//     ResourceExhausted;
//   - a large object's mapping: TryNew returns ResourceExhausted after a full
//     collection, New calls the out-of-memory handler;
//   - a mark-sweep page coming into use (first touch of a fresh or returned page): the
//     allocation collects and retries, then fails like a large object;
//   - a linear memory's reservation or its commit on Create and Grow: their status,
//     ResourceExhausted (Create collects and retries a failed reservation first).
// Not counted yet: memory gclab takes from malloc for its side tables (worklists,
// ephemeron and weak-slot tables, handle blocks, weak tables' entries), whose failure
// is std::bad_alloc today.
//
//   gclab::FaultInjection::FailNth(3);   // the third request from now fails, once
//   ... run the workload ...
//   gclab::FaultInjection::Reset();      // nothing fails; counting starts again
//
// Not for production: the hook costs one relaxed atomic increment per request, which
// are all on slow paths already (system calls or page faults).
#ifndef GCLAB_GC_FAULT_INJECTION_H_
#define GCLAB_GC_FAULT_INJECTION_H_

#include <cstdint>

namespace gclab {

class FaultInjection {
 public:
  // The `n`th request counted from now (1 for the next) fails, once. 0: none fails.
  // Resets the counters.
  static void FailNth(uint64_t n);
  // Nothing fails; the counters start again from zero.
  static void Reset() { FailNth(0); }
  // Requests counted since the last FailNth or Reset, and how many of them failed.
  static uint64_t requests();
  static uint64_t failures();
};

namespace internal {
// Counts one request for memory from the OS; false when the test hook says it fails
// (the caller then fails as it would on ENOMEM).
bool AllowMemoryRequest();
}  // namespace internal

}  // namespace gclab

#endif  // GCLAB_GC_FAULT_INJECTION_H_
