// The README's example program, compiled and run as a test so it stays true.
#include <cstdio>
#include <memory>

#include "gc/gc.h"

// A garbage-collected class: derive from GarbageCollected, trace every Member.
class Node : public gclab::GarbageCollected<Node> {
 public:
  explicit Node(int value) : value(value) {}
  void Trace(gclab::Visitor& visitor) const { visitor.Trace(next); }
  int value;
  gclab::Member<Node> next;
};

int main() {
  for (gclab::CollectorKind kind : gclab::AllCollectors()) {
    gclab::HeapOptions options;
    options.collector = kind;                     // picked at run time
    options.heap_limit = 64 << 20;                // hard cap: 64 MiB of objects
    options.policy = gclab::GrowthFactorPolicy::Create(2.0, 4 << 20).value();
    std::unique_ptr<gclab::Heap> heap = gclab::Heap::Create(options).value();

    gclab::Persistent<Node> list;                 // a root that outlives any scope
    {
      gclab::HandleScope scope(*heap);            // Locals below die with it
      gclab::Local<Node> head = heap->New<Node>(1);
      head->next = heap->New<Node>(2);            // reachable through head
      heap->New<Node>(3);                         // garbage once the scope closes
      list.Set(*heap, head.Get());
    }
    heap->CollectGarbage();                       // nodes 1 and 2 survive, 3 is freed

    const gclab::HeapStatistics& stats = heap->stats();
    std::printf("%-10s live objects: %zu, list: %d -> %d, collections: %llu\n",
                std::string(heap->collector_name()).c_str(), stats.live_objects,
                list->value, list->next->value,
                static_cast<unsigned long long>(stats.collections));
    if (stats.live_objects != 2 || list->value != 1 || list->next->value != 2) return 1;
  }
  return 0;
}
