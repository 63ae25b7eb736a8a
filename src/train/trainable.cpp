#include "train/trainable.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/version.h"
#include "quant/patterns.h"
#include "train/distributed.h"
#include "train/fake_quant.h"
#include "train/forward_ops.h"
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
    float xmin = INFINITY, xmax = -INFINITY;  // a rank's share of a batch may be empty
    if (x.numel() > 0 || !dist::active()) {
      // Over the memory as one run: LibTorch reduces a channels-last tensor 3.7x slower than the same
      // elements laid out flat (16x16x64x64: 0.67 vs 0.18 ms).
      auto d = x.detach();
      auto mm = torch::aminmax(d.is_non_overlapping_and_dense() ? d.as_strided({d.numel()}, {1}) : d);
      xmin = std::get<0>(mm).item<float>(), xmax = std::get<1>(mm).item<float>();
    }
    dist::reduce_range(&xmin, &xmax);  // several ranks: the global batch's range
    // The clamp is monotone: the range of clamp(x) is the clamped range of x.
    const float bmin = std::clamp(xmin, a, b), bmax = std::clamp(xmax, a, b);
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

// Initializer inputs that train (the others are constants: normalisation, shapes, clip bounds).
bool trains(const Node& n, size_t input) {
  if (n.op_type == "Conv" || n.op_type == "Gemm") return input == 1 || input == 2;
  if (n.op_type == "MatMul") return input == 1;
  if (n.op_type == "BatchNormalization") return input == 1 || input == 2;
  return false;
}

}  // namespace

TrainableModel::TrainableModel(const Model& m) : model_(m), graph_(m.graph) {
  std::vector<std::string> refused, trained;
  for (const auto& n : graph_.nodes)
    if (!n.domain.empty() || !forward_ops().count(n.op_type))
      refused.push_back(fmt::format("{} (node '{}')", n.op_type, n.name));
  for (const auto& [op, fn] : forward_ops()) trained.push_back(op);
  TQ_CHECK(refused.empty(), "the trainer cannot differentiate {} — it trains fp32 graphs made of: {}",
           fmt::join(refused, ", "), fmt::join(trained, " "));
  for (const auto& [name, t] : graph_.initializers) values_[name] = to_torch(t);
  // Dropout while training (zoo::kDropoutKey: "P@value,value"); an exported model has none.
  for (const auto& [k, v] : m.metadata)
    if (k == zoo::kDropoutKey) {
      const size_t at = v.find('@');
      TQ_CHECK(at != std::string::npos, "metadata {}: '{}' is not P@value,...", k, v);
      const auto [end, ec] = std::from_chars(v.data(), v.data() + at, dropout_p_);
      TQ_CHECK(ec == std::errc() && end == v.data() + at && dropout_p_ >= 0 && dropout_p_ < 1,
               "metadata {}: dropout '{}' is not a number in [0, 1)", k,
               v.substr(0, std::min<size_t>(at, 40)));
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
  // Per-channel symmetric int8, the scale of core/numerics.h (weight_scale_per_channel: the quantizer's).
  auto scale = weight_scale_per_channel(w, u.weight_axis);
  if (w_scale) *w_scale = scale.reshape({-1});
  // x / s and round half to even, as quantize_weight_per_channel (LibTorch's per-channel kernel
  // multiplies by 1/s, which can land one step away on a tie); gradient straight through (every weight
  // is inside ±kWeightQMax steps by construction).
  std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
  shape[static_cast<size_t>(u.weight_axis)] = -1;
  auto s = scale.reshape(shape);
  auto q = torch::clamp(torch::round(w.detach() / s), -kWeightQMax, kWeightQMax) * s;
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
  // 2-D convolutions on the CPU run channels-last: LibTorch's oneDNN convolution takes and gives NHWC as
  // it is, where NCHW costs a reorder of every input, output and gradient to its blocked layout and back
  // (a quarter of the fp32 step of learned_filter(16, 4)). Elementwise ops keep the layout they are given.
  // Not while batch norm uses batch statistics: the reductions over a channels-last gradient (a BN bias's
  // gradient) sum sequentially in float over N·H·W, and one and several ranks would no longer train the
  // same model within 1e-5 (tests/train/test_distributed.cpp).
  const bool live_batch_stats = training_ && !bn_frozen_ && !bn_.empty();
  if (rank == 2 && x.device().is_cpu() && !live_batch_stats)
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
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
    return dist::batch_norm_train(y, gamma, beta, mean, var, torch_momentum, bn.eps);
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
  return dist::batch_norm_train(y, gamma, beta, mean, var, torch_momentum, bn.eps);
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

// The nodes in order, each through its forward function (forward_ops.cpp); every computed value goes
// through its fake-quant when QAT plans one there.
std::vector<torch::Tensor> TrainableModel::forward(const std::vector<torch::Tensor>& inputs) {
  TQ_CHECK(inputs.size() == graph_.inputs.size(), "trainer: {} inputs given, the model has {}", inputs.size(),
           graph_.inputs.size());
  ForwardPass pass(*this, training_);
  for (size_t i = 0; i < inputs.size(); ++i) pass.post(graph_.inputs[i].name, inputs[i]);
  for (const Node& n : graph_.nodes) {
    auto op = forward_ops().find(n.op_type);
    if (op == forward_ops().end()) fail("the trainer cannot differentiate {}", n.describe());
    Forwarded y = op->second(pass, n);
    if (y.fake_quantized)
      pass.set(n.outputs[0], y.value);
    else
      pass.post(n.outputs[0], y.value);
  }
  std::vector<torch::Tensor> outs;
  for (const auto& o : graph_.outputs) outs.push_back(pass.value(o.name));
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
