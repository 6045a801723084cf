// Event listeners (gc/gc_events.h) on every collector: every collection's start,
// phases, pauses and end, in order and adding up to the statistics; the GC log
// (HeapOptions::trace_gc); the Chrome trace file (HeapOptions::trace_file), read back
// with a JSON reader written for this test.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_format.h"
#include "gc/gc.h"
#include "tests/json_reader.h"
#include "tests/test_types.h"

namespace gclab::testing {
namespace {

// Hears everything, and checks the order as it goes: a cycle's phases and pauses
// between its start and its end (a lazy sweep's pauses may follow the end).
class Recorder : public GcEventListener {
 public:
  void OnCycleStart(const GcCycleStart& start) override {
    EXPECT_EQ(open_, 0u) << "a cycle started inside cycle " << open_;
    EXPECT_EQ(start.number, ends.size() + 1);
    open_ = start.number;
    starts.push_back(start);
  }
  void OnPhase(const GcPhase& phase) override {
    EXPECT_EQ(phase.number, open_) << "a phase outside its cycle";
    EXPECT_GE(phase.duration, absl::ZeroDuration());
    phase_time[phase.number] += phase.duration;
    ++phases;
  }
  void OnPause(const Heap& heap, const Pause& pause) override {
    (void)heap;
    if (open_ == 0) {
      EXPECT_EQ(pause.kind, PauseKind::kSweep) << "only sweeping outside a cycle";
    }
    pauses.push_back(pause);
  }
  void OnCycleEnd(const GcCycleEnd& end) override {
    EXPECT_EQ(end.stats->number, open_);
    // The phases heard are the phases timed, to the nanosecond.
    EXPECT_EQ(phase_time[open_], end.stats->phases.Total()) << "collection " << open_;
    open_ = 0;
    ends.push_back(end);
    end_stats.push_back(*end.stats);
  }

  std::vector<GcCycleStart> starts;
  std::vector<GcCycleEnd> ends;
  std::vector<CycleStatistics> end_stats;
  std::vector<Pause> pauses;
  std::map<uint64_t, absl::Duration> phase_time;
  size_t phases = 0;

 private:
  uint64_t open_ = 0;
};

class GcEventsTest : public ::testing::TestWithParam<CollectorKind> {};

TEST_P(GcEventsTest, EveryCollectionIsHeardInOrder) {
  HeapOptions options;
  options.collector = GetParam();
  options.record_pauses = true;
  options.policy = FixedBudgetPolicy::Create(size_t{1} << 20).value();
  auto heap = Heap::Create(WithoutStress(options)).value();
  Recorder recorder;
  heap->AddEventListener(&recorder);
  HandleScope scope(*heap);
  Local<Array> live = heap->New<Array>(5000);
  for (size_t i = 0; i < live->slots.size(); ++i) live->slots[i] = heap->NewRaw<Node>(1);
  for (int i = 0; i < 200000; ++i) heap->NewRaw<Node>(2);  // 6 MiB: budget collections
  const uint64_t explicit_number = heap->stats().collections + 1;
  heap->CollectGarbage();
  if (heap->capabilities().generational) heap->CollectGarbage(CollectionKind::kMinor);
  if (heap->capabilities().incremental) {
    ASSERT_TRUE(heap->StartIncrementalCollection().ok());
    while (heap->Step(absl::Milliseconds(1))) {
    }
  }
  const HeapStatistics& stats = heap->stats();
  ASSERT_GE(stats.collections, 3u);
  ASSERT_EQ(recorder.starts.size(), stats.collections);
  ASSERT_EQ(recorder.ends.size(), stats.collections);
  EXPECT_GE(recorder.phases, stats.collections);
  uint64_t minor = 0;
  for (size_t i = 0; i < recorder.ends.size(); ++i) {
    const GcCycleStart& start = recorder.starts[i];
    const GcCycleEnd& end = recorder.ends[i];
    const CycleStatistics& cycle = recorder.end_stats[i];
    EXPECT_EQ(start.kind, cycle.kind);
    EXPECT_EQ(start.reason, cycle.reason);
    EXPECT_EQ(start.incremental, cycle.incremental);
    EXPECT_EQ(end.bytes_before, start.heap_bytes);
    EXPECT_EQ(end.bytes_after, cycle.live_bytes);
    EXPECT_GE(end.next_limit, end.bytes_after);
    EXPECT_LE(start.time, end.time);
    minor += cycle.kind == CollectionKind::kMinor;
    if (i > 0) {
      EXPECT_LE(recorder.ends[i - 1].time, start.time);
    }
  }
  EXPECT_EQ(minor, stats.minor_collections);
  EXPECT_EQ(recorder.end_stats.back().live_bytes, stats.live_bytes);
  EXPECT_EQ(recorder.starts[explicit_number - 1].reason, CollectionReason::kExplicit);
  EXPECT_EQ(recorder.starts[0].reason, CollectionReason::kAllocationBudget);
  // The pauses heard are the pauses logged.
  ASSERT_EQ(recorder.pauses.size(), heap->pauses().size());
  for (size_t i = 0; i < recorder.pauses.size(); ++i) {
    EXPECT_EQ(recorder.pauses[i].start, heap->pauses()[i].start);
    EXPECT_EQ(recorder.pauses[i].duration, heap->pauses()[i].duration);
    EXPECT_EQ(recorder.pauses[i].kind, heap->pauses()[i].kind);
  }
  // Removed, it hears nothing more.
  heap->RemoveEventListener(&recorder);
  heap->CollectGarbage();
  EXPECT_EQ(recorder.ends.size(), stats.collections - 1);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, GcEventsTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

class GcEventsDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(GcEventsDeathTest, AListenerMayNotCollect) {
  struct Collector : GcEventListener {
    void OnCycleEnd(const GcCycleEnd& end) override {
      const_cast<Heap*>(end.heap)->CollectGarbage();
    }
  };
  EXPECT_DEATH(
      {
        auto heap = MakeHeap(CollectorKind::kMarkSweep);
        Collector listener;
        heap->AddEventListener(&listener);
        heap->CollectGarbage();
      },
      "a collection was started during a collection");
  EXPECT_DEATH(
      {
        auto heap = MakeHeap(CollectorKind::kMarkSweep);
        Recorder listener;
        heap->AddEventListener(&listener);
        heap->AddEventListener(&listener);
      },
      "added twice");
}

// GCLAB_TRACE_GC's log: a line per collection, kind, reason, bytes, pauses, phases.
TEST(GcLogTest, ALinePerCollection) {
  HeapOptions options;
  options.trace_gc = true;
  options.trace_file = "";
  ::testing::internal::CaptureStderr();
  {
    auto heap = Heap::Create(WithoutStress(options)).value();
    HandleScope scope(*heap);
    Local<Node> kept = heap->New<Node>(1);
    for (int i = 0; i < 3; ++i) heap->CollectGarbage();
    EXPECT_EQ(kept->value, 1);
  }
  const std::string log = ::testing::internal::GetCapturedStderr();
  std::istringstream lines(log);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("[gclab ", 0) != 0) continue;
    ++n;
    EXPECT_NE(line.find(absl::StrFormat("#%d ", n)), std::string::npos) << line;
    EXPECT_NE(line.find("major (explicit)"), std::string::npos) << line;
    EXPECT_NE(line.find(" MiB, limit "), std::string::npos) << line;
    EXPECT_NE(line.find("; phases: prepare "), std::string::npos) << line;
    EXPECT_NE(line.find(", mark "), std::string::npos) << line;
  }
  EXPECT_EQ(n, 3) << log;
}

// GCLAB_TRACE_FILE's trace: Chrome trace events, one slice per pause and per stretch of
// a phase, an instant event per collection, counters of the heap's bytes; every heap
// of the process in the one file.
TEST(GcTraceTest, ChromeTraceEventsOfEveryCollection) {
  const std::string path = ::testing::TempDir() + "/gclab_trace.json";
  std::vector<uint64_t> collections;
  for (CollectorKind kind : AllCollectors()) {
    HeapOptions options;
    options.collector = kind;
    options.trace_file = path;
    options.trace_gc = false;
    auto heap = Heap::Create(WithoutStress(options)).value();
    HandleScope scope(*heap);
    Local<Node> kept = heap->New<Node>(1);
    heap->CollectGarbage();
    EXPECT_EQ(kept->value, 1);
    if (heap->capabilities().incremental) {
      ASSERT_TRUE(heap->StartIncrementalCollection().ok());
      heap->FinishIncrementalCollection();
    }
    collections.push_back(heap->stats().collections);
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::stringstream text;
  text << in.rdbuf();
  Json trace;
  JsonReader reader(text.str());
  ASSERT_TRUE(reader.ReadTrace(&trace)) << "not JSON at byte " << reader.position();
  size_t instants = 0, pauses = 0, phases = 0, counters = 0, names = 0;
  for (const Json& event : std::get<std::vector<Json>>(trace.value)) {
    const std::string& ph = std::get<std::string>(event.get("ph")->value);
    ASSERT_NE(event.get("pid"), nullptr);
    if (ph == "M") {
      ++names;
      continue;
    }
    ASSERT_NE(event.get("ts"), nullptr);
    const std::string& name = std::get<std::string>(event.get("name")->value);
    if (ph == "X") {
      EXPECT_GE(std::get<double>(event.get("dur")->value), 0.0);
      if (name.rfind("GC ", 0) == 0) {
        ++pauses;
      } else {
        ++phases;
      }
    } else if (ph == "i") {
      ++instants;
      EXPECT_NE(event.get("args")->get("bytes_after"), nullptr);
    } else if (ph == "C") {
      ++counters;
    }
  }
  size_t total = 0;
  for (uint64_t n : collections) total += n;
  EXPECT_EQ(instants, total);
  EXPECT_GE(pauses, total);
  EXPECT_GE(phases, total);
  EXPECT_EQ(counters, 2 * total);  // at each start and end
  EXPECT_EQ(names, 3 * collections.size());  // the process and two tracks per heap

  HeapOptions bad;
  bad.trace_file = ::testing::TempDir() + "/no/such/folder/trace.json";
  absl::StatusOr<std::unique_ptr<Heap>> heap = Heap::Create(bad);
  EXPECT_EQ(heap.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(heap.status().message().find("no/such/folder"), std::string::npos) << heap.status();
}

}  // namespace
}  // namespace gclab::testing
