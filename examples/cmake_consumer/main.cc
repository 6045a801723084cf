// A consumer of the installed gclab (examples/cmake_consumer/CMakeLists.txt): on every
// registered collector, a WebAssembly-style memory that a forgotten global keeps, a
// WeakRef that says when it goes, and a heap snapshot. Exits non-zero if anything is
// not as the library promises, so that tools/cmake_test.sh can run it as a check.
#include <cstdio>
#include <sstream>
#include <string>

#include "gc/gc.h"
#include "linear_memory/linear_memory.h"
#include "weak/weak.h"

namespace {

class Window : public gclab::GarbageCollected<Window> {
 public:
  void Trace(gclab::Visitor& visitor) const { visitor.Trace(instance, "instance"); }
  gclab::Member<gclab::Instance> instance;
};

int Check(bool ok, const char* what, std::string_view collector) {
  if (!ok) std::fprintf(stderr, "consumer: %s on %s\n", what, std::string(collector).c_str());
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  int failures = 0;
  for (gclab::CollectorKind kind : gclab::AllCollectors()) {
    gclab::HeapOptions options;
    options.collector = kind;
    auto heap = gclab::Heap::Create(options).value();
    const std::string_view name = heap->collector_name();
    gclab::Persistent<Window> window;
    gclab::Persistent<gclab::WeakRef<gclab::LinearMemory>> ref;
    {
      gclab::HandleScope scope(*heap);
      window = gclab::Persistent<Window>(*heap, heap->New<Window>(), "window");
      gclab::Local<gclab::Instance> instance =
          gclab::Instance::Create(*heap, {{.initial_pages = 4}}).value();
      window->instance = instance.Get();
      gclab::Local<gclab::LinearMemory> memory(*heap, instance->memory(0));
      ref = gclab::Persistent<gclab::WeakRef<gclab::LinearMemory>>(
          *heap, gclab::WeakRef<gclab::LinearMemory>::Create(*heap, memory).value());
    }
    heap->CollectGarbage();
    heap->ClearKeptObjects();
    failures += Check(ref->Deref() != nullptr, "the global did not keep the memory", name);
    heap->ClearKeptObjects();
    std::ostringstream snapshot;
    gclab::HeapSnapshotSummary summary;
    failures += Check(heap->WriteHeapSnapshot(snapshot, &summary).ok() && summary.native_nodes == 1,
                      "the heap snapshot did not show the memory", name);
    window->instance = nullptr;
    heap->CollectGarbage();
    failures += Check(ref->Deref() == nullptr, "the memory outlived its last reference", name);
    std::printf("%s: ok\n", std::string(name).c_str());
  }
  return failures == 0 ? 0 : 1;
}
