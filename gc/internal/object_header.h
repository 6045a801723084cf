// gclab internal: the header in front of every heap object, and per-type metadata.
//
// Layout of a cell (cells are 8-byte aligned, their size a multiple of 8):
//
//   [ ObjectHeader (8 bytes) ][ payload: the C++ object T ... ]
//                              ^ pointers held by Member<T>, handles and users
//
// The header is one word: the object's TypeInfo*, or, while a copying collection is
// under way, the forwarding address of its copy with the low bit set. During a
// collection, an unreached object that is the key of pending ephemerons has bit 1 set
// and its pending-key index in the bits above the tag (its TypeInfo* is kept beside
// the index, in the collector, until the key is reached or the weak phase ends; see
// collector.h). While a heap snapshot is written (heap_snapshot.cc, outside
// collections), every object it has reached holds its node number in the same form,
// its TypeInfo* kept in the snapshot's node table. A free cell of the mark-sweep space
// has a zero word. Everything else a collector needs is kept on the side: the cell
// size in the TypeInfo (semispace) or the page (mark-sweep), mark bits in page bitmaps
// (mark-sweep) or a prefix (large objects).
#ifndef GCLAB_GC_INTERNAL_OBJECT_HEADER_H_
#define GCLAB_GC_INTERNAL_OBJECT_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "gc/internal/check.h"

namespace gclab {
template <typename T>
struct RelocateByMove;  // gc/garbage_collected.h
}  // namespace gclab

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
  // a memcpy suffices: T is trivially destructible (gc/garbage_collected.h: Members
  // make every holder's copy constructor non-trivial, but copying their bits is
  // exactly a relocation) and RelocateByMove<T> is not set.
  void (*relocate)(void* to, void* from);
  // Bytes of the object's cell, header included (CellSizeFor(sizeof(T))). A size-class
  // allocator may hand out a larger cell; copying and linear walks use this one. Zero
  // for a variable-size type (IsVariableSize): its payload's first word holds the
  // cell size instead (CellSizeOf).
  size_t cell_size;
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

// A class's own name for diagnostics (`static constexpr std::string_view kTypeName`),
// or the C++ name.
template <typename T, typename = void>
struct TypeNameFor {
  static constexpr std::string_view value = TypeNameOf<T>();
};
template <typename T>
struct TypeNameFor<T, std::void_t<decltype(T::kTypeName)>> {
  static constexpr std::string_view value = T::kTypeName;
};

inline constexpr size_t kAllocationGranule = 8;
inline constexpr size_t kHeaderSize = 8;

constexpr size_t RoundUpToGranule(size_t n) {
  return (n + kAllocationGranule - 1) & ~(kAllocationGranule - 1);
}

// The cell size for a payload of `payload_size` bytes: header included, rounded up,
// and large enough for a free-list link.
constexpr size_t CellSizeFor(size_t payload_size) {
  size_t n = RoundUpToGranule(payload_size + kHeaderSize);
  return n < 16 ? 16 : n;
}

// The type name of a HeapVector's store (gc/heap_vector.h): retaining paths fold such
// a step into the field that holds the vector.
inline constexpr std::string_view kHeapVectorStoreTypeName = "gclab::HeapVector store";

// A type whose objects differ in size (a HeapVector's backing store): it declares
// `static constexpr bool kGclabVariableSize = true;`, its first field is a uint64_t
// holding its cell size, and it is built by internal::NewVariable. Its constructor
// must not throw.
template <typename T, typename = void>
struct IsVariableSize : std::false_type {};
template <typename T>
struct IsVariableSize<T, std::void_t<decltype(T::kGclabVariableSize)>>
    : std::bool_constant<T::kGclabVariableSize> {};

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
  static void TraceNothing(const void*, Visitor&) {}
  // Relocate, only instantiated (and so T's move constructor only needed) when used.
  static constexpr void (*RelocateFunction())(void*, void*) {
    if constexpr (std::is_trivially_destructible_v<T> && !RelocateByMove<T>::value) {
      return nullptr;
    } else {
      return &Relocate;
    }
  }

  static constexpr TypeInfo kInfo = {
      &Trace,
      std::is_trivially_destructible_v<T> ? nullptr : &Finalize,
      RelocateFunction(),
      IsVariableSize<T>::value ? 0 : CellSizeFor(sizeof(T)),
      TypeNameFor<T>::value,
  };
  // For a cell whose constructor threw: the same size, nothing to trace or destroy.
  static constexpr TypeInfo kFillerInfo = {
      &TraceNothing, nullptr, nullptr, CellSizeFor(sizeof(T)), "gclab::filler"};
};

struct ObjectHeader {
  static constexpr uintptr_t kForwardedTag = 1;
  static constexpr uintptr_t kEphemeronKeyBit = 2;
  static constexpr uintptr_t kTagBits = 3;
  static constexpr uintptr_t kTagMask = 7;  // TypeInfo is 8-byte aligned

  // const TypeInfo*; forwarding address | kForwardedTag; pending-key index << kTagBits
  // | kEphemeronKeyBit; or 0 (a free cell).
  uintptr_t word;

  // Not valid while the object is a pending key (the collector restores the word first).
  const TypeInfo* type() const {
    GCLAB_DCHECK(!is_pending_key(), "the type of a pending ephemeron key %p was read",
                 static_cast<const void*>(this));
    return reinterpret_cast<const TypeInfo*>(word & ~kTagMask);
  }
  bool is_pending_key() const { return (word & kEphemeronKeyBit) != 0; }
  size_t pending_key_index() const { return word >> kTagBits; }
  // The caller keeps the word this replaces and restores it.
  void set_pending_key(size_t index) { word = (index << kTagBits) | kEphemeronKeyBit; }
  bool is_free() const { return word == 0; }
  bool is_forwarded() const { return (word & kForwardedTag) != 0; }
  void* forwardee() const { return reinterpret_cast<void*>(word & ~kForwardedTag); }
  void set_forwardee(void* payload) {
    word = reinterpret_cast<uintptr_t>(payload) | kForwardedTag;
  }

  void* payload() { return reinterpret_cast<char*>(this) + kHeaderSize; }
  const void* payload() const { return reinterpret_cast<const char*>(this) + kHeaderSize; }
  static ObjectHeader* FromPayload(const void* payload) {
    return reinterpret_cast<ObjectHeader*>(
        const_cast<char*>(static_cast<const char*>(payload)) - kHeaderSize);
  }
};
static_assert(sizeof(ObjectHeader) == kHeaderSize);

// The object's cell size as its type gives it: TypeInfo::cell_size, or for a
// variable-size type the first word of its payload. (Allocators may give a larger
// cell; the collector's own record of it, a page's or a large object's, is exact.)
// `type` is header->type(), when the caller has it already.
inline size_t CellSizeOf(const ObjectHeader* header, const TypeInfo* type) {
  if (__builtin_expect(type->cell_size != 0, 1)) return type->cell_size;
  return static_cast<size_t>(*static_cast<const uint64_t*>(header->payload()));
}
inline size_t CellSizeOf(const ObjectHeader* header) { return CellSizeOf(header, header->type()); }

// Copies (or relocates) the object in `from` into the cell at `to`, header included.
inline void CopyObject(ObjectHeader* to, const ObjectHeader* from) {
  const TypeInfo* type = from->type();
  if (type->relocate == nullptr) {
    const size_t size = CellSizeOf(from, type);
    if (size <= 64) {
      // Most objects are a few words: copy them inline rather than call memcpy.
      auto* d = reinterpret_cast<char*>(to);
      const auto* s = reinterpret_cast<const char*>(from);
      for (size_t i = 0; i < size; i += 8) __builtin_memcpy(d + i, s + i, 8);
    } else {
      std::memcpy(static_cast<void*>(to), from, size);
    }
  } else {
    to->word = from->word;
    type->relocate(to->payload(), const_cast<ObjectHeader*>(from)->payload());
  }
}

}  // namespace gclab::internal

#endif  // GCLAB_GC_INTERNAL_OBJECT_HEADER_H_
