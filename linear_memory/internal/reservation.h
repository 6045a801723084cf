// gclab internal: the address-space reservations behind linear memories, and the
// per-heap state that hands them out, pools them and counts them.
//
// A reservation is one PROT_NONE, MAP_NORESERVE mapping of `reservation + guard`
// bytes, as engines reserve a WebAssembly memory: the memory's pages are committed
// (made read-write) from its start as it grows; the rest, and the guard after it,
// fault on access. Releasing one either unmaps it or, pooled, drops its pages with
// MADV_DONTNEED, makes them PROT_NONE again and keeps the mapping for the next memory.
#ifndef GCLAB_LINEAR_MEMORY_INTERNAL_RESERVATION_H_
#define GCLAB_LINEAR_MEMORY_INTERNAL_RESERVATION_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gc/internal/side_table.h"
#include "linear_memory/options.h"

namespace gclab::linear_memory_internal {

// One mapping. Move-only; its owner gives it back through ReservationSpace::Release
// (the destructor of one still mapped unmaps it, as a last resort).
class Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&& other) noexcept { *this = static_cast<Reservation&&>(other); }
  Reservation& operator=(Reservation&& other) noexcept;
  ~Reservation();

  char* base() const { return base_; }
  size_t mapped_bytes() const { return mapped_; }
  size_t committed_bytes() const { return committed_; }
  bool empty() const { return base_ == nullptr; }

  // Makes [0, bytes) read-write. `bytes` is at least committed_bytes(), a multiple of
  // the OS page and within the mapping. ResourceExhausted, nothing changed, if the
  // kernel refuses.
  absl::Status CommitTo(size_t bytes);

 private:
  friend class ReservationSpace;
  char* base_ = nullptr;
  size_t mapped_ = 0;     // reservation + guard
  size_t committed_ = 0;  // the read-write prefix
};

// Per heap: options, pool and counters. Shared (std::shared_ptr) by the heap's
// LinearMemorySpace and every live memory, so it outlives both, whichever goes first.
class ReservationSpace {
 public:
  explicit ReservationSpace(const LinearMemoryOptions& options) : options_(options) {}
  ~ReservationSpace() { DrainPool(); }
  ReservationSpace(const ReservationSpace&) = delete;
  ReservationSpace& operator=(const ReservationSpace&) = delete;

  const LinearMemoryOptions& options() const { return options_; }
  // New memories use them; the pool is emptied (its reservations may be the wrong size).
  void set_options(const LinearMemoryOptions& options);

  // A reservation from the pool, or a new mapping. ResourceExhausted when the budget
  // or the kernel refuses (the caller may collect and retry).
  absl::StatusOr<Reservation> Acquire();
  // Unmaps or pools the reservation of memory `id` and tells the observer.
  void Release(Reservation reservation, uint64_t id);
  // Gives back a reservation no memory was made with (creation failed).
  void ReturnUnused(Reservation reservation);

  void NoteCreated();
  void NoteCommitted(size_t bytes);  // a live memory committed more
  void NoteExhaustionCollection() { ++stats_.exhaustion_collections; }
  void NoteFailure() { ++stats_.failed_reservations; }
  uint64_t NextId() { return ++last_id_; }

  const LinearMemoryStatistics& stats() const { return stats_; }
  void set_release_observer(std::function<void(const ReleaseEvent&)> observer) {
    observer_ = std::move(observer);
  }

 private:
  // Whether a released reservation goes to the pool: the pool strategy, room in the
  // pool, and the size the options give now.
  bool Poolable(const Reservation& r) const;
  void Unmap(Reservation& r);
  void DrainPool();

  LinearMemoryOptions options_;
  LinearMemoryStatistics stats_;
  // Side-table memory: a reservation that finds no room in the pool is unmapped
  // instead (gc/DESIGN.md [fault]).
  internal::SideVector<Reservation> pool_;
  std::function<void(const ReleaseEvent&)> observer_;
  uint64_t last_id_ = 0;
};

}  // namespace gclab::linear_memory_internal

#endif  // GCLAB_LINEAR_MEMORY_INTERNAL_RESERVATION_H_
