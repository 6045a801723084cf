#include "linear_memory/internal/reservation.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gc/fault_injection.h"
#include "gc/internal/check.h"

namespace gclab {

std::string_view ReleaseStrategyName(ReleaseStrategy strategy) {
  switch (strategy) {
    case ReleaseStrategy::kUnmap:
      return "unmap";
    case ReleaseStrategy::kPool:
      return "pool";
  }
  return "unknown";
}

absl::StatusOr<ReleaseStrategy> ParseReleaseStrategy(std::string_view name) {
  if (name == "unmap") return ReleaseStrategy::kUnmap;
  if (name == "pool") return ReleaseStrategy::kPool;
  return absl::InvalidArgumentError("gclab: unknown release strategy \"" + std::string(name) +
                                    "\" (unmap or pool)");
}

}  // namespace gclab

namespace gclab::linear_memory_internal {

Reservation& Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, mapped_);
    base_ = std::exchange(other.base_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
    committed_ = std::exchange(other.committed_, 0);
  }
  return *this;
}

Reservation::~Reservation() {
  if (base_ != nullptr) munmap(base_, mapped_);
}

absl::Status Reservation::CommitTo(size_t bytes) {
  GCLAB_CHECK(bytes >= committed_ && bytes <= mapped_ && bytes % 4096 == 0,
              "Reservation::CommitTo(%zu) with %zu committed of %zu mapped", bytes, committed_,
              mapped_);
  if (bytes == committed_) return absl::OkStatus();
  errno = ENOMEM;  // what a refused request says (gc/fault_injection.h)
  if (!internal::AllowMemoryRequest("linear memory commit") ||
      mprotect(base_ + committed_, bytes - committed_, PROT_READ | PROT_WRITE) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("gclab: cannot commit %d bytes of linear memory: mprotect: %s",
                        bytes - committed_, std::strerror(errno)));
  }
  committed_ = bytes;
  return absl::OkStatus();
}

void ReservationSpace::set_options(const LinearMemoryOptions& options) {
  options_ = options;
  DrainPool();
}

absl::StatusOr<Reservation> ReservationSpace::Acquire() {
  const size_t size = options_.reservation_bytes + options_.guard_bytes;
  if (!pool_.empty()) {
    Reservation r = std::move(pool_.back());
    pool_.pop_back();
    stats_.pooled = pool_.size();
    ++stats_.pool_reuses;
    return r;
  }
  if (options_.address_space_budget != 0 &&
      stats_.reserved_bytes + size > options_.address_space_budget) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "gclab: cannot reserve %d bytes for a linear memory: the heap's address-space budget "
        "of %d bytes is spent (%d reservations hold %d bytes)",
        size, options_.address_space_budget, stats_.reservations, stats_.reserved_bytes));
  }
  void* p = MAP_FAILED;
  errno = ENOMEM;  // what a refused request says (gc/fault_injection.h)
  if (internal::AllowMemoryRequest("linear memory reservation")) {
    p = mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  }
  if (p == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "gclab: cannot reserve %d bytes of address space for a linear memory: mmap: %s "
        "(%d reservations hold %d bytes)",
        size, std::strerror(errno), stats_.reservations, stats_.reserved_bytes));
  }
  Reservation r;
  r.base_ = static_cast<char*>(p);
  r.mapped_ = size;
  ++stats_.reservations;
  stats_.peak_reservations = std::max(stats_.peak_reservations, stats_.reservations);
  stats_.reserved_bytes += size;
  return r;
}

void ReservationSpace::NoteCreated() {
  ++stats_.created;
  ++stats_.live;
}

void ReservationSpace::NoteCommitted(size_t bytes) {
  stats_.committed_bytes += bytes;
  stats_.peak_committed_bytes = std::max(stats_.peak_committed_bytes, stats_.committed_bytes);
}

void ReservationSpace::Unmap(Reservation& r) {
  int rc = munmap(r.base_, r.mapped_);
  GCLAB_CHECK(rc == 0, "munmap of a linear memory failed: %s", std::strerror(errno));
  --stats_.reservations;
  stats_.reserved_bytes -= r.mapped_;
  r.base_ = nullptr;
  r.mapped_ = r.committed_ = 0;
}

void ReservationSpace::Release(Reservation reservation, uint64_t id) {
  const size_t committed = reservation.committed_;
  const absl::Time start = absl::Now();
  // (Room in the pool first: this runs in a collection, which cannot fail.)
  const bool pool = Poolable(reservation) && internal::TryGrow(pool_, 4);
  if (pool) {
    if (committed != 0) {
      int rc = madvise(reservation.base_, committed, MADV_DONTNEED);
      GCLAB_CHECK(rc == 0, "madvise(MADV_DONTNEED) of a linear memory failed: %s",
                  std::strerror(errno));
      rc = mprotect(reservation.base_, committed, PROT_NONE);
      GCLAB_CHECK(rc == 0, "mprotect of a pooled linear memory failed: %s", std::strerror(errno));
    }
    reservation.committed_ = 0;
    pool_.push_back(std::move(reservation));
    stats_.pooled = pool_.size();
  } else {
    Unmap(reservation);
  }
  const absl::Time done = absl::Now();
  stats_.committed_bytes -= committed;
  ++stats_.released;
  --stats_.live;
  stats_.released_bytes += committed;
  stats_.release_time += done - start;
  if (observer_) {
    observer_(ReleaseEvent{id, committed, pool ? ReleaseStrategy::kPool : ReleaseStrategy::kUnmap,
                           done - start, done});
  }
}

bool ReservationSpace::Poolable(const Reservation& r) const {
  return options_.release == ReleaseStrategy::kPool && pool_.size() < options_.pool_capacity &&
         r.mapped_ == options_.reservation_bytes + options_.guard_bytes;
}

void ReservationSpace::ReturnUnused(Reservation reservation) {
  if (reservation.committed_ == 0 && Poolable(reservation) && internal::TryGrow(pool_, 4)) {
    pool_.push_back(std::move(reservation));
    stats_.pooled = pool_.size();
  } else {
    Unmap(reservation);
  }
}

void ReservationSpace::DrainPool() {
  for (Reservation& r : pool_) Unmap(r);
  pool_.clear();
  stats_.pooled = 0;
}

}  // namespace gclab::linear_memory_internal
