// gclab internal: how a collector registers itself.
//
// A collector's folder, gc/collectors/<name>/, holds its code, its README and one
// registration, at namespace scope in its .cc file; for a (hypothetical) collector
// with one option:
//
//   const CollectorRegistrar kRegistrar([] {
//     CollectorRegistration r;
//     r.info.name = "mark-region";
//     r.info.summary = "Immix-style lines and blocks, opportunistic evacuation";
//     r.info.folder = "gc/collectors/mark_region";
//     r.info.capabilities.moves_objects = true;
//     r.info.options = {"line-bytes: the line size (default 256)"};
//     r.factory = [](AllocationState& alloc, const CollectorOptions& options)
//         -> absl::StatusOr<std::unique_ptr<Collector>> {
//       if (absl::Status s = RejectUnknownOptions("mark-region", options, {"line-bytes"});
//           !s.ok()) {
//         return s;
//       }
//       absl::StatusOr<uint64_t> line = ByteSizeOption("mark-region", options,
//                                                       "line-bytes", 256);
//       if (!line.ok()) return line.status();
//       return std::make_unique<MarkRegionCollector>(alloc, *line);
//     };
//     return r;
//   }());
//
// A collector that reads no options registers with OptionlessRegistration<C>(info);
// a generational one whose only option is its nursery, with NurseryRegistration<C>.
//
// gc/BUILD compiles every gc/collectors/*/*.cc into the heap library, kept whole
// (alwayslink) so that the registrations run: adding a folder edits no other file.
#ifndef GCLAB_GC_INTERNAL_COLLECTOR_REGISTRY_H_
#define GCLAB_GC_INTERNAL_COLLECTOR_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
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

// The registration of a collector `C` built from the allocation state alone, that
// reads no options.
template <typename C>
CollectorRegistration OptionlessRegistration(CollectorInfo info) {
  CollectorRegistration r;
  r.info = std::move(info);
  const std::string_view name = r.info.name;
  r.factory = [name](AllocationState& alloc, const CollectorOptions& options)
      -> absl::StatusOr<std::unique_ptr<Collector>> {
    if (absl::Status s = RejectUnknownOptions(name, options, {}); !s.ok()) return s;
    return std::unique_ptr<Collector>(std::make_unique<C>(alloc));
  };
  return r;
}

// The registration of a generational collector `C`, built from the allocation state
// and its nursery size, that reads one option: "nursery", a byte size from 64K to 4G,
// `default_nursery` when not given. Adds the option's line to info.options.
template <typename C>
CollectorRegistration NurseryRegistration(CollectorInfo info, uint64_t default_nursery) {
  CollectorRegistration r;
  r.info = std::move(info);
  r.info.options.push_back(
      "nursery: bytes allocated between minor collections, 64K to 4G (default 4M)");
  const std::string_view name = r.info.name;
  r.factory = [name, default_nursery](AllocationState& alloc, const CollectorOptions& options)
      -> absl::StatusOr<std::unique_ptr<Collector>> {
    if (absl::Status s = RejectUnknownOptions(name, options, {"nursery"}); !s.ok()) return s;
    absl::StatusOr<uint64_t> nursery = ByteSizeOption(name, options, "nursery", default_nursery);
    if (!nursery.ok()) return nursery.status();
    if (*nursery < (uint64_t{64} << 10) || *nursery > (uint64_t{4} << 30)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: %s's nursery must be between 64K and 4G bytes, got %d", name, *nursery));
    }
    return std::unique_ptr<Collector>(std::make_unique<C>(alloc, static_cast<size_t>(*nursery)));
  };
  return r;
}

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_COLLECTOR_REGISTRY_H_
