// gclab benchmarks: the process's resident set size, and its peak per benchmark.
//
// Linux keeps a high-water mark of the resident set (VmHWM in /proc/self/status).
// Writing "5" to /proc/self/clear_refs (Linux 4.0 and later) resets that mark to the
// current RSS, so the peak of one benchmark can be measured inside a long-lived
// process:
//
//   gclab_bench::ResetPeakRss();      // before the benchmark's setup
//   ... run it ...
//   double peak = gclab_bench::PeakRssMb();
//
// The peak is of the whole process: it includes whatever earlier benchmarks left
// resident (a Boehm heap never shrinks to nothing, glibc keeps freed chunks). Compare
// it with CurrentRssMb() taken right after the reset, or run each benchmark in a
// process of its own (--benchmark_filter) for the cleanest numbers.
#ifndef GCLAB_BENCHMARKS_RSS_H_
#define GCLAB_BENCHMARKS_RSS_H_

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gclab_bench {

// Reads a "Key:   <n> kB" line of /proc/self/status; -1 if absent or unreadable.
inline long ReadProcStatusKb(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  const size_t key_len = std::strlen(key);
  char line[256];
  long value = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
      value = std::strtol(line + key_len + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return value;
}

// Resets the kernel's high-water mark of the resident set to the current RSS. Returns
// false (and warns once on stderr) if the kernel does not allow it; PeakRssMb() then
// reports the peak since the process started.
inline bool ResetPeakRss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  bool ok = f != nullptr && std::fputs("5", f) >= 0;
  if (f != nullptr && std::fclose(f) != 0) ok = false;
  if (!ok) {
    static bool warned = false;
    if (!warned) {
      warned = true;
      std::fprintf(stderr,
                   "warning: cannot reset the peak RSS (/proc/self/clear_refs); "
                   "peak_rss_mb is the peak since the process started\n");
    }
  }
  return ok;
}

inline double KbToMb(long kb) { return kb < 0 ? -1.0 : static_cast<double>(kb) / 1024.0; }

// Peak resident set since the last ResetPeakRss() (or process start), in MiB.
inline double PeakRssMb() { return KbToMb(ReadProcStatusKb("VmHWM")); }

// Current resident set, in MiB.
inline double CurrentRssMb() { return KbToMb(ReadProcStatusKb("VmRSS")); }

// Current resident set, in bytes (0 if unreadable).
inline size_t CurrentRssBytes() {
  const long kb = ReadProcStatusKb("VmRSS");
  return kb < 0 ? 0 : static_cast<size_t>(kb) * 1024;
}

}  // namespace gclab_bench

#endif  // GCLAB_BENCHMARKS_RSS_H_
