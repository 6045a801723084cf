// gclab: heap snapshots that Chrome DevTools' Memory panel and memlab open.
//
// FindRetainingPath (retaining_path.h) answers "why is this object alive?" for one
// object a program can name. A leak is often found the other way round: take a
// snapshot, look at which types hold the most memory, pick one, and read its
// retainers. Chrome DevTools does this for JavaScript heaps; Heap::WriteHeapSnapshot
// writes a gclab heap in the same `.heapsnapshot` format, so that the Memory panel
// (Load profile), memlab (`memlab find-leaks`, or its heap-analysis API) and any tool
// that reads V8's snapshots show gclab objects:
//
//   if (absl::Status s = heap->WriteHeapSnapshot("/tmp/app.heapsnapshot"); !s.ok()) {
//     std::cerr << s << "\n";
//   }
//   // DevTools: Memory > Load profile > app.heapsnapshot; Summary groups the objects by
//   // type ("Instance", "LinearMemory", ...) with their shallow and retained sizes, and
//   // Retainers shows, for the instance a forgotten global keeps:
//   //   LinearMemory  <-[0]- gclab::HeapVector store  <-memories- Instance
//   //   <-cachedInstance- App  <-window- Persistent "window"  <- (Persistent handles)
//   //   <- (GC roots)
//
// What the file holds:
//   - Node 0, the synthetic root; under it "(GC roots)", and under that one node per
//     kind of root: "(Persistent handles)" (with a node `Persistent "name"` for each
//     named Persistent), "(Local handles)", "(Kept objects)" (KeepDuringJob,
//     WeakRef::Deref), and one `(hook "name")` per collection hook.
//   - One node per live object, type "object" ("array" for a HeapVector's store),
//     named by its type name (a class's kTypeName, or the C++ name), its self size
//     the object's cell, header included.
//   - Edges: a field named in Trace (`visitor.Trace(member, "parent")`) is a property
//     edge with that name; an unnamed field is named by its byte offset ("+16"); a
//     HeapVector's references are element edges [0], [1], ... in the order its Trace
//     reports them (null slots are not reported). A WeakMember is a weak edge, which
//     DevTools and memlab never take as a retainer.
//   - An ephemeron (a WeakMap or EphemeronTable entry) is shown as V8 shows WeakMap
//     entries: a weak edge from the table to the key, and two internal edges to the
//     value named "part of key (K @id) -> value (V @id) pair in WeakMap (table @id)",
//     one from the table and one from the key, so that the value's retainers name its
//     key.
//   - Memory outside the heap that an object reports in its Trace
//     (Visitor::TraceExternalMemory: a LinearMemory's pages) is a native node under
//     that object, its self size the bytes of it resident in RAM (mincore) and its name
//     the size reported ("LinearMemory backing store (64 MiB)").
//   - Node ids are odd numbers assigned afresh by each snapshot, in the order its walk
//     from the root reaches the objects: DevTools' comparison of two snapshots by id
//     does not match gclab objects across snapshots.
//
// Like DevTools' "Take heap snapshot", the call first collects garbage (a full
// collection, CollectionReason::kHeapSnapshot), so that the file holds the live
// objects, every weak reference left is to an object the collection kept, and every
// ephemeron entry left has a key it kept. The walk follows weak edges too, so an object
// the collection kept that only weak references reach by the time of the walk is in
// the file, with no retainer but those weak edges: a held value of a finalization
// registration whose delivery the scheduler dropped, or an object that a finalization
// callback run at the collection's end let go. The next collection frees it.
//
// It allocates nothing in the heap and moves nothing while it writes; its tables take
// about 56 bytes per object and reference, outside the heap (a million objects: 34 MB
// of text, about 60 ms on the machine benchmarks/README.md describes, five times a
// full collection). Self sizes of 4 GiB or more are written as 2^32 - 1 (the format
// reads 32-bit numbers). Outside collections only; on a heap object's constructor's
// stack, where no collection may start, it is FailedPrecondition.
#ifndef GCLAB_GC_HEAP_SNAPSHOT_H_
#define GCLAB_GC_HEAP_SNAPSHOT_H_

#include <cstddef>

namespace gclab {

// What one snapshot held; Heap::WriteHeapSnapshot's `summary`, for tools and tests.
struct HeapSnapshotSummary {
  size_t nodes = 0;          // synthetic, object and native nodes
  size_t object_nodes = 0;   // heap objects
  size_t native_nodes = 0;   // external memory reported by Trace
  size_t edges = 0;
  size_t strings = 0;
  size_t bytes_written = 0;  // of the JSON text
};

}  // namespace gclab

#endif  // GCLAB_GC_HEAP_SNAPSHOT_H_
