#include "linear_memory/linear_memory.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"

namespace gclab {

namespace {
const char kSpaceKey = 0;  // names the LinearMemorySpace among the heap's attachments

using linear_memory_internal::Reservation;
using linear_memory_internal::ReservationSpace;
}  // namespace

LinearMemorySpace& LinearMemorySpace::For(Heap& heap) {
  if (HeapAttachment* existing = heap.attachment(&kSpaceKey)) {
    return *static_cast<LinearMemorySpace*>(existing);
  }
  // Side-table memory ([fault]): refused, the heap's out-of-memory handler.
  std::unique_ptr<LinearMemorySpace> space =
      internal::TryMakeSideObject("linear memory space", [] {
        auto made = std::unique_ptr<LinearMemorySpace>(new LinearMemorySpace());
        made->space_ = std::make_shared<ReservationSpace>(LinearMemoryOptions{});
        return made;
      });
  if (space == nullptr) {
    heap.SideTableExhausted("the heap's linear-memory space", sizeof(LinearMemorySpace));
  }
  LinearMemorySpace* raw = space.get();
  heap.set_attachment(&kSpaceKey, std::move(space));
  return *raw;
}

absl::Status LinearMemorySpace::Configure(const LinearMemoryOptions& options) {
  if (options.reservation_bytes == 0 || options.reservation_bytes % kWasmPageSize != 0 ||
      options.reservation_bytes > (size_t{1} << 40)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: reservation_bytes must be a positive multiple of 64 KiB up to 1 TiB, got %d",
        options.reservation_bytes));
  }
  if (options.guard_bytes % 4096 != 0 || options.guard_bytes > (size_t{1} << 40)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: guard_bytes must be a multiple of 4 KiB up to 1 TiB, got %d", options.guard_bytes));
  }
  if (options.address_space_budget != 0 &&
      options.address_space_budget < options.reservation_bytes + options.guard_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: an address_space_budget of %d bytes holds no reservation of %d bytes "
        "(reservation plus guard); 0 means no budget",
        options.address_space_budget, options.reservation_bytes + options.guard_bytes));
  }
  space_->set_options(options);
  return absl::OkStatus();
}

absl::StatusOr<Local<LinearMemory>> LinearMemory::Create(Heap& heap,
                                                         const MemoryDescriptor& descriptor) {
  LinearMemorySpace& space = LinearMemorySpace::For(heap);
  const LinearMemoryOptions& options = space.options();
  const auto fits = static_cast<uint32_t>(
      std::min<size_t>(kMaxWasmPages, options.reservation_bytes / kWasmPageSize));
  const uint32_t maximum = descriptor.maximum_pages.value_or(fits);
  if (maximum > fits) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: a linear memory's maximum of %d pages is over the limit of %d pages (%d "
        "for 32-bit memories, and the heap's reservation of %d bytes)",
        maximum, fits, kMaxWasmPages, options.reservation_bytes));
  }
  if (descriptor.initial_pages > maximum) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: a linear memory's initial size of %d pages is over its maximum of %d",
        descriptor.initial_pages, maximum));
  }

  // Report the bytes first: if that collects, dead memories give their reservations
  // and pages back before this one takes a reservation (a loop that instantiates and
  // drops then holds the live memories plus one, never one more).
  const size_t initial_bytes = size_t{descriptor.initial_pages} * kWasmPageSize;
  heap.AdjustExternalMemory(static_cast<int64_t>(initial_bytes));  // may collect
  auto unreport = [&] { heap.AdjustExternalMemory(-static_cast<int64_t>(initial_bytes)); };

  std::shared_ptr<ReservationSpace> state = space.space();
  absl::StatusOr<Reservation> reservation = state->Acquire();
  if (!reservation.ok() && options.collect_on_exhaustion) {
    // Dead memories give their reservations back in the collection's sweep.
    state->NoteExhaustionCollection();
    heap.CollectGarbage(CollectionReason::kAddressSpace);
    reservation = state->Acquire();
    if (!reservation.ok()) {
      reservation = absl::ResourceExhaustedError(std::string(reservation.status().message()) +
                                                 ", even after a full collection");
    }
  }
  if (!reservation.ok()) {
    state->NoteFailure();
    unreport();
    return reservation.status();
  }
  if (absl::Status s = reservation->CommitTo(initial_bytes); !s.ok()) {
    state->ReturnUnused(*std::move(reservation));
    state->NoteFailure();
    unreport();
    return s;
  }
  const uint64_t id = state->NextId();
  absl::StatusOr<Local<LinearMemory>> memory = heap.TryNew<LinearMemory>(
      &heap, state, std::move(*reservation), descriptor.initial_pages, maximum, id);
  if (!memory.ok()) {
    // The constructor did not run: the reservation is still ours.
    state->ReturnUnused(*std::move(reservation));
    unreport();
    return memory.status();
  }
  return memory;
}

LinearMemory::LinearMemory(Heap* heap, std::shared_ptr<ReservationSpace> space,
                           Reservation reservation, uint32_t pages, uint32_t maximum_pages,
                           uint64_t id)
    : heap_(heap),
      space_(std::move(space)),
      reservation_(std::move(reservation)),
      pages_(pages),
      maximum_pages_(maximum_pages),
      id_(id) {
  space_->NoteCreated();
  space_->NoteCommitted(reservation_.committed_bytes());
}

LinearMemory::~LinearMemory() {
  if (reservation_.empty()) return;  // moved from
  const size_t committed = reservation_.committed_bytes();
  space_->Release(std::move(reservation_), id_);
  heap_->AdjustExternalMemory(-static_cast<int64_t>(committed));
}

absl::StatusOr<uint32_t> LinearMemory::Grow(uint32_t delta_pages) {
  heap_->CheckNotStale(this, "LinearMemory::Grow");
  const uint32_t previous = pages_;
  if (delta_pages == 0) return previous;
  const uint64_t wanted = uint64_t{pages_} + delta_pages;
  if (wanted > maximum_pages_) {
    return absl::OutOfRangeError(absl::StrFormat(
        "gclab: cannot grow a linear memory of %d pages by %d: its maximum is %d pages", pages_,
        delta_pages, maximum_pages_));
  }
  const size_t added = size_t{delta_pages} * kWasmPageSize;
  if (absl::Status s = reservation_.CommitTo(wanted * kWasmPageSize); !s.ok()) return s;
  pages_ = static_cast<uint32_t>(wanted);
  space_->NoteCommitted(added);
  // Last: this may collect and move the object; nothing below reads `this`.
  Heap* heap = heap_;
  heap->AdjustExternalMemory(static_cast<int64_t>(added));
  return previous;
}

namespace {
absl::Status InstanceOutOfMemory() {
  return absl::ResourceExhaustedError(
      "gclab: Instance::Create: out of memory for the instance's list of memories (malloc "
      "for the handles, or the heap limit for the list)");
}
}  // namespace

absl::StatusOr<Local<Instance>> Instance::Create(Heap& heap,
                                                 const std::vector<MemoryDescriptor>& memories) {
  // Only the instance's handle reaches the caller's scope.
  EscapableHandleScope scope(heap);
  internal::SideVector<Local<LinearMemory>> made;
  if (!internal::TryReserve(made, memories.size())) return InstanceOutOfMemory();
  for (const MemoryDescriptor& d : memories) {
    absl::StatusOr<Local<LinearMemory>> m = LinearMemory::Create(heap, d);
    if (!m.ok()) return m.status();
    made.push_back(*m);
  }
  // The instance's allocation may collect and move the memories: they are read from
  // their handles after it. Its list grows without collecting, so nothing moves while
  // it is filled.
  absl::StatusOr<Local<Instance>> instance = heap.TryNew<Instance>();
  if (!instance.ok()) return instance.status();
  HeapVector<Member<LinearMemory>>& list = (*instance)->memories_;
  if (!list.TryReserve(heap, made.size())) return InstanceOutOfMemory();
  for (const Local<LinearMemory>& m : made) list.push_back(m.Get());
  return scope.Escape(*instance);
}

}  // namespace gclab
