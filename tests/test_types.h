// Heap object types shared by gclab's test suites.
#ifndef GCLAB_TESTS_TEST_TYPES_H_
#define GCLAB_TESTS_TEST_TYPES_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "gc/gc.h"

namespace gclab::testing {

// AddressSanitizer: it poisons the cells gclab zaps, and owns malloc.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// Under AddressSanitizer or UndefinedBehaviorSanitizer the largest tests shrink so the
// suite stays quick. GCC names no macro for the latter: .bazelrc's ubsan config defines
// GCLAB_UBSAN.
#if defined(GCLAB_UBSAN)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = kAddressSanitizer;
#endif

// Likewise under sanitizers, under a stress run (GCLAB_STRESS, gc/DESIGN.md [stress]),
// whose collections cost more than the test's own work on the largest tests, and when
// GCLAB_REDUCED_TESTS=1 asks for it: tools/cmake_test.sh sets it for ctest, because the
// CMake build's run proves that build, and the Bazel runs keep the full sizes. Any other
// value than unset, empty, 0 or 1 stops the test with a message.
inline bool Reduced() {
  static const bool reduced = [] {
    const char* asked = std::getenv("GCLAB_REDUCED_TESTS");
    const std::string value = asked == nullptr ? "" : asked;
    if (value != "" && value != "0" && value != "1") {
      std::fprintf(stderr, "gclab tests: GCLAB_REDUCED_TESTS=%s: expected 0 or 1\n",
                   value.c_str());
      std::abort();
    }
    return value == "1" || StressOptions::FromEnvironment().collects();
  }();
  return kSanitized || reduced;
}

// A binary node carrying a value, for lists, trees and cycles.
class Node : public GarbageCollected<Node> {
 public:
  explicit Node(int64_t v = 0) : value(v) {}
  Node(int64_t v, const Local<Node>& l, const Local<Node>& r) : value(v), left(l), right(r) {}
  void Trace(Visitor& visitor) const {
    visitor.Trace(left);
    visitor.Trace(right);
  }
  int64_t value;
  Member<Node> left;
  Member<Node> right;
};

// An object of N bytes of payload, filled with a pattern derived from its id.
template <size_t N>
class Blob : public GarbageCollected<Blob<N>> {
 public:
  explicit Blob(uint32_t id) : id_(id) {
    for (size_t i = 0; i < N; ++i) bytes_[i] = static_cast<uint8_t>(id * 31 + i);
  }
  void Trace(Visitor& visitor) const { visitor.Trace(next); }
  bool Intact() const {
    for (size_t i = 0; i < N; ++i) {
      if (bytes_[i] != static_cast<uint8_t>(id_ * 31 + i)) return false;
    }
    return true;
  }
  uint32_t id() const { return id_; }
  Member<Node> next;

 private:
  uint32_t id_;
  uint8_t bytes_[N];
};

// An object with a destructor and non-trivial members, counting destructions.
class Counted : public GarbageCollected<Counted> {
 public:
  explicit Counted(int* destroyed, std::string text)
      : destroyed_(destroyed), text_(std::move(text)), numbers_(100, 7) {}
  // A moving collector relocates by move construction plus destruction of the source,
  // so the moved-from object must not count as a destruction.
  Counted(Counted&& other) noexcept
      : next(other.next),
        destroyed_(std::exchange(other.destroyed_, nullptr)),
        text_(std::move(other.text_)),
        numbers_(std::move(other.numbers_)) {}
  ~Counted() {
    if (destroyed_ != nullptr) ++*destroyed_;
  }
  void Trace(Visitor& visitor) const { visitor.Trace(next); }
  const std::string& text() const { return text_; }
  const std::vector<int>& numbers() const { return numbers_; }
  Member<Counted> next;

 private:
  int* destroyed_;
  std::string text_;
  std::vector<int> numbers_;
};

// An object holding a variable number of references.
class Array : public GarbageCollected<Array> {
 public:
  explicit Array(size_t n) { slots.Resize(n); }
  void Trace(Visitor& visitor) const {
    visitor.Trace(slots);  // the vector, which keeps its store alive
  }
  HeapVector<Member<Node>> slots;  // in the heap, where the write hook sees its stores
};

// Whether the next collection moves the live object at `object`: a copying collector
// that compacts moves every survivor; a generational one moves young objects, once.
inline bool NextCollectionMoves(Heap& heap, const void* object) {
  return heap.capabilities().compacts || (heap.moves_objects() && heap.InYoungGeneration(object));
}

// The registered collectors that have a capability: a suite for one kind of collector
// asks for it, never for a name. `has` is a member of CollectorCapabilities.
inline std::vector<CollectorKind> CollectorsWith(bool CollectorCapabilities::*has) {
  std::vector<CollectorKind> kinds;
  for (CollectorKind kind : AllCollectors()) {
    if (GetCollectorInfo(kind).capabilities.*has) kinds.push_back(kind);
  }
  return kinds;
}

inline std::string CollectorParamName(const ::testing::TestParamInfo<CollectorKind>& info) {
  std::string name(CollectorName(info.param));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

inline std::unique_ptr<Heap> MakeHeap(CollectorKind kind, size_t limit = size_t{256} << 20,
                                      std::shared_ptr<TriggerPolicy> policy = nullptr) {
  HeapOptions options;
  options.collector = kind;
  options.heap_limit = limit;
  options.policy = std::move(policy);
  return Heap::Create(options).value();
}

// For a test whose expectations count collections or depend on where they happen: no
// stress mode (GCLAB_STRESS, gc/DESIGN.md [stress]) adds collections of its own.
inline HeapOptions WithoutStress(HeapOptions options) {
  options.stress = StressOptions{};
  return options;
}

inline std::unique_ptr<Heap> MakeHeapWithoutStress(CollectorKind kind, size_t limit,
                                                   std::shared_ptr<TriggerPolicy> policy) {
  HeapOptions options;
  options.collector = kind;
  options.heap_limit = limit;
  options.policy = std::move(policy);
  return Heap::Create(WithoutStress(options)).value();
}

}  // namespace gclab::testing

#endif  // GCLAB_TESTS_TEST_TYPES_H_
