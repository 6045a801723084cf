// gclab internal: the header in front of every heap object, and per-type metadata.
//
// Layout of a cell (every cell is 16-byte aligned, its size a multiple of 16):
//
//   [ ObjectHeader (16 bytes) ][ payload: the C++ object T ... ]
//                               ^ pointers held by Member<T>, handles and users
//
// The header's first word is the object's TypeInfo*, or, while a copying collection
// is under way, the forwarding address of its copy with the low bit set. A free cell
// of the mark-sweep space has a zero first word.
#ifndef GCLAB_GC_INTERNAL_OBJECT_HEADER_H_
#define GCLAB_GC_INTERNAL_OBJECT_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

namespace gclab {
class Visitor;
}

namespace gclab::internal {

// What the collector needs to know about a type, built once per type at compile time.
struct TypeInfo {
  // Calls T::Trace(visitor) on the payload.
  void (*trace)(const void* payload, Visitor& visitor);
  // Runs ~T(); null when T is trivially destructible (the collector then skips it).
  void (*finalize)(void* payload);
  // Moves a T from `from` to `to` (move-construct, then destroy the source); null when
  // T is trivially copyable and a memcpy suffices.
  void (*relocate)(void* to, void* from);
  // A readable name for diagnostics and retaining paths.
  std::string_view name;
};

template <typename T>
constexpr std::string_view TypeNameOf() {
  // "... [with T = Foo; ...]" as g++ and clang print it.
  std::string_view s = __PRETTY_FUNCTION__;
  const std::string_view key = "T = ";
  size_t begin = s.find(key);
  if (begin == std::string_view::npos) return "object";
  begin += key.size();
  size_t end = s.find_first_of(";]", begin);
  return s.substr(begin, end - begin);
}

template <typename T>
struct TypeInfoFor {
  static void Trace(const void* payload, Visitor& visitor) {
    static_cast<const T*>(payload)->Trace(visitor);
  }
  static void Finalize(void* payload) { static_cast<T*>(payload)->~T(); }
  static void Relocate(void* to, void* from) {
    T* source = static_cast<T*>(from);
    ::new (to) T(std::move(*source));
    source->~T();
  }
  static constexpr TypeInfo kInfo = {
      &Trace,
      std::is_trivially_destructible_v<T> ? nullptr : &Finalize,
      std::is_trivially_copyable_v<T> ? nullptr : &Relocate,
      TypeNameOf<T>(),
  };
};

struct alignas(16) ObjectHeader {
  static constexpr uint32_t kMarkBit = 1u << 0;
  static constexpr uint32_t kLargeBit = 1u << 1;
  static constexpr uintptr_t kForwardedTag = 1;

  uintptr_t word;  // const TypeInfo*, forwarding address | kForwardedTag, or 0 (free)
  uint32_t size;   // cell size in bytes, header included
  uint32_t flags;

  const TypeInfo* type() const { return reinterpret_cast<const TypeInfo*>(word); }
  bool is_free() const { return word == 0; }
  bool is_forwarded() const { return (word & kForwardedTag) != 0; }
  void* forwardee() const { return reinterpret_cast<void*>(word & ~kForwardedTag); }
  void set_forwardee(void* payload) {
    word = reinterpret_cast<uintptr_t>(payload) | kForwardedTag;
  }
  bool is_marked() const { return (flags & kMarkBit) != 0; }
  void set_marked() { flags |= kMarkBit; }
  void clear_marked() { flags &= ~kMarkBit; }
  bool is_large() const { return (flags & kLargeBit) != 0; }

  void* payload() { return reinterpret_cast<char*>(this) + sizeof(ObjectHeader); }
  const void* payload() const {
    return reinterpret_cast<const char*>(this) + sizeof(ObjectHeader);
  }
  static ObjectHeader* FromPayload(const void* payload) {
    return reinterpret_cast<ObjectHeader*>(
        const_cast<char*>(static_cast<const char*>(payload)) - sizeof(ObjectHeader));
  }
};
static_assert(sizeof(ObjectHeader) == 16);

inline constexpr size_t kAllocationGranule = 16;

constexpr size_t RoundUpToGranule(size_t n) {
  return (n + kAllocationGranule - 1) & ~(kAllocationGranule - 1);
}

// The cell size for a payload of `payload_size` bytes: header included, rounded up,
// and large enough for a free-list link.
constexpr size_t CellSizeFor(size_t payload_size) {
  size_t n = RoundUpToGranule(payload_size + sizeof(ObjectHeader));
  return n < 32 ? 32 : n;
}

// Copies (or relocates) the object in `from` into the cell at `to`, header included.
inline void CopyObject(ObjectHeader* to, const ObjectHeader* from) {
  const TypeInfo* type = from->type();
  if (type->relocate == nullptr) {
    std::memcpy(static_cast<void*>(to), from, from->size);
  } else {
    std::memcpy(static_cast<void*>(to), from, sizeof(ObjectHeader));
    type->relocate(to->payload(), const_cast<ObjectHeader*>(from)->payload());
  }
}

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_OBJECT_HEADER_H_
