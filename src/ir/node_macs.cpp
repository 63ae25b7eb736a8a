#include "ir/node_macs.h"

#include <optional>
#include <string_view>

namespace tinyqat {

std::optional<std::vector<int64_t>> shape_or_ones(const Graph& g, const std::string& v) {
  if (v.empty()) return std::nullopt;
  if (const Tensor* t = g.initializer(v)) return t->shape();
  const ValueInfo* vi = nullptr;
  if (auto it = g.value_info.find(v); it != g.value_info.end()) vi = &it->second;
  for (const auto& x : g.inputs)
    if (x.name == v) vi = &x;
  for (const auto& x : g.outputs)
    if (x.name == v && x.has_shape) vi = &x;
  if (!vi || !vi->has_shape) return std::nullopt;
  std::vector<int64_t> d;
  for (const Dim& x : vi->shape) d.push_back(x.is_known() ? x.value : 1);
  return d;
}

namespace {

double product(const std::vector<int64_t>& d, size_t from = 0, size_t to = SIZE_MAX) {
  double p = 1;
  for (size_t i = from; i < d.size() && i < to; ++i) p *= static_cast<double>(d[i]);
  return p;
}

}  // namespace

const char* mac_family_name(MacFamily f) {
  switch (f) {
    case MacFamily::DenseConv:
      return "dense-conv";
    case MacFamily::DepthwiseConv:
      return "depthwise-conv";
    case MacFamily::Gemm:
      return "gemm";
    case MacFamily::None:
      break;
  }
  return "none";
}

NodeMacs node_macs(const Graph& g, const Node& n) {
  NodeMacs r;
  if (!n.domain.empty() || n.outputs.empty()) return r;
  const std::string_view op = n.op_type;
  const bool conv = op == "Conv" || op == "ConvInteger" || op == "QLinearConv";
  const bool conv_t = op == "ConvTranspose" || op == "QLinearConvTranspose";
  const bool gemm = op == "MatMul" || op == "Gemm" || op == "MatMulInteger" || op == "QLinearMatMul";
  if (!conv && !conv_t && !gemm) return r;
  r.integer = op == "ConvInteger" || op == "QLinearConv" || op == "QLinearConvTranspose" ||
              op == "MatMulInteger" || op == "QLinearMatMul";
  r.family = gemm ? MacFamily::Gemm : MacFamily::DenseConv;
  const size_t wi = op.substr(0, 7) == "QLinear" ? 3 : 1;
  if (n.inputs.size() <= wi) return r;
  const auto w = shape_or_ones(g, n.inputs[wi]);
  const auto y = shape_or_ones(g, n.outputs[0]);
  if (!w || !y || w->size() < 2 || y->empty()) return r;
  if (conv) {
    // Weight [M, C/group, k...]: every output element sums C/group · Πk products.
    const int64_t group = n.get_int("group", 1);
    if (group > 1 && (*w)[1] == 1) r.family = MacFamily::DepthwiseConv;
    r.macs = product(*y) * product(*w, 1);
  } else if (conv_t) {
    // Weight [C, M/group, k...]: every input element scatters into M/group · Πk outputs.
    const auto x = shape_or_ones(g, n.inputs[0]);
    if (!x) return r;
    const int64_t group = std::max<int64_t>(1, n.get_int("group", 1));
    if (group > 1 && (*w)[0] == group && (*w)[1] == 1) r.family = MacFamily::DepthwiseConv;
    r.macs = product(*x) * product(*w, 1);
  } else {
    // B [.., K, N] (Gemm: [K, N] or, with transB, [N, K]); every output element sums K products.
    const bool trans_b = op == "Gemm" && n.get_int("transB", 0) != 0;
    const int64_t k = trans_b ? (*w)[w->size() - 1] : (*w)[w->size() - 2];
    r.macs = product(*y) * static_cast<double>(k);
  }
  return r;
}

}  // namespace tinyqat
