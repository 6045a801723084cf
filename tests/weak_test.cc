// Weak references and ephemerons: every test runs on every collector with both
// ephemeron algorithms.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "gc/gc.h"
#include "tests/test_types.h"
#include "weak/weak.h"

namespace gclab::testing {
namespace {

class Key : public GarbageCollected<Key> {
 public:
  explicit Key(int id) : id(id) {}
  void Trace(Visitor&) const {}
  int id;
};

class Value : public GarbageCollected<Value> {
 public:
  explicit Value(int id) : id(id) {}
  Value(int id, const Local<Key>& key) : id(id), key(key) {}
  void Trace(Visitor& v) const {
    v.Trace(key);
    v.Trace(next);
  }
  int id;
  Member<Key> key;     // strong: e.g. a value that refers to its own key
  Member<Value> next;
};

// Holds weak fields.
class Watcher : public GarbageCollected<Watcher> {
 public:
  void Trace(Visitor& v) const {
    v.Trace(weak_key);
    v.Trace(weak_value);
  }
  WeakMember<Key> weak_key;
  WeakMember<Value> weak_value;
};

using Map = WeakMap<Key, Value>;
using Pair = EphemeronPair<Key, Value>;

using Param = std::tuple<CollectorKind, EphemeronAlgorithm>;

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  std::string name(CollectorName(std::get<0>(info.param)));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name + (std::get<1>(info.param) == EphemeronAlgorithm::kIndexed ? "_indexed" : "_naive");
}

class WeakTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override { heap_ = Make(); }
  std::unique_ptr<Heap> Make(size_t limit = size_t{1} << 30) {
    HeapOptions options;
    options.collector = std::get<0>(GetParam());
    options.ephemeron_algorithm = std::get<1>(GetParam());
    options.heap_limit = limit;
    return Heap::Create(options).value();
  }
  Heap& heap() { return *heap_; }
  bool indexed() const { return std::get<1>(GetParam()) == EphemeronAlgorithm::kIndexed; }
  std::unique_ptr<Heap> heap_;
};

TEST_P(WeakTest, WeakMemberFollowsLiveTargetAndClearsDeadOne) {
  HandleScope scope(heap());
  Local<Watcher> watcher = heap().New<Watcher>();
  Local<Key> live = heap().New<Key>(1);
  watcher->weak_key = live;
  {
    HandleScope inner(heap());
    watcher->weak_value = heap().New<Value>(2);
  }
  heap().CollectGarbage();
  EXPECT_EQ(watcher->weak_key.Get(), live.Get());  // updated if it moved
  EXPECT_EQ(watcher->weak_key->id, 1);
  EXPECT_EQ(watcher->weak_value.Get(), nullptr);
  EXPECT_EQ(heap().stats().live_objects, 2u);  // the value was reclaimed
}

TEST_P(WeakTest, WeakPersistentIsAWeakRoot) {
  WeakPersistent<Key> weak;
  Persistent<Key> strong;
  {
    HandleScope scope(heap());
    Local<Key> a = heap().New<Key>(1);
    Local<Key> b = heap().New<Key>(2);
    weak.Set(heap(), a.Get());
    strong.Set(heap(), b.Get());
    heap().CollectGarbage();
    EXPECT_EQ(weak.Get(), a.Get());
  }
  EXPECT_EQ(heap().weak_persistent_handle_count(), 1u);
  heap().CollectGarbage();
  EXPECT_EQ(weak.Get(), nullptr);
  EXPECT_EQ(strong->id, 2);
  weak.Set(heap(), strong.Get());
  heap().CollectGarbage();
  EXPECT_EQ(weak.Get(), strong.Get());
  EXPECT_EQ(weak->id, 2);
}

// Every kind of weak reference to one object is cleared in the same collection.
TEST_P(WeakTest, AllWeakReferencesToAnObjectClearTogether) {
  HandleScope scope(heap());
  Local<Watcher> watcher = heap().New<Watcher>();
  Local<Map> map = Map::New(heap());
  WeakPersistent<Key> weak_root;
  Local<WeakRef<Key>> ref;
  {
    EscapableHandleScope inner(heap());
    Local<Key> target = heap().New<Key>(7);
    Local<Value> value = heap().New<Value>(8);
    watcher->weak_key = target;
    weak_root.Set(heap(), target.Get());
    ASSERT_TRUE(map->Set(target.Get(), value.Get()).ok());
    ref = inner.Escape(WeakRef<Key>::Create(heap(), target).value());
  }
  heap().ClearKeptObjects();  // WeakRef creation kept the target for this job
  heap().CollectGarbage();
  EXPECT_EQ(watcher->weak_key.Get(), nullptr);
  EXPECT_EQ(weak_root.Get(), nullptr);
  EXPECT_EQ(ref->Deref(), nullptr);
  EXPECT_EQ(map->size(), 0u);
}

TEST_P(WeakTest, WeakRefKeepsItsTargetUntilTheJobEnds) {
  HandleScope scope(heap());
  Local<WeakRef<Key>> ref;
  {
    EscapableHandleScope inner(heap());
    ref = inner.Escape(WeakRef<Key>::Create(heap(), heap().New<Key>(3)).value());
  }
  EXPECT_EQ(heap().kept_object_count(), 1u);
  heap().CollectGarbage();  // same job: the target is kept
  ASSERT_NE(ref->Deref(), nullptr);
  EXPECT_EQ(ref->Deref()->id, 3);
  heap().ClearKeptObjects();
  EXPECT_EQ(heap().kept_object_count(), 0u);
  heap().CollectGarbage();
  EXPECT_EQ(ref->Deref(), nullptr);
  EXPECT_EQ(heap().kept_object_count(), 0u);  // a null Deref keeps nothing
}

TEST_P(WeakTest, DerefKeepsTheTargetForTheRestOfTheJob) {
  HandleScope scope(heap());
  Persistent<Key> strong(heap(), heap().NewRaw<Key>(4));
  Local<WeakRef<Key>> ref = WeakRef<Key>::Create(heap(), strong.Get()).value();
  heap().ClearKeptObjects();
  EXPECT_NE(ref->Deref(), nullptr);  // keeps it again
  strong.Reset();
  heap().CollectGarbage();
  ASSERT_NE(ref->Deref(), nullptr);
  EXPECT_EQ(ref->Deref()->id, 4);
  heap().ClearKeptObjects();
  heap().CollectGarbage();
  EXPECT_EQ(ref->Deref(), nullptr);
}

TEST_P(WeakTest, WeakRefRejectsBadTargets) {
  HandleScope scope(heap());
  EXPECT_EQ(WeakRef<Key>::Create(heap(), static_cast<Key*>(nullptr)).status().code(),
            absl::StatusCode::kInvalidArgument);
  alignas(16) static char not_an_object[64];
  EXPECT_EQ(WeakRef<Key>::Create(heap(), reinterpret_cast<Key*>(not_an_object + 8))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  auto other = Make();
  HandleScope other_scope(*other);
  Local<Key> foreign = other->New<Key>(1);
  absl::Status s = WeakRef<Key>::Create(heap(), foreign).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("not a live object of this heap"), std::string::npos) << s;
}

TEST_P(WeakTest, EphemeronValueLivesExactlyWhileItsKeyDoes) {
  HandleScope scope(heap());
  Persistent<Key> key(heap(), heap().NewRaw<Key>(1));
  Local<Pair> pair;
  {
    EscapableHandleScope inner(heap());
    Local<Key> k(heap(), key.Get());
    Local<Value> v = heap().New<Value>(10, k);  // the value refers to its own key
    pair = inner.Escape(Pair::Create(heap(), k, v).value());
  }
  heap().CollectGarbage();
  ASSERT_NE(pair->value(), nullptr);
  EXPECT_EQ(pair->value()->id, 10);
  EXPECT_EQ(pair->key(), key.Get());
  EXPECT_EQ(heap().stats().live_objects, 3u);
  key.Reset();  // the value's reference to the key does not keep it alive
  heap().CollectGarbage();
  EXPECT_EQ(pair->key(), nullptr);
  EXPECT_EQ(pair->value(), nullptr);
  EXPECT_EQ(heap().stats().live_objects, 1u);  // the pair alone
  EXPECT_EQ(Pair::Create(heap(), Local<Key>(), Local<Value>()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(WeakTest, WeakMapGetSetHasDelete) {
  HandleScope scope(heap());
  Local<Map> map = Map::New(heap());
  Local<Key> a = heap().New<Key>(1);
  Local<Key> b = heap().New<Key>(2);
  Local<Value> va = heap().New<Value>(10);
  Local<Value> vb = heap().New<Value>(20);
  EXPECT_FALSE(map->Has(a.Get()));
  EXPECT_EQ(map->Get(a.Get()), nullptr);
  ASSERT_TRUE(map->Set(a.Get(), va.Get()).ok());
  ASSERT_TRUE(map->Set(b.Get(), vb.Get()).ok());
  EXPECT_TRUE(map->Has(a.Get()));
  EXPECT_EQ(map->Get(b.Get()), vb.Get());
  ASSERT_TRUE(map->Set(a.Get(), vb.Get()).ok());  // replace
  EXPECT_EQ(map->Get(a.Get()), vb.Get());
  EXPECT_EQ(map->size(), 2u);
  EXPECT_TRUE(map->Delete(a.Get()));
  EXPECT_FALSE(map->Delete(a.Get()));
  EXPECT_FALSE(map->Has(a.Get()));
  EXPECT_EQ(map->size(), 1u);
  heap().CollectGarbage();
  EXPECT_EQ(map->Get(b.Get())->id, 20);
  // Bad input changes nothing.
  EXPECT_EQ(map->Set(nullptr, va.Get()).code(), absl::StatusCode::kInvalidArgument);
  alignas(16) static char not_an_object[64];
  EXPECT_EQ(map->Set(reinterpret_cast<Key*>(not_an_object + 8), va.Get()).code(),
            absl::StatusCode::kInvalidArgument);
  // A pointer into the middle of a heap object is not a key.
  Local<Value> big = heap().New<Value>(5);
  EXPECT_EQ(map->Set(reinterpret_cast<Key*>(reinterpret_cast<char*>(big.Get()) + 8), va.Get())
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WeakRef<Key>::Create(heap(), reinterpret_cast<Key*>(
                                             reinterpret_cast<char*>(big.Get()) + 8))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  auto other = Make();
  HandleScope other_scope(*other);
  Local<Value> foreign = other->New<Value>(1);
  EXPECT_EQ(map->Set(a.Get(), foreign.Get()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(map->size(), 1u);
}

TEST_P(WeakTest, DeadKeysLeaveTheMapAndTheirValuesAreReclaimed) {
  HandleScope scope(heap());
  Local<Map> map = Map::New(heap());
  std::vector<Persistent<Key>> kept;
  for (int i = 0; i < 1000; ++i) {
    HandleScope inner(heap());
    Local<Key> k = heap().New<Key>(i);
    Local<Value> v = heap().New<Value>(i, k);  // values refer to their keys
    ASSERT_TRUE(map->Set(k.Get(), v.Get()).ok());
    if (i % 2 == 0) kept.emplace_back(heap(), k.Get());
  }
  heap().CollectGarbage();
  EXPECT_EQ(map->size(), 500u);
  // The map, the store of its entries (a heap object), and the live pairs.
  EXPECT_EQ(heap().stats().live_objects, 2u + 500u * 2);
  for (const Persistent<Key>& k : kept) {
    Value* v = map->Get(k.Get());
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->id, k->id);
    EXPECT_EQ(v->key.Get(), k.Get());
  }
}

// Key i+1 is reachable only through the value of key i: all alive while key 0 is.
TEST_P(WeakTest, KeysReachableThroughOtherEntriesValues) {
  const int n = indexed() ? 20000 : 1000;
  HandleScope scope(heap());
  Local<Map> map = Map::New(heap());
  Persistent<Key> head;
  {
    HandleScope inner(heap());
    std::vector<Local<Key>> keys;
    for (int i = 0; i < n; ++i) keys.push_back(heap().New<Key>(i));
    // Worst order for a scan: the last link first.
    for (int i = n - 1; i >= 0; --i) {
      Local<Value> v = heap().New<Value>(i);
      if (i + 1 < n) v->key = keys[i + 1].Get();
      ASSERT_TRUE(map->Set(keys[i].Get(), v.Get()).ok());
    }
    head.Set(heap(), keys[0].Get());
  }
  heap().CollectGarbage();
  EXPECT_EQ(map->size(), static_cast<size_t>(n));
  int length = 0;
  for (Key* k = head.Get(); k != nullptr; ++length) {
    Value* v = map->Get(k);
    ASSERT_NE(v, nullptr);
    ASSERT_EQ(v->id, k->id);
    k = v->key.Get();
  }
  EXPECT_EQ(length, n);
  const CycleStatistics& cycle = heap().stats().last_cycle;
  EXPECT_EQ(cycle.ephemerons_resolved, static_cast<size_t>(n));
  if (indexed()) {
    EXPECT_EQ(cycle.ephemeron_passes, 0u);
  } else {
    EXPECT_GE(cycle.ephemeron_passes, static_cast<size_t>(n));  // one link per pass
  }
  head.Reset();
  heap().CollectGarbage();
  EXPECT_EQ(map->size(), 0u);
  // The map, and the store of its entries (a heap object), kept until it next changes.
  EXPECT_EQ(heap().stats().live_objects, 2u);
}

// A value that leads on to another key: a chain through a table.
template <typename K>
class Link : public GarbageCollected<Link<K>> {
 public:
  // A handle, not a raw pointer: the allocation of the Link may move `next`.
  Link(int id, const Local<K>& next) : id(id), next(next) {}
  void Trace(Visitor& v) const { v.Trace(next); }
  int id;
  Member<K> next;
};

// A large object with a destructor and heap memory of its own, as a WeakMap key: it
// lives in the large-object space, which destroys it when it dies, and no collector
// may destroy it while it is alive (semispace once did, on its first collection).
class BigCountedKey : public GarbageCollected<BigCountedKey> {
 public:
  explicit BigCountedKey(int* destroyed) : destroyed_(destroyed) {}
  ~BigCountedKey() { ++*destroyed_; }
  void Trace(Visitor&) const {}
  std::vector<int> numbers = std::vector<int>(1000, 7);

 private:
  int* destroyed_;
  char pad_[16 << 10] = {};
};

TEST_P(WeakTest, LargeKeysWithDestructorsLiveAsLongAsTheirKeys) {
  int destroyed = 0;
  HandleScope scope(heap());
  Local<WeakMap<BigCountedKey, Node>> map = WeakMap<BigCountedKey, Node>::New(heap());
  Persistent<BigCountedKey> key;
  {
    HandleScope inner(heap());  // the Locals New returns must not root the key
    key.Set(heap(), heap().New<BigCountedKey>(&destroyed).Get());
    Local<Node> fresh = heap().New<Node>(5);  // allocate before reading map
    ASSERT_TRUE(map->Set(key.Get(), fresh.Get()).ok());
  }
  for (int i = 0; i < 3; ++i) {
    heap().CollectGarbage();
    EXPECT_EQ(destroyed, 0);
    ASSERT_EQ(key->numbers.size(), 1000u);
    EXPECT_EQ(key->numbers[999], 7);
    ASSERT_NE(map->Get(key.Get()), nullptr);
    EXPECT_EQ(map->Get(key.Get())->value, 5);
  }
  key.Reset();
  heap().CollectGarbage();
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(map->size(), 0u);
  heap().CollectGarbage();
  EXPECT_EQ(destroyed, 1);
}

// While a key waits for its ephemerons to resolve, the collector keeps the key's
// header word aside (gc/DESIGN.md, [weak.ephemeron]). Keys reached later must get it
// back before they are traced, copied (by move construction) or checked by the heap
// verifier, and keys that die pending must get it back before the sweep runs their
// destructors: each exactly once, on every collector, for small and large keys.
TEST_P(WeakTest, PendingKeysKeepTheirTypesWhetherTheyLiveOrDie) {
  using BigKey = Blob<16 * 1024>;  // the large-object space
  using CountedMap = WeakMap<Counted, Link<Counted>>;
  using BigMap = WeakMap<BigKey, Link<BigKey>>;
  const int n = 300;
  const int big = 20;
  HeapOptions options;
  options.collector = std::get<0>(GetParam());
  options.ephemeron_algorithm = std::get<1>(GetParam());
  options.verify_after_collection = true;
  auto heap_or = Heap::Create(options);
  ASSERT_TRUE(heap_or.ok());
  Heap& h = **heap_or;
  int destroyed = 0;
  HandleScope scope(h);
  Local<CountedMap> map = CountedMap::New(h);
  Local<BigMap> big_map = BigMap::New(h);
  // In each table, key i's value leads to key i + 2 for the even keys: every even key
  // but the first is alive only through the table, so it is pending when the table
  // is traced and reached later. The odd keys are in the table only: they die pending.
  Persistent<Counted> head;
  Persistent<BigKey> big_head;
  {
    HandleScope inner(h);
    std::vector<Local<Counted>> keys;
    for (int i = 0; i < n; ++i) {
      keys.push_back(h.New<Counted>(&destroyed, "key " + std::to_string(i)));
    }
    std::vector<Local<BigKey>> big_keys;
    for (int i = 0; i < big; ++i) big_keys.push_back(h.New<BigKey>(i));
    for (int i = n - 1; i >= 0; --i) {
      Local<Counted> next = i % 2 == 0 && i + 2 < n ? keys[i + 2] : Local<Counted>();
      auto value = h.New<Link<Counted>>(i, next);
      ASSERT_TRUE(map->Set(keys[i].Get(), value.Get()).ok());
    }
    for (int i = big - 1; i >= 0; --i) {
      Local<BigKey> next = i % 2 == 0 && i + 2 < big ? big_keys[i + 2] : Local<BigKey>();
      auto value = h.New<Link<BigKey>>(i, next);
      ASSERT_TRUE(big_map->Set(big_keys[i].Get(), value.Get()).ok());
    }
    head.Set(h, keys[0].Get());
    big_head.Set(h, big_keys[0].Get());
  }
  h.CollectGarbage();
  h.CollectGarbage();  // a moving collector moves the survivors again
  EXPECT_EQ(destroyed, n / 2);
  EXPECT_EQ(map->size(), static_cast<size_t>(n / 2));
  EXPECT_EQ(big_map->size(), static_cast<size_t>(big / 2));
  int reached = 0;
  for (Counted* k = head.Get(); k != nullptr; ++reached) {
    EXPECT_EQ(k->text(), "key " + std::to_string(reached * 2));
    EXPECT_EQ(k->numbers().size(), 100u);
    Link<Counted>* v = map->Get(k);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->id, reached * 2);
    k = v->next.Get();
  }
  EXPECT_EQ(reached, n / 2);
  reached = 0;
  for (BigKey* k = big_head.Get(); k != nullptr; ++reached) {
    EXPECT_EQ(k->id(), static_cast<uint32_t>(reached * 2));
    EXPECT_TRUE(k->Intact());
    Link<BigKey>* v = big_map->Get(k);
    ASSERT_NE(v, nullptr);
    k = v->next.Get();
  }
  EXPECT_EQ(reached, big / 2);
  head.Reset();
  big_head.Reset();
  h.CollectGarbage();
  EXPECT_EQ(destroyed, n);
  EXPECT_EQ(map->size(), 0u);
  EXPECT_EQ(big_map->size(), 0u);
}

TEST_P(WeakTest, TablesWithMillionsOfEntries) {
  const int n = Reduced() ? 200'000 : 2'000'000;
  HandleScope scope(heap());
  Local<Map> map = Map::New(heap());
  std::vector<Persistent<Key>> sample;  // every third key stays alive
  for (int i = 0; i < n; ++i) {
    HandleScope inner(heap());
    Local<Key> k = heap().New<Key>(i);
    Local<Value> v = heap().New<Value>(i);
    ASSERT_TRUE(map->Set(k.Get(), v.Get()).ok());
    if (i % 3 == 0) sample.emplace_back(heap(), k.Get());
  }
  heap().CollectGarbage();
  EXPECT_EQ(map->size(), sample.size());
  for (size_t i = 0; i < sample.size(); i += 997) {
    Value* v = map->Get(sample[i].Get());
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->id, sample[i]->id);
  }
}

TEST_P(WeakTest, ATableThatDiesLetsItsValuesGo) {
  HandleScope scope(heap());
  Local<Key> key = heap().New<Key>(1);
  {
    HandleScope inner(heap());
    Local<Map> map = Map::New(heap());
    for (int i = 0; i < 100; ++i) {
      HandleScope per(heap());
      Local<Value> fresh = heap().New<Value>(i);  // allocate before reading map
      ASSERT_TRUE(map->Set(key.Get(), fresh.Get()).ok());
    }
  }
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 1u);  // the key alone
}

TEST_P(WeakTest, ATableAsAnotherTablesValue) {
  using Outer = WeakMap<Key, WeakMap<Key, Value>>;
  using Inner = WeakMap<Key, Value>;
  HandleScope scope(heap());
  Local<Outer> outer = Outer::New(heap());
  Local<Key> k1 = heap().New<Key>(1);
  Local<Key> k2 = heap().New<Key>(2);
  {
    HandleScope inner(heap());
    Local<Inner> table = Inner::New(heap());
    Local<Value> fresh = heap().New<Value>(22);  // allocate before reading table
    ASSERT_TRUE(table->Set(k2.Get(), fresh.Get()).ok());
    ASSERT_TRUE(outer->Set(k1.Get(), table.Get()).ok());
  }
  heap().CollectGarbage();
  Inner* table = outer->Get(k1.Get());
  ASSERT_NE(table, nullptr);
  ASSERT_NE(table->Get(k2.Get()), nullptr);
  EXPECT_EQ(table->Get(k2.Get())->id, 22);
}

TEST_P(WeakTest, LookupsWorkAfterObjectsMove) {
  HandleScope scope(heap());
  Local<Map> map = Map::New(heap());
  std::vector<Local<Key>> keys;
  std::vector<const void*> before;
  for (int i = 0; i < 5000; ++i) {
    keys.push_back(heap().New<Key>(i));
    Local<Value> fresh = heap().New<Value>(i * 2);  // allocate before reading map
    ASSERT_TRUE(map->Set(keys.back().Get(), fresh.Get()).ok());
  }
  // Where they are now (a stress run's collections may have moved them already, and a
  // semispace object moved twice may be back where it was).
  for (const Local<Key>& key : keys) before.push_back(key.Get());
  size_t moved_in_all_rounds = 0;
  for (int round = 0; round < 3; ++round) {
    heap().CollectGarbage();
    size_t moved = 0;
    for (int i = 0; i < 5000; ++i) {
      moved += keys[i].Get() != before[i] ? 1 : 0;
      Value* v = map->Get(keys[i].Get());
      ASSERT_NE(v, nullptr);
      ASSERT_EQ(v->id, i * 2);
      before[i] = keys[i].Get();
    }
    if (heap().capabilities().compacts) {
      EXPECT_EQ(moved, 5000u);  // a copying collection moves every survivor every time
    }
    moved_in_all_rounds += moved;
  }
  // A generational collector moves them once, when it promotes them (unless a stress
  // run's collections did so before the rounds).
  if (heap().moves_objects() && !testing::Reduced()) EXPECT_GT(moved_in_all_rounds, 0u);
}

TEST_P(WeakTest, WeakSetAddHasDelete) {
  HandleScope scope(heap());
  Local<WeakSet<Key>> set = WeakSet<Key>::New(heap());
  Local<Key> a = heap().New<Key>(1);
  ASSERT_TRUE(set->Add(a.Get()).ok());
  ASSERT_TRUE(set->Add(a.Get()).ok());
  EXPECT_EQ(set->size(), 1u);
  {
    HandleScope inner(heap());
    for (int i = 0; i < 10; ++i) {
      Local<Key> fresh = heap().New<Key>(i);  // allocate before reading set
      ASSERT_TRUE(set->Add(fresh.Get()).ok());
    }
  }
  EXPECT_EQ(set->size(), 11u);
  heap().CollectGarbage();
  EXPECT_EQ(set->size(), 1u);
  EXPECT_TRUE(set->Has(a.Get()));
  EXPECT_TRUE(set->Delete(a.Get()));
  EXPECT_FALSE(set->Has(a.Get()));
  EXPECT_EQ(set->Add(nullptr).code(), absl::StatusCode::kInvalidArgument);
  heap().CollectGarbage();
  EXPECT_EQ(heap().stats().live_objects, 2u);  // the set and a
}

// A finalization-like hook sees dead targets before weak references are cleared, and
// what it keeps alive can be an ephemeron key whose value must then survive.
class KeepingHook : public CollectionHook {
 public:
  void ProcessFinalization(CycleContext& context) override {
    // The watcher's root was updated during marking, so this reads its current copy.
    if (watcher != nullptr && watcher->Get()->weak_value.Get() != nullptr) {
      target_dead_in_finalize = !context.IsAlive(watcher->Get()->weak_value.Get());
      weak_still_set_in_finalize = true;
    }
    if (held != nullptr) {
      void* slot = held;
      context.MarkSlot(&slot);  // keep the held key alive, as a registry keeps a held value
      held = static_cast<Key*>(slot);
    }
  }
  void ClearWeak(CycleContext& context) override {
    (void)context;
    if (watcher != nullptr) weak_cleared_before_hooks = watcher->Get()->weak_value.Get() == nullptr;
  }
  Persistent<Watcher>* watcher = nullptr;
  Key* held = nullptr;
  bool target_dead_in_finalize = false;
  bool weak_still_set_in_finalize = false;
  bool weak_cleared_before_hooks = false;
};

TEST_P(WeakTest, WeakClearingComesAfterFinalizationAndSeesWhatItKept) {
  HandleScope scope(heap());
  KeepingHook hook;
  heap().AddCollectionHook(&hook);
  Persistent<Watcher> watcher(heap(), heap().NewRaw<Watcher>());
  Local<Map> map = Map::New(heap());
  {
    HandleScope inner(heap());
    watcher->weak_value = heap().New<Value>(1);
    Local<Key> held = heap().New<Key>(2);
    Local<Value> fresh = heap().New<Value>(3);  // allocate before reading map
    ASSERT_TRUE(map->Set(held.Get(), fresh.Get()).ok());
    hook.held = held.Get();
  }
  hook.watcher = &watcher;
  heap().CollectGarbage();
  hook.watcher = nullptr;
  heap().RemoveCollectionHook(&hook);
  EXPECT_TRUE(hook.weak_still_set_in_finalize);
  EXPECT_TRUE(hook.target_dead_in_finalize);
  EXPECT_TRUE(hook.weak_cleared_before_hooks);
  EXPECT_EQ(watcher->weak_value.Get(), nullptr);
  // The key the hook kept alive keeps its entry and value.
  ASSERT_NE(hook.held, nullptr);
  ASSERT_NE(map->Get(hook.held), nullptr);
  EXPECT_EQ(map->Get(hook.held)->id, 3);
}

INSTANTIATE_TEST_SUITE_P(
    AllCollectors, WeakTest,
    ::testing::Combine(::testing::ValuesIn(AllCollectors()),
                       ::testing::Values(EphemeronAlgorithm::kIndexed,
                                         EphemeronAlgorithm::kNaiveFixpoint)),
    ParamName);

TEST(WeakDeathTest, TableUsedWithAnotherHeapsKey) {
  if (!internal::kDebugChecks) GTEST_SKIP() << "needs a GCLAB_DEBUG build";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto a = MakeHeap(CollectorKind::kMarkSweep);
        auto b = MakeHeap(CollectorKind::kMarkSweep);
        HandleScope sa(*a);
        HandleScope sb(*b);
        Local<Map> map = Map::New(*a);
        Local<Key> foreign = b->New<Key>(1);
        map->Get(foreign.Get());
      },
      "WeakMap used with key .* not a live object of its heap");
}

}  // namespace
}  // namespace gclab::testing
