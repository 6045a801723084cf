// gclab internal: AddressSanitizer's manual poisoning, and nothing without ASan.
//
// Under StressOptions::zap_freed the mark-sweep collector poisons the free cells it
// threads (all but the header and the free-list link), so a use of a dead object is
// reported at once; every allocation unpoisons its cell.
#ifndef GCLAB_GC_INTERNAL_SANITIZER_H_
#define GCLAB_GC_INTERNAL_SANITIZER_H_

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define GCLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GCLAB_ASAN 1
#endif
#endif

#if defined(GCLAB_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace gclab::internal {

#if defined(GCLAB_ASAN)
inline constexpr bool kAsan = true;
inline void PoisonMemory(const void* start, size_t size) { ASAN_POISON_MEMORY_REGION(start, size); }
inline void UnpoisonMemory(const void* start, size_t size) {
  ASAN_UNPOISON_MEMORY_REGION(start, size);
}
#else
inline constexpr bool kAsan = false;
inline void PoisonMemory(const void*, size_t) {}
inline void UnpoisonMemory(const void*, size_t) {}
#endif

// The byte freed cells are filled with under StressOptions::zap_freed: a pointer read
// from a dead object is 0xdbdbdbdbdbdbdbdb, which faults, and an integer is implausible.
inline constexpr unsigned char kZapByte = 0xdb;

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_SANITIZER_H_
