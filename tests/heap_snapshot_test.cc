// Heap snapshots (gc/heap_snapshot.h) on every collector, read back with the JSON
// reader in tests/json_reader.h and decoded as DevTools decodes them (by the field
// lists in `meta`): the format's invariants, the roots, the seed's forgotten global,
// weak references, ephemerons, external memory, escaping and errors. A second check,
// with a reader no one in this project wrote (memlab), is tests/memlab/.
#include "gc/heap_snapshot.h"

#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gc/fault_injection.h"
#include "gtest/gtest.h"
#include "linear_memory/linear_memory.h"
#include "tests/json_reader.h"
#include "tests/test_types.h"
#include "weak/weak.h"

namespace gclab {
namespace {

using testing::CollectorParamName;
using testing::Json;
using testing::JsonReader;
using testing::MakeHeap;
using testing::Node;

// A snapshot decoded: nodes and edges with their names and types as strings.
struct Snapshot {
  struct SNode {
    std::string type;
    std::string name;
    uint64_t id = 0;
    uint64_t self_size = 0;
    std::vector<size_t> edges;  // indices into `edges`
  };
  struct SEdge {
    std::string type;
    std::string name;  // the string, or the number for element and hidden edges
    size_t from = 0;
    size_t to = 0;
  };
  std::vector<SNode> nodes;
  std::vector<SEdge> edges;
  std::vector<std::string> strings;

  // Node indices with this name.
  std::vector<size_t> Named(const std::string& name) const {
    std::vector<size_t> found;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].name == name) found.push_back(i);
    }
    return found;
  }
  // Edges from `from` to `to`.
  std::vector<const SEdge*> EdgesBetween(size_t from, size_t to) const {
    std::vector<const SEdge*> found;
    for (size_t e : nodes[from].edges) {
      if (edges[e].to == to) found.push_back(&edges[e]);
    }
    return found;
  }
  // A shortest path from node 0 over edges that are not weak, as DevTools' retainers
  // and memlab's path finder take them: the edges, in order; empty if none.
  std::vector<const SEdge*> PathTo(size_t target) const {
    std::vector<long> via(nodes.size(), -1);
    std::vector<bool> seen(nodes.size());
    std::deque<size_t> queue = {0};
    seen[0] = true;
    while (!queue.empty() && !seen[target]) {
      const size_t n = queue.front();
      queue.pop_front();
      for (size_t e : nodes[n].edges) {
        if (edges[e].type == "weak" || seen[edges[e].to]) continue;
        seen[edges[e].to] = true;
        via[edges[e].to] = static_cast<long>(e);
        queue.push_back(edges[e].to);
      }
    }
    std::vector<const SEdge*> path;
    if (!seen[target]) return path;
    for (size_t n = target; n != 0; n = edges[via[n]].from) path.insert(path.begin(), &edges[via[n]]);
    return path;
  }
  std::string Describe(const std::vector<const SEdge*>& path) const {
    std::string out = "(root)";
    for (const SEdge* e : path) out += " -" + e->name + "-> " + nodes[e->to].name;
    return out;
  }
};

// Parses and checks everything a reader relies on; a failure says what is wrong.
::testing::AssertionResult Decode(const std::string& text, Snapshot* out) {
  for (unsigned char c : text) {
    if (c >= 0x80) return ::testing::AssertionFailure() << "a byte outside ASCII";
  }
  Json json;
  JsonReader reader(text);
  if (!reader.Read(&json)) {
    return ::testing::AssertionFailure() << "not JSON, at byte " << reader.position();
  }
  const Json* snapshot = json.get("snapshot");
  if (snapshot == nullptr || snapshot->get("meta") == nullptr) {
    return ::testing::AssertionFailure() << "no snapshot.meta";
  }
  const Json& meta = *snapshot->get("meta");
  auto field_index = [](const Json& fields, const std::string& name) {
    const auto& a = fields.array();
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].string() == name) return static_cast<long>(i);
    }
    return -1L;
  };
  const Json& node_fields = *meta.get("node_fields");
  const Json& edge_fields = *meta.get("edge_fields");
  const size_t nf = node_fields.array().size();
  const size_t ef = edge_fields.array().size();
  const long n_type = field_index(node_fields, "type"), n_name = field_index(node_fields, "name"),
             n_id = field_index(node_fields, "id"), n_size = field_index(node_fields, "self_size"),
             n_edges = field_index(node_fields, "edge_count");
  const long e_type = field_index(edge_fields, "type"),
             e_name = field_index(edge_fields, "name_or_index"),
             e_to = field_index(edge_fields, "to_node");
  if (n_type < 0 || n_name < 0 || n_id < 0 || n_size < 0 || n_edges < 0 || e_type < 0 ||
      e_name < 0 || e_to < 0) {
    return ::testing::AssertionFailure() << "a field DevTools needs is missing from meta";
  }
  const auto& node_types = meta.get("node_types")->array()[n_type].array();
  const auto& edge_types = meta.get("edge_types")->array()[e_type].array();
  for (const Json& s : json.get("strings")->array()) out->strings.push_back(s.string());
  const auto& nodes = json.get("nodes")->array();
  const auto& edges = json.get("edges")->array();
  for (const std::vector<Json>* list : {&nodes, &edges}) {
    for (const Json& v : *list) {
      const double d = v.number();
      if (d < 0 || d != static_cast<double>(static_cast<uint64_t>(d)) || d >= 4294967296.0) {
        return ::testing::AssertionFailure() << "a number that is not a 32-bit unsigned integer";
      }
    }
  }
  if (nodes.size() % nf != 0 || edges.size() % ef != 0) {
    return ::testing::AssertionFailure() << "nodes or edges not a whole number of records";
  }
  if (snapshot->get("node_count")->number() != nodes.size() / nf ||
      snapshot->get("edge_count")->number() != edges.size() / ef) {
    return ::testing::AssertionFailure() << "node_count or edge_count is wrong";
  }
  std::set<uint64_t> ids;
  size_t next_edge = 0;
  for (size_t i = 0; i < nodes.size(); i += nf) {
    Snapshot::SNode node;
    const auto type = static_cast<size_t>(nodes[i + n_type].number());
    const auto name = static_cast<size_t>(nodes[i + n_name].number());
    if (type >= node_types.size() || name >= out->strings.size()) {
      return ::testing::AssertionFailure() << "node " << i / nf << ": type or name out of range";
    }
    node.type = node_types[type].string();
    node.name = out->strings[name];
    node.id = static_cast<uint64_t>(nodes[i + n_id].number());
    node.self_size = static_cast<uint64_t>(nodes[i + n_size].number());
    if (!ids.insert(node.id).second) {
      return ::testing::AssertionFailure() << "id " << node.id << " used twice";
    }
    if (i > 0 && node.id <= 1) {
      return ::testing::AssertionFailure() << "id 0 or 1 on a node that is not the root";
    }
    const auto count = static_cast<size_t>(nodes[i + n_edges].number());
    for (size_t k = 0; k < count; ++k, ++next_edge) {
      if (next_edge * ef >= edges.size()) {
        return ::testing::AssertionFailure() << "edge counts add up to more than the edges";
      }
      const size_t e = next_edge * ef;
      Snapshot::SEdge edge;
      const auto etype = static_cast<size_t>(edges[e + e_type].number());
      if (etype >= edge_types.size()) return ::testing::AssertionFailure() << "edge type";
      edge.type = edge_types[etype].string();
      const auto name_or_index = static_cast<size_t>(edges[e + e_name].number());
      if (edge.type == "element" || edge.type == "hidden") {
        edge.name = std::to_string(name_or_index);
      } else if (name_or_index < out->strings.size()) {
        edge.name = out->strings[name_or_index];
      } else {
        return ::testing::AssertionFailure() << "edge name out of range";
      }
      const auto to = static_cast<size_t>(edges[e + e_to].number());
      if (to % nf != 0 || to >= nodes.size()) {
        return ::testing::AssertionFailure() << "to_node " << to << " is not a node's index";
      }
      edge.from = i / nf;
      edge.to = to / nf;
      node.edges.push_back(out->edges.size());
      out->edges.push_back(edge);
    }
    out->nodes.push_back(std::move(node));
  }
  if (next_edge * ef != edges.size()) {
    return ::testing::AssertionFailure() << "edges that no node's edge_count covers";
  }
  if (out->nodes.empty() || out->nodes[0].type != "synthetic" || out->nodes[0].id != 1) {
    return ::testing::AssertionFailure() << "node 0 is not the synthetic root";
  }
  return ::testing::AssertionSuccess();
}

class App : public GarbageCollected<App> {
 public:
  static constexpr std::string_view kTypeName = "App";
  void Trace(Visitor& visitor) const {
    visitor.Trace(cached_instance, "cachedInstance");
    visitor.Trace(scratch);
    visitor.Trace(weak);
  }
  Member<Instance> cached_instance;
  Member<Node> scratch;
  WeakMember<Node> weak;
};

class HeapSnapshotTest : public ::testing::TestWithParam<CollectorKind> {
 protected:
  Snapshot Take(HeapSnapshotSummary* summary = nullptr) {
    std::stringstream out;
    absl::Status status = heap_->WriteHeapSnapshot(out, summary);
    EXPECT_TRUE(status.ok()) << status;
    Snapshot snapshot;
    EXPECT_TRUE(Decode(out.str(), &snapshot));
    return snapshot;
  }
  std::unique_ptr<Heap> heap_ = MakeHeap(GetParam());
};

// The seed's question, asked in DevTools: the path from the root to the memory a
// forgotten global keeps names the global and every field, and the memory's pages are
// a native node under it.
TEST_P(HeapSnapshotTest, TheForgottenGlobalIsOnThePathToTheMemory) {
  Persistent<App> window;
  {
    HandleScope scope(*heap_);
    window = Persistent<App>(*heap_, heap_->New<App>(), "window");
    Local<Instance> instance = Instance::Create(*heap_, {{.initial_pages = 2}}).value();
    window->cached_instance = instance.Get();
    std::memset(instance->memory(0)->data(), 1, 4096);  // one page resident at least
  }
  HeapSnapshotSummary summary;
  Snapshot s = Take(&summary);
  EXPECT_EQ(heap_->stats().last_cycle.reason, CollectionReason::kHeapSnapshot);
  EXPECT_EQ(summary.nodes, s.nodes.size());
  EXPECT_EQ(summary.edges, s.edges.size());
  EXPECT_EQ(summary.native_nodes, 1u);
  EXPECT_EQ(summary.object_nodes, heap_->stats().live_objects);

  const std::vector<size_t> memories = s.Named("LinearMemory");
  ASSERT_EQ(memories.size(), 1u);
  const auto path = s.PathTo(memories[0]);
  std::vector<std::string> names;
  for (const auto* e : path) names.push_back(e->name + " " + s.nodes[e->to].name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "1 (GC roots)", "1 (Persistent handles)", "0 Persistent \"window\"",
                       "window App", "cachedInstance Instance",
                       "memories gclab::HeapVector store", "0 LinearMemory"}))
      << s.Describe(path);
  EXPECT_EQ(s.nodes[path[5]->to].type, "array");
  EXPECT_EQ(s.nodes[memories[0]].type, "object");
  EXPECT_GE(s.nodes[memories[0]].self_size, sizeof(LinearMemory));

  // The backing store: a native node under the memory.
  const std::vector<size_t> stores = s.Named("LinearMemory backing store (128 KiB)");
  ASSERT_EQ(stores.size(), 1u);
  EXPECT_EQ(s.nodes[stores[0]].type, "native");
  EXPECT_GE(s.nodes[stores[0]].self_size, 4096u);
  EXPECT_LE(s.nodes[stores[0]].self_size, 128u * 1024);
  ASSERT_EQ(s.EdgesBetween(memories[0], stores[0]).size(), 1u);
  EXPECT_EQ(s.EdgesBetween(memories[0], stores[0])[0]->type, "internal");

  // The fix: clear the field, and the next snapshot has no memory.
  window->cached_instance = nullptr;
  Snapshot after = Take();
  EXPECT_TRUE(after.Named("LinearMemory").empty());
  EXPECT_EQ(after.Named("App").size(), 1u);
}

// Every kind of root, under (GC roots); unnamed fields by offset; Locals by slot.
TEST_P(HeapSnapshotTest, EveryRootKindHasItsNode) {
  struct Hook : CollectionHook {
    std::string_view name() const override { return "registry"; }
    void TraceRoots(Visitor& v) override { v.Trace(entry, "entry"); }
    Member<Node> entry;
  } hook;
  HandleScope scope(*heap_);
  Local<App> app = heap_->New<App>();
  app->scratch = heap_->NewRaw<Node>(7);
  Persistent<Node> unnamed(*heap_, heap_->New<Node>(1));
  heap_->AddCollectionHook(&hook);
  hook.entry = heap_->NewRaw<Node>(2);
  Snapshot s = Take();
  heap_->RemoveCollectionHook(&hook);

  const size_t gc_roots = s.Named("(GC roots)").at(0);
  for (const char* category :
       {"(Persistent handles)", "(Local handles)", "(Kept objects)", "(hook \"registry\")"}) {
    const std::vector<size_t> found = s.Named(category);
    ASSERT_EQ(found.size(), 1u) << category;
    EXPECT_EQ(s.nodes[found[0]].type, "synthetic");
    EXPECT_EQ(s.EdgesBetween(gc_roots, found[0]).size(), 1u) << category;
  }
  const size_t hook_node = s.Named("(hook \"registry\")")[0];
  ASSERT_EQ(s.nodes[hook_node].edges.size(), 1u);
  EXPECT_EQ(s.edges[s.nodes[hook_node].edges[0]].name, "entry");
  // The App is in a Local; its unnamed field shows its offset.
  const size_t app_node = s.Named("App").at(0);
  EXPECT_EQ(s.PathTo(app_node).at(1)->to, s.Named("(Local handles)")[0]);
  bool offset_edge = false;
  for (size_t e : s.nodes[app_node].edges) {
    offset_edge |= s.edges[e].type == "property" && s.edges[e].name[0] == '+';
  }
  EXPECT_TRUE(offset_edge);
  // The unnamed Persistent: an element of (Persistent handles).
  const size_t persistents = s.Named("(Persistent handles)")[0];
  ASSERT_EQ(s.nodes[persistents].edges.size(), 1u);
  EXPECT_EQ(s.edges[s.nodes[persistents].edges[0]].type, "element");
}

// A WeakMember is a weak edge; what only weak references reached is gone.
TEST_P(HeapSnapshotTest, WeakReferencesAreWeakEdges) {
  Persistent<App> app;
  Persistent<Node> other;
  Persistent<App> second;
  {
    HandleScope scope(*heap_);
    app = Persistent<App>(*heap_, heap_->New<App>(), "app");
    other = Persistent<Node>(*heap_, heap_->New<Node>(3), "other");
    app->weak = other.Get();
    second = Persistent<App>(*heap_, heap_->New<App>(), "second");
    second->weak = heap_->NewRaw<Node>(4);  // nothing else reaches it
  }
  HeapSnapshotSummary summary;
  Snapshot s = Take(&summary);
  EXPECT_EQ(summary.object_nodes, heap_->stats().live_objects);
  EXPECT_EQ(second->weak.Get(), nullptr) << "cleared by the snapshot's collection";
  // The App under "app" has a weak edge to the Node under "other".
  const size_t app_object = s.edges[s.nodes[s.Named("Persistent \"app\"")[0]].edges[0]].to;
  const size_t other_object = s.edges[s.nodes[s.Named("Persistent \"other\"")[0]].edges[0]].to;
  const auto between = s.EdgesBetween(app_object, other_object);
  ASSERT_EQ(between.size(), 1u);
  EXPECT_EQ(between[0]->type, "weak");
  // Its retainers, without weak edges: only the "other" global.
  EXPECT_EQ(s.PathTo(other_object).at(2)->to, s.Named("Persistent \"other\"")[0]);
}

// Ephemerons as V8 draws WeakMap entries: weak to the key, the value internal from
// both table and key; an entry whose key died is gone with its value.
TEST_P(HeapSnapshotTest, EphemeronValuesAreReachedThroughTheirKey) {
  HandleScope scope(*heap_);
  Persistent<WeakMap<Node, Node>> map(*heap_, WeakMap<Node, Node>::New(*heap_), "map");
  Persistent<Node> key(*heap_, heap_->New<Node>(1), "key");
  ASSERT_TRUE(map->Set(key.Get(), heap_->NewRaw<Node>(10)).ok());
  {
    HandleScope inner(*heap_);
    Local<Node> dead_key = heap_->New<Node>(2);
    ASSERT_TRUE(map->Set(dead_key.Get(), heap_->NewRaw<Node>(20)).ok());
  }
  HeapSnapshotSummary summary;
  Snapshot s = Take(&summary);
  EXPECT_EQ(map->size(), 1u);
  EXPECT_EQ(summary.object_nodes, heap_->stats().live_objects);
  const size_t key_object = s.edges[s.nodes[s.Named("Persistent \"key\"")[0]].edges[0]].to;
  std::vector<const Snapshot::SEdge*> pairs;
  for (const auto& e : s.edges) {
    if (e.name.rfind("part of key (", 0) == 0) pairs.push_back(&e);
  }
  ASSERT_EQ(pairs.size(), 2u) << "one entry left, two edges to its value";
  const size_t value = pairs[0]->to;
  EXPECT_EQ(pairs[1]->to, value);
  EXPECT_EQ(pairs[0]->type, "internal");
  EXPECT_EQ(pairs[0]->name, pairs[1]->name);
  std::set<size_t> froms = {pairs[0]->from, pairs[1]->from};
  EXPECT_TRUE(froms.count(key_object)) << "the key retains its value";
  const size_t table = *froms.begin() == key_object ? *froms.rbegin() : *froms.begin();
  EXPECT_EQ(s.nodes[table].name, "gclab::HeapVector store");
  const auto to_key = s.EdgesBetween(table, key_object);
  ASSERT_EQ(to_key.size(), 1u);
  EXPECT_EQ(to_key[0]->type, "weak");
  EXPECT_NE(pairs[0]->name.find("@" + std::to_string(s.nodes[key_object].id)), std::string::npos)
      << pairs[0]->name;
  // Nodes with value 20 and the dead key are gone: 2 Node objects (key, value).
  EXPECT_EQ(s.Named(std::string(s.nodes[key_object].name)).size(), 2u);
}

struct Odd : GarbageCollected<Odd> {
  static constexpr std::string_view kTypeName = "Caf\xc3\xa9 \"quoted\"\t\xf0\x9f\x98\x80 \xff";
  void Trace(Visitor&) const {}
};

// Type names are escaped so that the file is ASCII JSON, and read back as written
// (a byte that is not UTF-8 as U+FFFD).
TEST_P(HeapSnapshotTest, NamesAreEscaped) {
  HandleScope scope(*heap_);
  Local<Odd> odd = heap_->New<Odd>();
  ASSERT_FALSE(odd.IsEmpty());
  Snapshot s = Take();
  EXPECT_EQ(s.Named("Caf\xc3\xa9 \"quoted\"\t\xf0\x9f\x98\x80 \xef\xbf\xbd").size(), 1u);
}

// Bad output is a status; a snapshot in a cycle drops the cycle; the heap goes on.
TEST_P(HeapSnapshotTest, ErrorsAreStatuses) {
  HandleScope scope(*heap_);
  Local<Node> kept = heap_->New<Node>(5);
  absl::Status bad_path = heap_->WriteHeapSnapshot("/nonexistent-dir/x.heapsnapshot");
  EXPECT_EQ(bad_path.code(), absl::StatusCode::kInvalidArgument) << bad_path;
  std::stringstream broken;
  broken.setstate(std::ios::badbit);
  EXPECT_EQ(heap_->WriteHeapSnapshot(broken).code(), absl::StatusCode::kDataLoss);
  if (heap_->capabilities().incremental) {
    ASSERT_TRUE(heap_->StartIncrementalCollection().ok());
    Snapshot s = Take();
    EXPECT_FALSE(heap_->IncrementalCollectionInProgress());
    EXPECT_EQ(heap_->stats().abandoned_incremental_cycles, 1u);
  }
  const std::string path = ::testing::TempDir() + "/heap_snapshot_test.heapsnapshot";
  ASSERT_TRUE(heap_->WriteHeapSnapshot(path).ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  Snapshot s;
  EXPECT_TRUE(Decode(text.str(), &s));
  EXPECT_EQ(kept->value, 5);
}

// No memory for the snapshot's tables: ResourceExhausted, and every object's header is
// as it was (the walk keeps node numbers in them).
Local<Node> MakeTree(Heap& heap, int depth) {
  EscapableHandleScope scope(heap);
  if (depth == 0) return scope.Escape(heap.New<Node>(1));
  Local<Node> left = MakeTree(heap, depth - 1);
  Local<Node> right = MakeTree(heap, depth - 1);
  return scope.Escape(heap.New<Node>(1, left, right));
}
int64_t Count(const Node* node) {
  return node == nullptr ? 0 : node->value + Count(node->left.Get()) + Count(node->right.Get());
}

TEST_P(HeapSnapshotTest, NoMemoryForTheTablesIsAStatus) {
  Persistent<Node> tree;
  {
    HandleScope scope(*heap_);
    tree = Persistent<Node>(*heap_, MakeTree(*heap_, 12), "tree");
  }
  // The first three requests are the node and edge tables and the walk's first stack;
  // the fourth, the stack's first growth, comes once the walk has numbered objects.
  for (uint64_t nth : {1, 2, 3, 4, 5}) {
    FaultInjection::FailFrom(nth);
    std::stringstream out;
    const absl::Status status = heap_->WriteHeapSnapshot(out);
    const uint64_t failures = FaultInjection::failures();
    FaultInjection::Reset();
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << nth << ": " << status;
    EXPECT_GT(failures, 0u);
    heap_->CollectGarbage();  // traces every header: a number left in one would stop it
    EXPECT_EQ(Count(tree.Get()), (1 << 13) - 1);
  }
  HeapSnapshotSummary summary;
  Snapshot s = Take(&summary);
  EXPECT_EQ(summary.object_nodes, size_t{(1 << 13) - 1});
}

struct SnapshotsInItsConstructor : GarbageCollected<SnapshotsInItsConstructor> {
  explicit SnapshotsInItsConstructor(Heap& heap) {
    std::stringstream out;
    status = heap.WriteHeapSnapshot(out);
  }
  void Trace(Visitor&) const {}
  absl::Status status;
};

TEST_P(HeapSnapshotTest, NotInsideAConstructor) {
  HandleScope scope(*heap_);
  Local<SnapshotsInItsConstructor> object = heap_->New<SnapshotsInItsConstructor>(*heap_);
  EXPECT_EQ(object->status.code(), absl::StatusCode::kFailedPrecondition) << object->status;
}

INSTANTIATE_TEST_SUITE_P(AllCollectors, HeapSnapshotTest,
                         ::testing::ValuesIn(AllCollectors()), CollectorParamName);

}  // namespace
}  // namespace gclab
