// The trainer's forward, one function per op (forward_ops.cpp reads top to bottom, in the families of
// src/ir/op_list.h). TrainableModel::forward runs the graph's nodes in order through this table; the ops
// it lacks are listed with their reason in op_list.h, and tests/train/test_train_ops.cpp checks the two
// agree.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "ir/graph.h"
#include "train/trainable.h"

namespace tinyqat::train {

// One forward pass: the values computed so far (`env`), and the model's parameters, weight fake-quant and
// activation fake-quant as the forward functions need them.
class ForwardPass {
 public:
  ForwardPass(TrainableModel& m, bool observe) : m_(m), observe_(observe) {}

  torch::Tensor value(const std::string& name);  // computed in this pass, or a parameter/constant
  torch::Tensor in(const Node& n, size_t k) { return value(n.inputs[k]); }
  std::vector<int64_t> ints(const std::string& value);  // an integer tensor's values (shapes, axes)
  torch::Tensor conv(const Node& n);                    // a Conv unit: BN absorbed, weights fake-quantized
  torch::Tensor gemm(const Node& n);                    // a Gemm unit: weights and bias fake-quantized
  torch::Tensor weight_fq(const Node& n, const torch::Tensor& w);
  const Graph& graph() const;
  torch::Device device() const { return m_.device(); }
  bool bn_uses_batch_stats() const;  // training, and BN not frozen yet

  // The fake-quant of value `name` when the model is prepared for QAT and plans one there, else nullptr.
  ActQuant* quant_of(const std::string& name);
  // Whether this pass updates the observer of `name`: while training, and only through the root of its
  // tie group (a Concat's output, a MaxPool's input), so a step updates a shared observer once.
  bool observes(const std::string& name) const;
  // Stores a computed value, through its fake-quant when one is planned.
  void post(const std::string& name, torch::Tensor v);
  // Stores a value that already went through its fake-quant (and drops it out while training where the
  // model asks for dropout).
  void set(const std::string& name, torch::Tensor v);

 private:
  TrainableModel& m_;
  const bool observe_;
  std::map<std::string, torch::Tensor> env_;
};

// What a forward function returns: the node's output, and whether the function already applied the output's
// fake-quant (an activation folded into its quantizer).
struct Forwarded {
  torch::Tensor value;
  bool fake_quantized = false;
  Forwarded(torch::Tensor v, bool fq = false) : value(std::move(v)), fake_quantized(fq) {}  // NOLINT
};
using ForwardFn = Forwarded (*)(ForwardPass&, const Node&);

// op type → forward (default domain). The ops the trainer differentiates are exactly its keys.
const std::map<std::string, ForwardFn>& forward_ops();

// Symmetric pads of a Conv or pool (the trainer has no asymmetric padding; auto_pad NOTSET or VALID only).
std::vector<int64_t> pair_pads(const Node& n, size_t rank, const std::string& what);

}  // namespace tinyqat::train
