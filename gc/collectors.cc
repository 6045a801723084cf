// The registry of collectors (gc/collectors.h, gc/internal/collector_registry.h).
#include "gc/collectors.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gc/internal/check.h"
#include "gc/internal/collector_registry.h"

namespace gclab {

namespace internal {

namespace {

// Filled by static registrars before main; read-only afterwards. A function-local
// static, so that registrars in any translation unit find it constructed.
std::vector<std::unique_ptr<CollectorRegistration>>& Registrations() {
  static auto* registrations = new std::vector<std::unique_ptr<CollectorRegistration>>();
  return *registrations;
}

std::string KnownNames() {
  std::vector<std::string> names;
  for (const auto& r : Registrations()) names.emplace_back(r->info.name);
  std::sort(names.begin(), names.end());
  return absl::StrJoin(names, ", ");
}

// Digits only: absl::SimpleAtoi alone would take " 4" and "+4".
bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

}  // namespace

CollectorRegistrar::CollectorRegistrar(CollectorRegistration registration) {
  GCLAB_CHECK(!registration.info.name.empty() && registration.factory != nullptr,
              "a collector registration needs a name and a factory");
  GCLAB_CHECK(FindRegistration(CollectorKind(registration.info.name.data())) == nullptr,
              "two collectors registered the name \"%s\"",
              std::string(registration.info.name).c_str());
  Registrations().push_back(std::make_unique<CollectorRegistration>(std::move(registration)));
}

const CollectorRegistration* FindRegistration(CollectorKind kind) {
  for (const auto& r : Registrations()) {
    if (r->info.name == kind.name()) return r.get();
  }
  return nullptr;
}

absl::Status RejectUnknownOptions(std::string_view collector, const CollectorOptions& options,
                                  std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : options) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "gclab: the %s collector has no option \"%s\" (it reads: %s)", collector, name,
          known.size() == 0 ? std::string("none")
                            : absl::StrJoin(std::vector<std::string>(known.begin(), known.end()),
                                            ", ")));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ByteSizeOption(std::string_view collector,
                                        const CollectorOptions& options,
                                        std::string_view name, uint64_t fallback) {
  auto it = options.find(std::string(name));
  if (it == options.end()) return fallback;
  std::string_view text = it->second;
  uint64_t scale = 1;
  if (!text.empty()) {
    switch (std::toupper(static_cast<unsigned char>(text.back()))) {
      case 'K': scale = uint64_t{1} << 10; break;
      case 'M': scale = uint64_t{1} << 20; break;
      case 'G': scale = uint64_t{1} << 30; break;
      default: break;
    }
    if (scale != 1) text.remove_suffix(1);
  }
  uint64_t value = 0;
  if (!AllDigits(text) || !absl::SimpleAtoi(std::string(text), &value) ||
      value > (~uint64_t{0}) / scale) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: the %s collector's option %s=\"%s\" is not a byte count (such as 4194304, "
        "64K or 4M)",
        collector, name, it->second));
  }
  return value * scale;
}

std::string_view KeepOptionLine(std::string line) {
  // Never freed: registrations, and the views into these lines, last as long as the
  // program. Reachable from this static, so leak checkers do not count them.
  static auto* lines = new std::deque<std::string>();
  lines->push_back(std::move(line));
  return lines->back();
}

absl::StatusOr<uint64_t> IntegerOption(std::string_view collector, const CollectorOptions& options,
                                       std::string_view name, uint64_t fallback, uint64_t min,
                                       uint64_t max) {
  auto it = options.find(std::string(name));
  if (it == options.end()) return fallback;
  const std::string& text = it->second;
  uint64_t value = 0;
  if (!AllDigits(text) || !absl::SimpleAtoi(text, &value) || value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: the %s collector's option %s=\"%s\" must be a whole number from %d to %d",
        collector, name, text, min, max));
  }
  return value;
}

absl::StatusOr<double> MarkingRateOption(std::string_view collector,
                                         const CollectorOptions& options, uint64_t fallback) {
  absl::StatusOr<uint64_t> rate = IntegerOption(collector, options, "marking-rate", fallback, 1, 256);
  if (!rate.ok()) return rate.status();
  return static_cast<double>(*rate);
}

std::string_view MarkingRateOptionLine(uint64_t default_rate) {
  return KeepOptionLine(absl::StrFormat(
      "marking-rate: bytes traced per byte allocated while marking, 1 to 256 (default %d); "
      "higher ends marking sooner, lower leaves the program more of each millisecond",
      default_rate));
}

}  // namespace internal

const std::vector<CollectorKind>& AllCollectors() {
  static const std::vector<CollectorKind>* all = [] {
    auto* kinds = new std::vector<CollectorKind>();
    for (const auto& r : internal::Registrations()) {
      kinds->push_back(CollectorKind(r->info.name.data()));
    }
    std::sort(kinds->begin(), kinds->end(),
              [](CollectorKind a, CollectorKind b) { return a.name() < b.name(); });
    return kinds;
  }();
  return *all;
}

absl::StatusOr<CollectorKind> ParseCollectorKind(std::string_view name) {
  for (const auto& r : internal::Registrations()) {
    if (r->info.name == name) return CollectorKind(r->info.name.data());
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "gclab: unknown collector \"%s\" (registered: %s)", name, internal::KnownNames()));
}

const CollectorInfo& GetCollectorInfo(CollectorKind kind) {
  const internal::CollectorRegistration* r = internal::FindRegistration(kind);
  GCLAB_CHECK(r != nullptr, "no collector is registered as \"%s\"",
              std::string(kind.name()).c_str());
  return r->info;
}

}  // namespace gclab
