// The resume state: what a training run holds after a finished epoch and needs to continue exactly where
// it stopped (`train|qat --resume STATE`) — phase and epoch, parameters, BN statistics and observer
// state, the optimizer's state, the loss scaler, the random generator of every rank, the best-epoch
// bookkeeping and the epoch log — so that the files a resumed run writes equal, byte for byte, those of
// an uninterrupted run with the same config, seed and threads (docs/training.md, "Resuming").
//
// File: one line `tinyqat-resume 1 SHA256\n`, then a LibTorch archive whose SHA-256 that is. The digest is
// checked before LibTorch parses a byte: a truncated or altered file is one clear error, never a crash.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

#include "train/trainable.h"
#include "train/trainer.h"

namespace tinyqat::train {

struct ResumeState {
  // What the run was: a resume must match it (config hash, start model) or say how it differs.
  std::string command;       // "train" | "qat"
  std::string config_hash;   // TrainConfig::hash() of the run (overrides included)
  std::string start_digest;  // SHA-256 of the model the run started from (serialized ONNX)
  std::string device;
  int threads = 1, world_size = 1;
  bool smoke = false;
  int64_t train_samples = 0, val_samples = 0, test_samples = 0;

  std::string phase;  // "fp32" | "qat": the phase of the last finished epoch
  int epoch = 0;      // epochs of that phase finished
  TrainableModel::State model;
  // QAT: the model where the fp32 phase ended (what calibration, distillation and the drift anchor saw),
  // and the best epoch so far.
  bool has_qat = false;
  TrainableModel::State fp32_end, best_state;
  double best = 0;
  int best_epoch = 0;

  std::vector<uint8_t> optimizer;  // the optimizer's own archive
  torch::Tensor rng;               // uint8 [world_size, n]: each rank's CPU generator state
  double loss_scale = 65536;       // fp16 loss scaling (precision: 16-mixed on CUDA)
  int good_steps = 0, skipped_in_a_row = 0;
  std::vector<EpochLog> epochs;  // the log so far (the report continues it)
};

std::vector<uint8_t> optimizer_bytes(torch::optim::Optimizer& optim);
void load_optimizer(torch::optim::Optimizer& optim, const std::vector<uint8_t>& bytes,
                    const std::string& file);

// Atomic (core/file_util.h): a kill while writing leaves the previous state.
void write_resume_state(const std::string& path, const ResumeState& s);
// Errors name the file: not a resume state (an ONNX model: use --init), truncated or altered, or a field
// that is missing or malformed.
ResumeState read_resume_state(const std::string& path);

}  // namespace tinyqat::train
