#include "support/test_support.h"

#include <unistd.h>
#include <cmath>
#include <cstdlib>

#include <sys/wait.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "ir/summary.h"
#include "onnx/onnx_io.h"
#include "qdq/selectors.h"

#include <onnx/onnx_pb.h>

namespace tinyqat::test {

fs::path temp_dir(const std::string& name) {
  // Per process: ctest runs test binaries in parallel (and the suite again per ISA).
  fs::path p = fs::path(TQ_BINARY_DIR) / "test-tmp" / std::to_string(::getpid()) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

float Rng::normal() {
  float u1 = std::max(uniform(), 1e-7f), u2 = uniform();
  return std::sqrt(-2.f * std::log(u1)) * std::cos(6.2831853f * u2);
}

Tensor random_tensor(const Shape& shape, Rng& rng, float lo, float hi) {
  Tensor t = Tensor::empty(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = rng.uniform(lo, hi);
  return t;
}

Tensor random_int8(const Shape& shape, Rng& rng, DType dt) {
  Tensor t = Tensor::empty(dt, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    int v = static_cast<int>(rng.next() % 255);
    if (dt == DType::I8)
      t.data<int8_t>()[i] = static_cast<int8_t>(v - 127);
    else
      t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
  }
  return t;
}

Tensor luma_images(int64_t n, int64_t h, int64_t w, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(DType::F32, {n, 1, h, w});
  for (int64_t b = 0; b < n; ++b) {
    float gx = rng.uniform(-0.5f, 0.5f), gy = rng.uniform(-0.5f, 0.5f), base = rng.uniform(0.3f, 0.7f);
    float fx = rng.uniform(0.02f, 0.2f), fy = rng.uniform(0.02f, 0.2f), amp = rng.uniform(0.05f, 0.2f);
    int64_t edge = static_cast<int64_t>(rng.uniform(0.2f, 0.8f) * static_cast<float>(w));
    float step = rng.uniform(-0.3f, 0.3f);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        float v = base + gx * x / w + gy * y / h + amp * std::sin(fx * x) * std::cos(fy * y) +
                  (x > edge ? step : 0.f) + 0.02f * rng.normal();
        t.data<float>()[(b * h + y) * w + x] = std::min(1.f, std::max(0.f, v));
      }
  }
  return t;
}

bool ort_integer_kernels_exact() {
  if (const char* force = std::getenv("TQ_TEST_ORT_REFERENCE"); force && std::string(force) == "float")
    return false;  // exercise the reference path on a VNNI host too
#if defined(__x86_64__)
  __builtin_cpu_init();  // what the OS enabled, not only the CPUID bits
  if (__builtin_cpu_supports("avx512vnni")) return true;
  // AVX-VNNI (CPUID leaf 7 subleaf 1, EAX bit 4; clang 14 has no name for it), usable where AVX2 is.
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __builtin_cpu_supports("avx2") && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4));
#else
  return true;
#endif
}

namespace {

// The reference graph where ORT's integer kernels are not exact: ConvInteger / MatMulInteger with
// constant weights become Cast → Sub(zero point) → Conv / MatMul in float → Cast to int32. Exact while
// every partial sum stays below 2^24 (Σ|x − xz|·|w − wz| over a dot product: 255·128 per term with the
// symmetric weights tinyqat writes, so up to 514 terms at full scale). Empty path: the model has no such
// op and no Q/DQ either (its ORT run is the plain one); the file itself when nothing needed rewriting
// (it then runs unoptimised, as written, not through our importer and exporter).
fs::path integer_reference(const fs::path& model, const fs::path& work) {
  Model m = import_onnx(model.string());
  if (summarize(m).quantization == "fp32") return {};  // the one classifier (quant::check_fp32 reads it)
  Graph& g = m.graph;
  std::vector<Node> nodes;
  int made = 0;  // names of what the rewrite adds: unique against the graph and each other
  auto fresh = [&](const std::string& base) { return g.unique_name(base + "_ref" + std::to_string(made++)); };
  auto cast = [&](const std::string& v, int64_t to) {
    const std::string out = fresh(v);
    nodes.push_back(Node{fresh("cast"), "Cast", "", {v}, {out}, {{"to", Attribute::of_int(to)}}});
    return out;
  };
  for (const Node& n : std::vector<Node>(g.nodes)) {
    const bool conv = n.op_type == "ConvInteger", matmul = n.op_type == "MatMulInteger";
    const Tensor* w = (conv || matmul) && n.inputs.size() > 1 ? g.initializer(n.inputs[1]) : nullptr;
    const Tensor* wz = n.input(3) ? g.initializer(*n.input(3)) : nullptr;
    if (!w || (n.input(3) && !wz)) {
      nodes.push_back(n);
      continue;
    }
    // (w − wz) in float: wz per output channel (axis 0 of a Conv weight, axis 1 of a MatMul B) or scalar.
    Tensor wf = Tensor::empty(DType::F32, w->shape());
    const auto wv = w->to_i64();
    const int64_t channels = conv ? w->dim(0) : w->dim(-1),
                  inner = conv ? w->numel() / std::max<int64_t>(channels, 1) : 1;
    for (int64_t e = 0; e < w->numel(); ++e) {
      const int64_t c = (e / inner) % std::max<int64_t>(channels, 1);
      const double z = !wz ? 0.0 : wz->scalar_as_double(wz->numel() == 1 ? 0 : c);
      wf.data<float>()[e] = static_cast<float>(static_cast<double>(wv[e]) - z);
    }
    const std::string wname = fresh(n.inputs[1]);
    g.initializers[wname] = std::move(wf);
    std::string x = cast(n.inputs[0], 1);
    if (auto xz = n.input(2)) {
      const std::string centred = fresh(x);
      nodes.push_back(Node{fresh("sub"), "Sub", "", {x, cast(*xz, 1)}, {centred}, {}});
      x = centred;
    }
    const std::string y = fresh(n.outputs[0]);
    Node op{n.name, conv ? "Conv" : "MatMul",
            "",     {x, wname},
            {y},    conv ? n.attrs : std::map<std::string, Attribute>{}};
    nodes.push_back(op);
    nodes.push_back(Node{fresh("cast"), "Cast", "", {y}, {n.outputs[0]}, {{"to", Attribute::of_int(6)}}});
  }
  if (made == 0) return model;
  g.nodes = std::move(nodes);
  g.topo_sort();
  const fs::path out = work / "ort_reference.onnx";
  export_onnx(m, out.string());
  return out;
}

}  // namespace

std::vector<Tensor> ort_run(const fs::path& model, const NamedTensors& inputs,
                            const std::vector<std::string>& outputs, const fs::path& work,
                            const std::string& optimized_model) {
  fs::path script = fs::path(TQ_SOURCE_DIR) / "tools" / "ort" / "ort_run.js";
  fs::path mod = fs::path(TQ_SOURCE_DIR) / "tools" / "ort" / "node_modules" / "onnxruntime-node";
  TQ_CHECK(fs::exists(mod), "ONNX Runtime for node is not installed ({}); run scripts/setup.sh",
           mod.string());
  fs::path in_dir = work / "ort_in", out_dir = work / "ort_out";
  fs::remove_all(in_dir);
  fs::remove_all(out_dir);
  fs::create_directories(in_dir);
  // Where ORT's u8·s8 kernels saturate (x86 without VNNI), the values come from the graph run unoptimised
  // with the integer ops in float (integer_reference); the optimised graph, when asked for, from a second
  // session on the file itself.
  const fs::path reference = ort_integer_kernels_exact() ? fs::path{} : integer_reference(model, work);
  if (!reference.empty()) {
    static bool said = false;
    if (!said)
      std::printf(
          "[ort] no VNNI on this CPU: ORT's u8*s8 integer kernels saturate int16 pairs here, so its "
          "reference runs the quantized graph unoptimised with integer ops in float\n");
    said = true;
    if (!optimized_model.empty()) {
      const fs::path log = work / "ort_list.log";
      const std::string list = fmt::format("node '{}' '{}' --list --optimized-model '{}' > '{}' 2>&1",
                                           script.string(), model.string(), optimized_model, log.string());
      if (std::system(list.c_str()) != 0) fail("ONNX Runtime failed on {}: {}", model.string(), text_of(log));
    }
  }
  std::string cmd = fmt::format("node '{}' '{}' --out '{}' --threads 1{}", script.string(),
                                (reference.empty() ? model : reference).string(), out_dir.string(),
                                reference.empty() ? "" : " --no-optimize");
  for (const auto& [name, t] : inputs) {
    fs::path f = in_dir / (name + ".npy");
    write_npy(f.string(), t);
    cmd += fmt::format(" --input '{}={}'", name, f.string());
  }
  if (!optimized_model.empty() && reference.empty())
    cmd += fmt::format(" --optimized-model '{}'", optimized_model);
  fs::path log = work / "ort.log";
  cmd += fmt::format(" > '{}' 2>&1", log.string());
  int rc = std::system(cmd.c_str());
  if (rc != 0) fail("ONNX Runtime failed on {} (exit {}): {}", model.string(), rc, text_of(log));
  std::vector<Tensor> r;
  for (const auto& o : outputs) {
    std::string fname = o;
    for (char& c : fname)
      if (c == '/') c = '_';
    r.push_back(read_npy((out_dir / (fname + ".npy")).string()));
  }
  return r;
}

std::vector<std::string> onnx_op_types(const fs::path& model) {
  std::vector<uint8_t> bytes = read_file(model.string());
  onnx::ModelProto mp;
  TQ_CHECK(mp.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())), "{}: not a protobuf",
           model.string());
  std::vector<std::string> r;
  for (const auto& n : mp.graph().node()) r.push_back(n.domain() + "." + n.op_type());
  return r;
}

fs::path shared_dir() {
  fs::path p = fs::path(TQ_SOURCE_DIR) / ".." / "shared";
  if (fs::exists(p / "fork-models")) return fs::canonical(p);
  return {};
}

// Element-wise comparison: `limit(ref)` is the largest allowed |ours − ref|; NaN matches NaN only.
template <typename Limit>
static Agreement compare(const Tensor& ours, const Tensor& ref, Limit limit, const char* unit) {
  Agreement a;
  if (ours.shape() != ref.shape() || ours.dtype() != ref.dtype()) {
    a.ok = false;
    a.where = fmt::format("shape/type {} {} vs reference {} {}", dtype_name(ours.dtype()),
                          shape_str(ours.shape()), dtype_name(ref.dtype()), shape_str(ref.shape()));
    return a;
  }
  for (int64_t i = 0; i < ours.numel(); ++i) {
    double o = ours.scalar_as_double(i), r = ref.scalar_as_double(i);
    if (std::isnan(o) && std::isnan(r)) continue;
    double d = std::fabs(o - r);
    if (std::isnan(d)) d = INFINITY;
    a.max_abs = std::max(a.max_abs, d);
    if (d > limit(r) && a.ok) {
      a.ok = false;
      a.where = fmt::format("element {}: ours {} vs reference {}{}", i, o, r, unit);
    }
  }
  return a;
}

Agreement compare_fp32(const Tensor& ours, const Tensor& ref, double rel) {
  return compare(
      ours, ref, [rel](double r) { return rel * std::max(1.0, std::fabs(r)); }, "");
}

Agreement compare_steps(const Tensor& ours, const Tensor& ref, double step, double steps) {
  const std::string unit = fmt::format(" (step {})", step);
  return compare(
      ours, ref, [=](double) { return steps * step * (1 + 1e-6) + 1e-7; }, unit.c_str());
}

CliResult cli(const std::string& args, const fs::path& work) {
  return cli_in(fs::current_path(), args, work);
}

CliResult cli_in(const fs::path& cwd, const std::string& args, const fs::path& work) {
  const fs::path err = fs::absolute(work / "cli.err"), out = fs::absolute(work / "cli.out");
  std::string cmd = fmt::format("cd '{}' && '{}/tinyqat' {} >'{}' 2>'{}'", cwd.string(), TQ_BINARY_DIR, args,
                                out.string(), err.string());
  int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc), text_of(err), text_of(out)};
}

std::string text_of(const fs::path& p) {
  auto b = read_file(p.string());
  return std::string(b.begin(), b.end());
}

double output_step(const Model& m, std::string v) {
  const Graph& g = m.graph;
  for (int hops = 0; hops < 8; ++hops) {
    int p = g.producer(v);
    if (p < 0) return 0;
    const Node& n = g.nodes[p];
    if (n.op_type == "DequantizeLinear") return g.initializer(n.inputs[1])->data<float>()[0];
    if (n.op_type != "Clip" && n.op_type != "Relu" && n.op_type != "Squeeze" && n.op_type != "Reshape")
      return 0;
    v = n.inputs[0];
  }
  return 0;
}

double float_head_slack(const Model& m, const std::string& v0) {
  const Graph& g = m.graph;
  auto step_of = [&](const std::string& v) -> double {
    int p = g.producer(v);
    if (p < 0 || g.nodes[p].op_type != "DequantizeLinear") return 0;
    return g.initializer(g.nodes[p].inputs[1])->data<float>()[0];
  };
  double slack = 0;
  std::vector<std::string> todo{v0};
  while (!todo.empty()) {
    const std::string v = todo.back();
    todo.pop_back();
    const int p = g.producer(v);
    if (p < 0) continue;
    const Node& n = g.nodes[p];
    const std::string& op = n.op_type;
    if (op == "DequantizeLinear") {
      slack += step_of(v);
    } else if (op == "Clip" || op == "Relu" || op == "Squeeze" || op == "Reshape" || op == "Flatten" ||
               op == "Unsqueeze" || op == "Identity") {
      todo.push_back(n.inputs[0]);
    } else if (op == "Add") {
      todo.push_back(n.inputs[0]);
      todo.push_back(n.inputs[1]);
    } else if (op == "Conv" || op == "Gemm" || op == "MatMul") {
      const int wp = g.producer(n.inputs[1]);
      if (wp < 0 || g.nodes[wp].op_type != "DequantizeLinear") continue;
      const Tensor& wq = *g.initializer(g.nodes[wp].inputs[0]);
      const Tensor& ws = *g.initializer(g.nodes[wp].inputs[1]);
      std::string why;
      const int64_t axis = qdq::weighted_op_axis(n, wq.shape(), -1, &why).value_or(0);
      const int64_t C = wq.dim(static_cast<int>(axis));
      int64_t inner = 1;
      for (int d = static_cast<int>(axis) + 1; d < wq.rank(); ++d) inner *= wq.dim(d);
      std::vector<double> sum(static_cast<size_t>(C), 0.0);
      for (int64_t i = 0; i < wq.numel(); ++i) {
        const int64_t c = (i / inner) % C;
        const double q = wq.dtype() == DType::I8 ? wq.data<int8_t>()[i] : wq.data<uint8_t>()[i];
        sum[c] += std::fabs(q) * ws.data<float>()[ws.numel() == 1 ? 0 : c];
      }
      slack += step_of(n.inputs[0]) * *std::max_element(sum.begin(), sum.end());
    }
  }
  return slack;
}

Agreement compare_float_head(const Tensor& ours, const Tensor& ref, double slack, double rel) {
  const std::string unit = fmt::format(" (slack {})", slack);
  return compare(
      ours, ref, [=](double r) { return slack * (1 + 1e-6) + rel * std::max(1.0, std::fabs(r)); },
      unit.c_str());
}

}  // namespace tinyqat::test
