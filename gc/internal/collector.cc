// Weak references and ephemerons: one mechanism for every collector (gc/DESIGN.md,
// [cycle.weak] and [cycle.clear]).
#include "gc/internal/collector.h"

#include "gc/collection_hook.h"

namespace gclab::internal {

void Collector::ResetWeakState() {
  weak_slots_.clear();
  weak_callbacks_.clear();
  pending_.clear();
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
  auto [it, inserted] = pending_.try_emplace(key);
  if (inserted) ObjectHeader::FromPayload(key)->set_pending_key();
  it->second.push_back(e);
}

void Collector::ResolveReachedKeys() {
  // Resolving marks values, which may reach more keys: a queue, never recursion.
  while (!reached_keys_.empty()) {
    void* key = reached_keys_.back();
    reached_keys_.pop_back();
    auto it = pending_.find(key);
    if (it == pending_.end()) continue;
    std::vector<Ephemeron> entries = std::move(it->second);
    pending_.erase(it);
    for (const Ephemeron& e : entries) ResolveEphemeron(e);
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
  for (auto& [key, entries] : pending_) {
    for (const Ephemeron& e : entries) clear(e);
  }
  for (const Ephemeron& e : unresolved_) clear(e);
  for (const auto& [callback, object] : weak_callbacks_) callback(context, object);
}

}  // namespace gclab::internal
