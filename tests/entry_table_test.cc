// weak/internal/entry_table.h: the index of WeakMap and WeakSet, checked against a
// std::unordered_map model through random operations, moves and deaths of keys. The
// entries live in a plain vector here (the table takes any storage with HeapEntries'
// interface), so that keys can be fake addresses.
#include "weak/internal/entry_table.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"

namespace {

// Stands in for WeakMember: a key address the "collector" may clear or change.
struct FakeKey {
  void* p = nullptr;
  void* Get() const { return p; }
  void* GetWithoutLoadHook() const { return p; }
  explicit operator bool() const { return p != nullptr; }
  FakeKey& operator=(void* q) {
    p = q;
    return *this;
  }
};
struct Entry {
  FakeKey key;
  int value = 0;
};

// HeapEntries' interface over a std::vector.
class VectorEntries {
 public:
  size_t size() const { return v_.size(); }
  bool empty() const { return v_.empty(); }
  Entry& operator[](size_t i) { return v_[i]; }
  const Entry& operator[](size_t i) const { return v_[i]; }
  Entry* begin() { return v_.data(); }
  Entry* end() { return v_.data() + v_.size(); }
  const Entry* begin() const { return v_.data(); }
  const Entry* end() const { return v_.data() + v_.size(); }
  // At least doubling, as HeapVector::TryReserve: the table asks for one more entry
  // at each insert, and an exact reserve would copy the whole vector every time.
  bool TryReserve(size_t n) {
    if (n > v_.capacity()) v_.reserve(std::max(n, 2 * v_.capacity()));
    return true;
  }
  void push_back(const Entry& e) { v_.push_back(e); }
  void pop_back() { v_.pop_back(); }
  void Truncate(size_t n) { v_.resize(n); }
  void Shrink() {}

 private:
  std::vector<Entry> v_;
};

template <typename E>
using EntryTable = gclab::weak_internal::EntryTable<E, VectorEntries>;

// Addresses as a heap hands them out: 16-byte steps in a few regions.
void* Address(uint64_t region, uint64_t i) {
  return reinterpret_cast<void*>((region + 1) * (uint64_t{1} << 36) + i * 16);
}

void ExpectSame(const EntryTable<Entry>& table, const std::unordered_map<void*, int>& model) {
  ASSERT_EQ(table.size(), model.size());
  for (const auto& [key, value] : model) {
    const Entry* e = table.Find(key);
    ASSERT_NE(e, nullptr) << key;
    ASSERT_EQ(e->key.Get(), key);
    ASSERT_EQ(e->value, value);
  }
  for (const Entry& e : table.entries()) ASSERT_EQ(model.count(e.key.Get()), 1u);
}

TEST(EntryTableTest, AddFindRemoveAgainstAModel) {
  EntryTable<Entry> table;
  std::unordered_map<void*, int> model;
  std::mt19937_64 rng(7);
  EXPECT_EQ(table.Find(Address(0, 1)), nullptr);
  EXPECT_FALSE(table.Remove(Address(0, 1)));
  for (int step = 0; step < 200'000; ++step) {
    void* key = Address(rng() % 3, rng() % 5000);
    switch (rng() % 4) {
      case 0:
      case 1: {
        const int value = static_cast<int>(rng() % 1000);
        table.TryFindOrAdd(key)->value = value;
        model[key] = value;
        break;
      }
      case 2:
        ASSERT_EQ(table.Remove(key), model.erase(key) == 1) << step;
        break;
      default: {
        const Entry* e = table.Find(key);
        auto it = model.find(key);
        ASSERT_EQ(e != nullptr, it != model.end()) << step;
        if (e != nullptr) {
          ASSERT_EQ(e->value, it->second);
        }
      }
    }
    if (step % 20'000 == 0) ExpectSame(table, model);
  }
  ExpectSame(table, model);
  // The index stays at most 3/4 full.
  EXPECT_GE(table.index_capacity() * 3, table.size() * 4);
}

TEST(EntryTableTest, CompactAfterKeysMoveAndDie) {
  // A small index, and one that prefetches far ahead of its inserts.
  for (int n : {100, 50'000}) {
    EntryTable<Entry> table;
    std::unordered_map<void*, int> model;
    for (int i = 0; i < n; ++i) {
      table.TryFindOrAdd(Address(0, i))->value = i;
      model[Address(0, i)] = i;
    }
    ExpectSame(table, model);
    // A moving collection: every key gets a new address, every third key dies.
    auto& entries = const_cast<VectorEntries&>(table.entries());
    model.clear();
    for (Entry& e : entries) {
      const auto i = static_cast<uint64_t>(e.value);
      if (i % 3 == 0) {
        e.key = nullptr;
      } else {
        e.key = Address(1, n - i);  // reversed, as a copy might order them
        model[e.key.Get()] = e.value;
      }
    }
    table.Compact(/*moved=*/true);
    ExpectSame(table, model);
    // The old addresses are gone.
    for (int i = 0; i < n; ++i) EXPECT_EQ(table.Find(Address(0, i)), nullptr);
    // Still a working table.
    table.TryFindOrAdd(Address(2, 1))->value = -1;
    model[Address(2, 1)] = -1;
    ASSERT_TRUE(table.Remove(Address(1, n - 1)));
    model.erase(Address(1, n - 1));
    ExpectSame(table, model);
    // Every key dies: the index goes with them, and the table starts again.
    for (Entry& e : entries) e.key = nullptr;
    table.Compact(/*moved=*/false);
    EXPECT_EQ(table.size(), 0u);
    EXPECT_EQ(table.index_capacity(), 0u);
    EXPECT_EQ(table.Find(Address(2, 1)), nullptr);
    table.TryFindOrAdd(Address(2, 2))->value = 5;
    ASSERT_NE(table.Find(Address(2, 2)), nullptr);
    EXPECT_EQ(table.Find(Address(2, 2))->value, 5);
  }
}

TEST(EntryTableTest, KeysThatCollideInTheirTopBitsStayApart) {
  // Addresses that differ only far above the bits a small table uses.
  EntryTable<Entry> table;
  std::unordered_map<void*, int> model;
  for (int i = 0; i < 2000; ++i) {
    void* key = reinterpret_cast<void*>((uint64_t{1} << 40) * (i + 1));
    table.TryFindOrAdd(key)->value = i;
    model[key] = i;
  }
  ExpectSame(table, model);
  for (int i = 0; i < 2000; i += 2) {
    void* key = reinterpret_cast<void*>((uint64_t{1} << 40) * (i + 1));
    ASSERT_TRUE(table.Remove(key));
    model.erase(key);
  }
  ExpectSame(table, model);
}

}  // namespace
