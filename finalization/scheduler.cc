#include "finalization/scheduler.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"

namespace gclab {

void BatchingScheduler::TakeAll(std::vector<Delivery>& from, std::vector<Delivery>& to) {
  if (to.empty()) {
    to.swap(from);
  } else {
    to.insert(to.end(), from.begin(), from.end());
  }
  from.clear();
}

void AfterEachCollectionScheduler::TakeTurn(Turn, std::vector<Delivery>& run,
                                            std::vector<Delivery>&) {
  // Deliveries enqueued while a turn was running (a callback collected) run at the
  // next turn, which the queue takes right after this one. Swapping keeps both
  // vectors' capacity: millions of deliveries are not copied again.
  TakeAll(pending_, run);
}

void HostJobScheduler::TakeTurn(Turn turn, std::vector<Delivery>& run, std::vector<Delivery>&) {
  if (turn != Turn::kHostJobs || pending_.empty()) return;
  // One job per registry, in the order registries first had a dead target; within a
  // job, the order found. Usually there are few registries: number them in order of
  // first appearance, then bucket the deliveries by that number (stable, linear).
  absl::flat_hash_map<uint32_t, uint32_t> job_of;
  std::vector<uint32_t> job(pending_.size());
  uint32_t last_registry = pending_[0].registry, last_job = 0;
  job_of.emplace(last_registry, 0);
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (pending_[i].registry != last_registry) {
      last_registry = pending_[i].registry;
      last_job = job_of.try_emplace(last_registry, static_cast<uint32_t>(job_of.size())).first->second;
    }
    job[i] = last_job;
  }
  if (job_of.size() == 1) {
    TakeAll(pending_, run);
    return;
  } else {
    std::vector<size_t> start(job_of.size() + 1, 0);
    for (uint32_t j : job) ++start[j + 1];
    for (size_t j = 1; j < start.size(); ++j) start[j] += start[j - 1];
    const size_t base = run.size();
    run.resize(base + pending_.size());
    for (size_t i = 0; i < pending_.size(); ++i) run[base + start[job[i]]++] = pending_[i];
  }
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

void RandomizedScheduler::Enqueue(std::vector<Delivery>& found) {
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
  found.clear();
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
  std::vector<uint32_t> sorted;
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

void NeverScheduler::TakeTurn(Turn, std::vector<Delivery>&, std::vector<Delivery>& drop) {
  TakeAll(pending_, drop);
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
