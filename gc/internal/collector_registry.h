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
// a generational one whose only option is its nursery, with NurseryRegistration<C>;
// an incremental one whose only option is its marking rate, with
// IncrementalRegistration<C>.
//
// gc/BUILD compiles every gc/collectors/*/*.cc into the heap library, kept whole
// (alwayslink) so that the registrations run: adding a folder edits no other file.
#ifndef GCLAB_GC_INTERNAL_COLLECTOR_REGISTRY_H_
#define GCLAB_GC_INTERNAL_COLLECTOR_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "gc/collectors.h"
#include "gc/internal/allocation_state.h"
#include "gc/internal/nursery_sizing.h"

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

// An option line made at registration (CollectorInfo::options holds views): kept for
// the life of the program.
std::string_view KeepOptionLine(std::string line);

// For factories: the option `name` as a whole number from `min` to `max`, or
// `fallback` when it is not given; InvalidArgument otherwise.
absl::StatusOr<uint64_t> IntegerOption(std::string_view collector, const CollectorOptions& options,
                                       std::string_view name, uint64_t fallback, uint64_t min,
                                       uint64_t max);

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

// For factories: "marking-rate", the bytes an incremental collector's marking traces
// per byte the program allocates (gc/DESIGN.md [incr.pace]), a whole number from 1 to
// 256, `fallback` when it is not given; and the line that documents it.
absl::StatusOr<double> MarkingRateOption(std::string_view collector,
                                         const CollectorOptions& options, uint64_t fallback);
std::string_view MarkingRateOptionLine(uint64_t default_rate);

// The registration of a generational collector `C`, built from the allocation state
// and its nursery's bounds (NurserySizing), that reads two options, byte sizes from 64K
// to 4G: "nursery", the first and smallest nursery (`default_nursery` when not given),
// and "nursery-max", the largest it grows to (`default_nursery_max`, or "nursery" when
// only that is given: a nursery set alone is fixed). If its capabilities say
// `incremental`, also "marking-rate" (MarkingRateOption, `default_rate`), set on the
// collector with set_marking_rate. Adds their lines to info.options.
template <typename C>
CollectorRegistration NurseryRegistration(CollectorInfo info, uint64_t default_nursery,
                                          uint64_t default_nursery_max,
                                          uint64_t default_rate = 0) {
  CollectorRegistration r;
  r.info = std::move(info);
  r.info.options.push_back(
      "nursery: bytes allocated between minor collections at first and at least, 64K to 4G "
      "(default 4M; alone, a fixed nursery)");
  r.info.options.push_back(
      "nursery-max: the most the nursery grows to while much of it survives, 64K to 4G "
      "(default 64M)");
  const bool incremental = r.info.capabilities.incremental;
  if (incremental) r.info.options.push_back(MarkingRateOptionLine(default_rate));
  const std::string_view name = r.info.name;
  r.factory = [name, default_nursery, default_nursery_max, default_rate, incremental](
                  AllocationState& alloc,
                  const CollectorOptions& options) -> absl::StatusOr<std::unique_ptr<Collector>> {
    absl::Status known = incremental ? RejectUnknownOptions(name, options,
                                                            {"nursery", "nursery-max", "marking-rate"})
                                     : RejectUnknownOptions(name, options, {"nursery", "nursery-max"});
    if (!known.ok()) return known;
    absl::StatusOr<uint64_t> nursery = ByteSizeOption(name, options, "nursery", default_nursery);
    if (!nursery.ok()) return nursery.status();
    const bool fixed = options.count("nursery") != 0 && options.count("nursery-max") == 0;
    absl::StatusOr<uint64_t> max =
        ByteSizeOption(name, options, "nursery-max", fixed ? *nursery : default_nursery_max);
    if (!max.ok()) return max.status();
    for (const auto& [option, value] :
         {std::pair{"nursery", *nursery}, std::pair{"nursery-max", *max}}) {
      if (value < (uint64_t{64} << 10) || value > (uint64_t{4} << 30)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "gclab: %s's %s must be between 64K and 4G bytes, got %d", name, option, value));
      }
    }
    if (*max < *nursery) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: %s's nursery-max (%d bytes) is below its nursery (%d bytes)", name, *max,
          *nursery));
    }
    auto collector = std::make_unique<C>(
        alloc, NurserySizing(static_cast<size_t>(*nursery), static_cast<size_t>(*max)));
    if (incremental) {
      absl::StatusOr<double> rate = MarkingRateOption(name, options, default_rate);
      if (!rate.ok()) return rate.status();
      collector->set_marking_rate(*rate);
    }
    return std::unique_ptr<Collector>(std::move(collector));
  };
  return r;
}

// The registration of an incremental collector `C` (capabilities.incremental), built
// from the allocation state, that reads one option: "marking-rate" (MarkingRateOption,
// `default_rate` when not given). Adds its line to info.options.
template <typename C>
CollectorRegistration IncrementalRegistration(CollectorInfo info, uint64_t default_rate) {
  CollectorRegistration r;
  r.info = std::move(info);
  r.info.options.push_back(MarkingRateOptionLine(default_rate));
  const std::string_view name = r.info.name;
  r.factory = [name, default_rate](AllocationState& alloc, const CollectorOptions& options)
      -> absl::StatusOr<std::unique_ptr<Collector>> {
    if (absl::Status s = RejectUnknownOptions(name, options, {"marking-rate"}); !s.ok()) return s;
    absl::StatusOr<double> rate = MarkingRateOption(name, options, default_rate);
    if (!rate.ok()) return rate.status();
    auto collector = std::make_unique<C>(alloc);
    collector->set_marking_rate(*rate);
    return std::unique_ptr<Collector>(std::move(collector));
  };
  return r;
}

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_COLLECTOR_REGISTRY_H_
