// Data-parallel training (src/train/distributed.*, src/cli/launch_local.*): two local ranks train the
// same model as one rank (fp32 weights within 1e-5 relative, exported int8 outputs within one output step
// on ≥ 99.9 % of held-out values), a single process is unchanged (WORLD_SIZE=1 and --nproc 1 give the same
// bytes), a rank that never joins, dies or hangs makes the others exit 2 within TINYQAT_DIST_TIMEOUT, and
// bad launch variables are one line and exit 2.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/file_util.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "support/test_support.h"
#include "train/distributed.h"

namespace tinyqat::test {
namespace {

// A TCP socket bound to a free loopback port (-1 on failure); the port in *port.
int bound_socket(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int free_port() {
  int port = 0;
  const int fd = bound_socket(&port);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
  return port;
}

// Runs a bash script in `dir` (TQ = the tinyqat binary); its exit code, stderr in dir/sh.err. The script runs
// in a session of its own: a rank stopped with SIGSTOP then never receives the SIGHUP the kernel sends to a
// stopped process group that an exiting process outside leaves orphaned (seen when ctest ran under a
// shell that ended).
struct ShResult {
  int code;
  std::string err;
  double seconds;
};
ShResult sh(const fs::path& dir, const std::string& script) {
  write_file_atomic(
      (dir / "run.sh").string(),
      fmt::format("set -u\ncd '{}'\nTQ='{}/tinyqat'\nunset RANK WORLD_SIZE LOCAL_RANK MASTER_ADDR "
                  "MASTER_PORT TINYQAT_DIST_TIMEOUT\n{}\n",
                  dir.string(), TQ_BINARY_DIR, script));
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = std::system(
      fmt::format("setsid -w bash '{}' 2>'{}'", (dir / "run.sh").string(), (dir / "sh.err").string())
          .c_str());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc), text_of(dir / "sh.err"), s};
}

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// A small config: mlp on feature vectors, or nr_metric (BatchNormalization after every Conv, so the
// ranks' batch statistics and observer ranges must agree) on luma crops; `epochs` per phase.
fs::path write_config(const fs::path& dir, const std::string& model, int epochs) {
  Tensor x, y;
  if (model == "mlp") {
    Rng r(7);
    x = random_tensor({96, 6}, r, -2.f, 2.f);
    y = Tensor::empty(DType::F32, {96, 1});
    for (int64_t i = 0; i < 96; ++i) {
      const float* f = x.data<float>() + 6 * i;
      y.data<float>()[i] = 0.5f * std::sin(f[0]) + 0.3f * f[1] * f[2] - 0.2f * f[3] + 0.1f * r.normal();
    }
  } else {
    x = luma_images(40, 32, 32, 9);
    y = Tensor::empty(DType::F32, {40, 1});
    for (int64_t i = 0; i < 40; ++i) {
      double m = 0;
      for (int64_t k = 0; k < 32 * 32; ++k) m += x.data<float>()[i * 1024 + k];
      y.data<float>()[i] = static_cast<float>(m / 1024);
    }
  }
  write_npz((dir / "train.npz").string(), {{"x", x}, {"y", y}}, false);
  const std::string args =
      model == "mlp" ? "{in_features: 6, hidden: [16, 8]}" : "{in_channels: 1, width: 4}";
  // nr_metric with SGD: Adam divides tiny gradients (its BN shifts') by their own magnitude, so their
  // summation-order noise becomes steps of the size of lr — not what this test is about.
  const std::string optimizer = model == "mlp" ? "lr: 0.003" : "lr: 0.01\noptimizer: sgd";
  const fs::path c = dir / (model + ".yaml");
  write_file_atomic(c.string(), fmt::format(R"(model: {}
model_args: {}
data: {{train: train.npz, input: x, target: y}}
batch_size: 8
{}
val_frac: 0.25
seed: 3
loss: mse
qat:
  epochs_fp32: {}
  epochs_qat: {}
  n_calibration: 16
  freeze_bn_epoch: 1
  freeze_observers_epoch: 1
  quantize_outputs: true
  keep_best: false
)",
                                            model, args, optimizer, epochs, epochs));
  return c;
}

// Per initializer: max |a − b| ≤ rel · max |a| (float tensors).
void expect_same_weights(const fs::path& a, const fs::path& b, double rel) {
  const Model ma = import_onnx(a.string()), mb = import_onnx(b.string());
  ASSERT_EQ(ma.graph.initializers.size(), mb.graph.initializers.size());
  for (const auto& [name, ta] : ma.graph.initializers) {
    if (ta.dtype() != DType::F32) continue;
    const Tensor& tb = mb.graph.initializers.at(name);
    ASSERT_EQ(ta.numel(), tb.numel()) << name;
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < ta.numel(); ++i) {
      diff = std::max(diff, double(std::abs(ta.data<float>()[i] - tb.data<float>()[i])));
      scale = std::max(scale, double(std::abs(ta.data<float>()[i])));
    }
    EXPECT_LE(diff, rel * std::max(scale, 1e-6)) << a.filename() << " initializer " << name;
  }
}

class DistributedEquivalence : public ::testing::TestWithParam<const char*> {};

// The exported int8 models on held-out inputs: within one output step on >= 99.9 % of the values.
void expect_same_int8(const fs::path& a, const fs::path& b, const std::string& model) {
  const Model q1 = import_onnx(a.string()), q2 = import_onnx(b.string());
  const double step = output_step(q1, q1.graph.outputs[0].name);
  ASSERT_GT(step, 0);
  Rng rr(99);
  const Tensor held = model == "mlp" ? random_tensor({4000, 6}, rr, -2.f, 2.f) : luma_images(200, 32, 32, 77);
  const std::string in = q1.graph.inputs[0].name;
  const Tensor o1 = Executor(q1).run({{in, held}})[0], o2 = Executor(q2).run({{in, held}})[0];
  ASSERT_EQ(o1.numel(), o2.numel());
  int64_t within = 0;
  for (int64_t i = 0; i < o1.numel(); ++i)
    within += std::abs(o1.data<float>()[i] - o2.data<float>()[i]) <= step * 1.0001;
  EXPECT_GE(double(within), 0.999 * double(o1.numel()))
      << a.filename() << " vs " << b.filename() << ": " << within << " of " << o1.numel()
      << " within one step";
}

// Every phase on 1 and on 2 ranks: the fp32 phase's checkpoints agree (SyncBN for nr_metric); QAT from
// that same checkpoint (--init) on 1 and on 2 ranks gives the same QAT-conditioned weights and int8
// outputs. For the mlp the whole pipeline agrees too; for nr_metric the fp32 phase's 1e-5 differences
// change where a few weights round in QAT, so its whole-pipeline models are not compared.
TEST_P(DistributedEquivalence, TwoRanksTrainTheModelOneRankTrains) {
  const std::string model = GetParam();
  const fs::path dir = temp_dir(std::string("dist_equiv_") + model);
  const fs::path cfg = write_config(dir, model, 2);
  auto r =
      sh(dir, fmt::format("$TQ qat -q -c {0} -o one.int8.onnx && $TQ qat -q -c {0} -o two.int8.onnx --nproc "
                          "2 --report two.json && $TQ qat -q -c {0} --init one.ckpt.onnx -o r1.int8.onnx "
                          "&& $TQ qat -q -c {0} --init one.ckpt.onnx -o r2.int8.onnx --nproc 2",
                          cfg.string()));
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_weights(dir / "one.ckpt.onnx", dir / "two.ckpt.onnx", 1e-5);  // after the fp32 phase
  expect_same_weights(dir / "r1.fp32.onnx", dir / "r2.fp32.onnx", 1e-5);    // after QAT from one start
  expect_same_int8(dir / "r1.int8.onnx", dir / "r2.int8.onnx", model);
  if (model == "mlp") {
    expect_same_weights(dir / "one.fp32.onnx", dir / "two.fp32.onnx", 1e-5);
    expect_same_int8(dir / "one.int8.onnx", dir / "two.int8.onnx", model);
  }
  const std::string report = text_of(dir / "two.json");
  EXPECT_NE(report.find("\"world_size\": 2"), std::string::npos) << report;
  EXPECT_NE(report.find("\"comm_seconds\""), std::string::npos) << report;
}

INSTANTIATE_TEST_SUITE_P(Zoo, DistributedEquivalence, ::testing::Values("mlp", "nr_metric"));

TEST(Distributed, OneProcessIsUnchangedByWorldSizeOneAndNproc1) {
  const fs::path dir = temp_dir("dist_single");
  const fs::path cfg = write_config(dir, "mlp", 1);
  auto r = sh(dir, fmt::format("$TQ qat -q -c {0} -o a.int8.onnx && RANK=0 WORLD_SIZE=1 $TQ qat -q -c {0} -o "
                               "b.int8.onnx && $TQ qat -q -c {0} -o c.int8.onnx --nproc 1",
                               cfg.string()));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto a = read_file((dir / "a.int8.onnx").string());
  EXPECT_EQ(a, read_file((dir / "b.int8.onnx").string()));
  EXPECT_EQ(a, read_file((dir / "c.int8.onnx").string()));
}

TEST(Distributed, BadLaunchVariablesAreOneLineAndExitCode2) {
  const fs::path dir = temp_dir("dist_env");
  const fs::path cfg = write_config(dir, "mlp", 1);
  for (const auto& [env, says] : std::vector<std::pair<std::string, std::string>>{
           {"RANK=0 WORLD_SIZE=0", "WORLD_SIZE=0"},
           {"RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29511", "RANK=2"},
           {"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=70000", "MASTER_PORT=70000"},
           {"RANK=0 WORLD_SIZE=two", "WORLD_SIZE='two'"},
           {"RANK=0 WORLD_SIZE=2 MASTER_PORT=29511", "MASTER_ADDR"},
           {"WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29511", "RANK is not"},
           {"RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29511 TINYQAT_DIST_TIMEOUT=0",
            "TINYQAT_DIST_TIMEOUT"},
       }) {
    auto r = sh(dir, fmt::format("{} $TQ train -q -c {} -o x.onnx", env, cfg.string()));
    EXPECT_EQ(r.code, 2) << env << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1) << env << ": " << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << env << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir / "x.onnx")) << env;
  }
  auto r = sh(dir, fmt::format("RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29511 $TQ train -q -c "
                               "{} -o x.onnx --nproc 2",
                               cfg.string()));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--nproc"), std::string::npos) << r.err;
}

TEST(Distributed, ARankThatNeverJoinsStopsTheOthersWithinTheTimeout) {
  const fs::path dir = temp_dir("dist_nojoin");
  const fs::path cfg = write_config(dir, "mlp", 1);
  auto r =
      sh(dir, fmt::format("RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT={} TINYQAT_DIST_TIMEOUT=2 "
                          "$TQ train -q -c {} -o x.onnx",
                          free_port(), cfg.string()));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("rank 0 of 2 could not join"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 60) << "the timeout was 2 s (the rest: starting LibTorch on a loaded machine)";
  EXPECT_FALSE(fs::exists(dir / "x.onnx"));
}

// Two ranks started with different configs, data or commands would exchange tensors of different sizes
// (Gloo then aborts the process: SIGABRT, seen before the check). Every rank stops with exit 2 and one
// line naming what differs, before any collective that depends on it.
TEST(Distributed, RanksThatDifferStopWithExitCode2) {
  const fs::path dir = temp_dir("dist_differ");
  const fs::path cfg = write_config(dir, "mlp", 1);
  std::string text = text_of(cfg);
  text.replace(text.find("[16, 8]"), 7, "[12, 8]");
  write_file_atomic((dir / "narrow.yaml").string(), text);
  write_npz((dir / "small.npz").string(),
            {{"x", Tensor::empty(DType::F32, {40, 6})}, {"y", Tensor::empty(DType::F32, {40, 1})}}, false);
  text = text_of(cfg);
  text.replace(text.find("train.npz"), 9, "small.npz");
  write_file_atomic((dir / "small.yaml").string(), text);
  Rng other(8);  // the same shape as train.npz, other values
  write_npz(
      (dir / "other.npz").string(),
      {{"x", random_tensor({96, 6}, other, -2.f, 2.f)}, {"y", random_tensor({96, 1}, other, -1.f, 1.f)}},
      false);
  text = text_of(cfg);
  text.replace(text.find("train.npz"), 9, "other.npz");
  write_file_atomic((dir / "other.yaml").string(), text);
  const std::string base = cfg.string();
  for (const auto& [rank1, says] : std::vector<std::pair<std::string, std::string>>{
           {"qat -q -c narrow.yaml", "the ranks differ in the config or the model"},
           {"qat -q -c small.yaml", "the ranks differ in the data"},
           {"qat -q -c other.yaml", "the ranks differ in the data"},
           {"train -q -c " + base, "the ranks differ in the command or where it starts"},
       }) {
    auto r = sh(
        dir, fmt::format(R"(export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT={} TINYQAT_DIST_TIMEOUT=60
RANK=1 $TQ {} -o b.int8.onnx 2>r1.err &
RANK=0 $TQ qat -q -c {} -o a.int8.onnx 2>r0.err
rc0=$?
wait $!
exit $((rc0 * 10 + $?)))",
                         free_port(), rank1, base));
    SCOPED_TRACE(rank1);
    EXPECT_EQ(r.code, 22) << "both ranks exit 2 (rank 0's code × 10 + rank 1's)\n" << r.err;
    const std::string e0 = text_of(dir / "r0.err"), e1 = text_of(dir / "r1.err");
    EXPECT_NE(e0.find("rank 0 of 2: " + says), std::string::npos) << e0;
    EXPECT_NE(e1.find("rank 1 of 2: " + says), std::string::npos) << e1;
    EXPECT_EQ(lines(e0), 1) << e0;
    EXPECT_EQ(lines(e1), 1) << e1;
    EXPECT_FALSE(fs::exists(dir / "a.int8.onnx"));
  }
}

// A rank whose MASTER_PORT is served by something that is not this job's rank 0 (here: a server that
// answers 0xff bytes) used to abort (SIGABRT: c10d's client thread threw on the reply), and a rank
// whose rank 0 never answers printed c10d's log lines before ours. Both: one line, exit 2.
TEST(Distributed, ARendezvousWithTheWrongServerIsOneLineAndExitCode2) {
  const fs::path dir = temp_dir("dist_wrong_server");
  const fs::path cfg = write_config(dir, "mlp", 1);
  int port = 0;
  const int fd = bound_socket(&port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(listen(fd, 8), 0);
  std::atomic<bool> done{false};
  std::thread server([&] {
    std::vector<int> conns;
    while (!done.load()) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const int c = accept(fd, nullptr, nullptr);
      if (c < 0) continue;
      const std::string junk(64, '\xff');
      (void)!send(c, junk.data(), junk.size(), MSG_NOSIGNAL);
      conns.push_back(c);
    }
    for (int c : conns) close(c);
  });
  for (const int p : {port, free_port()}) {
    auto r =
        sh(dir, fmt::format("RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT={} TINYQAT_DIST_TIMEOUT=3 "
                            "$TQ train -q -c {} -o x.onnx",
                            p, cfg.string()));
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("tinyqat: error: distributed: rank 1 of 2"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "x.onnx"));
  }
  done.store(true);
  server.join();
  close(fd);
}

// A long run (many epochs) whose second rank is killed (SIGKILL) or stopped (SIGSTOP: it hangs) once
// training runs (rank 0 has written a checkpoint): the launcher exits 2 within the timeout (10 s) of the
// signal, naming the failed rank, and leaves no rank behind.
void fault(const std::string& name, const std::string& signal, const std::string& says) {
  const fs::path dir = temp_dir(name);
  const fs::path cfg = write_config(dir, "mlp", 100000);
  auto r = sh(dir, fmt::format(R"(TINYQAT_DIST_TIMEOUT=10 $TQ train -q -c {} -o x.onnx --nproc 2 &
L=$!
for i in $(seq 1 1200); do [ -f x.onnx ] && break; sleep 0.1; done
kids=$(cat /proc/$L/task/$L/children)
[ $(echo $kids | wc -w) -eq 2 ] || {{ echo "ranks: $kids" >&2; kill -9 $L $kids; exit 99; }}
t0=$(date +%s%N)
kill -{} $(echo $kids | cut -d' ' -f2)
wait $L
rc=$?
echo $((($(date +%s%N) - t0) / 1000000)) > after_ms
sleep 0.2
for k in $kids; do kill -0 $k 2>/dev/null && echo "rank process $k still running" >&2 && kill -9 $k; done
exit $rc)",
                               cfg.string(), signal));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("still running"), std::string::npos) << r.err;
  EXPECT_LT(std::stod(text_of(dir / "after_ms")), 25000) << "ms from the signal to the launcher's exit\n"
                                                         << r.err;
}

// The --nproc launcher killed outright (SIGKILL: it cannot forward anything): its ranks get SIGTERM from
// the kernel (PR_SET_PDEATHSIG) instead of training on and writing the outputs unwatched.
TEST(Distributed, ALauncherKilledOutrightTakesItsRanksWithIt) {
  const fs::path dir = temp_dir("dist_launcher_kill");
  const fs::path cfg = write_config(dir, "mlp", 100000);
  auto r = sh(dir, fmt::format(R"($TQ train -q -c {} -o x.onnx --nproc 2 &
L=$!
for i in $(seq 1 1200); do [ -f x.onnx ] && break; sleep 0.1; done
kids=$(cat /proc/$L/task/$L/children)
[ $(echo $kids | wc -w) -eq 2 ] || {{ echo "ranks: $kids" >&2; kill -9 $L $kids; exit 99; }}
kill -9 $L
for i in $(seq 1 100); do
  alive=0
  for k in $kids; do s=$(awk '{{print $3}}' /proc/$k/stat 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] && alive=1; done
  [ $alive = 0 ] && exit 0
  sleep 0.1
done
echo "ranks still running 10 s after the launcher was killed" >&2
kill -9 $kids
exit 1)",
                               cfg.string()));
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(Distributed, AKilledRankStopsTheLauncherWithExitCode2) {
  fault("dist_kill", "KILL", "rank 1 of 2 was killed by signal 9");
}

TEST(Distributed, AHangingRankMakesTheOthersExitWithinTheTimeout) {
  fault("dist_hang", "STOP", "rank 0 of 2 exited with code 2");
}

// Rank r's values for the collectives test: a fixed function of (rank, tensor, index), so that every rank
// can compute the exact sum of all ranks' values.
double value_of(int rank, int tensor, int64_t i) {
  return std::sin(1.3 * rank + 0.7 * tensor + 0.01 * static_cast<double>(i)) * 1e3 + 1e-3 * rank;
}

// One rank of the collectives test: joins the job, sums tensors of several sizes (float and double),
// takes a maximum and reduces a range that rank 1 did not see. Returns a line: a hash of the result's
// bytes (equal on every rank, whatever the world size) and the largest relative error against the exact
// sum, or what failed.
std::string collectives_rank(int rank, int world, int port) {
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  setenv("TINYQAT_DIST_TIMEOUT", "30", 1);
  try {
    train::dist::init(train::dist::read_env());
    uint64_t hash = 1469598103934665603ull;
    auto mix = [&](const void* p, size_t n) {
      for (size_t k = 0; k < n; ++k)
        hash = (hash ^ static_cast<const unsigned char*>(p)[k]) * 1099511628211ull;
    };
    double worst = 0;
    const int64_t sizes[] = {1, 2, 3, 257, 1000, 20001};
    for (int k = 0; k < 6; ++k) {
      const auto type = k % 2 ? torch::kDouble : torch::kFloat;
      auto t = torch::empty({sizes[k]}, torch::kDouble);
      for (int64_t i = 0; i < sizes[k]; ++i) t[i] = value_of(rank, k, i);
      t = t.to(type);
      train::dist::all_reduce_sum(t);
      auto d = t.to(torch::kDouble);
      for (int64_t i = 0; i < sizes[k]; ++i) {
        double exact = 0, scale = 0;  // error relative to the terms' size (a sum may cancel to ~0)
        for (int r = 0; r < world; ++r) exact += value_of(r, k, i), scale += std::abs(value_of(r, k, i));
        worst = std::max(worst, std::abs(d[i].item<double>() - exact) / std::max(1.0, scale));
      }
      mix(t.data_ptr(), static_cast<size_t>(t.numel() * t.element_size()));
    }
    auto m = torch::tensor({static_cast<float>(rank), -static_cast<float>(rank)});
    train::dist::all_reduce_max(m);
    float lo = rank == 1 ? INFINITY : -1.f - rank, hi = rank == 1 ? -INFINITY : 2.f * rank;
    train::dist::reduce_range(&lo, &hi);
    return fmt::format("{:x} {:.3g} {} {} {} {}", hash, worst, m[0].item<float>(), m[1].item<float>(), lo,
                       hi);
  } catch (const std::exception& e) {
    return std::string("failed: ") + e.what();
  }
}

// The all-reduces at 2 and 3 ranks: every rank gets the same bits (a sum is added in one order for all of
// them, which the equivalence tests at 2 ranks cannot show: a + b = b + a), close to the exact sum; the
// maximum and an empty rank's range are exact.
TEST(Distributed, AllReducesGiveEveryRankTheSameBits) {
  for (const int world : {2, 3}) {
    const int port = free_port();
    std::vector<std::pair<pid_t, int>> kids;
    for (int r = 0; r < world; ++r) {
      int fds[2];
      ASSERT_EQ(pipe(fds), 0);
      const pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        close(fds[0]);
        const std::string line = collectives_rank(r, world, port) + "\n";
        (void)!write(fds[1], line.data(), line.size());
        _exit(0);
      }
      close(fds[1]);
      kids.emplace_back(pid, fds[0]);
    }
    std::vector<std::string> got;
    for (auto [pid, fd] : kids) {
      std::string line;
      char buf[512];
      for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) line.append(buf, static_cast<size_t>(n));
      close(fd);
      int status = 0;
      waitpid(pid, &status, 0);
      got.push_back(line);
    }
    for (int r = 0; r < world; ++r) {
      SCOPED_TRACE(fmt::format("rank {} of {}: {}", r, world, got[r]));
      std::istringstream in(got[r]);
      std::string hash;
      double worst = 1, m0 = 0, m1 = 0, lo = 0, hi = 0;
      in >> hash >> worst >> m0 >> m1 >> lo >> hi;
      ASSERT_FALSE(in.fail());
      EXPECT_EQ(got[r], got[0]);  // the same bits everywhere
      EXPECT_LT(worst, 1e-6);     // float sums of three terms: a few ulps of the terms
      EXPECT_EQ(m0, world - 1);
      EXPECT_EQ(m1, 0);
      const int top = world - 1 == 1 ? 0 : world - 1;  // rank 1 saw nothing: ±inf leave the others' range
      EXPECT_EQ(lo, -1.0 - top);
      EXPECT_EQ(hi, 2.0 * top);
    }
  }
}

}  // namespace
}  // namespace tinyqat::test
