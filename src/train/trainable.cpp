#include "train/trainable.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/version.h"
#include "quant/patterns.h"
#include "train/fake_quant.h"
#include "zoo/zoo.h"

namespace tinyqat::train {

namespace F = torch::nn::functional;

// ---------------------------------------------------------------- IR tensors ↔ torch tensors

namespace {
torch::ScalarType torch_type(DType t) {
  switch (t) {
    case DType::F32:
      return torch::kFloat32;
    case DType::I8:
      return torch::kInt8;
    case DType::U8:
      return torch::kUInt8;
    case DType::I32:
      return torch::kInt32;
    case DType::I64:
      return torch::kInt64;
    case DType::Bool:
      return torch::kBool;
  }
  return torch::kFloat32;
}
}  // namespace

torch::Tensor to_torch(const Tensor& t) {
  std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
  auto out = torch::empty(shape, torch::TensorOptions().dtype(torch_type(t.dtype())));
  if (t.numel()) std::memcpy(out.data_ptr(), t.raw(), static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
  return out;
}

Tensor from_torch(const torch::Tensor& src) {
  torch::Tensor t = src.detach().to(torch::kCPU).contiguous();
  DType d;
  switch (t.scalar_type()) {
    case torch::kFloat32:
      d = DType::F32;
      break;
    case torch::kInt8:
      d = DType::I8;
      break;
    case torch::kUInt8:
      d = DType::U8;
      break;
    case torch::kInt32:
      d = DType::I32;
      break;
    case torch::kInt64:
      d = DType::I64;
      break;
    case torch::kBool:
      d = DType::Bool;
      break;
    default:
      fail("tensor of torch type {} has no IR type", c10::toString(t.scalar_type()));
  }
  Shape s(t.sizes().begin(), t.sizes().end());
  Tensor out = Tensor::empty(d, s);
  if (out.numel()) std::memcpy(out.raw(), t.data_ptr(), static_cast<size_t>(out.numel()) * dtype_size(d));
  return out;
}

// ---------------------------------------------------------------- activation fake-quant

quant::QParams ActQuant::qparams() const {
  if (learnable) {
    quant::QParams q = quant::qparams_for_range(lo, hi, scheme);
    q.scale = std::max(scale.detach().to(torch::kCPU).item<float>(), 1e-8f);  // as the forward clamps it
    q.zero_point = static_cast<int32_t>(std::nearbyint(
        std::clamp(zero_point.detach().to(torch::kCPU).item<float>(), float(q.qmin()), float(q.qmax()))));
    return q;
  }
  return quant::qparams_for_range(lo, hi, scheme);
}

torch::Tensor ActQuant::apply(const torch::Tensor& x, bool observe, float a, float b) {
  if (observe && !frozen && !learnable) {
    auto mm = torch::aminmax(x.detach());
    // The clamp is monotone: the range of clamp(x) is the clamped range of x.
    const float bmin = std::clamp(std::get<0>(mm).item<float>(), a, b),
                bmax = std::clamp(std::get<1>(mm).item<float>(), a, b);
    if (!initialized) {
      lo = bmin, hi = bmax, initialized = true;
    } else {
      lo += static_cast<float>(averaging) * (bmin - lo);
      hi += static_cast<float>(averaging) * (bmax - hi);
    }
  }
  if (!initialized)
    return clamp_between(x, a, b);  // before the first observation (calibration sets every range)
  const quant::QParams q = qparams();
  if (learnable) {
    // An optimizer step may push a scale to or below zero: use it clamped (not in place: the same
    // scale serves every member of a tie group within one forward pass).
    auto sc = scale.clamp_min(1e-8f);
    // LSQ (Esser et al.): gradient scale 1/sqrt(numel · qmax) as in PyTorch's learnable fake-quant.
    const double g = 1.0 / std::sqrt(static_cast<double>(x.numel()) * q.qmax());
    return torch::_fake_quantize_learnable_per_tensor_affine(clamp_between(x, a, b), sc, zero_point, q.qmin(),
                                                             q.qmax(), g);
  }
  return fake_quant_per_tensor(x, q.scale, q.zero_point, q.qmin(), q.qmax(), a, b);
}

// ---------------------------------------------------------------- building

namespace {

const std::set<std::string>& differentiable_ops() {
  static const std::set<std::string> ops = {"Conv",
                                            "Gemm",
                                            "MatMul",
                                            "Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Relu",
                                            "Clip",
                                            "LeakyRelu",
                                            "Sigmoid",
                                            "Tanh",
                                            "Erf",
                                            "Sqrt",
                                            "Softmax",
                                            "Identity",
                                            "BatchNormalization",
                                            "GlobalAveragePool",
                                            "AveragePool",
                                            "MaxPool",
                                            "ReduceMean",
                                            "Flatten",
                                            "Reshape",
                                            "Squeeze",
                                            "Unsqueeze",
                                            "Concat",
                                            "Transpose",
                                            "Shape",
                                            "Gather",
                                            "Constant",
                                            "Cast"};
  return ops;
}

// Initializer inputs that train (the others are constants: normalisation, shapes, clip bounds).
bool trains(const Node& n, size_t input) {
  if (n.op_type == "Conv" || n.op_type == "Gemm") return input == 1 || input == 2;
  if (n.op_type == "MatMul") return input == 1;
  if (n.op_type == "BatchNormalization") return input == 1 || input == 2;
  return false;
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

}  // namespace

TrainableModel::TrainableModel(const Model& m) : model_(m), graph_(m.graph) {
  std::vector<std::string> refused;
  for (const auto& n : graph_.nodes)
    if (!n.domain.empty() || !differentiable_ops().count(n.op_type))
      refused.push_back(fmt::format("{} (node '{}')", n.op_type, n.name));
  TQ_CHECK(refused.empty(), "the trainer cannot differentiate {} — it trains fp32 graphs made of: {}",
           fmt::join(refused, ", "), fmt::join(differentiable_ops(), " "));
  for (const auto& [name, t] : graph_.initializers) values_[name] = to_torch(t);
  // Dropout while training (zoo::kDropoutKey: "P@value,value"); an exported model has none.
  for (const auto& [k, v] : m.metadata)
    if (k == zoo::kDropoutKey) {
      const size_t at = v.find('@');
      TQ_CHECK(at != std::string::npos, "metadata {}: '{}' is not P@value,...", k, v);
      dropout_p_ = std::stod(v.substr(0, at));
      TQ_CHECK(dropout_p_ >= 0 && dropout_p_ < 1, "metadata {}: dropout {} is not in [0, 1)", k, dropout_p_);
      for (size_t b = at + 1; b <= v.size();) {
        const size_t e = std::min(v.find(',', b), v.size());
        const std::string name = v.substr(b, e - b);
        TQ_CHECK(graph_.producer(name) >= 0, "metadata {}: the model has no value '{}'", k, name);
        dropout_.insert(name);
        b = e + 1;
      }
    }
  // Absorb BatchNormalization that directly follows a Conv whose output nothing else reads.
  std::vector<Node> kept;
  std::map<std::string, std::string> rename;  // conv output → BN output
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const Node& n = graph_.nodes[i];
    if (n.op_type == "BatchNormalization" && n.outputs.size() == 1) {
      const int p = graph_.producer(n.inputs[0]);
      bool ok = p >= 0 && graph_.nodes[p].op_type == "Conv" && graph_.consumers(n.inputs[0]).size() == 1 &&
                !graph_.is_graph_output(n.inputs[0]) && !bn_.count(graph_.nodes[p].name) &&
                graph_.initializer(graph_.nodes[p].inputs[1]) &&
                (!graph_.nodes[p].input(2) || graph_.initializer(graph_.nodes[p].inputs[2]));
      for (size_t k = 1; k < 5 && ok; ++k) ok = n.input(k) && graph_.initializer(*n.input(k));
      if (ok) {
        bn_[graph_.nodes[p].name] = Bn{n.inputs[1],
                                       n.inputs[2],
                                       n.inputs[3],
                                       n.inputs[4],
                                       n.outputs[0],
                                       n.get_float("epsilon", 1e-5f),
                                       n.get_float("momentum", 0.9f)};
        rename[n.inputs[0]] = n.outputs[0];
        continue;
      }
    }
    kept.push_back(n);
  }
  for (auto& n : kept)
    for (auto& o : n.outputs)
      if (rename.count(o)) o = rename[o];
  graph_.nodes = kept;
  std::set<std::string> seen;
  for (const auto& n : graph_.nodes)
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (trains(n, k) && !n.inputs[k].empty() && values_.count(n.inputs[k]) &&
          values_[n.inputs[k]].is_floating_point() && seen.insert(n.inputs[k]).second)
        trainable_.push_back(n.inputs[k]);
  for (const auto& [conv, bn] : bn_)
    for (const auto* p : {&bn.gamma, &bn.beta})
      if (seen.insert(*p).second) trainable_.push_back(*p);
  for (const auto& name : trainable_) values_[name].set_requires_grad(true);
}

std::vector<torch::Tensor> TrainableModel::parameters() const {
  std::vector<torch::Tensor> p;
  for (const auto& n : trainable_) p.push_back(values_.at(n));
  for (const auto& q : quants_)
    if (q.learnable) p.push_back(q.scale);
  return p;
}

std::vector<torch::Tensor> TrainableModel::weight_parameters() const {
  std::vector<torch::Tensor> p;
  for (const auto& n : trainable_) p.push_back(values_.at(n));
  return p;
}

std::vector<std::string> TrainableModel::parameter_names() const {
  return trainable_;
}

void TrainableModel::to(const torch::Device& d) {
  device_ = d;
  for (auto& [name, t] : values_) {
    const bool g = t.requires_grad();
    t = t.detach().to(d);
    if (g) t.set_requires_grad(true);
  }
  for (auto& q : quants_)
    if (q.learnable) {
      q.scale = q.scale.detach().to(d).set_requires_grad(true);
      q.zero_point = q.zero_point.detach().to(d);
    }
}

// ---------------------------------------------------------------- forward

torch::Tensor TrainableModel::value(const std::string& name,
                                    std::map<std::string, torch::Tensor>& env) const {
  auto it = env.find(name);
  if (it != env.end()) return it->second;
  auto iv = values_.find(name);
  TQ_CHECK(iv != values_.end(), "trainer: value '{}' is not computed", name);
  return iv->second;
}

torch::Tensor TrainableModel::weight_fq(const Node& n, const torch::Tensor& w, torch::Tensor* w_scale) const {
  auto it = unit_of_node_.find(n.name);
  if (it == unit_of_node_.end()) return w;
  const auto& u = plan_.units[it->second];
  // Per-channel symmetric int8 on −127..127, scale absmax / 127 (quant/weights.h, detached like an observer).
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < w.dim(); ++d)
    if (d != u.weight_axis) dims.push_back(d);
  auto scale = (dims.empty() ? w.detach().abs() : w.detach().abs().amax(dims)).clamp_min(1e-12f) / 127.f;
  if (w_scale) *w_scale = scale.reshape({-1});
  // x / s and round half to even, as quantize_weight_per_channel (LibTorch's per-channel kernel
  // multiplies by 1/s, which can land one step away on a tie); gradient straight through (every weight
  // is inside ±127 steps by construction).
  std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
  shape[static_cast<size_t>(u.weight_axis)] = -1;
  auto s = scale.reshape(shape);
  auto q = torch::clamp(torch::round(w.detach() / s), -127, 127) * s;
  return w + (q - w.detach());
}

torch::Tensor TrainableModel::bias_fq(const Node& n, const torch::Tensor& b,
                                      const torch::Tensor& w_scale) const {
  auto it = unit_of_node_.find(n.name);
  if (it == unit_of_node_.end()) return b;
  const auto& q = quants_[quant_of_.at(plan_.units[it->second].input)];
  if (!q.initialized) return b;
  // int32 bias with scale x_scale · w_scale (straight-through rounding).
  auto s = w_scale * q.qparams().scale;
  auto bq = (torch::round(b.detach().to(torch::kFloat64) / s.to(torch::kFloat64)) * s.to(torch::kFloat64))
                .to(b.scalar_type());  // rounded in double, as quantize_bias
  return b + (bq - b.detach());
}

void TrainableModel::folded_conv_params(const Node& n, std::map<std::string, torch::Tensor>& env,
                                        torch::Tensor* w, torch::Tensor* b) const {
  *w = value(n.inputs[1], env);
  const int64_t cout = w->size(0);
  *b = n.input(2) ? value(n.inputs[2], env) : torch::zeros({cout}, w->options().requires_grad(false));
  auto it = bn_.find(n.name);
  if (it == bn_.end()) return;
  const Bn& bn = it->second;
  auto sf = values_.at(bn.gamma) / torch::sqrt(values_.at(bn.var) + bn.eps);
  std::vector<int64_t> shape(static_cast<size_t>(w->dim()), 1);
  shape[0] = -1;
  *w = *w * sf.reshape(shape);
  *b = (*b - values_.at(bn.mean)) * sf + values_.at(bn.beta);
}

torch::Tensor TrainableModel::run_conv(const Node& n, std::map<std::string, torch::Tensor>& env) {
  auto x = value(n.inputs[0], env);
  const size_t rank = static_cast<size_t>(x.dim()) - 2;
  TQ_CHECK(rank == 1 || rank == 2, "{}: the trainer supports 1-D and 2-D convolutions", n.describe());
  auto strides = n.get_ints("strides", std::vector<int64_t>(rank, 1));
  auto dil = n.get_ints("dilations", std::vector<int64_t>(rank, 1));
  auto pads = pair_pads(n, rank, "convolution");
  const int64_t groups = n.get_int("group", 1);
  auto conv = [&](const torch::Tensor& w, const torch::Tensor& b) {
    return rank == 2 ? torch::conv2d(x, w, b, strides, pads, dil, groups)
                     : torch::conv1d(x, w, b, strides, pads, dil, groups);
  };
  auto bn_it = bn_.find(n.name);
  const bool live_bn = bn_it != bn_.end() && training_ && !bn_frozen_;
  if (!live_bn) {  // no BN, or BN folded with its running statistics
    torch::Tensor w, b;
    folded_conv_params(n, env, &w, &b);
    torch::Tensor w_scale;
    auto wq = weight_fq(n, w, &w_scale);
    return conv(wq, bias_fq(n, b, w_scale));
  }
  const Bn& bn = bn_it->second;
  auto gamma = values_.at(bn.gamma), beta = values_.at(bn.beta);
  auto mean = values_.at(bn.mean), var = values_.at(bn.var);
  auto w = value(n.inputs[1], env);
  torch::Tensor b = n.input(2) ? value(n.inputs[2], env) : torch::Tensor();
  const double torch_momentum = 1.0 - bn.momentum;
  if (!prepared_) {
    auto y = conv(w, b);
    return torch::batch_norm(y, gamma, beta, mean, var, true, torch_momentum, bn.eps, false);
  }
  // Fused ConvBn QAT while batch statistics are live: fake-quantize the weights as they will be folded
  // (scaled by γ/σ_running), undo the scale on the output, then BN with batch statistics.
  auto sf = gamma / torch::sqrt(var + bn.eps);
  auto shape = std::vector<int64_t>(static_cast<size_t>(w.dim()), 1);
  shape[0] = -1;
  auto y = conv(weight_fq(n, w * sf.reshape(shape)), torch::Tensor());
  std::vector<int64_t> oshape(static_cast<size_t>(y.dim()), 1);
  oshape[1] = -1;
  y = y / sf.reshape(oshape);
  if (b.defined()) y = y + b.reshape(oshape);
  return torch::batch_norm(y, gamma, beta, mean, var, true, torch_momentum, bn.eps, false);
}

torch::Tensor TrainableModel::run_gemm(const Node& n, std::map<std::string, torch::Tensor>& env) {
  auto a = value(n.inputs[0], env);
  auto w = value(n.inputs[1], env);
  if (n.get_int("transA", 0)) a = a.t();
  torch::Tensor w_scale;
  auto wq = weight_fq(n, w, &w_scale);
  auto y = torch::matmul(a, n.get_int("transB", 0) ? wq.t() : wq) * n.get_float("alpha", 1.f);
  if (n.input(2)) {
    auto c = value(n.inputs[2], env);
    if (unit_of_node_.count(n.name)) c = bias_fq(n, c, w_scale);
    y = y + c * n.get_float("beta", 1.f);
  }
  return y;
}

std::vector<torch::Tensor> TrainableModel::forward(const std::vector<torch::Tensor>& inputs) {
  TQ_CHECK(inputs.size() == graph_.inputs.size(), "trainer: {} inputs given, the model has {}", inputs.size(),
           graph_.inputs.size());
  std::map<std::string, torch::Tensor> env;
  const bool observe = training_;
  // A tie group shares one observer, fed by one member only (its root: a Concat's output, a MaxPool's
  // input), so a step updates it once with that tensor's range, not with each member's in turn.
  auto observes = [&](const std::string& name) { return observe && plan_.ties.find(name) == name; };
  auto post = [&](const std::string& name, torch::Tensor v) {
    if (prepared_) {
      auto it = quant_of_.find(name);
      if (it != quant_of_.end()) v = quants_[it->second].apply(v, observes(name));
    }
    if (training_ && dropout_.count(name)) v = torch::dropout(v, dropout_p_, /*train=*/true);
    env[name] = v;
  };
  for (size_t i = 0; i < inputs.size(); ++i) post(graph_.inputs[i].name, inputs[i]);
  auto ints = [&](const std::string& name) {
    auto t = value(name, env).to(torch::kCPU).to(torch::kInt64).contiguous();
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  };
  auto axis_of = [](int64_t a, int64_t rank) { return a < 0 ? a + rank : a; };
  for (const Node& n : graph_.nodes) {
    const std::string& op = n.op_type;
    auto in = [&](size_t k) { return value(n.inputs[k], env); };
    torch::Tensor y;
    if (op == "Conv") {
      y = run_conv(n, env);
    } else if (op == "Gemm") {
      y = run_gemm(n, env);
    } else if (op == "MatMul") {
      y = torch::matmul(in(0), weight_fq(n, in(1)));
    } else if (op == "Add") {
      y = in(0) + in(1);
    } else if (op == "Sub") {
      y = in(0) - in(1);
    } else if (op == "Mul") {
      y = in(0) * in(1);
    } else if (op == "Div") {
      y = in(0) / in(1);
    } else if (op == "Relu" || op == "Clip") {
      auto bounds = activation_bounds(graph_, n);
      TQ_CHECK(bounds, "trainer: {} has bounds computed at run time (only constant bounds train)",
               n.describe());
      const auto [lo, hi] = *bounds;
      auto q = prepared_ ? quant_of_.find(n.outputs[0]) : quant_of_.end();
      if (q != quant_of_.end()) {  // activation and its fake-quant in one pass
        env[n.outputs[0]] = quants_[q->second].apply(in(0), observes(n.outputs[0]), lo, hi);
        continue;
      }
      y = clamp_between(in(0), lo, hi);
    } else if (op == "LeakyRelu") {
      y = torch::leaky_relu(in(0), n.get_float("alpha", 0.01f));
    } else if (op == "Sigmoid") {
      y = torch::sigmoid(in(0));
    } else if (op == "Tanh") {
      y = torch::tanh(in(0));
    } else if (op == "Erf") {
      y = torch::erf(in(0));
    } else if (op == "Sqrt") {
      y = torch::sqrt(in(0));
    } else if (op == "Softmax") {
      y = torch::softmax(in(0), n.get_int("axis", -1));
    } else if (op == "Identity") {
      y = in(0);
    } else if (op == "BatchNormalization") {
      y = torch::batch_norm(in(0), in(1), in(2), in(3), in(4), training_ && !bn_frozen_,
                            1.0 - n.get_float("momentum", 0.9f), n.get_float("epsilon", 1e-5f), false);
    } else if (op == "GlobalAveragePool") {
      auto x = in(0);
      std::vector<int64_t> dims;
      for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
      y = x.mean(dims, true);
    } else if (op == "AveragePool" || op == "MaxPool") {
      auto x = in(0);
      TQ_CHECK(x.dim() == 4, "{}: the trainer supports 2-D pooling only", n.describe());
      auto k = n.get_ints("kernel_shape");
      auto s = n.get_ints("strides", {1, 1});
      auto p = pair_pads(n, 2, "pooling");
      const bool ceil = n.get_int("ceil_mode", 0) != 0;
      y = op == "MaxPool" ? torch::max_pool2d(x, k, s, p, n.get_ints("dilations", {1, 1}), ceil)
                          : torch::avg_pool2d(x, k, s, p, ceil, n.get_int("count_include_pad", 0) != 0);
    } else if (op == "ReduceMean") {
      auto x = in(0);
      std::vector<int64_t> axes = n.input(1) ? ints(n.inputs[1]) : n.get_ints("axes");
      if (axes.empty())
        for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
      y = x.mean(axes, n.get_int("keepdims", 1) != 0);
    } else if (op == "Flatten") {
      auto x = in(0);
      const int64_t a = axis_of(n.get_int("axis", 1), x.dim());
      int64_t outer = 1;
      for (int64_t d = 0; d < a; ++d) outer *= x.size(d);
      y = x.reshape({outer, -1});
    } else if (op == "Reshape") {
      auto x = in(0);
      auto shape = ints(n.inputs[1]);
      for (size_t d = 0; d < shape.size(); ++d)
        if (shape[d] == 0 && !n.get_int("allowzero", 0)) shape[d] = x.size(static_cast<int64_t>(d));
      y = x.reshape(shape);
    } else if (op == "Squeeze") {
      auto x = in(0);
      std::vector<int64_t> axes = n.input(1) ? ints(n.inputs[1]) : n.get_ints("axes");
      if (axes.empty()) {
        y = x.squeeze();
      } else {
        for (auto& a : axes) a = axis_of(a, x.dim());
        std::sort(axes.rbegin(), axes.rend());
        y = x;
        for (int64_t a : axes) y = y.squeeze(a);
      }
    } else if (op == "Unsqueeze") {
      auto x = in(0);
      std::vector<int64_t> axes = n.input(1) ? ints(n.inputs[1]) : n.get_ints("axes");
      const int64_t out_rank = x.dim() + static_cast<int64_t>(axes.size());
      for (auto& a : axes) a = axis_of(a, out_rank);
      std::sort(axes.begin(), axes.end());
      y = x;
      for (int64_t a : axes) y = y.unsqueeze(a);
    } else if (op == "Concat") {
      std::vector<torch::Tensor> parts;
      for (size_t k = 0; k < n.inputs.size(); ++k) parts.push_back(in(k));
      y = torch::cat(parts, n.get_int("axis", 0));
    } else if (op == "Transpose") {
      auto x = in(0);
      std::vector<int64_t> perm = n.get_ints("perm");
      if (perm.empty())
        for (int64_t d = x.dim() - 1; d >= 0; --d) perm.push_back(d);
      y = x.permute(perm);
    } else if (op == "Shape") {
      auto sz = in(0).sizes().vec();
      const int64_t r = static_cast<int64_t>(sz.size());
      int64_t s = std::clamp(axis_of(n.get_int("start", 0), r), int64_t{0}, r);
      int64_t e = std::clamp(n.has("end") ? axis_of(n.get_int("end", r), r) : r, int64_t{0}, r);
      std::vector<int64_t> part(sz.begin() + s, sz.begin() + std::max(s, e));
      y = torch::tensor(part, torch::kInt64).to(device_);
    } else if (op == "Gather") {
      auto x = in(0);
      auto idx = in(1).to(torch::kInt64);
      const int64_t a = axis_of(n.get_int("axis", 0), x.dim());
      idx = torch::where(idx < 0, idx + x.size(a), idx);
      if (idx.dim() == 0) {
        y = x.select(a, idx.item<int64_t>());
      } else {
        y = x.index_select(a, idx.reshape({-1}).to(x.device()));
        auto shape = x.sizes().vec();
        shape.erase(shape.begin() + a);
        auto is = idx.sizes().vec();
        shape.insert(shape.begin() + a, is.begin(), is.end());
        y = y.reshape(shape);
      }
    } else if (op == "Constant") {
      y = to_torch(constant_node_value(n)).to(device_);
    } else if (op == "Cast") {
      static const std::map<int64_t, torch::ScalarType> types = {{1, torch::kFloat32}, {2, torch::kUInt8},
                                                                 {3, torch::kInt8},    {6, torch::kInt32},
                                                                 {7, torch::kInt64},   {9, torch::kBool}};
      auto it = types.find(n.get_int("to", 1));
      TQ_CHECK(it != types.end(), "{}: cast to ONNX type {} is not supported by the trainer", n.describe(),
               n.get_int("to", 1));
      y = in(0).to(it->second);
    } else {
      fail("the trainer cannot differentiate {}", n.describe());
    }
    post(n.outputs[0], y);
  }
  std::vector<torch::Tensor> outs;
  for (const auto& o : graph_.outputs) outs.push_back(value(o.name, env));
  return outs;
}

// ---------------------------------------------------------------- QAT

void TrainableModel::prepare_qat(const QatOptions& opt) {
  TQ_CHECK(!prepared_, "trainer: the model is already prepared for QAT");
  quant::PtqReport rep;
  const Model folded = fp32_model();
  plan_ = quant::plan_static(folded.graph, opt.qconfig, &rep);
  TQ_CHECK(!plan_.units.empty(),
           "QAT: the model has no Conv, Gemm or MatMul with constant weights to quantize");
  for (size_t i = 0; i < plan_.units.size(); ++i)
    unit_of_node_[folded.graph.nodes[plan_.units[i].node].name] = static_cast<int>(i);
  std::map<std::string, int> by_root;
  for (const auto& t : plan_.tensors) {
    const std::string root = plan_.ties.find(t);
    auto it = by_root.find(root);
    if (it == by_root.end()) {
      ActQuant q;
      q.scheme = opt.qconfig.activations;
      q.averaging = opt.averaging;
      q.learnable = false;
      quants_.push_back(q);
      it = by_root.emplace(root, static_cast<int>(quants_.size()) - 1).first;
    }
    quant_of_[t] = it->second;
  }
  lsq_ = opt.lsq;
  prepared_ = true;
}

void TrainableModel::set_ranges(const std::map<std::string, std::pair<float, float>>& ranges) {
  for (const auto& [t, r] : ranges) {
    auto it = quant_of_.find(t);
    if (it == quant_of_.end()) continue;
    ActQuant& q = quants_[it->second];
    q.lo = r.first, q.hi = r.second, q.initialized = true;
  }
  if (lsq_)
    for (auto& q : quants_) {
      if (!q.initialized || q.learnable) continue;
      const quant::QParams p = q.qparams();
      q.learnable = true;
      q.scale = torch::full({1}, p.scale, torch::TensorOptions().device(device_)).set_requires_grad(true);
      q.zero_point =
          torch::full({1}, static_cast<float>(p.zero_point), torch::TensorOptions().device(device_));
    }
}

void TrainableModel::freeze_observers() {
  for (auto& q : quants_) q.frozen = true;
}

void TrainableModel::freeze_bn() {
  bn_frozen_ = true;
}

std::vector<std::string> TrainableModel::unobserved() const {
  std::vector<std::string> out;
  for (const auto& [t, i] : quant_of_)
    if (!quants_[i].initialized) out.push_back(t);
  return out;
}

std::map<std::string, quant::QParams> TrainableModel::activation_qparams() const {
  std::map<std::string, quant::QParams> out;
  for (const auto& [t, i] : quant_of_) out[t] = quants_[i].qparams();
  return out;
}

TrainableModel::State TrainableModel::snapshot() const {
  State s;
  for (const auto& [n, t] : values_) s.values[n] = t.detach().clone();
  s.quants = quants_;
  for (auto& q : s.quants)
    if (q.learnable) q.scale = q.scale.detach().clone(), q.zero_point = q.zero_point.detach().clone();
  return s;
}

void TrainableModel::restore(const State& s) {
  torch::NoGradGuard ng;
  for (const auto& [n, t] : s.values) values_.at(n).copy_(t);
  for (size_t i = 0; i < quants_.size() && i < s.quants.size(); ++i) {
    ActQuant keep = quants_[i];
    quants_[i] = s.quants[i];
    if (keep.learnable) {
      keep.scale.copy_(s.quants[i].scale);
      keep.zero_point.copy_(s.quants[i].zero_point);
      quants_[i].scale = keep.scale, quants_[i].zero_point = keep.zero_point;
    }
  }
}

// ---------------------------------------------------------------- export

Model TrainableModel::export_graph(bool keep_bn) const {
  torch::NoGradGuard ng;
  Model m = model_;
  m.producer_name = "tinyqat";  // trained weights: our file now, whoever wrote the original
  m.producer_version = kVersion;
  Graph& g = m.graph;
  g.nodes = graph_.nodes;
  g.initializers.clear();
  std::set<std::string> used;
  for (const auto& n : g.nodes)
    for (const auto& i : n.inputs) used.insert(i);
  for (const auto& [name, t] : values_)
    if (used.count(name)) g.initializers[name] = from_torch(t);
  std::vector<Node> nodes;
  for (const Node& n : g.nodes) {
    auto it = bn_.find(n.name);
    if (it == bn_.end()) {
      nodes.push_back(n);
      continue;
    }
    const Bn& bn = it->second;
    Node conv = n;
    if (keep_bn) {
      const std::string mid = g.unique_name(n.name + "_conv_out");
      conv.outputs[0] = mid;
      nodes.push_back(conv);
      for (const auto* p : {&bn.gamma, &bn.beta, &bn.mean, &bn.var})
        g.initializers[*p] = from_torch(values_.at(*p));
      nodes.push_back(
          Node{g.unique_name(n.name + "_bn"),
               "BatchNormalization",
               "",
               {mid, bn.gamma, bn.beta, bn.mean, bn.var},
               {bn.output},
               {{"epsilon", Attribute::of_float(bn.eps)}, {"momentum", Attribute::of_float(bn.momentum)}}});
      continue;
    }
    torch::Tensor w, b;
    std::map<std::string, torch::Tensor> none;
    folded_conv_params(n, none, &w, &b);
    g.initializers[n.inputs[1]] = from_torch(w);
    std::string bias = n.input(2) ? n.inputs[2] : g.unique_name(n.name + ".bias");
    g.initializers[bias] = from_torch(b);
    conv.inputs.resize(3);
    conv.inputs[2] = bias;
    nodes.push_back(conv);
  }
  g.nodes = nodes;
  g.value_info.clear();
  g.topo_sort();
  infer_shapes(m);
  return m;
}

Model TrainableModel::fp32_model() const {
  return export_graph(false);
}
Model TrainableModel::checkpoint_model() const {
  return export_graph(true);
}

Model TrainableModel::qdq_model() const {
  TQ_CHECK(prepared_, "trainer: the model was not prepared for QAT");
  auto missing = unobserved();
  TQ_CHECK(missing.empty(), "QAT export: no range was observed for {}", fmt::join(missing, ", "));
  quant::PtqReport rep;
  return quant::write_qdq(fp32_model(), plan_, activation_qparams(), &rep);
}

}  // namespace tinyqat::train
