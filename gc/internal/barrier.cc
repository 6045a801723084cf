// The barriers' slow paths (gc/DESIGN.md [barrier]).
#include "gc/internal/barrier.h"

#include "gc/internal/chunk_table.h"
#include "gc/internal/collector.h"

namespace gclab::internal {

std::atomic<uint32_t> write_barrier_heaps{0};
std::atomic<uint32_t> load_barrier_heaps{0};

void WriteBarrierSlow(void** slot, void* old_value, void* new_value) {
  Collector* collector = ChunkTable::Owner(slot);
  if (collector != nullptr && collector->info().capabilities.write_barrier) {
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
