// The event listeners that come with gclab (gc_events.h): the GC log and the Chrome
// trace file.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "gc/heap.h"
#include "gc/internal/gc_trace.h"

namespace gclab::internal {
namespace {

double Milliseconds(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }
double MiB(size_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// GCLAB_TRACE_GC: a line per collection, as V8's --trace-gc prints one.
class GcLog final : public GcEventListener {
 public:
  GcLog(std::FILE* out, std::chrono::steady_clock::time_point origin)
      : out_(out), origin_(origin) {}

  void OnCycleEnd(const GcCycleEnd& end) override {
    const CycleStatistics& c = *end.stats;
    std::string line = absl::StrFormat(
        "[gclab %d #%d %.1f ms] %s (%s%s) %.1f -> %.1f MiB, limit %.1f MiB, external %.1f "
        "MiB; ",
        end.heap->id(), c.number,
        std::chrono::duration<double, std::milli>(end.time - origin_).count(),
        CollectionKindName(c.kind), CollectionReasonName(c.reason),
        c.incremental ? ", incremental" : "", MiB(end.bytes_before), MiB(end.bytes_after),
        MiB(end.next_limit), MiB(end.external_bytes));
    if (c.incremental) {
      absl::StrAppendFormat(&line, "%d pauses %.3f ms (start, %d steps, final), longest %.3f ms",
                            c.steps + 2, Milliseconds(c.pause), c.steps, Milliseconds(c.max_pause));
      if (c.marking_overrun) line += ", marking overran";
    } else {
      absl::StrAppendFormat(&line, "pause %.3f ms", Milliseconds(c.pause));
    }
    const char* separator = "; phases: ";
    for (int p = 0; p < kNumPhases; ++p) {
      const absl::Duration t = c.phases.time[p];
      if (t == absl::ZeroDuration()) continue;
      absl::StrAppendFormat(&line, "%s%s %.3f", separator, PhaseName(static_cast<Phase>(p)),
                            Milliseconds(t));
      separator = ", ";
    }
    line += " ms\n";
    std::fputs(line.c_str(), out_);
  }

 private:
  std::FILE* out_;
  std::chrono::steady_clock::time_point origin_;
};

// One file of Chrome trace events (the JSON array format), shared by the heaps that
// name it; the closing bracket is written when the process exits (a file cut short
// by a crash still loads: the bracket is optional in that format).
class TraceFile {
 public:
  explicit TraceFile(std::FILE* file) : file_(file) { std::fputs("[\n", file_); }
  ~TraceFile() {
    absl::MutexLock lock(&mutex_);
    std::fputs("\n]\n", file_);
    std::fclose(file_);
  }
  void Flush() {
    absl::MutexLock lock(&mutex_);
    std::fflush(file_);
  }
  void Write(const std::string& event) {
    absl::MutexLock lock(&mutex_);
    if (!first_) std::fputs(",\n", file_);
    first_ = false;
    std::fputs(event.c_str(), file_);
  }

 private:
  absl::Mutex mutex_;
  std::FILE* file_;
  bool first_ = true;
};

struct TraceFiles {
  absl::Mutex mutex;
  std::map<std::string, std::shared_ptr<TraceFile>> open ABSL_GUARDED_BY(mutex);
};

// Static: its destructor, at exit, closes every file (each heap's listener holds a
// reference too, so a heap outliving it still writes to an open file).
TraceFiles& Files() {
  static TraceFiles files;
  return files;
}

// Microseconds on the steady clock, which is the clock of every event.
double Micros(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::micro>(t.time_since_epoch()).count();
}

// Each heap is a process in the trace: its pauses on one track, its phases on a
// second (a phase's measured stretch may reach past the pause's, which is the sum of
// its phases, by the time between them), and counters of its bytes.
class ChromeTrace final : public GcEventListener {
 public:
  explicit ChromeTrace(std::shared_ptr<TraceFile> file)
      : file_(std::move(file)), pid_(static_cast<int>(getpid())) {}
  // A heap's events are in the file once the heap is gone (the array's end waits for
  // the process's).
  ~ChromeTrace() override { file_->Flush(); }

  void OnCycleStart(const GcCycleStart& start) override {
    NameTracks(*start.heap);
    Counter(*start.heap, start.time, start.heap_bytes, start.external_bytes);
  }
  void OnPhase(const GcPhase& phase) override {
    file_->Write(absl::StrFormat(
        R"({"name":"%s","cat":"gc","ph":"X","ts":%.3f,"dur":%.3f,"pid":%d,"tid":%d,)"
        R"("args":{"collection":%d}})",
        PhaseName(phase.phase), Micros(phase.start),
        absl::ToDoubleMicroseconds(phase.duration), pid_, Track(*phase.heap, 2), phase.number));
  }
  void OnPause(const Heap& heap, const Pause& pause) override {
    NameTracks(heap);
    file_->Write(absl::StrFormat(
        R"({"name":"GC %s","cat":"gc","ph":"X","ts":%.3f,"dur":%.3f,"pid":%d,"tid":%d,)"
        R"("args":{"collection":"%s"}})",
        PauseKindName(pause.kind), Micros(pause.start),
        absl::ToDoubleMicroseconds(pause.duration), pid_, Track(heap, 1),
        CollectionKindName(pause.collection)));
  }
  void OnCycleEnd(const GcCycleEnd& end) override {
    const CycleStatistics& c = *end.stats;
    file_->Write(absl::StrFormat(
        R"({"name":"collection %d","cat":"gc","ph":"i","s":"t","ts":%.3f,"pid":%d,"tid":%d,)"
        R"("args":{"kind":"%s","reason":"%s","incremental":%s,"bytes_before":%d,)"
        R"("bytes_after":%d,"next_limit":%d,"external_bytes":%d,"freed_bytes":%d,)"
        R"("pause_ms":%.3f,"steps":%d}})",
        c.number, Micros(end.time), pid_, Track(*end.heap, 1), CollectionKindName(c.kind),
        CollectionReasonName(c.reason), c.incremental ? "true" : "false", end.bytes_before,
        end.bytes_after, end.next_limit, end.external_bytes, c.freed_bytes,
        Milliseconds(c.pause), c.steps));
    Counter(*end.heap, end.time, end.bytes_after, end.external_bytes);
  }

 private:
  // Track 1 of heap h is tid 2h-1, track 2 is 2h: one process, a pair of tracks per
  // heap.
  static int Track(const Heap& heap, int track) {
    return static_cast<int>(2 * heap.id()) - 2 + track;
  }
  void NameTracks(const Heap& heap) {
    if (named_) return;
    named_ = true;
    file_->Write(absl::StrFormat(
        R"({"name":"process_name","ph":"M","pid":%d,"args":{"name":"gclab"}})", pid_));
    for (int track : {1, 2}) {
      file_->Write(absl::StrFormat(
          R"({"name":"thread_name","ph":"M","pid":%d,"tid":%d,"args":{"name":"heap %d (%s): %s"}})",
          pid_, Track(heap, track), heap.id(), heap.collector_name(),
          track == 1 ? "pauses" : "phases"));
    }
  }
  void Counter(const Heap& heap, std::chrono::steady_clock::time_point t, size_t bytes,
               size_t external) {
    file_->Write(absl::StrFormat(
        R"({"name":"heap %d bytes","ph":"C","ts":%.3f,"pid":%d,)"
        R"("args":{"objects":%d,"external":%d}})",
        heap.id(), Micros(t), pid_, bytes, external));
  }

  std::shared_ptr<TraceFile> file_;
  const int pid_;
  bool named_ = false;
};

}  // namespace

std::unique_ptr<GcEventListener> MakeGcLog(std::FILE* out,
                                           std::chrono::steady_clock::time_point origin) {
  return std::make_unique<GcLog>(out, origin);
}

absl::StatusOr<std::unique_ptr<GcEventListener>> MakeChromeTrace(const std::string& path) {
  TraceFiles& files = Files();
  absl::MutexLock lock(&files.mutex);
  std::shared_ptr<TraceFile>& file = files.open[path];
  if (file == nullptr) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
      const int error = errno;
      files.open.erase(path);
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: cannot open the trace file \"%s\" for writing: %s", path, std::strerror(error)));
    }
    file = std::make_shared<TraceFile>(f);
  }
  return std::unique_ptr<GcEventListener>(std::make_unique<ChromeTrace>(file));
}

}  // namespace gclab::internal
