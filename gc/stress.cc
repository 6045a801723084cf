// StressOptions: parsing GCLAB_STRESS (gc/heap.h; gc/DESIGN.md [stress]).
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gc/heap.h"

namespace gclab {

absl::StatusOr<StressOptions> StressOptions::Parse(std::string_view spec) {
  StressOptions options;
  // Debian's Abseil has its own string_view.
  for (absl::string_view item :
       absl::StrSplit(absl::string_view(spec.data(), spec.size()), ',', absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    const absl::string_view key = kv.first;
    auto number = [&](uint64_t* out, bool positive) -> absl::Status {
      if (!absl::SimpleAtoi(kv.second, out) || (positive && *out == 0)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "gclab: stress option '%s' needs a %s number, as in '%s=64'", item,
            positive ? "positive" : "non-negative", key));
      }
      return absl::OkStatus();
    };
    absl::Status status;
    if (key == "every") {
      status = number(&options.collect_every_allocations, true);
    } else if (key == "every-bytes") {
      status = number(&options.collect_every_bytes, true);
    } else if (key == "random") {
      status = number(&options.collect_randomly_every, true);
    } else if (key == "seed") {
      status = number(&options.random_seed, false);
    } else if (key == "scale") {
      status = number(&options.scale, true);
    } else if ((key == "zap" || key == "verify") && item == key) {
      (key == "zap" ? options.zap_freed : options.verify) = true;
    } else {
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: unknown stress option '%s' (known: every=N, every-bytes=N, random=N, "
          "seed=S, scale=K, zap, verify)",
          item));
    }
    if (!status.ok()) return status;
  }
  return options;
}

StressOptions StressOptions::FromEnvironment() {
  const char* spec = std::getenv("GCLAB_STRESS");
  if (spec == nullptr || *spec == '\0') return {};
  absl::StatusOr<StressOptions> options = Parse(spec);
  if (!options.ok()) {
    internal::Fatal(__FILE__, __LINE__, "GCLAB_STRESS=%s: %s", spec,
                    std::string(options.status().message()).c_str());
  }
  return *options;
}

}  // namespace gclab
