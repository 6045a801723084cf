// gclab: why is this object still alive? Retaining paths.
//
// A memory leak in a garbage-collected program is an object that something still
// references: a forgotten global, a cache, a listener list. Heap::FindRetainingPath
// answers "why is it alive?" with one chain of strong references from a root to the
// object: the root (its kind and, for a named Persistent, its name), then each object
// on the way with its type name and the field that leads to the next. The path is a
// shortest one (fewest references); other paths may exist, and cutting this one is the
// first step, not always the last.
//
//   class App : public gclab::GarbageCollected<App> {
//    public:
//     static constexpr std::string_view kTypeName = "App";   // optional, see below
//     void Trace(gclab::Visitor& v) const { v.Trace(cached, "cached"); }
//     gclab::Member<Instance> cached;
//   };
//   gclab::Persistent<App> window(*heap, app, "window");   // a named root
//   ...
//   absl::StatusOr<gclab::RetainingPath> path = heap->FindRetainingPath(memory);
//   std::cout << path->ToString();
//   // Persistent "window"
//   //   -> App
//   //   .cached -> Instance
//   //   .memory -> gclab::LinearMemory   (the object asked about)
//
// Names come from three places: `Persistent(heap, object, "name")` names a root,
// `visitor.Trace(member, "field")` names a field (an unnamed field shows as its byte
// offset, "+16"), and a class may declare `static constexpr std::string_view kTypeName`
// (otherwise the C++ type name is used). An ephemeron's value is reached through its
// key: the path shows the table holding the entry, and the key's own path is the
// user's next question.
//
// The query walks the heap breadth-first from the roots (it allocates side tables,
// never heap objects, and moves nothing): call it outside a collection, as a
// diagnostic, not on a hot path.
#ifndef GCLAB_GC_RETAINING_PATH_H_
#define GCLAB_GC_RETAINING_PATH_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gclab {

enum class RootKind {
  kLocal,           // a Local handle in an open HandleScope
  kPersistent,      // a Persistent handle (named or not)
  kKeptObject,      // kept until the job ends (KeepDuringJob, WeakRef::Deref)
  kCollectionHook,  // roots a subsystem traces (collection_hook.h)
};
std::string_view RootKindName(RootKind kind);

struct RetainingPath {
  struct Step {
    const void* object = nullptr;  // payload address, valid until the next allocation
    std::string type_name;
    // The field of the previous step's object that references this one; empty for the
    // first step (the root references it).
    std::string field;
  };
  RootKind root_kind = RootKind::kLocal;
  // The Persistent's name, "slot 3" for a Local, the hook's name; may be empty.
  std::string root_name;
  // From the root's target to the object asked about (the last step).
  std::vector<Step> steps;

  // One line for the root, one per step, as in the header comment.
  std::string ToString() const;
};

}  // namespace gclab

#endif  // GCLAB_GC_RETAINING_PATH_H_
