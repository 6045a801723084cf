// gclab internal: the event listeners that come with gclab (gc/gc_events.h): the GC
// log of HeapOptions::trace_gc and the Chrome trace of HeapOptions::trace_file.
#ifndef GCLAB_GC_INTERNAL_GC_TRACE_H_
#define GCLAB_GC_INTERNAL_GC_TRACE_H_

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gc/gc_events.h"

namespace gclab::internal {

// One line per collection on `out`, times from `origin` (the heap's creation).
std::unique_ptr<GcEventListener> MakeGcLog(std::FILE* out,
                                           std::chrono::steady_clock::time_point origin);

// Chrome trace events into the file at `path`, shared by every heap of the process
// that names it: opened (truncated) by the first, its JSON array closed when the
// process exits. InvalidArgument if it cannot be opened for writing.
absl::StatusOr<std::unique_ptr<GcEventListener>> MakeChromeTrace(const std::string& path);

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_GC_TRACE_H_
