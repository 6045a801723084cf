// gclab: Heap, where garbage-collected objects live.
//
// A Heap owns objects of classes derived from GarbageCollected<T>. Objects reference
// each other through traced `Member<T>` fields and are kept alive by roots: `Local<T>`
// handles (scoped, cheap, on the heap's handle stack) and `Persistent<T>` handles
// (anywhere, any lifetime). What no root reaches is reclaimed by the collector chosen
// when the heap is created; the same program runs unchanged on every collector.
//
//   #include "gc/gc.h"
//
//   class Node : public gclab::GarbageCollected<Node> {
//    public:
//     explicit Node(int v) : value(v) {}
//     void Trace(gclab::Visitor& v) const { v.Trace(next); }
//     int value;
//     gclab::Member<Node> next;
//   };
//
//   gclab::HeapOptions options;
//   options.collector = "semispace";   // any registered collector (collectors.h)
//   std::unique_ptr<gclab::Heap> heap = gclab::Heap::Create(options).value();
//   gclab::HandleScope scope(*heap);
//   gclab::Local<Node> head = heap->New<Node>(1);
//   head->next = heap->New<Node>(2);          // reachable through head
//   heap->New<Node>(3);                       // garbage once the scope ends... or now
//   gclab::Persistent<Node> keep(*heap, head);  // a root beyond this scope
//   heap->CollectGarbage();                   // head and head->next survive
//
// Raw pointers. `T*` values obtained from handles or Members are not roots, and under
// a moving collector (semispace) any allocation may move every object. Keep a raw
// pointer only until the next allocation; across allocations hold a Local or
// Persistent. Pass handles, not raw pointers, to constructors of heap objects: they
// are read after the allocation, so they see the current address.
//
// Call order: Create -> New / CollectGarbage (any order, any number) -> destroy. Every
// Local must die inside its HandleScope; Persistents may outlive the heap but must
// not be used after it (checked: the program stops with a message).
//
// A Heap is not thread-safe: use it from one thread at a time.
#ifndef GCLAB_GC_HEAP_H_
#define GCLAB_GC_HEAP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "gc/collection_hook.h"
#include "gc/collectors.h"
#include "gc/garbage_collected.h"
#include "gc/gc_events.h"
#include "gc/heap_snapshot.h"
#include "gc/internal/allocation_state.h"
#include "gc/internal/check.h"
#include "gc/internal/handle_area.h"
#include "gc/internal/object_header.h"
#include "gc/internal/persistent_node.h"
#include "gc/member.h"
#include "gc/mutator_utilization.h"
#include "gc/policy.h"
#include "gc/retaining_path.h"
#include "gc/stats.h"
#include "gc/visitor.h"

namespace gclab {

// How ephemerons are resolved (weak/ephemeron_table.h). Both give the same result.
enum class EphemeronAlgorithm {
  // Pending ephemerons are indexed by key and resolved when the key is reached:
  // linear in ephemerons plus objects.
  kIndexed,
  // Rescan every unresolved ephemeron until a pass resolves none: quadratic in the
  // worst case; kept for experiments that compare the two.
  kNaiveFixpoint,
};

// Stress modes for testing collectors and the code that uses them (gc/DESIGN.md
// [stress]), as V8's --gc-interval and MMTk's stress factor. Any program linked with
// gclab can turn them on without recompiling, through the environment:
//
//   GCLAB_STRESS=every=64,verify ./my_program     # collect every 64 allocations,
//                                                 # re-trace after every collection
//
// The variable holds a comma-separated list of these items (StressOptions::Parse):
//   every=N        collect at every Nth allocation
//   every-bytes=N  collect when N bytes were allocated since the last stress collection
//   random=N       collect at random allocations, one in N on average...
//   seed=S         ...drawn from seed S (default 1): the same seed, the same points
//   scale=K        stretch each of the intervals above to at least 1/K of the objects
//                  (bytes, for every-bytes) the last collection found live, so that
//                  big heaps stay affordable: about K objects re-traced per allocation
//   zap            fill freed cells with 0xdb bytes (and poison them under ASan)
//   verify         after every collection, re-trace the heap with an independent
//                  marker and compare it object by object with what the collector kept
// A collection point that falls inside a heap object's constructor is taken at the
// next allocation outside one ([alloc.ctor]). Stress collections are collections like
// any other (CollectionReason::kStress; minor or major on a generational collector, as
// an allocation-budget one would be, gc/DESIGN.md [gen.policy]): each one also sets
// the next budget.
struct StressOptions {
  uint64_t collect_every_allocations = 0;  // 0: off
  uint64_t collect_every_bytes = 0;        // 0: off
  uint64_t collect_randomly_every = 0;     // 0: off; else the mean interval, in allocations
  uint64_t random_seed = 1;
  uint64_t scale = 0;                      // 0: intervals do not grow with the heap
  bool zap_freed = false;
  bool verify = false;

  // Whether any allocation-driven collection is on (each allocation then takes the
  // slow path, which counts it).
  bool collects() const {
    return collect_every_allocations != 0 || collect_every_bytes != 0 ||
           collect_randomly_every != 0;
  }
  bool any() const { return collects() || zap_freed || verify; }

  // Parses the GCLAB_STRESS syntax above; InvalidArgument names the bad item.
  static absl::StatusOr<StressOptions> Parse(std::string_view spec);
  // GCLAB_STRESS, or no stress if it is unset or empty. A malformed value stops the
  // program with Parse's message: a stress run must not quietly run without stress.
  static StressOptions FromEnvironment();
};

struct HeapOptions {
  // A registered collector (collectors.h): CollectorKind::kSemispace, or by name,
  // "semispace". Heap::Create fails with InvalidArgument for a name none registered.
  CollectorKind collector = CollectorKind::kMarkSweep;
  // Options for that collector, which its README lists; InvalidArgument from
  // Heap::Create for one it does not read.
  CollectorOptions collector_options;
  // Hard cap on the bytes of objects the heap may hold: cells as allocated, headers
  // and size-class rounding included (gc/DESIGN.md [alloc.limit]). Not a cap on
  // memory held from the OS: semispace reserves twice this much address space for
  // its two halves, and mark-sweep reserves pages for twice this much, because pages
  // pinned by sparse survivors serve only their size class (see
  // HeapStatistics::fragmented_bytes).
  size_t heap_limit = size_t{1} << 30;
  // When to collect; null means GrowthFactorPolicy(2.0, 4 MiB).
  std::shared_ptr<TriggerPolicy> policy;
  // Run the heap verifier after every collection (always on in GCLAB_DEBUG builds).
  bool verify_after_collection = internal::kDebugChecks;
  EphemeronAlgorithm ephemeron_algorithm = EphemeronAlgorithm::kIndexed;
  // Whether external memory (AdjustExternalMemory) counts toward starting
  // collections. Off, it is only counted in the statistics: the naive baseline of a
  // runtime that never told its collector about big buffers.
  bool external_memory_triggers_collection = true;
  // Whether the collector's small-object spaces (its pages, nursery or semispaces)
  // ask the kernel for transparent huge pages (madvise MADV_HUGEPAGE, where the kernel
  // has them; "madvise" or "always" in /sys/kernel/mm/transparent_hugepage/enabled).
  // Filling memory then takes one page fault per 2 MiB instead of one per 4 KiB, which
  // took 13 to 25% off every collector's collection time on binary-trees, which fills
  // hundreds of MiB (benchmarks/README.md, "Transparent huge pages"); the
  // cost is memory held in 2 MiB steps (HeapStatistics::committed_bytes counts 4 KiB
  // pages and may read up to 2 MiB low per space), and a fault may stall while the
  // kernel compacts memory to find a huge page. Large objects and linear memories keep
  // small pages. Unset: on, unless GCLAB_HUGE_PAGES=0 (or "off") in the environment;
  // any other value than 0, 1, off or on stops the program with a message.
  std::optional<bool> huge_pages;
  // Log every pause (Heap::pauses(), gc/mutator_utilization.h): 32 bytes each, kept
  // for the life of the heap, for minimum mutator utilization and pause distributions.
  bool record_pauses = false;
  // Stress modes (above). Unset: read from GCLAB_STRESS when the heap is created. A
  // test whose expectations depend on when collections happen sets it explicitly
  // (to StressOptions{} for none).
  std::optional<StressOptions> stress;
  // A line per collection on stderr (gc/gc_events.h). Unset: on if GCLAB_TRACE_GC is
  // set to 1 (or "on"); any other value than 0, 1, off or on stops the program with a
  // message.
  std::optional<bool> trace_gc;
  // Chrome trace events of every collection, written to this file (gc/gc_events.h);
  // empty: none. Unset: GCLAB_TRACE_FILE. Heap::Create fails with InvalidArgument if
  // the file cannot be opened for writing.
  std::optional<std::string> trace_file;
};

template <typename T>
class Local;
template <typename T, bool kWeak>
class BasicPersistent;

// Per-heap state of a subsystem built on the heap (finalization's queue keeps its
// registries and scheduler in one). The heap owns it and destroys it first, before any
// object, when the heap is destroyed.
class HeapAttachment {
 public:
  virtual ~HeapAttachment() = default;
};

class Heap;
namespace internal {
class HeapImpl;
template <typename T, typename... Args>
T* NewVariable(Heap& heap, size_t payload_bytes, Args&&... args);
}

class Heap {
 public:
  using OutOfMemoryHandler = std::function<void(const absl::Status&)>;

  // Fails with InvalidArgument for a heap_limit under 1 MiB or over 1 TiB, and with
  // ResourceExhausted if the address space cannot be reserved.
  static absl::StatusOr<std::unique_ptr<Heap>> Create(HeapOptions options = {});
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // Allocates and constructs a T, returned as a Local in the innermost HandleScope
  // (one must be open). On out-of-memory, after a full collection, calls the
  // out-of-memory handler, which by default prints the reason and aborts.
  template <typename T, typename... Args>
  Local<T> New(Args&&... args);

  // Like New, but out-of-memory is a ResourceExhausted status. Its message says
  // whether the object did not fit under the heap limit after a full collection, or
  // fitted but the collector had no place for it (a fragmented non-moving heap, or
  // the OS refusing a large object's mapping; gc/DESIGN.md [alloc.oom]).
  template <typename T, typename... Args>
  absl::StatusOr<Local<T>> TryNew(Args&&... args);

  // Allocates and constructs a T and returns a raw pointer, valid until the next
  // allocation: for storing straight into a Member or a handle.
  template <typename T, typename... Args>
  T* NewRaw(Args&&... args);

  // Whether a collection may start here: not during one, and not inside a heap
  // object's constructor ([alloc.ctor]). For containers that grow without collecting
  // and, when that finds no room, collect once and try again.
  bool CanCollectNow() const;

  // The heap whose object memory holds `address` (any address inside an object of
  // it), or null. Two loads (gc/DESIGN.md [barrier.slow]); for code that knows an
  // object but not its heap, as a HeapVector growing from its holder's constructor.
  static Heap* Of(const void* address);

  // Allocates and constructs a T like TryNew, but never starts a collection, so nothing
  // moves: for a heap object's method that allocates and goes on using `this` and raw
  // pointers (a container growing its storage). The allocation may go past the
  // allocation budget, up to the heap limit, as allocations inside constructors do
  // (gc/DESIGN.md [alloc.ctor]); the next ordinary allocation then collects. Null when
  // the heap limit leaves no room without a collection. The result is not rooted:
  // store it into a Member before the next allocation.
  template <typename T, typename... Args>
  T* NewWithoutCollecting(Args&&... args);

  // A full, stop-the-world collection. Subsystems that collect for their own reason
  // (a failed address-space reservation) say so; the statistics keep the reason.
  void CollectGarbage(CollectionReason reason = CollectionReason::kExplicit);
  // A collection of the given kind: kMinor collects only young objects on a
  // generational collector (capabilities().generational) and is a major collection on
  // any other.
  void CollectGarbage(CollectionKind kind, CollectionReason reason = CollectionReason::kExplicit);
  // Either collection above, in one pause, reclaims everything unreachable when it is
  // called: an incremental cycle in progress is dropped for it (gc/DESIGN.md
  // [incr.abandon]; HeapStatistics::abandoned_incremental_cycles).

  // --- Incremental collection, on a collector whose capabilities().incremental says
  // it can (gc/DESIGN.md [incr]). The heap starts cycles by itself, halfway through
  // the allocation budget, and marks in steps paced by allocation; a host can add
  // steps in idle time and start or finish a cycle when it knows best:
  //
  //   if (heap->IncrementalCollectionInProgress()) {
  //     heap->Step(absl::Milliseconds(2));   // the idle time until the next frame
  //   }
  //
  // A cycle keeps, besides what is reachable at its end, what died while it marked
  // and what was allocated meanwhile; the next cycle reclaims them.
  //
  // Starts a cycle: a short pause that marks what the roots hold. FailedPrecondition
  // if the collector cannot mark incrementally, a cycle is in progress, or no
  // collection may start here (CanCollectNow).
  absl::Status StartIncrementalCollection();
  // Marks for about `budget`, then, if the marking is done, runs the cycle's final
  // pause (which may take longer); between cycles, sweeps for about `budget` what the
  // last cycle left unswept (gc/DESIGN.md [incr.lazy]). Whatever the budget, it does
  // one step if there is work: a zero budget marks 16 KiB or sweeps one page. Does
  // nothing inside a heap object's constructor. Returns whether incremental work is left: a cycle in
  // progress, or pages to sweep.
  bool Step(absl::Duration budget);
  // The final pause now, if a cycle is in progress (the rest of the marking, weak
  // processing, finalization, the sweep of pages with destructors), then the rest of
  // the sweep.
  void FinishIncrementalCollection();
  bool IncrementalCollectionInProgress() const;
  // Whether the live object at `object` is young: a minor collection would reclaim it
  // if nothing reached it (allocated since the last collection, or still in a
  // nursery). False on a collector that is not generational. For tests and tools.
  bool InYoungGeneration(const void* object) const;

  // External memory accounting (policy.h explains it): a heap object that owns
  // memory outside the heap reports each change, +bytes when it commits memory and
  // -bytes when it releases it (its destructor may do so during a collection). When
  // the growth since the last collection passes the policy's ExternalBudget, this
  // call collects first, like an allocation: hold heap objects in handles across it.
  // Returns the external bytes now reported. A decrease below zero stops the
  // program with a message (an unbalanced report).
  size_t AdjustExternalMemory(int64_t delta_bytes);
  size_t external_memory() const;

  // Listeners hear every collection's start, phases, pauses and end (gc_events.h),
  // from the next collection on, until removed or the heap dies. Not during a
  // collection; adding one twice, or removing one not added, stops the program with a
  // message.
  void AddEventListener(GcEventListener* listener);
  void RemoveEventListener(GcEventListener* listener);

  // Why is `object` alive? A shortest chain of strong references from a root to it
  // (retaining_path.h). NotFound when no root reaches it (the next collection
  // reclaims it); InvalidArgument for null or an address that is not an object of
  // this heap. Outside collections only; allocates nothing in the heap.
  absl::StatusOr<RetainingPath> FindRetainingPath(const void* object);

  // Writes every live object, after a full collection, as a Chrome DevTools heap
  // snapshot (heap_snapshot.h) that the Memory panel and memlab open; `summary`, if
  // given, receives its counts. InvalidArgument if `path` cannot be opened, DataLoss
  // if writing fails, FailedPrecondition inside a heap object's constructor. Outside
  // collections only; allocates nothing in the heap.
  absl::Status WriteHeapSnapshot(const std::string& path, HeapSnapshotSummary* summary = nullptr);
  absl::Status WriteHeapSnapshot(std::ostream& out, HeapSnapshotSummary* summary = nullptr);

  // Statistics so far (see stats.h).
  const HeapStatistics& stats();
  // Every pause so far, in order, with HeapOptions::record_pauses; otherwise empty
  // (gc/mutator_utilization.h). Valid until the next collection.
  absl::Span<const Pause> pauses() const;

  CollectorKind collector_kind() const;
  std::string_view collector_name() const;
  // A number for this heap, unique in the process (1 for the first heap created).
  uint64_t id() const { return id_; }
  // What the collector can do (collectors.h); moves_objects() is capabilities().moves_objects.
  const CollectorCapabilities& capabilities() const;
  bool moves_objects() const;
  const HeapOptions& options() const;

  // True if `payload` is the address of an object allocated in this heap (and not
  // yet reclaimed). Constant time on mark-sweep (a page-table lookup) and for large
  // objects (a hash lookup); on semispace the first call after allocations indexes
  // the objects allocated since the previous call (each object once per cycle), then
  // a bitmap lookup.
  bool Contains(const void* payload) const;

  // Stops the program with a message if `object` is where an object was before the
  // last collection moved it (on heaps whose collector moves objects; elsewhere it
  // costs nothing). For methods of heap objects that change state, called as
  // `object->Method(heap.New<T>(...))`: C++ may read `object` before the allocation
  // moves it, and the call would then change the stale copy and be lost. `what` names
  // the method in the message. An address range test: cheap, and it catches a pointer
  // that one collection made stale.
  GCLAB_INLINE void CheckNotStale(const void* object, const char* what) const {
    if (moving_ && IsOldAddress(object)) StaleObject(object, what);
  }

  // Replaces the out-of-memory handler; it must not return (the heap aborts if it
  // does). It may throw.
  void set_out_of_memory_handler(OutOfMemoryHandler handler);
  // For gclab's subsystems and extensions that keep side tables for this heap: no
  // memory was left for `bytes` for `what` (a phrase: "a block of Local handles").
  // Calls the out-of-memory handler with ResourceExhausted, then stops the program
  // if the handler returns (gc/DESIGN.md [fault]).
  [[noreturn]] void SideTableExhausted(const char* what, size_t bytes);

  // For weak containers (WeakMap, WeakSet, FinalizationRegistry, or a program's own):
  // `callback(context, object)` runs in the ClearWeak phase of every collection that
  // `object` survives, after weak references are cleared and whether or not that
  // collection traced it (a generational collector's minor collection does not trace
  // old objects), with the object's current address; once it dies, never again.
  // Call it once per container, from the container's constructor. With no memory
  // left to note it, the out-of-memory handler runs (gc/DESIGN.md [fault]).
  void RegisterWeakContainer(const void* object, WeakCallback callback);

  // Hooks run in every collection (collection_hook.h). The heap does not own them;
  // remove a hook before destroying it.
  void AddCollectionHook(CollectionHook* hook);
  void RemoveCollectionHook(CollectionHook* hook);

  // ECMA-262's AddToKeptObjects / ClearKeptObjects: an object kept during the current
  // job is a root until the host ends the job with ClearKeptObjects(). WeakRef::Deref
  // and WeakRef's creation keep their target (weak/weak_ref.h).
  void KeepDuringJob(void* object);
  void ClearKeptObjects();
  size_t kept_object_count() const;

  // The attachment stored under `key` (any address unique to the subsystem), or null.
  HeapAttachment* attachment(const void* key) const;
  // Stores `value` under `key`; stopping with a message if the key is taken.
  void set_attachment(const void* key, std::unique_ptr<HeapAttachment> value);

  // Number of live Local slots and Persistent handles (for tests and leak hunting).
  size_t local_handle_count() const { return handles_.size(); }
  size_t persistent_handle_count() const { return persistents_.size(); }
  size_t weak_persistent_handle_count() const { return weak_persistents_.size(); }

 private:
  friend class internal::HeapImpl;
  template <typename T>
  friend class Local;
  template <typename T, bool kWeak>
  friend class BasicPersistent;
  friend class HandleScope;
  friend class EscapableHandleScope;

  Heap() = default;

  template <typename T, typename... Args>
  GCLAB_INLINE T* Allocate(bool abort_on_oom, Args&&... args);
  // NewWithoutCollecting for a cell of `cell_size` bytes; a variable-size T gets the
  // size as its constructor's first argument.
  template <typename T, typename... Args>
  T* AllocateWithoutCollecting(size_t cell_size, Args&&... args);
  // Builds a T in the cell `header` (of `cell_size` bytes): the type word, the
  // constructor (a cell whose constructor throws becomes a filler), and the listing of
  // small objects with destructors.
  template <typename T, typename... Args>
  GCLAB_INLINE T* Construct(internal::ObjectHeader* header, size_t cell_size, Args&&... args);
  template <typename T, typename... Args>
  friend T* internal::NewVariable(Heap& heap, size_t payload_bytes, Args&&... args);
  internal::ObjectHeader* AllocateSlow(size_t cell_size, bool abort_on_oom);
  GCLAB_INLINE void** PushHandle(void* object) {
    GCLAB_CHECK(handles_.scope_depth() > 0,
                "a Local handle was created with no HandleScope open on its heap");
    void** slot = handles_.Push(object);
    if (__builtin_expect(slot == nullptr, 0)) slot = PushHandleSlow(object);
    return slot;
  }
  // A new block of handles, or the out-of-memory handler ([fault]).
  [[gnu::noinline]] void** PushHandleSlow(void* object);
  void RegisterFinalizable(void* payload);
  [[noreturn]] void StaleObject(const void* object, const char* what) const;
  bool IsOldAddress(const void* object) const;
  absl::Status OutOfMemory(size_t cell_size);

  internal::AllocationState alloc_;
  internal::HandleArea handles_;
  internal::PersistentList persistents_;
  internal::PersistentList weak_persistents_;
  int constructing_ = 0;        // constructors of heap objects running now
  bool track_finalizable_ = false;
  bool moving_ = false;  // the collector moves objects
  uint64_t id_ = 0;
  std::unique_ptr<internal::HeapImpl> impl_;
};

template <typename T, typename... Args>
GCLAB_INLINE T* Heap::Allocate(bool abort_on_oom, Args&&... args) {
  static_assert(!internal::IsVariableSize<T>::value,
                "variable-size types are built by internal::NewVariable");
  constexpr size_t kCellSize = internal::CellSizeFor(sizeof(T));
  internal::ObjectHeader* header = alloc_.TryAllocateFast<kCellSize>();
  if (__builtin_expect(header == nullptr, 0)) {
    header = AllocateSlow(kCellSize, abort_on_oom);
    if (header == nullptr) return nullptr;
  }
  return Construct<T>(header, kCellSize, std::forward<Args>(args)...);
}

template <typename T, typename... Args>
GCLAB_INLINE T* Heap::Construct(internal::ObjectHeader* header, size_t cell_size,
                                Args&&... args) {
  static_assert(IsGarbageCollectedType<T>::value,
                "heap objects must derive from gclab::GarbageCollected<T>");
  static_assert(alignof(T) <= internal::kAllocationGranule,
                "heap objects must have alignment of at most 8");
  header->word = reinterpret_cast<uintptr_t>(&internal::TypeInfoFor<T>::kInfo);
  void* payload = header->payload();
  T* object;
  ++constructing_;
  if constexpr (internal::IsVariableSize<T>::value) {
    static_assert(std::is_nothrow_constructible_v<T, size_t, Args&&...>,
                  "a variable-size type's constructor must not throw");
    object = ::new (payload) T(cell_size, std::forward<Args>(args)...);
  } else if constexpr (std::is_nothrow_constructible_v<T, Args&&...>) {
    object = ::new (payload) T(std::forward<Args>(args)...);
  } else {
    try {
      object = ::new (payload) T(std::forward<Args>(args)...);
    } catch (...) {
      header->word = reinterpret_cast<uintptr_t>(&internal::TypeInfoFor<T>::kFillerInfo);
      --constructing_;
      throw;
    }
  }
  --constructing_;
  // Small objects with destructors are listed for collectors that never visit dead
  // small cells (semispace). Large objects are not: the large-object space visits
  // every dead one in its own sweep, and listing them too would destroy them twice.
  if constexpr (!std::is_trivially_destructible_v<T>) {
    if (track_finalizable_ && cell_size <= internal::kMaxSmallCell) RegisterFinalizable(payload);
  }
  return object;
}

template <typename T, typename... Args>
T* Heap::AllocateWithoutCollecting(size_t cell_size, Args&&... args) {
  ++constructing_;  // [alloc.ctor]: no collection starts, so nothing moves
  internal::ObjectHeader* header = AllocateSlow(cell_size, /*abort_on_oom=*/false);
  --constructing_;
  if (header == nullptr) return nullptr;
  return Construct<T>(header, cell_size, std::forward<Args>(args)...);
}

template <typename T, typename... Args>
T* Heap::NewWithoutCollecting(Args&&... args) {
  static_assert(!internal::IsVariableSize<T>::value, "use internal::NewVariable");
  return AllocateWithoutCollecting<T>(internal::CellSizeFor(sizeof(T)),
                                      std::forward<Args>(args)...);
}

namespace internal {
// A variable-size T (IsVariableSize) with `payload_bytes` of payload, built from
// (cell size, args...) without starting a collection (Heap::NewWithoutCollecting).
template <typename T, typename... Args>
T* NewVariable(Heap& heap, size_t payload_bytes, Args&&... args) {
  static_assert(IsVariableSize<T>::value, "NewVariable is for variable-size types");
  return heap.AllocateWithoutCollecting<T>(CellSizeFor(std::max(payload_bytes, sizeof(T))),
                                           std::forward<Args>(args)...);
}
}  // namespace internal

template <typename T, typename... Args>
T* Heap::NewRaw(Args&&... args) {
  return Allocate<T>(true, std::forward<Args>(args)...);
}

// The free-function spelling, as in cppgc.
template <typename T, typename... Args>
T* MakeGarbageCollected(Heap& heap, Args&&... args) {
  return heap.NewRaw<T>(std::forward<Args>(args)...);
}

}  // namespace gclab

#include "gc/handles.h"  // Local, Persistent and HandleScope need the complete Heap.

#endif  // GCLAB_GC_HEAP_H_
