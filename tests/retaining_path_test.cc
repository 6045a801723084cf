// Retaining paths on every collector: which roots and references count, and which do
// not (weak references, ephemerons whose key is dead).
#include "gc/retaining_path.h"

#include <string>

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

INSTANTIATE_TEST_SUITE_P(AllCollectors, RetainingPathTest, ::testing::ValuesIn(AllCollectors()),
                         CollectorParamName);

}  // namespace
}  // namespace gclab
