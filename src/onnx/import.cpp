// ONNX → IR. Validates as it goes: every problem is an Error naming the file and what is wrong.
#include <algorithm>
#include <filesystem>
#include <set>

#include <google/protobuf/io/coded_stream.h>

#include "core/error.h"
#include "core/file_util.h"
#include "onnx/onnx_io.h"
#include "onnx/proto_tensor.h"

namespace tinyqat {
namespace fs = std::filesystem;

namespace {

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& v, const std::string& what) {
  ValueInfo vi;
  vi.name = v.name();
  TQ_CHECK(!vi.name.empty(), "{}: a graph input/output has no name", what);
  if (!v.has_type()) return vi;
  TQ_CHECK(v.type().has_tensor_type(),
           "{}: value '{}' is not a tensor (sequences and maps are not supported)", what, vi.name);
  const auto& tt = v.type().tensor_type();
  if (tt.elem_type() != 0)
    vi.dtype = dtype_of_onnx(tt.elem_type(), fmt::format("{}: value '{}'", what, vi.name));
  if (tt.has_shape()) {
    vi.has_shape = true;
    TQ_CHECK(tt.shape().dim_size() <= kMaxRank, "{}: value '{}' has rank {}, over the limit {}", what,
             vi.name, tt.shape().dim_size(), kMaxRank);
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        TQ_CHECK(d.dim_value() >= 0, "{}: value '{}' has a negative dimension", what, vi.name);
        TQ_CHECK(d.dim_value() <= kMaxDim, "{}: value '{}' has an absurd dimension {}", what, vi.name,
                 d.dim_value());
        vi.shape.push_back(Dim::known(d.dim_value()));
      } else {
        vi.shape.push_back(Dim::symbol(d.dim_param()));
      }
    }
  }
  return vi;
}

// An external-data `offset` / `length`: decimal digits only, within int64 (ONNX stores them as text).
int64_t external_number(const std::string& v, const char* key, const std::string& ctx) {
  TQ_CHECK(!v.empty() && v.size() <= 18 &&
               std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }),
           "{}: external data {} '{}' is not a non-negative decimal integer below 10^18", ctx, key,
           v.size() > 40 ? v.substr(0, 40) + "..." : v);
  return std::stoll(v);
}

// Reads an initializer stored outside the model file. The location must stay inside the model's folder;
// only the claimed range is read, after it is checked against the tensor's size and the file's.
Tensor load_external(const onnx::TensorProto& p, const std::string& base_dir, const std::string& what) {
  std::string ctx = fmt::format("{}: initializer '{}'", what, p.name());
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = external_number(kv.value(), "offset", ctx);
    else if (kv.key() == "length")
      length = external_number(kv.value(), "length", ctx);
  }
  TQ_CHECK(!location.empty(), "{} is stored externally but names no location", ctx);
  fs::path rel(location);
  TQ_CHECK(!rel.is_absolute(),
           "{}: external data location '{}' is absolute; it must be relative to the model", ctx, location);
  for (const auto& part : rel)
    TQ_CHECK(part != "..", "{}: external data location '{}' escapes the model's folder ('..' is not allowed)",
             ctx, location);
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(base_dir.empty() ? "." : base_dir), ec);
  TQ_CHECK(!ec, "{}: cannot resolve the model's folder '{}': {}", ctx, base_dir, ec.message());
  fs::path full = fs::weakly_canonical(base / rel, ec);
  TQ_CHECK(!ec, "{}: cannot resolve external data location '{}': {}", ctx, location, ec.message());
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  TQ_CHECK(b == base.end(), "{}: external data location '{}' resolves outside the model's folder", ctx,
           location);
  TQ_CHECK(fs::exists(full, ec), "{}: external data file '{}' is missing", ctx, full.string());
  DType t = dtype_of_onnx(p.data_type(), ctx);
  Shape shape(p.dims().begin(), p.dims().end());
  int64_t want = checked_numel(shape, t) * static_cast<int64_t>(dtype_size(t));
  if (length < 0) length = want;
  TQ_CHECK(length == want, "{}: external data length {} does not match {} {} ({} bytes)", ctx, length,
           dtype_name(t), shape_str(shape), want);
  std::vector<uint8_t> bytes;
  try {
    bytes = read_file_range(full.string(), static_cast<uint64_t>(offset), static_cast<uint64_t>(length));
  } catch (const Error& e) {
    fail("{}: external data file '{}': {}", ctx, location, e.what());
  }
  return tensor_from_raw(t, shape, bytes.data(), bytes.size(), ctx);
}

Tensor initializer_from_proto(const onnx::TensorProto& p, const std::string& base_dir,
                              const std::string& what) {
  if (p.data_location() == onnx::TensorProto::EXTERNAL) return load_external(p, base_dir, what);
  return tensor_from_proto(p, fmt::format("{}: initializer '{}'", what, p.name()));
}

Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& ctx) {
  switch (a.type()) {
    case onnx::AttributeProto::INT:
      return Attribute::of_int(a.i());
    case onnx::AttributeProto::FLOAT:
      return Attribute::of_float(a.f());
    case onnx::AttributeProto::STRING:
      return Attribute::of_string(a.s());
    case onnx::AttributeProto::INTS:
      return Attribute::of_ints({a.ints().begin(), a.ints().end()});
    case onnx::AttributeProto::FLOATS:
      return Attribute::of_floats({a.floats().begin(), a.floats().end()});
    case onnx::AttributeProto::TENSOR:
      return Attribute::of_tensor(tensor_from_proto(a.t(), ctx));
    case onnx::AttributeProto::STRINGS: {
      Attribute r;
      r.kind = Attribute::Kind::Strings;
      r.strings.assign(a.strings().begin(), a.strings().end());
      return r;
    }
    default:
      break;
  }
  fail("{}: attribute '{}' has a type tinyqat does not support (graphs, sparse tensors, type protos)", ctx,
       a.name());
}

}  // namespace

namespace {
onnx::ModelProto parse_model_proto(const uint8_t* data, size_t size, const std::string& what) {
  onnx::ModelProto mp;
  google::protobuf::io::CodedInputStream in(data, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
  in.SetRecursionLimit(64);
  TQ_CHECK(size < INT32_MAX, "{}: file too large for a protobuf model ({} bytes)", what, size);
  TQ_CHECK(mp.ParseFromCodedStream(&in) && in.ConsumedEntireMessage(),
           "{}: not a valid ONNX model (the protobuf does not parse: truncated or corrupt file?)", what);
  TQ_CHECK(mp.ir_version() > 0 && mp.has_graph() && mp.opset_import_size() > 0,
           "{}: not an ONNX model (no ir_version, graph or opset_import)", what);
  return mp;
}
}  // namespace

Interface read_onnx_interface(const uint8_t* data, size_t size, const std::string& what) {
  const onnx::ModelProto mp = parse_model_proto(data, size, what);
  const auto& g = mp.graph();
  std::set<std::string> constants;
  for (const auto& t : g.initializer()) constants.insert(t.name());
  Interface io;
  for (const auto& v : g.input())
    if (!constants.count(v.name())) io.inputs.push_back(value_info_from_proto(v, what));
  for (const auto& v : g.output()) io.outputs.push_back(value_info_from_proto(v, what));
  return io;
}

Model import_onnx_bytes(const uint8_t* data, size_t size, const std::string& base_dir,
                        const std::string& what) {
  const onnx::ModelProto mp = parse_model_proto(data, size, what);

  Model m;
  m.ir_version = mp.ir_version();
  m.producer_name = mp.producer_name();
  m.producer_version = mp.producer_version();
  m.domain = mp.domain();
  m.doc_string = mp.doc_string();
  m.opset = -1;
  for (const auto& o : mp.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx")
      m.opset = o.version();
    else
      m.extra_opsets.emplace_back(o.domain(), o.version());
  }
  TQ_CHECK(m.opset >= 0, "{}: the model imports no default (ai.onnx) opset", what);
  TQ_CHECK(m.opset >= kMinOpset && m.opset <= kMaxOpset,
           "{}: opset {} is not supported (tinyqat reads {}–{})", what, m.opset, kMinOpset, kMaxOpset);
  for (const auto& p : mp.metadata_props()) m.metadata.emplace_back(p.key(), p.value());

  const auto& g = mp.graph();
  Graph& graph = m.graph;
  graph.name = g.name();
  for (const auto& t : g.initializer()) {
    TQ_CHECK(!t.name().empty(), "{}: an initializer has no name", what);
    TQ_CHECK(!graph.initializers.count(t.name()), "{}: initializer '{}' appears twice", what, t.name());
    graph.initializers[t.name()] = initializer_from_proto(t, base_dir, what);
  }
  TQ_CHECK(g.sparse_initializer_size() == 0, "{}: sparse initializers are not supported", what);
  std::set<std::string> input_names;
  for (const auto& v : g.input()) {
    // Before IR version 4 initializers were also listed as inputs; they are constants for us.
    if (graph.initializers.count(v.name())) continue;
    TQ_CHECK(input_names.insert(v.name()).second, "{}: graph input '{}' appears twice", what, v.name());
    graph.inputs.push_back(value_info_from_proto(v, what));
  }
  for (const auto& v : g.output()) graph.outputs.push_back(value_info_from_proto(v, what));
  TQ_CHECK(!graph.outputs.empty(), "{}: the graph has no outputs", what);
  for (const auto& v : g.value_info()) {
    ValueInfo vi = value_info_from_proto(v, what);
    graph.value_info[vi.name] = vi;
  }

  int idx = 0;
  for (const auto& np : g.node()) {
    Node n;
    n.name = np.name().empty() ? fmt::format("{}_{}", np.op_type(), idx) : np.name();
    ++idx;
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    TQ_CHECK(is_supported_op(n.domain, n.op_type, m.opset),
             "{}: operator '{}{}' (node '{}', opset {}) is not supported by tinyqat", what,
             n.domain.empty() ? "" : n.domain + ".", n.op_type, n.name, m.opset);
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute())
      n.attrs[a.name()] = attribute_from_proto(a, fmt::format("{}: {}", what, n.describe()));
    graph.nodes.push_back(std::move(n));
  }
  for (const auto& o : graph.outputs)
    TQ_CHECK(graph.producer(o.name) >= 0 || graph.initializers.count(o.name) || graph.is_graph_input(o.name),
             "{}: graph output '{}' is produced by no node", what, o.name);
  try {
    graph.topo_sort();
    infer_shapes(m);
  } catch (const Error& e) {
    fail("{}: {}", what, e.what());
  }
  return m;
}

Model import_onnx(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  std::string dir = fs::path(path).parent_path().string();
  return import_onnx_bytes(bytes.data(), bytes.size(), dir, path);
}

}  // namespace tinyqat
