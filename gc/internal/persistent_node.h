// gclab internal: the intrusive list behind Persistent<T> handles.
//
// Each Persistent is a node linked into its heap's list while it holds an object. The
// heap visits the list as roots. When the heap is destroyed first, it orphans every
// node: later use of the handle stops with a message instead of reading freed memory.
#ifndef GCLAB_GC_INTERNAL_PERSISTENT_NODE_H_
#define GCLAB_GC_INTERNAL_PERSISTENT_NODE_H_

#include <cstddef>

#include "gc/internal/check.h"

namespace gclab::internal {

class PersistentList;

class PersistentNode {
 protected:
  PersistentNode() = default;
  ~PersistentNode() { Unlink(); }

  void Link(PersistentList* list);
  void Unlink();
  void CheckUsable() const {
    GCLAB_CHECK(!orphaned_, "a Persistent handle was used after its Heap was destroyed");
  }

  void* raw_ = nullptr;
  const char* name_ = nullptr;  // for retaining paths; a string literal
  PersistentList* list_ = nullptr;
  bool orphaned_ = false;

 private:
  friend class PersistentList;
  PersistentNode* prev_ = nullptr;
  PersistentNode* next_ = nullptr;
};

class PersistentList {
 public:
  PersistentList() { sentinel_.prev_ = sentinel_.next_ = &sentinel_; }
  PersistentList(const PersistentList&) = delete;
  PersistentList& operator=(const PersistentList&) = delete;
  ~PersistentList() { OrphanAll(); }

  template <typename F>
  void ForEachSlot(F&& f) {
    for (PersistentNode* n = sentinel_.next_; n != &sentinel_; n = n->next_) {
      if (n->raw_ != nullptr) f(&n->raw_);
    }
  }
  // f(void** slot, const char* name_or_null), for diagnostics.
  template <typename F>
  void ForEachNamedSlot(F&& f) {
    for (PersistentNode* n = sentinel_.next_; n != &sentinel_; n = n->next_) {
      if (n->raw_ != nullptr) f(&n->raw_, n->name_);
    }
  }

  size_t size() const {
    size_t count = 0;
    for (const PersistentNode* n = sentinel_.next_; n != &sentinel_; n = n->next_) ++count;
    return count;
  }

  void OrphanAll() {
    PersistentNode* n = sentinel_.next_;
    while (n != &sentinel_) {
      PersistentNode* next = n->next_;
      n->list_ = nullptr;
      n->orphaned_ = true;
      n->prev_ = n->next_ = nullptr;
      n = next;
    }
    sentinel_.prev_ = sentinel_.next_ = &sentinel_;
  }

 private:
  friend class PersistentNode;
  struct Sentinel : PersistentNode {};
  Sentinel sentinel_;
};

inline void PersistentNode::Link(PersistentList* list) {
  list_ = list;
  PersistentNode* head = &list->sentinel_;
  next_ = head->next_;
  prev_ = head;
  head->next_->prev_ = this;
  head->next_ = this;
}

inline void PersistentNode::Unlink() {
  if (list_ == nullptr) return;
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
  list_ = nullptr;
}

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_PERSISTENT_NODE_H_
