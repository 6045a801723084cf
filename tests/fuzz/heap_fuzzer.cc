// libFuzzer entry point: each input is a heap program (heap_program.h). Build and run
// with tools/fuzz.sh; a divergence from the model aborts, which libFuzzer reports as a
// crash and saves as a reproducer.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/heap_program.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gclab::fuzz::RunHeapProgram(data, size);
  return 0;
}
