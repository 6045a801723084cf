// A program of heap operations, decoded from bytes, checked against a model of the heap
// (heap_program.h describes the input format and what is checked).
//
// How the oracle sees collections. The program registers a CollectionHook before
// anything else, so that its AfterCollection runs first after every collection, before
// the finalization queue runs any callback, whoever started the collection (an explicit
// CollectGarbage, an allocation's budget or the heap limit, the stress mode, a linear
// memory's external memory or address-space retry, a callback). At that moment the
// model's roots equal the heap's: every operation updates the model around the gclab
// call that changes the roots (an escape slot before the call that reserves it, a new
// object after the call that made it), no operation keeps a raw pointer across an
// allocation, and objects made inside a gclab call (an Instance's memories) join the
// model only when the call returns. The model then computes reachability with
// ephemeron semantics (gc/DESIGN.md [cycle.weak], weak/README.md) and checks the heap.
//
// Every object the model tracks also has a WeakPersistent, its "shadow": the object's
// current address while it lives, null once a collection reclaimed it. Shadows are weak
// roots like any other, so they change nothing about reachability; they let the oracle
// find every object, reachable or not, without keeping a raw pointer.
#include "tests/fuzz/heap_program.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "finalization/finalization.h"
#include "gc/gc.h"
#include "linear_memory/linear_memory.h"
#include "weak/weak.h"

namespace gclab::fuzz {
namespace {

// Bounds that keep one input in the milliseconds.
constexpr uint64_t kMaxOperations = 2000;
constexpr size_t kMaxLiveObjects = 192;  // model objects not yet collected
constexpr size_t kMaxLocals = 64;
constexpr size_t kMaxScopes = 8;
constexpr int kPersistentSlots = 8;
constexpr int kPoolSlots = 4;  // strong roots that only finalization callbacks set
constexpr uint32_t kMemoryReservationPages = 4;

// Handles and fields hold objects of any type; the model knows each object's real
// type. Declared, never defined (as finalization_internal::AnyObject).
struct AnyObject;
using AnyLocal = Local<AnyObject>;
using AnyMap = WeakMap<AnyObject, AnyObject>;
using AnySet = WeakSet<AnyObject>;
using AnyPair = EphemeronPair<AnyObject, AnyObject>;
using AnyRef = WeakRef<AnyObject>;

// A Local<T> is a slot address whatever T is: the program keeps every Local untyped.
template <typename T>
AnyLocal Erase(const Local<T>& local) {
  return std::bit_cast<AnyLocal>(local);
}

template <typename T>
AnyObject* Any(T* object) {
  return static_cast<AnyObject*>(static_cast<void*>(object));
}

// Thrown by the heap's out-of-memory handler, so that an allocation inside a gclab call
// that uses Heap::New (tables, weak refs, pairs, registries) fails like TryNew does.
struct OutOfMemory {};

// ---------------------------------------------------------------------------------
// Heap object types: every size class and the large-object space, with and without a
// destructor, with strong and weak fields, and an array of Members of any length.

constexpr uint32_t kMovedFrom = 0xffffffffu;

class Base;
void OnDestroyed(const Base* object);  // the destructor census, in Program

inline uint8_t PatternByte(uint32_t id, size_t i) {
  return static_cast<uint8_t>(id * 131u + i * 7u + 1u);
}

// The first 8 bytes of every fuzzer object: the model's id, the type, and a check word.
class Base : public GarbageCollected<Base> {
 public:
  Base(uint32_t id, uint16_t type) : id_(id), type_(type), check_(CheckWord(id, type)) {}
  uint32_t id() const { return id_; }
  uint16_t type() const { return type_; }
  bool HeaderIntact() const { return check_ == CheckWord(id_, type_); }

 protected:
  static uint16_t CheckWord(uint32_t id, uint16_t type) {
    return static_cast<uint16_t>((id * 40503u) ^ (type * 257u) ^ 0x5a5au);
  }
  uint32_t id_;
  uint16_t type_;
  uint16_t check_;
};
static_assert(sizeof(Base) == 8);

// Parts of an object that may be absent; empty bases take no room.
template <int S>
struct StrongPart {
  Member<AnyObject> strong[S];
};
template <>
struct StrongPart<0> {};
template <int W>
struct WeakPart {
  WeakMember<AnyObject> weak[W];
};
template <>
struct WeakPart<0> {};
template <size_t B>
struct BytesPart {
  uint8_t bytes[B];
};
template <>
struct BytesPart<0> {};

// Trivially destructible and trivially copyable: the copying collector moves it with
// memcpy and the sweep skips it.
template <int S, int W, size_t B>
class ObjT : public Base, public StrongPart<S>, public WeakPart<W>, public BytesPart<B> {
 public:
  ObjT(uint32_t id, uint16_t type) : Base(id, type) {
    if constexpr (B > 0) {
      for (size_t i = 0; i < B; ++i) this->bytes[i] = PatternByte(id, i);
    }
  }
  void Trace(Visitor& visitor) const {
    if constexpr (S > 0) {
      for (const Member<AnyObject>& m : this->strong) visitor.Trace(m);
    }
    if constexpr (W > 0) {
      for (const WeakMember<AnyObject>& m : this->weak) visitor.Trace(m);
    }
  }
};

// With a destructor that reports to the census. A moving collector relocates by move
// construction and destruction of the source: the source is marked moved-from and
// its destruction is not counted (tests/test_types.h, Counted).
template <int S, int W, size_t B>
class ObjD : public ObjT<S, W, B> {
 public:
  ObjD(uint32_t id, uint16_t type) : ObjT<S, W, B>(id, type) {}
  ObjD(ObjD&& other) noexcept : ObjT<S, W, B>(other) { other.id_ = kMovedFrom; }
  ~ObjD() {
    if (this->id_ != kMovedFrom) OnDestroyed(this);
  }
};

// The same with memory of its own: a double destruction is a double free under ASan.
template <int S, int W, size_t B>
class ObjV : public ObjD<S, W, B> {
 public:
  ObjV(uint32_t id, uint16_t type) : ObjD<S, W, B>(id, type), owned_{id, ~id} {}
  ObjV(ObjV&&) noexcept = default;  // ObjD's move marks the source
  bool OwnedIntact() const {
    return owned_.size() == 2 && owned_[0] == this->id_ && owned_[1] == ~this->id_;
  }

 private:
  std::vector<uint32_t> owned_;
};

// Any number of strong references (for arrays of references and for tables of
// references an object owns).
class ArrayObj : public Base {
 public:
  // The slots live in a HeapVector's store, a heap object of its own (Members belong
  // in heap objects, gc/DESIGN.md [ref.member]); no room for it under the heap limit
  // fails the allocation, as the heap's out-of-memory handler does.
  ArrayObj(uint32_t id, uint16_t type, size_t n) : Base(id, type) {
    if (!slots.TryReserve(n)) throw OutOfMemory();
    slots.Resize(n);
  }
  ArrayObj(ArrayObj&& other) noexcept : Base(other), slots(std::move(other.slots)) {
    other.id_ = kMovedFrom;
  }
  ~ArrayObj() {
    if (id_ != kMovedFrom) OnDestroyed(this);
  }
  void Trace(Visitor& visitor) const { visitor.Trace(slots); }
  HeapVector<Member<AnyObject>> slots;
};

// kind: 0 plain, 1 destructor, 2 destructor and a std::vector.
struct Shape {
  size_t cell;
  int strong;
  int weak;
  size_t bytes;
  int kind;
};

constexpr int kNumSmall = internal::kNumSizeClasses;
// The last is over 1 MiB: at the smallest heap limit it never fits.
constexpr std::array<size_t, 5> kLargeCells = {8256, 12288, 40960, 204800, 1179648};
constexpr int kNumLarge = static_cast<int>(kLargeCells.size());
constexpr int kFirstLarge = 2 * kNumSmall;
constexpr int kBoxType = kFirstLarge + 2 * kNumLarge;  // finalization held values
constexpr int kArrayType = kBoxType + 1;
constexpr int kNestType = kArrayType + 1;  // its constructor allocates (NestObj)
constexpr int kNumTypes = kNestType + 1;

// Fills a cell of `cell` bytes: header, Base, then fields and pattern bytes.
constexpr Shape MakeShape(size_t cell, int kind, int variant) {
  size_t rest = cell - internal::kHeaderSize - sizeof(Base);
  if (kind == 2 && rest < 32) kind = 1;
  if (kind == 2) rest -= sizeof(std::vector<uint32_t>);
  const int strong = std::min<int>(static_cast<int>(rest / 8), 1 + variant % 4);
  rest -= 8 * static_cast<size_t>(strong);
  const int weak = std::min<int>(static_cast<int>(rest / 8), variant % 3);
  rest -= 8 * static_cast<size_t>(weak);
  return Shape{cell, strong, weak, rest, kind};
}

// Small classes alternate plain and destructor types; then large ones; then the box.
constexpr Shape ShapeAt(int i) {
  if (i < kFirstLarge) {
    const size_t cell = internal::kSizeClasses[i / 2];
    const bool destructor = i % 2 == 1;
    return MakeShape(cell, destructor ? (cell >= 64 ? 2 : 1) : 0, i / 2 + (destructor ? 1 : 0));
  }
  if (i < kBoxType) {
    const int j = i - kFirstLarge;
    return MakeShape(kLargeCells[j / 2], j % 2 == 1 ? 2 : 0, j);
  }
  return Shape{32, 2, 0, 0, 0};
}

template <int S, int W, size_t B, int K>
struct ObjectFor;
template <int S, int W, size_t B>
struct ObjectFor<S, W, B, 0> {
  using type = ObjT<S, W, B>;
};
template <int S, int W, size_t B>
struct ObjectFor<S, W, B, 1> {
  using type = ObjD<S, W, B>;
};
template <int S, int W, size_t B>
struct ObjectFor<S, W, B, 2> {
  using type = ObjV<S, W, B>;
};

template <typename T, typename... Args>
absl::StatusOr<AnyLocal> TryNewAny(Heap& heap, Args&&... args) {
  absl::StatusOr<Local<T>> made = heap.TryNew<T>(std::forward<Args>(args)...);
  if (!made.ok()) return made.status();
  return Erase(*made);
}

// What the program and the model need to know of a type, reached by its index.
struct TypeOps {
  Shape shape;  // strong == -1: an ArrayObj
  bool destructor;
  absl::StatusOr<AnyLocal> (*try_new)(Heap& heap, uint32_t id, uint16_t type, size_t n);
  // Heap::NewRaw: out of memory calls the heap's handler (the program's throws).
  Base* (*new_raw)(Heap& heap, uint32_t id, uint16_t type);
  Member<AnyObject>* (*strong)(Base* object, size_t* count);
  WeakMember<AnyObject>* (*weak)(Base* object);
  const uint8_t* (*payload)(const Base* object);
  bool (*owned_intact)(const Base* object);
};

template <int I>
struct ObjectOps {
  static constexpr Shape kShape = ShapeAt(I);
  using T = typename ObjectFor<kShape.strong, kShape.weak, kShape.bytes, kShape.kind>::type;
  using Common = ObjT<kShape.strong, kShape.weak, kShape.bytes>;
  static_assert(internal::CellSizeFor(sizeof(T)) == kShape.cell, "a type misses its cell size");

  static absl::StatusOr<AnyLocal> New(Heap& heap, uint32_t id, uint16_t type, size_t) {
    return TryNewAny<T>(heap, id, type);
  }
  static Base* NewRaw(Heap& heap, uint32_t id, uint16_t type) { return heap.NewRaw<T>(id, type); }
  static Member<AnyObject>* Strong(Base* object, size_t* count) {
    *count = kShape.strong;
    if constexpr (kShape.strong > 0) {
      return static_cast<Common*>(object)->strong;
    } else {
      return nullptr;
    }
  }
  static WeakMember<AnyObject>* Weak(Base* object) {
    if constexpr (kShape.weak > 0) {
      return static_cast<Common*>(object)->weak;
    } else {
      (void)object;
      return nullptr;
    }
  }
  static const uint8_t* Payload(const Base* object) {
    if constexpr (kShape.bytes > 0) {
      return static_cast<const Common*>(object)->bytes;
    } else {
      (void)object;
      return nullptr;
    }
  }
  static bool OwnedIntact(const Base* object) {
    if constexpr (kShape.kind == 2) {
      return static_cast<const T*>(object)->OwnedIntact();
    } else {
      (void)object;
      return true;
    }
  }
  static constexpr TypeOps Make() {
    return TypeOps{kShape, kShape.kind != 0, &New, &NewRaw, &Strong, &Weak, &Payload, &OwnedIntact};
  }
};

struct ArrayOps {
  static absl::StatusOr<AnyLocal> New(Heap& heap, uint32_t id, uint16_t type, size_t n) {
    return TryNewAny<ArrayObj>(heap, id, type, n);
  }
  static Member<AnyObject>* Strong(Base* object, size_t* count) {
    auto* array = static_cast<ArrayObj*>(object);
    *count = array->slots.size();
    return array->slots.data();
  }
  static WeakMember<AnyObject>* Weak(Base*) { return nullptr; }
  static const uint8_t* Payload(const Base*) { return nullptr; }
  static bool OwnedIntact(const Base*) { return true; }
  static constexpr TypeOps Make() {
    return TypeOps{Shape{internal::CellSizeFor(sizeof(ArrayObj)), -1, 0, 0, 1},
                   true,
                   &New,
                   nullptr,
                   &Strong,
                   &Weak,
                   &Payload,
                   &OwnedIntact};
  }
};

// Its constructor allocates its children (plain objects of one type, ids id+1, id+2)
// with NewRaw and stores them in its fields: no collection may start inside it
// ([alloc.ctor]), so a stress collection point that falls there waits for the next
// allocation, and allocations may pass the budget up to the heap limit. `n` packs the
// number of children (bit 0: one or two) and their type (the bits above).
class NestObj;
struct NestOps {
  static constexpr int kChildren = 2;
  static absl::StatusOr<AnyLocal> New(Heap& heap, uint32_t id, uint16_t type, size_t n);
  static Member<AnyObject>* Strong(Base* object, size_t* count);
  static WeakMember<AnyObject>* Weak(Base*) { return nullptr; }
  static const uint8_t* Payload(const Base*) { return nullptr; }
  static bool OwnedIntact(const Base*) { return true; }
  static constexpr TypeOps Make() {
    return TypeOps{Shape{16 + 8 * kChildren, kChildren, 0, 0, 0},
                   false,
                   &New,
                   nullptr,
                   &Strong,
                   &Weak,
                   &Payload,
                   &OwnedIntact};
  }
  // The plain types children may have: small and large.
  static uint16_t ChildType(size_t n) {
    const size_t c = (n >> 1) % (kNumSmall + kNumLarge);
    return static_cast<uint16_t>(c < kNumSmall ? 2 * c : kFirstLarge + 2 * (c - kNumSmall));
  }
  static int Children(size_t n) { return 1 + static_cast<int>(n & 1); }
};

template <size_t... I>
constexpr std::array<TypeOps, kNumTypes> MakeTypeTable(std::index_sequence<I...>) {
  return {ObjectOps<static_cast<int>(I)>::Make()..., ArrayOps::Make(), NestOps::Make()};
}
constexpr std::array<TypeOps, kNumTypes> kTypes =
    MakeTypeTable(std::make_index_sequence<kArrayType>());
static_assert(kTypes[0].shape.cell == 16 && kTypes[kFirstLarge - 1].shape.cell == 8192);
static_assert(kTypes[kFirstLarge].shape.cell > internal::kMaxSmallCell);

class NestObj : public Base {
 public:
  NestObj(Heap& heap, uint32_t id, uint16_t type, size_t n) : Base(id, type) {
    const uint16_t child = NestOps::ChildType(n);
    for (int i = 0; i < NestOps::Children(n); ++i) {
      strong[i] = Any(kTypes[child].new_raw(heap, id + 1 + i, child));
    }
  }
  void Trace(Visitor& visitor) const {
    for (const Member<AnyObject>& m : strong) visitor.Trace(m);
  }
  Member<AnyObject> strong[NestOps::kChildren];
};
static_assert(internal::CellSizeFor(sizeof(NestObj)) == NestOps::Make().shape.cell);

absl::StatusOr<AnyLocal> NestOps::New(Heap& heap, uint32_t id, uint16_t type, size_t n) {
  return TryNewAny<NestObj>(heap, heap, id, type, n);
}

Member<AnyObject>* NestOps::Strong(Base* object, size_t* count) {
  *count = kChildren;
  return static_cast<NestObj*>(object)->strong;
}

// ---------------------------------------------------------------------------------
// The input.

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  // A byte, or 0 once the input is used up (exhausted() then says so).
  uint8_t Byte() {
    if (pos_ >= size_) {
      exhausted_ = true;
      return 0;
    }
    return data_[pos_++];
  }
  uint16_t U16() {
    uint16_t lo = Byte();
    return static_cast<uint16_t>(lo | (Byte() << 8));
  }
  bool empty() const { return pos_ >= size_; }
  bool exhausted() const { return exhausted_; }
  size_t pos() const { return pos_; }
  const uint8_t* data() const { return data_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  bool exhausted_ = false;
};

struct Config {
  CollectorKind collector = CollectorKind::kMarkSweep;
  EphemeronAlgorithm ephemerons = EphemeronAlgorithm::kIndexed;
  bool destroy_with_roots = false;
  SchedulerKind scheduler = SchedulerKind::kAfterCollection;
  uint64_t seed = 1;
  double drop_probability = 0;
  uint32_t max_delay_turns = 0;
  int policy = 0;
  size_t heap_limit = size_t{1} << 20;
  uint64_t collect_every = 0;
  ReleaseStrategy release = ReleaseStrategy::kUnmap;
  int reservations = 1;  // the address-space budget, in reservations
  bool collect_on_exhaustion = true;
  size_t pool_capacity = 0;

  static Config Decode(Reader& in) {
    Config c;
    const std::vector<CollectorKind>& all = AllCollectors();
    c.collector = all[in.Byte() % all.size()];
    const uint8_t b1 = in.Byte();
    c.ephemerons = (b1 & 1) ? EphemeronAlgorithm::kNaiveFixpoint : EphemeronAlgorithm::kIndexed;
    c.destroy_with_roots = (b1 & 2) != 0;
    const std::vector<SchedulerKind>& kinds = AllSchedulerKinds();
    c.scheduler = kinds[in.Byte() % kinds.size()];
    const uint8_t b3 = in.Byte();
    c.seed = b3;
    static constexpr double kDrop[] = {0.0, 0.0, 0.25, 1.0};
    c.drop_probability = kDrop[b3 & 3];
    c.max_delay_turns = (b3 >> 2) & 3;
    const uint8_t b4 = in.Byte();
    c.policy = b4 & 3;
    c.heap_limit = (size_t{1} + ((b4 >> 2) & 3)) << 20;
    const uint8_t b5 = in.Byte();
    c.collect_every = (b5 & 0x80) ? (b5 & 0x3f) + 1 : 0;
    const uint8_t b6 = in.Byte();
    c.release = (b6 & 1) ? ReleaseStrategy::kPool : ReleaseStrategy::kUnmap;
    c.reservations = 1 + ((b6 >> 1) & 3);
    c.collect_on_exhaustion = (b6 & 8) == 0;
    c.pool_capacity = (b6 >> 4) & 3;
    return c;
  }

  // A small fixed budget, and a small external-memory budget so that linear memories
  // start collections by themselves ([alloc.external]).
  class SmallExternalPolicy final : public TriggerPolicy {
   public:
    std::string name() const override { return "fixed(256 KiB), external 128 KiB"; }
    size_t InitialBudget(size_t) override { return 256 << 10; }
    size_t NextBudget(const PolicyInput&) override { return 256 << 10; }
    size_t ExternalBudget(const PolicyInput&) override { return 128 << 10; }
  };

  std::shared_ptr<TriggerPolicy> MakePolicy() const {
    switch (policy) {
      case 1:
        return FixedBudgetPolicy::Create(32 << 10).value();
      case 2:
        return GrowthFactorPolicy::Create(1.5, 256 << 10).value();
      case 3:
        return std::make_shared<SmallExternalPolicy>();
      default:
        return nullptr;  // the default: growth factor 2, 4 MiB
    }
  }

  std::string ToString() const {
    static constexpr const char* kPolicies[] = {"default growth(2, 4 MiB)", "fixed(32 KiB)",
                                                "growth(1.5, 256 KiB)",
                                                "fixed(256 KiB), external 128 KiB"};
    return absl::StrFormat(
        "collector=%s ephemerons=%s end=%s scheduler=%s(seed %d, drop %g, delay %d) "
        "policy=%s heap_limit=%d MiB stress=every=%d,verify,zap linear_memory=%s,"
        "%d reservations,%s,pool %d",
        CollectorName(collector), ephemerons == EphemeronAlgorithm::kIndexed ? "indexed" : "naive",
        destroy_with_roots ? "destroy-with-roots" : "collect-all", SchedulerKindName(scheduler),
        seed, drop_probability, max_delay_turns, kPolicies[policy], heap_limit >> 20, collect_every,
        ReleaseStrategyName(release), reservations,
        collect_on_exhaustion ? "collect-on-exhaustion" : "no-collect", pool_capacity);
  }
};

// The operations, in opcode order (tests/fuzz/make_seeds.py uses the same numbers).
enum Op : uint8_t {
  kAlloc,               // type, destination, holder, n
  kAllocLarge,          // type, destination, holder, n
  kSetField,            // holder, field, target
  kLoadField,           // holder, field
  kSetWeak,             // holder, field, target
  kLoadWeak,            // holder, field, keep
  kOpenScope,           // escapable
  kCloseScope,          //
  kEscape,              // local
  kPersistentSet,       // slot, target
  kPersistentLoad,      // slot
  kWeakPersistentSet,   // slot, target
  kWeakPersistentLoad,  // slot, keep
  kWeakRefCreate,       // target
  kWeakRefDeref,        // ref, keep
  kClearKept,           //
  kTableNew,            // map or set
  kTableSet,            // table, key, value
  kTableGet,            // table, key, keep
  kTableDelete,         // table, key
  kPairCreate,          // key, value
  kPairRead,            // pair, keep
  kRegistryCreate,      //
  kRegister,            // registry, target, value mode, value, token mode, token, action
  kUnregister,          // registry, token
  kPump,                //
  kCollect,             //
  kTryNewAtLimit,       // count, type
  kMemoryCreate,        // initial, maximum
  kInstanceCreate,      // count, initial, maximum
  kMemoryGrow,          // memory, delta
  kViewCreate,          // memory, element, offset, length
  kViewAccess,          // view, index (2), value, write
  kMemoryAccess,        // memory, offset (2), length, seed, write
  kInstanceMemory,      // instance, index
  kResurrect,           // object
  kRetainingPath,       // object
  kCheckAll,            //
  kSetScheduler,        // kind, seed
  kExternalMemory,      // delta
  kKeep,                // object
  kNumOps
};

constexpr const char* kOpNames[kNumOps] = {"Alloc",
                                           "AllocLarge",
                                           "SetField",
                                           "LoadField",
                                           "SetWeak",
                                           "LoadWeak",
                                           "OpenScope",
                                           "CloseScope",
                                           "Escape",
                                           "PersistentSet",
                                           "PersistentLoad",
                                           "WeakPersistentSet",
                                           "WeakPersistentLoad",
                                           "WeakRefCreate",
                                           "WeakRefDeref",
                                           "ClearKept",
                                           "TableNew",
                                           "TableSet",
                                           "TableGet",
                                           "TableDelete",
                                           "PairCreate",
                                           "PairRead",
                                           "RegistryCreate",
                                           "Register",
                                           "Unregister",
                                           "Pump",
                                           "Collect",
                                           "TryNewAtLimit",
                                           "MemoryCreate",
                                           "InstanceCreate",
                                           "MemoryGrow",
                                           "ViewCreate",
                                           "ViewAccess",
                                           "MemoryAccess",
                                           "InstanceMemory",
                                           "Resurrect",
                                           "RetainingPath",
                                           "CheckAll",
                                           "SetScheduler",
                                           "ExternalMemory",
                                           "Keep"};

// ---------------------------------------------------------------------------------
// The model.

enum class Kind : uint8_t {
  kObject,
  kMap,
  kSet,
  kPair,
  kRef,
  kRegistry,
  kMemory,
  kView,
  kInstance
};

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kObject:
      return "object";
    case Kind::kMap:
      return "WeakMap";
    case Kind::kSet:
      return "WeakSet";
    case Kind::kPair:
      return "EphemeronPair";
    case Kind::kRef:
      return "WeakRef";
    case Kind::kRegistry:
      return "FinalizationRegistry";
    case Kind::kMemory:
      return "LinearMemory";
    case Kind::kView:
      return "TypedView";
    case Kind::kInstance:
      return "Instance";
  }
  return "?";
}

// One heap object as the model knows it. References name other nodes by index; -1 is
// null.
struct ModelNode {
  Kind kind = Kind::kObject;
  uint16_t type = 0;        // kObject: index into kTypes
  bool dead = true;         // collected (or never made); false while the object exists
  bool old = false;         // survived a collection: a minor collection keeps it
  bool destructor = false;  // kObject whose destructor reports to the census
  int destroyed = 0;        // destructor runs (kObject) or releases (kMemory) seen
  WeakPersistent<AnyObject> shadow;
  std::vector<int> strong;                  // kObject fields; kInstance memories
  std::vector<int> weak;                    // kObject weak fields
  std::map<int, int> entries;               // kMap: key -> value; kSet: key -> -1
  int a = -1, b = -1;                       // kPair key and value; kRef target; kView memory
  std::vector<int> regs;                    // kRegistry: indices into Program::regs_
  uint32_t queue_id = 0;                    // kRegistry: FinalizationRegistry::id()
  int registration = -1;                    // a held-value box: its registration
  uint32_t pages = 0, maximum = 0;          // kMemory
  uint64_t memory_id = 0;                   // kMemory: LinearMemory::id()
  std::map<size_t, uint8_t> written;        // kMemory: bytes written; the rest are zero
  size_t elem = 1, offset = 0, length = 0;  // kView
};

enum class RegState : uint8_t {
  kRegistered,
  kReady,
  kDelivered,
  kDropped,
  kUnregistered,
  kCancelled
};

const char* RegStateName(RegState s) {
  switch (s) {
    case RegState::kRegistered:
      return "registered";
    case RegState::kReady:
      return "ready (target dead)";
    case RegState::kDelivered:
      return "delivered";
    case RegState::kDropped:
      return "dropped";
    case RegState::kUnregistered:
      return "unregistered";
    case RegState::kCancelled:
      return "cancelled (registry died)";
  }
  return "?";
}

// A registration: the held value is a fresh box object (kBoxType) whose field 0 is the
// value the program chose, so that a delivery names its registration exactly.
struct Registration {
  int registry, target, box, token;
  uint8_t action;  // what the callback does (Program::RunCallbackAction)
  RegState state;
  bool live() const { return state == RegState::kRegistered || state == RegState::kReady; }
};

struct LocalEntry {
  AnyLocal handle;
  int node;   // -1: an escape slot not filled (yet)
  int scope;  // index in Program::scopes_
};

struct ScopeEntry {
  std::unique_ptr<HandleScope> plain;
  std::unique_ptr<EscapableHandleScope> escapable;
  int escape_slot = -1;  // index in locals_ of the slot it reserved
  bool escaped = false;
};

// What a finalization callback does (Program::RunCallbackAction), by action modulo this.
constexpr int kCallbackActions = 8;

struct OpRecord {
  uint64_t index;
  uint8_t op;
  size_t begin, end;  // input bytes of the operation
};

ProgramStats last_stats;
class Program;
Program* running = nullptr;  // for the destructor census

class Program final : private CollectionHook {
 public:
  Program(const Config& config, Reader& in) : config_(config), in_(in) {}

  void Run();
  void OnDestroyed(const Base* object);

 private:
  // --- Failure reports.
  [[noreturn]] void Fail(const char* format, ...) __attribute__((format(printf, 2, 3)));
  std::string DescribeOp(const OpRecord& r) const;

  // --- Model plumbing.
  ModelNode& node(int n) { return nodes_[n]; }
  int AddNode(Kind kind, void* object);
  int ReserveNode();
  void* Ptr(int n);
  template <typename T>
  T* As(int n) {
    return static_cast<T*>(Ptr(n));
  }
  Base* Obj(int n) { return As<Base>(n); }
  size_t StrongCount(int n) { return node(n).strong.size(); }
  bool CanPush() const { return locals_.size() < kMaxLocals; }
  bool CanAllocate() const { return live_.size() < kMaxLiveObjects; }
  void PushLocal(const AnyLocal& handle, int n);
  // Roots nodes (-1: none) in Locals of the open scope, as a gclab call that may
  // collect does with its arguments (WeakMap::Set, WeakSet::Add and Register collect
  // once when their storage finds no room), so that the model sees them reachable.
  void RootForCall(std::initializer_list<int> nodes) {
    for (int n : nodes) {
      if (n >= 0) PushLocal(AnyLocal(*heap_, Any(Ptr(n))), n);
    }
  }
  void OpenScope(bool escapable);
  void CloseScope();
  std::vector<int> Rooted();
  int Pick(uint8_t byte, bool (*filter)(const ModelNode&));
  int PickOrNull(uint8_t byte);
  // The nodes reachable from the roots; with `minor`, from the old nodes too (what a
  // minor collection keeps, CollectionKind::kMinor).
  std::vector<char> Reach(bool minor = false);
  size_t CellBytes(int n) const;
  std::vector<size_t> StoreCells(int n);

  // --- Checks.
  void AfterCollection() override;
  void TraceRoots(Visitor&) override { in_collection_ = true; }
  std::string_view name() const override { return "heap fuzzer oracle"; }
  void CheckNode(int n, bool full);
  void CheckObject(int n, Base* object);
  void CheckMemory(int n, bool full);
  void CheckHandles();
  void CheckCounters();
  void SyncKept(bool may_have_cleared);

  // --- Finalization.
  absl::Status OnDelivery(int registry, Local<Base> box);
  void OnDropped(const DroppedDelivery& d);
  void RunCallbackAction(int box, uint8_t action);
  void OnReleased(const ReleaseEvent& e);

  // --- Operations.
  void Step(uint8_t op);
  void DoAlloc(bool large);
  void DoSetField();
  void DoLoadField();
  void DoSetWeak();
  void DoLoadWeak();
  void DoEscape();
  template <typename Handles>
  void SetRootSlot(Handles& handles, std::array<int, kPersistentSlots>& nodes);
  void DoPersistentSet();
  void DoPersistentLoad();
  void DoWeakPersistentSet();
  void DoWeakPersistentLoad();
  void DoWeakRefCreate();
  void DoWeakRefDeref();
  void DoTableNew();
  void DoTableSet();
  bool NoRoomForStore(const absl::Status& s, const char* what);
  void DoTableGet();
  void DoTableDelete();
  void DoPairCreate();
  void DoPairRead();
  void DoRegistryCreate();
  void DoRegister();
  void DoUnregister();
  void DoPump();
  void DoTryNewAtLimit();
  void DoMemoryCreate();
  void DoInstanceCreate();
  void DoMemoryGrow();
  void DoViewCreate();
  void DoViewAccess();
  void DoMemoryAccess();
  void DoInstanceMemory();
  void DoResurrect();
  void DoRetainingPath();
  void DoCheckAll();
  void DoSetScheduler();
  void DoExternalMemory();
  std::unique_ptr<FinalizationScheduler> MakeScheduler(SchedulerKind kind, uint64_t seed) const;
  void Drain();
  void Finish();
  absl::StatusOr<AnyLocal> NewObject(int n, uint16_t type, size_t array_length);

  const Config config_;
  Reader& in_;
  std::unique_ptr<Heap> heap_;
  FinalizationQueue* queue_ = nullptr;

  std::deque<ModelNode> nodes_;  // a deque: callbacks add nodes while others are in use
  std::vector<int> live_;        // nodes not dead
  std::vector<Registration> regs_;
  std::vector<LocalEntry> locals_;
  std::vector<ScopeEntry> scopes_;
  std::array<Persistent<AnyObject>, kPersistentSlots> persistents_;
  std::array<int, kPersistentSlots> persistent_nodes_;
  std::array<WeakPersistent<AnyObject>, kPersistentSlots> weak_persistents_;
  std::array<int, kPersistentSlots> weak_persistent_nodes_;
  std::array<Persistent<AnyObject>, kPoolSlots> pool_;
  std::array<int, kPoolSlots> pool_nodes_;
  std::vector<int> kept_;                           // KeepDuringJob, in order, with repeats
  std::vector<int> callback_roots_;                 // Locals of a running finalization callback
  std::unordered_map<uint64_t, int> memory_nodes_;  // LinearMemory::id() -> node

  // Expected finalization statistics.
  uint64_t registered_ = 0, unregistered_ = 0, found_dead_ = 0, delivered_ = 0, dropped_ = 0,
           failed_ = 0;

  size_t external_ = 0;  // bytes the program reported with AdjustExternalMemory
  uint64_t collections_ = 0;
  size_t prev_live_bytes_ = 0;    // kept by the last collection (HeapStatistics)
  size_t prev_live_objects_ = 0;
  size_t inflight_ = 0;   // objects a running gclab call holds that the model cannot see yet
  int busy_memory_ = -1;  // a memory whose Grow is running: its size is in flux
  bool in_collection_ = false;
  bool in_pump_ = false;
  bool in_callback_ = false;
  bool tearing_down_ = false;
  uint64_t op_index_ = 0;
  uint8_t op_ = 0;
  size_t op_begin_ = 0;
  std::deque<OpRecord> recent_;
};

void OnDestroyed(const Base* object) {
  if (running != nullptr) running->OnDestroyed(object);
}

// ---------------------------------------------------------------------------------
// Failure reports.

std::string Program::DescribeOp(const OpRecord& r) const {
  std::string s =
      absl::StrFormat("#%d %s(", r.index, r.op < kNumOps ? kOpNames[r.op] : "end of program");
  for (size_t i = r.begin + 1; i < r.end; ++i) {
    absl::StrAppendFormat(&s, "%s%d", i == r.begin + 1 ? "" : ",", in_.data()[i]);
  }
  return s + ")";
}

void Program::Fail(const char* format, ...) {
  char what[2048];
  va_list args;
  va_start(args, format);
  std::vsnprintf(what, sizeof(what), format, args);
  va_end(args);
  OpRecord current{op_index_, op_, op_begin_, in_.pos()};
  std::fprintf(stderr,
               "\n=== gclab heap fuzzer: divergence ===\n"
               "operation: %s%s%s\n"
               "configuration: %s\n"
               "what differed: %s\n"
               "collections so far: %llu; objects in the model: %zu (%zu not collected)\n"
               "recent operations:\n",
               DescribeOp(current).c_str(), in_callback_ ? " [in a finalization callback]" : "",
               tearing_down_ ? " [destroying the heap]" : "", config_.ToString().c_str(), what,
               static_cast<unsigned long long>(collections_), nodes_.size(), live_.size());
  for (const OpRecord& r : recent_) std::fprintf(stderr, "  %s\n", DescribeOp(r).c_str());
  std::fflush(stderr);
  std::abort();
}

// ---------------------------------------------------------------------------------
// Model plumbing.

int Program::ReserveNode() {
  nodes_.emplace_back();
  return static_cast<int>(nodes_.size()) - 1;
}

int Program::AddNode(Kind kind, void* object) {
  const int n = ReserveNode();
  ModelNode& m = node(n);
  m.kind = kind;
  m.dead = false;
  // Old already if a collection ran inside the call that made it (a second allocation).
  m.old = !heap_->InYoungGeneration(object);
  m.shadow.Set(*heap_, Any(object));
  live_.push_back(n);
  ++last_stats.objects;
  return n;
}

void* Program::Ptr(int n) {
  if (n < 0) return nullptr;
  ModelNode& m = node(n);
  if (m.dead) Fail("model error: node %d (%s) was used after it died", n, KindName(m.kind));
  void* p = m.shadow.Get();
  if (p == nullptr) {
    Fail(
        "%s %d is gone (its WeakPersistent shadow is null) although no collection found it "
        "unreachable",
        KindName(m.kind), n);
  }
  return p;
}

void Program::PushLocal(const AnyLocal& handle, int n) {
  locals_.push_back(LocalEntry{handle, n, static_cast<int>(scopes_.size()) - 1});
}

void Program::OpenScope(bool escapable) {
  ScopeEntry s;
  if (escapable) {
    // The escape slot is pushed in the enclosing scope, then the new scope opens.
    s.escape_slot = static_cast<int>(locals_.size());
    locals_.push_back(LocalEntry{AnyLocal(), -1, static_cast<int>(scopes_.size()) - 1});
    s.escapable = std::make_unique<EscapableHandleScope>(*heap_);
  } else {
    s.plain = std::make_unique<HandleScope>(*heap_);
  }
  scopes_.push_back(std::move(s));
}

void Program::CloseScope() {
  const int top = static_cast<int>(scopes_.size()) - 1;
  while (!locals_.empty() && locals_.back().scope == top) locals_.pop_back();
  scopes_.pop_back();  // destroys the HandleScope
}

bool IsObjectWithFields(const ModelNode& m) { return m.kind == Kind::kObject && !m.strong.empty(); }
bool IsObjectWithWeak(const ModelNode& m) { return m.kind == Kind::kObject && !m.weak.empty(); }
bool IsAny(const ModelNode&) { return true; }
bool IsTable(const ModelNode& m) { return m.kind == Kind::kMap || m.kind == Kind::kSet; }
bool IsPair(const ModelNode& m) { return m.kind == Kind::kPair; }
bool IsRef(const ModelNode& m) { return m.kind == Kind::kRef; }
bool IsRegistry(const ModelNode& m) { return m.kind == Kind::kRegistry; }
bool IsMemory(const ModelNode& m) { return m.kind == Kind::kMemory; }
bool IsView(const ModelNode& m) { return m.kind == Kind::kView; }
bool IsInstance(const ModelNode& m) { return m.kind == Kind::kInstance; }

// Nodes held by the program's Locals and Persistents (not the callbacks' pool: a
// callback may replace a pool slot inside any allocation).
std::vector<int> Program::Rooted() {
  std::vector<int> out;
  for (const LocalEntry& l : locals_) {
    if (l.node >= 0) out.push_back(l.node);
  }
  for (int n : persistent_nodes_) {
    if (n >= 0) out.push_back(n);
  }
  return out;
}

int Program::Pick(uint8_t byte, bool (*filter)(const ModelNode&)) {
  std::vector<int> candidates;
  for (int n : Rooted()) {
    if (filter(node(n))) candidates.push_back(n);
  }
  if (candidates.empty()) return -1;
  return candidates[byte % candidates.size()];
}

// A rooted node, or null for about one byte value in eight.
int Program::PickOrNull(uint8_t byte) {
  if (byte % 8 == 7) return -1;
  return Pick(byte / 8 + byte, &IsAny);
}

// What a collection starting now must keep: strong references from the roots, and
// ephemeron values (table entries, pairs) whose key is reachable.
std::vector<char> Program::Reach(bool minor) {
  std::vector<char> r(nodes_.size(), 0);
  std::vector<int> work;
  std::unordered_map<int, std::vector<int>> waiting;  // key -> values it releases
  auto mark = [&](int n) {
    if (n < 0 || r[n]) return;
    if (node(n).dead) Fail("model error: dead node %d is referenced strongly", n);
    r[n] = 1;
    work.push_back(n);
  };
  auto ephemeron = [&](int key, int value) {
    if (key < 0 || value < 0) return;
    if (r[key]) {
      mark(value);
    } else {
      waiting[key].push_back(value);
    }
  };
  for (const LocalEntry& l : locals_) mark(l.node);
  for (int n : persistent_nodes_) mark(n);
  for (int n : pool_nodes_) mark(n);
  for (int n : kept_) mark(n);
  for (int n : callback_roots_) mark(n);
  if (minor) {
    for (int n : live_) {
      if (node(n).old) mark(n);
    }
  }
  while (!work.empty()) {
    const int n = work.back();
    work.pop_back();
    const ModelNode& m = node(n);
    switch (m.kind) {
      case Kind::kObject:
      case Kind::kInstance:
        for (int t : m.strong) mark(t);
        break;
      case Kind::kMap:
        for (const auto& [k, v] : m.entries) ephemeron(k, v);
        break;
      case Kind::kPair:
        ephemeron(m.a, m.b);
        break;
      case Kind::kRegistry:
        // Held values (boxes) of registrations not yet delivered, dropped or removed.
        for (int g : m.regs) {
          if (regs_[g].live()) mark(regs_[g].box);
        }
        break;
      case Kind::kView:
        mark(m.a);
        break;
      default:
        break;
    }
    if (auto it = waiting.find(n); it != waiting.end()) {
      std::vector<int> values = std::move(it->second);
      waiting.erase(it);
      for (int v : values) mark(v);
    }
  }
  return r;
}

// The bytes of node `n`'s cell ([alloc.limit]), before any size-class rounding.
size_t Program::CellBytes(int n) const {
  const ModelNode& m = nodes_[n];
  size_t object = 0;
  switch (m.kind) {
    case Kind::kObject:
      object = kTypes[m.type].shape.cell;
      break;
    case Kind::kMap:
      object = internal::CellSizeFor(sizeof(AnyMap));
      break;
    case Kind::kSet:
      object = internal::CellSizeFor(sizeof(AnySet));
      break;
    case Kind::kPair:
      object = internal::CellSizeFor(sizeof(AnyPair));
      break;
    case Kind::kRef:
      object = internal::CellSizeFor(sizeof(AnyRef));
      break;
    case Kind::kRegistry:
      object = internal::CellSizeFor(sizeof(FinalizationRegistry<Base>));
      break;
    case Kind::kMemory:
      object = internal::CellSizeFor(sizeof(LinearMemory));
      break;
    case Kind::kView:
      object = internal::CellSizeFor(m.elem == 1 ? sizeof(Uint8View) : sizeof(Uint32View));
      break;
    case Kind::kInstance:
      object = internal::CellSizeFor(sizeof(Instance));
      break;
  }
  return object;
}

// The cells of the heap objects that hold node `n`'s Members, if it is a container
// that keeps them apart (a HeapVector's store, gc/heap_vector.h; a registry's
// chunks). Their number and sizes depend on the container's history: it says.
std::vector<size_t> Program::StoreCells(int n) {
  switch (node(n).kind) {
    case Kind::kMap:
      if (size_t b = As<AnyMap>(n)->storage_bytes(); b != 0) return {b};
      return {};
    case Kind::kSet:
      if (size_t b = As<AnySet>(n)->storage_bytes(); b != 0) return {b};
      return {};
    case Kind::kRegistry:
      return As<FinalizationRegistry<Base>>(n)->StorageCells();
    case Kind::kInstance:
      if (size_t b = As<Instance>(n)->storage_bytes(); b != 0) return {b};
      return {};
    case Kind::kObject:
      if (node(n).type != kArrayType) return {};
      if (size_t b = As<ArrayObj>(n)->slots.storage_bytes(); b != 0) return {b};
      return {};
    default:
      return {};
  }
}

// The most a collector may count for a cell of `cell` bytes: rounded up to its size
// class (a collector with size-class pages counts the class; one without, the cell).
static size_t RoundedCell(size_t cell) {
  const int size_class = internal::SizeClassIndex(cell);
  return size_class < 0 ? cell : internal::kSizeClasses[size_class];
}

// ---------------------------------------------------------------------------------
// Checks.

// After every collection, before any finalization callback of it runs.
void Program::AfterCollection() {
  in_collection_ = false;
  ++collections_;
  ++last_stats.collections;
  const HeapStatistics& stats = heap_->stats();
  if (stats.collections != collections_) {
    Fail("the heap counts %llu collections, the oracle's hook saw %llu",
         static_cast<unsigned long long>(stats.collections),
         static_cast<unsigned long long>(collections_));
  }
  // A minor collection keeps every old object, reachable or not, and what they reach.
  const bool minor = stats.last_cycle.kind == CollectionKind::kMinor;
  const std::string cause = absl::StrFormat("%s, %s", CollectionKindName(stats.last_cycle.kind),
                                            CollectionReasonName(stats.last_cycle.reason));
  std::vector<char> r = Reach(minor);
  // An incremental cycle (CycleStatistics::incremental) may keep objects that died
  // while it marked, and what they reach (gc/DESIGN.md [incr.float]): for the model,
  // an unreachable node whose shadow still yields it floated. It stays alive, and
  // unreachable, until a later collection; the model treats it as kept from here on.
  // Objects the model does not see (a container's earlier stores) may float too, so the
  // byte and object counts have no upper bound after such a cycle.
  const bool floating = stats.last_cycle.incremental;
  if (floating) {
    for (int n : live_) {
      if (!r[n] && node(n).shadow.Get() != nullptr) r[n] = 1;
    }
  }
  size_t reached = 0, reached_bytes = 0, rounded_bytes = 0;
  // After a minor collection: at most what the last collection kept, plus the young
  // nodes reached and every store of a reached node (the model does not know which
  // stores are old; the old ones replaced since are kept too, and are in the first
  // term). The independent verifier (stress=verify) checks minor collections exactly.
  size_t minor_bytes_bound = prev_live_bytes_, minor_objects_bound = prev_live_objects_;
  for (int n : live_) {
    reached += r[n];
    if (r[n]) {
      reached_bytes += CellBytes(n);
      rounded_bytes += RoundedCell(CellBytes(n));
      if (!node(n).old) {
        minor_bytes_bound += RoundedCell(CellBytes(n));
        minor_objects_bound += 1;
      }
      // A container's store is a heap object of its own, whose size depends on the
      // container's history: the container says how big it is.
      for (size_t store : StoreCells(n)) {
        reached += 1;
        reached_bytes += store;
        rounded_bytes += RoundedCell(store);
        minor_bytes_bound += RoundedCell(store);
        minor_objects_bound += 1;
      }
    }
  }
  if (minor) {
    rounded_bytes = std::max(rounded_bytes, minor_bytes_bound);
  }
  // Asks no collector's name: every collector counts a cell at least as its size and at
  // most as its size class.
  if (floating) {
    rounded_bytes = SIZE_MAX;
    minor_objects_bound = SIZE_MAX / 2;
  }
  if (inflight_ == 0 && (stats.live_bytes < reached_bytes || stats.live_bytes > rounded_bytes)) {
    Fail(
        "collection %llu (%s) kept %zu bytes of objects; the model's reachable objects take "
        "%zu (%zu rounded up to size classes)",
        static_cast<unsigned long long>(collections_),
        cause.c_str(), stats.live_bytes,
        reached_bytes, rounded_bytes);
  }
  if (stats.live_objects < reached ||
      stats.live_objects > (minor || floating ? std::max(reached, minor_objects_bound)
                                              : reached) + inflight_) {
    Fail(
        "collection %llu (%s) kept %zu objects; the model reaches %zu (plus %zu held inside a "
        "running gclab call)",
        static_cast<unsigned long long>(collections_),
        cause.c_str(), stats.live_objects,
        reached, inflight_);
  }
  if (stats.bytes_allocated - stats.bytes_freed != stats.live_bytes) {
    Fail("after collection %llu bytes_allocated %llu - bytes_freed %llu != live_bytes %zu",
         static_cast<unsigned long long>(collections_),
         static_cast<unsigned long long>(stats.bytes_allocated),
         static_cast<unsigned long long>(stats.bytes_freed), stats.live_bytes);
  }
  auto died = [&](int n) { return n >= 0 && !node(n).dead && !r[n]; };

  // Finalization: the registries' weak callbacks ran in this collection.
  for (Registration& g : regs_) {
    if (!g.live()) continue;
    if (died(g.registry)) {
      g.state = RegState::kCancelled;
      continue;
    }
    if (g.state == RegState::kRegistered && died(g.target)) {
      g.state = RegState::kReady;
      ++found_dead_;
    }
    if (died(g.token)) g.token = -1;
  }
  // Weak references held by survivors: cleared when their target died.
  for (int n : live_) {
    if (!r[n]) continue;
    ModelNode& m = node(n);
    switch (m.kind) {
      case Kind::kObject:
        for (int& w : m.weak) {
          if (died(w)) w = -1;
        }
        break;
      case Kind::kMap:
      case Kind::kSet:
        for (auto it = m.entries.begin(); it != m.entries.end();) {
          if (died(it->first)) {
            it = m.entries.erase(it);
          } else {
            if (died(it->second)) Fail("model error: a live entry's value %d died", it->second);
            ++it;
          }
        }
        break;
      case Kind::kPair:
        if (died(m.a)) m.a = m.b = -1;
        break;
      case Kind::kRef:
        if (died(m.a)) m.a = -1;
        break;
      default:
        break;
    }
  }
  for (int& w : weak_persistent_nodes_) {
    if (died(w)) w = -1;
  }
  // The dead: reclaimed, destroyed once, their pages released.
  std::vector<int> survivors;
  for (int n : live_) {
    if (r[n]) {
      survivors.push_back(n);
      continue;
    }
    ModelNode& m = node(n);
    if (m.shadow.Get() != nullptr) {
      Fail("%s %d is unreachable in the model but survived collection %llu (%s)", KindName(m.kind),
           n, static_cast<unsigned long long>(collections_),
           cause.c_str());
    }
    if (m.destructor && m.destroyed != 1) {
      Fail("object %d (type %d) died in collection %llu but its destructor ran %d times", n, m.type,
           static_cast<unsigned long long>(collections_), m.destroyed);
    }
    if (m.kind == Kind::kMemory && m.destroyed != 1) {
      Fail("linear memory %d (id %llu) died in collection %llu but was released %d times", n,
           static_cast<unsigned long long>(m.memory_id),
           static_cast<unsigned long long>(collections_), m.destroyed);
    }
    m.dead = true;
    m.strong.clear();
    m.weak.clear();
    m.entries.clear();
    m.written.clear();
  }
  live_ = std::move(survivors);
  for (int n : live_) {
    node(n).old = true;
    CheckNode(n, /*full=*/false);
  }
  prev_live_bytes_ = stats.live_bytes;
  prev_live_objects_ = stats.live_objects;
}

void Program::CheckObject(int n, Base* o) {
  ModelNode& m = node(n);
  const TypeOps& t = kTypes[m.type];
  if (o->id() != static_cast<uint32_t>(n) || o->type() != m.type || !o->HeaderIntact()) {
    Fail("object %d (type %d) reads id %u type %u (header %s)", n, m.type, o->id(), o->type(),
         o->HeaderIntact() ? "consistent" : "corrupt");
  }
  if (const uint8_t* p = t.payload(o)) {
    // Every byte of small payloads; both ends and a stride of large ones.
    const size_t size = t.shape.bytes;
    for (size_t i = 0; i < size; i = (i < 64 || i + 64 >= size) ? i + 1 : i + 61) {
      if (p[i] != PatternByte(n, i)) {
        Fail("object %d (type %d, cell %zu): payload byte %zu is 0x%02x, expected 0x%02x", n,
             m.type, t.shape.cell, i, p[i], PatternByte(n, i));
      }
    }
  }
  if (!t.owned_intact(o)) Fail("object %d (type %d): its std::vector is corrupt", n, m.type);
  if (m.destroyed != 0) Fail("object %d (type %d) is alive but was destroyed", n, m.type);
  size_t count = 0;
  Member<AnyObject>* strong = t.strong(o, &count);
  if (count != m.strong.size()) {
    Fail("object %d has %zu strong fields, the model %zu", n, count, m.strong.size());
  }
  for (size_t i = 0; i < count; ++i) {
    void* want = Ptr(m.strong[i]);
    if (strong[i].Get() != static_cast<void*>(want)) {
      Fail("object %d field %zu is %p, expected %p (node %d)", n, i,
           static_cast<void*>(strong[i].Get()), want, m.strong[i]);
    }
  }
  WeakMember<AnyObject>* weak = t.weak(o);
  for (size_t i = 0; i < m.weak.size(); ++i) {
    void* want = Ptr(m.weak[i]);
    if (weak[i].Get() != static_cast<void*>(want)) {
      Fail("object %d weak field %zu is %p, expected %p (node %d%s)", n, i,
           static_cast<void*>(weak[i].Get()), want, m.weak[i], m.weak[i] < 0 ? ", cleared" : "");
    }
  }
}

void Program::CheckMemory(int n, bool full) {
  ModelNode& m = node(n);
  auto* memory = As<LinearMemory>(n);
  if (memory->pages() != m.pages || memory->maximum_pages() != m.maximum ||
      memory->id() != m.memory_id) {
    Fail("linear memory %d: %u pages of %u (id %llu), the model says %u of %u (id %llu)", n,
         memory->pages(), memory->maximum_pages(), static_cast<unsigned long long>(memory->id()),
         m.pages, m.maximum, static_cast<unsigned long long>(m.memory_id));
  }
  if (m.destroyed != 0) Fail("linear memory %d is alive but was released", n);
  const uint8_t* data = memory->data();
  const size_t length = memory->byte_length();
  for (const auto& [offset, value] : m.written) {
    if (offset < length && data[offset] != value) {
      Fail("linear memory %d byte %zu is 0x%02x, expected 0x%02x", n, offset, data[offset], value);
    }
  }
  const size_t step = full ? 1 : 4093;
  for (size_t i = 0; i < length; i += step) {
    if (data[i] != 0 && m.written.find(i) == m.written.end()) {
      Fail("linear memory %d byte %zu is 0x%02x; nothing was written there", n, i, data[i]);
    }
  }
}

void Program::CheckNode(int n, bool full) {
  ModelNode& m = node(n);
  void* p = Ptr(n);
  switch (m.kind) {
    case Kind::kObject:
      CheckObject(n, static_cast<Base*>(p));
      break;
    case Kind::kMap: {
      auto* map = static_cast<AnyMap*>(p);
      if (map->size() != m.entries.size()) {
        Fail("WeakMap %d has %zu entries, the model %zu", n, map->size(), m.entries.size());
      }
      for (const auto& [k, v] : m.entries) {
        AnyObject* got = map->Get(Any(Ptr(k)));
        if (static_cast<void*>(got) != Ptr(v) || !map->Has(Any(Ptr(k)))) {
          Fail("WeakMap %d: key %d maps to %p, expected %p (node %d)", n, k,
               static_cast<void*>(got), Ptr(v), v);
        }
      }
      break;
    }
    case Kind::kSet: {
      auto* set = static_cast<AnySet*>(p);
      if (set->size() != m.entries.size()) {
        Fail("WeakSet %d has %zu entries, the model %zu", n, set->size(), m.entries.size());
      }
      for (const auto& [k, v] : m.entries) {
        if (!set->Has(Any(Ptr(k)))) Fail("WeakSet %d lost key %d", n, k);
      }
      break;
    }
    case Kind::kPair: {
      auto* pair = static_cast<AnyPair*>(p);
      void* key = Ptr(m.a);
      void* value = m.a < 0 ? nullptr : Ptr(m.b);
      if (static_cast<void*>(pair->key()) != key || static_cast<void*>(pair->value()) != value) {
        Fail("EphemeronPair %d is (%p, %p), expected (%p, %p) (nodes %d, %d)", n,
             static_cast<void*>(pair->key()), static_cast<void*>(pair->value()), key, value, m.a,
             m.b);
      }
      break;
    }
    case Kind::kRef:
      break;  // Deref keeps its target: checked only by the WeakRefDeref operation
    case Kind::kRegistry: {
      auto* registry = static_cast<FinalizationRegistry<Base>*>(p);
      size_t registered = 0, ready = 0;
      for (int g : m.regs) {
        registered += regs_[g].state == RegState::kRegistered;
        ready += regs_[g].state == RegState::kReady;
      }
      if (registry->registered() != registered || registry->pending_delivery() != ready ||
          registry->id() != m.queue_id) {
        Fail(
            "FinalizationRegistry %d (id %u): %zu registered, %zu pending delivery; the model "
            "says %zu and %zu (id %u)",
            n, registry->id(), registry->registered(), registry->pending_delivery(), registered,
            ready, m.queue_id);
      }
      break;
    }
    case Kind::kMemory:
      if (n != busy_memory_) CheckMemory(n, full);
      break;
    case Kind::kView: {
      if (m.elem == 1) {
        auto* view = static_cast<Uint8View*>(p);
        if (static_cast<void*>(view->memory()) != Ptr(m.a) || view->length() != m.length ||
            view->byte_offset() != m.offset) {
          Fail("Uint8View %d is (%p, offset %zu, length %zu), expected (%p, %zu, %zu)", n,
               static_cast<void*>(view->memory()), view->byte_offset(), view->length(), Ptr(m.a),
               m.offset, m.length);
        }
      } else {
        auto* view = static_cast<Uint32View*>(p);
        if (static_cast<void*>(view->memory()) != Ptr(m.a) || view->length() != m.length ||
            view->byte_offset() != m.offset) {
          Fail("Uint32View %d is (%p, offset %zu, length %zu), expected (%p, %zu, %zu)", n,
               static_cast<void*>(view->memory()), view->byte_offset(), view->length(), Ptr(m.a),
               m.offset, m.length);
        }
      }
      break;
    }
    case Kind::kInstance: {
      auto* instance = static_cast<Instance*>(p);
      if (instance->memory_count() != m.strong.size()) {
        Fail("Instance %d has %zu memories, the model %zu", n, instance->memory_count(),
             m.strong.size());
      }
      for (size_t i = 0; i < m.strong.size(); ++i) {
        if (static_cast<void*>(instance->memory(i)) != Ptr(m.strong[i])) {
          Fail("Instance %d memory %zu is %p, expected %p", n, i,
               static_cast<void*>(instance->memory(i)), Ptr(m.strong[i]));
        }
      }
      break;
    }
  }
}

// Every handle points where its object is now.
void Program::CheckHandles() {
  for (const LocalEntry& l : locals_) {
    void* got = l.handle.IsEmpty() ? nullptr : static_cast<void*>(l.handle.Get());
    if (got != Ptr(l.node)) {
      Fail("a Local reads %p, expected node %d at %p", got, l.node, Ptr(l.node));
    }
  }
  for (int i = 0; i < kPersistentSlots; ++i) {
    if (static_cast<void*>(persistents_[i].Get()) != Ptr(persistent_nodes_[i])) {
      Fail("Persistent %d reads %p, expected node %d", i, static_cast<void*>(persistents_[i].Get()),
           persistent_nodes_[i]);
    }
    if (static_cast<void*>(weak_persistents_[i].Get()) != Ptr(weak_persistent_nodes_[i])) {
      Fail("WeakPersistent %d reads %p, expected node %d", i,
           static_cast<void*>(weak_persistents_[i].Get()), weak_persistent_nodes_[i]);
    }
  }
  for (int i = 0; i < kPoolSlots; ++i) {
    if (static_cast<void*>(pool_[i].Get()) != Ptr(pool_nodes_[i])) {
      Fail("pool Persistent %d reads %p, expected node %d", i, static_cast<void*>(pool_[i].Get()),
           pool_nodes_[i]);
    }
  }
  if (heap_->local_handle_count() != locals_.size()) {
    Fail("the heap has %zu Local slots, the program %zu", heap_->local_handle_count(),
         locals_.size());
  }
  size_t persistents = 0;
  for (int n : persistent_nodes_) persistents += n >= 0;
  for (int n : pool_nodes_) persistents += n >= 0;
  if (heap_->persistent_handle_count() != persistents) {
    Fail("the heap has %zu Persistents, the program %zu", heap_->persistent_handle_count(),
         persistents);
  }
  if (heap_->kept_object_count() != kept_.size()) {
    Fail("the heap keeps %zu objects for the job, the model %zu", heap_->kept_object_count(),
         kept_.size());
  }
}

void Program::CheckCounters() {
  // External memory: what the program reported plus the linear memories' pages.
  const size_t committed = LinearMemorySpace::For(*heap_).stats().committed_bytes;
  if (heap_->external_memory() != external_ + committed) {
    Fail(
        "the heap counts %zu bytes of external memory; the program reported %zu and linear "
        "memories hold %zu",
        heap_->external_memory(), external_, committed);
  }
  const FinalizationStatistics& s = queue_->stats();
  if (s.registered != registered_ || s.unregistered != unregistered_ ||
      s.found_dead != found_dead_ || s.delivered != delivered_ || s.dropped != dropped_ ||
      s.failed != failed_) {
    Fail(
        "finalization statistics: registered %llu unregistered %llu found_dead %llu delivered "
        "%llu dropped %llu failed %llu; the model: %llu %llu %llu %llu %llu %llu",
        static_cast<unsigned long long>(s.registered),
        static_cast<unsigned long long>(s.unregistered),
        static_cast<unsigned long long>(s.found_dead), static_cast<unsigned long long>(s.delivered),
        static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.failed),
        static_cast<unsigned long long>(registered_),
        static_cast<unsigned long long>(unregistered_),
        static_cast<unsigned long long>(found_dead_), static_cast<unsigned long long>(delivered_),
        static_cast<unsigned long long>(dropped_), static_cast<unsigned long long>(failed_));
  }
}

// Host jobs end with ClearKeptObjects (finalization/queue.h), also after jobs whose
// deliveries turned out stale, which the program never sees: so the model learns of a
// clear from the heap's count, which only a clear can bring to zero.
void Program::SyncKept(bool may_have_cleared) {
  const size_t real = heap_->kept_object_count();
  if (may_have_cleared && real == 0) {
    kept_.clear();
  } else if (real != kept_.size()) {
    Fail("the heap keeps %zu objects for the job, the model %zu", real, kept_.size());
  }
}

void Program::OnDestroyed(const Base* object) {
  const uint32_t n = object->id();
  if (n >= nodes_.size() || node(n).kind != Kind::kObject || !node(n).destructor) {
    Fail("a destructor ran for an object with id %u, which the model does not know", n);
  }
  ModelNode& m = node(n);
  if (!in_collection_ && !tearing_down_) {
    Fail("the destructor of object %u (type %d) ran outside any collection", n, m.type);
  }
  if (m.dead) Fail("the destructor of object %u (type %d) ran after it was collected", n, m.type);
  if (++m.destroyed != 1) Fail("the destructor of object %u (type %d) ran twice", n, m.type);
  if (!object->HeaderIntact() || object->type() != m.type) {
    Fail("object %u (type %d) was corrupt when its destructor ran", n, m.type);
  }
  if (const uint8_t* p = kTypes[m.type].payload(object)) {
    const size_t size = kTypes[m.type].shape.bytes;
    if (p[0] != PatternByte(n, 0) || p[size - 1] != PatternByte(n, size - 1)) {
      Fail("object %u (type %d): payload corrupt when its destructor ran", n, m.type);
    }
  }
}

void Program::OnReleased(const ReleaseEvent& e) {
  if (!in_collection_ && !tearing_down_) {
    Fail("linear memory id %llu was released outside any collection",
         static_cast<unsigned long long>(e.memory_id));
  }
  auto it = memory_nodes_.find(e.memory_id);
  if (it == memory_nodes_.end()) return;  // made by a failed Instance::Create, never seen
  ModelNode& m = node(it->second);
  if (m.dead) Fail("linear memory %d was released after it was collected", it->second);
  if (++m.destroyed != 1) Fail("linear memory %d was released twice", it->second);
}

// ---------------------------------------------------------------------------------
// Finalization callbacks.

absl::Status Program::OnDelivery(int registry, Local<Base> box) {
  if (in_callback_) Fail("a finalization callback ran inside another");
  if (box.Get() == nullptr) Fail("a finalization callback got a null held value");
  const uint32_t b = box->id();
  if (b >= nodes_.size() || node(b).registration < 0) {
    Fail("a finalization callback got object %u, which is no held value", b);
  }
  Registration& g = regs_[node(b).registration];
  if (g.registry != registry) {
    Fail("registry %d's callback got the held value of a registration in registry %d", registry,
         g.registry);
  }
  if (g.state != RegState::kReady) {
    Fail("registration %d (target %d) was delivered while %s", node(b).registration, g.target,
         RegStateName(g.state));
  }
  if (!node(g.target).dead)
    Fail("registration of target %d was delivered while it lives", g.target);
  SyncKept(in_pump_);
  g.state = RegState::kDelivered;
  ++delivered_;
  ++last_stats.deliveries;
  const uint8_t action = g.action;
  in_callback_ = true;
  callback_roots_.push_back(static_cast<int>(b));
  RunCallbackAction(static_cast<int>(b), action);
  callback_roots_.pop_back();
  in_callback_ = false;
  if (action % kCallbackActions == 4) {
    ++failed_;
    return absl::InternalError("heap fuzzer: a callback that fails");
  }
  return absl::OkStatus();
}

// Callbacks may do what a program does: allocate, store, collect, register, deref.
void Program::RunCallbackAction(int box, uint8_t action) {
  const int registry = regs_[node(box).registration].registry;
  switch (action % kCallbackActions) {
    case 1:    // a new object in the box's second field
    case 2: {  // a new object in a pool slot
      if (!CanAllocate()) return;
      HandleScope scope(*heap_);
      const int n = ReserveNode();
      const uint16_t type = static_cast<uint16_t>((action / 6) % kFirstLarge);
      absl::StatusOr<AnyLocal> made = NewObject(n, type, 0);
      if (!made.ok()) return;
      if (action % kCallbackActions == 1) {
        size_t count = 0;
        Member<AnyObject>* fields = kTypes[kBoxType].strong(Obj(box), &count);
        fields[1] = made->Get();
        node(box).strong[1] = n;
      } else {
        const int slot = (action / 6) % kPoolSlots;
        pool_[slot].Set(*heap_, made->Get());
        pool_nodes_[slot] = n;
      }
      return;
    }
    case 3:
      heap_->CollectGarbage();
      return;
    case 5: {  // release the value
      size_t count = 0;
      kTypes[kBoxType].strong(Obj(box), &count)[0] = nullptr;
      node(box).strong[0] = -1;
      return;
    }
    case 6: {  // register the held value itself as a target, in the same registry
      if (!CanAllocate()) return;
      HandleScope scope(*heap_);
      const int held = ReserveNode();
      if (!NewObject(held, kBoxType, 0).ok()) return;
      // The allocation may have collected: the registry may be gone (it need not be
      // reachable for its deliveries to run, only alive).
      if (node(registry).dead) return;
      absl::Status s =
          As<FinalizationRegistry<Base>>(registry)->Register(Ptr(box), Obj(held), Ptr(box));
      if (!s.ok()) Fail("Register from a callback failed: %s", s.ToString().c_str());
      const int g = static_cast<int>(regs_.size());
      // The new registration's callback does less, so that chains end.
      regs_.push_back(Registration{registry, box, held, box,
                                   static_cast<uint8_t>(action / kCallbackActions),
                                   RegState::kRegistered});
      node(registry).regs.push_back(g);
      node(held).registration = g;
      ++registered_;
      return;
    }
    case 7: {  // dereference a WeakRef the program holds
      std::vector<int> refs;
      for (int n : Rooted()) {
        if (node(n).kind == Kind::kRef) refs.push_back(n);
      }
      if (refs.empty()) return;
      const int ref = refs[(action / kCallbackActions) % refs.size()];
      const int want = node(ref).a;
      AnyObject* got = As<AnyRef>(ref)->Deref();
      if (static_cast<void*>(got) != Ptr(want)) {
        Fail("in a callback, WeakRef %d derefs to %p, expected node %d", ref,
             static_cast<void*>(got), want);
      }
      if (want >= 0) kept_.push_back(want);
      return;
    }
    default:
      return;
  }
}

void Program::OnDropped(const DroppedDelivery& d) {
  if (d.held_object == nullptr) Fail("a dropped delivery has no held value");
  const uint32_t b = static_cast<const Base*>(d.held_object)->id();
  if (b >= nodes_.size() || node(b).registration < 0) {
    Fail("a dropped delivery holds object %u, which is no held value", b);
  }
  Registration& g = regs_[node(b).registration];
  if (g.state != RegState::kReady) {
    Fail("registration %d was dropped while %s", node(b).registration, RegStateName(g.state));
  }
  if (node(g.registry).queue_id != d.delivery.registry) {
    Fail("a dropped delivery names registry id %u, the model %u", d.delivery.registry,
         node(g.registry).queue_id);
  }
  g.state = RegState::kDropped;
  ++dropped_;
}

// ---------------------------------------------------------------------------------
// Operations.

// A fuzzer object for node `n` (reserved by the caller, so that objects made by
// callbacks during the allocation get other ids).
absl::StatusOr<AnyLocal> Program::NewObject(int n, uint16_t type, size_t array_length) {
  const TypeOps& t = kTypes[type];
  const int children = type == kNestType ? NestOps::Children(array_length) : 0;
  for (int i = 0; i < children; ++i) {
    if (ReserveNode() != n + 1 + i) Fail("model error: a nest's children get other ids");
  }
  absl::StatusOr<AnyLocal> made = absl::UnknownError("not run");
  try {
    made = t.try_new(*heap_, static_cast<uint32_t>(n), type, array_length);
  } catch (const OutOfMemory&) {
    // A nest's constructor could not allocate a child (NewRaw), or an array's its
    // slots' store: the object was never made, and what was made before is garbage.
    return absl::ResourceExhaustedError("a nest's child or an array's store did not fit");
  }
  if (!made.ok()) {
    if (made.status().code() != absl::StatusCode::kResourceExhausted) {
      Fail("TryNew of a %zu-byte cell failed with %s", t.shape.cell,
           made.status().ToString().c_str());
    }
    // A heap that moves objects compacts them: it refuses only what passes the limit.
    const HeapStatistics& stats = heap_->stats();
    const uint64_t used = stats.bytes_allocated - stats.bytes_freed;
    if (heap_->capabilities().compacts && used + t.shape.cell <= config_.heap_limit) {
      Fail("TryNew of a %zu-byte cell failed with %llu bytes in use under a limit of %zu: %s",
           t.shape.cell, static_cast<unsigned long long>(used), config_.heap_limit,
           made.status().ToString().c_str());
    }
    return made.status();
  }
  ModelNode& m = node(n);
  m.kind = Kind::kObject;
  m.type = type;
  m.dead = false;
  m.old = !heap_->InYoungGeneration(made->Get());
  m.destructor = t.destructor;
  m.shadow.Set(*heap_, made->Get());
  size_t count = 0;
  t.strong(static_cast<Base*>(static_cast<void*>(made->Get())), &count);
  m.strong.assign(count, -1);
  m.weak.assign(static_cast<size_t>(t.shape.weak), -1);
  live_.push_back(n);
  ++last_stats.objects;
  for (int i = 0; i < children; ++i) {
    // The children, made in the constructor, are known only through the nest's fields.
    const int c = n + 1 + i;
    const uint16_t child_type = NestOps::ChildType(array_length);
    Member<AnyObject>* fields =
        t.strong(static_cast<Base*>(static_cast<void*>(made->Get())), &count);
    ModelNode& cm = node(c);
    cm.kind = Kind::kObject;
    cm.type = child_type;
    cm.dead = false;
    cm.old = !heap_->InYoungGeneration(fields[i].Get());
    cm.shadow.Set(*heap_, fields[i].Get());
    size_t child_fields = 0;
    kTypes[child_type].strong(static_cast<Base*>(static_cast<void*>(fields[i].Get())),
                              &child_fields);
    cm.strong.assign(child_fields, -1);
    cm.weak.assign(static_cast<size_t>(kTypes[child_type].shape.weak), -1);
    live_.push_back(c);
    ++last_stats.objects;
    node(n).strong[i] = c;
  }
  return made;
}

void Program::DoAlloc(bool large) {
  const uint8_t type_byte = in_.Byte(), dest = in_.Byte() % 3, holder_byte = in_.Byte(),
                n_byte = in_.Byte();
  if (in_.exhausted() || !CanAllocate() || !CanPush()) return;
  const uint16_t type = large ? static_cast<uint16_t>(kFirstLarge + type_byte % (2 * kNumLarge))
                              : static_cast<uint16_t>(type_byte % kNumTypes);
  const int holder = dest == 2 ? Pick(holder_byte, &IsObjectWithFields) : -1;
  if (dest == 2 && holder < 0) return;
  if (dest != 0) OpenScope(false);  // the new object dies with it, or lives in `holder`
  const int n = ReserveNode();
  absl::StatusOr<AnyLocal> made = NewObject(n, type, type == kNestType ? n_byte : n_byte % 9);
  if (made.ok()) {
    PushLocal(*made, n);
    if (dest == 2) {
      const size_t field = n_byte % StrongCount(holder);
      size_t count = 0;
      kTypes[node(holder).type].strong(Obj(holder), &count)[field] = Any(Ptr(n));
      node(holder).strong[field] = n;
    }
  }
  if (dest != 0) CloseScope();
}

void Program::DoSetField() {
  const uint8_t h = in_.Byte(), f = in_.Byte(), t = in_.Byte();
  if (in_.exhausted()) return;
  const int holder = Pick(h, &IsObjectWithFields);
  if (holder < 0) return;
  const int target = PickOrNull(t);
  const size_t field = f % StrongCount(holder);
  size_t count = 0;
  kTypes[node(holder).type].strong(Obj(holder), &count)[field] = Any(Ptr(target));
  node(holder).strong[field] = target;
}

void Program::DoLoadField() {
  const uint8_t h = in_.Byte(), f = in_.Byte();
  if (in_.exhausted()) return;
  const int holder = Pick(h, &IsObjectWithFields);
  if (holder < 0) return;
  const size_t field = f % StrongCount(holder);
  size_t count = 0;
  AnyObject* got = kTypes[node(holder).type].strong(Obj(holder), &count)[field].Get();
  const int want = node(holder).strong[field];
  if (static_cast<void*>(got) != Ptr(want)) {
    Fail("object %d field %zu reads %p, expected node %d", holder, field, static_cast<void*>(got),
         want);
  }
  if (want >= 0 && CanPush()) PushLocal(AnyLocal(*heap_, got), want);
}

void Program::DoSetWeak() {
  const uint8_t h = in_.Byte(), f = in_.Byte(), t = in_.Byte();
  if (in_.exhausted()) return;
  const int holder = Pick(h, &IsObjectWithWeak);
  if (holder < 0) return;
  const int target = PickOrNull(t);
  const size_t field = f % node(holder).weak.size();
  kTypes[node(holder).type].weak(Obj(holder))[field] = Any(Ptr(target));
  node(holder).weak[field] = target;
}

void Program::DoLoadWeak() {
  const uint8_t h = in_.Byte(), f = in_.Byte(), keep = in_.Byte();
  if (in_.exhausted()) return;
  const int holder = Pick(h, &IsObjectWithWeak);
  if (holder < 0) return;
  const size_t field = f % node(holder).weak.size();
  AnyObject* got = kTypes[node(holder).type].weak(Obj(holder))[field].Get();
  const int want = node(holder).weak[field];
  if (static_cast<void*>(got) != Ptr(want)) {
    Fail("object %d weak field %zu reads %p, expected node %d", holder, field,
         static_cast<void*>(got), want);
  }
  // Reading a weak field of a not yet collected, unreachable target makes it reachable.
  if (want >= 0 && (keep & 1) && CanPush()) PushLocal(AnyLocal(*heap_, got), want);
}

void Program::DoEscape() {
  const uint8_t l = in_.Byte();
  if (in_.exhausted()) return;
  ScopeEntry& s = scopes_.back();
  if (!s.escapable || s.escaped) return;
  std::vector<int> candidates;
  for (size_t i = 0; i < locals_.size(); ++i) {
    if (locals_[i].node >= 0) candidates.push_back(static_cast<int>(i));
  }
  if (candidates.empty()) return;
  const LocalEntry& from = locals_[candidates[l % candidates.size()]];
  AnyLocal escaped = s.escapable->Escape(from.handle);
  LocalEntry& slot = locals_[s.escape_slot];
  slot.handle = escaped;
  slot.node = from.node;
  s.escaped = true;
}

// Points a Persistent or WeakPersistent slot at a node the input picks, or clears it.
template <typename Handles>
void Program::SetRootSlot(Handles& handles, std::array<int, kPersistentSlots>& nodes) {
  const uint8_t slot_byte = in_.Byte(), t = in_.Byte();
  if (in_.exhausted()) return;
  const int slot = slot_byte % kPersistentSlots;
  const int target = PickOrNull(t);
  if (target < 0) {
    handles[slot].Reset();
  } else {
    handles[slot].Set(*heap_, Any(Ptr(target)));
  }
  nodes[slot] = target;
}

void Program::DoPersistentSet() { SetRootSlot(persistents_, persistent_nodes_); }

void Program::DoPersistentLoad() {
  const uint8_t slot_byte = in_.Byte();
  if (in_.exhausted()) return;
  const int slot = slot_byte % (kPersistentSlots + kPoolSlots);
  const bool pool = slot >= kPersistentSlots;
  const int n = pool ? pool_nodes_[slot - kPersistentSlots] : persistent_nodes_[slot];
  AnyObject* got = pool ? pool_[slot - kPersistentSlots].Get() : persistents_[slot].Get();
  if (static_cast<void*>(got) != Ptr(n))
    Fail("Persistent %d reads %p, expected node %d", slot, static_cast<void*>(got), n);
  if (n >= 0 && CanPush()) PushLocal(AnyLocal(*heap_, got), n);
}

void Program::DoWeakPersistentSet() { SetRootSlot(weak_persistents_, weak_persistent_nodes_); }

void Program::DoWeakPersistentLoad() {
  const uint8_t slot_byte = in_.Byte(), keep = in_.Byte();
  if (in_.exhausted()) return;
  const int slot = slot_byte % kPersistentSlots;
  const int n = weak_persistent_nodes_[slot];
  AnyObject* got = weak_persistents_[slot].Get();
  if (static_cast<void*>(got) != Ptr(n)) {
    Fail("WeakPersistent %d reads %p, expected node %d", slot, static_cast<void*>(got), n);
  }
  if (n >= 0 && (keep & 1) && CanPush()) PushLocal(AnyLocal(*heap_, got), n);
}

void Program::DoWeakRefCreate() {
  const uint8_t t = in_.Byte();
  if (in_.exhausted() || !CanPush() || !CanAllocate()) return;
  const int target = Pick(t, &IsAny);
  if (target < 0) return;
  // Create returns its WeakRef through an EscapableHandleScope, whose slot in this
  // scope stays (null) if the allocation fails.
  const int slot = static_cast<int>(locals_.size());
  PushLocal(AnyLocal(), -1);
  absl::StatusOr<Local<AnyRef>> ref = absl::UnknownError("not run");
  try {
    ref = AnyRef::Create(*heap_, Any(Ptr(target)));
  } catch (const OutOfMemory&) {
    return;
  }
  if (!ref.ok())
    Fail("WeakRef::Create of a live target failed: %s", ref.status().ToString().c_str());
  const int n = AddNode(Kind::kRef, ref->Get());
  node(n).a = target;
  locals_[slot].handle = Erase(*ref);
  locals_[slot].node = n;
  kept_.push_back(target);  // creation keeps the target for the job
}

void Program::DoWeakRefDeref() {
  const uint8_t r = in_.Byte(), keep = in_.Byte();
  if (in_.exhausted()) return;
  const int n = Pick(r, &IsRef);
  if (n < 0) return;
  const int want = node(n).a;
  AnyObject* got = As<AnyRef>(n)->Deref();
  if (static_cast<void*>(got) != Ptr(want)) {
    Fail("WeakRef %d derefs to %p, expected node %d", n, static_cast<void*>(got), want);
  }
  if (want < 0) return;
  kept_.push_back(want);  // a non-null Deref keeps its target for the job
  if ((keep & 1) && CanPush()) PushLocal(AnyLocal(*heap_, got), want);
}

void Program::DoTableNew() {
  const uint8_t kind = in_.Byte();
  if (in_.exhausted() || !CanPush() || !CanAllocate()) return;
  try {
    if (kind & 1) {
      Local<AnySet> set = AnySet::New(*heap_);
      PushLocal(Erase(set), AddNode(Kind::kSet, set.Get()));
    } else {
      Local<AnyMap> map = AnyMap::New(*heap_);
      PushLocal(Erase(map), AddNode(Kind::kMap, map.Get()));
    }
  } catch (const OutOfMemory&) {
  }
}

void Program::DoTableSet() {
  const uint8_t t = in_.Byte(), k = in_.Byte(), v = in_.Byte();
  if (in_.exhausted()) return;
  const int table = Pick(t, &IsTable);
  const int key = Pick(k, &IsAny);
  if (table < 0 || key < 0) return;
  if (!CanPush()) return;
  OpenScope(false);
  if (node(table).kind == Kind::kMap) {
    const int value = PickOrNull(v);
    RootForCall({table, key, value});
    absl::Status s = As<AnyMap>(table)->Set(Any(Ptr(key)), Any(Ptr(value)));
    if (s.ok()) {
      node(table).entries[key] = value;
    } else if (!NoRoomForStore(s, "WeakMap::Set")) {
      Fail("WeakMap::Set with live objects failed: %s", s.ToString().c_str());
    }
  } else {
    RootForCall({table, key});
    absl::Status s = As<AnySet>(table)->Add(Any(Ptr(key)));
    if (s.ok()) {
      node(table).entries[key] = -1;
    } else if (!NoRoomForStore(s, "WeakSet::Add")) {
      Fail("WeakSet::Add with a live key failed: %s", s.ToString().c_str());
    }
  }
  CloseScope();
}

// A container's call that failed with ResourceExhausted because its storage (a heap
// object) found no room even after the collection it made: allowed only where the
// heap is nearly full. A compacting heap must really be full.
bool Program::NoRoomForStore(const absl::Status& s, const char* what) {
  if (s.code() != absl::StatusCode::kResourceExhausted) return false;
  if (!heap_->capabilities().compacts) return true;  // pages pinned by other size classes
  const HeapStatistics& stats = heap_->stats();
  const uint64_t used = stats.bytes_allocated - stats.bytes_freed;
  // The largest store or chunk a fuzzer container grows by.
  if (used + (size_t{64} << 10) <= config_.heap_limit) {
    Fail("%s found no room with %llu bytes in use under a limit of %zu: %s", what,
         static_cast<unsigned long long>(used), config_.heap_limit, s.ToString().c_str());
  }
  return true;
}

void Program::DoTableGet() {
  const uint8_t t = in_.Byte(), k = in_.Byte(), keep = in_.Byte();
  if (in_.exhausted()) return;
  const int table = Pick(t, &IsTable);
  const int key = Pick(k, &IsAny);
  if (table < 0 || key < 0) return;
  const auto it = node(table).entries.find(key);
  const bool has = it != node(table).entries.end();
  if (node(table).kind == Kind::kMap) {
    auto* map = As<AnyMap>(table);
    const int value = has ? it->second : -1;
    AnyObject* got = map->Get(Any(Ptr(key)));
    if (map->Has(Any(Ptr(key))) != has || static_cast<void*>(got) != Ptr(value)) {
      Fail("WeakMap %d: Has(%d) is %d, Get is %p; the model says %d and node %d", table, key,
           map->Has(Any(Ptr(key))), static_cast<void*>(got), has, value);
    }
    if (value >= 0 && (keep & 1) && CanPush()) PushLocal(AnyLocal(*heap_, got), value);
  } else if (As<AnySet>(table)->Has(Any(Ptr(key))) != has) {
    Fail("WeakSet %d: Has(%d) is %d, the model says %d", table, key, !has, has);
  }
}

void Program::DoTableDelete() {
  const uint8_t t = in_.Byte(), k = in_.Byte();
  if (in_.exhausted()) return;
  const int table = Pick(t, &IsTable);
  const int key = Pick(k, &IsAny);
  if (table < 0 || key < 0) return;
  const bool has = node(table).entries.erase(key) > 0;
  const bool deleted = node(table).kind == Kind::kMap ? As<AnyMap>(table)->Delete(Any(Ptr(key)))
                                                      : As<AnySet>(table)->Delete(Any(Ptr(key)));
  if (deleted != has)
    Fail("%s %d: Delete(%d) is %d, the model says %d", KindName(node(table).kind), table, key,
         deleted, has);
}

void Program::DoPairCreate() {
  const uint8_t k = in_.Byte(), v = in_.Byte();
  if (in_.exhausted() || !CanPush() || !CanAllocate()) return;
  const int key = Pick(k, &IsAny);
  if (key < 0) return;
  const int value = PickOrNull(v);
  // The escape slot is in the program's scope; the argument Locals in the inner one
  // root objects the model roots already.
  const int slot = static_cast<int>(locals_.size());
  PushLocal(AnyLocal(), -1);
  {
    EscapableHandleScope scope(*heap_);
    AnyLocal key_local(*heap_, Any(Ptr(key)));
    AnyLocal value_local = value < 0 ? AnyLocal() : AnyLocal(*heap_, Any(Ptr(value)));
    absl::StatusOr<Local<AnyPair>> pair = absl::UnknownError("not run");
    try {
      pair = AnyPair::Create(*heap_, key_local, value_local);
    } catch (const OutOfMemory&) {
      return;
    }
    if (!pair.ok()) Fail("EphemeronPair::Create failed: %s", pair.status().ToString().c_str());
    const int n = AddNode(Kind::kPair, pair->Get());
    node(n).a = key;
    node(n).b = value;
    locals_[slot].handle = Erase(scope.Escape(*pair));
    locals_[slot].node = n;
  }
}

void Program::DoPairRead() {
  const uint8_t p = in_.Byte(), keep = in_.Byte();
  if (in_.exhausted()) return;
  const int n = Pick(p, &IsPair);
  if (n < 0) return;
  auto* pair = As<AnyPair>(n);
  const ModelNode& m = node(n);
  void* key = Ptr(m.a);
  void* value = m.a < 0 ? nullptr : Ptr(m.b);
  if (static_cast<void*>(pair->key()) != key || static_cast<void*>(pair->value()) != value) {
    Fail("EphemeronPair %d reads (%p, %p), expected nodes (%d, %d)", n,
         static_cast<void*>(pair->key()), static_cast<void*>(pair->value()), m.a, m.b);
  }
  // The value of a pair whose key is unreachable but not yet collected is still there.
  if (value != nullptr && (keep & 1) && CanPush()) PushLocal(AnyLocal(*heap_, Any(value)), m.b);
}

void Program::DoRegistryCreate() {
  if (!CanPush() || !CanAllocate()) return;
  // The node's index is known only after the allocation (a callback may add nodes).
  auto registry_node = std::make_shared<int>(-1);
  try {
    Local<FinalizationRegistry<Base>> registry = FinalizationRegistry<Base>::Create(
        *heap_, [this, registry_node](Local<Base> box) { return OnDelivery(*registry_node, box); });
    *registry_node = AddNode(Kind::kRegistry, registry.Get());
    node(*registry_node).queue_id = registry->id();
    PushLocal(Erase(registry), *registry_node);
  } catch (const OutOfMemory&) {
  }
}

void Program::DoRegister() {
  const uint8_t r = in_.Byte(), t = in_.Byte(), value_mode = in_.Byte(), v = in_.Byte(),
                token_mode = in_.Byte(), k = in_.Byte(), action = in_.Byte();
  if (in_.exhausted() || !CanPush() || !CanAllocate()) return;
  const int registry = Pick(r, &IsRegistry);
  const int target = Pick(t, &IsAny);
  if (registry < 0 || target < 0) return;
  // The held value: a fresh box whose first field holds the value, which may be null,
  // any object, or the target itself (which then lives as long as the registration).
  int value = -1;
  if (value_mode % 3 == 1) value = Pick(v, &IsAny);
  if (value_mode % 3 == 2) value = target;
  int token = -1;
  if (token_mode % 3 == 1) token = target;
  if (token_mode % 3 == 2) token = Pick(k, &IsAny);
  const int box = ReserveNode();
  absl::StatusOr<AnyLocal> made = NewObject(box, kBoxType, 0);
  if (!made.ok()) return;
  PushLocal(*made, box);
  size_t count = 0;
  kTypes[kBoxType].strong(Obj(box), &count)[0] = Any(Ptr(value));
  node(box).strong[0] = value;
  OpenScope(false);
  RootForCall({registry, target, token});
  absl::Status s =
      As<FinalizationRegistry<Base>>(registry)->Register(Ptr(target), Obj(box), Ptr(token));
  CloseScope();
  if (!s.ok()) {
    if (!NoRoomForStore(s, "FinalizationRegistry::Register")) {
      Fail("FinalizationRegistry::Register failed: %s", s.ToString().c_str());
    }
    return;
  }
  const int g = static_cast<int>(regs_.size());
  regs_.push_back(Registration{registry, target, box, token, action, RegState::kRegistered});
  node(registry).regs.push_back(g);
  node(box).registration = g;
  ++registered_;
}

void Program::DoUnregister() {
  const uint8_t r = in_.Byte(), k = in_.Byte();
  if (in_.exhausted()) return;
  const int registry = Pick(r, &IsRegistry);
  const int token = Pick(k, &IsAny);
  if (registry < 0 || token < 0) return;
  bool any = false;
  for (int g : node(registry).regs) {
    Registration& reg = regs_[g];
    if (reg.live() && reg.token == token) {
      reg.state = RegState::kUnregistered;
      ++unregistered_;
      any = true;
    }
  }
  absl::StatusOr<bool> removed = As<FinalizationRegistry<Base>>(registry)->Unregister(Ptr(token));
  if (!removed.ok() || *removed != any) {
    Fail("FinalizationRegistry %d: Unregister(%d) is %s, the model says %d", registry, token,
         removed.ok() ? (*removed ? "true" : "false") : removed.status().ToString().c_str(), any);
  }
}

void Program::DoPump() {
  const uint64_t before = delivered_;
  in_pump_ = true;
  const size_t ran = queue_->PumpHostJobs();
  in_pump_ = false;
  SyncKept(true);
  if (ran != delivered_ - before) {
    Fail("PumpHostJobs ran %zu callbacks, the program saw %llu", ran,
         static_cast<unsigned long long>(delivered_ - before));
  }
}

// Large objects until the heap limit refuses one: TryNew must succeed or answer
// ResourceExhausted, and the heap must stay usable.
void Program::DoTryNewAtLimit() {
  const uint8_t count = in_.Byte(), type_byte = in_.Byte();
  if (in_.exhausted()) return;
  OpenScope(false);
  for (int i = 0; i < 1 + count % 8 && CanAllocate(); ++i) {
    const uint16_t type = static_cast<uint16_t>(kFirstLarge + (type_byte + i) % (2 * kNumLarge));
    const int n = ReserveNode();
    absl::StatusOr<AnyLocal> made = NewObject(n, type, 0);
    if (!made.ok()) break;
    PushLocal(*made, n);  // may pass kMaxLocals by a few, until the scope closes
  }
  CloseScope();
}

void Program::DoMemoryCreate() {
  const uint8_t initial_byte = in_.Byte(), maximum_byte = in_.Byte();
  if (in_.exhausted() || !CanPush() || !CanAllocate()) return;
  MemoryDescriptor d;
  d.initial_pages = initial_byte % 3;
  if (maximum_byte % 7 != 0) d.maximum_pages = maximum_byte % 7 - 1;
  const uint32_t maximum = d.maximum_pages.value_or(kMemoryReservationPages);
  const bool valid = maximum <= kMemoryReservationPages && d.initial_pages <= maximum;
  const uint64_t failed_before = LinearMemorySpace::For(*heap_).stats().failed_reservations;
  absl::StatusOr<Local<LinearMemory>> memory = LinearMemory::Create(*heap_, d);
  if (!valid) {
    if (memory.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("LinearMemory::Create(%u, max %u) should be InvalidArgument, got %s", d.initial_pages,
           maximum, memory.status().ToString().c_str());
    }
    return;
  }
  if (!memory.ok()) {
    if (memory.status().code() != absl::StatusCode::kResourceExhausted) {
      Fail("LinearMemory::Create failed: %s", memory.status().ToString().c_str());
    }
    // Either the heap had no room for the object (the heap limit), or no reservation
    // could be had: then the budget is spent by live memories, none of them pooled.
    const LinearMemoryStatistics& s = LinearMemorySpace::For(*heap_).stats();
    const LinearMemoryOptions& o = LinearMemorySpace::For(*heap_).options();
    if (s.failed_reservations != failed_before &&
        (s.reserved_bytes + o.reservation_bytes + o.guard_bytes <= o.address_space_budget ||
         s.pooled != 0)) {
      Fail(
          "LinearMemory::Create found no reservation with %zu of %zu bytes reserved (%zu "
          "pooled): %s",
          s.reserved_bytes, o.address_space_budget, s.pooled, memory.status().ToString().c_str());
    }
    return;
  }
  const int n = AddNode(Kind::kMemory, memory->Get());
  ModelNode& m = node(n);
  m.pages = d.initial_pages;
  m.maximum = maximum;
  m.memory_id = (*memory)->id();
  memory_nodes_[m.memory_id] = n;
  PushLocal(Erase(*memory), n);
  CheckMemory(n, /*full=*/true);  // new memories (pooled ones too) are zero
}

void Program::DoInstanceCreate() {
  const uint8_t count = in_.Byte(), initial = in_.Byte(), maximum = in_.Byte();
  if (in_.exhausted() || !CanPush() || !CanAllocate()) return;
  std::vector<MemoryDescriptor> descriptors(1 + count % 2);
  for (size_t i = 0; i < descriptors.size(); ++i) {
    descriptors[i].initial_pages = (initial >> (2 * i)) % 3;
    descriptors[i].maximum_pages = 2 + (maximum >> (2 * i)) % 3;
  }
  // Create returns through an EscapableHandleScope: its slot in this scope stays
  // (null) when the instance cannot be made.
  const int slot = static_cast<int>(locals_.size());
  PushLocal(AnyLocal(), -1);
  inflight_ = descriptors.size();
  absl::StatusOr<Local<Instance>> instance = Instance::Create(*heap_, descriptors);
  inflight_ = 0;
  if (!instance.ok()) {
    if (instance.status().code() != absl::StatusCode::kResourceExhausted) {
      Fail("Instance::Create failed: %s", instance.status().ToString().c_str());
    }
    return;
  }
  const int n = AddNode(Kind::kInstance, instance->Get());
  locals_[slot].handle = Erase(*instance);
  locals_[slot].node = n;
  for (size_t i = 0; i < descriptors.size(); ++i) {
    LinearMemory* memory = (*instance)->memory(i);
    const int mn = AddNode(Kind::kMemory, memory);
    ModelNode& m = node(mn);
    m.pages = descriptors[i].initial_pages;
    m.maximum = *descriptors[i].maximum_pages;
    m.memory_id = memory->id();
    memory_nodes_[m.memory_id] = mn;
    node(n).strong.push_back(mn);
    CheckMemory(mn, /*full=*/true);
  }
}

void Program::DoMemoryGrow() {
  const uint8_t mb = in_.Byte(), delta_byte = in_.Byte();
  if (in_.exhausted()) return;
  const int n = Pick(mb, &IsMemory);
  if (n < 0) return;
  const uint32_t delta = delta_byte % 4;
  const uint32_t pages = node(n).pages;
  busy_memory_ = n;
  absl::StatusOr<uint32_t> old = As<LinearMemory>(n)->Grow(delta);  // may collect
  busy_memory_ = -1;
  if (pages + delta > node(n).maximum) {
    if (old.status().code() != absl::StatusCode::kOutOfRange) {
      Fail("Grow(%u) of a memory of %u pages (maximum %u) should be OutOfRange, got %s", delta,
           pages, node(n).maximum, old.status().ToString().c_str());
    }
  } else if (old.ok()) {
    if (*old != pages) Fail("Grow(%u) returned %u, the memory had %u pages", delta, *old, pages);
    node(n).pages = pages + delta;
  } else if (old.status().code() != absl::StatusCode::kResourceExhausted) {
    Fail("Grow(%u) failed: %s", delta, old.status().ToString().c_str());
  }
  CheckMemory(n, /*full=*/true);  // old contents kept, new pages zero
}

void Program::DoViewCreate() {
  const uint8_t mb = in_.Byte(), elem_byte = in_.Byte(), offset_byte = in_.Byte(),
                length_byte = in_.Byte();
  if (in_.exhausted() || !CanPush() || !CanAllocate()) return;
  const int memory = Pick(mb, &IsMemory);
  if (memory < 0) return;
  const size_t elem = (elem_byte & 1) ? 4 : 1;
  const size_t size = size_t{node(memory).pages} * kWasmPageSize;
  // Offsets on and off element boundaries, inside and past the end.
  const size_t offset = size_t{offset_byte} * 1021 % (size + 2 * kWasmPageSize / 64 + 1);
  std::optional<size_t> length;
  if (length_byte % 4 != 0) length = size_t{length_byte} * 263;
  absl::StatusCode expect = absl::StatusCode::kOk;
  if (offset % elem != 0) {
    expect = absl::StatusCode::kInvalidArgument;
  } else if (offset > size) {
    expect = absl::StatusCode::kOutOfRange;
  } else if (length.has_value() ? *length > (size - offset) / elem : (size - offset) % elem != 0) {
    expect = absl::StatusCode::kOutOfRange;
  }
  const int slot = static_cast<int>(locals_.size());
  PushLocal(AnyLocal(), -1);
  EscapableHandleScope scope(*heap_);
  Local<LinearMemory> memory_local(*heap_, As<LinearMemory>(memory));
  absl::StatusOr<AnyLocal> view = absl::UnknownError("not run");
  size_t made_length = 0;
  if (elem == 1) {
    absl::StatusOr<Local<Uint8View>> v = Uint8View::Create(*heap_, memory_local, offset, length);
    if (v.ok()) made_length = (*v)->length();
    view = v.ok() ? absl::StatusOr<AnyLocal>(Erase(*v)) : v.status();
  } else {
    absl::StatusOr<Local<Uint32View>> v = Uint32View::Create(*heap_, memory_local, offset, length);
    if (v.ok()) made_length = (*v)->length();
    view = v.ok() ? absl::StatusOr<AnyLocal>(Erase(*v)) : v.status();
  }
  if (view.status().code() != expect &&
      !(expect == absl::StatusCode::kOk &&
        view.status().code() == absl::StatusCode::kResourceExhausted)) {
    Fail("TypedView::Create(elem %zu, offset %zu, length %s) of %zu bytes should be %s, got %s",
         elem, offset, length ? std::to_string(*length).c_str() : "to the end", size,
         absl::StatusCodeToString(expect).c_str(), view.status().ToString().c_str());
  }
  if (!view.ok()) return;
  const size_t want_length = length.value_or((size - offset) / elem);
  if (made_length != want_length) {
    Fail("a view of length %zu was made, expected %zu", made_length, want_length);
  }
  const int n = AddNode(Kind::kView, view->Get());
  ModelNode& m = node(n);
  m.a = memory;
  m.elem = elem;
  m.offset = offset;
  m.length = want_length;
  locals_[slot].handle = scope.Escape(*view);
  locals_[slot].node = n;
}

void Program::DoViewAccess() {
  const uint8_t vb = in_.Byte();
  const uint16_t index_bits = in_.U16();
  const uint8_t value = in_.Byte(), write = in_.Byte();
  if (in_.exhausted()) return;
  const int n = Pick(vb, &IsView);
  if (n < 0 || node(n).length == 0) return;
  const ModelNode& m = node(n);
  ModelNode& memory = node(m.a);
  const size_t index = index_bits % m.length;
  const size_t at = m.offset + index * m.elem;
  if (write & 1) {
    const uint32_t word = value * 0x01010101u ^ static_cast<uint32_t>(index);
    if (m.elem == 1) {
      As<Uint8View>(n)->Set(index, value);
      memory.written[at] = value;
    } else {
      As<Uint32View>(n)->Set(index, word);
      for (size_t i = 0; i < 4; ++i) memory.written[at + i] = static_cast<uint8_t>(word >> (8 * i));
    }
    return;
  }
  uint32_t want = 0;
  for (size_t i = 0; i < m.elem; ++i) {
    auto it = memory.written.find(at + i);
    want |= uint32_t{it == memory.written.end() ? uint8_t{0} : it->second} << (8 * i);
  }
  const uint32_t got = m.elem == 1 ? As<Uint8View>(n)->Get(index) : As<Uint32View>(n)->Get(index);
  if (got != want) Fail("view %d element %zu reads %u, expected %u", n, index, got, want);
}

void Program::DoMemoryAccess() {
  const uint8_t mb = in_.Byte();
  const uint16_t offset_bits = in_.U16();
  const uint8_t length_byte = in_.Byte(), seed = in_.Byte(), write = in_.Byte();
  if (in_.exhausted()) return;
  const int n = Pick(mb, &IsMemory);
  if (n < 0) return;
  ModelNode& m = node(n);
  const size_t size = size_t{m.pages} * kWasmPageSize;
  if (size == 0) return;
  const size_t offset = size_t{offset_bits} * 61 % size;
  const size_t length = std::min<size_t>(1 + length_byte % 32, size - offset);
  uint8_t* data = As<LinearMemory>(n)->data();
  for (size_t i = 0; i < length; ++i) {
    if (write & 1) {
      data[offset + i] = static_cast<uint8_t>(seed + i);
      m.written[offset + i] = static_cast<uint8_t>(seed + i);
    } else {
      auto it = m.written.find(offset + i);
      const uint8_t want = it == m.written.end() ? 0 : it->second;
      if (data[offset + i] != want) {
        Fail("linear memory %d byte %zu reads 0x%02x, expected 0x%02x", n, offset + i,
             data[offset + i], want);
      }
    }
  }
}

void Program::DoInstanceMemory() {
  const uint8_t ib = in_.Byte(), index = in_.Byte();
  if (in_.exhausted() || !CanPush()) return;
  const int n = Pick(ib, &IsInstance);
  if (n < 0) return;
  const size_t i = index % node(n).strong.size();
  LinearMemory* memory = As<Instance>(n)->memory(i);
  if (static_cast<void*>(memory) != Ptr(node(n).strong[i])) {
    Fail("Instance %d memory %zu is %p, expected node %d", n, i, static_cast<void*>(memory),
         node(n).strong[i]);
  }
  PushLocal(AnyLocal(*heap_, Any(memory)), node(n).strong[i]);
}

// Any object not yet collected, reachable or not, through its shadow WeakPersistent: a
// weak root yields its object until a collection clears it.
void Program::DoResurrect() {
  const uint16_t pick = in_.U16();
  if (in_.exhausted() || !CanPush() || live_.empty()) return;
  const int n = live_[pick % live_.size()];
  PushLocal(AnyLocal(*heap_, Any(Ptr(n))), n);
}

void Program::DoRetainingPath() {
  const uint16_t pick = in_.U16();
  if (in_.exhausted() || live_.empty()) return;
  const int n = live_[pick % live_.size()];
  const std::vector<char> r = Reach();
  absl::StatusOr<RetainingPath> path = heap_->FindRetainingPath(Ptr(n));
  in_collection_ = false;  // it called the hooks' TraceRoots
  if (path.ok() != static_cast<bool>(r[n]) ||
      (!path.ok() && path.status().code() != absl::StatusCode::kNotFound)) {
    Fail("FindRetainingPath(%s %d) is %s; the model says it is %s", KindName(node(n).kind), n,
         path.ok() ? "a path" : path.status().ToString().c_str(),
         r[n] ? "reachable" : "unreachable");
  }
}

// Every object the model holds, checked in full; then a heap snapshot, which collects
// and walks every live object with its node number in the object's header, and the
// checks again, which (with the next collection and its verifier) see any header the
// walk failed to put back.
void Program::DoCheckAll() {
  for (int n : live_) CheckNode(n, /*full=*/true);
  struct Discard final : std::streambuf {
    std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
    int overflow(int c) override { return c; }
  } discard;
  std::ostream out(&discard);
  HeapSnapshotSummary summary;
  const absl::Status status = heap_->WriteHeapSnapshot(out, &summary);
  in_collection_ = false;  // it called the hooks' TraceRoots
  if (!status.ok() && status.code() != absl::StatusCode::kResourceExhausted) {
    Fail("WriteHeapSnapshot: %s", status.ToString().c_str());
  }
  if (status.ok()) {
    // The snapshot holds every object the model reaches now, and nothing the model
    // knows collected. Between the two are objects its collection kept that only weak
    // references reach now, which the walk reaches by its weak edges (gc/DESIGN.md
    // [stats.snapshot]): a held value whose delivery the scheduler dropped after the
    // collection marked it, a box a finalization callback registered as a target after
    // the collection. When the model has no such object, the count is exact.
    const std::vector<char> r = Reach();
    size_t reached = 0, held = 0;
    for (int n : live_) {
      const size_t objects = 1 + StoreCells(n).size();  // a container's store is one
      held += objects;
      if (r[n]) reached += objects;
    }
    if (summary.object_nodes < reached || summary.object_nodes > held) {
      Fail("the heap snapshot holds %zu objects; the model reaches %zu and holds %zu",
           summary.object_nodes, reached, held);
    }
  }
  for (int n : live_) CheckNode(n, /*full=*/true);
}

std::unique_ptr<FinalizationScheduler> Program::MakeScheduler(SchedulerKind kind,
                                                              uint64_t seed) const {
  if (kind != SchedulerKind::kRandomized) return CreateScheduler(kind);
  RandomizedScheduler::Options o;
  o.seed = seed;
  o.drop_probability = config_.drop_probability;
  o.max_delay_turns = config_.max_delay_turns;
  return RandomizedScheduler::Create(o).value();
}

// Refused while the old scheduler holds deliveries (they would be lost).
void Program::DoSetScheduler() {
  const uint8_t kind = in_.Byte(), seed = in_.Byte();
  if (in_.exhausted()) return;
  const size_t pending = queue_->scheduler().pending();
  const std::vector<SchedulerKind>& kinds = AllSchedulerKinds();
  absl::Status s = queue_->SetScheduler(MakeScheduler(kinds[kind % kinds.size()], seed));
  if (s.ok() != (pending == 0) || (!s.ok() && s.code() != absl::StatusCode::kFailedPrecondition)) {
    Fail("SetScheduler with %zu deliveries pending: %s", pending, s.ToString().c_str());
  }
}

// External memory the program itself reports; growth may collect ([alloc.external]).
void Program::DoExternalMemory() {
  const uint8_t delta = in_.Byte();
  if (in_.exhausted()) return;
  const size_t bytes = static_cast<size_t>(delta >> 1) * 4096;
  if (delta & 1) {
    external_ += bytes;
    heap_->AdjustExternalMemory(static_cast<int64_t>(bytes));
  } else {
    const size_t down = std::min(bytes, external_);
    external_ -= down;
    heap_->AdjustExternalMemory(-static_cast<int64_t>(down));
  }
}

void Program::Step(uint8_t op) {
  switch (op) {
    case kAlloc:
      DoAlloc(false);
      break;
    case kAllocLarge:
      DoAlloc(true);
      break;
    case kSetField:
      DoSetField();
      break;
    case kLoadField:
      DoLoadField();
      break;
    case kSetWeak:
      DoSetWeak();
      break;
    case kLoadWeak:
      DoLoadWeak();
      break;
    case kOpenScope: {
      const uint8_t escapable = in_.Byte();
      if (!in_.exhausted() && scopes_.size() < kMaxScopes && CanPush()) OpenScope(escapable & 1);
      break;
    }
    case kCloseScope:
      if (scopes_.size() > 1) CloseScope();
      break;
    case kEscape:
      DoEscape();
      break;
    case kPersistentSet:
      DoPersistentSet();
      break;
    case kPersistentLoad:
      DoPersistentLoad();
      break;
    case kWeakPersistentSet:
      DoWeakPersistentSet();
      break;
    case kWeakPersistentLoad:
      DoWeakPersistentLoad();
      break;
    case kWeakRefCreate:
      DoWeakRefCreate();
      break;
    case kWeakRefDeref:
      DoWeakRefDeref();
      break;
    case kClearKept:
      heap_->ClearKeptObjects();
      kept_.clear();
      break;
    case kTableNew:
      DoTableNew();
      break;
    case kTableSet:
      DoTableSet();
      break;
    case kTableGet:
      DoTableGet();
      break;
    case kTableDelete:
      DoTableDelete();
      break;
    case kPairCreate:
      DoPairCreate();
      break;
    case kPairRead:
      DoPairRead();
      break;
    case kRegistryCreate:
      DoRegistryCreate();
      break;
    case kRegister:
      DoRegister();
      break;
    case kUnregister:
      DoUnregister();
      break;
    case kPump:
      DoPump();
      break;
    case kCollect:
      heap_->CollectGarbage();
      break;
    case kTryNewAtLimit:
      DoTryNewAtLimit();
      break;
    case kMemoryCreate:
      DoMemoryCreate();
      break;
    case kInstanceCreate:
      DoInstanceCreate();
      break;
    case kMemoryGrow:
      DoMemoryGrow();
      break;
    case kViewCreate:
      DoViewCreate();
      break;
    case kViewAccess:
      DoViewAccess();
      break;
    case kMemoryAccess:
      DoMemoryAccess();
      break;
    case kInstanceMemory:
      DoInstanceMemory();
      break;
    case kResurrect:
      DoResurrect();
      break;
    case kRetainingPath:
      DoRetainingPath();
      break;
    case kCheckAll:
      DoCheckAll();
      break;
    case kSetScheduler:
      DoSetScheduler();
      break;
    case kExternalMemory:
      DoExternalMemory();
      break;
    case kKeep: {  // any object not yet collected, as WeakRef::Deref keeps its target
      const uint16_t pick = in_.U16();
      if (in_.exhausted() || live_.empty()) break;
      const int n = live_[pick % live_.size()];
      heap_->KeepDuringJob(Ptr(n));
      kept_.push_back(n);
      break;
    }
    default:
      break;
  }
}

// Turns until every registration whose target died was delivered or dropped (the
// randomized scheduler delays by a few turns; host jobs run only when pumped).
void Program::Drain() {
  for (int round = 0; round < 12; ++round) {
    heap_->CollectGarbage();
    in_pump_ = true;
    const uint64_t before = delivered_;
    const size_t ran = queue_->PumpHostJobs();
    in_pump_ = false;
    SyncKept(true);
    if (ran != delivered_ - before) {
      Fail("PumpHostJobs ran %zu callbacks, the program saw %llu", ran,
           static_cast<unsigned long long>(delivered_ - before));
    }
    if (queue_->scheduler().pending() == 0) break;
  }
  if (queue_->scheduler().pending() != 0) {
    Fail("the %s scheduler still holds %zu deliveries after 12 turns",
         std::string(queue_->scheduler().name()).c_str(), queue_->scheduler().pending());
  }
  for (size_t g = 0; g < regs_.size(); ++g) {
    if (regs_[g].state == RegState::kReady) {
      Fail("registration %zu (registry %d, target %d) was never delivered nor dropped", g,
           regs_[g].registry, regs_[g].target);
    }
  }
}

void Program::Finish() {
  if (!config_.destroy_with_roots) {
    Drain();
    CheckCounters();
    while (!scopes_.empty()) CloseScope();
    for (auto& p : persistents_) p.Reset();
    for (auto& p : weak_persistents_) p.Reset();
    for (auto& p : pool_) p.Reset();
    persistent_nodes_.fill(-1);
    weak_persistent_nodes_.fill(-1);
    pool_nodes_.fill(-1);
    heap_->ClearKeptObjects();
    kept_.clear();
    // Everything is garbage now: one collection reclaims all of it, and destroys
    // each object with a destructor.
    heap_->CollectGarbage();
    if (!live_.empty()) Fail("%zu objects outlived the last collection", live_.size());
  } else {
    // The heap dies with live objects and roots: its destructor destroys every object
    // with a destructor, and Persistents outlive it (gc/handles.h).
    while (!scopes_.empty()) CloseScope();
  }
  tearing_down_ = true;  // destructors and releases may run outside a collection now
  heap_.reset();
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const ModelNode& m = nodes_[n];
    if (m.kind == Kind::kObject && m.destructor && m.destroyed != 1) {
      Fail("object %zu (type %d): its destructor ran %d times by the time the heap was gone", n,
           m.type, m.destroyed);
    }
    if (m.kind == Kind::kMemory && m.destroyed != 1) {
      Fail("linear memory %zu was released %d times by the time the heap was gone", n, m.destroyed);
    }
  }
}

void Program::Run() {
  persistent_nodes_.fill(-1);
  weak_persistent_nodes_.fill(-1);
  pool_nodes_.fill(-1);

  HeapOptions options;
  options.collector = config_.collector;
  options.heap_limit = config_.heap_limit;
  options.policy = config_.MakePolicy();
  options.ephemeron_algorithm = config_.ephemerons;
  options.verify_after_collection = true;
  StressOptions stress;
  stress.collect_every_allocations = config_.collect_every;
  stress.verify = true;
  stress.zap_freed = true;
  options.stress = stress;
  absl::StatusOr<std::unique_ptr<Heap>> heap = Heap::Create(options);
  if (!heap.ok()) Fail("Heap::Create failed: %s", heap.status().ToString().c_str());
  heap_ = *std::move(heap);
  // First, so that it runs before the finalization queue's hook after each collection.
  heap_->AddCollectionHook(this);
  heap_->set_out_of_memory_handler([](const absl::Status&) { throw OutOfMemory{}; });

  queue_ = &FinalizationQueue::For(*heap_);
  if (absl::Status s = queue_->SetScheduler(MakeScheduler(config_.scheduler, config_.seed));
      !s.ok()) {
    Fail("SetScheduler failed: %s", s.ToString().c_str());
  }
  queue_->set_drop_observer([this](const DroppedDelivery& d) { OnDropped(d); });
  queue_->set_error_handler([](const absl::Status&) {});

  LinearMemorySpace& space = LinearMemorySpace::For(*heap_);
  LinearMemoryOptions lm;
  lm.reservation_bytes = kMemoryReservationPages * kWasmPageSize;
  lm.guard_bytes = kWasmPageSize;
  lm.release = config_.release;
  lm.pool_capacity = config_.pool_capacity;
  lm.address_space_budget = config_.reservations * (lm.reservation_bytes + lm.guard_bytes);
  lm.collect_on_exhaustion = config_.collect_on_exhaustion;
  if (absl::Status s = space.Configure(lm); !s.ok()) {
    Fail("LinearMemorySpace::Configure failed: %s", s.ToString().c_str());
  }
  space.set_release_observer([this](const ReleaseEvent& e) { OnReleased(e); });

  OpenScope(false);  // the program's outermost scope
  while (!in_.empty() && last_stats.operations < kMaxOperations) {
    op_begin_ = in_.pos();
    op_ = in_.Byte() % kNumOps;
    ++op_index_;
    ++last_stats.operations;
    Step(op_);
    recent_.push_back(OpRecord{op_index_, op_, op_begin_, in_.pos()});
    if (recent_.size() > 16) recent_.pop_front();
    CheckHandles();
    CheckCounters();
  }
  ++op_index_;
  op_ = kNumOps;
  op_begin_ = in_.pos();
  Finish();
}

}  // namespace

void RunHeapProgram(const uint8_t* data, size_t size, const CollectorKind* collector) {
  last_stats = ProgramStats{};
  Reader in(data, size);
  Config config = Config::Decode(in);
  if (collector != nullptr) config.collector = *collector;
  Program program(config, in);
  running = &program;
  program.Run();
  running = nullptr;
}

const ProgramStats& LastProgramStats() { return last_stats; }

}  // namespace gclab::fuzz
