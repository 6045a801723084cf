// gclab internal: checks that stop the program with a message.
//
// GCLAB_CHECK is always on: it guards API misuse whose consequence would otherwise be
// silent memory corruption and which is cheap to test. GCLAB_DCHECK is compiled only
// in builds with GCLAB_DEBUG defined (`--config=debug`, `--config=asan`,
// `--config=ubsan`): heap-membership checks, stale-handle checks, the heap verifier.
#ifndef GCLAB_GC_INTERNAL_CHECK_H_
#define GCLAB_GC_INTERNAL_CHECK_H_

#include <cstdio>
#include <cstdlib>

namespace gclab::internal {

[[noreturn]] void Fatal(const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

#if defined(GCLAB_DEBUG)
inline constexpr bool kDebugChecks = true;
#else
inline constexpr bool kDebugChecks = false;
#endif

}  // namespace gclab::internal

// For the allocation and handle fast paths, which the compiler otherwise leaves out
// of line in deep recursions.
#define GCLAB_INLINE inline __attribute__((always_inline))

#define GCLAB_CHECK(cond, ...)                                          \
  do {                                                                  \
    if (__builtin_expect(!(cond), 0)) {                                 \
      ::gclab::internal::Fatal(__FILE__, __LINE__, __VA_ARGS__);        \
    }                                                                   \
  } while (0)

#if defined(GCLAB_DEBUG)
#define GCLAB_DCHECK(cond, ...) GCLAB_CHECK(cond, __VA_ARGS__)
#else
#define GCLAB_DCHECK(cond, ...) \
  do {                          \
  } while (0)
#endif

#endif  // GCLAB_GC_INTERNAL_CHECK_H_
