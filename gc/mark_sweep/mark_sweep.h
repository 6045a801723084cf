// gclab: the mark-sweep collector (non-moving).
//
// Small objects live in 256 KiB pages, each page holding cells of one size class
// (gc/internal/size_classes.h); large objects live in the shared large-object space.
// Allocation pops a cell from a per-class free list, inlined in the caller. A
// collection marks with an explicit worklist (never recursing on the C stack), then
// sweeps every page eagerly: dead cells are destroyed and threaded onto the page's
// free list; pages left empty go back to a pool shared by all size classes, and pool
// pages beyond the next allocation budget are returned to the OS.
//
// Objects never move, so raw pointers stay valid while the object is alive; Members
// are never rewritten. See README.md in this folder for its guarantees and costs.
#ifndef GCLAB_GC_MARK_SWEEP_MARK_SWEEP_H_
#define GCLAB_GC_MARK_SWEEP_MARK_SWEEP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gc/internal/collector.h"
#include "gc/internal/size_classes.h"
#include "gc/internal/virtual_memory.h"

namespace gclab::internal {

class MarkSweepCollector final : public Collector {
 public:
  static constexpr size_t kPageSize = 256 * 1024;

  explicit MarkSweepCollector(AllocationState& alloc);

  std::string_view name() const override { return "mark-sweep"; }
  bool moves_objects() const override { return false; }
  absl::Status Init(size_t heap_limit) override;

  ObjectHeader* AllocateSmall(size_t cell_size, uint64_t allowed) override;

  void Prepare() override;
  Visitor& marking_visitor() override { return visitor_; }
  void Drain() override;
  bool IsAlive(const void* payload) const override {
    return ObjectHeader::FromPayload(payload)->is_marked();
  }
  void* CurrentAddress(void* payload) const override { return payload; }
  SweepResult Sweep() override;
  void ReleaseMemory(size_t keep_bytes) override;

  bool Contains(const void* payload) const override;
  void ForEachObject(const std::function<void(ObjectHeader*)>& f) override;
  size_t committed_bytes() const override;

 private:
  struct Page {
    FreeCell* free_list = nullptr;  // cells not yet handed to the allocator
    int16_t size_class = -1;        // -1: empty, in the pool
    bool committed = false;         // touched since last returned to the OS
  };

  class MarkingVisitor final : public Visitor {
   public:
    explicit MarkingVisitor(MarkSweepCollector& owner) : owner_(owner) {}
    void VisitSlot(void** slot) override;

   private:
    MarkSweepCollector& owner_;
  };

  char* PageStart(size_t index) const { return memory_.base() + index * kPageSize; }
  bool Refill(int size_class);
  bool TakeEmptyPage(size_t* index);
  FreeCell* FormatPage(size_t index, int size_class);
  SweepResult SweepPage(size_t index);

  VirtualMemory memory_;
  std::vector<Page> pages_;
  size_t fresh_pages_ = 0;              // pages [0, fresh_pages_) have been used
  size_t committed_pages_ = 0;
  std::vector<size_t> empty_pages_;     // pool, most recently emptied last
  std::array<std::vector<size_t>, kNumSizeClasses> available_;  // pages with free cells
  std::vector<ObjectHeader*> worklist_;
  MarkingVisitor visitor_;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_MARK_SWEEP_MARK_SWEEP_H_
