// Weak references and ephemerons: one mechanism for every collector (gc/DESIGN.md,
// [cycle.weak] and [cycle.clear]).
#include "gc/internal/weak_processor.h"

#include "gc/collection_hook.h"
#include "gc/internal/check.h"

namespace gclab::internal {

void WeakProcessor::Reset(bool moving) {
  update_resolved_keys_ = moving;
  weak_slots_.clear();
  weak_callbacks_.clear();
  pending_pool_.clear();
  pending_keys_.clear();
  unresolved_keys_.clear();
  stale_keys_ = 0;
  reached_keys_.clear();
  unresolved_.clear();
  weak_callbacks_lost_ = false;
  reached_keys_lost_ = false;
  ephemerons_resolved_ = 0;
  ephemeron_passes_ = 0;
}

void WeakProcessor::ResolveEphemeron(const Ephemeron& e) {
  // The key is alive, and a moving collector has already moved it (a key is noted as
  // reached when it is copied): its slot is updated now, not recorded for ClearWeak.
  if (update_resolved_keys_) *e.key_slot = host_.CurrentAddress(*e.key_slot);
  if (*e.value_slot != nullptr) host_.TraceStrongly(e.value_slot);
  ++ephemerons_resolved_;
}

void WeakProcessor::TraceWeakSlotStrongly(void** slot) {
  // [fault] No memory to record the slot: its target is kept alive this cycle, as if
  // the reference were strong. Every weak reference to it then sees it alive, so the
  // weak semantics still hold (all cleared together, or none).
  ++fallbacks_;
  if (*slot != nullptr) host_.TraceStrongly(slot);
}

void WeakProcessor::RecordEphemeron(void** key_slot, void** value_slot) {
  Ephemeron e{key_slot, value_slot};
  // [fault] No memory to file it: the pair is kept whole this cycle, as two strong
  // references (its key is then alive, so the ephemeron rule holds).
  auto keep_both = [&] {
    ++fallbacks_;
    host_.TraceStrongly(key_slot);
    if (*value_slot != nullptr) host_.TraceStrongly(value_slot);
  };
  if (algorithm_ == EphemeronAlgorithm::kNaiveFixpoint) {
    if (!TryPushBack(unresolved_, e)) keep_both();
    return;
  }
  void* key = *key_slot;
  if (host_.IsAlive(key)) {
    ResolveEphemeron(e);
    return;
  }
  // Pending until the key is reached. The key's header holds its index in
  // pending_keys_, which lets the collector notice the key without a lookup per object
  // it marks, and lets this find the key's chain without one either.
  // (There are no more keys than ephemerons, so one check bounds both indices.)
  GCLAB_CHECK(pending_pool_.size() < kNoPending,
              "more than 2^32 - 1 pending ephemerons in one collection");
  const auto index = static_cast<uint32_t>(pending_pool_.size());
  ObjectHeader* header = ObjectHeader::FromPayload(key);
  size_t k;
  if (header->is_pending_key()) {
    k = header->pending_key_index();
  } else {
    k = pending_keys_.size();
    if (!unresolved_keys_.TryPushBack(static_cast<uint32_t>(k))) {
      keep_both();
      return;
    }
    if (!pending_keys_.TryPushBack({header->word, kNoPending, key})) {
      unresolved_keys_.pop_back();
      keep_both();
      return;
    }
    header->set_pending_key(k);
  }
  PendingKey& pending = pending_keys_[k];
  if (!pending_pool_.TryPushBack({e, pending.head})) {
    keep_both();  // reaches the key, which puts its header word back
    return;
  }
  pending.head = index;
}

void WeakProcessor::ResolveKey(PendingKey& key) {
  uint32_t index = key.head;
  key.head = kNoPending;
  while (index != kNoPending) {
    const Pending p = pending_pool_[index];
    ResolveEphemeron(p.e);
    index = p.next;
  }
  ++stale_keys_;
}

void WeakProcessor::CompactUnresolvedKeys() {
  size_t kept = 0;
  for (size_t i = 0; i < unresolved_keys_.size(); ++i) {
    const uint32_t k = unresolved_keys_[i];
    if (pending_keys_[k].head != kNoPending) unresolved_keys_[kept++] = k;
  }
  while (unresolved_keys_.size() > kept) unresolved_keys_.pop_back();
  stale_keys_ = 0;
}

void WeakProcessor::ResolveReachedKeys() {
  // Resolving marks values, which may reach more keys: a queue, never recursion.
  for (;;) {
    while (!reached_keys_.empty()) {
      PendingKey& key = pending_keys_[reached_keys_.back()];
      reached_keys_.pop_back();
      ResolveKey(key);
    }
    if (2 * stale_keys_ > unresolved_keys_.size()) CompactUnresolvedKeys();
    if (!reached_keys_lost_) return;
    // [fault] A reached key found no room in the queue: every key still pending is
    // looked at, and those now alive are resolved (their header words are already
    // back). Linear in pending keys, and only after such a failure.
    reached_keys_lost_ = false;
    ForEachUnresolvedKey([&](PendingKey& key) {
      if (host_.IsAlive(key.key)) ResolveKey(key);
    });
  }
}

bool WeakProcessor::ProcessNaive() {
  if (algorithm_ != EphemeronAlgorithm::kNaiveFixpoint) return false;
  ++ephemeron_passes_;
  size_t kept = 0;
  bool progress = false;
  for (const Ephemeron& e : unresolved_) {
    if (host_.IsAlive(*e.key_slot)) {
      ResolveEphemeron(e);
      progress = true;
    } else {
      unresolved_[kept++] = e;
    }
  }
  unresolved_.resize(kept);
  return progress;
}

void WeakProcessor::Abandon() {
  ForEachUnresolvedKey([&](PendingKey& key) {
    ObjectHeader::FromPayload(key.key)->word = key.word;
    key.head = kNoPending;
  });
}

void WeakProcessor::ClearWeakReferences(CycleContext& context) {
  // Ephemerons still unresolved have dead keys: the pair is gone, both halves. The
  // keys get their header words back first, before anything (a weak callback, the
  // sweep) reads them. A key slot the program has since given another key (during
  // incremental marking, [incr.weak]) is that key's entry now, and is left alone.
  auto clear = [](const Ephemeron& e) {
    *e.key_slot = nullptr;
    *e.value_slot = nullptr;
  };
  ForEachUnresolvedKey([&](PendingKey& key) {
    ObjectHeader::FromPayload(key.key)->word = key.word;
    for (uint32_t index = key.head; index != kNoPending; index = pending_pool_[index].next) {
      const Ephemeron& e = pending_pool_[index].e;
      if (*e.key_slot == key.key) clear(e);
    }
    key.head = kNoPending;
  });
  for (const Ephemeron& e : unresolved_) clear(e);
  weak_slots_.ForEach([&](void** slot) {
    void* target = *slot;
    if (target == nullptr) return;
    *slot = host_.SurvivorAddress(target);
  });
  if (!weak_callbacks_lost_) {
    for (const WeakCallbackRecord& r : weak_callbacks_) r.callback(context, r.object);
    return;
  }
  // [fault] Some weak callback found no room in weak_callbacks_ during marking: every
  // one is found again, by tracing each marked object once more with a visitor that
  // only runs the callbacks it is shown. (Each marked object registered its callbacks
  // when it was traced, so this finds exactly the recorded ones and the lost ones.)
  class CallbackFinder final : public Visitor {
   public:
    explicit CallbackFinder(CycleContext& context) : context_(context) {}
    void VisitSlot(void**) override {}
    void VisitWeakSlot(void**) override {}
    void VisitEphemeron(void**, void**) override {}
    void VisitWeakCallback(WeakCallback callback, void* object) override {
      callback(context_, object);
    }

   private:
    CycleContext& context_;
  };
  CallbackFinder finder(context);
  host_.ForEachMarkedObject([&](ObjectHeader* header) { header->type()->trace(header->payload(), finder); });
  weak_callbacks_lost_ = false;
}

}  // namespace gclab::internal
