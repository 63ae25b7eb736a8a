// A training config (YAML): model, model_args or init, data or cache, epochs, batch_size, val_frac,
// test_frac, seed, loss, optimizer, precision, output and the qat: block. The fork's four configs
// (../shared/fork-api/configs) load unchanged: their keys are a subset (docs/fork.md maps each one).
// Command-line overrides are applied on top; the canonical text of the result (canonical()) is what the
// config hash in the int8 file's metadata covers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "quant/qconfig.h"
#include "zoo/zoo.h"

namespace tinyqat::train {

struct QatConfig {
  int epochs_fp32 = 20;
  int epochs_qat = 10;
  double lr_qat = -1;                   // < 0: lr / 10
  std::vector<int64_t> input_shape;     // checked against the data ([batch dims ignored])
  std::string input_name, output_name;  // rename the exported model's input/output ("" keeps them)
  int n_calibration = 64;               // samples that initialise the activation ranges
  // Activations: asymmetric | symmetric (the seed's); initial ranges: PTQ's calibration methods. Both
  // default to quant's one default (quant/qconfig.h kDefaultActivations, kDefaultMethod).
  std::string qconfig = quant::name(quant::kDefaultActivations);
  std::string init_ranges = quant::name(quant::kDefaultMethod);
  int freeze_observers_epoch = -1;   // QAT epoch (0-based) from which ranges stay fixed; -1 never
  int freeze_bn_epoch = -1;          // QAT epoch from which BN statistics are frozen and folded
  bool lsq = false;                  // learnable activation scales
  double averaging = 0.01;           // moving-average constant of the observers
  double drift_penalty = 0;          // λ · Σ (w − w_fp32)² added to the QAT loss
  bool keep_best = true;             // export the QAT epoch with the lowest validation loss
  std::vector<std::string> exclude;  // node names kept in fp32
  bool smoke = false;                // the fork's qat.smoke: the same as --smoke
  // false (default): graph outputs computed by a weighted unit stay float (QConfig::quantize_outputs).
  bool quantize_outputs = false;
};

struct TrainConfig {
  std::string path;   // the YAML file
  std::string model;  // zoo kind ("" with init)
  zoo::Args model_args;
  std::string init;                       // an fp32 ONNX to start from
  std::string train_data, eval_data;      // .npz
  std::string input_array, target_array;  // array names in the data (target "" with loss distill)
  std::string cache;                      // the fork's data cache instead of data: (.npz / .parquet / .pq)
  std::string output_dir;                 // the fork's output: where files go when -o is not given
  int epochs = 20;
  int batch_size = 16;
  double lr = 1e-3;
  double weight_decay = 0;
  std::string optimizer = "adamw";  // adamw | adam | sgd
  double val_frac = 0.1;
  double test_frac = 0;  // held out from training and validation; reported after training
  uint64_t seed = 0;
  std::string loss = "l1";            // l1 | mse | distill
  std::string precision = "32-true";  // 32-true | 16-mixed | bf16-mixed (Lightning's names; see trainer.h)
  QatConfig qat;
  // Run settings (not part of the model recipe, not hashed)
  std::string device = "cpu";
  int threads = 1;

  double qat_lr() const { return qat.lr_qat > 0 ? qat.lr_qat : lr / 10; }
  std::string canonical() const;  // the recipe as sorted key=value lines
  std::string hash() const;       // sha256 of canonical()
};

// Reads and validates a config; errors name the file and the key.
TrainConfig load_config(const std::string& path);
// Checks values after overrides (ranges, known words); errors name the key.
void validate(const TrainConfig& c);

}  // namespace tinyqat::train
