// `tinyqat train` (the fp32 phase, a checkpoint) and `tinyqat qat` (every phase, a QDQ .int8.onnx with
// the trained quantization parameters and the QAT-conditioned fp32 model beside it).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/handoff_options.h"
#include "cli/launch_local.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/json_dump.h"
#include "core/model_paths.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace tinyqat::cli {

namespace {

struct TrainOpts {
  std::string config, output, checkpoint, resume, init, report, device;
  int epochs_fp32 = -1, epochs_qat = -1, n_calibration = -1, threads = -1, nproc = 1;
  double lr_qat = -1;
  int64_t seed = -1;
  bool smoke = false, quiet = false;
};

void add_common(CLI::App* sub, TrainOpts& o, bool qat) {
  sub->add_option(
         "--config,-c", o.config,
         "Training config (YAML: model, data or the fork's cache, epochs, loss, qat: ...; the fork's "
         "configs load unchanged, docs/fork.md)")
      ->required();
  sub->add_option("--epochs-fp32", o.epochs_fp32, "Override qat.epochs_fp32 (the fp32 phase)")
      ->check(CLI::Range(0, 100000));
  if (qat) {
    sub->add_option("--epochs-qat", o.epochs_qat, "Override qat.epochs_qat")->check(CLI::Range(0, 100000));
    sub->add_option("--lr-qat", o.lr_qat, "Override qat.lr_qat")->check(CLI::PositiveNumber);
    sub->add_option("--n-calibration", o.n_calibration, "Override qat.n_calibration")
        ->check(CLI::Range(1, 1 << 30));
    sub->add_option(
        "--init", o.init,
        "Start QAT from this fp32 model (.onnx, e.g. a `train` checkpoint) and skip the fp32 phase");
  }
  auto* resume = sub->add_option(
      "--resume", o.resume,
      std::string(
          "Continue an interrupted run where it stopped: the resume state it rewrote after every epoch (") +
          (qat ? "OUT.resume" : "CKPT.resume") +
          ", removed when the run ends). Same config, seed and threads: the same files as an uninterrupted "
          "run");
  if (qat) resume->excludes("--init");
  sub->add_option("--seed", o.seed, "Override seed")->check(CLI::Range(int64_t(0), INT64_MAX));
  sub->add_option("--device", o.device, "cpu (default), cuda or cuda:N (needs a CUDA LibTorch)");
  sub->add_option("--threads", o.threads,
                  "CPU threads (default 1; results are reproducible per thread count)")
      ->check(CLI::Range(1, 256));
  sub->add_option("--nproc", o.nproc,
                  "Train data-parallel on N local ranks (processes; the config's batch_size is the global "
                  "batch). Without it: RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT from torchrun, or one process")
      ->check(CLI::Range(1, 256));
  sub->add_flag("--smoke", o.smoke,
                "Wiring only: one epoch per phase on two batches (for CI); without the config's cache: on "
                "synthetic samples");
  sub->add_flag("--quiet,-q", o.quiet, "No progress bar or per-epoch lines (errors and the summary only)");
  sub->add_option(
      "--report", o.report,
      "Also write the epoch log (losses, seconds) and the test split's metrics as JSON (default with "
      "the config's output: and no -o: OUTPUT/report.json)");
}

train::TrainConfig configure(const TrainOpts& o) {
  train::TrainConfig c = train::load_config(o.config);
  if (o.epochs_fp32 >= 0) c.qat.epochs_fp32 = o.epochs_fp32;
  if (o.epochs_qat >= 0) c.qat.epochs_qat = o.epochs_qat;
  if (o.lr_qat > 0) c.qat.lr_qat = o.lr_qat;
  if (o.n_calibration > 0) c.qat.n_calibration = o.n_calibration;
  if (o.seed >= 0) c.seed = static_cast<uint64_t>(o.seed);
  if (!o.device.empty()) c.device = o.device;
  if (o.threads > 0) c.threads = o.threads;
  train::validate(c);
  return c;
}

// Without -o, files go to the config's output: folder (the fork's `output:`), named after the config.
std::string default_output(const TrainOpts& o, const train::TrainConfig& c, const char* suffix) {
  TQ_CHECK(!c.output_dir.empty(), "{}: no output: give -o/--output, or output: DIR in the config", c.path);
  std::filesystem::create_directories(c.output_dir);
  return (std::filesystem::path(c.output_dir) / (std::filesystem::path(o.config).stem().string() + suffix))
      .string();
}

std::string report_path(const TrainOpts& o, const train::TrainConfig& c) {
  if (!o.report.empty() || !o.output.empty() || c.output_dir.empty()) return o.report;
  return (std::filesystem::path(c.output_dir) / "report.json").string();
}

// Before any work: the environment's job (torchrun's variables; exit 2 on a bad one), or --nproc's local
// ranks. Returns the launcher's exit code when this process only launched ranks.
std::optional<int> start_ranks(const TrainOpts& o) {
  train::dist::read_env();
  if (o.nproc <= 1) return std::nullopt;
  configure(o);  // a bad config is one line from the launcher, not one per rank
  return launch_local(o.nproc);
}

void write_report(const std::string& path, const train::TrainConfig& c, const train::TrainResult& r) {
  if (path.empty() || train::dist::rank() != 0) return;  // several ranks: rank 0 alone writes
  nlohmann::ordered_json j;
  j["config"] = c.path;
  j["config_hash"] = r.config_hash;
  j["threads"] = c.threads;
  j["device"] = c.device;
  j["batch_size"] = c.batch_size;
  if (train::dist::active()) j["world_size"] = train::dist::world_size();
  j["train_samples"] = r.train_samples;
  j["val_samples"] = r.val_samples;
  j["test_samples"] = r.test_samples;
  j["split"] = r.split;
  j["precision"] = r.precision;
  j["calibration_samples"] = r.calibration_samples;
  j["best_qat_epoch"] = r.best_qat_epoch;
  nlohmann::ordered_json epochs = nlohmann::ordered_json::array();
  for (const auto& e : r.epochs) {
    nlohmann::ordered_json x;
    x["phase"] = e.phase;
    x["epoch"] = e.epoch;
    x["train_loss"] =
        std::isfinite(e.train_loss) ? nlohmann::ordered_json(e.train_loss) : nlohmann::ordered_json();
    x["val_loss"] = std::isfinite(e.val_loss) ? nlohmann::ordered_json(e.val_loss) : nlohmann::ordered_json();
    x["seconds"] = e.seconds;
    if (std::isfinite(e.comm_seconds)) x["steps"] = e.steps, x["comm_seconds"] = e.comm_seconds;
    epochs.push_back(x);
  }
  j["epochs"] = epochs;
  if (r.eval_samples > 0) {
    nlohmann::ordered_json e;
    e["data"] = c.eval_data;
    e["samples"] = r.eval_samples;
    e["plcc_drop_vs_start_fp32"] = r.eval_plcc_drop;
    if (std::isfinite(r.eval_fp32_target_psnr)) {
      e["fp32_target_psnr"] = r.eval_fp32_target_psnr;
      e["int8_target_psnr"] = r.eval_int8_target_psnr;
    }
    j["eval"] = e;
  }
  if (!r.test.empty()) {
    nlohmann::ordered_json t = nlohmann::ordered_json::array();
    auto num = [](double v) {
      return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
    };
    for (const auto& m : r.test) {
      nlohmann::ordered_json x;
      x["model"] = m.model;
      x["samples"] = m.samples;
      x["loss"] = num(m.loss);
      x["plcc"] = num(m.plcc);
      x["srocc"] = num(m.srocc);
      x["rmse"] = num(m.rmse);
      x["psnr"] = num(m.psnr);
      t.push_back(x);
    }
    j["test"] = t;
  }
  j["int8"] = r.int8_path;
  j["fp32"] = r.fp32_path;
  j["checkpoint"] = r.checkpoint;
  write_file_atomic(path, json_dump(j, 2) + "\n");
}

// Every file the command will write (empty: not written) has a folder to go in, checked before the
// training: a run of hours must not end in "cannot create a temporary file" after its models were written.
void check_output_folders(const std::vector<std::string>& paths) {
  for (const auto& p : paths)
    if (!p.empty()) check_output_folder(p);
}

}  // namespace

std::function<int()> add_train(CLI::App& app) {
  auto* sub = app.add_subcommand(kTrainCommand.name, kTrainCommand.description);
  auto o = std::make_shared<TrainOpts>();
  add_common(sub, *o, false);
  sub->add_option(
      "--output,-o", o->output,
      "Checkpoint to write (an fp32 ONNX with BatchNormalization kept; default: OUTPUT/CONFIG.onnx "
      "with the config's output: folder)");
  return [o] {
    if (auto code = start_ranks(*o)) return *code;
    train::TrainConfig c = configure(*o);
    train::dist::init(train::dist::read_env());
    train::RunOptions r;
    r.quiet = o->quiet, r.smoke = o->smoke || c.qat.smoke;
    r.checkpoint = o->output.empty() ? default_output(*o, c, ".onnx") : o->output;
    r.state = train::resume_state_path(r.checkpoint);
    r.resume = o->resume;
    check_output_folders({r.checkpoint, report_path(*o, c)});
    auto res = train::run_train(c, r);
    write_report(report_path(*o, c), c, res);
    if (train::dist::rank() != 0) return 0;
    std::fprintf(stderr, "wrote %s (fp32, %zu epochs, config %s)\n", r.checkpoint.c_str(), res.epochs.size(),
                 res.config_hash.substr(0, 12).c_str());
    return 0;
  };
}

std::function<int()> add_qat(CLI::App& app) {
  auto* sub = app.add_subcommand(kQatCommand.name, kQatCommand.description);
  auto o = std::make_shared<TrainOpts>();
  add_common(sub, *o, true);
  auto fp32_path = std::make_shared<std::string>();
  sub->add_option(
      "--output,-o", o->output,
      "The QDQ int8 model to write (OUT.int8.onnx; default: OUTPUT/CONFIG.int8.onnx with the config's "
      "output: folder)");
  sub->add_option("--fp32-output", *fp32_path,
                  "Where the QAT-conditioned fp32 model goes (default: OUT with .int8.onnx → .fp32.onnx)");
  auto* checkpoint = sub->add_option(
      "--checkpoint", o->checkpoint,
      "fp32-phase checkpoint, rewritten after every epoch (default: OUT with .int8.onnx → .ckpt.onnx)");
  auto handoff = add_handoff_options(sub);
  const CLI::Option* epochs_fp32 = sub->get_option("--epochs-fp32");
  const CLI::Option* init = sub->get_option("--init");
  return [o, fp32_path, handoff, checkpoint, epochs_fp32, init] {
    if (init->count() > 0)
      refuse_unused({epochs_fp32, checkpoint}, "with --init (the fp32 phase is skipped)");
    if (auto code = start_ranks(*o)) return *code;
    train::TrainConfig c = configure(*o);
    train::dist::init(train::dist::read_env());
    precheck_handoff(*handoff);
    train::RunOptions r;
    r.quiet = o->quiet, r.smoke = o->smoke || c.qat.smoke, r.resume = o->resume, r.init = o->init;
    r.output = o->output.empty() ? default_output(*o, c, ".int8.onnx") : o->output;
    r.fp32_output = *fp32_path;
    r.checkpoint = o->checkpoint;
    if (r.checkpoint.empty() && r.init.empty()) r.checkpoint = int8_sibling(r.output, ".ckpt.onnx");
    r.state = train::resume_state_path(r.output);
    check_output_folders({r.output, r.fp32_output, r.checkpoint, report_path(*o, c)});
    auto res = train::run_qat(c, r);
    write_report(report_path(*o, c), c, res);
    if (train::dist::rank() != 0) return 0;  // rank 0 alone reports and hands off
    std::fprintf(stderr, "wrote %s (QDQ int8, quant_mode qat, exported QAT epoch %d) and %s (fp32)\n",
                 res.int8_path.c_str(), res.best_qat_epoch, res.fp32_path.c_str());
    handoff->threads = c.threads;
    run_handoff(*handoff, res.fp32_path, res.int8_path, "qat");
    return 0;
  };
}

}  // namespace tinyqat::cli
