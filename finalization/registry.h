// gclab: FinalizationRegistry<H>, a JavaScript-style FinalizationRegistry.
//
// A registry is a heap object with a cleanup callback. `Register(target, held, token)`
// asks: when `target` dies, call the callback with `held`. The target is held weakly;
// the held value is held strongly (it must outlive the target to be delivered); the
// optional unregister token is held weakly, and `Unregister(token)` removes every
// registration made with it.
//
//   using Held = gclab::FinalizationRegistry<Socket>;   // the held value is a Socket*
//   gclab::Local<Held> registry = Held::Create(heap, [](gclab::Local<Socket> socket) {
//     socket->Close();            // runs later, outside the collector
//   });
//   absl::Status s = registry->Register(connection.Get(), socket.Get(), connection.Get());
//   ...
//   absl::StatusOr<bool> removed = registry->Unregister(connection.Get());
//
// `H` is either a heap class (the held value is an `H*`, traced, and the callback gets
// a `Local<H>`) or any movable value type (stored in the registry, moved into the
// callback). The callback returns void or absl::Status.
//
// When does the callback run? After a collection finds the target dead, whenever the
// heap's finalization scheduler decides (scheduler.h): at the end of that collection,
// when the host pumps its jobs, in a random order after random delays, or never. Code
// must not depend on the timing or the order; run it under RandomizedScheduler.
//
// No resurrection, by construction: the callback receives the held value, never the
// target. By the time any callback for a dead target can run, every weak reference to
// that target (WeakRef, WeakMember, WeakPersistent, ephemeron tables' keys) has been
// cleared in the collection that found it dead; WeakMap entries keyed by it are gone.
// The held value is alive until delivered, and so are ephemeron entries keyed by it.
// A held value that references the target keeps the target alive forever: don't.
//
// Each registration is delivered at most once; Unregister after the target died but
// before delivery prevents the delivery. A registry that is itself collected delivers
// nothing more. Errors, after which nothing is registered: a null target or one that is
// not a live object of this heap; the target as its own held value; a held value or
// token that is not a live object of this heap. All are InvalidArgument. No memory for
// the registration (a new chunk of registrations under the heap limit, or a new
// token's index entry in malloc) is ResourceExhausted (gc/DESIGN.md [fault]).
//
// Memory: registrations live in chunks, each a heap object (their Members are seen by
// the write hook, gc/DESIGN.md [barrier]), listed in a HeapVector and grown without
// collecting: the first holds 32, each next one twice as many up to 4096 (160 KiB, a
// large object, which no collector copies or sweeps cell by cell), and so on by 4096.
// A registry registers with the heap when made
// (Heap::RegisterWeakContainer), so that every collection it survives checks its
// targets, whether or not that collection traced it.
#ifndef GCLAB_FINALIZATION_REGISTRY_H_
#define GCLAB_FINALIZATION_REGISTRY_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "finalization/queue.h"
#include "gc/gc.h"
#include "gc/internal/pointer_set.h"
#include "gc/internal/side_table.h"

namespace gclab {

namespace finalization_internal {
// Registrations hold targets and tokens of any heap type; they are stored untyped.
struct AnyObject;
}  // namespace finalization_internal

template <typename H>
class FinalizationRegistry final : public GarbageCollected<FinalizationRegistry<H>> {
  static constexpr bool kHeapHeld = IsGarbageCollectedType<H>::value;

 public:
  // What Register takes and what the callback receives.
  using Held = std::conditional_t<kHeapHeld, H*, H>;
  using HeldArg = std::conditional_t<kHeapHeld, Local<H>, H>;
  using Cleanup = std::function<absl::Status(HeldArg)>;

  // A new registry in `heap`, with a callback returning absl::Status or void.
  template <typename F>
  static Local<FinalizationRegistry> Create(Heap& heap, F&& cleanup) {
    Cleanup wrapped;
    if constexpr (std::is_void_v<std::invoke_result_t<F&, HeldArg>>) {
      wrapped = [f = std::forward<F>(cleanup)](HeldArg held) mutable {
        f(std::move(held));
        return absl::OkStatus();
      };
    } else {
      wrapped = std::forward<F>(cleanup);
    }
    FinalizationQueue& queue = FinalizationQueue::For(heap);
    // The callback is shared (see cleanup_), in side-table memory ([fault]).
    std::shared_ptr<Cleanup> shared = internal::TryMakeSideObject(
        "registry callback", [&] { return std::make_shared<Cleanup>(std::move(wrapped)); });
    if (shared == nullptr) heap.SideTableExhausted("a registry's callback", sizeof(Cleanup));
    Local<FinalizationRegistry> registry =
        heap.New<FinalizationRegistry>(heap, queue, std::move(shared));
    registry->id_ = queue.AddRegistry(registry.Get(), &kOps);
    heap.RegisterWeakContainer(registry.Get(), &AfterWeakClearing);  // [cycle.clear]
    return registry;
  }

  // Registers `target`. `token` (optional) is any live heap object, often the target
  // itself, to pass to Unregister later. When a new chunk of registrations finds no
  // room under the heap limit, collects once (keeping target, held value, token and
  // the registry) and tries again.
  absl::Status Register(const void* target, Held held, const void* token = nullptr) {
    return Register(target, std::move(held), token, /*may_collect=*/true);
  }

  // Removes every registration made with `token`, whether its target is alive or dead
  // and not yet delivered. True if there was any. A null token, or one that is not a
  // live object of this heap, is InvalidArgument.
  absl::StatusOr<bool> Unregister(const void* token) {
    heap_->CheckNotStale(this, "FinalizationRegistry::Unregister");
    if (token == nullptr || !heap_->Contains(token)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: FinalizationRegistry::Unregister: unusable token %p: not a live object of "
          "the registry's heap",
          token));
    }
    const uint32_t* head = token_heads_.find(token);
    if (head == nullptr) return false;
    uint32_t index = *head;
    token_heads_.erase(token);
    uint64_t removed = 0;
    while (index != kNone) {
      uint32_t next = slot_at(index).token_next;
      slot_at(index).token_prev = slot_at(index).token_next = kNone;  // the chain is gone
      FreeSlot(index);
      ++removed;
      index = next;
    }
    queue_->mutable_stats().unregistered += removed;
    return true;
  }

  // Registrations whose target is alive (as of the last collection).
  size_t registered() const { return registered_; }
  // Registrations whose target died, waiting for their callback.
  size_t pending_delivery() const { return ready_; }
  // The registry's id in its heap's queue (Delivery::registry).
  uint32_t id() const { return id_; }
  // The cell sizes of the heap objects that hold the registrations (the chunks and
  // the store that lists them), for memory accounting and tests.
  std::vector<size_t> StorageCells() const {
    std::vector<size_t> cells;
    if (chunks_.storage_bytes() != 0) cells.push_back(chunks_.storage_bytes());
    for (const Member<Chunk>& chunk : chunks_) cells.push_back(chunk->cell_size());
    return cells;
  }

  // The chunks report held values (strong) and tokens (weak). Targets are not reported
  // at all: the weak callback checks each one (one pass over the registrations, instead
  // of recording millions of weak slots for the collector to clear one by one).
  void Trace(Visitor& visitor) const { visitor.Trace(chunks_, "chunks"); }

  // For Heap::New; use Create.
  FinalizationRegistry(Heap& heap, FinalizationQueue& queue, std::shared_ptr<Cleanup> cleanup)
      : heap_(&heap), queue_(&queue), cleanup_(std::move(cleanup)) {}

 private:
  using AnyObject = finalization_internal::AnyObject;
  static constexpr uint32_t kNone = ~uint32_t{0};
  enum State : uint8_t { kFree, kRegistered, kReady };
  // Registrations live in chunks: growing never copies them. Chunk c holds
  // kFirstSlots << c registrations while c < kDoublings, then kLastSlots each, so a
  // registry of a few registrations takes about a kilobyte, and a large one grows by
  // large objects (a small chunk is an object like any other, which a moving
  // collector may move).
  static constexpr uint32_t kFirstShift = 5;
  static constexpr uint32_t kLastShift = 12;
  static constexpr uint32_t kFirstSlots = uint32_t{1} << kFirstShift;
  static constexpr uint32_t kLastSlots = uint32_t{1} << kLastShift;
  static constexpr uint32_t kDoublings = kLastShift - kFirstShift;
  // The registrations of the doubling chunks, before the first of kLastSlots.
  static constexpr uint32_t kDoublingSlots = kFirstSlots * ((uint32_t{1} << kDoublings) - 1);
  static uint32_t ChunkSlots(size_t chunk) {
    return chunk < kDoublings ? kFirstSlots << chunk : kLastSlots;
  }
  // The index of chunk `chunk`'s first registration: the slots of the chunks before it.
  static uint32_t ChunkStart(size_t chunk) {
    if (chunk < kDoublings) return kFirstSlots * ((uint32_t{1} << chunk) - 1);
    return kDoublingSlots + static_cast<uint32_t>(chunk - kDoublings) * kLastSlots;
  }
  struct Slot {
    // Weak, but checked by AfterWeakClearing rather than traced; null once it died.
    WeakMember<AnyObject> target;
    WeakMember<AnyObject> token;   // null for none, or once the token died
    std::conditional_t<kHeapHeld, Member<H>, std::optional<H>> held;
    uint32_t generation = 0;
    uint32_t token_prev = kNone;
    uint32_t token_next = kNone;  // also the free list's link
    State state = kFree;
    bool has_token = false;  // tells a token that died from no token
    bool queued = false;     // kReady and noted in the queue (NoteDead succeeded)
  };
  static_assert(alignof(Slot) <= 8, "a chunk's slots follow its 16-byte head");
  // A variable-size heap object ([obj.variable], as a HeapVector's store) of `count`
  // slots, every one constructed.
  class Chunk final : public GarbageCollected<Chunk> {
   public:
    static constexpr bool kGclabVariableSize = true;
    Chunk(size_t cell_size, uint32_t count) noexcept : cell_size_(cell_size), count_(count) {
      for (uint32_t i = 0; i < count_; ++i) ::new (&slots()[i]) Slot();
    }
    // How a moving collector relocates it (gc/garbage_collected.h).
    Chunk(Chunk&& other) noexcept : cell_size_(other.cell_size_), count_(other.count_) {
      for (uint32_t i = 0; i < count_; ++i) ::new (&slots()[i]) Slot(std::move(other.slots()[i]));
    }
    ~Chunk() {
      if constexpr (!std::is_trivially_destructible_v<Slot>) {
        for (uint32_t i = 0; i < count_; ++i) slots()[i].~Slot();
      }
    }
    Chunk(const Chunk&) = delete;
    Chunk& operator=(const Chunk&) = delete;

    void Trace(Visitor& visitor) const {
      for (uint32_t i = 0; i < count_; ++i) {
        const Slot& slot = slots()[i];
        if (slot.state == kFree) continue;
        visitor.Trace(slot.token);
        if constexpr (kHeapHeld) visitor.Trace(slot.held);
      }
    }
    Slot* slots() { return reinterpret_cast<Slot*>(this + 1); }
    const Slot* slots() const { return reinterpret_cast<const Slot*>(this + 1); }
    uint32_t count() const { return count_; }
    size_t cell_size() const { return cell_size_; }

   private:
    uint64_t cell_size_;  // first field of a variable-size type: its cell size
    uint32_t count_;
  };

  absl::Status Register(const void* target, Held held, const void* token, bool may_collect) {
    heap_->CheckNotStale(this, "FinalizationRegistry::Register");
    if (target == nullptr) {
      return absl::InvalidArgumentError(
          "gclab: FinalizationRegistry::Register: the target must not be null");
    }
    if (!heap_->Contains(target)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: FinalizationRegistry::Register: the target %p is not a live object of the "
          "registry's heap",
          target));
    }
    if constexpr (kHeapHeld) {
      if (static_cast<const void*>(held) == target) {
        return absl::InvalidArgumentError(
            "gclab: FinalizationRegistry::Register: the target must not be its own held "
            "value (the registry holds it strongly, so it could never die)");
      }
      if (held != nullptr && !heap_->Contains(held)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "gclab: FinalizationRegistry::Register: the held value %p is not a live object "
            "of the registry's heap",
            static_cast<const void*>(held)));
      }
    }
    if (token != nullptr && !heap_->Contains(token)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: FinalizationRegistry::Register: unusable unregister token %p: a token must "
          "be a live object of the registry's heap (or null for none)",
          token));
    }
    const uint32_t index = AllocateSlot();
    if (index == kNone) {
      if (!may_collect || !heap_->CanCollectNow()) return OutOfMemory();
      // The collection may move everything: go on from handles, on the registry's new
      // address.
      HandleScope scope(*heap_);
      Local<FinalizationRegistry> self(*heap_, this);
      Local<AnyObject> t(*heap_, Untyped(target));
      Local<AnyObject> k(*heap_, Untyped(token));
      if constexpr (kHeapHeld) {
        Local<H> h(*heap_, held);
        heap_->CollectGarbage(CollectionReason::kHeapLimit);
        return self->Register(t.Get(), h.Get(), k.Get(), /*may_collect=*/false);
      } else {
        heap_->CollectGarbage(CollectionReason::kHeapLimit);
        return self->Register(t.Get(), std::move(held), k.Get(), /*may_collect=*/false);
      }
    }
    Slot& slot = slot_at(index);
    if (token != nullptr) {
      slot.token = Untyped(token);
      slot.has_token = true;
      if (!LinkToken(index)) {
        slot.has_token = false;
        FreeSlot(index);
        return OutOfMemory();
      }
    }
    slot.state = kRegistered;
    slot.target = Untyped(target);
    if constexpr (kHeapHeld) {
      slot.held = held;
    } else {
      slot.held.emplace(std::move(held));
    }
    ++registered_;
    ++queue_->mutable_stats().registered;
    return absl::OkStatus();
  }

  static absl::Status OutOfMemory() {
    return absl::ResourceExhaustedError(
        "gclab: FinalizationRegistry::Register: out of memory for the registration");
  }

  static AnyObject* Untyped(const void* p) {
    return static_cast<AnyObject*>(const_cast<void*>(p));
  }

  // The chunk that holds registration `index`, and its place there.
  static std::pair<uint32_t, uint32_t> Locate(uint32_t index) {
    if (index < kDoublingSlots) {
      // Chunk c starts at kFirstSlots * (2^c - 1).
      const auto c = static_cast<uint32_t>(31 - __builtin_clz((index >> kFirstShift) + 1));
      return {c, index - ChunkStart(c)};
    }
    const uint32_t past = index - kDoublingSlots;
    return {kDoublings + (past >> kLastShift), past & (kLastSlots - 1)};
  }
  Slot& slot_at(uint32_t index) {
    const auto [chunk, place] = Locate(index);
    return chunks_[chunk]->slots()[place];
  }
  const Slot& slot_at(uint32_t index) const {
    const auto [chunk, place] = Locate(index);
    return chunks_[chunk]->slots()[place];
  }
  // f(index, slot) for every slot ever used, free ones included.
  template <typename F>
  void ForEachSlot(F&& f) const { ForEachSlotOf(*this, f); }
  template <typename F>
  void ForEachSlot(F&& f) { ForEachSlotOf(*this, f); }
  template <typename Self, typename F>
  static void ForEachSlotOf(Self& self, F& f) {
    uint32_t base = 0;
    for (uint32_t c = 0; c < self.chunks_.size() && base < self.slot_count_; ++c) {
      std::conditional_t<std::is_const_v<Self>, const Chunk*, Chunk*> chunk =
          self.chunks_[c].Get();
      const uint32_t end = std::min(chunk->count(), self.slot_count_ - base);
      auto* slots = chunk->slots();
      for (uint32_t j = 0; j < end; ++j) f(base + j, slots[j]);
      base += chunk->count();
    }
  }

  // A free slot's index, or kNone when a new chunk was needed and no memory was left.
  uint32_t AllocateSlot() {
    if (free_head_ != kNone) {
      uint32_t index = free_head_;
      free_head_ = slot_at(index).token_next;
      slot_at(index).token_next = kNone;
      return index;
    }
    GCLAB_CHECK(slot_count_ < kNone - kLastSlots,
                "a FinalizationRegistry holds 2^32 registrations");
    if (slot_count_ == ChunkStart(chunks_.size())) {  // every chunk is full
      // Neither allocation collects, so `this` stays where it is.
      if (!chunks_.TryReserve(*heap_, chunks_.size() + 1)) return kNone;
      const uint32_t count = ChunkSlots(chunks_.size());
      Chunk* chunk =
          internal::NewVariable<Chunk>(*heap_, sizeof(Chunk) + count * sizeof(Slot), count);
      if (chunk == nullptr) return kNone;
      chunks_.push_back(chunk);
    }
    return slot_count_++;
  }

  void FreeSlot(uint32_t index) {
    Slot& slot = slot_at(index);
    if (slot.state == kRegistered) --registered_;
    if (slot.state == kReady) --ready_;
    UnlinkToken(index);
    slot.target = nullptr;
    slot.token = nullptr;
    slot.has_token = false;
    if constexpr (kHeapHeld) {
      slot.held = nullptr;
    } else {
      slot.held.reset();
    }
    slot.state = kFree;
    slot.queued = false;
    ++slot.generation;
    slot.token_next = free_head_;
    free_head_ = index;
  }

  // Puts the slot at the head of its token's chain; false, with nothing changed, when
  // the token is new and the index had no memory for it.
  [[nodiscard]] bool LinkToken(uint32_t index) {
    Slot& slot = slot_at(index);
    slot.token_prev = kNone;
    slot.token_next = kNone;
    if (uint32_t* head = token_heads_.find(slot.token.GetWithoutLoadHook())) {
      slot.token_next = *head;
      slot_at(*head).token_prev = index;
      *head = index;
      return true;
    }
    return token_heads_.TryInsert(slot.token.GetWithoutLoadHook(), index);
  }

  void UnlinkToken(uint32_t index) {
    Slot& slot = slot_at(index);
    if (!slot.has_token) return;
    if (slot.token_prev != kNone) {
      slot_at(slot.token_prev).token_next = slot.token_next;
    } else {
      uint32_t* head = token_heads_.find(slot.token.GetWithoutLoadHook());
      if (head != nullptr && *head == index) {
        if (slot.token_next == kNone) {
          token_heads_.erase(slot.token.GetWithoutLoadHook());
        } else {
          *head = slot.token_next;
        }
      }
    }
    if (slot.token_next != kNone) slot_at(slot.token_next).token_prev = slot.token_prev;
    slot.token_prev = slot.token_next = kNone;
  }

  // ClearWeak phase (weak callbacks run after the weak slots are cleared): each
  // registered target found dead becomes a delivery, each live one follows its object
  // if it moved; tokens are re-indexed if objects moved or a token died.
  static void AfterWeakClearing(CycleContext& context, void* self) {
    auto* registry = static_cast<FinalizationRegistry*>(self);
    const bool moved = context.moves_objects();
    bool reindex = moved && !registry->token_heads_.empty();
    registry->queue_->ReserveDead(registry->registered_);
    registry->ForEachSlot([&](uint32_t i, Slot& slot) {
      if (slot.state == kRegistered) {
        void* target = slot.target.GetWithoutLoadHook();
        if (!context.IsAlive(target)) {
          slot.target = nullptr;
          slot.state = kReady;
          --registry->registered_;
          ++registry->ready_;
          // Without memory to note it, the registration stays ready, unqueued, and is
          // noted again after the collection (Requeue).
          slot.queued = registry->queue_->NoteDead(registry->id_, i, slot.generation);
          if (!slot.queued) registry->requeue_ = true;
        } else if (moved) {
          slot.target = static_cast<AnyObject*>(context.CurrentAddress(target));
        }
      }
      if (slot.has_token && !slot.token) {
        slot.has_token = false;  // the token died: nobody can unregister this any more
        reindex = true;          // and its map entry names a dead address
      }
    });
    if (!reindex) return;
    // A token's map entry is keyed by its old address (or a dead one): rebuild.
    // (No memory needed: there are no more distinct tokens than before, and clear()
    // keeps the index's memory.)
    registry->token_heads_.clear();
    registry->ForEachSlot([&](uint32_t i, Slot& slot) {
      if (slot.state == kFree) return;
      slot.token_prev = slot.token_next = kNone;
      if (slot.token) {
        GCLAB_CHECK(registry->LinkToken(i), "a registry's token index grew while rebuilt");
      }
    });
  }

  // After a collection whose NoteDead found no memory: notes the ready registrations
  // not in the queue yet; what still finds none waits for the next collection.
  static void Requeue(void* self) {
    auto* registry = static_cast<FinalizationRegistry*>(self);
    if (!registry->requeue_) return;
    registry->requeue_ = false;
    registry->ForEachSlot([&](uint32_t i, Slot& slot) {
      if (slot.state != kReady || slot.queued || registry->requeue_) return;
      slot.queued = registry->queue_->NoteDead(registry->id_, i, slot.generation);
      if (!slot.queued) registry->requeue_ = true;
    });
  }

  static finalization_internal::RunResult Run(void* self, const Delivery& d,
                                              absl::Status* status) {
    auto* registry = static_cast<FinalizationRegistry*>(self);
    if (!registry->IsReady(d)) return finalization_internal::RunResult::kStale;
    Slot& slot = registry->slot_at(d.slot);
    // Take the held value and free the slot before the callback: it may unregister,
    // register (reusing the slot), collect, or move this registry.
    HeldArg held = TakeHeld(*registry->heap_, slot);
    registry->FreeSlot(d.slot);
    std::shared_ptr<Cleanup> cleanup = registry->cleanup_;
    *status = (*cleanup)(std::move(held));
    return finalization_internal::RunResult::kRan;
  }

  static bool Drop(void* self, const Delivery& d, const void** held_object) {
    auto* registry = static_cast<FinalizationRegistry*>(self);
    if (!registry->IsReady(d)) return false;
    if constexpr (kHeapHeld) *held_object = registry->slot_at(d.slot).held.Get();
    registry->FreeSlot(d.slot);
    return true;
  }

  bool IsReady(const Delivery& d) const {
    return d.slot < slot_count_ && slot_at(d.slot).state == kReady &&
           slot_at(d.slot).generation == d.generation;
  }

  static HeldArg TakeHeld(Heap& heap, Slot& slot) {
    if constexpr (kHeapHeld) {
      return Local<H>(heap, slot.held.Get());
    } else {
      return std::move(*slot.held);
    }
  }

  static constexpr finalization_internal::RegistryOps kOps = {&Run, &Drop, &Requeue};

  Heap* heap_;
  FinalizationQueue* queue_;
  // Shared so that a callback running while a collection moves the registry keeps
  // its own copy alive.
  std::shared_ptr<Cleanup> cleanup_;
  uint32_t id_ = 0;
  HeapVector<Member<Chunk>> chunks_;
  uint32_t slot_count_ = 0;  // slots ever used (free ones included)
  uint32_t free_head_ = kNone;
  size_t registered_ = 0;
  size_t ready_ = 0;
  internal::PointerMap<const void*, uint32_t> token_heads_;
  bool requeue_ = false;  // some kReady slot is not queued
};

}  // namespace gclab

#endif  // GCLAB_FINALIZATION_REGISTRY_H_
