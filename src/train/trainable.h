// The trainer's view of a model: an IR graph executed with LibTorch ops so that its initializers
// become trainable parameters. Talks only to the IR: any graph the zoo builds or the ONNX importer
// reads trains, within the ops of forward_ops.cpp (src/ir/op_list.h says why the others are not), and
// trained weights go back into the IR.
//
// BatchNormalization right after a Conv is absorbed into that Conv (its parameters are kept beside
// it): trained as Conv → BN in fp32, trained the way PyTorch's fused ConvBn QAT modules do while its
// statistics are live (weights scaled by γ/σ_running before fake-quant, BN on the rescaled output), and
// folded into the Conv once frozen, in eval mode and on export.
#pragma once
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "ir/graph.h"
#include "quant/plan.h"
#include "quant/qconfig.h"

namespace tinyqat::train {

// One per-tensor activation fake-quant (shared by a tie group). Moving-average min/max observer,
// optionally a learnable scale (LSQ) once its range is initialized.
struct ActQuant {
  quant::ActScheme scheme = quant::ActScheme::Symmetric;
  double averaging = 0.01;  // moving-average constant (PyTorch's default)
  bool initialized = false, frozen = false;
  float lo = 0, hi = 0;
  bool learnable = false;
  torch::Tensor scale, zero_point;  // float [1] tensors when learnable
  quant::QParams qparams() const;
  // fake-quant of clamp(x, a, b): the activation in front of the quantizer folded in (±∞: none).
  torch::Tensor apply(const torch::Tensor& x, bool observe, float a = -INFINITY, float b = INFINITY);
};

struct QatOptions {
  quant::QConfig qconfig;  // activations preset and excluded nodes
  double averaging = 0.01;
  bool lsq = false;
};

class TrainableModel {
 public:
  // Refuses (Error naming op and node) a graph with an op the trainer cannot differentiate.
  explicit TrainableModel(const Model& m);

  std::vector<torch::Tensor> parameters()
      const;  // trainable tensors, stable order (weights, then LSQ scales)
  std::vector<torch::Tensor> weight_parameters() const;  // without the LSQ scales
  std::vector<std::string> parameter_names() const;
  void to(const torch::Device& d);
  torch::Device device() const { return device_; }
  void set_training(bool on) { training_ = on; }

  // Graph inputs in order; returns the graph outputs in order.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs);
  const std::vector<ValueInfo>& inputs() const { return graph_.inputs; }
  const std::vector<ValueInfo>& outputs() const { return graph_.outputs; }

  // QAT: plan the quantized tensors exactly as static PTQ would on the folded graph, insert fake-quant.
  void prepare_qat(const QatOptions& opt);
  bool prepared() const { return prepared_; }
  const quant::QuantPlan& plan() const { return plan_; }
  // Initial activation ranges (from calibration) for the planned tensors.
  void set_ranges(const std::map<std::string, std::pair<float, float>>& ranges);
  void freeze_observers();
  void freeze_bn();
  bool bn_frozen() const { return bn_frozen_; }
  std::vector<std::string> unobserved() const;  // planned tensors whose range was never set

  // The folded fp32 model with the current weights (BN folded into its Conv).
  Model fp32_model() const;
  // BN kept as BatchNormalization: what a checkpoint holds (and resumes from).
  Model checkpoint_model() const;
  // The deployable QDQ model: parameters taken from the trained observers (prepared models only).
  Model qdq_model() const;
  std::map<std::string, quant::QParams> activation_qparams() const;

  // Everything that changes during training (parameters, BN statistics, observer state), to keep the
  // best epoch.
  struct State {
    std::map<std::string, torch::Tensor> values;
    std::vector<ActQuant> quants;
  };
  State snapshot() const;
  void restore(const State& s);

 private:
  friend class ForwardPass;  // one forward pass (forward_ops.h)
  struct Bn {
    std::string gamma, beta, mean, var, output;
    float eps = 1e-5f, momentum = 0.9f;  // ONNX momentum
  };
  torch::Tensor value(const std::string& name, std::map<std::string, torch::Tensor>& env) const;
  torch::Tensor run_conv(const Node& n, std::map<std::string, torch::Tensor>& env);
  torch::Tensor run_gemm(const Node& n, std::map<std::string, torch::Tensor>& env);
  // Fake-quantized weight of a planned unit (w itself otherwise); its per-channel scales into *w_scale.
  torch::Tensor weight_fq(const Node& n, const torch::Tensor& w, torch::Tensor* w_scale = nullptr) const;
  torch::Tensor bias_fq(const Node& n, const torch::Tensor& b, const torch::Tensor& w_scale) const;
  void folded_conv_params(const Node& n, std::map<std::string, torch::Tensor>& env, torch::Tensor* w,
                          torch::Tensor* b) const;
  Model export_graph(bool keep_bn) const;

  Model model_;  // metadata, opset, names; graph_ holds the BN-absorbed structure
  Graph graph_;
  std::map<std::string, torch::Tensor> values_;  // every initializer (parameters and buffers)
  std::vector<std::string> trainable_;
  std::map<std::string, Bn> bn_;  // by Conv node name
  bool training_ = false;
  std::set<std::string> dropout_;  // values dropped out while training (the zoo's fr_regressor)
  double dropout_p_ = 0;
  torch::Device device_ = torch::kCPU;

  bool prepared_ = false, bn_frozen_ = false, lsq_ = false;
  quant::QuantPlan plan_;
  std::map<std::string, int> unit_of_node_;  // weighted-unit Conv/Gemm node name → plan_.units index
  std::map<std::string, int> quant_of_;      // planned tensor → quants_ index (tie groups share)
  std::vector<ActQuant> quants_;
};

torch::Tensor to_torch(const Tensor& t);
Tensor from_torch(const torch::Tensor& t);

}  // namespace tinyqat::train
