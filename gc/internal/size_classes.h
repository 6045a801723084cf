// gclab internal: size classes of the mark-sweep space.
//
// Cells up to kMaxSmallCell bytes come from pages dedicated to one size class; larger
// objects go to the large-object space. Classes are 8 bytes apart up to 64 bytes, 16
// apart up to 256, then four per doubling (at most 25% internal fragmentation).
#ifndef GCLAB_GC_INTERNAL_SIZE_CLASSES_H_
#define GCLAB_GC_INTERNAL_SIZE_CLASSES_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace gclab::internal {

inline constexpr size_t kMaxSmallCell = 8192;

inline constexpr std::array<uint32_t, 39> kSizeClasses = {
    16,   24,   32,   40,   48,   56,   64,   80,   96,   112,  128,  144,  160,
    176,  192,  208,  224,  240,  256,  320,  384,  448,  512,  640,  768,  896,
    1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192};
inline constexpr int kNumSizeClasses = static_cast<int>(kSizeClasses.size());

// Index of the smallest class holding `cell_size` bytes, or -1 for a large object.
constexpr int SizeClassIndex(size_t cell_size) {
  if (cell_size > kMaxSmallCell) return -1;
  for (int i = 0; i < kNumSizeClasses; ++i) {
    if (kSizeClasses[i] >= cell_size) return i;
  }
  return -1;
}

// The same, by table lookup, for sizes known only at run time.
struct SizeClassTable {
  std::array<int8_t, kMaxSmallCell / 8 + 1> index{};
  constexpr SizeClassTable() {
    for (size_t g = 0; g < index.size(); ++g) {
      index[g] = static_cast<int8_t>(SizeClassIndex(g * 8));
    }
  }
};
inline constexpr SizeClassTable kSizeClassTable;

inline int SizeClassIndexDynamic(size_t cell_size) {
  if (cell_size > kMaxSmallCell) return -1;
  return kSizeClassTable.index[(cell_size + 7) / 8];
}

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_SIZE_CLASSES_H_
