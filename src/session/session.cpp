#include "session/session.h"

#include <fmt/format.h>

#include "core/error.h"
#include "io/model_data.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"

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
  auto load = [&](const std::vector<uint8_t>& bytes, const std::string& path) {
    Model m = import_onnx_bytes(bytes.data(), bytes.size(), base, path);
    return std::make_unique<Executor>(std::move(m), ExecutorOptions{opts.threads, false});
  };
  if (res.decision.variant == Variant::Int8) {
    try {
      s->exec_ = load(res.bytes, res.decision.model_path);
      return s;
    } catch (const Error& err) {
      // Verified but not loadable by this runtime (an op it lacks): run the fp32 model instead.
      Resolved fb;
      try {
        fb = registry::resolve(reg, id, /*prefer_fp32=*/true);
      } catch (const Error& e2) {
        throw OpenError(Stage::Digest, e2.what());
      }
      s->decision_ = fb.decision;
      s->decision_.reason = Reason::Int8Unloadable;
      s->decision_.text =
          fmt::format("falling back to fp32: the int8 file is verified but does not load: {}", err.what());
      s->decision_.recorded_drop = res.decision.recorded_drop;
      res = std::move(fb);
    }
  }
  try {
    s->exec_ = load(res.bytes, res.decision.model_path);
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
