// gclab internals: how much a generational collector allocates between minor
// collections (gc/DESIGN.md [gen.nursery.size]).
//
// A minor collection costs in proportion to what survives it, and what survives is
// mostly what the program is still building when the collection comes: a structure
// larger than the nursery survives whole and dies old, where a major collection has to
// find it. So the nursery grows, doubling, while the fraction of it that survives is
// high, and shrinks back, halving, while it is low, within [min, max]: the
// survival-driven sizing of V8's scavenger. min == max is a fixed nursery.
//
//   NurserySizing sizing(4 << 20, 256 << 20);
//   sizing.AfterMinorCollection(/*allocated=*/4 << 20, /*survived=*/3 << 20);
//   sizing.bytes();  // 8 MiB: three quarters survived
#ifndef GCLAB_GC_INTERNAL_NURSERY_SIZING_H_
#define GCLAB_GC_INTERNAL_NURSERY_SIZING_H_

#include <algorithm>
#include <cstddef>

namespace gclab::internal {

class NurserySizing {
 public:
  // Above this fraction surviving, the nursery doubles; below the other, it halves.
  static constexpr double kGrowAbove = 0.10;
  static constexpr double kShrinkBelow = 0.01;

  NurserySizing() = default;
  NurserySizing(size_t min, size_t max) : min_(min), max_(std::max(min, max)), bytes_(min) {}

  // Bytes to allocate before the next minor collection.
  size_t bytes() const { return bytes_; }
  size_t min() const { return min_; }
  size_t max() const { return max_; }

  // After a minor collection: `allocated` young bytes since the previous collection,
  // `survived` of them kept. An allocation far below the nursery (a collection asked
  // for early) says little about survival and changes nothing.
  void AfterMinorCollection(size_t allocated, size_t survived) {
    if (allocated < bytes_ / 2) return;
    const double survival = static_cast<double>(survived) / static_cast<double>(allocated);
    if (survival > kGrowAbove) {
      bytes_ = std::min(max_, bytes_ * 2);
    } else if (survival < kShrinkBelow) {
      bytes_ = std::max(min_, bytes_ / 2);
    }
  }

 private:
  size_t min_ = 0;
  size_t max_ = 0;
  size_t bytes_ = 0;
};

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_NURSERY_SIZING_H_
