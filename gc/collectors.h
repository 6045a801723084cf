// gclab: the collectors a heap can use, and what each can do.
//
// Collectors are registered by name; a heap names the one it wants in
// HeapOptions::collector. Every collector runs every program unchanged: it differs in
// speed, memory, pauses, and in the capabilities listed here, which tests and tools ask
// for instead of a collector's name.
//
//   for (gclab::CollectorKind kind : gclab::AllCollectors()) {
//     const gclab::CollectorInfo& info = gclab::GetCollectorInfo(kind);
//     std::printf("%s: %s%s\n", std::string(info.name).c_str(),
//                 std::string(info.summary).c_str(),
//                 info.capabilities.moves_objects ? " (moves objects)" : "");
//   }
//
//   gclab::HeapOptions options;
//   options.collector = "semispace";                       // a registered name
//   options.collector = gclab::CollectorKind::kSemispace;  // the same, by its alias
//   options.collector = gclab::ParseCollectorKind(argv[1]).value();  // from a string
//
// Each collector lives in one folder, gc/collectors/<name>/, with its README and its
// registration (gc/internal/collector_registry.h); adding a folder adds a collector to
// every test, benchmark and tool that enumerates AllCollectors().
#ifndef GCLAB_GC_COLLECTORS_H_
#define GCLAB_GC_COLLECTORS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gclab {

// A collector, by its registered name. Copyable and cheap; compares by name.
class CollectorKind {
 public:
  // `name` must outlive every use of the kind (a string literal); names read at run
  // time go through ParseCollectorKind, which also checks them. A name that no
  // collector registered makes Heap::Create fail with InvalidArgument.
  constexpr CollectorKind(const char* name) : name_(name) {}  // NOLINT: implicit

  // The aliases of gclab's first two collectors.
  static const CollectorKind kMarkSweep;
  static const CollectorKind kSemispace;

  constexpr std::string_view name() const { return name_; }
  friend bool operator==(CollectorKind a, CollectorKind b) { return a.name() == b.name(); }
  friend bool operator!=(CollectorKind a, CollectorKind b) { return !(a == b); }

 private:
  const char* name_;
};
inline constexpr CollectorKind CollectorKind::kMarkSweep{"mark-sweep"};
inline constexpr CollectorKind CollectorKind::kSemispace{"semispace"};

// Options for one collector, by name ("nursery-bytes" -> "4194304"); each collector's
// README lists those it reads. Heap::Create fails with InvalidArgument on a name the
// collector does not know or a value it cannot use.
using CollectorOptions = std::map<std::string, std::string>;

// What a collector does, for tests and tools that depend on it (gc/DESIGN.md).
struct CollectorCapabilities {
  // Objects may move at any allocation; raw pointers go stale (Heap::CheckNotStale).
  bool moves_objects = false;
  // A major collection leaves no fragmentation: the small objects it keeps end up
  // packed together, so allocation fails only at the heap limit. Without it a page (or
  // block) pinned by one survivor stays bound to its use (HeapStatistics::
  // fragmented_bytes), as in a collector that moves only its young objects.
  bool compacts = false;
  // The collector sees every Member store (the write hook) or every weak load (the
  // load hook) of gc/DESIGN.md [barrier].
  bool write_barrier = false;
  bool load_barrier = false;
  // Collections come in two kinds, minor (young objects only) and major
  // (CollectionKind in stats.h).
  bool generational = false;
  // Marking can run in bounded steps between the program's work (gc/DESIGN.md
  // [incr]): a cycle starts at a pause that marks the roots, goes on in steps taken
  // from the allocation slow path and from Heap::Step, and ends in a final pause. While
  // marking is in progress the write and load hooks are on for this heap, whatever
  // write_barrier and load_barrier say.
  bool incremental = false;
};

struct CollectorInfo {
  std::string_view name;     // "mark-sweep"
  std::string_view summary;  // one line: how it allocates and collects
  std::string_view folder;   // where its code and README are: "gc/collectors/mark_sweep"
  CollectorCapabilities capabilities;
  // The options it reads (CollectorOptions), one line each: "name: meaning".
  std::vector<std::string_view> options;
};

// Every registered collector, sorted by name.
const std::vector<CollectorKind>& AllCollectors();
// InvalidArgument, naming the registered collectors, for a name none registered.
absl::StatusOr<CollectorKind> ParseCollectorKind(std::string_view name);
// The registration of `kind`; stops the program with a message for an unregistered
// kind (ParseCollectorKind checks names read at run time).
const CollectorInfo& GetCollectorInfo(CollectorKind kind);
inline std::string_view CollectorName(CollectorKind kind) { return kind.name(); }

}  // namespace gclab

#endif  // GCLAB_GC_COLLECTORS_H_
