// Runs a model over sample-stacked data (one array per graph input, samples on axis 0) in chunks its
// batch dimension allows, with chosen intermediate values exposed as extra outputs. Calibration and
// comparison both walk data this way.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/npy.h"
#include "ir/graph.h"
#include "runtime/executor.h"

namespace tinyqat::quant {

class SampleRunner {
 public:
  SampleRunner(const Model& m, const std::vector<std::string>& extra, int threads = 1);
  // The model's fixed batch size, or 0 when the batch dimension is dynamic.
  int64_t fixed_batch() const { return fixed_batch_; }
  // Every value each run returns: the model's outputs, then the extra values not already among them.
  const std::vector<std::string>& names() const { return names_; }
  int index_of(const std::string& name) const;
  // Runs samples [0, n) chunk by chunk; fn sees each chunk's values in names() order.
  void run(const NamedTensors& data, int64_t n, const std::function<void(const std::vector<Tensor>&)>& fn) {
    run(data, 0, n, fn);
  }
  // Samples [begin, end) (begin a multiple of a fixed batch).
  void run(const NamedTensors& data, int64_t begin, int64_t end,
           const std::function<void(const std::vector<Tensor>&)>& fn);

 private:
  std::vector<std::string> inputs_, names_;
  int64_t fixed_batch_ = 0;
  std::unique_ptr<Executor> ex_;
};

}  // namespace tinyqat::quant
