// IR → ONNX. Deterministic: nodes in IR order, initializers and attributes sorted by name, no clocks,
// raw little-endian tensor data. Identical IR therefore always gives identical bytes.
#include <filesystem>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "core/error.h"
#include "core/file_util.h"
#include "onnx/onnx_io.h"
#include "onnx/proto_tensor.h"

namespace tinyqat {
namespace fs = std::filesystem;

namespace {

void value_info_to_proto(const ValueInfo& v, onnx::ValueInfoProto* p) {
  p->set_name(v.name);
  auto* tt = p->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_type_of(v.dtype));
  if (!v.has_shape) return;
  auto* shape = tt->mutable_shape();
  for (const auto& d : v.shape) {
    auto* dp = shape->add_dim();
    if (d.is_known())
      dp->set_dim_value(d.value);
    else if (!d.param.empty())
      dp->set_dim_param(d.param);
  }
}

void attribute_to_proto(const std::string& name, const Attribute& a, onnx::AttributeProto* p) {
  p->set_name(name);
  switch (a.kind) {
    case Attribute::Kind::Int:
      p->set_type(onnx::AttributeProto::INT);
      p->set_i(a.i);
      break;
    case Attribute::Kind::Float:
      p->set_type(onnx::AttributeProto::FLOAT);
      p->set_f(a.f);
      break;
    case Attribute::Kind::String:
      p->set_type(onnx::AttributeProto::STRING);
      p->set_s(a.s);
      break;
    case Attribute::Kind::Ints:
      p->set_type(onnx::AttributeProto::INTS);
      for (auto v : a.ints) p->add_ints(v);
      break;
    case Attribute::Kind::Floats:
      p->set_type(onnx::AttributeProto::FLOATS);
      for (auto v : a.floats) p->add_floats(v);
      break;
    case Attribute::Kind::Strings:
      p->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& v : a.strings) p->add_strings(v);
      break;
    case Attribute::Kind::Tensor:
      p->set_type(onnx::AttributeProto::TENSOR);
      tensor_to_proto(a.t, "", p->mutable_t());
      break;
  }
}

// `external`: where to append big initializers (nullptr = all inline).
onnx::ModelProto to_proto(const Model& m, std::vector<uint8_t>* external, const std::string& external_name,
                          size_t threshold) {
  onnx::ModelProto mp;
  mp.set_ir_version(m.ir_version);
  mp.set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) mp.set_producer_version(m.producer_version);
  if (!m.domain.empty()) mp.set_domain(m.domain);
  if (!m.doc_string.empty()) mp.set_doc_string(m.doc_string);
  auto* op = mp.add_opset_import();
  op->set_domain("");
  op->set_version(m.opset);
  for (const auto& [d, v] : m.extra_opsets) {
    auto* o = mp.add_opset_import();
    o->set_domain(d);
    o->set_version(v);
  }
  for (const auto& [k, v] : m.metadata) {
    auto* p = mp.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  const Graph& g = m.graph;
  auto* gp = mp.mutable_graph();
  gp->set_name(g.name);
  for (const auto& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    for (const auto& [k, a] : n.attrs) attribute_to_proto(k, a, np->add_attribute());
  }
  for (const auto& [name, t] : g.initializers) {
    auto* tp = gp->add_initializer();
    if (external && threshold > 0 && t.nbytes() >= threshold) {
      tp->set_name(name);
      tp->set_data_type(onnx_type_of(t.dtype()));
      for (int64_t d : t.shape()) tp->add_dims(d);
      size_t offset = (external->size() + 63) / 64 * 64;  // aligned so a reader may map it
      external->resize(offset);
      const auto* b = static_cast<const uint8_t*>(t.raw());
      external->insert(external->end(), b, b + t.nbytes());
      tp->set_data_location(onnx::TensorProto::EXTERNAL);
      auto add = [&](const char* k, const std::string& v) {
        auto* e = tp->add_external_data();
        e->set_key(k);
        e->set_value(v);
      };
      add("location", external_name);
      add("offset", std::to_string(offset));
      add("length", std::to_string(t.nbytes()));
    } else {
      tensor_to_proto(t, name, tp);
    }
  }
  for (const auto& v : g.inputs) value_info_to_proto(v, gp->add_input());
  for (const auto& v : g.outputs) value_info_to_proto(v, gp->add_output());
  return mp;
}

std::vector<uint8_t> serialize(const onnx::ModelProto& mp) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream sos(&out);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    TQ_CHECK(mp.SerializeToCodedStream(&cos), "cannot serialise the ONNX model (over 2 GiB?)");
  }
  return std::vector<uint8_t>(out.begin(), out.end());
}

}  // namespace

std::vector<uint8_t> export_onnx_bytes(const Model& model) {
  return serialize(to_proto(model, nullptr, "", 0));
}

void export_onnx(const Model& model, const std::string& path, const ExportOptions& opts) {
  std::vector<uint8_t> external;
  std::string ext_name = fs::path(path).filename().string() + ".data";
  auto mp = to_proto(model, &external, ext_name, opts.external_data_threshold);
  if (!external.empty()) write_file_atomic((fs::path(path).parent_path() / ext_name).string(), external);
  write_file_atomic(path, serialize(mp));
}

}  // namespace tinyqat
