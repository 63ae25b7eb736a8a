#include "session/session.h"

#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "io/model_data.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "runtime/int8_speed.h"

namespace tinyqat {

using registry::Reason;
using registry::Registry;
using registry::Resolved;
using registry::Variant;

Session::~Session() = default;

std::unique_ptr<Session> Session::open(const std::string& registry_path, const std::string& id,
                                       const SessionOptions& opts) {
  TQ_CHECK(opts.threads >= 0 && opts.threads <= 256,
           "session: threads must be in [0, 256] (0: all cores), got {}", opts.threads);
  using Stage = OpenError::Stage;
  Registry reg;
  try {
    reg = registry::load_registry(registry_path);
  } catch (const Error& e) {
    throw OpenError(Stage::Registry, e.what());
  }
  try {
    (void)reg.at(id);
  } catch (const Error& e) {
    throw OpenError(Stage::UnknownId, e.what());
  }
  Resolved res;
  try {
    res = registry::resolve(reg, id, opts.prefer_fp32);
  } catch (const Error& e) {
    throw OpenError(Stage::Digest, e.what());
  }
  std::unique_ptr<Session> s(new Session);
  s->decision_ = res.decision;
  const std::string base = reg.dir().string();
  auto import = [&](const Resolved& r) {
    return import_onnx_bytes(r.bytes.data(), r.bytes.size(), base, r.decision.model_path);
  };
  auto run_fp32 = [&](Reason why, const std::string& text) {
    Resolved fb;
    try {
      fb = registry::resolve(reg, id, /*prefer_fp32=*/true);
    } catch (const Error& e2) {
      throw OpenError(Stage::Digest, e2.what());
    }
    s->decision_ = fb.decision;
    s->decision_.reason = why;
    s->decision_.text = "falling back to fp32: " + text;
    s->decision_.recorded_drop = res.decision.recorded_drop;
    res = std::move(fb);
  };
  if (res.decision.variant == Variant::Int8) {
    std::optional<Int8Speed> slower;
    try {
      s->exec_ = std::make_unique<Executor>(import(res), ExecutorOptions{opts.threads, false});
      if (opts.force_int8) return s;
      // The fp32 twin as the same resolve verified it (a fallback resolves it again before loading it).
      const std::string fp32_path = reg.onnx_path(reg.at(id)).string();
      Model fp32 = import_onnx_bytes(res.fp32_bytes.data(), res.fp32_bytes.size(), base, fp32_path);
      const Int8Speed speed = compare_int8_speed(s->exec_->model().graph, std::move(fp32), kernel_path());
      if (!speed.slower()) return s;
      slower = speed;
    } catch (const Error& err) {
      // Verified but not loadable by this runtime (an op it lacks): run the fp32 model instead.
      s->exec_.reset();
      run_fp32(Reason::Int8Unloadable,
               fmt::format("the int8 file is verified but does not load: {}", err.what()));
    }
    if (slower) {
      s->exec_.reset();
      run_fp32(Reason::Int8SlowerOnThisCpu, describe(*slower) + " (force_int8 keeps it)");
    }
  }
  try {
    s->exec_ = std::make_unique<Executor>(import(res), ExecutorOptions{opts.threads, false});
  } catch (const Error& err) {
    throw OpenError(Stage::Model, fmt::format("{}: model '{}': {}", registry_path, id, err.what()));
  }
  return s;
}

const std::vector<ValueInfo>& Session::inputs() const {
  return exec_->inputs();
}
const std::vector<ValueInfo>& Session::outputs() const {
  return exec_->outputs();
}

std::vector<Tensor> Session::run(const std::vector<std::pair<std::string, Tensor>>& inputs) const {
  if (InputRecorder* r = recorder()) r->add(inputs);
  return exec_->run(inputs);
}

InputRecorder& Session::record(const RecorderOptions& opt) {
  std::lock_guard<std::mutex> lock(record_mu_);
  TQ_CHECK(!owned_recorder_, "{}: this session already records to {}", opt.path, owned_recorder_->path());
  owned_recorder_ = std::make_unique<InputRecorder>(opt, names_of(inputs()));
  recorder_.store(owned_recorder_.get(), std::memory_order_release);
  return *owned_recorder_;
}

}  // namespace tinyqat
