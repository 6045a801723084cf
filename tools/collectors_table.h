// The README's table of collectors, generated from the registry (gc/collectors.h), so
// that a new collector folder shows up in it without editing the README by hand:
// tools/update_readme.sh writes it, and tests/readme_test.cc checks it is current.
#ifndef GCLAB_TOOLS_COLLECTORS_TABLE_H_
#define GCLAB_TOOLS_COLLECTORS_TABLE_H_

#include <string>
#include <vector>

#include "gc/gc.h"

namespace gclab::tools {

inline constexpr char kTableBegin[] =
    "<!-- collectors: generated from the registry by tools/update_readme.sh -->";
inline constexpr char kTableEnd[] = "<!-- end of collectors -->";

inline std::string CollectorsTable() {
  const CollectorKind default_kind = HeapOptions{}.collector;
  std::string out = "| collector | how it allocates and collects | capabilities | code |\n"
                    "|---|---|---|---|\n";
  for (CollectorKind kind : AllCollectors()) {
    const CollectorInfo& info = GetCollectorInfo(kind);
    std::vector<std::string> caps;
    if (kind == default_kind) caps.push_back("default");
    caps.push_back(info.capabilities.moves_objects ? "moves objects" : "non-moving");
    if (info.capabilities.compacts) caps.push_back("compacts");
    if (info.capabilities.generational) caps.push_back("generational");
    if (info.capabilities.write_barrier) caps.push_back("write barrier");
    if (info.capabilities.incremental) caps.push_back("incremental");
    if (info.capabilities.load_barrier) caps.push_back("weak-load barrier");
    std::string joined;
    for (const std::string& c : caps) joined += (joined.empty() ? "" : ", ") + c;
    out += "| `" + std::string(info.name) + "` | " + std::string(info.summary) + " | " + joined +
           " | [" + std::string(info.folder) + "](" + std::string(info.folder) + "/README.md) |\n";
  }
  return out;
}

}  // namespace gclab::tools

#endif  // GCLAB_TOOLS_COLLECTORS_TABLE_H_
