// Retaining paths: a breadth-first walk from the roots over strong references,
// remembering for each object the edge that first reached it.
#include "gc/retaining_path.h"

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "gc/heap.h"
#include "gc/internal/heap_impl.h"

namespace gclab {

std::string_view RootKindName(RootKind kind) {
  switch (kind) {
    case RootKind::kLocal:
      return "Local";
    case RootKind::kPersistent:
      return "Persistent";
    case RootKind::kKeptObject:
      return "kept object";
    case RootKind::kCollectionHook:
      return "collection hook";
  }
  return "root";
}

std::string RetainingPath::ToString() const {
  std::string out(RootKindName(root_kind));
  if (!root_name.empty()) out += " \"" + root_name + "\"";
  out += "\n";
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    out += "  ";
    if (i > 0) out += "." + step.field + " ";
    out += "-> " + step.type_name;
    if (i + 1 == steps.size()) out += "   (the object asked about)";
    out += "\n";
  }
  return out;
}

namespace internal {

namespace {

struct Root {
  RootKind kind;
  std::string name;
};

// How an object was first reached: from a root, or from a field of another object.
struct Edge {
  const void* holder = nullptr;  // null: from roots_[root]
  const char* field_name = nullptr;
  uint32_t offset = 0;  // of the field in the holder, when unnamed
  uint32_t root = 0;
  bool through_ephemeron = false;
};

class PathFinder final : public Visitor {
 public:
  PathFinder(const Collector& collector, const void* target)
      : collector_(collector), target_(target) {}

  // Roots: every slot visited between BeginRoot calls belongs to that root.
  void BeginRoot(RootKind kind, std::string name) {
    roots_.push_back({kind, std::move(name)});
    holder_ = nullptr;
  }

  bool found() const { return parents_.contains(target_); }

  // Traces queued objects until the target is reached or nothing is left.
  void Run() {
    while (!found() && !queue_.empty()) {
      const void* object = queue_.front();
      queue_.pop_front();
      holder_ = object;
      const ObjectHeader* header = ObjectHeader::FromPayload(object);
      header->type()->trace(object, *this);
    }
  }

  RetainingPath Path() const {
    RetainingPath path;
    std::vector<RetainingPath::Step> reversed;
    const void* object = target_;
    while (true) {
      const Edge* edge = &parents_.at(object);
      RetainingPath::Step step;
      step.object = object;
      step.type_name = std::string(ObjectHeader::FromPayload(object)->type()->name);
      if (edge->holder != nullptr) step.field = FieldName(*edge);
      // A HeapVector's store is not a step of its own: its element is shown as an
      // element of the field that holds the vector ("memories[]").
      while (edge->holder != nullptr && IsVectorStore(edge->holder)) {
        const Edge& store = parents_.at(edge->holder);
        std::string element = "[]";
        if (edge->field_name != nullptr) element += "." + std::string(edge->field_name);
        if (edge->through_ephemeron) element += kThroughEphemeron;
        step.field = (store.holder != nullptr ? BaseFieldName(store) : std::string()) + element;
        edge = &store;
      }
      reversed.push_back(std::move(step));
      if (edge->holder == nullptr) {
        path.root_kind = roots_[edge->root].kind;
        path.root_name = roots_[edge->root].name;
        break;
      }
      object = edge->holder;
    }
    path.steps.assign(reversed.rbegin(), reversed.rend());
    return path;
  }

  void VisitSlot(void** slot) override { Reach(*slot, slot, nullptr, false); }
  void VisitNamedSlot(void** slot, const char* field_name) override {
    Reach(*slot, slot, field_name, false);
  }
  void VisitWeakSlot(void**) override {}  // weak references retain nothing
  void VisitEphemeron(void** key_slot, void** value_slot) override {
    if (*value_slot == nullptr) return;
    if (parents_.contains(*key_slot)) {
      Reach(*value_slot, value_slot, nullptr, true);
    } else {
      // The value is retained through this entry once the key is.
      waiting_[*key_slot].push_back({holder_, value_slot});
    }
  }

 private:
  static constexpr char kThroughEphemeron[] = " (ephemeron value; its key is alive)";
  static std::string BaseFieldName(const Edge& edge) {
    return edge.field_name != nullptr ? std::string(edge.field_name)
                                      : absl::StrFormat("+%d", edge.offset);
  }
  static std::string FieldName(const Edge& edge) {
    std::string name = BaseFieldName(edge);
    return edge.through_ephemeron ? name + kThroughEphemeron : name;
  }
  static bool IsVectorStore(const void* object) {
    return ObjectHeader::FromPayload(object)->type()->name == kHeapVectorStoreTypeName;
  }

  // Records the first edge into `object` and queues it; ephemeron values waiting for
  // `object` as their key are reached next, from a work list: a chain of values that
  // are keys of further values (a WeakMap chain) is as long as the heap, so this must
  // not recurse once per link.
  void Reach(void* object, void** slot, const char* field_name, bool through_ephemeron) {
    ReachOne(object, slot, field_name, through_ephemeron);
    if (draining_) return;  // an outer call is emptying ready_
    draining_ = true;
    const void* saved = holder_;
    for (size_t i = 0; i < ready_.size(); ++i) {
      const auto [table, value_slot] = ready_[i];
      holder_ = table;
      ReachOne(*value_slot, value_slot, nullptr, true);  // may append to ready_
    }
    ready_.clear();
    holder_ = saved;
    draining_ = false;
  }

  void ReachOne(void* object, void** slot, const char* field_name, bool through_ephemeron) {
    if (object == nullptr || !collector_.Contains(object)) return;
    Edge edge;
    edge.holder = holder_;
    edge.field_name = field_name;
    edge.through_ephemeron = through_ephemeron;
    if (holder_ != nullptr) {
      edge.offset = static_cast<uint32_t>(reinterpret_cast<const char*>(slot) -
                                          static_cast<const char*>(holder_));
    } else {
      edge.root = static_cast<uint32_t>(roots_.size() - 1);
    }
    if (!parents_.try_emplace(object, edge).second) return;
    queue_.push_back(object);
    // Ephemeron values waiting for this key are retained now.
    auto it = waiting_.find(object);
    if (it == waiting_.end()) return;
    for (const auto& entry : it->second) ready_.push_back(entry);
    waiting_.erase(it);
  }

  const Collector& collector_;
  const void* target_;
  const void* holder_ = nullptr;
  std::vector<Root> roots_;
  absl::flat_hash_map<const void*, Edge> parents_;
  absl::flat_hash_map<const void*, std::vector<std::pair<const void*, void**>>> waiting_;
  // (table, value slot) of ephemerons whose key was just reached, in the order reached.
  std::vector<std::pair<const void*, void**>> ready_;
  bool draining_ = false;
  std::deque<const void*> queue_;
};

}  // namespace

absl::StatusOr<RetainingPath> HeapImpl::FindRetainingPath(const void* object) {
  GCLAB_CHECK(!in_collection_, "FindRetainingPath during a collection");
  // Pending ephemeron keys hold no type in their headers while marking is in progress.
  AbandonIncrementalIfAny();
  if (object == nullptr) {
    return absl::InvalidArgumentError("gclab: FindRetainingPath(null)");
  }
  heap_.alloc_.FlushBump();
  if (!collector_->Contains(object)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: FindRetainingPath(%p): not the address of an object of this heap", object));
  }
  PathFinder finder(*collector_, object);
  // Roots in the order a user looks for them: named globals first.
  heap_.persistents_.ForEachNamedSlot([&](void** slot, const char* name) {
    finder.BeginRoot(RootKind::kPersistent, name != nullptr ? name : "");
    finder.VisitSlot(slot);
  });
  size_t index = 0;
  heap_.handles_.ForEachSlot([&](void** slot) {
    if (*slot != nullptr) {
      finder.BeginRoot(RootKind::kLocal, absl::StrFormat("slot %d of the handle stack", index));
      finder.VisitSlot(slot);
    }
    ++index;
  });
  for (void*& kept : kept_) {
    finder.BeginRoot(RootKind::kKeptObject, "kept until ClearKeptObjects");
    finder.VisitSlot(&kept);
  }
  for (CollectionHook* hook : hooks_) {
    finder.BeginRoot(RootKind::kCollectionHook, std::string(hook->name()));
    hook->TraceRoots(finder);
  }
  finder.Run();
  if (!finder.found()) {
    return absl::NotFoundError(
        absl::StrFormat("gclab: no root reaches the %s at %p: the next collection reclaims it",
                        std::string(ObjectHeader::FromPayload(object)->type()->name), object));
  }
  return finder.Path();
}

}  // namespace internal

absl::StatusOr<RetainingPath> Heap::FindRetainingPath(const void* object) {
  return impl_->FindRetainingPath(object);
}

}  // namespace gclab
