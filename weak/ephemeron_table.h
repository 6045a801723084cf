// gclab: WeakMap<K, V> and WeakSet<K>, ephemeron tables with JavaScript's semantics.
//
// A WeakMap maps heap objects (keys) to heap objects (values) without keeping the keys
// alive: each entry is an ephemeron (ephemeron.h), so a value is kept alive by the
// table only while its key is reachable some other way, and a value that refers to its
// own key does not keep the key alive. When a key dies, its entry disappears in that
// collection: `Has` answers false, `size()` drops, and the entry's storage is reclaimed.
// A WeakSet is the same without values.
//
//   gclab::Local<gclab::WeakMap<Node, Info>> map = gclab::WeakMap<Node, Info>::New(heap);
//   GCLAB_RETURN_IF_ERROR(map->Set(node.Get(), info.Get()));
//   if (Info* i = map->Get(node.Get())) ...
//   map->Delete(node.Get());
//
// Tables are heap objects: root them with a Local or Persistent, or store them in a
// Member (a table may be another table's value). Keys are looked up by address; after a
// collection that moved objects or killed keys the table re-indexes itself (in the
// collection, from the weak-container callback it registered with the heap when it
// was made: Heap::RegisterWeakContainer), so lookups keep working under the copying
// collector, and a collection that does not trace the table (a minor one) still
// drops its dead entries.
//
// Cost: Get/Has/Set/Delete are a hash lookup. Each collection visits every entry of
// every table it traces (linear, see HeapOptions::ephemeron_algorithm) and re-indexes
// the tables that lost entries or moved. The entries live in a heap object (a
// HeapVector's store, which counts toward the heap limit and is grown without
// collecting); the index of key addresses holds no Members and lives in malloc'ed
// memory.
//
// Errors: Set with a null key, or with a key or value that is not a live object of the
// table's heap, is InvalidArgument and changes nothing; Set or Add that finds no
// memory for the entry (the heap limit, without a collection, for the entries' store;
// malloc for the index) is ResourceExhausted and changes nothing. Set, Add and Delete called
// through a stale raw pointer to a table that moved (`map->Set(k, heap.New<V>())`
// under a moving collector, where C++ may read `map` before the allocation) stop with
// a message instead of changing the old copy. Get/Has/Delete with a key from
// another heap stop with a message in GCLAB_DEBUG builds.
#ifndef GCLAB_WEAK_EPHEMERON_TABLE_H_
#define GCLAB_WEAK_EPHEMERON_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gc/gc.h"
#include "weak/internal/entry_table.h"

namespace gclab {

namespace weak_internal {

inline absl::Status CheckTableArgument(Heap& heap, const void* object, const char* what) {
  if (object == nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat("gclab: a table %s must not be null", what));
  }
  if (!heap.Contains(object)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: table %s %p is not a live object of the table's heap", what, object));
  }
  return absl::OkStatus();
}

// No memory for one more entry (gc/DESIGN.md [fault]); the table is unchanged.
inline absl::Status TableFull(const char* operation) {
  return absl::ResourceExhaustedError(absl::StrFormat(
      "gclab: %s: out of memory: cannot grow the table's entries or index", operation));
}

// Lookups with another heap's key are a bug (the answer would silently be "absent").
inline void DCheckTableKey(Heap& heap, const void* key, const char* table) {
  GCLAB_DCHECK(key == nullptr || heap.Contains(key),
               "%s used with key %p, which is not a live object of its heap", table, key);
  (void)heap, (void)key, (void)table;
}

}  // namespace weak_internal

template <typename K, typename V>
class WeakMap final : public GarbageCollected<WeakMap<K, V>> {
 public:
  static Local<WeakMap> New(Heap& heap) { return heap.New<WeakMap>(heap); }
  explicit WeakMap(Heap& heap) : heap_(&heap), table_(heap) {
    heap.RegisterWeakContainer(this, &AfterWeakClearing);  // [cycle.clear]
  }

  V* Get(const K* key) const {
    CheckKey(key);
    const Entry* e = table_.Find(key);
    return e == nullptr ? nullptr : e->value.GetThroughLoadHook();  // [barrier]
  }
  bool Has(const K* key) const {
    CheckKey(key);
    return table_.Find(key) != nullptr;
  }
  // Adds or replaces the entry for `key`. `value` may be null. When the entries' store
  // has no room to grow under the heap limit, collects once (keeping key, value and
  // the map) and tries again.
  absl::Status Set(K* key, V* value) { return Set(key, value, /*may_collect=*/true); }

  // Removes the entry for `key`; true if there was one.
  bool Delete(const K* key) {
    heap_->CheckNotStale(this, "WeakMap::Delete");
    CheckKey(key);
    return table_.Remove(key);
  }
  size_t size() const { return table_.size(); }
  // Bytes of heap the entries' store takes (a heap object of its own; 0 for none). An
  // emptied table keeps it for its next entries; a Delete that empties it frees it.
  size_t storage_bytes() const { return table_.entries().storage_bytes(); }

  // The entries are ephemerons (traced by the entries' store, a heap object); the
  // dead ones are dropped by AfterWeakClearing, registered with the heap at creation so
  // that it runs whether or not a collection traces the map.
  void Trace(Visitor& visitor) const { visitor.Trace(table_); }

 private:
  struct Entry {
    WeakMember<K> key;
    Member<V> value;
    void Trace(Visitor& visitor) const { visitor.TraceEphemeron(key, value); }
  };
  absl::Status Set(K* key, V* value, bool may_collect) {
    heap_->CheckNotStale(this, "WeakMap::Set");
    if (absl::Status s = weak_internal::CheckTableArgument(*heap_, key, "key"); !s.ok()) return s;
    if (value != nullptr) {
      if (absl::Status s = weak_internal::CheckTableArgument(*heap_, value, "value"); !s.ok()) {
        return s;
      }
    }
    Entry* entry = table_.TryFindOrAdd(key);  // never collects: key and value stay valid
    if (entry == nullptr) {
      if (!may_collect || !heap_->CanCollectNow()) return weak_internal::TableFull("WeakMap::Set");
      // The collection may move everything: go on from handles, on the map's new
      // address.
      HandleScope scope(*heap_);
      Local<WeakMap> self(*heap_, this);
      Local<K> k(*heap_, key);
      Local<V> v(*heap_, value);
      heap_->CollectGarbage(CollectionReason::kHeapLimit);
      return self->Set(k.Get(), v.Get(), /*may_collect=*/false);
    }
    entry->value = value;
    return absl::OkStatus();
  }
  static void AfterWeakClearing(CycleContext& context, void* self) {
    static_cast<WeakMap*>(self)->table_.Compact(context.moves_objects());
  }
  void CheckKey(const K* key) const { weak_internal::DCheckTableKey(*heap_, key, "WeakMap"); }

  Heap* heap_;
  weak_internal::EntryTable<Entry> table_;
};

template <typename K>
class WeakSet final : public GarbageCollected<WeakSet<K>> {
 public:
  static Local<WeakSet> New(Heap& heap) { return heap.New<WeakSet>(heap); }
  explicit WeakSet(Heap& heap) : heap_(&heap), table_(heap) {
    heap.RegisterWeakContainer(this, &AfterWeakClearing);  // [cycle.clear]
  }

  // Adds `key`. Like WeakMap::Set, collects once and tries again when the entries'
  // store has no room to grow under the heap limit.
  absl::Status Add(K* key) { return Add(key, /*may_collect=*/true); }
  bool Has(const K* key) const {
    CheckKey(key);
    return table_.Find(key) != nullptr;
  }
  bool Delete(const K* key) {
    heap_->CheckNotStale(this, "WeakSet::Delete");
    CheckKey(key);
    return table_.Remove(key);
  }
  size_t size() const { return table_.size(); }
  // Bytes of heap the entries' store takes (a heap object of its own; 0 for none). An
  // emptied table keeps it until its next Set, Add or Delete.
  size_t storage_bytes() const { return table_.entries().storage_bytes(); }

  void Trace(Visitor& visitor) const { visitor.Trace(table_); }

 private:
  struct Entry {
    WeakMember<K> key;
    void Trace(Visitor& visitor) const { visitor.Trace(key); }
  };
  absl::Status Add(K* key, bool may_collect) {
    heap_->CheckNotStale(this, "WeakSet::Add");
    if (absl::Status s = weak_internal::CheckTableArgument(*heap_, key, "key"); !s.ok()) return s;
    if (table_.TryFindOrAdd(key) != nullptr) return absl::OkStatus();
    if (!may_collect || !heap_->CanCollectNow()) return weak_internal::TableFull("WeakSet::Add");
    HandleScope scope(*heap_);
    Local<WeakSet> self(*heap_, this);
    Local<K> k(*heap_, key);
    heap_->CollectGarbage(CollectionReason::kHeapLimit);
    return self->Add(k.Get(), /*may_collect=*/false);
  }
  static void AfterWeakClearing(CycleContext& context, void* self) {
    static_cast<WeakSet*>(self)->table_.Compact(context.moves_objects());
  }
  void CheckKey(const K* key) const { weak_internal::DCheckTableKey(*heap_, key, "WeakSet"); }

  Heap* heap_;
  weak_internal::EntryTable<Entry> table_;
};

}  // namespace gclab

#endif  // GCLAB_WEAK_EPHEMERON_TABLE_H_
