// gclab: the generational mark-sweep collector, on sticky mark bits (README.md here;
// gc/DESIGN.md [gen]).
//
// The space is mark-sweep's, constructed with sticky marks: a mark that outlives the
// sweep makes an object old. Minor collections mark from the roots and the remembered
// set and stop at old objects; the write barrier (MarkSweepCollector::WriteBarrier)
// remembers each old object that receives a young reference. This file only registers
// it and reads its option.
#include <memory>

#include "gc/collectors/mark_sweep/mark_sweep.h"
#include "gc/internal/collector_registry.h"

namespace gclab::internal {
namespace {

class GenMarkSweepCollector final : public MarkSweepCollector {
 public:
  GenMarkSweepCollector(AllocationState& alloc, size_t nursery_bytes)
      : MarkSweepCollector(alloc, /*sticky_marks=*/true) {
    set_nursery_bytes(nursery_bytes);
  }
};

constexpr char kName[] = "gen-mark-sweep";
constexpr uint64_t kDefaultNursery = uint64_t{4} << 20;

const CollectorRegistrar kRegistrar([] {
  CollectorRegistration r;
  r.info.name = kName;
  r.info.summary = "generational, non-moving: sticky mark bits, object-remembering barrier";
  r.info.folder = "gc/collectors/gen_mark_sweep";
  r.info.capabilities.write_barrier = true;
  r.info.capabilities.generational = true;
  r.info.options = {"nursery: bytes allocated between minor collections (default 4M)"};
  r.factory = [](AllocationState& alloc, const CollectorOptions& options)
      -> absl::StatusOr<std::unique_ptr<Collector>> {
    if (absl::Status s = RejectUnknownOptions(kName, options, {"nursery"}); !s.ok()) return s;
    absl::StatusOr<uint64_t> nursery = ByteSizeOption(kName, options, "nursery", kDefaultNursery);
    if (!nursery.ok()) return nursery.status();
    if (*nursery < 64 * 1024) {
      return absl::InvalidArgumentError(
          "gclab: gen-mark-sweep's nursery must be at least 64K bytes");
    }
    return std::unique_ptr<Collector>(std::make_unique<GenMarkSweepCollector>(alloc, *nursery));
  };
  return r;
}());

}  // namespace
}  // namespace gclab::internal
