// gclab fuzzing: a program of heap operations decoded from bytes, run against a model
// of the heap that says, after every collection, what must be alive and what must be
// gone.
//
// RunHeapProgram reads its input as a heap configuration followed by operations:
//
//   byte 0   collector: an index into AllCollectors(), modulo its size
//   byte 1   ephemeron algorithm (bit 0) and what happens at the end (bit 1: destroy the
//            heap with live roots instead of collecting everything first)
//   byte 2   finalization scheduler: after-collection, host-jobs, randomized, never
//   byte 3   randomized scheduler: seed, drop probability (bits 0-1), delay (bits 2-3)
//   byte 4   trigger policy (bits 0-1) and heap limit, 1 to 4 MiB (bits 2-3)
//   byte 5   stress: collect every N allocations (bit 7 set: N = (bits 0-5) + 1)
//   byte 6   linear memories: release strategy, address-space budget, collect on
//            exhaustion, pool capacity
//   then     operations: an opcode byte (modulo the number of operations, in the order
//            of the Op enum in heap_program.cc) and its argument bytes
//
// Running out of bytes ends the program; every byte string is a valid program. The
// program is bounded (operations, live objects, handles) so that one input runs in
// milliseconds. tests/fuzz/make_seeds.py writes programs in this format.
//
// The model keeps its own graph of every heap object the program made (fuzzer objects
// of every size class and the large-object space, weak maps and sets, ephemeron pairs,
// weak refs, finalization registries, linear memories, views and instances) and its
// roots. A collection hook tells it of every collection, however it was started; then
// it computes reachability with ephemeron semantics and checks the heap against it:
// reachable objects intact, unreachable ones collected and destroyed exactly once, weak
// references cleared exactly for the dead, table contents, finalization deliveries,
// linear memory contents, and the heap's own counters. A divergence prints the
// operation, the configuration and what differed, and aborts.
#ifndef GCLAB_TESTS_FUZZ_HEAP_PROGRAM_H_
#define GCLAB_TESTS_FUZZ_HEAP_PROGRAM_H_

#include <cstddef>
#include <cstdint>

#include "gc/collectors.h"

namespace gclab::fuzz {

// What the last program did, for tests and for a reader of fuzzing statistics.
struct ProgramStats {
  uint64_t operations = 0;   // operations decoded and run
  uint64_t collections = 0;  // collections the model checked
  uint64_t objects = 0;      // heap objects the model tracked
  uint64_t deliveries = 0;   // finalization callbacks that ran
};

// With `collector`, byte 0 is read but that collector runs the program instead (the
// regression test runs every file on every registered collector).
void RunHeapProgram(const uint8_t* data, size_t size, const CollectorKind* collector = nullptr);

// Of the last RunHeapProgram call.
const ProgramStats& LastProgramStats();

}  // namespace gclab::fuzz

#endif  // GCLAB_TESTS_FUZZ_HEAP_PROGRAM_H_
