// The barriers' slow paths (gc/DESIGN.md [barrier]).
#include "gc/internal/barrier.h"

#include <pthread.h>

#include "gc/internal/chunk_table.h"
#include "gc/internal/collector.h"

namespace gclab::internal {

std::atomic<uint32_t> write_barrier_heaps{0};
std::atomic<uint32_t> load_barrier_heaps{0};

namespace {

// Whether `address` lies on the calling thread's stack (for the debug check below).
bool OnThisThreadsStack(const void* address) {
  thread_local uintptr_t low = 0, high = 0;
  if (high == 0) {
    pthread_attr_t attr;
    void* base = nullptr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      pthread_attr_getstack(&attr, &base, &size);
      pthread_attr_destroy(&attr);
    }
    low = reinterpret_cast<uintptr_t>(base);
    high = low + size;
  }
  const auto a = reinterpret_cast<uintptr_t>(address);
  return a >= low && a < high;
}

}  // namespace

void WriteBarrierSlow(void** slot, void* old_value, void* new_value) {
  Collector* collector = ChunkTable::Owner(slot);
  if (collector == nullptr) {
    if constexpr (kDebugChecks) {
      GCLAB_CHECK(new_value == nullptr || OnThisThreadsStack(slot),
                  "a Member at %p was given the object %p, but it lies outside every heap "
                  "object: the write hook cannot see it there, so a generational or "
                  "incremental collector would miss the store. Keep Members in heap "
                  "objects (a HeapVector for a variable number of them; gc/DESIGN.md "
                  "[ref.member])",
                  static_cast<void*>(slot), new_value);
    }
    return;
  }
  if (collector->info().capabilities.write_barrier) {
    collector->WriteBarrier(slot, old_value, new_value);
  }
}

void LoadBarrierSlow(void* const* slot, void* value) {
  Collector* collector = ChunkTable::Owner(slot);
  if (collector != nullptr && collector->info().capabilities.load_barrier) {
    collector->LoadBarrier(slot, value);
  }
}

}  // namespace gclab::internal
