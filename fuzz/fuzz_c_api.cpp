// libFuzzer target for the C API's tensors (include/tinyqat/session.h): tq_session_run with fuzzed names,
// dtypes, ranks, shapes and data on two small built-in models registered once per process — an fp32 MLP
// (features [N,4]) and the dynamic int8 twin of a learned_filter (degraded [N,1,H,W], kept with force_int8).
// Every call must end in TQ_OK or a status with tq_last_error() set; never a crash, a sanitizer report or an
// exception across the boundary. Shapes the caller could not back with data (over 64 Ki elements) are not
// passed: reading past a caller's buffer is the caller's bug; negative or overflowing dims are passed with a
// small buffer (the API must refuse them before reading).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "handoff/handoff.h"
#include "onnx/onnx_io.h"
#include "quant/ptq.h"
#include "tinyqat/session.h"
#include "zoo/zoo.h"

namespace {

struct Sessions {
  tq_session* s[2] = {nullptr, nullptr};
};

Sessions open_sessions() {
  const std::string dir = fuzz::private_dir("fuzz_c_api");
  const std::string reg = dir + "/registry.json";
  std::remove(reg.c_str());
  tinyqat::Model mlp = tinyqat::zoo::mlp(4, {8}, "relu", {0, 0, 0, 0}, {1, 1, 1, 1}, 3);
  tinyqat::Model lf = tinyqat::zoo::learned_filter(1, 4, 1, 5);
  tinyqat::export_onnx(mlp, dir + "/mlp.onnx");
  tinyqat::export_onnx(lf, dir + "/lf.onnx");
  tinyqat::export_onnx(tinyqat::quant::ptq_dynamic(lf, tinyqat::quant::QConfig{}, nullptr),
                       dir + "/lf8.onnx");
  tinyqat::handoff::Artifact a;
  a.registry = reg;
  a.license = "MIT";
  a.id = "mlp";
  a.fp32 = dir + "/mlp.onnx";
  a.kind = "fr";
  tinyqat::handoff::register_artifact(a);
  a.id = "lf";
  a.fp32 = dir + "/lf.onnx";
  a.int8 = dir + "/lf8.onnx";
  a.kind = "filter";
  tinyqat::handoff::register_artifact(a);
  Sessions out;
  // force_int8: the integer kernels are what this target fuzzes, on any CPU (a width-4 filter's dynamic
  // int8 is predicted slower than its fp32 file everywhere, so a plain session would run fp32).
  tq_session_options o;
  tq_session_options_init(&o);
  o.force_int8 = 1;
  if (tq_session_open(reg.c_str(), "mlp", nullptr, &out.s[0]) != TQ_OK ||
      tq_session_open(reg.c_str(), "lf", &o, &out.s[1]) != TQ_OK ||
      tq_session_variant(out.s[1]) != TQ_VARIANT_INT8)
    __builtin_trap();
  return out;
}

struct Reader {
  const uint8_t* p;
  size_t n;
  uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Sessions sessions = open_sessions();
  Reader in{data, size};
  tq_session* s = sessions.s[in.byte() & 1];
  const size_t count = in.byte() % 4;
  static const int dtypes[] = {TQ_FLOAT32, TQ_UINT8, TQ_INT8, TQ_INT32, TQ_INT64, TQ_BOOL, 0, 4, 255, -1};
  static const char* const names[] = {"features", "degraded", "", "score", "filtered"};
  std::vector<tq_tensor> tensors(count);
  std::vector<std::vector<int64_t>> shapes(count);
  std::vector<std::vector<uint8_t>> buffers(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t how = in.byte();
    tq_tensor& t = tensors[i];
    t.name = (how & 7) == 7 ? nullptr : names[(how & 7) % 5];
    std::memcpy(&t.dtype, &dtypes[in.byte() % 10], sizeof(int));  // as a C caller may: any int
    t.rank = in.byte() % 20;
    bool refused = false;  // a dim the API must refuse before reading the data
    unsigned __int128 numel = 1;
    for (size_t d = 0; d < t.rank; ++d) {
      const uint8_t b = in.byte();
      int64_t v = b & 0x3f;
      if (b & 0x80) v = (b & 0x40) ? -int64_t(b & 0x3f) - 1 : (int64_t(1) << (32 + (b & 0x1f)));
      shapes[i].push_back(v);
      if (v < 0) refused = true;
      numel *= static_cast<unsigned __int128>(v < 0 ? 0 : v);
      if (numel > (static_cast<unsigned __int128>(1) << 80)) refused = true;
    }
    if (!refused && numel > (1u << 16)) return 0;
    t.shape = (how & 8) ? nullptr : shapes[i].data();
    if (t.rank > 16 || t.shape == nullptr) refused = true;
    buffers[i].resize(refused ? 64 : size_t(numel) * 8);
    for (auto& b : buffers[i]) b = in.byte();
    t.data = (how & 16) ? nullptr : buffers[i].data();
  }
  tq_outputs* out = nullptr;
  const tq_status st = tq_session_run(s, tensors.data(), count, &out);
  if (st == TQ_OK) {
    if (out == nullptr) __builtin_trap();
    for (size_t i = 0; i < tq_outputs_count(out); ++i) {
      const tq_tensor* t = tq_outputs_get(out, i);
      if (t == nullptr || t->name == nullptr) __builtin_trap();
    }
  } else if (out != nullptr || tq_last_error()[0] == '\0') {
    __builtin_trap();
  }
  tq_outputs_free(out);
  return 0;
}
