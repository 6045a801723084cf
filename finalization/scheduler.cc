#include "finalization/scheduler.h"

#include <algorithm>
#include <new>

#include "absl/strings/str_format.h"
#include "gc/internal/pointer_set.h"

namespace gclab {

void BatchingScheduler::TakeAll(DeliveryList& from, DeliveryList& to) {
  if (to.empty()) {
    to.swap(from);
  } else {
    // Appending trivially copyable records: on bad_alloc, `to` is unchanged.
    to.insert(to.end(), from.begin(), from.end());
  }
  from.clear();
}

void AfterEachCollectionScheduler::TakeTurn(Turn, DeliveryList& run,
                                            DeliveryList&) {
  // Deliveries enqueued while a turn was running (a callback collected) run at the
  // next turn, which the queue takes right after this one. Swapping keeps both
  // vectors' capacity: millions of deliveries are not copied again.
  TakeAll(pending_, run);
}

void HostJobScheduler::TakeTurn(Turn turn, DeliveryList& run, DeliveryList&) {
  if (turn != Turn::kHostJobs || pending_.empty()) return;
  // One job per registry, in the order registries first had a dead target; within a
  // job, the order found. Usually there are few registries: number them in order of
  // first appearance, then bucket the deliveries by that number (stable, linear).
  // (The scratch tables are built before anything changes: a bad_alloc leaves the
  // scheduler as it was.)
  internal::PointerMap<uint32_t, uint32_t> job_of;  // registry ids start at 1
  internal::SideVector<uint32_t> job(pending_.size());
  auto job_for = [&](uint32_t registry) {
    if (const uint32_t* j = job_of.find(registry)) return *j;
    const auto j = static_cast<uint32_t>(job_of.size());
    if (!job_of.TryInsert(registry, j)) throw std::bad_alloc();
    return j;
  };
  uint32_t last_registry = pending_[0].registry;
  uint32_t last_job = job_for(last_registry);
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (pending_[i].registry != last_registry) {
      last_registry = pending_[i].registry;
      last_job = job_for(last_registry);
    }
    job[i] = last_job;
  }
  if (job_of.size() == 1) {
    TakeAll(pending_, run);
    return;
  } else {
    internal::SideVector<size_t> start(job_of.size() + 1, 0);
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
  if (events_.size() >= options_.event_log_limit) return;
  try {
    events_.push_back({turn_, action, d, delay});
  } catch (const std::bad_alloc&) {  // the log is a diagnostic; the counters still count
  }
}

void RandomizedScheduler::Enqueue(DeliveryList& found) {
  // Room first, so that a bad_alloc changes nothing (not even the random stream).
  waiting_.reserve(waiting_.size() + found.size());
  to_drop_.reserve(to_drop_.size() + found.size());
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

void RandomizedScheduler::TakeTurn(Turn turn, DeliveryList& run,
                                   DeliveryList& drop) {
  bool counts = turn == Turn::kAfterCollection ? options_.turn_after_collection
                                               : options_.turn_on_host_jobs;
  if (!counts) return;
  // Everything that needs memory first, so that a bad_alloc changes nothing.
  const uint64_t turn_now = turn_ + 1;
  const size_t due_count = static_cast<size_t>(std::count_if(
      waiting_.begin(), waiting_.end(), [&](const Waiting& w) { return w.due <= turn_now; }));
  drop.reserve(drop.size() + to_drop_.size());
  run.reserve(run.size() + due_count);
  internal::SideVector<Waiting> due;
  due.reserve(due_count);
  internal::SideVector<uint32_t> sorted;
  sorted.reserve(due_count);

  turn_ = turn_now;
  for (const Waiting& w : to_drop_) {
    drop.push_back(w.delivery);
    Log(Action::kDropped, w.delivery, 0);
  }
  dropped_ += to_drop_.size();
  to_drop_.clear();

  auto split = std::partition(waiting_.begin(), waiting_.end(),
                              [&](const Waiting& w) { return w.due > turn_; });
  due.assign(split, waiting_.end());
  waiting_.erase(split, waiting_.end());
  if (due.empty()) return;
  std::shuffle(due.begin(), due.end(), rng_);
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

void NeverScheduler::TakeTurn(Turn, DeliveryList&, DeliveryList& drop) {
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
