// gclab: how a heap reserves, commits and releases linear memories, and what it counts.
// (linear_memory.h is the user's header; this one holds its option and statistics
// structs.)
#ifndef GCLAB_LINEAR_MEMORY_OPTIONS_H_
#define GCLAB_LINEAR_MEMORY_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gclab {

// WebAssembly's page: memories are sized and grown in these.
inline constexpr size_t kWasmPageSize = size_t{64} << 10;
// A 32-bit memory's index space: 65536 pages, 4 GiB.
inline constexpr uint32_t kMaxWasmPages = 65536;

// What happens to a dead memory's address space.
enum class ReleaseStrategy {
  // munmap the whole reservation: pages and address space go back to the OS.
  kUnmap,
  // MADV_DONTNEED its pages (memory goes back to the OS), PROT_NONE them again, and
  // keep the reservation in a pool for the next memory: no mmap per instantiation,
  // no address space churn. Beyond pool_capacity, reservations are unmapped.
  kPool,
};
std::string_view ReleaseStrategyName(ReleaseStrategy strategy);
absl::StatusOr<ReleaseStrategy> ParseReleaseStrategy(std::string_view name);

struct LinearMemoryOptions {
  // Address space reserved per memory, as 64-bit engines reserve it: the largest
  // memory (maximum pages) must fit. 8 GiB covers any 32-bit index plus offset.
  size_t reservation_bytes = size_t{8} << 30;
  // PROT_NONE bytes after the reservation: an access past the end faults there.
  size_t guard_bytes = size_t{2} << 30;
  ReleaseStrategy release = ReleaseStrategy::kUnmap;
  // Reservations kept for reuse under kPool.
  size_t pool_capacity = 32;
  // Limit on the address space all of this heap's reservations (pooled ones included)
  // may hold; 0 means only the OS's limit (on x86-64 Linux, 128 TiB: 13,106
  // reservations of 10 GiB). Lets tests reach exhaustion cheaply.
  size_t address_space_budget = 0;
  // When a reservation fails, collect (dead memories give their reservations back)
  // and retry once before reporting ResourceExhausted, as V8 does. Off: the naive
  // engine that fails at once.
  bool collect_on_exhaustion = true;
};

struct LinearMemoryStatistics {
  uint64_t created = 0;     // memories created
  uint64_t released = 0;    // memories whose reservation was released
  uint64_t live = 0;        // created - released
  size_t reservations = 0;  // mappings held now, pooled ones included
  size_t peak_reservations = 0;
  size_t reserved_bytes = 0;   // address space held now (with guards)
  size_t committed_bytes = 0;  // read-write bytes of live memories now
  size_t peak_committed_bytes = 0;
  size_t pooled = 0;                    // reservations in the pool now
  uint64_t pool_reuses = 0;             // Acquire served from the pool
  uint64_t exhaustion_collections = 0;  // collections started by a failed reservation
  uint64_t failed_reservations = 0;     // reported as ResourceExhausted to the user
  size_t released_bytes = 0;            // committed bytes of released memories, in all
  absl::Duration release_time;          // spent in munmap / madvise+mprotect, in all
};

// Told to the release observer when a memory's pages have gone back to the OS.
struct ReleaseEvent {
  uint64_t memory_id = 0;
  size_t committed_bytes = 0;
  ReleaseStrategy strategy = ReleaseStrategy::kUnmap;
  absl::Duration duration;  // of the munmap or madvise+mprotect
  absl::Time done;          // when it finished
};

}  // namespace gclab

#endif  // GCLAB_LINEAR_MEMORY_OPTIONS_H_
