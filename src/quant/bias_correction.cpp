// Empirical bias correction for static PTQ. Rounding weights to int8 and activations to uint8 moves the
// mean of a unit's output, not only its noise: a depthwise kernel of nine rounded weights, or an
// activation whose rounding errors do not average out, shifts every output of a channel by the same
// amount, and the next unit sees that shift as signal. Each unit, in graph order, gets the difference of
// the per-channel means of its pre-activation output — fp32 graph against the QDQ graph in which every
// earlier unit is already corrected — added to its float bias; the int32 bias is then quantized from the
// corrected value as before (weights.h), so the written graph has exactly the static PTQ form.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/plan.h"
#include "quant/sample_runner.h"

namespace tinyqat::quant {

namespace {

// A unit's op output and where its channels are: Conv [N, C, ...] on axis 1; Gemm [N, C] and MatMul
// [..., C] on the last. (Taken from the float graph: the QDQ graph's node order differs.)
struct Watched {
  std::string value;
  bool conv = false;
  int axis(const Tensor& y) const { return conv ? 1 : y.rank() - 1; }
};

// Per-channel sums of a unit's op output over the samples a runner walks.
struct ChannelMean {
  std::vector<double> sum;
  int64_t count = 0;
  void add(const Tensor& y, int axis) {
    const int64_t C = y.dim(axis);
    if (sum.empty()) sum.assign(static_cast<size_t>(C), 0.0);
    TQ_CHECK(static_cast<int64_t>(sum.size()) == C, "bias correction: channel count changed between samples");
    int64_t inner = 1;
    for (int i = axis + 1; i < y.rank(); ++i) inner *= y.dim(i);
    const float* p = y.data<float>();
    for (int64_t i = 0; i < y.numel(); ++i) sum[static_cast<size_t>((i / inner) % C)] += p[i];
    count += C > 0 ? y.numel() / C : 0;
  }
  double mean(size_t c) const { return count > 0 ? sum[c] / static_cast<double>(count) : 0.0; }
};

std::vector<ChannelMean> unit_means(const Model& m, const std::vector<Watched>& watched,
                                    const NamedTensors& calib, int64_t samples) {
  std::vector<std::string> names;
  for (const auto& w : watched) names.push_back(w.value);
  SampleRunner runner(m, names);
  std::vector<int> index;
  for (const auto& t : names) index.push_back(runner.index_of(t));
  std::vector<ChannelMean> means(watched.size());
  runner.run(calib, samples, [&](const std::vector<Tensor>& res) {
    for (size_t i = 0; i < watched.size(); ++i) {
      const Tensor& y = res[index[i]];
      if (y.dtype() == DType::F32 && y.rank() >= 1) means[i].add(y, watched[i].axis(y));
    }
  });
  return means;
}

}  // namespace

Model correct_biases(const Model& fp32, QuantPlan* plan, const std::map<std::string, QParams>& acts,
                     const NamedTensors& calibration, int64_t samples, std::vector<BiasCorrection>* report) {
  Model corrected = fp32;
  Graph& g = corrected.graph;
  // A Conv, ConvTranspose or Gemm without a bias gets a zero one to carry its correction (an int32 bias is
  // free in the integer kernels; MatMul has no bias input and keeps its shift).
  for (auto& u : plan->units) {
    Node& n = g.nodes[u.node];
    if (!u.bias.empty() || (n.op_type != "Conv" && n.op_type != "ConvTranspose" && n.op_type != "Gemm"))
      continue;
    const Tensor& w = *g.initializer(u.weight);
    u.bias = g.unique_name(u.weight + "_bias");
    g.initializers[u.bias] = Tensor::zeros(DType::F32, {w.dim(static_cast<int>(u.weight_axis))});
    n.inputs.resize(2);
    n.inputs.push_back(u.bias);
  }
  // Units with a float bias of one value per output channel; the others keep their bias as it is.
  std::vector<const WeightedUnit*> units;
  std::vector<Watched> watched;
  for (const auto& u : plan->units) {
    const Tensor* b = u.bias.empty() ? nullptr : g.initializer(u.bias);
    if (b && b->dtype() == DType::F32 && b->rank() == 1) {
      units.push_back(&u);
      const std::string& op = g.nodes[u.node].op_type;
      watched.push_back({u.op_output, op == "Conv" || op == "ConvTranspose"});  // channels on axis 1
    }
  }
  if (units.empty()) return corrected;
  const std::vector<ChannelMean> reference = unit_means(corrected, watched, calibration, samples);
  for (size_t k = 0; k < units.size(); ++k) {
    const WeightedUnit& u = *units[k];
    const Model q = write_qdq(corrected, *plan, acts, nullptr);
    const ChannelMean got = unit_means(q, {watched[k]}, calibration, samples)[0];
    const Tensor& old_bias = *corrected.graph.initializer(u.bias);
    const int64_t C = old_bias.numel();
    if (static_cast<int64_t>(got.sum.size()) != C || static_cast<int64_t>(reference[k].sum.size()) != C)
      continue;  // an op output whose channels are not the bias's (a broadcast bias): left as it is
    std::vector<float> b(old_bias.data<float>(), old_bias.data<float>() + C);
    BiasCorrection rec{g.nodes[u.node].name, 0.0, 0.0};
    for (int64_t c = 0; c < C; ++c) {
      const double shift = reference[k].mean(static_cast<size_t>(c)) - got.mean(static_cast<size_t>(c));
      b[static_cast<size_t>(c)] = static_cast<float>(b[static_cast<size_t>(c)] + shift);
      rec.max_shift = std::max(rec.max_shift, std::fabs(shift));
      rec.max_bias = std::max(rec.max_bias, std::fabs(static_cast<double>(old_bias.data<float>()[c])));
    }
    corrected.graph.initializers[u.bias] = Tensor::from_f32(old_bias.shape(), b);
    if (report) report->push_back(rec);
  }
  return corrected;
}

}  // namespace tinyqat::quant
