// libFuzzer entry point: each input is a heap program (heap_program.h). Build and run
// with tools/fuzz.sh; a divergence from the model aborts, which libFuzzer reports as a
// crash and saves as a reproducer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/heap_program.h"

namespace {

// Totals over every program this process ran, printed at exit for tools/fuzz.sh.
gclab::fuzz::ProgramStats totals;
uint64_t programs = 0;

void PrintTotals() {
  std::fprintf(stderr,
               "gclab fuzz totals: %llu programs, %llu operations, %llu collections checked, "
               "%llu objects, %llu finalization deliveries\n",
               static_cast<unsigned long long>(programs),
               static_cast<unsigned long long>(totals.operations),
               static_cast<unsigned long long>(totals.collections),
               static_cast<unsigned long long>(totals.objects),
               static_cast<unsigned long long>(totals.deliveries));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::atexit(PrintTotals);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gclab::fuzz::RunHeapProgram(data, size);
  const gclab::fuzz::ProgramStats& s = gclab::fuzz::LastProgramStats();
  ++programs;
  totals.operations += s.operations;
  totals.collections += s.collections;
  totals.objects += s.objects;
  totals.deliveries += s.deliveries;
  return 0;
}
