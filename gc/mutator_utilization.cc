#include "gc/mutator_utilization.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace gclab {

std::string_view PauseKindName(PauseKind kind) {
  switch (kind) {
    case PauseKind::kAtomic: return "atomic";
    case PauseKind::kStart: return "start";
    case PauseKind::kStep: return "step";
    case PauseKind::kFinal: return "final";
    case PauseKind::kSweep: return "sweep";
  }
  return "unknown";
}

namespace {

// Pauses as [start, end) nanoseconds from the run's beginning, clipped to the run,
// with the sums of the durations before each: the pause time inside any interval is
// two binary searches.
class PauseTimeline {
 public:
  void Add(int64_t start, int64_t end) {
    starts_.push_back(start);
    ends_.push_back(end);
    prefix_.push_back(prefix_.back() + (end - start));
  }
  // Pause time inside [a, b).
  int64_t Inside(int64_t a, int64_t b) const {
    // Pauses first..last-1 overlap [a, b): those that end after a and start before b.
    const auto first = static_cast<size_t>(
        std::upper_bound(ends_.begin(), ends_.end(), a) - ends_.begin());
    const auto last = static_cast<size_t>(
        std::lower_bound(starts_.begin(), starts_.end(), b) - starts_.begin());
    if (first >= last) return 0;
    int64_t sum = prefix_[last] - prefix_[first];
    sum -= std::max<int64_t>(0, a - starts_[first]);   // the first one's part before a
    sum -= std::max<int64_t>(0, ends_[last - 1] - b);  // the last one's part after b
    return sum;
  }
  const std::vector<int64_t>& starts() const { return starts_; }

 private:
  std::vector<int64_t> starts_;
  std::vector<int64_t> ends_;
  std::vector<int64_t> prefix_{0};
};

}  // namespace

absl::StatusOr<double> MinimumMutatorUtilization(absl::Span<const Pause> pauses,
                                                 std::chrono::steady_clock::time_point begin,
                                                 std::chrono::steady_clock::time_point end,
                                                 absl::Duration window) {
  if (window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: MinimumMutatorUtilization needs a positive window, got %s",
        absl::FormatDuration(window)));
  }
  if (end < begin) {
    return absl::InvalidArgumentError(
        "gclab: MinimumMutatorUtilization's run ends before it begins");
  }
  auto ns = [begin](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - begin).count();
  };
  const int64_t run = ns(end);
  PauseTimeline timeline;
  int64_t previous_end = INT64_MIN;
  for (size_t i = 0; i < pauses.size(); ++i) {
    const int64_t start = ns(pauses[i].start);
    const int64_t stop = start + absl::ToInt64Nanoseconds(pauses[i].duration);
    if (stop < start || start < previous_end) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: MinimumMutatorUtilization: pause %d %s", i,
          stop < start ? "has a negative duration" : "begins before the one before it ends"));
    }
    previous_end = stop;
    const int64_t a = std::max<int64_t>(start, 0);
    const int64_t b = std::min(stop, run);
    if (a < b) timeline.Add(a, b);
  }
  if (run == 0) return 1.0;
  const int64_t w = std::min(absl::ToInt64Nanoseconds(window), run);
  // As the window [t, t + w) slides right, the pause time inside it grows only while
  // its right edge is in a pause and shrinks only while its left edge is: it is
  // greatest where the left edge meets the start of a pause, or at an end of the run.
  int64_t worst = 0;
  auto consider = [&](int64_t t) {
    t = std::clamp<int64_t>(t, 0, run - w);
    worst = std::max(worst, timeline.Inside(t, t + w));
  };
  consider(0);
  consider(run - w);
  for (int64_t start : timeline.starts()) consider(start);
  return static_cast<double>(w - worst) / static_cast<double>(w);
}

}  // namespace gclab
