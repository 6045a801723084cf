// The independent verifier (independent_verifier.h; gc/DESIGN.md [stress.verify]).
#include "gc/internal/independent_verifier.h"

#include "absl/strings/str_format.h"
#include "gc/internal/check.h"

namespace gclab::internal {

IndependentVerifier::IndependentVerifier(Collector& collector, uint64_t cycle)
    : cycle_(cycle), visitor_(*this) {
  collector.ForEachObject([&](ObjectHeader* header, size_t) {
    index_.emplace(header->payload(), static_cast<uint32_t>(objects_.size()));
    objects_.push_back({header});
  });
}

Visitor& IndependentVerifier::Roots(std::string label) {
  holder_ = kNone;
  label_ = static_cast<uint32_t>(labels_.size());
  labels_.push_back(std::move(label));
  return visitor_;
}

void IndependentVerifier::WeakRoot(void** slot, std::string label) {
  Roots(std::move(label));
  weak_.push_back({slot, kNone, label_, "a weak reference to"});
}

uint32_t IndependentVerifier::IndexOf(const void* payload) const {
  auto it = index_.find(payload);
  return it == index_.end() ? kNone : it->second;
}

std::string IndependentVerifier::Describe(uint32_t index) const {
  const ObjectHeader* header = objects_[index].header;
  return absl::StrFormat("%s@%p", header->type()->name, header->payload());
}

std::string IndependentVerifier::PathTo(uint32_t index) const {
  // Walk the parents back to a root, then print from the root down.
  std::vector<uint32_t> chain;
  uint32_t label = label_;
  for (uint32_t i = index; i != kNone; i = objects_[i].parent) {
    chain.push_back(i);
    label = objects_[i].label;
  }
  std::string path = label != kNone ? absl::StrFormat("root '%s'", labels_[label]) : "?";
  for (size_t k = chain.size(); k-- > 0;) {
    const Object& o = objects_[chain[k]];
    path += o.field != nullptr ? absl::StrFormat(" -.%s-> ", o.field) : " -> ";
    path += Describe(chain[k]);
  }
  return path;
}

void IndependentVerifier::Fail(const std::string& what) const {
  Fatal(__FILE__, __LINE__, "independent verifier, after collection %llu: %s",
        static_cast<unsigned long long>(cycle_), what.c_str());
}

void IndependentVerifier::Reach(void* target, const char* field) {
  if (target == nullptr) return;
  const uint32_t index = IndexOf(target);
  if (index == kNone) {
    Fail(absl::StrFormat(
        "a reference to %p, which is not an object the collector kept (a dangling "
        "reference: its target was reclaimed or never allocated), at %s%s",
        target, PathTo(holder_), field != nullptr ? absl::StrFormat(" field '%s'", field) : ""));
  }
  Object& object = objects_[index];
  const uintptr_t word = object.header->word;
  if (word == 0 || (word & ObjectHeader::kTagMask) != 0) {
    Fail(absl::StrFormat("the object at %p has a corrupt header word %#x (free, forwarded or a "
                         "pending key), reached by %s",
                         target, word, PathTo(holder_)));
  }
  if (object.reached) return;
  object.reached = true;
  object.parent = holder_;
  object.label = holder_ == kNone ? label_ : kNone;
  object.field = field;
  queue_.push_back(index);
}

void IndependentVerifier::TracingVisitor::VisitEphemeron(void** key_slot, void** value_slot) {
  IndependentVerifier& v = owner_;
  v.weak_.push_back({key_slot, v.holder_, v.label_, "an ephemeron key"});
  const uint32_t key = v.IndexOf(*key_slot);
  if (key != kNone && v.objects_[key].reached) {
    v.Reach(*value_slot, "(ephemeron value)");
  } else if (key != kNone) {
    v.waiting_[key].push_back({value_slot, v.holder_});
  }
  // A key that is no object at all is reported with the keys, after the walk.
}

size_t IndependentVerifier::Run() {
  // Breadth-first over the queue; an object reached as an ephemeron key releases the
  // values waiting on it, read through the queue as well (nothing recurses).
  size_t reached = 0;
  size_t next = 0;
  auto walk = [&] {
    for (; next < queue_.size(); ++next) {
      const uint32_t index = queue_[next];
      ++reached;
      if (auto it = waiting_.find(index); it != waiting_.end()) {
        std::vector<Waiting> values = std::move(it->second);
        waiting_.erase(it);
        for (const Waiting& w : values) {
          holder_ = w.holder;
          Reach(*w.value_slot, "(ephemeron value)");
        }
      }
      holder_ = index;
      const ObjectHeader* header = objects_[index].header;
      header->type()->trace(header->payload(), visitor_);
    }
  };
  walk();
  if (weak_may_be_strong_) {
    // The kept targets of weak references and ephemeron keys count as reached, with
    // what they reach (weak_ grows as the walk goes on).
    for (size_t w = 0; w < weak_.size(); ++w) {
      const WeakSlot slot = weak_[w];
      const uint32_t index = *slot.slot == nullptr ? kNone : IndexOf(*slot.slot);
      if (index == kNone || objects_[index].reached) continue;
      holder_ = slot.holder;
      label_ = slot.label;
      Reach(*slot.slot, "(weak, kept as strong after a side-table fallback)");
      walk();
    }
  }
  if (floating_garbage_) {
    // [incr.float] Whatever the collector kept and the roots do not reach is traced
    // from itself: its references must lead to kept objects as well.
    labels_.push_back("floating garbage of an incremental cycle (kept, reached by no root)");
    label_ = static_cast<uint32_t>(labels_.size() - 1);
    holder_ = kNone;
    for (uint32_t i = 0; i < objects_.size(); ++i) {
      if (objects_[i].reached) continue;
      Reach(const_cast<void*>(objects_[i].header->payload()), nullptr);
      walk();
    }
  }
  holder_ = kNone;
  label_ = kNone;

  // Weak references and ephemeron keys left set must point at reached objects: a
  // full collection clears every one whose target it did not keep.
  for (const WeakSlot& w : weak_) {
    void* target = *w.slot;
    if (target == nullptr) continue;
    const uint32_t index = IndexOf(target);
    if (index == kNone || !objects_[index].reached) {
      std::string where = w.holder == kNone ? absl::StrFormat("the weak root '%s'", labels_[w.label])
                                            : PathTo(w.holder);
      Fail(absl::StrFormat("%s %p (%s) was not cleared, but no strong path reaches it; "
                           "held by %s",
                           w.what, target, index == kNone ? "not an object" : Describe(index),
                           where));
    }
  }
  if (reached != objects_.size()) {
    for (uint32_t i = 0; i < objects_.size(); ++i) {
      if (objects_[i].reached) continue;
      Fail(absl::StrFormat(
          "the collector kept %s, which no root reaches (%zu of %zu kept objects are "
          "unreachable)",
          Describe(i), objects_.size() - reached, objects_.size()));
    }
  }
  return reached;
}

}  // namespace gclab::internal
