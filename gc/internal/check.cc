#include "gc/internal/check.h"

#include <cstdarg>

namespace gclab::internal {

void Fatal(const char* file, int line, const char* fmt, ...) {
  std::fflush(stdout);
  std::fprintf(stderr, "gclab fatal error at %s:%d: ", file, line);
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace gclab::internal
