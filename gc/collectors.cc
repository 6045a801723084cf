// The collector factory: one case per collector folder.
#include "absl/strings/str_format.h"
#include "gc/heap.h"
#include "gc/internal/collector.h"
#include "gc/mark_sweep/mark_sweep.h"
#include "gc/semispace/semispace.h"

namespace gclab {

namespace internal {

std::unique_ptr<Collector> CreateCollector(CollectorKind kind, AllocationState& alloc) {
  switch (kind) {
    case CollectorKind::kMarkSweep:
      return std::make_unique<MarkSweepCollector>(alloc);
    case CollectorKind::kSemispace:
      return std::make_unique<SemispaceCollector>(alloc);
  }
  return nullptr;
}

}  // namespace internal

std::string_view CollectorName(CollectorKind kind) {
  switch (kind) {
    case CollectorKind::kMarkSweep: return "mark-sweep";
    case CollectorKind::kSemispace: return "semispace";
  }
  return "unknown";
}

const std::vector<CollectorKind>& AllCollectors() {
  static const std::vector<CollectorKind> kAll = {CollectorKind::kMarkSweep,
                                                  CollectorKind::kSemispace};
  return kAll;
}

absl::StatusOr<CollectorKind> ParseCollectorKind(std::string_view name) {
  for (CollectorKind kind : AllCollectors()) {
    if (CollectorName(kind) == name) return kind;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "gclab: unknown collector \"%s\" (known: mark-sweep, semispace)", name));
}

}  // namespace gclab
