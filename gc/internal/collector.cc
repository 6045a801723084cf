// Weak references and ephemerons: one mechanism for every collector (gc/DESIGN.md,
// [cycle.weak] and [cycle.clear]).
#include "gc/internal/collector.h"

#include <algorithm>

#include "gc/collection_hook.h"

namespace gclab::internal {

void Collector::ResetWeakState() {
  weak_slots_.clear();
  weak_callbacks_.clear();
  pending_pool_.clear();
  pending_heads_.clear();
  pending_heads_.reserve(last_pending_keys_);
  last_pending_keys_ = 0;
  reached_keys_.clear();
  unresolved_.clear();
  ephemerons_resolved_ = 0;
  ephemeron_passes_ = 0;
}

void Collector::ResolveEphemeron(const Ephemeron& e) {
  weak_slots_.push_back(e.key_slot);  // updated to the key's address in ClearWeak
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
  // Pending until the key is reached. The header bit lets the collector notice that
  // without a lookup per object it marks.
  const auto index = static_cast<uint32_t>(pending_pool_.size());
  auto [it, inserted] = pending_heads_.try_emplace(key, index);
  if (inserted) {
    ObjectHeader::FromPayload(key)->set_pending_key();
    pending_pool_.push_back({e, kNoPending});
    last_pending_keys_ = std::max(last_pending_keys_, pending_heads_.size());
  } else {
    pending_pool_.push_back({e, it->second});
    it->second = index;
  }
}

void Collector::ResolveReachedKeys() {
  // Resolving marks values, which may reach more keys: a queue, never recursion.
  while (!reached_keys_.empty()) {
    void* key = reached_keys_.back();
    reached_keys_.pop_back();
    auto it = pending_heads_.find(key);
    if (it == pending_heads_.end()) continue;
    uint32_t index = it->second;
    pending_heads_.erase(it);
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
  for (void** slot : weak_slots_) {
    void* target = *slot;
    if (target == nullptr) continue;
    *slot = IsAlive(target) ? CurrentAddress(target) : nullptr;
  }
  // Ephemerons still unresolved have dead keys: the pair is gone, both halves.
  auto clear = [](const Ephemeron& e) {
    *e.key_slot = nullptr;
    *e.value_slot = nullptr;
  };
  for (const auto& [key, head] : pending_heads_) {
    for (uint32_t index = head; index != kNoPending; index = pending_pool_[index].next) {
      clear(pending_pool_[index].e);
    }
  }
  for (const Ephemeron& e : unresolved_) clear(e);
  for (const auto& [callback, object] : weak_callbacks_) callback(context, object);
}

}  // namespace gclab::internal
