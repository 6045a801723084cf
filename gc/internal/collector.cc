// Weak references and ephemerons: one mechanism for every collector (gc/DESIGN.md,
// [cycle.weak] and [cycle.clear]).
#include "gc/internal/collector.h"

#include "absl/strings/str_format.h"
#include "gc/collection_hook.h"
#include "gc/internal/check.h"

namespace gclab::internal {

std::string Collector::DescribeAllocationFailure(size_t cell_size) const {
  if (cell_size > kMaxSmallCell) {
    return absl::StrFormat(
        "the operating system refused a mapping of %d bytes for a large object", cell_size);
  }
  return absl::StrFormat("the %s collector's space has no room for a cell of %d bytes", name(),
                         cell_size);
}

void Collector::ResetWeakState() {
  update_resolved_keys_ = moves_objects();
  weak_slots_.clear();
  weak_callbacks_.clear();
  pending_pool_.clear();
  pending_keys_.clear();
  reached_keys_.clear();
  unresolved_.clear();
  ephemerons_resolved_ = 0;
  ephemeron_passes_ = 0;
}

void Collector::ResolveEphemeron(const Ephemeron& e) {
  // The key is alive, and a moving collector has already moved it (a key is noted as
  // reached when it is copied): its slot is updated now, not recorded for ClearWeak.
  if (update_resolved_keys_) *e.key_slot = CurrentAddress(*e.key_slot);
  if (*e.value_slot != nullptr) marking_visitor().VisitSlot(e.value_slot);
  ++ephemerons_resolved_;
}

void Collector::RecordEphemeron(void** key_slot, void** value_slot) {
  Ephemeron e{key_slot, value_slot};
  if (algorithm_ == EphemeronAlgorithm::kNaiveFixpoint) {
    unresolved_.push_back(e);
    return;
  }
  void* key = *key_slot;
  if (IsAlive(key)) {
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
    pending_keys_.push_back({header->word, kNoPending});
    header->set_pending_key(k);
  }
  PendingKey& pending = pending_keys_[k];
  pending_pool_.push_back({e, pending.head});
  pending.head = index;
}

void Collector::ResolveReachedKeys() {
  // Resolving marks values, which may reach more keys: a queue, never recursion.
  while (!reached_keys_.empty()) {
    PendingKey& key = pending_keys_[reached_keys_.back()];
    reached_keys_.pop_back();
    uint32_t index = key.head;
    key.head = kNoPending;
    while (index != kNoPending) {
      const Pending p = pending_pool_[index];
      ResolveEphemeron(p.e);
      index = p.next;
    }
  }
}

bool Collector::ProcessEphemeronsNaive() {
  if (algorithm_ != EphemeronAlgorithm::kNaiveFixpoint) return false;
  ++ephemeron_passes_;
  size_t kept = 0;
  bool progress = false;
  for (const Ephemeron& e : unresolved_) {
    if (IsAlive(*e.key_slot)) {
      ResolveEphemeron(e);
      progress = true;
    } else {
      unresolved_[kept++] = e;
    }
  }
  unresolved_.resize(kept);
  return progress;
}

void Collector::ClearWeakReferences(CycleContext& context) {
  // Ephemerons still unresolved have dead keys: the pair is gone, both halves. The
  // keys get their header words back first, before anything (a weak callback, the
  // sweep) reads them, and while their key slots still hold their addresses.
  auto clear = [](const Ephemeron& e) {
    *e.key_slot = nullptr;
    *e.value_slot = nullptr;
  };
  pending_keys_.ForEach([&](PendingKey& key) {
    if (key.head == kNoPending) return;  // reached
    ObjectHeader::FromPayload(*pending_pool_[key.head].e.key_slot)->word = key.word;
    for (uint32_t index = key.head; index != kNoPending; index = pending_pool_[index].next) {
      clear(pending_pool_[index].e);
    }
    key.head = kNoPending;
  });
  for (const Ephemeron& e : unresolved_) clear(e);
  weak_slots_.ForEach([&](void** slot) {
    void* target = *slot;
    if (target == nullptr) return;
    *slot = SurvivorAddress(target);
  });
  for (const auto& [callback, object] : weak_callbacks_) callback(context, object);
}

}  // namespace gclab::internal
