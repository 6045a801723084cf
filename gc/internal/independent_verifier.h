// gclab internal: the independent verifier, a second marker for stress runs.
//
// After a collection, the heap's structural verifier (HeapImpl::Verify) checks that
// every reference points at an object; this one checks that the collector kept the
// right objects. It shares no marking code with any collector: it lists the objects
// the collector kept (ForEachObject), traces the object graph again from the roots
// with its own breadth-first walk and its own ephemeron rule, and compares the two
// sets object by object (gc/DESIGN.md [stress.verify]; after a minor collection the
// heap passes the old objects as roots, since the collection keeps them all):
//   - every reference reached must be an object the collector kept, with a sound
//     header (else: a dangling reference, reported with the path from a root);
//   - every kept object must be reached (else: the collector kept garbage, or the
//     re-trace and the collector disagree about what is a root);
//   - every weak reference and every ephemeron key still set must be reached (else:
//     the collector failed to clear a reference to a dead object). After a cycle in
//     which a side table found no memory, a collector may have kept some weak targets
//     as if strong ([fault]): then kept targets of weak references are reached too,
//     and traced, before the comparison.
// A difference stops the program with a message naming the object, its type and the
// path from a root. It costs a hash lookup per reference: for stress runs
// (StressOptions::verify), not for production.
#ifndef GCLAB_GC_INTERNAL_INDEPENDENT_VERIFIER_H_
#define GCLAB_GC_INTERNAL_INDEPENDENT_VERIFIER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gc/internal/collector.h"
#include "gc/visitor.h"

namespace gclab::internal {

class IndependentVerifier {
 public:
  // Lists the objects `collector` holds now (outside a cycle).
  IndependentVerifier(Collector& collector, uint64_t cycle);

  // The visitor for the roots of one group; `label` names the group in messages.
  Visitor& Roots(std::string label);
  // A weak root (a WeakPersistent): must be null or reached.
  void WeakRoot(void** slot, std::string label);

  // The collector may have traced weak references and ephemerons as strong in this
  // cycle (a side-table fallback, gc/DESIGN.md [fault]).
  void set_weak_may_be_strong(bool may) { weak_may_be_strong_ = may; }
  // An incremental cycle kept what died while it marked ([incr.float]): kept objects no
  // root reaches are floating garbage, not an error, but what they reference must
  // have been kept too (they are traced as roots of their own after the walk).
  void set_floating_garbage(bool floating) { floating_garbage_ = floating; }

  // Traces from the roots given, then compares. Returns the number of objects reached.
  size_t Run();

 private:
  static constexpr uint32_t kNone = ~uint32_t{0};
  bool weak_may_be_strong_ = false;
  bool floating_garbage_ = false;
  struct Object {
    const ObjectHeader* header;
    uint32_t parent = kNone;       // the object whose field reached this one first
    uint32_t label = kNone;        // or the root group, for objects reached from one
    const char* field = nullptr;   // the field's name, if the holder gave one
    bool reached = false;
  };
  struct Waiting {  // an ephemeron whose key is not reached yet
    void** value_slot;
    uint32_t holder;
  };
  // A weak reference or an ephemeron key: after a collection it is null or points at a
  // reached object (after a minor one, old objects are roots: reached).
  struct WeakSlot {
    void** slot;
    uint32_t holder;  // kNone: a weak root, labelled by `label`
    uint32_t label;
    const char* what;  // "a weak reference to" or "an ephemeron key"
  };

  class TracingVisitor final : public Visitor {
   public:
    explicit TracingVisitor(IndependentVerifier& owner) : owner_(owner) {}
    void VisitSlot(void** slot) override { owner_.Reach(*slot, nullptr); }
    void VisitNamedSlot(void** slot, const char* field) override { owner_.Reach(*slot, field); }
    void VisitWeakSlot(void** slot) override {
      owner_.weak_.push_back({slot, owner_.holder_, owner_.label_, "a weak reference to"});
    }
    void VisitEphemeron(void** key_slot, void** value_slot) override;
    void VisitWeakCallback(WeakCallback, void*) override {}

   private:
    IndependentVerifier& owner_;
  };

  void Reach(void* target, const char* field);
  uint32_t IndexOf(const void* payload) const;
  std::string Describe(uint32_t index) const;
  // "root 'label' -> Type@p .field -> ..." up to the object `index` (or up to the
  // current holder and root label when index is kNone).
  std::string PathTo(uint32_t index) const;
  [[noreturn]] void Fail(const std::string& what) const;

  uint64_t cycle_;
  std::vector<Object> objects_;
  absl::flat_hash_map<const void*, uint32_t> index_;  // payload -> objects_ index
  std::vector<std::string> labels_;
  std::vector<uint32_t> queue_;  // breadth-first: paths come out shortest
  absl::flat_hash_map<uint32_t, std::vector<Waiting>> waiting_;  // by key index
  std::vector<WeakSlot> weak_;
  uint32_t holder_ = kNone;  // the object being traced, kNone for roots
  uint32_t label_ = kNone;   // the root group being visited
  TracingVisitor visitor_;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_INDEPENDENT_VERIFIER_H_
