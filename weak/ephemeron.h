// gclab: EphemeronPair<K, V>, a key and a value where the value lives only while the
// key does.
//
// An ephemeron (Hayes, 1997) holds its key weakly and its value strongly *only while
// the key is reachable some other way*. A value that refers back to its own key does
// not keep the key alive, and a key reachable only through another ephemeron's value is
// alive exactly when that ephemeron's key is. When the key dies, both fields read null.
// Ephemeron tables (ephemeron_table.h) are built from the same tracing primitive:
//
//   void Trace(gclab::Visitor& v) const { v.TraceEphemeron(key_, value_); }
//
// Cost: each collection resolves pending ephemerons in time linear in ephemerons plus
// objects (HeapOptions::ephemeron_algorithm selects the naive fixpoint instead, for
// experiments; it is quadratic in the worst case).
//
//   auto pair = gclab::EphemeronPair<Key, Data>::Create(heap, key, data).value();
//   ...                    // while `key` is reachable, pair->value() == data
#ifndef GCLAB_WEAK_EPHEMERON_H_
#define GCLAB_WEAK_EPHEMERON_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gc/gc.h"

namespace gclab {

template <typename K, typename V>
class EphemeronPair final : public GarbageCollected<EphemeronPair<K, V>> {
 public:
  // InvalidArgument for a null key, or a key or value that is not an object of `heap`.
  static absl::StatusOr<Local<EphemeronPair>> Create(Heap& heap, const Local<K>& key,
                                                      const Local<V>& value) {
    if (key.Get() == nullptr) {
      return absl::InvalidArgumentError("gclab: an ephemeron's key must not be null");
    }
    if (!heap.Contains(key.Get()) || (value.Get() != nullptr && !heap.Contains(value.Get()))) {
      return absl::InvalidArgumentError(
          "gclab: an ephemeron's key and value must be objects of its heap");
    }
    return heap.New<EphemeronPair>(key, value);
  }

  K* key() const { return key_.Get(); }
  V* value() const { return value_.Get(); }

  void Trace(Visitor& visitor) const { visitor.TraceEphemeron(key_, value_); }

  // For Heap::New; use Create, which checks its arguments.
  EphemeronPair(const Local<K>& key, const Local<V>& value) : key_(key), value_(value) {}

 private:
  WeakMember<K> key_;
  Member<V> value_;
};

}  // namespace gclab

#endif  // GCLAB_WEAK_EPHEMERON_H_
