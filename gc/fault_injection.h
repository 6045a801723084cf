// gclab: fault injection, a test hook that makes gclab's requests for memory fail.
//
// Every request gclab makes for memory, to the operating system or to malloc for its
// own side tables, is counted, in order, process-wide, and a test can make the Nth one
// fail as the OS or malloc would, to check that each failure surfaces as an
// absl::Status or the heap's out-of-memory handler, or is absorbed, and leaves the heap
// consistent (tests/fault_injection_test.cc walks every request of a workload). What a
// user sees when each fails is in gc/DESIGN.md [fault]; in short:
//   - a heap's own state and its reservations: Heap::Create returns
//     ResourceExhausted;
//   - memory for an allocation (a large object's mapping, a mark-sweep page coming
//     into use, the large-object index): the allocation collects and retries, then
//     TryNew returns ResourceExhausted and New calls the out-of-memory handler;
//   - a block of handles, a KeepDuringJob entry, a collection hook's registration, a
//     heap's finalization queue or linear-memory space, a registry's callback or its
//     entry in the queue: the out-of-memory handler;
//   - a WeakMap or WeakSet entry, a finalization registration (its chunk or its
//     token's index entry), an Instance's list of memories: Set, Add, Register and
//     Instance::Create return ResourceExhausted, with nothing changed;
//   - a linear memory's reservation or commit: its status, ResourceExhausted;
//   - a side table a collection fills (the marking worklist, weak slots, ephemerons,
//     weak callbacks, reached keys, the list of objects to destroy, the deaths a
//     finalization registry found): nothing; the collection takes a slower path that
//     needs no memory (HeapStatistics::side_table_fallbacks counts them), or, for
//     finalization, keeps the registrations ready and notes them after a later
//     collection; no registration is lost;
//   - a finalization scheduler's lists: the deliveries wait in the queue for the next
//     turn.
// Not counted: the independent verifier's and the retaining-path search's own tables
// (diagnostics; std::bad_alloc), a RandomizedScheduler's event log (an entry is
// dropped), the text of error statuses, and the schedulers and policies a program
// makes itself (std::make_unique, std::make_shared in its own code).
//
//   gclab::FaultInjection::FailNth(3);   // the third request from now fails, once
//   gclab::FaultInjection::FailFrom(1);  // or: every request fails from now on
//   ... run the workload ...
//   gclab::FaultInjection::Reset();      // nothing fails; counting starts again
//
// Not for production: the hook costs one relaxed atomic increment per request, which
// are all on slow paths already (system calls, page faults, or a side table growing).
#ifndef GCLAB_GC_FAULT_INJECTION_H_
#define GCLAB_GC_FAULT_INJECTION_H_

#include <cstdint>

namespace gclab {

class FaultInjection {
 public:
  // The `n`th request counted from now (1 for the next) fails, once. 0: none fails.
  // Resets the counters.
  static void FailNth(uint64_t n);
  // The `n`th request counted from now and every one after it fail, until the next
  // FailNth or Reset: memory exhausted. Resets the counters.
  static void FailFrom(uint64_t n);
  // Nothing fails; the counters start again from zero.
  static void Reset() { FailNth(0); }
  // Requests counted since the last FailNth or Reset, and how many of them failed.
  static uint64_t requests();
  static uint64_t failures();
  // What the last injected failure refused ("mark-sweep page", "marking worklist",
  // ...), or "" if none was injected since the last FailNth or Reset.
  static const char* last_failed_request();
};

namespace internal {
// Counts one request for memory; false when the test hook says it fails (the caller
// then fails as it would on ENOMEM or a null malloc). `what` names the request for
// FaultInjection::last_failed_request (a string literal).
bool AllowMemoryRequest(const char* what);
}  // namespace internal

}  // namespace gclab

#endif  // GCLAB_GC_FAULT_INJECTION_H_
