// Retaining paths on every collector: which roots and references count, and which do
// not (weak references, ephemerons whose key is dead).
#include "gc/retaining_path.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_types.h"
#include "weak/weak.h"

namespace gclab {
namespace {

using testing::CollectorParamName;
using testing::MakeHeap;
using testing::Node;

class Holder : public GarbageCollected<Holder> {
 public:
  static constexpr std::string_view kTypeName = "Holder";
  void Trace(Visitor& v) const {
    v.Trace(strong, "strong");
    v.Trace(weak);
  }
  Member<Node> strong;
  WeakMember<Node> weak;
};

class RetainingPathTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  std::unique_ptr<Heap> heap_ = MakeHeap(GetParam());
};

TEST_P(RetainingPathTest, WeakReferencesRetainNothing) {
  HandleScope scope(*heap_);
  Persistent<Holder> holder(*heap_, heap_->New<Holder>(), "holder");
  Local<Node> target = heap_->New<Node>(1);
  holder->weak = target.Get();
  Local<WeakRef<Node>> ref = WeakRef<Node>::Create(*heap_, target).value();
  heap_->ClearKeptObjects();  // WeakRef creation kept the target for this job
  Node* raw = target.Get();
  // Only the Local holds it.
  absl::StatusOr<RetainingPath> path = heap_->FindRetainingPath(raw);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->root_kind, RootKind::kLocal);
  EXPECT_EQ(path->steps.size(), 1u) << path->ToString();
  EXPECT_EQ(ref->Deref(), raw);
}

TEST_P(RetainingPathTest, NamedFieldsChainsAndNotFound) {
  Persistent<Holder> holder;
  Node* second;
  {
    HandleScope scope(*heap_);
    holder = Persistent<Holder>(*heap_, heap_->New<Holder>(), "config.holder");
    holder->strong = heap_->New<Node>(1).Get();
    holder->strong->left = heap_->New<Node>(2).Get();
    second = holder->strong->left.Get();
    holder->weak = heap_->New<Node>(3).Get();
  }
  absl::StatusOr<RetainingPath> path = heap_->FindRetainingPath(second);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->root_kind, RootKind::kPersistent);
  EXPECT_EQ(path->root_name, "config.holder");
  ASSERT_EQ(path->steps.size(), 3u) << path->ToString();
  EXPECT_EQ(path->steps[0].type_name, "Holder");
  EXPECT_EQ(path->steps[1].field, "strong");
  EXPECT_EQ(path->steps[1].type_name, "gclab::testing::Node");
  EXPECT_EQ(path->steps[2].field, "+" + std::to_string(offsetof(Node, left)));
  EXPECT_EQ(path->steps[2].object, second);

  // Reached only through a WeakMember: nothing retains it.
  absl::StatusOr<RetainingPath> weak = heap_->FindRetainingPath(holder->weak.Get());
  EXPECT_EQ(weak.status().code(), absl::StatusCode::kNotFound) << weak.status();
  heap_->CollectGarbage();
  EXPECT_EQ(holder->weak.Get(), nullptr) << "and the collector agrees";
}

TEST_P(RetainingPathTest, KeptObjectsAreRoots) {
  Node* raw;
  {
    HandleScope scope(*heap_);
    raw = heap_->New<Node>(1).Get();
    heap_->KeepDuringJob(raw);
  }
  absl::StatusOr<RetainingPath> path = heap_->FindRetainingPath(raw);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->root_kind, RootKind::kKeptObject);
  heap_->ClearKeptObjects();
  EXPECT_EQ(heap_->FindRetainingPath(raw).status().code(), absl::StatusCode::kNotFound);
}

// A WeakMap's value is retained through the table while its key is alive, and not
// at all once the key is unreachable.
TEST_P(RetainingPathTest, EphemeronValuesAreRetainedThroughTheirKey) {
  Persistent<WeakMap<Node, Node>> map;
  Persistent<Node> key;
  Node* value;
  {
    HandleScope scope(*heap_);
    map = Persistent<WeakMap<Node, Node>>(*heap_, WeakMap<Node, Node>::New(*heap_), "map");
    key = Persistent<Node>(*heap_, heap_->New<Node>(1), "key");
    Local<Node> v = heap_->New<Node>(2);
    ASSERT_TRUE(map->Set(key.Get(), v.Get()).ok());
    value = v.Get();
  }
  absl::StatusOr<RetainingPath> path = heap_->FindRetainingPath(value);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->root_name, "map");
  ASSERT_GE(path->steps.size(), 2u) << path->ToString();
  EXPECT_NE(path->steps.back().field.find("ephemeron value"), std::string::npos)
      << path->ToString();

  key.Reset();
  EXPECT_EQ(heap_->FindRetainingPath(value).status().code(), absl::StatusCode::kNotFound)
      << "a dead key's value is not retained";
}

// A WeakMap chain whose value i is key i + 1, inserted in reverse order, with key 0
// rooted: reaching one key releases a value that is the next key, so a walk that
// follows released values by recursion goes as deep as the chain (it overflowed the
// 8 MiB stack at about 65,000 links). The walk must be iterative.
TEST_P(RetainingPathTest, LongEphemeronChainsNeedNoStack) {
  const int n = testing::kSanitized ? 100'000 : 200'000;
  HandleScope scope(*heap_);
  Persistent<WeakMap<Node, Node>> map(*heap_, WeakMap<Node, Node>::New(*heap_), "map");
  Persistent<Node> first;
  Node* last;
  {
    HandleScope inner(*heap_);
    std::vector<Local<Node>> nodes;
    nodes.reserve(n + 1);
    for (int i = 0; i <= n; ++i) nodes.push_back(heap_->New<Node>(i));
    for (int i = n - 1; i >= 0; --i) ASSERT_TRUE(map->Set(nodes[i].Get(), nodes[i + 1].Get()).ok());
    first = Persistent<Node>(*heap_, nodes[0], "first");
  }
  heap_->CollectGarbage();
  EXPECT_EQ(map->size(), static_cast<size_t>(n));
  last = first.Get();
  for (int i = 0; i < n; ++i) last = map->Get(last);
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->value, n);

  absl::StatusOr<RetainingPath> path = heap_->FindRetainingPath(last);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->root_name, "map");
  ASSERT_EQ(path->steps.size(), 2u) << path->ToString();
  EXPECT_EQ(path->steps[1].object, last);
  EXPECT_NE(path->steps[1].field.find("ephemeron value"), std::string::npos) << path->ToString();

  // Without the first key nothing in the chain is retained.
  first.Reset();
  EXPECT_EQ(heap_->FindRetainingPath(last).status().code(), absl::StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, RetainingPathTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab
