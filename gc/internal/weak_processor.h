// gclab internal: weak references, ephemerons and weak callbacks, one mechanism for
// every collector (gc/DESIGN.md [cycle.weak], [cycle.clear]), behind a small interface.
//
// A collector offers the processor what it knows (WeakProcessor::Host): whether an
// object has been reached so far, where a reached object is now, how to reach the
// object in a slot (mark it, or copy it), and, for the no-memory fallback only, a
// walk over what it reached. It needs nothing else of the collector, so a collector
// that is not a marker (a copying nursery) uses it as it is. In return the collector:
//   - hands it the weak slots, ephemerons and weak callbacks its visitor is shown
//     (CollectorVisitor does this);
//   - calls NoteKeyReached(header) when it reaches an object whose header has the
//     pending-key bit, before it reads anything else from that header (a marker when
//     it traces the object, a copier when it copies it), and ResolveReachedKeys() from
//     its drain loop until has_reached_keys() is false;
//   - lets the heap call Reset (Prepare), ProcessNaive (Weak phase) and
//     ClearWeakReferences (ClearWeak phase).
#ifndef GCLAB_GC_INTERNAL_WEAK_PROCESSOR_H_
#define GCLAB_GC_INTERNAL_WEAK_PROCESSOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "gc/heap.h"
#include "gc/internal/chunked_vector.h"
#include "gc/internal/object_header.h"
#include "gc/internal/side_table.h"
#include "gc/visitor.h"

namespace gclab::internal {

class WeakProcessor {
 public:
  // What the processor asks of a collector.
  class Host {
   public:
    // Reached (marked or copied) in this cycle so far.
    virtual bool IsAlive(const void* payload) const = 0;
    // Where a reached object is now (its copy, for a moving collector).
    virtual void* CurrentAddress(void* payload) const = 0;
    // CurrentAddress(payload) if IsAlive(payload), else null.
    virtual void* SurvivorAddress(void* payload) const = 0;
    // Reaches the object in `*slot` (non-null) as a strong reference does, rewriting
    // the slot if the object moves; its fields are traced by the host's drain.
    virtual void TraceStrongly(void** slot) = 0;
    // Every object reached in this cycle, at its current address (the fallback of
    // RecordWeakCallback).
    virtual void ForEachMarkedObject(const std::function<void(ObjectHeader*)>& f) = 0;

   protected:
    ~Host() = default;
  };

  explicit WeakProcessor(Host& host) : host_(host) {}
  WeakProcessor(const WeakProcessor&) = delete;
  WeakProcessor& operator=(const WeakProcessor&) = delete;

  void set_algorithm(EphemeronAlgorithm algorithm) { algorithm_ = algorithm; }
  // Prepare phase. `moving`: the host may move objects this cycle, so the key slots
  // of resolved ephemerons need updating.
  void Reset(bool moving);

  // Each Record* falls back, when its side table finds no memory (gc/DESIGN.md
  // [fault]), to a path that needs none: a weak slot or an ephemeron is traced as
  // strong for this cycle, and a weak callback is found again after marking by
  // re-tracing the marked objects.
  void RecordWeakSlot(void** slot) {
    if (__builtin_expect(!weak_slots_.TryPushBack(slot), 0)) TraceWeakSlotStrongly(slot);
  }
  void RecordWeakCallback(WeakCallback callback, void* object) {
    if (__builtin_expect(!TryPushBack(weak_callbacks_, {callback, object}), 0)) {
      weak_callbacks_lost_ = true;
      ++fallbacks_;
    }
  }
  void RecordEphemeron(void** key_slot, void** value_slot);

  // The object of `header`, a pending key (is_pending_key()), has been reached: its
  // header word is restored here, and its ephemerons resolve in ResolveReachedKeys.
  void NoteKeyReached(ObjectHeader* header) {
    const size_t key = header->pending_key_index();
    header->word = pending_keys_[key].word;
    if (__builtin_expect(!reached_keys_.TryPush(static_cast<uint32_t>(key)), 0)) {
      // No memory to queue it: ResolveReachedKeys looks through every pending key.
      reached_keys_lost_ = true;
      ++fallbacks_;
    }
  }
  bool has_reached_keys() const { return !reached_keys_.empty() || reached_keys_lost_; }
  // Reaches the values of the keys noted since the last call. Called from drain loops.
  void ResolveReachedKeys();

  // Weak phase, naive algorithm: one pass over the unresolved ephemerons; true if it
  // resolved any (the heap then drains and calls again).
  bool ProcessNaive();
  // ClearWeak phase: weak slots updated or cleared, dead ephemerons cleared, weak
  // callbacks run.
  void ClearWeakReferences(CycleContext& context);
  // An incremental cycle is dropped ([incr.abandon]): the pending keys get their
  // header words back; the next Reset forgets the rest.
  void Abandon();

  size_t ephemerons_resolved() const { return ephemerons_resolved_; }
  size_t ephemeron_passes() const { return ephemeron_passes_; }
  // Fallbacks taken for want of memory, in the life of the heap.
  size_t fallbacks() const { return fallbacks_; }

 private:
  Host& host_;
  struct Ephemeron {
    void** key_slot;
    void** value_slot;
  };
  // An unresolved ephemeron in the indexed algorithm: chained per key by index.
  struct Pending {
    Ephemeron e;
    uint32_t next;
  };
  // A key of unresolved ephemerons. Its header holds the key's index in pending_keys_
  // (ObjectHeader::set_pending_key), so neither recording an ephemeron nor reaching
  // its key looks anything up: the index leads here, to the header's own word and
  // the first of the key's ephemerons.
  // The key's address is kept too: during incremental marking ([incr.weak]) the
  // program may overwrite a key slot after its ephemeron was filed, so the slots no
  // longer say which object's header to restore, and a slot that now holds another
  // key must not be cleared with the dead one's.
  struct PendingKey {
    uintptr_t word;  // the header's word, put back when the key is reached or dies
    uint32_t head;   // index in pending_pool_, or kNoPending once resolved
    void* key;       // the key's payload (pending keys never move)
  };
  struct WeakCallbackRecord {
    WeakCallback callback;
    void* object;
  };
  static constexpr uint32_t kNoPending = ~uint32_t{0};
  void ResolveEphemeron(const Ephemeron& e);
  // Resolves every ephemeron of `key`, a reached pending key.
  void ResolveKey(PendingKey& key);
  // Drops the resolved keys from unresolved_keys_.
  void CompactUnresolvedKeys();
  // Calls f(PendingKey&) for each key still pending.
  template <typename F>
  void ForEachUnresolvedKey(F&& f) {
    unresolved_keys_.ForEach([&](uint32_t k) {
      PendingKey& key = pending_keys_[k];
      if (key.head != kNoPending) f(key);
    });
  }
  void TraceWeakSlotStrongly(void** slot);

  EphemeronAlgorithm algorithm_ = EphemeronAlgorithm::kIndexed;
  // Whether the key slots of resolved ephemerons need updating to the key's new
  // address (a moving collector); a non-moving one knows they stay as they are. Set
  // by Reset.
  bool update_resolved_keys_ = true;
  ChunkedVector<void**> weak_slots_;
  SideVector<WeakCallbackRecord> weak_callbacks_;
  // Set when a weak callback could not be recorded: ClearWeakReferences then finds
  // every callback again by re-tracing the marked objects.
  bool weak_callbacks_lost_ = false;
  // Indexed: unresolved ephemerons in one pool, chained per key, and their keys.
  ChunkedVector<Pending> pending_pool_;
  ChunkedVector<PendingKey> pending_keys_;
  // The indices of the keys still pending, and of some resolved since the list was
  // last compacted (stale_keys_ of them). What looks at every pending key (clearing
  // in the final pause, dropping a cycle, the fallback below) walks this list, not
  // pending_keys_: an incremental cycle resolves most of its keys during its steps,
  // and the final pause must not pay for them ([incr.weak]). Compacted whenever
  // stale entries are half of it, so it is never more than twice the keys pending.
  ChunkedVector<uint32_t> unresolved_keys_;
  size_t stale_keys_ = 0;
  SideStack<uint32_t> reached_keys_;  // indices in pending_keys_
  // Set when a reached key could not be queued in reached_keys_.
  bool reached_keys_lost_ = false;
  // Naive: every unresolved ephemeron, in discovery order.
  SideVector<Ephemeron> unresolved_;
  size_t ephemerons_resolved_ = 0;
  size_t ephemeron_passes_ = 0;
  size_t fallbacks_ = 0;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_WEAK_PROCESSOR_H_
