#include "finalization/scheduler.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"

namespace gclab {

void AfterEachCollectionScheduler::Enqueue(absl::Span<const Delivery> found) {
  pending_.insert(pending_.end(), found.begin(), found.end());
}

void AfterEachCollectionScheduler::TakeTurn(Turn, std::vector<Delivery>& run,
                                            std::vector<Delivery>&) {
  // Deliveries enqueued while a turn was running (a callback collected) run at the
  // next turn, which the queue takes right after this one.
  run.insert(run.end(), pending_.begin(), pending_.end());
  pending_.clear();
}

void HostJobScheduler::Enqueue(absl::Span<const Delivery> found) {
  pending_.insert(pending_.end(), found.begin(), found.end());
}

void HostJobScheduler::TakeTurn(Turn turn, std::vector<Delivery>& run, std::vector<Delivery>&) {
  if (turn != Turn::kHostJobs || pending_.empty()) return;
  // One job per registry, in the order registries first had a dead target; within a
  // job, the order found. A stable sort by each registry's first position does it.
  absl::flat_hash_map<uint32_t, size_t> first;
  for (size_t i = 0; i < pending_.size(); ++i) first.try_emplace(pending_[i].registry, i);
  std::stable_sort(pending_.begin(), pending_.end(), [&](const Delivery& a, const Delivery& b) {
    return first[a.registry] < first[b.registry];
  });
  run.insert(run.end(), pending_.begin(), pending_.end());
  pending_.clear();
}

absl::StatusOr<std::unique_ptr<RandomizedScheduler>> RandomizedScheduler::Create(Options options) {
  if (!(options.drop_probability >= 0.0 && options.drop_probability <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: RandomizedScheduler drop_probability must be in [0, 1], got %g",
        options.drop_probability));
  }
  if (!options.turn_after_collection && !options.turn_on_host_jobs) {
    return absl::InvalidArgumentError(
        "gclab: RandomizedScheduler needs at least one kind of turn, or nothing ever runs "
        "(use NeverScheduler for that)");
  }
  return std::make_unique<RandomizedScheduler>(options);
}

RandomizedScheduler::RandomizedScheduler(Options options)
    : options_(options), rng_(options.seed) {}

void RandomizedScheduler::Log(Action action, const Delivery& d, uint32_t delay) {
  if (events_.size() < options_.event_log_limit) events_.push_back({turn_, action, d, delay});
}

void RandomizedScheduler::Enqueue(absl::Span<const Delivery> found) {
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::uniform_int_distribution<uint32_t> delay(0, options_.max_delay_turns);
  for (const Delivery& d : found) {
    // Both draws happen for every delivery, so a run's choices depend only on the seed
    // and the sequence of deliveries, not on the options' values.
    bool drop = coin(rng_) < options_.drop_probability;
    uint32_t wait = delay(rng_);
    if (drop) {
      to_drop_.push_back({d, turn_ + 1, turn_});
    } else {
      waiting_.push_back({d, turn_ + 1 + wait, turn_});
    }
  }
}

void RandomizedScheduler::TakeTurn(Turn turn, std::vector<Delivery>& run,
                                   std::vector<Delivery>& drop) {
  bool counts = turn == Turn::kAfterCollection ? options_.turn_after_collection
                                               : options_.turn_on_host_jobs;
  if (!counts) return;
  ++turn_;
  for (const Waiting& w : to_drop_) {
    drop.push_back(w.delivery);
    Log(Action::kDropped, w.delivery, 0);
  }
  dropped_ += to_drop_.size();
  to_drop_.clear();

  std::vector<Waiting> due;
  auto split = std::partition(waiting_.begin(), waiting_.end(),
                              [&](const Waiting& w) { return w.due > turn_; });
  due.assign(split, waiting_.end());
  waiting_.erase(split, waiting_.end());
  if (due.empty()) return;
  std::shuffle(due.begin(), due.end(), rng_);
  std::vector<uint64_t> sorted;
  sorted.reserve(due.size());
  for (const Waiting& w : due) sorted.push_back(w.delivery.sequence);
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < due.size(); ++i) {
    const Waiting& w = due[i];
    uint32_t waited = static_cast<uint32_t>(turn_ - w.enqueued - 1);
    if (waited > 0) ++delayed_;
    if (w.delivery.sequence != sorted[i]) ++reordered_;
    run.push_back(w.delivery);
    Log(Action::kRun, w.delivery, waited);
  }
  ran_ += due.size();
}

std::string RandomizedScheduler::Report() const {
  return absl::StrFormat(
      "randomized finalization scheduler, seed %d (drop probability %g, delays up to %d "
      "turns): %d turns, %d callbacks run, %d of them out of the order found, %d delayed, "
      "%d dropped, %d still waiting",
      options_.seed, options_.drop_probability, options_.max_delay_turns, turn_, ran_,
      reordered_, delayed_, dropped_, pending());
}

void NeverScheduler::Enqueue(absl::Span<const Delivery> found) {
  pending_.insert(pending_.end(), found.begin(), found.end());
}

void NeverScheduler::TakeTurn(Turn, std::vector<Delivery>&, std::vector<Delivery>& drop) {
  drop.insert(drop.end(), pending_.begin(), pending_.end());
  pending_.clear();
}

const std::vector<SchedulerKind>& AllSchedulerKinds() {
  static const std::vector<SchedulerKind> kinds = {
      SchedulerKind::kAfterCollection, SchedulerKind::kHostJobs, SchedulerKind::kRandomized,
      SchedulerKind::kNever};
  return kinds;
}

std::string_view SchedulerKindName(SchedulerKind kind) {
  switch (kind) {
    case SchedulerKind::kAfterCollection:
      return "after-collection";
    case SchedulerKind::kHostJobs:
      return "host-jobs";
    case SchedulerKind::kRandomized:
      return "randomized";
    case SchedulerKind::kNever:
      return "never";
  }
  return "unknown";
}

absl::StatusOr<SchedulerKind> ParseSchedulerKind(std::string_view name) {
  for (SchedulerKind kind : AllSchedulerKinds()) {
    if (SchedulerKindName(kind) == name) return kind;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "gclab: unknown finalization scheduler \"%s\" (after-collection, host-jobs, "
      "randomized, never)",
      name));
}

std::unique_ptr<FinalizationScheduler> CreateScheduler(SchedulerKind kind, uint64_t seed) {
  switch (kind) {
    case SchedulerKind::kAfterCollection:
      return std::make_unique<AfterEachCollectionScheduler>();
    case SchedulerKind::kHostJobs:
      return std::make_unique<HostJobScheduler>();
    case SchedulerKind::kRandomized: {
      RandomizedScheduler::Options options;
      options.seed = seed;
      return std::make_unique<RandomizedScheduler>(options);
    }
    case SchedulerKind::kNever:
      return std::make_unique<NeverScheduler>();
  }
  return nullptr;
}

}  // namespace gclab
