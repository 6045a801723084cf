// gclab internal: the stack of slots behind Local<T> handles.
//
// Slots live in fixed blocks so that their addresses never change; a HandleScope saves
// the stack height and restores it on exit. Collectors visit every slot below the top
// as a root and rewrite it when they move the object.
#ifndef GCLAB_GC_INTERNAL_HANDLE_AREA_H_
#define GCLAB_GC_INTERNAL_HANDLE_AREA_H_

#include <cstddef>
#include <cstdint>
#include "gc/internal/check.h"
#include "gc/internal/side_table.h"

namespace gclab::internal {

// Written into popped slots in debug builds, so that a Local used after its scope
// closed is caught.
inline void* const kZappedHandle = reinterpret_cast<void*>(uintptr_t{0xdeadbeef0});

class HandleArea {
 public:
  static constexpr size_t kBlockSlots = 1024;

  struct Mark {
    size_t block;
    void** top;
    void** limit;
  };

  HandleArea() = default;
  HandleArea(const HandleArea&) = delete;
  HandleArea& operator=(const HandleArea&) = delete;
  ~HandleArea() {
    for (Block* b : blocks_) FreeSideTable(b);
  }

  // The slot now holding `value`, or null when the current block is full: the caller
  // then calls NextBlock (out of line) and pushes again.
  GCLAB_INLINE void** Push(void* value) {
    if (__builtin_expect(top_ == limit_, 0)) return nullptr;
    *top_ = value;
    return top_++;
  }

  Mark Save() const { return Mark{block_, top_, limit_}; }

  void Restore(const Mark& mark) {
    if constexpr (kDebugChecks) {
      // Zap everything above the mark.
      for (size_t b = mark.block; b <= block_ && b < blocks_.size(); ++b) {
        // A mark taken before the first block existed has a null top.
        void** begin = b == mark.block && mark.top != nullptr ? mark.top : blocks_[b]->slots;
        void** end = b == block_ ? top_ : blocks_[b]->slots + kBlockSlots;
        for (void** s = begin; s < end; ++s) *s = kZappedHandle;
      }
    }
    block_ = mark.block;
    top_ = mark.top;
    limit_ = mark.limit;
    // A mark taken before the first block existed, or at a full block's end, would send
    // every Push of the next scope to NextBlock: step into the next block now, once.
    if (top_ == limit_) {
      size_t next = top_ == nullptr ? 0 : block_ + 1;
      if (next < blocks_.size()) {
        block_ = next;
        top_ = blocks_[next]->slots;
        limit_ = top_ + kBlockSlots;
      }
    }
  }

  int scope_depth() const { return scope_depth_; }
  void EnterScope() { ++scope_depth_; }
  void LeaveScope() { --scope_depth_; }

  // Calls f(void** slot) for every live slot.
  template <typename F>
  void ForEachSlot(F&& f) {
    if (top_ == nullptr) return;
    for (size_t b = 0; b < block_; ++b) {
      for (void** s = blocks_[b]->slots; s < blocks_[b]->slots + kBlockSlots; ++s) f(s);
    }
    for (void** s = blocks_[block_]->slots; s < top_; ++s) f(s);
  }

  size_t size() const {
    if (top_ == nullptr) return 0;
    return block_ * kBlockSlots + static_cast<size_t>(top_ - blocks_[block_]->slots);
  }

  // Steps into the next block, allocating it if needed; false, with nothing changed,
  // when no memory was left for it (side-table memory, internal/side_table.h).
  [[nodiscard]] bool NextBlock() {
    size_t next = top_ == nullptr ? 0 : block_ + 1;
    if (next == blocks_.size()) {
      if (!TryGrow(blocks_, 4)) return false;
      void* block = TryAllocateSideTable(sizeof(Block), "handle block");
      if (block == nullptr) return false;
      blocks_.push_back(static_cast<Block*>(block));
    }
    block_ = next;
    top_ = blocks_[next]->slots;
    limit_ = top_ + kBlockSlots;
    return true;
  }

 private:
  struct Block {
    void* slots[kBlockSlots];
  };

  SideVector<Block*> blocks_;
  size_t block_ = 0;
  void** top_ = nullptr;
  void** limit_ = nullptr;
  int scope_depth_ = 0;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_HANDLE_AREA_H_
