// FaultInjection (gc/fault_injection.h).
#include "gc/fault_injection.h"

#include <atomic>

namespace gclab {

namespace {
std::atomic<uint64_t> requests_counted{0};
std::atomic<uint64_t> fail_at{0};  // 0: none
std::atomic<uint64_t> failures_injected{0};
}  // namespace

void FaultInjection::FailNth(uint64_t n) {
  requests_counted.store(0, std::memory_order_relaxed);
  failures_injected.store(0, std::memory_order_relaxed);
  fail_at.store(n, std::memory_order_relaxed);
}

uint64_t FaultInjection::requests() { return requests_counted.load(std::memory_order_relaxed); }

uint64_t FaultInjection::failures() { return failures_injected.load(std::memory_order_relaxed); }

namespace internal {

bool AllowMemoryRequest() {
  const uint64_t n = requests_counted.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n != fail_at.load(std::memory_order_relaxed)) return true;
  failures_injected.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace internal
}  // namespace gclab
