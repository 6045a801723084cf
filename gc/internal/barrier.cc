// The barriers' slow paths (gc/DESIGN.md [barrier]).
#include "gc/internal/barrier.h"

#include <pthread.h>

#include "gc/internal/chunk_table.h"
#include "gc/internal/collector.h"

namespace gclab::internal {

std::atomic<uint32_t> write_barrier_heaps{0};
std::atomic<uint32_t> load_barrier_heaps{0};
std::atomic<uintptr_t> exempt_slots_begin{0};
std::atomic<uintptr_t> exempt_slots_size{0};

namespace {
std::atomic<bool> exempt_claimed{false};
}  // namespace

bool ClaimExemptSlots(const void* begin, size_t size) {
  bool expected = false;
  if (!exempt_claimed.compare_exchange_strong(expected, true)) return false;
  // Size 0 first: a store racing with the claim sees an empty range.
  exempt_slots_size.store(0, std::memory_order_relaxed);
  exempt_slots_begin.store(reinterpret_cast<uintptr_t>(begin), std::memory_order_relaxed);
  exempt_slots_size.store(size, std::memory_order_release);
  return true;
}

void ReleaseExemptSlots(const void* begin) {
  if (!exempt_claimed.load() ||
      exempt_slots_begin.load(std::memory_order_relaxed) != reinterpret_cast<uintptr_t>(begin)) {
    return;
  }
  exempt_slots_size.store(0, std::memory_order_release);
  exempt_slots_begin.store(0, std::memory_order_relaxed);
  exempt_claimed.store(false);
}

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
  if (collector->info().capabilities.write_barrier || collector->incremental_marking()) {
    collector->WriteBarrier(slot, old_value, new_value);
  }
}

void LoadBarrierSlow(void* const* slot, void* value) {
  Collector* collector = ChunkTable::Owner(slot);
  if (collector != nullptr &&
      (collector->info().capabilities.load_barrier || collector->incremental_marking())) {
    collector->LoadBarrier(slot, value);
  }
}

}  // namespace gclab::internal
