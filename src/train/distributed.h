// Data-parallel training on LibTorch's own distributed engine (c10d): a TCPStore for the rendezvous,
// ProcessGroupGloo for the initial broadcast and Gloo on the calling thread for the all-reduces
// (decision 0007), configured by torchrun's environment variables (RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Without them (or with WORLD_SIZE=1) nothing here is
// active and every function below is the single-process identity: training stays byte-identical.
//
// What the trainer synchronises (docs/training.md, "Several processes"): rank 0's initial state is
// broadcast; each rank takes its share of every global batch; the gradients and the loss are summed in
// one flattened bucket per step; BatchNormalization with batch statistics uses the global batch's mean
// and variance (SyncBatchNorm); observer min/max are reduced across ranks; validation losses are summed.
// A collective that fails (a peer died) or waits longer than TINYQAT_DIST_TIMEOUT seconds (a peer hangs)
// throws tinyqat::Error naming the rank: every rank exits with code 2, none waits forever.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace tinyqat::train::dist {

// The process's place in the job, from the environment.
struct Env {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr;
  int master_port = 0;
  std::chrono::seconds timeout{300};  // TINYQAT_DIST_TIMEOUT: rendezvous and every collective
  bool distributed() const { return world_size > 1; }
};

// Reads the variables; Error (one line naming the variable) on a bad value: WORLD_SIZE < 1, RANK outside
// [0, WORLD_SIZE), a port outside 1..65535, a missing MASTER_ADDR/MASTER_PORT with WORLD_SIZE > 1, words
// where numbers belong. No RANK and no WORLD_SIZE: a single process.
Env read_env();

// Joins the job described by `env` (no-op for a single process). Once per process; Error when the other
// ranks do not join within the timeout.
void init(const Env& env);
bool active();  // joined a job of more than one rank
int rank();     // 0 when not active
int world_size();

// This rank's contiguous share [begin, end) of a batch of `n` samples (the whole batch when not active).
std::pair<int64_t, int64_t> share(int64_t n);

// In-place collectives on CPU float/double tensors (no-ops when not active).
void all_reduce_sum(torch::Tensor& t);
void all_reduce_max(torch::Tensor& t);
void broadcast(torch::Tensor& t, int root = 0);
// Sums `tensors` across ranks through one flattened buffer (one collective for all of them).
void all_reduce_sum(const std::vector<torch::Tensor>& tensors);
// The global [min, max] of a range observed on every rank (±inf for a rank that saw nothing).
void reduce_range(float* lo, float* hi);
// Checks that every rank holds the same `value` (what the ranks' collectives depend on: the config, the
// model's parameters, the data's size, where a resume starts). Ranks that differ would exchange
// tensors of different sizes, which Gloo answers by aborting the process. One collective of fixed size,
// so ranks that differ still meet in it. Error on every rank (naming `what` and this rank's `value`)
// when any differs; a no-op when not active.
void agree(const std::string& what, const std::string& value);

// Training-mode BatchNormalization: torch::batch_norm with batch statistics when not active; across
// ranks the statistics of the global batch (sums all-reduced inside the autograd graph, gradients
// all-reduced in the backward pass) and the running statistics updated from them (unbiased variance).
torch::Tensor batch_norm_train(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               double momentum, double eps);

// Seconds spent in collectives since the last call (the benchmark's communication time), and how many.
struct CommStats {
  double seconds = 0;
  int64_t calls = 0;
};
CommStats take_comm_stats();

}  // namespace tinyqat::train::dist
