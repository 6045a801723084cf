// gclab: linear memories, modelled on WebAssembly.Memory, owned by heap objects.
//
// A WebAssembly instance's memory is one big buffer: megabytes to gigabytes of
// address space that the engine reserves up front, commits as the program grows it,
// and frees only when the garbage collector finds the memory object unreachable.
// Clearing the typed-array views over it frees nothing; a forgotten global that still
// points at the instance keeps all of it alive. This part of gclab gives a runtime
// (or a researcher) that object and the machinery around it:
//
//   - LinearMemory: 64 KiB pages, an initial and an optional maximum size, Grow(delta)
//     returning the previous size or an error that leaves the memory unchanged. It is
//     backed by a PROT_NONE reservation (8 GiB plus a 2 GiB guard by default, as 64-bit
//     engines reserve) whose prefix is made read-write as the memory grows, so its
//     address never changes and an access past the end faults.
//   - TypedView<T> (Uint8View, Int32View, Float64View...): a typed array over part of
//     a memory. A view keeps its memory alive; dropping the views alone frees nothing.
//   - Instance: owns the memories its module defines.
//   - Release: when a collection finds a memory dead, its destructor gives the pages
//     back to the OS at once: munmap, or (ReleaseStrategy::kPool) MADV_DONTNEED and a
//     pool of reservations reused by the next memories.
//   - Accounting: committed bytes are reported to the heap as external memory
//     (Heap::AdjustExternalMemory), so creating and dropping memories starts
//     collections by itself; without it, a loop that instantiates and drops grows
//     without bound because the heap objects are tiny.
//   - Exhaustion: when a reservation fails (the address-space budget is spent, or the
//     kernel's 128 TiB), the heap collects and retries once before reporting
//     ResourceExhausted.
//   - "Why is it alive?": Heap::FindRetainingPath(memory) names the root and the
//     fields that hold it (gc/retaining_path.h).
//
//   #include "linear_memory/linear_memory.h"
//
//   gclab::HandleScope scope(*heap);
//   gclab::Local<gclab::Instance> instance =
//       gclab::Instance::Create(*heap, {{.initial_pages = 1024}}).value();   // 64 MiB
//   gclab::Local<gclab::LinearMemory> memory(*heap, instance->memory(0));
//   gclab::Local<gclab::Uint8View> heap_u8 =
//       gclab::Uint8View::Create(*heap, memory).value();                 // HEAPU8
//   heap_u8->Set(0, 42);
//   uint32_t old_pages = memory->Grow(16).value();                        // 1024
//   // memory->Grow(1 << 20) is OutOfRange: past the maximum; nothing changes.
//
// Rules. Create, Grow and Instance::Create may collect (they report external memory
// and may retry a reservation): hold heap objects in handles across them, as across
// New. The release observer (LinearMemorySpace::set_release_observer) runs inside
// collections and must not touch the heap. A heap is single-threaded; so is this.
#ifndef GCLAB_LINEAR_MEMORY_LINEAR_MEMORY_H_
#define GCLAB_LINEAR_MEMORY_LINEAR_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "gc/gc.h"
#include "gc/internal/side_table.h"
#include "linear_memory/internal/reservation.h"
#include "linear_memory/options.h"

namespace gclab {

// The size of a memory, in 64 KiB pages (WebAssembly.Memory's descriptor).
struct MemoryDescriptor {
  uint32_t initial_pages = 0;
  // At most kMaxWasmPages and what the reservation holds; none: as much as both allow.
  std::optional<uint32_t> maximum_pages;
};

// The heap's linear-memory settings and counters: a heap attachment, created with
// default options on first use.
class LinearMemorySpace final : public HeapAttachment {
 public:
  static LinearMemorySpace& For(Heap& heap);

  // InvalidArgument for a reservation that is not a positive multiple of 64 KiB (or
  // over 1 TiB), a guard that is not a multiple of 4 KiB, or a nonzero budget smaller
  // than one reservation plus its guard. New memories use the options; pooled
  // reservations are unmapped.
  absl::Status Configure(const LinearMemoryOptions& options);
  const LinearMemoryOptions& options() const { return space_->options(); }
  const LinearMemoryStatistics& stats() const { return space_->stats(); }
  // Called, inside the collection that found the memory dead, once its pages are
  // back with the OS; and for every memory still alive when the heap is destroyed.
  // It must not touch the heap, and what it captures must outlive the heap.
  void set_release_observer(std::function<void(const ReleaseEvent&)> observer) {
    space_->set_release_observer(std::move(observer));
  }

  // For LinearMemory.
  const std::shared_ptr<linear_memory_internal::ReservationSpace>& space() { return space_; }

 private:
  LinearMemorySpace() = default;
  std::shared_ptr<linear_memory_internal::ReservationSpace> space_;
};

class LinearMemory final : public GarbageCollected<LinearMemory> {
 public:
  static constexpr std::string_view kTypeName = "LinearMemory";

  // new WebAssembly.Memory(descriptor). InvalidArgument when initial > maximum, or
  // the maximum is over kMaxWasmPages or does not fit the heap's reservation size;
  // ResourceExhausted when no reservation can be had even after a collection, or the
  // initial pages cannot be committed.
  static absl::StatusOr<Local<LinearMemory>> Create(Heap& heap, const MemoryDescriptor& descriptor);

  // Memory.prototype.grow: adds `delta_pages` pages, zero-filled, and returns the
  // previous size in pages. OutOfRange past the maximum, ResourceExhausted if the
  // kernel will not commit them; in both cases the memory is unchanged. May collect.
  absl::StatusOr<uint32_t> Grow(uint32_t delta_pages);

  uint32_t pages() const { return pages_; }
  uint32_t maximum_pages() const { return maximum_pages_; }
  size_t byte_length() const { return size_t{pages_} * kWasmPageSize; }
  // The memory's bytes. The address never changes while the memory lives (the
  // reservation does not move, even when the heap object does).
  uint8_t* data() const { return reinterpret_cast<uint8_t*>(reservation_.base()); }
  absl::Span<uint8_t> bytes() const { return absl::Span<uint8_t>(data(), byte_length()); }
  // Unique within the heap; release events carry it.
  uint64_t id() const { return id_; }

  // No references; the committed pages show in heap snapshots as a native node.
  void Trace(Visitor& visitor) const {
    visitor.TraceExternalMemory(data(), byte_length(), "LinearMemory backing store");
  }

  // Heap objects are created with Create; these are for the heap (it moves objects).
  LinearMemory(Heap* heap, std::shared_ptr<linear_memory_internal::ReservationSpace> space,
               linear_memory_internal::Reservation reservation, uint32_t pages,
               uint32_t maximum_pages, uint64_t id);
  LinearMemory(LinearMemory&& other) noexcept = default;
  ~LinearMemory();

 private:
  Heap* heap_;
  std::shared_ptr<linear_memory_internal::ReservationSpace> space_;
  linear_memory_internal::Reservation reservation_;
  uint32_t pages_;
  uint32_t maximum_pages_;
  uint64_t id_;
};

// A typed array over [byte_offset, byte_offset + length * sizeof(T)) of a memory. It
// keeps the memory alive. Elements are read and written in the machine's byte order
// (little-endian on x86-64, as WebAssembly's).
template <typename T>
class TypedView final : public GarbageCollected<TypedView<T>> {
  static_assert(std::is_arithmetic_v<T>, "views hold numbers");

 public:
  // new Uint8Array(memory.buffer, byte_offset, length). InvalidArgument when
  // byte_offset is not a multiple of sizeof(T); OutOfRange when the range passes the
  // memory's current end. Without a length: to the end (which must then be a whole
  // number of elements).
  static absl::StatusOr<Local<TypedView>> Create(Heap& heap, Local<LinearMemory> memory,
                                                 size_t byte_offset = 0,
                                                 std::optional<size_t> length = std::nullopt);

  size_t length() const { return length_; }
  size_t byte_offset() const { return byte_offset_; }
  LinearMemory* memory() const { return memory_.Get(); }

  // Element access; an index past the end stops the program with a message.
  T Get(size_t index) const {
    CheckIndex(index);
    T value;
    std::memcpy(&value, data_ + index * sizeof(T), sizeof(T));
    return value;
  }
  void Set(size_t index, T value) {
    CheckIndex(index);
    std::memcpy(data_ + index * sizeof(T), &value, sizeof(T));
  }
  absl::Span<T> span() const { return absl::Span<T>(reinterpret_cast<T*>(data_), length_); }

  void Trace(Visitor& visitor) const { visitor.Trace(memory_, "memory"); }

  TypedView(const Local<LinearMemory>& memory, size_t byte_offset, size_t length)
      : memory_(memory.Get()),
        data_(memory->data() + byte_offset),
        byte_offset_(byte_offset),
        length_(length) {}

 private:
  void CheckIndex(size_t index) const {
    GCLAB_CHECK(index < length_, "TypedView index %zu out of range (length %zu)", index, length_);
  }

  Member<LinearMemory> memory_;
  uint8_t* data_;  // stable: a memory's bytes never move
  size_t byte_offset_;
  size_t length_;
};

using Uint8View = TypedView<uint8_t>;
using Int32View = TypedView<int32_t>;
using Uint32View = TypedView<uint32_t>;
using Float32View = TypedView<float>;
using Float64View = TypedView<double>;

// A module instance that owns the memories its module defines (and may hold more
// references a runtime adds: exports, tables; here only memories).
class Instance final : public GarbageCollected<Instance> {
 public:
  static constexpr std::string_view kTypeName = "Instance";

  // Instantiates with one memory per descriptor. Fails like LinearMemory::Create;
  // memories made before a failure are garbage for the next collection.
  static absl::StatusOr<Local<Instance>> Create(Heap& heap,
                                                const std::vector<MemoryDescriptor>& memories);

  size_t memory_count() const { return memories_.size(); }
  LinearMemory* memory(size_t index) const {
    GCLAB_CHECK(index < memories_.size(), "Instance::memory(%zu) of %zu", index, memories_.size());
    return memories_[index].Get();
  }

  void Trace(Visitor& visitor) const { visitor.Trace(memories_, "memories"); }
  // Bytes of heap the list of memories takes (a HeapVector's store; 0 for none).
  size_t storage_bytes() const { return memories_.storage_bytes(); }

  // For Create, which fills the list.
  Instance() = default;

 private:
  // In a heap object (a HeapVector's store), where the write hook sees its stores.
  HeapVector<Member<LinearMemory>> memories_;
};

template <typename T>
absl::StatusOr<Local<TypedView<T>>> TypedView<T>::Create(Heap& heap, Local<LinearMemory> memory,
                                                         size_t byte_offset,
                                                         std::optional<size_t> length) {
  if (memory.IsEmpty()) return absl::InvalidArgumentError("gclab: a view of no memory");
  if (byte_offset % sizeof(T) != 0) {
    return absl::InvalidArgumentError(
        "gclab: a view's byte offset must be a multiple of its element size");
  }
  const size_t size = memory->byte_length();
  if (byte_offset > size) {
    return absl::OutOfRangeError("gclab: a view's byte offset is past the memory's end");
  }
  size_t n;
  if (length.has_value()) {
    n = *length;
    if (n > (size - byte_offset) / sizeof(T)) {
      return absl::OutOfRangeError("gclab: a view's range passes the memory's end");
    }
  } else {
    if ((size - byte_offset) % sizeof(T) != 0) {
      return absl::OutOfRangeError(
          "gclab: the memory's end is not a whole number of the view's elements");
    }
    n = (size - byte_offset) / sizeof(T);
  }
  return heap.TryNew<TypedView<T>>(memory, byte_offset, n);
}

}  // namespace gclab

#endif  // GCLAB_LINEAR_MEMORY_LINEAR_MEMORY_H_
