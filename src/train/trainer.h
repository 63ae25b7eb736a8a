// The QAT pipeline: fp32 phase → prepare (BN absorbed into its Conv, fake-quant at the tensors static
// PTQ would quantize) → calibration of the initial ranges → QAT fine-tune (observer / BN freeze,
// optional LSQ, drift penalty, best epoch kept) → export of the QDQ .int8.onnx with the trained
// parameters and of the QAT-conditioned fp32 model.
#pragma once
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "io/npy.h"
#include "ir/graph.h"
#include "quant/ladder.h"
#include "train/config.h"

namespace tinyqat::data {
struct ShardCorpus;
}

namespace tinyqat::train {

struct RunOptions {
  bool quiet = false;       // no progress bar, no per-epoch lines
  bool smoke = false;       // wiring only: 1 epoch per phase, 2 batches, 8 calibration samples
  std::string init;         // qat: an fp32 model (.onnx, e.g. a `train` checkpoint) to start QAT from
  std::string resume;       // a resume state (train/resume.h): continue that run where it stopped
  std::string state;        // where the resume state is rewritten after every epoch ("" = not written)
  std::string checkpoint;   // where the fp32 phase writes its checkpoint after every epoch
  std::string output;       // qat: the .int8.onnx; its QAT-conditioned fp32 model goes beside it
  std::string fp32_output;  // "" → OUTPUT with .int8.onnx replaced by .fp32.onnx
  // In-memory alternatives to the config's files (the quantize ladder): the model to start from and
  // the training arrays (by the config's data.input / data.target names).
  const Model* start = nullptr;
  const NamedTensors* data = nullptr;
};

struct EpochLog {
  std::string phase;  // "fp32" | "qat"
  int epoch = 0;      // 1-based; 0 = the QAT starting point (after calibration, before training)
  double train_loss = 0, val_loss = 0, seconds = 0;  // seconds: the training pass only (no validation)
  // Several ranks (train/distributed.h): optimizer steps, and seconds spent in collectives in the pass.
  int64_t steps = 0;
  double comm_seconds = NAN;
};

// The held-out test split (test_frac) through a finished model, with the runtime.
struct TestMetrics {
  std::string model;  // which model: "fp32", "int8 (the exported QDQ model)", ...
  int64_t samples = 0;
  double loss = NAN;                           // the training loss (l1 / mse) on the test split
  double plcc = NAN, srocc = NAN, rmse = NAN;  // one score per sample: against the labels
  double psnr = NAN;                           // images: against the target, peak 1
};

struct TrainResult {
  std::vector<EpochLog> epochs;
  int best_qat_epoch = -1;
  std::string checkpoint, int8_path, fp32_path;
  std::string config_hash;
  int64_t train_samples = 0, val_samples = 0, test_samples = 0, calibration_samples = 0;
  std::string split;      // "key" (the fork's sha256 rule on the cache's keys) | "permutation"
  std::string precision;  // "fp32" or what the precision setting did
  std::vector<TestMetrics> test;
  std::vector<std::string> quantized_tensors;
  // With data.eval: the int8 model against the fp32 model QAT started from (1 − PLCC, worst output), and
  // each model's PSNR against the target array when the eval set has one (NaN otherwise).
  int64_t eval_samples = 0;
  double eval_plcc_drop = NAN, eval_fp32_target_psnr = NAN, eval_int8_target_psnr = NAN;
};

// Where a run writes its resume state (train/resume.h): OUT.int8.onnx → OUT.resume, CKPT.onnx → CKPT.resume.
std::string resume_state_path(const std::string& output);

// `train`: the fp32 phase only; writes opt.checkpoint.
TrainResult run_train(const TrainConfig& cfg, const RunOptions& opt);
// `qat`: every phase; writes opt.output and the fp32 model beside it.
TrainResult run_qat(const TrainConfig& cfg, const RunOptions& opt);

// Every phase, in memory: the QAT-conditioned fp32 model and the QDQ int8 model (nothing written except
// the fp32 checkpoint when opt.checkpoint is set).
struct QatModels {
  Model fp32, int8;
  Model start;  // the fp32 model QAT started from (after the fp32 phase), BN kept
  TrainResult result;
};
QatModels qat_models(const TrainConfig& cfg, const RunOptions& opt);

// The recipe for an fp32 model trained elsewhere (configs/nr_metric_v1_qat.yaml's): distillation on
// unlabeled inputs, asymmetric activations, ranges calibrated (mse) then fixed, lr 1e-5, 10 epochs,
// best validation epoch kept. `input_array` names the model-input array in the data.
TrainConfig distill_recipe(const std::string& input_array);

// The quantization ladder's QAT rung (quant/ladder.h): distill_recipe() for `epochs` QAT epochs on the
// calibration inputs, keeping the `exclude` nodes in fp32 as the other rungs do; single-input models
// only. `progress`: the trainer's epoch lines (a bar on a terminal) on stderr, else quiet.
quant::QatRung ladder_qat_rung(int epochs, int threads, const std::set<std::string>& exclude,
                               bool progress = false);

// The model a config starts from (zoo kind with its arguments, or init: FP32.onnx). `inputs`: the
// training inputs (mlp bakes their mean / std in); null reads data.train (`corpus`: a sharded data.train
// already opened, whose opening pass gave the statistics).
Model initial_model(const TrainConfig& cfg, const Tensor* inputs = nullptr,
                    const data::ShardCorpus* corpus = nullptr);

}  // namespace tinyqat::train
