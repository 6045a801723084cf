// FaultInjection (gc/fault_injection.h).
#include "gc/fault_injection.h"

#include <atomic>

namespace gclab {

namespace {
std::atomic<uint64_t> requests_counted{0};
std::atomic<uint64_t> fail_at{0};  // 0: none
std::atomic<bool> fail_after{false};  // every request from fail_at on fails
std::atomic<uint64_t> failures_injected{0};
std::atomic<const char*> last_failed{nullptr};
}  // namespace

void FaultInjection::FailFrom(uint64_t n) {
  FailNth(n);
  fail_after.store(n != 0, std::memory_order_relaxed);
}

void FaultInjection::FailNth(uint64_t n) {
  fail_after.store(false, std::memory_order_relaxed);
  requests_counted.store(0, std::memory_order_relaxed);
  failures_injected.store(0, std::memory_order_relaxed);
  last_failed.store(nullptr, std::memory_order_relaxed);
  fail_at.store(n, std::memory_order_relaxed);
}

uint64_t FaultInjection::requests() { return requests_counted.load(std::memory_order_relaxed); }

uint64_t FaultInjection::failures() { return failures_injected.load(std::memory_order_relaxed); }

const char* FaultInjection::last_failed_request() {
  const char* what = last_failed.load(std::memory_order_relaxed);
  return what != nullptr ? what : "";
}

namespace internal {

bool AllowMemoryRequest(const char* what) {
  const uint64_t n = requests_counted.fetch_add(1, std::memory_order_relaxed) + 1;
  const uint64_t at = fail_at.load(std::memory_order_relaxed);
  if (at == 0 || (n != at && !(n > at && fail_after.load(std::memory_order_relaxed)))) {
    return true;
  }
  failures_injected.fetch_add(1, std::memory_order_relaxed);
  last_failed.store(what, std::memory_order_relaxed);
  return false;
}

}  // namespace internal
}  // namespace gclab
