// vmaf_dnn_session_open: the fork's open (path checks, sidecar, <stem>.int8.onnx when quant_mode is not
// fp32, allowlist) with what the fork lacks: the pinned digests checked at load — from a registry.json
// beside the model or named by VMAF_TINY_REGISTRY (the registry's own rule, registry/resolve.h), else from
// the sidecar's mirrored sha256 / int8_sha256 — and the fallback to fp32 its comment promises when the
// int8 twin is missing, altered, over its budget, of another interface than the fp32 model (ir/interface.h),
// outside the allowlist or not loadable (one stderr line).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/model_paths.h"
#include "core/sha256.h"
#include "onnx/onnx_io.h"
#include "registry/registry.h"
#include "registry/resolve.h"
#include "runtime/executor.h"
#include "runtime/int8_speed.h"
#include "vmafdnn/vmafdnn.h"

// A recording session writes its file when it closes. libvmaf has no error channel there: one line on
// stderr.
VmafDnnSession::~VmafDnnSession() {
  if (!recorder || recorder->stats().kept == 0) return;
  try {
    recorder->flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vmaf_dnn: TINYQAT_RECORD: %s\n", e.what());
  }
}

namespace tinyqat::vmafdnn {

namespace fs = std::filesystem;

namespace {

const char* device_name(VmafDnnDevice d) {
  switch (d) {
    case VMAF_DNN_DEVICE_AUTO:
    case VMAF_DNN_DEVICE_CPU:
      return nullptr;
    case VMAF_DNN_DEVICE_CUDA:
      return "CUDA";
    case VMAF_DNN_DEVICE_OPENVINO:
      return "OpenVINO:GPU";
    case VMAF_DNN_DEVICE_ROCM:
      return "ROCm";
    case VMAF_DNN_DEVICE_COREML:
      return "CoreML";
    case VMAF_DNN_DEVICE_COREML_ANE:
      return "CoreML:ANE";
    case VMAF_DNN_DEVICE_COREML_GPU:
      return "CoreML:GPU";
    case VMAF_DNN_DEVICE_COREML_CPU:
      return "CoreML:CPU";
    case VMAF_DNN_DEVICE_OPENVINO_NPU:
      return "OpenVINO:NPU";
    case VMAF_DNN_DEVICE_OPENVINO_CPU:
      return "OpenVINO:CPU";
    case VMAF_DNN_DEVICE_OPENVINO_GPU:
      return "OpenVINO:GPU";
  }
  return nullptr;
}

// The file chosen to run: its bytes (the ones verified), path, and — for a fallback — why.
struct Choice {
  std::vector<uint8_t> bytes;
  std::string path;
  bool int8 = false;
  std::string fallback;  // short phrase for attached_ep ("int8 digest mismatch"); empty: no fallback
  std::string detail;    // the full sentence for the stderr line
};

// Path checks of the int8 twin (jail, size cap) before anything reads it: a phrase when it fails.
std::optional<std::string> twin_refused(const std::string& twin, std::string* detail) {
  try {
    (void)check_model_file(twin);
  } catch (const Refusal& r) {
    *detail = r.what();
    switch (r.err) {
      case -ENOENT:
        return std::nullopt;  // missing: the pin check below says so
      case -EACCES:
        return "int8 outside VMAF_TINY_MODEL_DIR";
      case -E2BIG:
        return "int8 over the size cap";
      case -EBADMSG:
        return "int8 empty";
      default:
        return "int8 unreadable";
    }
  }
  return std::nullopt;
}

const char* reason_phrase(registry::Reason r) {
  using registry::Reason;
  switch (r) {
    case Reason::Int8Missing:
      return "int8 missing";
    case Reason::Int8DigestMismatch:
      return "int8 digest mismatch";
    case Reason::Int8OverBudget:
      return "int8 over budget";
    case Reason::MeasurementUnreadable:
      return "int8 measurement unreadable";
    case Reason::Int8InterfaceMismatch:
      return "int8 interface differs";
    case Reason::Int8SlowerOnThisCpu:
      return "int8 slower on this cpu";
    default:
      return "int8 not loadable";
  }
}

// A registry that pins this model: VMAF_TINY_REGISTRY (it must list the model), else registry.json beside
// the model (used when it lists the model). The entry is the one whose file is this file.
struct Pinned {
  registry::Registry reg;
  std::string id;
};
std::optional<Pinned> find_registry(const std::string& given, const std::string& canon) {
  const char* env = std::getenv("VMAF_TINY_REGISTRY");
  const bool named = env != nullptr && env[0] != '\0';
  const fs::path beside = fs::path(given).parent_path() / "registry.json";
  const std::string path = named ? std::string(env) : beside.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (named) throw Refusal(-ENOENT, fmt::format("VMAF_TINY_REGISTRY {} does not exist", path));
    return std::nullopt;
  }
  Pinned p;
  try {
    p.reg = registry::load_registry(path);
  } catch (const Error& e) {
    throw Refusal(-EBADMSG, e.what());
  }
  for (const registry::Entry& e : p.reg.models) {
    const fs::path f = fs::canonical(p.reg.onnx_path(e), ec);
    if (!ec && f.string() == canon) {
      p.id = e.id;
      return p;
    }
  }
  if (named)
    throw Refusal(
        -EACCES,
        fmt::format("{}: no entry for {}: refusing a model the named registry does not pin", path, canon));
  return std::nullopt;
}

// The registry's rule (registry::resolve): fp32 digest or nothing; int8 when present, pinned and within
// budget.
Choice choose_by_registry(const Pinned& p, const std::string& twin) {
  const registry::Entry& e = p.reg.at(p.id);
  std::string detail;
  std::optional<std::string> refused = e.quantized() ? twin_refused(twin, &detail) : std::nullopt;
  registry::Resolved res;
  try {
    res = registry::resolve(p.reg, p.id, /*prefer_fp32=*/refused.has_value());
  } catch (const Error& err) {
    throw Refusal(-EACCES, err.what());
  }
  Choice c;
  c.bytes = std::move(res.bytes);
  c.path = res.decision.model_path;
  c.int8 = res.decision.variant == registry::Variant::Int8;
  if (refused) {
    c.fallback = *refused;
    c.detail = detail;
  } else if (registry::is_fallback(res.decision.reason)) {
    c.fallback = reason_phrase(res.decision.reason);
    c.detail = res.decision.text;
  }
  return c;
}

// No registry: the sidecar's pins when it has them (the fork mirrors the registry's there), else none.
Choice choose_by_sidecar(const Sidecar& meta, const ModelFile& fp32, std::vector<uint8_t> fp32_bytes,
                         const std::string& twin) {
  if (meta.sha256) {
    const std::string got = sha256_hex(fp32_bytes);
    if (got != *meta.sha256)
      throw Refusal(-EACCES, fmt::format("{} has sha256 {}, {} pins {}: refusing to load", fp32.path, got,
                                         meta.path, *meta.sha256));
  }
  Choice fp{std::move(fp32_bytes), fp32.path, false, {}, {}};
  if (meta.quant_mode == "fp32") return fp;
  auto fallback = [&](std::string phrase, std::string detail) {
    fp.fallback = std::move(phrase);
    fp.detail = std::move(detail);
    return std::move(fp);
  };
  std::string detail;
  if (std::optional<std::string> refused = twin_refused(twin, &detail)) return fallback(*refused, detail);
  std::error_code ec;
  if (!fs::exists(twin, ec)) return fallback("int8 missing", fmt::format("int8 file {} is missing", twin));
  Choice c;
  c.path = fs::canonical(twin, ec).string();
  c.int8 = true;
  if (meta.int8_sha256) {
    PinnedFile f = read_pinned(c.path, *meta.int8_sha256, meta.path);
    if (f.status == PinnedFile::Status::Mismatch) return fallback("int8 digest mismatch", f.problem);
    if (!f.ok()) return fallback("int8 unreadable", f.problem);
    c.bytes = std::move(f.bytes);
  } else {
    try {
      c.bytes = read_model_bytes(ModelFile{c.path, 0});
    } catch (const Refusal& r) {
      return fallback("int8 unreadable", r.what());
    }
  }
  if (auto why = registry::twin_interface_difference(fp.bytes, c.bytes, c.path))
    return fallback("int8 interface differs", *why);
  return c;
}

std::unique_ptr<Executor> load(const std::vector<uint8_t>& bytes, const std::string& path, int threads) {
  check_allowlist(bytes.data(), bytes.size(), path);
  try {
    Model m = import_onnx_bytes(bytes.data(), bytes.size(), fs::path(path).parent_path().string(), path);
    return std::make_unique<Executor>(std::move(m), ExecutorOptions{threads, false});
  } catch (const Refusal&) {
    throw;
  } catch (const Error& e) {
    throw Refusal(-EBADMSG, e.what());
  }
}

void describe_planes(VmafDnnSession& s) {
  const auto& in = s.exec->inputs();
  const auto& out = s.exec->outputs();
  for (const auto& v : in) s.input_names.push_back(v.name);
  for (const auto& v : out) s.output_names.push_back(v.name);
  if (in.size() != 1 || out.size() != 1 || in[0].dtype != DType::F32 || out[0].dtype != DType::F32) return;
  if (!in[0].has_shape || in[0].shape.size() != 4) return;
  if (out[0].has_shape && out[0].shape.size() != 4) return;  // a score, not a plane
  const auto& d = in[0].shape;
  auto one_or_free = [](const Dim& x) { return !x.is_known() || x.value == 1; };
  if (!one_or_free(d[0]) || !one_or_free(d[1])) return;
  if ((d[2].is_known() && d[2].value == 0) || (d[3].is_known() && d[3].value == 0)) return;
  s.plane_model = true;
  s.plane_h = d[2].is_known() ? d[2].value : -1;
  s.plane_w = d[3].is_known() ? d[3].value : -1;
}

// TINYQAT_FORCE_INT8=1: keep a verified int8 twin that this CPU is predicted to run slower than the fp32
// file (runtime/int8_speed.h); unset, empty or 0: fall back. Another value refuses the open (-EINVAL).
bool force_int8_from_env() {
  const char* v = std::getenv("TINYQAT_FORCE_INT8");
  if (v == nullptr || *v == '\0' || std::strcmp(v, "0") == 0) return false;
  if (std::strcmp(v, "1") == 0) return true;
  throw Refusal(-EINVAL, fmt::format("TINYQAT_FORCE_INT8='{}' is neither 0 nor 1", v));
}

// TINYQAT_RECORD / TINYQAT_RECORD_SAMPLES: a bad value refuses the open (-EINVAL) rather than record
// nothing without a word.
void start_recorder(VmafDnnSession& s) {
  const char* path = std::getenv("TINYQAT_RECORD");
  if (path == nullptr || *path == '\0') return;
  RecorderOptions o;
  o.path = path;
  if (const char* n = std::getenv("TINYQAT_RECORD_SAMPLES")) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(n, &end, 10);
    if (errno != 0 || end == n || *end != '\0' || v < 1 || v > kMaxRecorderSamples)
      throw Refusal(-EINVAL, fmt::format("TINYQAT_RECORD_SAMPLES='{}' is not a count in 1..{}", n,
                                         kMaxRecorderSamples));
    o.samples = v;
  }
  o.max_bytes = int64_t(1) << 30;
  try {
    s.recorder = std::make_unique<InputRecorder>(o, s.input_names);
  } catch (const Error& e) {
    throw Refusal(-EINVAL, e.what());
  }
}

}  // namespace

std::unique_ptr<VmafDnnSession> open_session(const std::string& onnx_path, const VmafDnnConfig* cfg) {
  const VmafDnnConfig c = cfg != nullptr ? *cfg : VmafDnnConfig{VMAF_DNN_DEVICE_AUTO, 0, 0, false};
  // A C caller may store any int in the enum: read it as an int (loading a value outside the enum's
  // range as VmafDnnDevice is undefined behaviour; UBSan, VmafDnn.EveryEntryPointRefusesNull).
  static_assert(sizeof(c.device) == sizeof(int));
  int dev = 0;
  std::memcpy(&dev, &c.device, sizeof dev);
  if (dev < VMAF_DNN_DEVICE_AUTO || dev > VMAF_DNN_DEVICE_OPENVINO_GPU)
    throw Refusal(-EINVAL, fmt::format("unknown device {}", dev));
  if (c.threads < 0) throw Refusal(-EINVAL, fmt::format("threads must be >= 0, got {}", c.threads));
  // 0: all cores (as ORT); more than the runtime's 256 workers runs on 256.
  const int threads = std::min(
      256, c.threads == 0 ? std::max(1, static_cast<int>(std::thread::hardware_concurrency())) : c.threads);

  const bool force_int8 = force_int8_from_env();
  const ModelFile fp32 = check_model_file(onnx_path);
  auto s = std::make_unique<VmafDnnSession>();
  s->meta = read_sidecar(onnx_path);
  std::vector<uint8_t> fp32_bytes = read_model_bytes(fp32);
  check_allowlist(fp32_bytes.data(), fp32_bytes.size(), fp32.path);  // the fork refuses the fp32 file first

  const std::string twin = int8_twin(onnx_path);
  std::optional<Pinned> pinned = find_registry(onnx_path, fp32.path);
  Choice choice =
      pinned ? choose_by_registry(*pinned, pinned->reg.int8_path(pinned->reg.at(pinned->id)).string())
             : choose_by_sidecar(s->meta, fp32, std::move(fp32_bytes), twin);
  if (choice.int8) {
    std::string phrase, detail;
    try {
      s->exec = load(choice.bytes, choice.path, threads);
      if (!force_int8) {
        // The fp32 file's bytes only feed the prediction here; the fallback below verifies what it loads.
        const std::vector<uint8_t> b = read_model_bytes(fp32);
        Model f =
            import_onnx_bytes(b.data(), b.size(), fs::path(fp32.path).parent_path().string(), fp32.path);
        const Int8Speed speed = compare_int8_speed(s->exec->model().graph, std::move(f), kernel_path());
        if (speed.slower()) {
          s->exec.reset();
          phrase = reason_phrase(registry::Reason::Int8SlowerOnThisCpu);
          detail = describe(speed) + " (TINYQAT_FORCE_INT8=1 keeps it)";
        }
      }
    } catch (const Refusal& r) {
      s->exec.reset();
      phrase = r.err == -EPERM ? "int8 op not allowed" : "int8 not loadable";
      detail = r.what();
    } catch (const Error& e) {  // the fp32 file does not import: its own load below says so
      s->exec.reset();
      phrase = "int8 not loadable";
      detail = e.what();
    }
    if (!s->exec) {
      // Verified but refused by the allowlist, not loadable or slower here: the fp32 file, verified the
      // same way.
      Choice fb;
      if (pinned) {
        registry::Resolved res;
        try {
          res = registry::resolve(pinned->reg, pinned->id, true);
        } catch (const Error& err) {
          throw Refusal(-EACCES, err.what());
        }
        fb = Choice{std::move(res.bytes), res.decision.model_path, false, {}, {}};
      } else {
        Sidecar fp32_only = s->meta;
        fp32_only.quant_mode = "fp32";
        fb = choose_by_sidecar(fp32_only, fp32, read_model_bytes(fp32), twin);
      }
      fb.fallback = phrase;
      fb.detail = detail;
      choice = std::move(fb);
    }
  }
  if (!s->exec) s->exec = load(choice.bytes, choice.path, threads);
  if (!choice.fallback.empty())
    std::fprintf(stderr, "vmaf_dnn: %s: falling back to fp32: %s\n", onnx_path.c_str(),
                 choice.detail.c_str());

  s->int8 = choice.int8;
  s->model_path = choice.path;
  s->ep = fmt::format("tinyqat-cpu {}", choice.int8 ? "int8" : "fp32");
  if (!choice.fallback.empty()) s->ep += fmt::format(" ({})", choice.fallback);
  if (const char* want = device_name(c.device)) s->ep += fmt::format("; {} requested, running on CPU", want);
  describe_planes(*s);
  start_recorder(*s);
  return s;
}

}  // namespace tinyqat::vmafdnn
