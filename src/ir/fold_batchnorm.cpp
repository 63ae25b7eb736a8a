#include "ir/fold_batchnorm.h"

#include <cmath>
#include <set>

namespace tinyqat {
namespace {

const Tensor* f32_initializer(const Graph& g, const std::optional<std::string>& name) {
  if (!name) return nullptr;
  const Tensor* t = g.initializer(*name);
  return t && t->dtype() == DType::F32 ? t : nullptr;
}

// The output channels of a weighted op the fold understands, with where each weight element's channel
// comes from; 0 when the op is not one.
struct Layout {
  int64_t channels = 0;
  // weight element e belongs to output channel ((e / inner) % mod) + (e / group_span) * per_group
  int64_t inner = 1, mod = 1, group_span = 0, per_group = 0;
  int64_t channel(int64_t e) const {
    return (e / inner) % mod + (group_span ? (e / group_span) * per_group : 0);
  }
};

Layout layout_of(const Node& op, const Tensor& w) {
  Layout l;
  // An empty weight has nothing to scale; every dimension below is then ≥ 1 (no division by 0).
  if (w.numel() == 0) return l;
  if (op.op_type == "Conv" && w.rank() >= 3) {
    l.channels = l.mod = w.dim(0);
    l.inner = w.numel() / w.dim(0);
  } else if (op.op_type == "ConvTranspose" && w.rank() >= 3) {
    const int64_t groups = op.get_int("group", 1);
    if (groups < 1 || w.dim(0) % groups != 0) return {};
    const int64_t per = w.dim(1), rows = w.dim(0) / groups;  // [C, M/group, k...]
    l.channels = groups * per;
    l.inner = w.numel() / (w.dim(0) * per);
    l.mod = l.per_group = per;
    l.group_span = rows * per * l.inner;
  } else if (op.op_type == "Gemm" && w.rank() == 2) {
    const bool trans_b = op.get_int("transB", 0) != 0;  // B is [N, K] when set, [K, N] otherwise
    l.channels = l.mod = trans_b ? w.dim(0) : w.dim(1);
    l.inner = trans_b ? w.dim(1) : 1;
  }
  return l;
}

// The bias (per output channel) the op adds today, or nullopt when it adds something the fold cannot
// express per channel (a Gemm C that varies by row).
std::optional<std::vector<double>> bias_of(const Graph& g, const Node& op, int64_t channels) {
  std::vector<double> b(static_cast<size_t>(channels), 0.0);
  auto name = op.input(2);
  if (!name) return b;
  const Tensor* t = f32_initializer(g, name);
  if (!t) return std::nullopt;
  const float* p = t->data<float>();
  if (op.op_type == "Gemm") {
    const double beta = op.get_float("beta", 1.0f);
    const bool row = t->numel() == channels && (t->rank() == 1 || (t->rank() == 2 && t->dim(0) == 1));
    if (!row && t->numel() != 1) return std::nullopt;
    for (int64_t c = 0; c < channels; ++c) b[c] = beta * p[row ? c : 0];
    return b;
  }
  if (t->rank() != 1 || t->numel() != channels) return std::nullopt;
  for (int64_t c = 0; c < channels; ++c) b[c] = p[c];
  return b;
}

bool fold_one(Graph& g, int bn_index, std::set<std::string>& replaced) {
  const Node& bn = g.nodes[bn_index];
  if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.outputs.size() != 1 ||
      bn.get_int("training_mode", 0) != 0 || bn.get_int("spatial", 1) != 1 || bn.inputs.size() != 5)
    return false;
  const std::string& x = bn.inputs[0];
  const int p = g.producer(x);
  if (p < 0 || g.is_graph_output(x) || g.consumers(x).size() != 1) return false;
  Node& op = g.nodes[p];
  if (!op.domain.empty() || op.outputs.size() != 1 || op.inputs.size() < 2) return false;
  const Tensor* w = f32_initializer(g, op.input(1));
  if (!w) return false;
  const Layout l = layout_of(op, *w);
  if (l.channels <= 0) return false;
  const Tensor* prm[4];
  for (int k = 0; k < 4; ++k) {
    prm[k] = f32_initializer(g, bn.input(k + 1));
    if (!prm[k] || prm[k]->numel() != l.channels || prm[k]->rank() != 1) return false;
  }
  auto bias = bias_of(g, op, l.channels);
  if (!bias) return false;
  const double eps = bn.get_float("epsilon", 1e-5f);
  const float *gamma = prm[0]->data<float>(), *beta = prm[1]->data<float>(), *mean = prm[2]->data<float>(),
              *var = prm[3]->data<float>();
  std::vector<double> k(static_cast<size_t>(l.channels));
  for (int64_t c = 0; c < l.channels; ++c) {
    const double v = static_cast<double>(var[c]) + eps;
    if (!(v > 0) || !std::isfinite(v)) return false;  // the unfolded op gives what the model says
    k[c] = gamma[c] / std::sqrt(v);
    if (!std::isfinite(k[c]) || !std::isfinite(beta[c]) || !std::isfinite(mean[c])) return false;
  }
  Tensor nw = Tensor::empty(DType::F32, w->shape());
  const float* wp = w->data<float>();
  float* nwp = nw.data<float>();
  for (int64_t e = 0; e < w->numel(); ++e) nwp[e] = static_cast<float>(wp[e] * k[l.channel(e)]);
  Tensor nb = Tensor::empty(DType::F32, {l.channels});
  float* nbp = nb.data<float>();
  for (int64_t c = 0; c < l.channels; ++c)
    nbp[c] = static_cast<float>(((*bias)[c] - mean[c]) * k[c] + beta[c]);

  for (size_t i = 1; i < op.inputs.size(); ++i) replaced.insert(op.inputs[i]);
  for (size_t i = 1; i < bn.inputs.size(); ++i) replaced.insert(bn.inputs[i]);
  const std::string wn = g.unique_name(op.inputs[1] + "_bn");
  g.initializers[wn] = std::move(nw);
  const std::string bname = g.unique_name((op.name.empty() ? op.op_type : op.name) + "_bias_bn");
  g.initializers[bname] = std::move(nb);
  op.inputs[1] = wn;
  op.inputs.resize(3);
  op.inputs[2] = bname;
  if (op.op_type == "Gemm") op.attrs["beta"] = Attribute::of_float(1.0f);
  g.value_info.erase(x);
  op.outputs[0] = bn.outputs[0];
  return true;
}

}  // namespace

std::vector<std::string> fold_batchnorm(Graph& g) {
  std::vector<std::string> folded;
  std::set<std::string> replaced;
  for (size_t i = 0; i < g.nodes.size();) {
    const std::string name = g.nodes[i].name;
    if (fold_one(g, static_cast<int>(i), replaced)) {
      folded.push_back(name);
      g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  for (const auto& t : replaced)
    if (g.consumers(t).empty() && !g.is_graph_output(t)) g.initializers.erase(t);
  return folded;
}

}  // namespace tinyqat
