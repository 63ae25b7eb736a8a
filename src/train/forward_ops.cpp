// The trainer's forward, one function per op, in the families of src/ir/op_list.h: elementwise, conv,
// matmul, pool, shape. Each returns the node's output; TrainableModel::forward stores it through the
// output's fake-quant when QAT plans one there.
#include "train/forward_ops.h"

#include <algorithm>

#include "core/error.h"
#include "train/distributed.h"
#include "train/fake_quant.h"

namespace tinyqat::train {

// ---------------------------------------------------------------- the pass

torch::Tensor ForwardPass::value(const std::string& name) {
  return m_.value(name, env_);
}

std::vector<int64_t> ForwardPass::ints(const std::string& name) {
  auto t = value(name).to(torch::kCPU).to(torch::kInt64).contiguous();
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

torch::Tensor ForwardPass::conv(const Node& n) {
  return m_.run_conv(n, env_);
}

torch::Tensor ForwardPass::gemm(const Node& n) {
  return m_.run_gemm(n, env_);
}

torch::Tensor ForwardPass::weight_fq(const Node& n, const torch::Tensor& w) {
  return m_.weight_fq(n, w);
}

const Graph& ForwardPass::graph() const {
  return m_.graph_;
}

bool ForwardPass::bn_uses_batch_stats() const {
  return m_.training_ && !m_.bn_frozen_;
}

ActQuant* ForwardPass::quant_of(const std::string& name) {
  if (!m_.prepared_) return nullptr;
  auto it = m_.quant_of_.find(name);
  return it == m_.quant_of_.end() ? nullptr : &m_.quants_[it->second];
}

bool ForwardPass::observes(const std::string& name) const {
  return observe_ && m_.plan_.ties.find(name) == name;
}

void ForwardPass::post(const std::string& name, torch::Tensor v) {
  if (ActQuant* q = quant_of(name)) v = q->apply(v, observes(name));
  set(name, std::move(v));
}

void ForwardPass::set(const std::string& name, torch::Tensor v) {
  // Dropout while training, after the value's fake-quant (the zoo's fr_regressor: zoo::kDropoutKey).
  if (m_.training_ && m_.dropout_.count(name)) v = torch::dropout(v, m_.dropout_p_, /*train=*/true);
  env_[name] = std::move(v);
}

std::vector<int64_t> pair_pads(const Node& n, size_t rank, const std::string& what) {
  auto pads = n.get_ints("pads", std::vector<int64_t>(2 * rank, 0));
  TQ_CHECK(pads.size() == 2 * rank, "{}: pads has {} values for {} spatial dims", n.describe(), pads.size(),
           rank);
  std::vector<int64_t> sym(rank);
  for (size_t i = 0; i < rank; ++i) {
    TQ_CHECK(pads[i] == pads[i + rank], "{}: the trainer supports symmetric {} padding only", n.describe(),
             what);
    sym[i] = pads[i];
  }
  const std::string ap = n.get_string("auto_pad", "NOTSET");
  TQ_CHECK(ap == "NOTSET" || ap == "VALID", "{}: auto_pad {} is not supported by the trainer", n.describe(),
           ap);
  return sym;
}

namespace {

int64_t axis_of(int64_t a, int64_t rank) {
  return a < 0 ? a + rank : a;
}

// ---------------------------------------------------------------- elementwise

// Relu and Clip: the clamp, folded into the output's fake-quant when one is planned there (one pass).
Forwarded clamp_forward(ForwardPass& p, const Node& n) {
  auto bounds = activation_bounds(p.graph(), n);
  TQ_CHECK(bounds, "trainer: {} has bounds computed at run time (only constant bounds train)", n.describe());
  const auto [lo, hi] = *bounds;
  if (ActQuant* q = p.quant_of(n.outputs[0]))
    return {q->apply(p.in(n, 0), p.observes(n.outputs[0]), lo, hi), true};
  return clamp_between(p.in(n, 0), lo, hi);
}

Forwarded leaky_relu_forward(ForwardPass& p, const Node& n) {
  return torch::leaky_relu(p.in(n, 0), n.get_float("alpha", 0.01f));
}
Forwarded sigmoid_forward(ForwardPass& p, const Node& n) {
  return torch::sigmoid(p.in(n, 0));
}
Forwarded tanh_forward(ForwardPass& p, const Node& n) {
  return torch::tanh(p.in(n, 0));
}
Forwarded erf_forward(ForwardPass& p, const Node& n) {
  return torch::erf(p.in(n, 0));
}
Forwarded sqrt_forward(ForwardPass& p, const Node& n) {
  return torch::sqrt(p.in(n, 0));
}
Forwarded identity_forward(ForwardPass& p, const Node& n) {
  return p.in(n, 0);
}
Forwarded softmax_forward(ForwardPass& p, const Node& n) {
  return torch::softmax(p.in(n, 0), n.get_int("axis", -1));
}

// A BatchNormalization that was not absorbed into a Conv (TrainableModel's constructor absorbs the others).
Forwarded batch_normalization_forward(ForwardPass& p, const Node& n) {
  if (p.bn_uses_batch_stats() && dist::active())  // several ranks: the global batch's statistics
    return dist::batch_norm_train(p.in(n, 0), p.in(n, 1), p.in(n, 2), p.in(n, 3), p.in(n, 4),
                                  1.0 - n.get_float("momentum", 0.9f), n.get_float("epsilon", 1e-5f));
  return torch::batch_norm(p.in(n, 0), p.in(n, 1), p.in(n, 2), p.in(n, 3), p.in(n, 4),
                           p.bn_uses_batch_stats(), 1.0 - n.get_float("momentum", 0.9f),
                           n.get_float("epsilon", 1e-5f), false);
}

Forwarded add_forward(ForwardPass& p, const Node& n) {
  return p.in(n, 0) + p.in(n, 1);
}
Forwarded sub_forward(ForwardPass& p, const Node& n) {
  return p.in(n, 0) - p.in(n, 1);
}
Forwarded mul_forward(ForwardPass& p, const Node& n) {
  return p.in(n, 0) * p.in(n, 1);
}
Forwarded div_forward(ForwardPass& p, const Node& n) {
  return p.in(n, 0) / p.in(n, 1);
}

// ---------------------------------------------------------------- conv, matmul (the weighted units)

Forwarded conv_forward(ForwardPass& p, const Node& n) {
  return p.conv(n);
}
Forwarded gemm_forward(ForwardPass& p, const Node& n) {
  return p.gemm(n);
}
Forwarded matmul_forward(ForwardPass& p, const Node& n) {
  return torch::matmul(p.in(n, 0), p.weight_fq(n, p.in(n, 1)));
}

// ---------------------------------------------------------------- pool, reduce

Forwarded pool_forward(ForwardPass& p, const Node& n) {
  auto x = p.in(n, 0);
  TQ_CHECK(x.dim() == 4, "{}: the trainer supports 2-D pooling only", n.describe());
  auto k = n.get_ints("kernel_shape");
  auto s = n.get_ints("strides", {1, 1});
  auto pads = pair_pads(n, 2, "pooling");
  const bool ceil = n.get_int("ceil_mode", 0) != 0;
  if (n.op_type == "MaxPool") return torch::max_pool2d(x, k, s, pads, n.get_ints("dilations", {1, 1}), ceil);
  return torch::avg_pool2d(x, k, s, pads, ceil, n.get_int("count_include_pad", 0) != 0);
}

Forwarded global_average_pool_forward(ForwardPass& p, const Node& n) {
  auto x = p.in(n, 0);
  std::vector<int64_t> dims;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return x.mean(dims, true);
}

Forwarded reduce_mean_forward(ForwardPass& p, const Node& n) {
  auto x = p.in(n, 0);
  std::vector<int64_t> axes = n.input(1) ? p.ints(n.inputs[1]) : n.get_ints("axes");
  if (axes.empty())
    for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
  return x.mean(axes, n.get_int("keepdims", 1) != 0);
}

// ---------------------------------------------------------------- shape

Forwarded constant_forward(ForwardPass& p, const Node& n) {
  return to_torch(constant_node_value(n)).to(p.device());
}

Forwarded flatten_forward(ForwardPass& p, const Node& n) {
  auto x = p.in(n, 0);
  const int64_t a = axis_of(n.get_int("axis", 1), x.dim());
  int64_t outer = 1;
  for (int64_t d = 0; d < a; ++d) outer *= x.size(d);
  return x.reshape({outer, -1});
}

Forwarded reshape_forward(ForwardPass& p, const Node& n) {
  auto x = p.in(n, 0);
  auto shape = p.ints(n.inputs[1]);
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] == 0 && !n.get_int("allowzero", 0)) shape[d] = x.size(static_cast<int64_t>(d));
  return x.reshape(shape);
}

Forwarded squeeze_forward(ForwardPass& p, const Node& n) {
  auto x = p.in(n, 0);
  std::vector<int64_t> axes = n.input(1) ? p.ints(n.inputs[1]) : n.get_ints("axes");
  if (axes.empty()) return x.squeeze();
  for (auto& a : axes) a = axis_of(a, x.dim());
  std::sort(axes.rbegin(), axes.rend());
  for (int64_t a : axes) x = x.squeeze(a);
  return x;
}

Forwarded unsqueeze_forward(ForwardPass& p, const Node& n) {
  auto x = p.in(n, 0);
  std::vector<int64_t> axes = n.input(1) ? p.ints(n.inputs[1]) : n.get_ints("axes");
  const int64_t out_rank = x.dim() + static_cast<int64_t>(axes.size());
  for (auto& a : axes) a = axis_of(a, out_rank);
  std::sort(axes.begin(), axes.end());
  for (int64_t a : axes) x = x.unsqueeze(a);
  return x;
}

Forwarded concat_forward(ForwardPass& p, const Node& n) {
  std::vector<torch::Tensor> parts;
  for (size_t k = 0; k < n.inputs.size(); ++k) parts.push_back(p.in(n, k));
  return torch::cat(parts, n.get_int("axis", 0));
}

Forwarded shape_forward(ForwardPass& p, const Node& n) {
  auto sz = p.in(n, 0).sizes().vec();
  const int64_t r = static_cast<int64_t>(sz.size());
  int64_t s = std::clamp(axis_of(n.get_int("start", 0), r), int64_t{0}, r);
  int64_t e = std::clamp(n.has("end") ? axis_of(n.get_int("end", r), r) : r, int64_t{0}, r);
  std::vector<int64_t> part(sz.begin() + s, sz.begin() + std::max(s, e));
  return torch::tensor(part, torch::kInt64).to(p.device());
}

Forwarded gather_forward(ForwardPass& p, const Node& n) {
  auto x = p.in(n, 0);
  auto idx = p.in(n, 1).to(torch::kInt64);
  const int64_t a = axis_of(n.get_int("axis", 0), x.dim());
  idx = torch::where(idx < 0, idx + x.size(a), idx);
  if (idx.dim() == 0) return x.select(a, idx.item<int64_t>());
  auto y = x.index_select(a, idx.reshape({-1}).to(x.device()));
  auto shape = x.sizes().vec();
  shape.erase(shape.begin() + a);
  auto is = idx.sizes().vec();
  shape.insert(shape.begin() + a, is.begin(), is.end());
  return y.reshape(shape);
}

Forwarded cast_forward(ForwardPass& p, const Node& n) {
  static const std::map<int64_t, torch::ScalarType> types = {{1, torch::kFloat32}, {2, torch::kUInt8},
                                                             {3, torch::kInt8},    {6, torch::kInt32},
                                                             {7, torch::kInt64},   {9, torch::kBool}};
  auto it = types.find(n.get_int("to", 1));
  TQ_CHECK(it != types.end(), "{}: cast to ONNX type {} is not supported by the trainer", n.describe(),
           n.get_int("to", 1));
  return p.in(n, 0).to(it->second);
}

}  // namespace

const std::map<std::string, ForwardFn>& forward_ops() {
  static const std::map<std::string, ForwardFn> ops = {
      // elementwise
      {"Relu", clamp_forward},
      {"Clip", clamp_forward},
      {"LeakyRelu", leaky_relu_forward},
      {"Sigmoid", sigmoid_forward},
      {"Tanh", tanh_forward},
      {"Erf", erf_forward},
      {"Sqrt", sqrt_forward},
      {"Identity", identity_forward},
      {"Softmax", softmax_forward},
      {"BatchNormalization", batch_normalization_forward},
      {"Add", add_forward},
      {"Sub", sub_forward},
      {"Mul", mul_forward},
      {"Div", div_forward},
      // conv, matmul
      {"Conv", conv_forward},
      {"Gemm", gemm_forward},
      {"MatMul", matmul_forward},
      // pool
      {"MaxPool", pool_forward},
      {"AveragePool", pool_forward},
      {"GlobalAveragePool", global_average_pool_forward},
      {"ReduceMean", reduce_mean_forward},
      // shape
      {"Constant", constant_forward},
      {"Flatten", flatten_forward},
      {"Reshape", reshape_forward},
      {"Squeeze", squeeze_forward},
      {"Unsqueeze", unsqueeze_forward},
      {"Concat", concat_forward},
      {"Shape", shape_forward},
      {"Gather", gather_forward},
      {"Cast", cast_forward},
  };
  return ops;
}

}  // namespace tinyqat::train
