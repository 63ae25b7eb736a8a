// libtinyqat_vmafdnn: the fork's libvmaf DNN API (include/tinyqat/vmaf_dnn.h) on the tinyqat runtime —
// every entry point and error code, the pins checked at load, the int8 → fp32 fallback, and the fork's
// own shipped models (SKIP without ../shared). Models are written at test time from the zoo.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/file_util.h"
#include "core/sha256.h"
#include "onnx/onnx_io.h"
#include "quant/ptq.h"
#include "runtime/executor.h"
#include "runtime/int8_speed.h"
#include "support/test_support.h"
#include "tinyqat/vmaf_dnn.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

// Sets an environment variable for one scope.
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~EnvGuard() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// These tests are about the fork's open rules, not speed: a verified int8 twin stays on any CPU
// (Int8TwinPredictedSlowerFallsBackUnlessForced turns this off for itself).
const EnvGuard kKeepInt8("TINYQAT_FORCE_INT8", "1");

// learned_filter (1 channel, width 8, one block); h, w > 0 pin the input size, else it stays dynamic.
Model filter_model(int64_t h = -1, int64_t w = -1) {
  Model m = zoo::learned_filter(1, 8, 1, 7);
  if (h > 0) {
    m.graph.inputs[0].shape[2] = Dim::known(h);
    m.graph.inputs[0].shape[3] = Dim::known(w);
  }
  return m;
}

fs::path write_model(const Model& m, const fs::path& dir, const std::string& name) {
  fs::path p = dir / name;
  export_onnx(m, p.string());
  return p;
}

void write_text(const fs::path& p, const std::string& s) {
  write_file_atomic(p.string(), s);
}

std::vector<uint8_t> luma_frame(int w, int h, uint64_t seed) {
  Tensor t = luma_images(1, h, w, seed);
  std::vector<uint8_t> v(size_t(w) * h);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = uint8_t(std::lround(std::clamp(t.data<float>()[i], 0.f, 1.f) * 255));
  return v;
}

// The expected plane: the runtime itself on (v / max − mean) / std, denormalised, rounded, clamped.
std::vector<float> run_direct(const fs::path& model, const std::vector<float>& x, int w, int h) {
  Executor ex(import_onnx(model.string()), ExecutorOptions{1, false});
  Tensor in = Tensor::empty(DType::F32, {1, 1, h, w});
  std::copy(x.begin(), x.end(), in.data<float>());
  std::vector<Tensor> out = ex.run({{ex.inputs()[0].name, in}});
  return std::vector<float>(out[0].data<float>(), out[0].data<float>() + out[0].numel());
}

VmafDnnSession* open_ok(const fs::path& p, int threads = 1) {
  VmafDnnConfig cfg{VMAF_DNN_DEVICE_CPU, 0, threads, false};
  VmafDnnSession* s = nullptr;
  const int rc = vmaf_dnn_session_open(&s, p.c_str(), &cfg);
  EXPECT_EQ(rc, 0) << p;
  return s;
}

int open_rc(const fs::path& p) {
  VmafDnnSession* s = nullptr;
  const int rc = vmaf_dnn_session_open(&s, p.c_str(), nullptr);
  if (rc == 0) vmaf_dnn_session_close(s);
  EXPECT_TRUE(rc != 0 || s != nullptr);
  return rc;
}

// A quantized model with its dynamic-int8 twin and a sidecar pinning both (the fork's layout).
struct Quantized {
  fs::path fp32, int8, sidecar;
};
Quantized quantized_filter(const fs::path& dir, bool write_pins = true) {
  Quantized q;
  Model m = filter_model();
  q.fp32 = write_model(m, dir, "lf.onnx");
  q.int8 = write_model(quant::ptq_dynamic(m, quant::QConfig{}, nullptr), dir, "lf.int8.onnx");
  q.sidecar = dir / "lf.json";
  nlohmann::json j = {{"id", "lf"}, {"kind", "filter"}, {"onnx", "lf.onnx"}, {"quant_mode", "dynamic"}};
  if (write_pins) {
    j["sha256"] = sha256_file(q.fp32.string());
    j["int8_sha256"] = sha256_file(q.int8.string());
  }
  write_text(q.sidecar, j.dump(2));
  return q;
}

TEST(VmafDnn, OpensAndRunsLuma8WithSidecarNormalisation) {
  EXPECT_EQ(vmaf_dnn_available(), 1);
  fs::path dir = temp_dir("vmafdnn_luma8");
  fs::path p = write_model(filter_model(24, 32), dir, "filter.onnx");
  write_text(dir / "filter.json", R"({"kind": "filter", "norm_mean": 0.25, "norm_std": 0.5})");
  VmafDnnSession* s = open_ok(p);
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu fp32");
  const int w = 32, h = 24;
  std::vector<uint8_t> in = luma_frame(w, h, 3);
  // Strided input and output (stride > width).
  const size_t stride = 40;
  std::vector<uint8_t> in_s(stride * h, 0), out_s(stride * h, 0);
  for (int y = 0; y < h; ++y) std::copy_n(in.begin() + y * w, w, in_s.begin() + y * stride);
  ASSERT_EQ(vmaf_dnn_session_run_luma8(s, in_s.data(), stride, w, h, out_s.data(), stride), 0);
  std::vector<float> x(in.size());
  for (size_t i = 0; i < in.size(); ++i) x[i] = (in[i] * (1.f / 255.f) - 0.25f) * (1.f / 0.5f);
  std::vector<float> y = run_direct(p, x, w, h);
  int changed = 0;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      const float v = std::nearbyint((y[r * w + c] * 0.5f + 0.25f) * 255.f);
      const int want = int(std::clamp(v, 0.f, 255.f));
      ASSERT_EQ(out_s[r * stride + c], want) << r << "," << c;
      changed += out_s[r * stride + c] != in[r * w + c];
    }
  EXPECT_GT(changed, 0);  // the filter did something: a copy would not pass
  vmaf_dnn_session_close(s);
}

TEST(VmafDnn, Plane16TenBitOnADynamicSizeModel) {
  fs::path dir = temp_dir("vmafdnn_plane16");
  fs::path p = write_model(filter_model(), dir, "filter.onnx");
  VmafDnnSession* s = open_ok(p);
  ASSERT_NE(s, nullptr);
  const int w = 20, h = 12, bpc = 10;
  std::vector<uint8_t> l8 = luma_frame(w, h, 5);
  std::vector<uint16_t> in(l8.size()), out(l8.size());
  for (size_t i = 0; i < in.size(); ++i) in[i] = uint16_t(l8[i] * 4 + (i % 4));
  ASSERT_EQ(vmaf_dnn_session_run_plane16(s, in.data(), w * 2, w, h, bpc, out.data(), w * 2), 0);
  std::vector<float> x(in.size());
  for (size_t i = 0; i < in.size(); ++i) x[i] = in[i] * (1.f / 1023.f);
  std::vector<float> y = run_direct(p, x, w, h);
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_EQ(out[i], uint16_t(std::clamp(std::nearbyint(y[i] * 1023.f), 0.f, 1023.f))) << i;
  // Another size on the same session (dynamic H, W), and the bpc range.
  std::vector<uint16_t> in2(8 * 8, 512), out2(8 * 8);
  EXPECT_EQ(vmaf_dnn_session_run_plane16(s, in2.data(), 16, 8, 8, 10, out2.data(), 16), 0);
  EXPECT_EQ(vmaf_dnn_session_run_plane16(s, in2.data(), 16, 8, 8, 8, out2.data(), 16), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run_plane16(s, in2.data(), 16, 8, 8, 17, out2.data(), 16), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run_plane16(s, in2.data(), 15, 8, 8, 10, out2.data(), 16), -EINVAL);
  vmaf_dnn_session_close(s);
}

TEST(VmafDnn, FrameSizeTheModelCannotTakeIsErange) {
  fs::path dir = temp_dir("vmafdnn_erange");
  VmafDnnSession* s = open_ok(write_model(filter_model(16, 16), dir, "fixed.onnx"));
  ASSERT_NE(s, nullptr);
  std::vector<uint8_t> buf(64 * 64, 100), out(64 * 64);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, buf.data(), 16, 16, 16, out.data(), 16), 0);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, buf.data(), 32, 32, 32, out.data(), 32), -ERANGE);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, buf.data(), 16, 16, 8, out.data(), 16), -ERANGE);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, buf.data(), 16, 0, 16, out.data(), 16), -ERANGE);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, buf.data(), 8, 16, 16, out.data(), 16), -EINVAL);  // stride < w
  std::vector<uint16_t> b16(64 * 64, 100), o16(64 * 64);
  EXPECT_EQ(vmaf_dnn_session_run_plane16(s, b16.data(), 64, 32, 16, 10, o16.data(), 64), -ERANGE);
  vmaf_dnn_session_close(s);
  // A metric model (one score out) is not a plane model.
  VmafDnnSession* nr = open_ok(write_model(zoo::nr_metric(1, 8, 1), dir, "nr.onnx"));
  ASSERT_NE(nr, nullptr);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(nr, buf.data(), 16, 16, 16, out.data(), 16), -ENOTSUP);
  vmaf_dnn_session_close(nr);
}

TEST(VmafDnn, NamedRunReportsWrittenAndEnospc) {
  fs::path dir = temp_dir("vmafdnn_named");
  fs::path p = write_model(filter_model(), dir, "filter.onnx");
  VmafDnnSession* s = open_ok(p);
  ASSERT_NE(s, nullptr);
  const int64_t shape[4] = {1, 1, 6, 5};
  std::vector<float> x(30);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i) / 30.f;
  VmafDnnInput in{"degraded", x.data(), shape, 4};
  std::vector<float> small(10, -1.f), big(64, -1.f);
  VmafDnnOutput out{"filtered", small.data(), small.size(), 0};
  EXPECT_EQ(vmaf_dnn_session_run(s, &in, 1, &out, 1), -ENOSPC);
  EXPECT_EQ(out.written, 30u);
  EXPECT_EQ(small[0], -1.f);                                // nothing written into a buffer that is too small
  out = VmafDnnOutput{nullptr, big.data(), big.size(), 0};  // positional binding
  in.name = nullptr;
  ASSERT_EQ(vmaf_dnn_session_run(s, &in, 1, &out, 1), 0);
  EXPECT_EQ(out.written, 30u);
  std::vector<float> want = run_direct(p, x, 5, 6);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(big[i], want[i]) << i;
  // Unknown names, wrong arity, a shape the graph refuses.
  in.name = "nope";
  EXPECT_EQ(vmaf_dnn_session_run(s, &in, 1, &out, 1), -EINVAL);
  in.name = "degraded";
  out.name = "nope";
  EXPECT_EQ(vmaf_dnn_session_run(s, &in, 1, &out, 1), -EINVAL);
  out.name = "filtered";
  VmafDnnInput two[2] = {in, in};
  EXPECT_EQ(vmaf_dnn_session_run(s, two, 2, &out, 1), -EINVAL);
  const int64_t bad_shape[3] = {1, 6, 5};
  VmafDnnInput bad{"degraded", x.data(), bad_shape, 3};
  EXPECT_EQ(vmaf_dnn_session_run(s, &bad, 1, &out, 1), -EIO);
  vmaf_dnn_session_close(s);
}

TEST(VmafDnn, EveryEntryPointRefusesNull) {
  fs::path dir = temp_dir("vmafdnn_null");
  VmafDnnSession* s = open_ok(write_model(filter_model(), dir, "filter.onnx"));
  ASSERT_NE(s, nullptr);
  VmafDnnSession* none = nullptr;
  uint8_t b8[16] = {0};
  uint16_t b16[16] = {0};
  float f[16] = {0};
  const int64_t shape[4] = {1, 1, 4, 4};
  VmafDnnInput in{nullptr, f, shape, 4};
  VmafDnnOutput out{nullptr, f, 16, 0};
  EXPECT_EQ(vmaf_dnn_session_open(nullptr, "x.onnx", nullptr), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_open(&none, nullptr, nullptr), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(nullptr, b8, 4, 4, 4, b8, 4), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, nullptr, 4, 4, 4, b8, 4), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, b8, 4, 4, 4, nullptr, 4), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run_plane16(nullptr, b16, 8, 4, 4, 10, b16, 8), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run_plane16(s, nullptr, 8, 4, 4, 10, b16, 8), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run_plane16(s, b16, 8, 4, 4, 10, nullptr, 8), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run(nullptr, &in, 1, &out, 1), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run(s, nullptr, 1, &out, 1), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run(s, &in, 1, nullptr, 1), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_run(s, &in, 0, &out, 1), -EINVAL);
  VmafDnnInput no_data{nullptr, nullptr, shape, 4};
  EXPECT_EQ(vmaf_dnn_session_run(s, &no_data, 1, &out, 1), -EINVAL);
  VmafDnnInput no_shape{nullptr, f, nullptr, 4};
  EXPECT_EQ(vmaf_dnn_session_run(s, &no_shape, 1, &out, 1), -EINVAL);
  VmafDnnOutput no_buf{nullptr, nullptr, 16, 0};
  EXPECT_EQ(vmaf_dnn_session_run(s, &in, 1, &no_buf, 1), -EINVAL);
  EXPECT_EQ(vmaf_dnn_session_attached_ep(nullptr), nullptr);
  EXPECT_EQ(vmaf_dnn_verify_signature(nullptr, nullptr), -EINVAL);
  vmaf_dnn_session_close(nullptr);
  // A bad config.
  VmafDnnConfig bad{VMAF_DNN_DEVICE_CPU, 0, -1, false};
  EXPECT_EQ(vmaf_dnn_session_open(&none, (dir / "filter.onnx").c_str(), &bad), -EINVAL);
  bad = VmafDnnConfig{static_cast<VmafDnnDevice>(42), 0, 1, false};
  EXPECT_EQ(vmaf_dnn_session_open(&none, (dir / "filter.onnx").c_str(), &bad), -EINVAL);
  EXPECT_EQ(none, nullptr);
  vmaf_dnn_session_close(s);
}

TEST(VmafDnn, OtherDevicesRunOnTheCpuAndSaySo) {
  fs::path dir = temp_dir("vmafdnn_device");
  fs::path p = write_model(filter_model(), dir, "filter.onnx");
  VmafDnnConfig cfg{VMAF_DNN_DEVICE_CUDA, 0, 0, true};
  VmafDnnSession* s = nullptr;
  ASSERT_EQ(vmaf_dnn_session_open(&s, p.c_str(), &cfg), 0);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu fp32; CUDA requested, running on CPU");
  vmaf_dnn_session_close(s);
}

TEST(VmafDnn, JailEscapeIsRefused) {
  fs::path jail = temp_dir("vmafdnn_jail");
  fs::path outside = temp_dir("vmafdnn_jail_outside");
  fs::path inside_model = write_model(filter_model(), jail, "in.onnx");
  fs::path outside_model = write_model(filter_model(), outside, "out.onnx");
  fs::create_symlink(outside_model, jail / "link.onnx");
  EnvGuard env("VMAF_TINY_MODEL_DIR", jail.string());
  EXPECT_EQ(open_rc(inside_model), 0);
  EXPECT_EQ(open_rc(outside_model), -EACCES);
  EXPECT_EQ(open_rc(jail / "link.onnx"), -EACCES);                             // a symlink out of the jail
  EXPECT_EQ(open_rc(jail / ".." / outside.filename() / "out.onnx"), -EACCES);  // ../ out of the jail
  EnvGuard bad_jail("VMAF_TINY_MODEL_DIR", (jail / "in.onnx").string());       // not a folder: fails closed
  EXPECT_EQ(open_rc(inside_model), -EACCES);
}

TEST(VmafDnn, BadFilesGetTheirErrno) {
  fs::path dir = temp_dir("vmafdnn_badfiles");
  EXPECT_EQ(open_rc(dir / "missing.onnx"), -ENOENT);
  EXPECT_EQ(open_rc(dir), -ENOENT);  // a folder
  { std::ofstream big(dir / "big.onnx"); }
  fs::resize_file(dir / "big.onnx", 50u * 1024 * 1024 + 1);  // sparse: over the cap without writing it
  EXPECT_EQ(open_rc(dir / "big.onnx"), -E2BIG);
  write_text(dir / "empty.onnx", "");
  EXPECT_EQ(open_rc(dir / "empty.onnx"), -EBADMSG);
  fs::path good = write_model(filter_model(), dir, "good.onnx");
  std::vector<uint8_t> bytes = read_file(good.string());
  write_file_atomic((dir / "trunc.onnx").string(), bytes.data(), bytes.size() / 2);
  EXPECT_EQ(open_rc(dir / "trunc.onnx"), -EBADMSG);
  // Sidecar that is not JSON, or with a known key of the wrong type.
  fs::copy_file(good, dir / "side.onnx");
  write_text(dir / "side.json", "{not json");
  EXPECT_EQ(open_rc(dir / "side.onnx"), -EBADMSG);
  write_text(dir / "side.json", R"({"norm_std": "wide"})");
  EXPECT_EQ(open_rc(dir / "side.onnx"), -EBADMSG);
  write_text(dir / "side.json", R"({"norm_std": 0})");
  EXPECT_EQ(open_rc(dir / "side.onnx"), -EBADMSG);
  // An op the runtime does not execute: refused by the allowlist, before anything loads.
  onnx::ModelProto mp;
  ASSERT_TRUE(mp.ParseFromArray(bytes.data(), int(bytes.size())));
  mp.mutable_graph()->mutable_node(0)->set_op_type("Hardmax");
  write_text(dir / "hardmax.onnx", mp.SerializeAsString());
  EXPECT_EQ(open_rc(dir / "hardmax.onnx"), -EPERM);
}

TEST(VmafDnn, Int8RunsWhenPinnedAndFallsBackWhenTampered) {
  fs::path dir = temp_dir("vmafdnn_int8");
  Quantized q = quantized_filter(dir);
  VmafDnnSession* s = open_ok(q.fp32);
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu int8");
  vmaf_dnn_session_close(s);
  // One byte of the int8 file changed: its digest no longer matches the pin → fp32, and it still runs.
  std::vector<uint8_t> b = read_file(q.int8.string());
  b[b.size() / 2] ^= 0x5a;
  write_file_atomic(q.int8.string(), b);
  testing::internal::CaptureStderr();
  s = open_ok(q.fp32);
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu fp32 (int8 digest mismatch)");
  EXPECT_NE(err.find("falling back to fp32"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;  // one line
  std::vector<uint8_t> in = luma_frame(16, 16, 9), out(in.size());
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, in.data(), 16, 16, 16, out.data(), 16), 0);
  vmaf_dnn_session_close(s);
}

TEST(VmafDnn, MissingOrUnpinnedInt8) {
  fs::path dir = temp_dir("vmafdnn_int8_missing");
  Quantized q = quantized_filter(dir);
  fs::remove(q.int8);
  testing::internal::CaptureStderr();
  VmafDnnSession* s = open_ok(q.fp32);
  testing::internal::GetCapturedStderr();
  ASSERT_NE(s, nullptr);  // the fork returns an error here; its seed promises the fallback
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu fp32 (int8 missing)");
  vmaf_dnn_session_close(s);
  // No pins in the sidecar (the fork's own behaviour): the twin runs as it is.
  fs::path dir2 = temp_dir("vmafdnn_int8_unpinned");
  Quantized u = quantized_filter(dir2, /*write_pins=*/false);
  s = open_ok(u.fp32);
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu int8");
  vmaf_dnn_session_close(s);
}

// An int8 twin that matches its pin but is refused later (an op outside the allowlist, bytes that do not
// load) or is over the size cap: the session still opens, on the fp32 file, and says why.
TEST(VmafDnn, Int8RefusedAfterItsDigestFallsBack) {
  fs::path dir = temp_dir("vmafdnn_int8_refused");
  Quantized q = quantized_filter(dir);
  const std::vector<uint8_t> good = read_file(q.int8.string());
  auto pin_and_open = [&](const std::string& want_ep) {
    nlohmann::json j = nlohmann::json::parse(text_of(q.sidecar));
    j["int8_sha256"] = sha256_file(q.int8.string());
    write_text(q.sidecar, j.dump());
    testing::internal::CaptureStderr();
    VmafDnnSession* s = open_ok(q.fp32);
    testing::internal::GetCapturedStderr();
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(std::string(vmaf_dnn_session_attached_ep(s)), want_ep);
    vmaf_dnn_session_close(s);
  };
  onnx::ModelProto mp;
  ASSERT_TRUE(mp.ParseFromArray(good.data(), int(good.size())));
  mp.mutable_graph()->mutable_node(0)->set_op_type("Hardmax");
  write_text(q.int8, mp.SerializeAsString());
  pin_and_open("tinyqat-cpu fp32 (int8 op not allowed)");
  write_file_atomic(q.int8.string(), good.data(), good.size() / 2);
  pin_and_open("tinyqat-cpu fp32 (int8 not loadable)");
  fs::resize_file(q.int8, 50u * 1024 * 1024 + 1);
  pin_and_open("tinyqat-cpu fp32 (int8 over the size cap)");
}

// An int8 twin of another model (3 input channels where the fp32 model takes 1), pinned by the sidecar or
// by a registry beside the model: the session opens on the fp32 file and says why.
TEST(VmafDnn, Int8TwinOfAnotherInterfaceFallsBack) {
  fs::path dir = temp_dir("vmafdnn_int8_iface");
  Quantized q = quantized_filter(dir);
  write_model(quant::ptq_dynamic(zoo::learned_filter(3, 8, 1, 7), quant::QConfig{}, nullptr), dir,
              "lf.int8.onnx");
  nlohmann::json j = nlohmann::json::parse(text_of(q.sidecar));
  j["int8_sha256"] = sha256_file(q.int8.string());
  write_text(q.sidecar, j.dump());
  testing::internal::CaptureStderr();
  VmafDnnSession* s = open_ok(q.fp32);
  std::string err = testing::internal::GetCapturedStderr();
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu fp32 (int8 interface differs)");
  EXPECT_NE(err.find("input 'degraded' has shape [N,3,H,W] instead of [N,1,H,W]"), std::string::npos) << err;
  std::vector<uint8_t> in = luma_frame(16, 16, 9), out(in.size());
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, in.data(), 16, 16, 16, out.data(), 16), 0);
  vmaf_dnn_session_close(s);

  nlohmann::json e = {{"id", "lf"},
                      {"kind", "filter"},
                      {"onnx", "lf.onnx"},
                      {"sha256", sha256_file(q.fp32.string())},
                      {"opset", 17},
                      {"quant_mode", "dynamic"},
                      {"int8_sha256", sha256_file(q.int8.string())}};
  write_text(dir / "registry.json", nlohmann::json{{"schema_version", 1}, {"models", {e}}}.dump(2));
  testing::internal::CaptureStderr();
  s = open_ok(q.fp32);
  err = testing::internal::GetCapturedStderr();
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu fp32 (int8 interface differs)");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  vmaf_dnn_session_close(s);
}

TEST(VmafDnn, Fp32DigestMismatchIsRefused) {
  fs::path dir = temp_dir("vmafdnn_fp32_digest");
  Quantized q = quantized_filter(dir);
  nlohmann::json j = nlohmann::json::parse(text_of(q.sidecar));
  j["sha256"] = std::string(64, '0');
  write_text(q.sidecar, j.dump());
  EXPECT_EQ(open_rc(q.fp32), -EACCES);
}

// A verified int8 twin this CPU is predicted to run slower than the fp32 file (a width-4 filter's dynamic
// int8: its float rescaling outweighs the integer convolutions on every kernel path) opens fp32 and says
// why; TINYQAT_FORCE_INT8=1 keeps it; another value refuses the open.
TEST(VmafDnn, Int8TwinPredictedSlowerFallsBackUnlessForced) {
  fs::path dir = temp_dir("vmafdnn_int8_slower");
  Model m = zoo::learned_filter(1, 4, 1, 7);
  Model q = quant::ptq_dynamic(m, quant::QConfig{}, nullptr);
  for (KernelPath p : {KernelPath::Vnni, KernelPath::Avx512, KernelPath::Avx2, KernelPath::Generic})
    ASSERT_TRUE(compare_int8_speed(Executor(q).model().graph, m, p).slower()) << kernel_path_name(p);
  const fs::path fp32 = write_model(m, dir, "lf.onnx"), int8 = write_model(q, dir, "lf.int8.onnx");
  write_text(dir / "lf.json", nlohmann::json{{"quant_mode", "dynamic"},
                                             {"sha256", sha256_file(fp32.string())},
                                             {"int8_sha256", sha256_file(int8.string())}}
                                  .dump());
  {
    EnvGuard plain("TINYQAT_FORCE_INT8", "0");
    testing::internal::CaptureStderr();
    VmafDnnSession* s = open_ok(fp32);
    const std::string err = testing::internal::GetCapturedStderr();
    ASSERT_NE(s, nullptr);
    EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu fp32 (int8 slower on this cpu)");
    EXPECT_NE(err.find("predicted to take"), std::string::npos) << err;
    EXPECT_NE(err.find("TINYQAT_FORCE_INT8=1 keeps it"), std::string::npos) << err;
    std::vector<uint8_t> in = luma_frame(16, 16, 9), out(in.size());
    EXPECT_EQ(vmaf_dnn_session_run_luma8(s, in.data(), 16, 16, 16, out.data(), 16), 0);
    vmaf_dnn_session_close(s);
  }
  {
    EnvGuard forced("TINYQAT_FORCE_INT8", "1");
    VmafDnnSession* s = open_ok(fp32);
    ASSERT_NE(s, nullptr);
    EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu int8");
    vmaf_dnn_session_close(s);
  }
  {
    EnvGuard bad("TINYQAT_FORCE_INT8", "yes");
    EXPECT_EQ(open_rc(fp32), -EINVAL);
  }
}

TEST(VmafDnn, RegistryBesideTheModelDecides) {
  fs::path dir = temp_dir("vmafdnn_registry");
  Quantized q = quantized_filter(dir, /*write_pins=*/false);
  auto registry = [&](const std::string& sha, const std::string& int8_sha) {
    nlohmann::json e = {{"id", "lf"},
                        {"kind", "filter"},
                        {"onnx", "lf.onnx"},
                        {"sha256", sha},
                        {"opset", 17},
                        {"quant_mode", "dynamic"},
                        {"int8_sha256", int8_sha},
                        {"quant_accuracy_budget_plcc", 0.01}};
    return nlohmann::json{{"schema_version", 1}, {"models", {e}}}.dump(2);
  };
  const std::string sha = sha256_file(q.fp32.string()), sha8 = sha256_file(q.int8.string());
  write_text(dir / "registry.json", registry(sha, sha8));
  VmafDnnSession* s = open_ok(q.fp32);
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu int8");
  vmaf_dnn_session_close(s);
  write_text(dir / "registry.json", registry(sha, std::string(64, 'a')));
  testing::internal::CaptureStderr();
  s = open_ok(q.fp32);
  testing::internal::GetCapturedStderr();
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu fp32 (int8 digest mismatch)");
  vmaf_dnn_session_close(s);
  write_text(dir / "registry.json", registry(std::string(64, 'b'), sha8));
  EXPECT_EQ(open_rc(q.fp32), -EACCES);
  write_text(dir / "registry.json", "[broken");
  EXPECT_EQ(open_rc(q.fp32), -EBADMSG);
  fs::remove(dir / "registry.json");
  // A registry named by VMAF_TINY_REGISTRY must pin the model.
  fs::path other = temp_dir("vmafdnn_registry_other");
  write_text(other / "registry.json",
             nlohmann::json{{"schema_version", 1}, {"models", nlohmann::json::array()}}.dump());
  {
    EnvGuard env("VMAF_TINY_REGISTRY", (other / "registry.json").string());
    EXPECT_EQ(open_rc(q.fp32), -EACCES);
  }
  {
    EnvGuard env("VMAF_TINY_REGISTRY", (other / "missing.json").string());
    EXPECT_EQ(open_rc(q.fp32), -ENOENT);
  }
}

TEST(VmafDnn, ConcurrentRunsOnOneSession) {
  fs::path dir = temp_dir("vmafdnn_threads");
  VmafDnnSession* s = open_ok(write_model(filter_model(), dir, "filter.onnx"), 2);
  ASSERT_NE(s, nullptr);
  std::vector<uint8_t> in = luma_frame(40, 30, 11), want(in.size());
  ASSERT_EQ(vmaf_dnn_session_run_luma8(s, in.data(), 40, 40, 30, want.data(), 40), 0);
  std::vector<std::thread> ts;
  std::vector<int> same(4, 0);
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      std::vector<uint8_t> out(in.size());
      bool ok = true;
      for (int i = 0; i < 5; ++i)
        ok = ok && vmaf_dnn_session_run_luma8(s, in.data(), 40, 40, 30, out.data(), 40) == 0 && out == want;
      same[t] = ok;
    });
  for (auto& t : ts) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(same[t]) << t;
  vmaf_dnn_session_close(s);
}

TEST(VmafDnn, VerifySignatureFollowsTheForksContract) {
  fs::path dir = temp_dir("vmafdnn_verify");
  fs::path model = write_model(filter_model(), dir, "lf.onnx");
  EXPECT_EQ(vmaf_dnn_verify_signature(model.c_str(), nullptr), -ENOENT);  // no registry
  auto reg = [&](bool bundle) {
    nlohmann::json e = {
        {"id", "lf"}, {"kind", "filter"}, {"onnx", "lf.onnx"}, {"sha256", sha256_file(model.string())}};
    if (bundle) e["sigstore_bundle"] = "lf.onnx.sigstore.json";
    write_text(dir / "registry.json", nlohmann::json{{"schema_version", 1}, {"models", {e}}}.dump());
  };
  reg(false);
  EXPECT_EQ(vmaf_dnn_verify_signature(model.c_str(), nullptr), -ENOENT);  // entry without a bundle
  reg(true);
  EXPECT_EQ(vmaf_dnn_verify_signature(model.c_str(), nullptr), -ENOENT);  // bundle file missing
  write_text(dir / "lf.onnx.sigstore.json", "{}");
  fs::path bin = temp_dir("vmafdnn_verify_bin");
  {
    EnvGuard path("PATH", bin.string());
    EXPECT_EQ(vmaf_dnn_verify_signature(model.c_str(), nullptr), -EACCES);  // no cosign on PATH
    // A stand-in cosign: exits 0 only when called as verify-blob with the bundle and the model.
    write_text(bin / "cosign", "#!/bin/sh\n[ \"$1\" = verify-blob ] && [ \"$2\" = \"--bundle=" +
                                   (dir / "lf.onnx.sigstore.json").string() + "\" ] && [ \"$7\" = \"" +
                                   model.string() + "\" ] && exit 0\nexit 1\n");
    fs::permissions(bin / "cosign", fs::perms::owner_all);
    EXPECT_EQ(vmaf_dnn_verify_signature(model.c_str(), (dir / "registry.json").c_str()), 0);
    write_text(bin / "cosign", "#!/bin/sh\nexit 1\n");
    fs::permissions(bin / "cosign", fs::perms::owner_all);
    EXPECT_EQ(vmaf_dnn_verify_signature(model.c_str(), nullptr), -EPROTO);
  }
  write_text(dir / "registry.json", "not json");
  EXPECT_EQ(vmaf_dnn_verify_signature(model.c_str(), nullptr), -EBADMSG);
}

// The fork's shipped learned_filter_v1: its dynamic-int8 twin (DynamicQuantizeLinear, ConvInteger) runs
// — the fork's own allowlist refuses it — and both files agree with ONNX Runtime through luma8.
TEST(VmafDnn, ForksDynamicInt8LearnedFilterRuns) {
  fs::path shared = shared_dir();
  if (shared.empty())
    GTEST_SKIP() << "SKIP ../shared/fork-models not found: the fork's learned_filter_v1 is not run";
  fs::path fork = shared / "fork-models" / "learned_filter_v1.onnx";
  VmafDnnSession* s = open_ok(fork);
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu int8");
  const int w = 224, h = 224;
  std::vector<uint8_t> in = luma_frame(w, h, 21), out8(in.size()), out32(in.size());
  ASSERT_EQ(vmaf_dnn_session_run_luma8(s, in.data(), w, w, h, out8.data(), w), 0);
  EXPECT_EQ(vmaf_dnn_session_run_luma8(s, in.data(), 200, 200, 200, out8.data(), 200),
            -ERANGE);  // pinned 224
  vmaf_dnn_session_close(s);
  // The fp32 file alone (no sidecar beside it: quant_mode fp32).
  fs::path dir = temp_dir("vmafdnn_fork_fp32");
  fs::copy_file(fork, dir / "lf.onnx");
  s = open_ok(dir / "lf.onnx");
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu fp32");
  ASSERT_EQ(vmaf_dnn_session_run_luma8(s, in.data(), w, w, h, out32.data(), w), 0);
  vmaf_dnn_session_close(s);
  // Against ONNX Runtime on the same normalised input: the fp32 file within one level (rounding at a
  // .5 boundary); the int8 file against ORT running the same int8 file, also within one level.
  Tensor x = Tensor::empty(DType::F32, {1, 1, h, w});
  for (size_t i = 0; i < in.size(); ++i) x.data<float>()[i] = in[i] * (1.f / 255.f);
  auto ort_plane = [&](const fs::path& model, const char* tag) {
    std::vector<Tensor> r =
        ort_run(model, {{"degraded", x}}, {"filtered"}, temp_dir(std::string("vmafdnn_ort_") + tag));
    std::vector<int> v(in.size());
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = int(std::clamp(std::nearbyint(r[0].data<float>()[i] * 255.f), 0.f, 255.f));
    return v;
  };
  std::vector<int> ref32 = ort_plane(fork, "fp32");
  std::vector<int> ref8 = ort_plane(shared / "fork-models" / "learned_filter_v1.int8.onnx", "int8");
  int worst32 = 0, worst8 = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    worst32 = std::max(worst32, std::abs(int(out32[i]) - ref32[i]));
    worst8 = std::max(worst8, std::abs(int(out8[i]) - ref8[i]));
  }
  std::printf("learned_filter_v1 luma8 vs ONNX Runtime: fp32 max %d level(s), int8 max %d\n", worst32,
              worst8);
  EXPECT_LE(worst32, 1);
  EXPECT_LE(worst8, 1);
}

}  // namespace
}  // namespace tinyqat::test
