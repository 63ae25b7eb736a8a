#include "quant/sample_runner.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace tinyqat::quant {

SampleRunner::SampleRunner(const Model& m, const std::vector<std::string>& extra, int threads) {
  Model probe = m;
  std::set<std::string> outs;
  for (const auto& o : probe.graph.outputs) outs.insert(o.name);
  for (const auto& t : extra)
    if (outs.insert(t).second) probe.graph.outputs.push_back(ValueInfo{t, DType::F32, false, {}});
  for (const auto& o : probe.graph.outputs) names_.push_back(o.name);
  for (const auto& in : m.graph.inputs) {
    inputs_.push_back(in.name);
    if (!in.shape.empty() && in.shape[0].is_known()) fixed_batch_ = std::max<int64_t>(1, in.shape[0].value);
  }
  ex_ = std::make_unique<Executor>(std::move(probe), ExecutorOptions{threads});
}

int SampleRunner::index_of(const std::string& name) const {
  auto it = std::find(names_.begin(), names_.end(), name);
  TQ_CHECK(it != names_.end(), "value '{}' is not watched", name);
  return static_cast<int>(it - names_.begin());
}

void SampleRunner::run(const NamedTensors& data, int64_t begin, int64_t n,
                       const std::function<void(const std::vector<Tensor>&)>& fn) {
  const int64_t chunk = fixed_batch_ > 0 ? fixed_batch_ : 16;
  for (int64_t b = begin; b < n; b += chunk) {
    const int64_t e = std::min(n, b + chunk);
    std::vector<std::pair<std::string, Tensor>> feeds;
    for (const auto& name : inputs_)
      for (const auto& kv : data)
        if (kv.first == name) feeds.emplace_back(name, kv.second.rows(b, e));
    fn(ex_->run(feeds));
  }
}

}  // namespace tinyqat::quant
