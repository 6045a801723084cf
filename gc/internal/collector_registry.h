// gclab internal: how a collector registers itself.
//
// A collector's folder, gc/collectors/<name>/, holds its code, its README and one
// registration, at namespace scope in its .cc file:
//
//   const CollectorRegistrar kRegistrar([] {
//     CollectorRegistration r;
//     r.info.name = "mark-sweep";
//     r.info.summary = "non-moving; size-class free lists, side mark bitmaps";
//     r.info.folder = "gc/collectors/mark_sweep";
//     r.info.capabilities.moves_objects = false;
//     r.factory = [](AllocationState& alloc, const CollectorOptions& options)
//         -> absl::StatusOr<std::unique_ptr<Collector>> {
//       if (absl::Status s = RejectUnknownOptions("mark-sweep", options, {}); !s.ok()) return s;
//       return std::make_unique<MarkSweepCollector>(alloc);
//     };
//     return r;
//   }());
//
// gc/BUILD compiles every gc/collectors/*/*.cc into the heap library, kept whole
// (alwayslink) so that the registrations run: adding a folder edits no other file.
#ifndef GCLAB_GC_INTERNAL_COLLECTOR_REGISTRY_H_
#define GCLAB_GC_INTERNAL_COLLECTOR_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gc/collectors.h"
#include "gc/internal/allocation_state.h"

namespace gclab::internal {

class Collector;

struct CollectorRegistration {
  CollectorInfo info;
  // Makes the collector for one heap; InvalidArgument for options it cannot use.
  std::function<absl::StatusOr<std::unique_ptr<Collector>>(AllocationState&,
                                                            const CollectorOptions&)>
      factory;
};

// Registers at construction (a static object's). Two registrations of one name, or
// one without a name or factory, stop the program with a message at start-up.
class CollectorRegistrar {
 public:
  explicit CollectorRegistrar(CollectorRegistration registration);
};

// The registration named `kind`, or null.
const CollectorRegistration* FindRegistration(CollectorKind kind);

// For factories: InvalidArgument naming the first option not in `known`.
absl::Status RejectUnknownOptions(std::string_view collector, const CollectorOptions& options,
                                  std::initializer_list<std::string_view> known);
// For factories: the option `name` as a byte count ("4194304", "4M", "64K", "1G"), or
// `fallback` when it is not given; InvalidArgument for a malformed value.
absl::StatusOr<uint64_t> ByteSizeOption(std::string_view collector,
                                        const CollectorOptions& options,
                                        std::string_view name, uint64_t fallback);

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_COLLECTOR_REGISTRY_H_
