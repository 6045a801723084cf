// gclab: the semispace copying collector (moving).
//
// The heap's small objects live in one of two equal halves; allocation bumps a
// pointer through the current half (inlined in the caller). A collection flips the
// halves and copies every reachable object into the new one in breadth-first order
// (Cheney's algorithm: the copied region doubles as the work queue, so nothing
// recurses), rewriting every Member and root to the new address. Large objects live in
// the shared large-object space and are marked in place, never copied.
//
// Costs: a collection touches only live objects (plus destructors of dead objects
// that have one, kept on a side list); memory use is up to twice the heap's
// small-object size. After a collection the old half keeps committed what the next
// cycle will need (survivors plus the allocation budget) and returns the rest to the
// OS; in debug builds the old half is made inaccessible, so a stale raw pointer
// faults at once.
#ifndef GCLAB_GC_COLLECTORS_SEMISPACE_SEMISPACE_H_
#define GCLAB_GC_COLLECTORS_SEMISPACE_SEMISPACE_H_

#include <cstddef>
#include <vector>

#include "gc/internal/collector.h"
#include "gc/internal/object_starts.h"
#include "gc/internal/virtual_memory.h"

namespace gclab::internal {

class SemispaceCollector : public Collector {
 public:
  explicit SemispaceCollector(AllocationState& alloc);

  absl::Status Init(size_t heap_limit) override;

  ObjectHeader* AllocateSmall(size_t cell_size, uint64_t allowed, size_t* allocated) override;
  void RegisterFinalizable(void* payload) override;
  bool needs_finalizable_registry() const override { return true; }

  void Prepare(CollectionKind kind) override;
  Visitor& marking_visitor() override { return visitor_; }
  void Drain() override;
  bool IsAlive(const void* payload) const override;
  void* CurrentAddress(void* payload) const override;
  void* SurvivorAddress(void* payload) const override;
  SweepResult Sweep() override;
  void ReleaseMemory(size_t keep_bytes) override;

  bool Contains(const void* payload) const override;
  bool SmallSpaceContains(const void* address) const override {
    return spaces_[0].Contains(address) || spaces_[1].Contains(address);
  }
  void* SmallHolderOf(const void* address) const override;
  bool IsOldAddress(const void* address) const override { return from_space().Contains(address); }
  void ForEachObject(const std::function<void(ObjectHeader*, size_t)>& f) override;
  void ForEachMarkedObject(const std::function<void(ObjectHeader*)>& f) override;
  size_t committed_bytes() const override;

 private:
  class CopyingVisitor final : public CollectorVisitor {
   public:
    explicit CopyingVisitor(SemispaceCollector& owner) : CollectorVisitor(owner), owner_(owner) {}
    void VisitSlot(void** slot) override;

   private:
    SemispaceCollector& owner_;
  };

  VirtualMemory& to_space() { return spaces_[to_index_]; }
  VirtualMemory& from_space() { return spaces_[1 - to_index_]; }
  const VirtualMemory& to_space() const { return spaces_[to_index_]; }
  const VirtualMemory& from_space() const { return spaces_[1 - to_index_]; }
  char* to_end() const { return to_space().base() + to_space().size(); }

  // [fault] The sweep when finalizable_ lost an object: destroys the dead by walking
  // from-space, and lists the survivors anew.
  void FinalizeByWalkingFromSpace();

  VirtualMemory spaces_[2];
  // Object starts of each half, for Contains (which must reject interior pointers) and
  // HolderOf.
  ObjectStarts starts_[2];
  int to_index_ = 0;
  char* from_top_ = nullptr;    // end of the objects in from-space during a cycle
  char* copy_top_ = nullptr;    // next free byte in to-space while copying
  char* scan_ = nullptr;        // Cheney scan pointer
  size_t copied_bytes_ = 0;
  size_t committed_[2] = {0, 0};  // touched prefix of each half not yet returned to the OS
  // Side-table memory (internal/side_table.h). A large object the worklist has no
  // room for is flagged in its prefix and traced by LargeObjectSpace::TakeOverflowed;
  // an object finalizable_ has no room for makes the next sweep walk from-space.
  SideStack<ObjectHeader*> large_worklist_;
  bool large_overflowed_ = false;
  SideVector<void*> finalizable_;
  bool finalizable_lost_ = false;
  CopyingVisitor visitor_;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_COLLECTORS_SEMISPACE_SEMISPACE_H_
