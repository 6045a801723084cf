// The seed's forgotten global, written as heap snapshots for memlab to read
// (check_snapshot.js): for every collector, `<dir>/<collector>-leak.heapsnapshot`, where
// a global named "window" keeps an App whose cachedInstance field keeps an Instance
// and its 1 MiB memory, and `<dir>/<collector>-fixed.heapsnapshot`, after the field is
// cleared.
//
//   forgotten_global <dir>
#include <cstdio>
#include <cstring>
#include <string>

#include "gc/gc.h"
#include "linear_memory/linear_memory.h"

namespace {

class App : public gclab::GarbageCollected<App> {
 public:
  static constexpr std::string_view kTypeName = "App";
  void Trace(gclab::Visitor& visitor) const {
    visitor.Trace(cached_instance, "cachedInstance");
  }
  gclab::Member<gclab::Instance> cached_instance;
};

int Write(gclab::Heap& heap, const std::string& path) {
  absl::Status status = heap.WriteHeapSnapshot(path);
  if (!status.ok()) {
    std::fprintf(stderr, "forgotten_global: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("%s\n", path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: forgotten_global <dir>\n");
    return 2;
  }
  const std::string dir = argv[1];
  for (gclab::CollectorKind kind : gclab::AllCollectors()) {
    gclab::HeapOptions options;
    options.collector = kind;
    auto heap = gclab::Heap::Create(options).value();
    gclab::Persistent<App> window;
    {
      gclab::HandleScope scope(*heap);
      window = gclab::Persistent<App>(*heap, heap->New<App>(), "window");
      gclab::Local<gclab::Instance> instance =
          gclab::Instance::Create(*heap, {{.initial_pages = 16}}).value();
      window->cached_instance = instance.Get();
      // The program used the memory: its pages are resident.
      std::memset(instance->memory(0)->data(), 7, instance->memory(0)->byte_length());
    }
    const std::string name(heap->collector_name());
    if (Write(*heap, dir + "/" + name + "-leak.heapsnapshot") != 0) return 1;
    window->cached_instance = nullptr;  // the fix
    if (Write(*heap, dir + "/" + name + "-fixed.heapsnapshot") != 0) return 1;
  }
  return 0;
}
