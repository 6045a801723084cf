// Heap snapshots (heap_snapshot.h): a walk from the roots that numbers each node when
// it is first reached and records each node's edges as one run when it traces the
// node, then the JSON text of V8's `.heapsnapshot` format, nodes in number order. The
// walk is depth-first with a prefetching FIFO, as mark-sweep's marking is; each node's
// edges are one run in the edge table, found from the node (first_edge), so the text
// can list them in node order whatever order the walk traced the nodes in.
//
// The format (as V8 writes it and DevTools, memlab and V8's own tests read it): flat
// arrays of numbers, `nodes` with 7 per node and `edges` with 3 per edge; a node's
// edges are the next `edge_count` edges after those of the nodes before it, and an
// edge names its target by the index of the target's first number in `nodes`
// (ordinal x 7). Names are indices into `strings`, except for element and hidden
// edges, whose second field is a plain number. Readers parse the numbers as unsigned
// 32-bit digits: no signs, fractions or exponents.
#include "gc/heap_snapshot.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gc/fault_injection.h"
#include "gc/heap.h"
#include "gc/internal/heap_impl.h"
#include "gc/internal/side_table.h"

namespace gclab {
namespace internal {

namespace {

// meta.node_types[0] and meta.edge_types[0], in V8's order.
enum NodeType : uint8_t { kArrayNode = 1, kObjectNode = 3, kNativeNode = 8, kSyntheticNode = 9 };
enum EdgeType : uint8_t { kElementEdge = 1, kPropertyEdge = 2, kInternalEdge = 3, kWeakEdge = 6 };
constexpr uint64_t kNodeFieldCount = 7;

constexpr char kMeta[] =
    R"({"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],)"
    R"("node_types":[["hidden","array","string","object","code","closure","regexp","number",)"
    R"("native","synthetic","concatenated string","sliced string","symbol","bigint",)"
    R"("object shape"],"string","number","number","number","number","number"],)"
    R"("edge_fields":["type","name_or_index","to_node"],)"
    R"("edge_types":[["context","element","property","internal","hidden","shortcut","weak"],)"
    R"("string_or_number","node"],)"
    R"("trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],)"
    R"("trace_node_fields":["id","function_info_index","count","size","children"],)"
    R"("sample_fields":["timestamp_us","last_assigned_id"],)"
    R"("location_fields":["object_index","script_id","line","column"]})";

// A node's id: odd (as V8's ids of heap objects), 1 for the root, the only node the
// readers may find with id 0 or 1.
uint32_t IdOf(uint32_t ordinal) { return 2 * ordinal + 1; }

// Bytes of [data, data + bytes) resident in RAM; `bytes` if the kernel will not say.
size_t ResidentBytes(const void* data, size_t bytes) {
  if (bytes == 0) return 0;
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes + page - 1) & ~(page - 1);
  constexpr size_t kPagesPerCall = 1 << 16;
  std::vector<unsigned char> in_core(kPagesPerCall);
  size_t resident_pages = 0;
  for (uintptr_t at = begin; at < end; at += kPagesPerCall * page) {
    const size_t n = std::min<size_t>(kPagesPerCall, (end - at) / page);
    if (mincore(reinterpret_cast<void*>(at), n * page, in_core.data()) != 0) return bytes;
    for (size_t i = 0; i < n; ++i) resident_pages += in_core[i] & 1;
  }
  return std::min(bytes, resident_pages * page);
}

std::string HumanBytes(size_t bytes) {
  if (bytes >= (size_t{1} << 30) && bytes % (size_t{1} << 30) == 0) {
    return absl::StrCat(bytes >> 30, " GiB");
  }
  if (bytes >= (size_t{1} << 20)) return absl::StrFormat("%.4g MiB", bytes / 1048576.0);
  if (bytes >= (size_t{1} << 10)) return absl::StrFormat("%.4g KiB", bytes / 1024.0);
  return absl::StrCat(bytes, " bytes");
}

// For the node and edge tables, tens of megabytes built once and dropped: a large
// table is mapped on its own and asks for transparent huge pages, so that filling it
// takes a page fault per 2 MiB rather than per 4 KiB. (With 4 KiB pages, the faults
// were two thirds of the walk of a heap of a million objects: 185 ms against 30.) A
// small one is an ordinary side table (side_table.h). Either is one counted request
// for memory (gc/fault_injection.h); a refused one throws, and the walk's caller turns
// that into ResourceExhausted.
template <typename T>
struct BulkAllocator {
  using value_type = T;
  static constexpr size_t kMapAbove = size_t{1} << 20;
  static constexpr const char* kWhat = "heap snapshot table";
  BulkAllocator() = default;
  template <typename U>
  BulkAllocator(const BulkAllocator<U>&) {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kMapAbove) {
      void* p = TryAllocateSideTable(bytes, kWhat);
      if (p == nullptr) throw std::bad_alloc();
      return static_cast<T*>(p);
    }
    if (!AllowMemoryRequest(kWhat)) throw std::bad_alloc();
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, bytes, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kMapAbove) {
      FreeSideTable(p);
    } else {
      munmap(p, bytes);
    }
  }
  template <typename U>
  bool operator==(const BulkAllocator<U>&) const {
    return true;
  }
};
template <typename T>
using BulkVector = std::vector<T, BulkAllocator<T>>;

uint32_t Clamp32(size_t n) {
  return n > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max()
                                                   : static_cast<uint32_t>(n);
}

// `s` as a JSON string. Everything outside printable ASCII is a \u escape: readers
// decode the file in chunks and may split a multi-byte UTF-8 sequence (memlab does).
// A byte that is not part of valid UTF-8 becomes U+FFFD.
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto escape = [&](uint32_t unit) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(unit >> shift) & 0xf];
  };
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x80) {  // a control character, or DEL
      escape(c);
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte, then continuation bytes.
    const int length = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    uint32_t code = length == 4 ? c & 0x07 : length == 3 ? c & 0x0f : c & 0x1f;
    bool valid = length != 0 && i + length <= s.size();
    for (int k = 1; valid && k < length; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      valid = (d & 0xc0) == 0x80;
      code = (code << 6) | (d & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not valid either.
    valid = valid && !(length == 3 && code < 0x800) && !(length == 4 && code < 0x10000) &&
            !(code >= 0xd800 && code < 0xe000) && code <= 0x10ffff;
    if (!valid) {
      escape(0xfffd);
      ++i;
      continue;
    }
    if (code >= 0x10000) {
      code -= 0x10000;
      escape(0xd800 + (code >> 10));
      escape(0xdc00 + (code & 0x3ff));
    } else {
      escape(code);
    }
    i += length;
  }
  out += '"';
}

// Appends to a buffer that goes to the stream a megabyte at a time. Between two
// MaybeFlush calls, numbers and characters may add up to kSlack bytes.
class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out)
      : out_(out), buffer_(new char[kFlushAt + kSlack]), at_(buffer_.get()) {}
  void Number(uint64_t n) { at_ = std::to_chars(at_, at_ + 20, n).ptr; }
  void Char(char c) { *at_++ = c; }
  void Text(std::string_view s) {
    if (static_cast<size_t>(at_ - buffer_.get()) + s.size() > kFlushAt) Flush();
    if (s.size() > kFlushAt) {
      out_.write(s.data(), static_cast<std::streamsize>(s.size()));
      written_ += s.size();
      return;
    }
    std::memcpy(at_, s.data(), s.size());
    at_ += s.size();
  }
  void MaybeFlush() {
    if (static_cast<size_t>(at_ - buffer_.get()) >= kFlushAt) Flush();
  }
  void Flush() {
    const auto n = static_cast<size_t>(at_ - buffer_.get());
    out_.write(buffer_.get(), static_cast<std::streamsize>(n));
    written_ += n;
    at_ = buffer_.get();
  }
  size_t written() const { return written_; }

 private:
  static constexpr size_t kFlushAt = 1 << 20;
  static constexpr size_t kSlack = 4096;
  std::ostream& out_;
  std::unique_ptr<char[]> buffer_;
  char* at_;
  size_t written_ = 0;
};

// [stats.snapshot] An object's node number is kept in its header while the snapshot is
// built, in the form a pending ephemeron key's index takes during a collection (the
// only other use of that form, and no collection runs meanwhile); its TypeInfo waits in
// the node. The destructor puts every header back, whatever ended the walk.
class SnapshotBuilder final : public Visitor {
 public:
  explicit SnapshotBuilder(size_t expected_objects) {
    nodes_.reserve(expected_objects + 64);
    edges_.reserve(expected_objects + expected_objects / 2 + 64);
    String("");  // strings[0]: the root's name and every unnamed node's
    key_name_ = String("key");  // every ephemeron's weak edge to its key
  }

  ~SnapshotBuilder() {
    for (const Node& node : nodes_) {
      if (node.object != nullptr) {
        ObjectHeader::FromPayload(node.object)->word = reinterpret_cast<uintptr_t>(node.info);
      }
    }
  }
  SnapshotBuilder(const SnapshotBuilder&) = delete;
  SnapshotBuilder& operator=(const SnapshotBuilder&) = delete;

  uint32_t AddSyntheticNode(std::string_view name) {
    nodes_.push_back({nullptr, nullptr, String(name), 0, 0, 0, kSyntheticNode});
    return static_cast<uint32_t>(nodes_.size() - 1);
  }

  // Edges from now on leave node `from`; `holder` is its object, or null for a
  // synthetic node, whose unnamed references are elements.
  void BeginNode(uint32_t from, const void* holder) {
    from_ = from;
    nodes_[from].first_edge = static_cast<uint32_t>(edges_.size());
    holder_ = holder;
    holder_has_elements_ = holder == nullptr || nodes_[from].type == kArrayNode;
    next_element_ = 0;
  }

  void ElementEdge(uint32_t index, uint32_t to) { AddEdge(kElementEdge, index, to); }
  void PropertyEdge(std::string_view name, uint32_t to) { AddEdge(kPropertyEdge, String(name), to); }

  // The node of the object at `object` (a payload address), made when first reached.
  uint32_t Reach(const void* object) {
    ObjectHeader* header = ObjectHeader::FromPayload(object);
    if (header->is_pending_key()) return static_cast<uint32_t>(header->pending_key_index());
    const TypeInfo* type = header->type();
    const TypeEntry& entry = TypeFor(type);
    const auto ordinal = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back({object, type, entry.name, Clamp32(CellSizeOf(header, type)), 0, 0,
                      entry.is_vector_store ? kArrayNode : kObjectNode});
    header->set_pending_key(ordinal);
    stack_.push_back(ordinal);
    ++object_nodes_;
    return ordinal;
  }

  // Traces every object node not yet traced, in order; tracing makes more nodes.
  // Traces every object reached and not yet traced; tracing reaches more. As marking
  // does (mark_sweep.cc, DrainFor), objects leave the stack through a small FIFO; here
  // each is traced once on the way in, only to prefetch the headers of the objects it
  // references, which Reach reads kPrefetchDepth objects later. (Reading them cold
  // was 90% of the walk.)
  void Run() {
    constexpr size_t kPrefetchDepth = 8;
    uint32_t fifo[kPrefetchDepth];
    size_t head = 0;
    size_t count = 0;
    Prefetcher prefetcher;
    for (;;) {
      while (count < kPrefetchDepth && !stack_.empty()) {
        const uint32_t ordinal = stack_.back();
        stack_.pop_back();
        nodes_[ordinal].info->trace(nodes_[ordinal].object, prefetcher);
        fifo[(head + count) % kPrefetchDepth] = ordinal;
        ++count;
      }
      if (count == 0) break;
      const uint32_t ordinal = fifo[head];
      head = (head + 1) % kPrefetchDepth;
      --count;
      const void* object = nodes_[ordinal].object;
      BeginNode(ordinal, object);
      nodes_[ordinal].info->trace(object, *this);
    }
  }

  void VisitSlot(void** slot) override {
    const uint32_t to = Reach(*slot);
    if (holder_has_elements_) {
      ElementEdge(next_element_++, to);
    } else {
      AddEdge(kPropertyEdge, OffsetName(slot), to);
    }
  }
  void VisitNamedSlot(void** slot, const char* field_name) override {
    const uint32_t to = Reach(*slot);
    AddEdge(kPropertyEdge, FieldName(field_name), to);
  }
  void VisitWeakSlot(void** slot) override {
    const uint32_t to = Reach(*slot);
    // A weak edge's name is a string, even for an element.
    AddEdge(kWeakEdge, holder_has_elements_ ? String(absl::StrCat(next_element_++)) : OffsetName(slot),
            to);
  }
  // V8's WeakMap entries: weak to the key; the value through both table and key.
  void VisitEphemeron(void** key_slot, void** value_slot) override {
    const uint32_t key = Reach(*key_slot);
    AddEdge(kWeakEdge, key_name_, key);
    if (*value_slot == nullptr) return;
    const uint32_t value = Reach(*value_slot);
    const uint32_t name = String(absl::StrFormat(
        "part of key (%s @%u) -> value (%s @%u) pair in WeakMap (table @%u)",
        strings_[nodes_[key].name], IdOf(key), strings_[nodes_[value].name], IdOf(value),
        IdOf(from_)));
    AddEdge(kInternalEdge, name, value);
    // The key's own edges are one run, made when it is traced: this one joins them when
    // they are written.
    key_edges_.push_back({key, name, value, kInternalEdge});
  }
  void VisitExternalMemory(const void* data, size_t bytes, const char* name) override {
    nodes_.push_back({nullptr, nullptr, String(absl::StrFormat("%s (%s)", name, HumanBytes(bytes))),
                      Clamp32(ResidentBytes(data, bytes)), 0, 0, kNativeNode});
    ++native_nodes_;
    AddEdge(kInternalEdge, FieldName(name), static_cast<uint32_t>(nodes_.size() - 1));
  }

  // The JSON text; false if there are too many nodes for 32-bit node indices.
  bool Write(std::ostream& out, HeapSnapshotSummary& summary) {
    if (nodes_.size() * kNodeFieldCount > std::numeric_limits<uint32_t>::max() ||
        edges_.size() > std::numeric_limits<uint32_t>::max()) {
      return false;
    }
    // The key edges, grouped by key, each key's in the order they were made.
    std::stable_sort(key_edges_.begin(), key_edges_.end(),
                     [](const Edge& a, const Edge& b) { return a.from < b.from; });
    JsonWriter w(out);
    w.Text(R"({"snapshot":{"meta":)");
    w.Text(kMeta);
    w.Text(R"(,"node_count":)");
    w.Number(nodes_.size());
    w.Text(R"(,"edge_count":)");
    w.Number(edges_.size() + key_edges_.size());
    w.Text(R"(,"trace_function_count":0},)");
    w.Text("\n\"nodes\":[");
    size_t k = 0;  // key_edges_ of the nodes before i
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      size_t key_edge_count = 0;
      for (; k < key_edges_.size() && key_edges_[k].from == i; ++k) ++key_edge_count;
      if (i > 0) w.Text("\n,");
      w.Number(n.type);
      w.Char(',');
      w.Number(n.name);
      w.Char(',');
      w.Number(IdOf(static_cast<uint32_t>(i)));
      w.Char(',');
      w.Number(n.self_size);
      w.Char(',');
      w.Number(n.edge_count + key_edge_count);
      w.Text(",0,0");
      w.MaybeFlush();
    }
    w.Text("],\n\"edges\":[");
    bool first = true;
    auto write_edge = [&](const Edge& e) {
      if (!first) w.Text("\n,");
      first = false;
      w.Number(e.type);
      w.Char(',');
      w.Number(e.name_or_index);
      w.Char(',');
      w.Number(e.to * kNodeFieldCount);
      w.MaybeFlush();
    };
    // Node by node: its run in edges_, then its edges as an ephemeron key.
    k = 0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      for (uint32_t e = 0; e < n.edge_count; ++e) write_edge(edges_[n.first_edge + e]);
      for (; k < key_edges_.size() && key_edges_[k].from == i; ++k) write_edge(key_edges_[k]);
    }
    w.Text("],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n"
           "\"locations\":[],\n\"strings\":[");
    std::string escaped;
    for (size_t i = 0; i < strings_.size(); ++i) {
      escaped.clear();
      if (i > 0) escaped = "\n,";
      AppendJsonString(escaped, strings_[i]);
      w.Text(escaped);
    }
    w.Text("]}\n");
    w.Flush();
    summary.nodes = nodes_.size();
    summary.object_nodes = object_nodes_;
    summary.native_nodes = native_nodes_;
    summary.edges = edges_.size() + key_edges_.size();
    summary.strings = strings_.size();
    summary.bytes_written = w.written();
    return true;
  }

 private:
  struct Node {
    const void* object;    // the payload; null for synthetic and native nodes
    const TypeInfo* info;  // the object's, while its header holds the node number
    uint32_t name;
    uint32_t self_size;
    uint32_t edge_count;  // of its run in edges_, which starts at first_edge
    uint32_t first_edge;
    uint8_t type;
  };
  struct Edge {
    uint32_t from;
    uint32_t name_or_index;
    uint32_t to;
    uint8_t type;
  };
  // Prefetches the header of every object a trace reports.
  class Prefetcher final : public Visitor {
   public:
    void VisitSlot(void** slot) override { __builtin_prefetch(ObjectHeader::FromPayload(*slot)); }
    void VisitNamedSlot(void** slot, const char*) override { VisitSlot(slot); }
    void VisitWeakSlot(void** slot) override { VisitSlot(slot); }
    void VisitEphemeron(void** key_slot, void** value_slot) override {
      VisitSlot(key_slot);
      if (*value_slot != nullptr) VisitSlot(value_slot);
    }
  };
  struct TypeEntry {
    uint32_t name;
    bool is_vector_store;
  };

  void AddEdge(uint8_t type, uint32_t name_or_index, uint32_t to) {
    edges_.push_back({from_, name_or_index, to, type});
    ++nodes_[from_].edge_count;
  }

  uint32_t String(std::string_view s) {
    const auto it = string_index_.find(s);
    if (it != string_index_.end()) return it->second;
    strings_.emplace_back(s);  // a deque: the views in string_index_ stay valid
    const auto index = static_cast<uint32_t>(strings_.size() - 1);
    string_index_.emplace(strings_.back(), index);
    return index;
  }
  const TypeEntry& TypeFor(const TypeInfo* type) {
    if (type == last_type_) return *last_entry_;
    last_type_ = type;
    auto it = types_.find(type);
    if (it == types_.end()) {
      it = types_.emplace(type, TypeEntry{String(type->name), type->name == kHeapVectorStoreTypeName})
               .first;
    }
    return *(last_entry_ = &it->second);
  }
  uint32_t FieldName(const char* name) {
    // Most types name a few fields, met again for each object: a small cache by address
    // before the table.
    FieldCacheEntry& cached = field_cache_[(reinterpret_cast<uintptr_t>(name) >> 3) % kFieldCache];
    if (cached.name == name) return cached.index;
    const auto it = field_names_.find(name);
    const uint32_t index = it != field_names_.end() ? it->second : (field_names_[name] = String(name));
    cached = {name, index};
    return index;
  }
  uint32_t OffsetName(void** slot) {
    const auto offset = static_cast<size_t>(reinterpret_cast<const char*>(slot) -
                                            static_cast<const char*>(holder_));
    if (offset / 8 >= offset_names_.size()) offset_names_.resize(offset / 8 + 1, UINT32_MAX);
    uint32_t& name = offset_names_[offset / 8];
    if (name == UINT32_MAX) name = String(absl::StrCat("+", offset));
    return name;
  }

  BulkVector<Node> nodes_;
  BulkVector<Edge> edges_;
  std::vector<Edge> key_edges_;  // ephemeron key -> value, made when the table is traced
  std::deque<std::string> strings_;
  absl::flat_hash_map<std::string_view, uint32_t> string_index_;
  absl::node_hash_map<const TypeInfo*, TypeEntry> types_;  // entries stay put
  const TypeInfo* last_type_ = nullptr;
  const TypeEntry* last_entry_ = nullptr;
  absl::flat_hash_map<const char*, uint32_t> field_names_;
  struct FieldCacheEntry {
    const char* name = nullptr;
    uint32_t index = 0;
  };
  static constexpr size_t kFieldCache = 64;
  FieldCacheEntry field_cache_[kFieldCache];
  std::vector<uint32_t> offset_names_;  // by offset / 8
  uint32_t key_name_ = 0;
  BulkVector<uint32_t> stack_;  // objects reached, not yet traced
  size_t object_nodes_ = 0;
  size_t native_nodes_ = 0;
  uint32_t from_ = 0;
  const void* holder_ = nullptr;
  bool holder_has_elements_ = true;
  uint32_t next_element_ = 0;
};

}  // namespace

absl::Status HeapImpl::WriteHeapSnapshot(std::ostream& out, HeapSnapshotSummary* summary) {
  GCLAB_CHECK(!in_collection_, "WriteHeapSnapshot during a collection");
  if (!heap_.CanCollectNow()) {
    return absl::FailedPreconditionError(
        "gclab: WriteHeapSnapshot inside a heap object's constructor, where no collection "
        "may start");
  }
  // [stats.snapshot] Only what is live, every weak reference and ephemeron key left
  // alive: what the file says retains an object does.
  Collect(CollectionReason::kHeapSnapshot, CollectionKind::kMajor);
  heap_.alloc_.FlushBump();
  HeapSnapshotSummary local;
  try {
    SnapshotBuilder b(stats_.live_objects);
    const uint32_t root = b.AddSyntheticNode("");
    const uint32_t gc_roots = b.AddSyntheticNode("(GC roots)");
    const uint32_t persistents = b.AddSyntheticNode("(Persistent handles)");
    const uint32_t locals = b.AddSyntheticNode("(Local handles)");
    const uint32_t kept = b.AddSyntheticNode("(Kept objects)");
    std::vector<uint32_t> hook_nodes;
    for (CollectionHook* hook : hooks_) {
      hook_nodes.push_back(b.AddSyntheticNode(absl::StrFormat("(hook \"%s\")", hook->name())));
    }
    struct Named {
      uint32_t node;
      void** slot;
      const char* name;
    };
    std::vector<Named> named;
    heap_.persistents_.ForEachNamedSlot([&](void** slot, const char* name) {
      if (name != nullptr) {
        named.push_back({b.AddSyntheticNode(absl::StrFormat("Persistent \"%s\"", name)), slot, name});
      }
    });

    // Edges, node by node in order: the synthetic nodes', then the objects'.
    b.BeginNode(root, nullptr);
    b.ElementEdge(1, gc_roots);
    b.BeginNode(gc_roots, nullptr);
    uint32_t index = 1;
    for (uint32_t category : {persistents, locals, kept}) b.ElementEdge(index++, category);
    for (uint32_t hook : hook_nodes) b.ElementEdge(index++, hook);

    b.BeginNode(persistents, nullptr);
    index = 0;
    size_t next_named = 0;
    heap_.persistents_.ForEachNamedSlot([&](void** slot, const char* name) {
      b.ElementEdge(index++, name != nullptr ? named[next_named++].node : b.Reach(*slot));
    });
    b.BeginNode(locals, nullptr);
    index = 0;
    heap_.handles_.ForEachSlot([&](void** slot) {
      if (*slot != nullptr) b.ElementEdge(index, b.Reach(*slot));
      ++index;
    });
    b.BeginNode(kept, nullptr);
    index = 0;
    for (void* object : kept_) b.ElementEdge(index++, b.Reach(object));
    for (size_t i = 0; i < hooks_.size(); ++i) {
      b.BeginNode(hook_nodes[i], nullptr);
      hooks_[i]->TraceRoots(b);
    }
    for (const Named& n : named) {
      b.BeginNode(n.node, nullptr);
      b.PropertyEdge(n.name, b.Reach(*n.slot));
    }
    b.Run();
    if (!b.Write(out, local)) {
      return absl::ResourceExhaustedError(
          "gclab: the heap has too many objects for a heap snapshot (node indices are 32-bit)");
    }
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("gclab: no memory for the heap snapshot's tables");
  }
  if (!out.good()) return absl::DataLossError("gclab: writing the heap snapshot failed");
  if (summary != nullptr) *summary = local;
  return absl::OkStatus();
}

}  // namespace internal

absl::Status Heap::WriteHeapSnapshot(std::ostream& out, HeapSnapshotSummary* summary) {
  return impl_->WriteHeapSnapshot(out, summary);
}

absl::Status Heap::WriteHeapSnapshot(const std::string& path, HeapSnapshotSummary* summary) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file.is_open()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gclab: cannot write a heap snapshot to \"%s\": %s", path, std::strerror(errno)));
  }
  absl::Status status = impl_->WriteHeapSnapshot(file, summary);
  file.close();
  if (status.ok() && file.fail()) {
    return absl::DataLossError(
        absl::StrFormat("gclab: writing the heap snapshot to \"%s\" failed", path));
  }
  return status;
}

}  // namespace gclab
